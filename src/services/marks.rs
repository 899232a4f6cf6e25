//! Hold, unhold and skip one tag, as the server's actions ask for them:
//! the same files (`holds.json`, `skips.json`) under the same lock as
//! `freshen hold`, `unhold` and `skip`, for exactly one fully qualified tag
//! that the last update checked. Each returns what it did, in a sentence.

use std::time::Duration;

use crate::core::holds::{self, Holds};
use crate::core::reference::Reference;
use crate::core::skips::Skips;
use crate::core::state::State;
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
pub async fn skip(settings: &Settings, reference: &str) -> Result<String> {
    let (r, state) = known_tag(settings, reference)?;
    let full = r.to_string();
    let cache = crate::core::tagcache::TagCache::load(&settings.state_dir);
    let offer =
        state.entries.iter().find(|e| e.reference == full).and_then(|e| {
            super::skip::offered(settings, &state, &cache, e, &r, &crate::output::now_rfc3339())
        });
    let Some(mut offer) = offer else {
        return Err(Error::Usage(format!("{}: nothing to skip, no newer version is offered", r.familiar())));
    };
    // A newer tag the update did not see the digest of: asked now, so that
    // a later move of that tag lifts the skip (as `freshen skip` does).
    if let (Some(t), None) = (offer.tag.clone(), &offer.tag_digest) {
        let mut registries = None;
        if let Ok(d) = super::skip::ask_tag_digest(settings, &mut registries, &state, &r, &t).await? {
            offer.tag_digest = Some(d);
        }
    }
    let lock = lock(settings)?;
    let mut skips = Skips::load(&settings.state_dir)?;
    let what = offer.describe();
    if skips.record(offer) {
        skips.save(&settings.state_dir, &lock)?;
        Ok(format!("{}: skipping {what}.", r.familiar()))
    } else {
        Ok(format!("{}: {what} was already skipped.", r.familiar()))
    }
}
