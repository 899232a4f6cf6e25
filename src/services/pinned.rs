//! An upgrade of one tag pinned to the digest a person approved (on the
//! status page, through the API or from Home Assistant): the registry is
//! asked first and a tag that moved since is refused; then the same
//! health-gated upgrade with rollback as `freshen upgrade -y TAG` runs,
//! with the pin passed down so that the digest pulled is the approved one
//! even if the tag moves in between. What it did is read back from the
//! state and the skips, where every upgrade records itself.

use std::time::Duration;

use crate::core::reference::Reference;
use crate::core::state::State;
use crate::core::verdict::Status;
use crate::error::{Error, Result};
use crate::output::Printer;
use crate::registry::Registries;
use crate::settings::Settings;

/// Why a pinned upgrade cannot start.
#[derive(Debug)]
pub enum Refusal {
    /// Not a tag the last update checked, or nothing to upgrade.
    NotUpgradable(String),
    /// The registry's tag points elsewhere now.
    Moved { now: String },
    /// The registry could not be asked.
    Unreachable(String),
}

/// How a pinned upgrade ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Pulled and its containers recreated; or what went wrong besides.
    Upgraded(Option<String>),
    /// The new version failed the health gate and the old one runs again.
    RolledBack(String),
    /// Nothing was pulled (kept back, moved, or failed); the reason.
    NotUpgraded(String),
}

/// Asks the registry where the tag points now and compares with the
/// approved digest.
pub async fn precheck(settings: &Settings, reference: &str, expected: &str) -> Result<Reference, Refusal> {
    let r = Reference::parse(reference).map_err(|e| {
        Refusal::NotUpgradable(format!(
            "'{}' is not an image reference: {e}",
            crate::core::serve::short(reference)
        ))
    })?;
    let Some(tag) = r.tag.clone().filter(|_| r.digest.is_none()) else {
        return Err(Refusal::NotUpgradable(format!("{} is not a tag", r.familiar())));
    };
    let state = State::load(&settings.state_dir).map_err(|e| Refusal::NotUpgradable(e.to_string()))?;
    let full = r.to_string();
    match state.entries.iter().find(|e| e.reference == full) {
        None => {
            return Err(Refusal::NotUpgradable(format!(
                "{} is not a tag the last update checked",
                r.familiar()
            )))
        }
        Some(e) if e.status != Status::Upgradable => {
            return Err(Refusal::NotUpgradable(format!(
                "{} is {}: nothing to upgrade",
                r.familiar(),
                e.status
            )))
        }
        Some(_) => {}
    }
    let registries =
        Registries::new(settings.registry.clone()).map_err(|e| Refusal::Unreachable(e.to_string()))?;
    let hint = state.registries.get(&r.registry).and_then(|i| i.scheme.clone());
    let host = registries
        .host(&r.registry, vec![r.repository.clone()], hint.as_deref())
        .map_err(|e| Refusal::Unreachable(e.to_string()))?;
    let now = host.tag_digest(&r.repository, &tag).await.map_err(|e| Refusal::Unreachable(e.to_string()))?;
    if now != expected {
        return Err(Refusal::Moved { now });
    }
    Ok(r)
}

/// Runs the upgrade of `r` pinned to `expected`, and says how it ended.
pub async fn upgrade(
    settings: &Settings,
    r: &Reference,
    expected: &str,
    wait: Duration,
    p: &Printer,
) -> Result<Outcome> {
    let started = crate::output::now_rfc3339();
    let request = super::upgrade::Request {
        patterns: vec![r.to_string()],
        yes: true,
        wait,
        pin: Some(expected.to_string()),
        ..super::upgrade::Request::default()
    };
    let code = super::upgrade::upgrade(settings, &request, p).await?;
    let full = r.to_string();
    let skips = crate::core::skips::Skips::load(&settings.state_dir)?;
    let rolled_back = skips.skips.iter().find(|s| {
        s.reference == full
            && s.digest.as_deref() == Some(expected)
            && s.at >= started
            && s.rolled_back().is_some()
    });
    if let Some(s) = rolled_back {
        return Ok(Outcome::RolledBack(s.rolled_back().unwrap_or_default().to_string()));
    }
    let state = State::load(&settings.state_dir)?;
    let upgraded = state.superseded.iter().any(|s| s.reference == full && s.replaced_at >= started)
        || state.entries.iter().any(|e| {
            e.reference == full
                && e.status == Status::UpToDate
                && e.local_digest.as_deref() == Some(expected)
                && e.checked_at >= started
        });
    Ok(if upgraded && code != crate::core::exit::ExitStatus::Ok {
        Outcome::Upgraded(Some(
            "pulled, but something failed (a container not recreated?): see the server's log".into(),
        ))
    } else if upgraded {
        Outcome::Upgraded(None)
    } else if code == crate::core::exit::ExitStatus::Ok {
        Outcome::NotUpgraded("the upgrade kept it back (held, skipped, or the registry moved)".into())
    } else {
        Outcome::NotUpgraded("the upgrade failed: see the server's log".into())
    })
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotUpgradable(why) => f.write_str(why),
            Refusal::Moved { now } => write!(
                f,
                "the registry moved the tag since it was approved (it is {} now): reload and approve again",
                crate::core::reference::short_digest(now)
            ),
            Refusal::Unreachable(why) => write!(f, "cannot ask the registry: {why}"),
        }
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        Error::Usage(r.to_string())
    }
}
