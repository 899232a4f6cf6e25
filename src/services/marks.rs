//! Hold, unhold and skip one tag, as the server's actions ask for them:
//! the same files (`holds.json`, `skips.json`) under the same lock as
//! `freshen hold`, `unhold` and `skip`, for exactly one fully qualified tag
//! that the last update checked. Each returns what it did, in a sentence.

use std::time::Duration;

use crate::core::holds::{self, Holds};
use crate::core::reference::Reference;
use crate::core::skips::{Skip, Skips, REASON_USER};
use crate::core::state::State;
use crate::core::verdict::Status;
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::store::Lock;

/// How long an action waits for a CLI run or an upgrade to let the state go.
const LOCK_WAIT: Duration = Duration::from_secs(5);

fn lock(settings: &Settings) -> Result<Lock> {
    Lock::acquire(&settings.state_dir, LOCK_WAIT, |_| {})
}

/// The tag as the state records it, or an error saying it is not known.
fn known_tag(settings: &Settings, reference: &str) -> Result<(Reference, State)> {
    let r = Reference::parse(reference)
        .map_err(|e| Error::BadReference { input: crate::core::serve::short(reference), detail: e })?;
    if r.tag.is_none() || r.digest.is_some() {
        return Err(Error::Usage(format!("{} is not a tag: name one, like nginx:1.27", r.familiar())));
    }
    let state = State::load(&settings.state_dir)?;
    if !state.entries.iter().any(|e| e.reference == r.to_string()) {
        return Err(Error::Usage(format!(
            "{} is not a tag the last update checked: run 'freshen update', or check the name",
            r.familiar()
        )));
    }
    Ok((r, state))
}

pub fn hold(settings: &Settings, reference: &str) -> Result<String> {
    let (r, _) = known_tag(settings, reference)?;
    let stored = holds::normalise(&r.to_string())?;
    let lock = lock(settings)?;
    let mut h = Holds::load(&settings.state_dir)?;
    if h.add(stored) {
        h.save(&settings.state_dir, &lock)?;
        Ok(format!("{} set on hold.", r.familiar()))
    } else {
        Ok(format!("{} was already set on hold.", r.familiar()))
    }
}

pub fn unhold(settings: &Settings, reference: &str) -> Result<String> {
    let (r, _) = known_tag(settings, reference)?;
    let stored = holds::normalise(&r.to_string())?;
    let lock = lock(settings)?;
    let mut h = super::holds(settings)?;
    let lifted = h.remove(&stored);
    if lifted {
        h.save(&settings.state_dir, &lock)?;
    }
    if let Some(by) = h.covering(&r) {
        return Err(Error::Usage(format!(
            "{} stays on hold: the hold on {} covers it; run 'freshen unhold {}' to lift it",
            r.familiar(),
            holds::display(by),
            holds::display(by)
        )));
    }
    if let Some(section) = h.covering_config(&r) {
        return Err(Error::Usage(format!(
            "{} stays on hold: [images.\"{section}\"] in the config file holds it",
            r.familiar()
        )));
    }
    Ok(if lifted {
        format!("Canceled hold on {}.", r.familiar())
    } else {
        format!("{} was already not on hold.", r.familiar())
    })
}

/// Skips the registry's new image for the tag (the digest the last update
/// found), until the registry moves the tag again.
pub fn skip(settings: &Settings, reference: &str) -> Result<String> {
    let (r, state) = known_tag(settings, reference)?;
    let full = r.to_string();
    let entry = state.entries.iter().find(|e| e.reference == full);
    let Some(digest) = entry.filter(|e| e.status == Status::Upgradable).and_then(|e| e.remote_digest.clone())
    else {
        return Err(Error::Usage(format!("{}: nothing to skip, no newer image is offered", r.familiar())));
    };
    let lock = lock(settings)?;
    let mut skips = Skips::load(&settings.state_dir)?;
    let short = crate::core::reference::short_digest(&digest).to_string();
    let recorded = skips.record(Skip {
        reference: full,
        digest: Some(digest),
        tag: None,
        tag_digest: None,
        version: None,
        reason: REASON_USER.to_string(),
        at: crate::output::now_rfc3339(),
    });
    if recorded {
        skips.save(&settings.state_dir, &lock)?;
        Ok(format!("{}: skipping {short}.", r.familiar()))
    } else {
        Ok(format!("{}: {short} was already skipped.", r.familiar()))
    }
}
