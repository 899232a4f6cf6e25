//! Recording skipped versions, for `freshen skip` and for an upgrade that
//! rolled a new version back.

use std::path::Path;

use crate::core::skips::{Controls, Skip, Skips};
use crate::error::Result;
use crate::settings::Settings;
use crate::store::Lock;

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
