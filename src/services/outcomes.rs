//! Counting what runs came to, in `outcomes.json`: each check (update,
//! check) and each tag's upgrade result. Counting never fails the run that
//! is counted: a record that cannot be read is set aside and counting
//! starts again from zero; one that cannot be written is a warning.

use crate::core::outcomes::{Outcomes, UpgradeResult};
use crate::core::reference::Reference;
use crate::error::Error;
use crate::output::Printer;
use crate::store::Lock;

/// The record to add to: the one on disk, or a fresh one if it was
/// unreadable (set aside for a person to look at).
fn load(dir: &std::path::Path, p: &Printer) -> Option<Outcomes> {
    match Outcomes::load(dir) {
        Ok(o) => Some(o),
        Err(Error::CorruptStore { path, detail, .. }) => {
            super::set_aside(&path, &detail, p);
            Some(Outcomes::new())
        }
        Err(e) => {
            p.warn(&format!("{e}; this run is not counted in the metrics"));
            None
        }
    }
}

fn save(dir: &std::path::Path, o: &Outcomes, lock: &Lock, p: &Printer) {
    if let Err(e) = o.save(dir, lock) {
        p.warn(&format!("{e}; this run is not counted in the metrics"));
    }
}

/// Counts one check. The caller holds the lock.
pub fn record_check(dir: &std::path::Path, lock: &Lock, ok: bool, p: &Printer) {
    if let Some(mut o) = load(dir, p) {
        o.check(ok, crate::output::now_unix());
        save(dir, &o, lock, p);
    }
}

/// Counts a check that failed before it could record anything (the engine
/// was not there, the state was unreadable): takes the lock briefly, and
/// gives up quietly if another freshen holds it.
pub fn record_failed_check(dir: &std::path::Path, p: &Printer) {
    if let Ok(lock) = Lock::acquire(dir, std::time::Duration::from_secs(2), |_| {}) {
        record_check(dir, &lock, false, p);
    }
}

/// Whether an update that ended with `e` is a check that failed, rather
/// than one that was not asked properly (a typo) or waited for another.
pub fn is_failed_check(e: &Error) -> bool {
    !matches!(
        e,
        Error::Locked { .. }
            | Error::Usage(_)
            | Error::CommandLine(_)
            | Error::BadReference { .. }
            | Error::Config { .. }
            | Error::ConfigValue(_)
    )
}

/// What one upgrade run came to, per tag.
pub struct UpgradeResults<'a> {
    pub succeeded: Vec<&'a Reference>,
    pub failed: Vec<&'a str>,
    pub rolled_back: Vec<&'a str>,
    pub deferred: Vec<String>,
}

impl<'a> UpgradeResults<'a> {
    /// From what the upgrade service has at its end: the tags upgraded, the
    /// failures and rollbacks it reported, and the tags its plan kept back
    /// or a pre-upgrade hook deferred.
    pub fn new(
        upgraded: impl Iterator<Item = &'a Reference>,
        failed: &'a [crate::output::upgrade_report::Failed],
        rolled_back: &'a [crate::services::recreate::Announced],
        kept_back: &'a [(Reference, String)],
        deferred: &'a [crate::output::upgrade_report::Deferred],
    ) -> UpgradeResults<'a> {
        UpgradeResults {
            succeeded: upgraded.collect(),
            failed: failed.iter().map(|f| f.reference.as_str()).collect(),
            rolled_back: rolled_back.iter().map(|r| r.reference.as_str()).collect(),
            deferred: kept_back
                .iter()
                .map(|(r, _)| r.to_string())
                .chain(deferred.iter().map(|d| d.reference.clone()))
                .collect(),
        }
    }
}

/// Counts one upgrade run's results and forgets tags no longer in the
/// state. The caller holds the lock.
pub fn record_upgrade(
    dir: &std::path::Path,
    lock: &Lock,
    results: UpgradeResults<'_>,
    state: &crate::core::state::State,
    p: &Printer,
) {
    let on_host: std::collections::HashSet<&str> =
        state.entries.iter().map(|e| e.reference.as_str()).collect();
    let Some(mut o) = load(dir, p) else { return };
    let now = crate::output::now_unix();
    for r in &results.succeeded {
        o.upgrade(&r.to_string(), UpgradeResult::Success, now);
    }
    for r in &results.failed {
        o.upgrade(r, UpgradeResult::Failed, now);
    }
    for r in &results.rolled_back {
        o.upgrade(r, UpgradeResult::RolledBack, now);
    }
    for r in &results.deferred {
        o.upgrade(r, UpgradeResult::Deferred, now);
    }
    o.forget_except(|r| on_host.contains(r));
    save(dir, &o, lock, p);
}
