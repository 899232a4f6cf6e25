//! What has been announced, per notification target: announcing is
//! event-driven, so each target is told about a (tag, remote digest) pair
//! once. A tag that moves again has a new digest and is due again; with
//! `--renotify-after` a pair is due again once that much time has passed.
//! Each target keeps its own record, so a target that failed is retried on
//! the next run without repeating anything to the targets that succeeded.
//! Pure logic over the state; the file itself is `notified.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::core::state::Entry;
use crate::core::verdict::Status;

pub const NOTIFIED_FILE: &str = "notified.json";
pub const SCHEMA_VERSION: u32 = 1;

/// `notified.json`: per target id, per reference, what was announced.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub schema_version: u32,
    #[serde(default)]
    pub targets: BTreeMap<String, BTreeMap<String, Announced>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Announced {
    /// The remote digest that was announced.
    pub digest: String,
    /// When it was last sent (Unix seconds).
    pub at: i64,
}

/// One update due for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due<'a> {
    pub entry: &'a Entry,
    /// Announced before with this digest; sent again by `--renotify-after`.
    pub repeat: bool,
}

impl Record {
    /// The updates `target` has not been told about (or, with `renotify`,
    /// not for that long), in the order of `upgradable`.
    pub fn due<'a>(
        &self,
        target: &str,
        upgradable: &[&'a Entry],
        now: i64,
        renotify: Option<Duration>,
    ) -> Vec<Due<'a>> {
        let told = self.targets.get(target);
        upgradable
            .iter()
            .filter_map(|e| {
                let remote = e.remote_digest.as_deref()?;
                match told.and_then(|t| t.get(&e.reference)) {
                    Some(a) if a.digest == remote => {
                        let again = renotify.is_some_and(|d| now - a.at >= d.as_secs() as i64);
                        again.then_some(Due { entry: e, repeat: true })
                    }
                    _ => Some(Due { entry: e, repeat: false }),
                }
            })
            .collect()
    }

    /// Records that `target` was told about these updates at `now`.
    pub fn mark_sent(&mut self, target: &str, sent: &[Due<'_>], now: i64) {
        let told = self.targets.entry(target.to_string()).or_default();
        for d in sent {
            if let Some(digest) = &d.entry.remote_digest {
                told.insert(d.entry.reference.clone(), Announced { digest: digest.clone(), at: now });
            }
        }
    }

    /// Forgets what no longer matters, so the file does not grow forever:
    /// targets that are no longer configured, and tags that are no longer
    /// upgradable to the announced digest. A tag whose last check failed
    /// keeps its record, so a registry outage does not cause a repeat.
    pub fn prune(&mut self, targets: &BTreeSet<&str>, entries: &[Entry]) {
        self.targets.retain(|id, _| targets.contains(id.as_str()));
        let by_ref: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.reference.as_str(), e)).collect();
        for told in self.targets.values_mut() {
            told.retain(|reference, a| match by_ref.get(reference.as_str()) {
                Some(e) if e.status == Status::Unknown => true,
                Some(e) => e.status == Status::Upgradable && e.remote_digest.as_deref() == Some(&a.digest),
                None => false,
            });
        }
        self.targets.retain(|_, told| !told.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reference: &str, status: Status, remote: &str) -> Entry {
        Entry {
            reference: reference.into(),
            status,
            image_id: "sha256:1".into(),
            local_digest: Some("sha256:0".into()),
            remote_digest: Some(remote.into()),
            checked_at: "2026-01-01T00:00:00Z".into(),
            error: None,
            age: None,
            stale: None,
        }
    }

    fn refs(due: &[Due<'_>]) -> Vec<(String, bool)> {
        due.iter().map(|d| (d.entry.reference.clone(), d.repeat)).collect()
    }

    #[test]
    fn each_digest_is_announced_once_per_target() {
        let a = entry("r/a:1", Status::Upgradable, "sha256:a2");
        let b = entry("r/b:1", Status::Upgradable, "sha256:b2");
        let mut rec = Record::default();
        let up = [&a, &b];
        let due = rec.due("hook", &up, 100, None);
        assert_eq!(refs(&due), vec![("r/a:1".into(), false), ("r/b:1".into(), false)]);
        rec.mark_sent("hook", &due, 100);
        assert!(rec.due("hook", &up, 200, None).is_empty());
        // Another target has been told nothing yet.
        assert_eq!(rec.due("mail", &up, 200, None).len(), 2);
        // The tag moves again: only that one is new.
        let a3 = entry("r/a:1", Status::Upgradable, "sha256:a3");
        assert_eq!(refs(&rec.due("hook", &[&a3, &b], 300, None)), vec![("r/a:1".into(), false)]);
        // A reminder once the interval has passed, flagged as such.
        let day = Some(Duration::from_secs(86_400));
        assert!(rec.due("hook", &up, 100 + 86_399, day).is_empty());
        assert_eq!(refs(&rec.due("hook", &[&b], 100 + 86_400, day)), vec![("r/b:1".into(), true)]);
    }

    #[test]
    fn prune_keeps_only_what_still_matters() {
        let a = entry("r/a:1", Status::Upgradable, "sha256:a2");
        let b = entry("r/b:1", Status::Upgradable, "sha256:b2");
        let c = entry("r/c:1", Status::Upgradable, "sha256:c2");
        let mut rec = Record::default();
        let due = rec.due("hook", &[&a, &b, &c], 1, None);
        rec.mark_sent("hook", &due, 1);
        rec.mark_sent("gone", &due, 1);
        let now = vec![
            entry("r/a:1", Status::UpToDate, "sha256:a2"),
            Entry {
                error: Some("unreachable".into()),
                remote_digest: None,
                ..entry("r/b:1", Status::Unknown, "")
            },
        ];
        rec.prune(&BTreeSet::from(["hook"]), &now);
        assert_eq!(rec.targets.keys().collect::<Vec<_>>(), vec!["hook"]);
        assert_eq!(rec.targets["hook"].keys().collect::<Vec<_>>(), vec!["r/b:1"]);
    }
}
