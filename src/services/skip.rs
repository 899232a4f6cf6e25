//! Recording skipped versions, for `freshen skip` and for an upgrade that
//! rolled a new version back.

use std::path::Path;

use crate::core::controls::pick_tag;
use crate::core::reference::Reference;
use crate::core::skips::{Controls, Skip, Skips, REASON_USER};
use crate::core::state::{Entry, State};
use crate::core::tagcache::TagCache;
use crate::core::verdict::Status;
use crate::core::versions;
use crate::error::{Error, Result};
use crate::registry::Registries;
use crate::settings::Settings;
use crate::store::Lock;

/// What a user's skip of the tag `e` leaves out, from the last update:
/// the registry's new digest if the tag is upgradable, and the newer tag
/// its policy offers now (the newest past its minimum age), with that
/// tag's digest when the update saw it. None when nothing is offered.
/// `freshen skip` and the server's skip both record this; the command
/// also asks the registry for a newer tag's digest the update did not see.
pub fn offered(
    settings: &Settings,
    state: &State,
    cache: &TagCache,
    e: &Entry,
    r: &Reference,
    at: &str,
) -> Option<Skip> {
    let digest = e.remote_digest.clone().filter(|_| e.status == Status::Upgradable);
    let version = digest.as_deref().and_then(|d| cache.images.get(d)).and_then(|i| i.version.clone());
    let rules = settings.image_policy(r).rules;
    let candidates: Vec<String> = r
        .tag
        .as_deref()
        .zip(cache.tags(&r.name()))
        .and_then(|(tag, tags)| versions::newer_tags(tag, tags, &rules))
        .map(|n| n.table.iter().filter(|c| c.within_policy).map(|c| c.tag().to_string()).collect())
        .unwrap_or_default();
    let ages = state.tag_ages.get(&e.reference);
    let newer = pick_tag(&candidates, |t| t.as_str(), ages, crate::output::now_unix(), None).0.cloned();
    if digest.is_none() && newer.is_none() {
        return None;
    }
    let tag_digest = newer.as_ref().and_then(|t| ages.and_then(|a| a.get(t))).and_then(|a| a.digest.clone());
    Some(Skip {
        reference: e.reference.clone(),
        digest,
        tag: newer,
        tag_digest,
        version,
        reason: REASON_USER.to_string(),
        at: at.to_string(),
    })
}

/// What decides which upgradable tags are offered now: the holds, the
/// skips, the clock, and `--min-age` if given (else what the last update
/// recorded).
pub fn controls(settings: &Settings, min_age: Option<u64>) -> Result<Controls> {
    Ok(Controls {
        holds: super::holds(settings)?,
        skips: Skips::load(&settings.state_dir)?,
        now: crate::output::now_unix(),
        min_age,
    })
}

/// Records that `digest` (the registry's image for the tag `reference`,
/// fully qualified) is skipped for `reason`: it is not offered, upgraded or
/// announced again until the registry moves the tag to another digest.
/// `upgrade` calls this when it rolls a failed new version back, with a
/// reason like `failed, rolled back: web: it is unhealthy`
/// (`core::skips::rolled_back_reason`). The caller holds the state lock.
pub fn record_skip(dir: &Path, lock: &Lock, reference: &str, digest: &str, reason: &str) -> Result<()> {
    let mut skips = Skips::load(dir)?;
    let changed = skips.record(Skip {
        reference: reference.to_string(),
        digest: Some(digest.to_string()),
        tag: None,
        tag_digest: None,
        version: None,
        reason: reason.to_string(),
        at: crate::output::now_rfc3339(),
    });
    if changed {
        skips.save(dir, lock)?;
    }
    Ok(())
}

/// Asks the registry for the digest of tag `t` of `r`'s repository, with
/// the registry client made on first use.
pub async fn ask_tag_digest(
    settings: &Settings,
    registries: &mut Option<Registries>,
    state: &State,
    r: &Reference,
    t: &str,
) -> Result<std::result::Result<String, String>> {
    if registries.is_none() {
        *registries = Some(Registries::new(settings.registry.clone()).map_err(Error::Registry)?);
    }
    let hint = state.registries.get(&r.registry).and_then(|i| i.scheme.clone());
    Ok(
        match registries
            .as_ref()
            .map(|regs| regs.host(&r.registry, vec![r.repository.clone()], hint.as_deref()))
        {
            Some(Ok(h)) => h.tag_digest(&r.repository, t).await.map_err(|e| e.to_string()),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("no registry client".to_string()),
        },
    )
}
