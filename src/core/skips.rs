//! Skipped versions (`freshen skip`): the version a registry offers for a
//! tag that the user does not want, or that a failed upgrade rolled back.
//! A skip names the digest (and the newer tag, if one was offered) and lasts
//! until the registry offers something else. Kept in `skips.json` next to
//! the state, like the holds, so a damaged `state.json` never loses them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::core::controls::Cooldown;
use crate::core::holds::Holds;
use crate::core::reference::Reference;
use crate::core::state::{Entry, RolledBack};
use crate::core::verdict::Status;

pub const SKIPS_FILE: &str = "skips.json";
pub const SCHEMA_VERSION: u32 = 1;

/// The reason `freshen skip` records.
pub const REASON_USER: &str = "skipped with 'freshen skip'";

/// How a version an upgrade rolled back is recorded, kept back and listed:
/// the reason starts with it (`failed, rolled back: web: it is unhealthy`).
pub const REASON_ROLLED_BACK: &str = "failed, rolled back";

/// The reason recorded for a version whose containers failed the health
/// gate and were rolled back, with what the gate said.
pub fn rolled_back_reason(detail: &str) -> String {
    if detail.is_empty() {
        REASON_ROLLED_BACK.to_string()
    } else {
        format!("{REASON_ROLLED_BACK}: {detail}")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Skips {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    #[serde(default)]
    pub skips: Vec<Skip>,
}

impl Default for Skips {
    fn default() -> Skips {
        Skips { schema_version: SCHEMA_VERSION, skips: Vec::new() }
    }
}

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

/// One skipped version of one tag.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Skip {
    /// The local tag, fully qualified (`docker.io/library/nginx:latest`).
    pub reference: String,
    /// The registry's digest for the tag that is skipped.
    #[serde(default)]
    pub digest: Option<String>,
    /// The newer tag that is skipped (`16.4` for `postgres:16.2`).
    #[serde(default)]
    pub tag: Option<String>,
    /// That newer tag's digest when it was skipped, if `update` had looked
    /// at it: when the registry moves the tag, the skip goes.
    #[serde(default)]
    pub tag_digest: Option<String>,
    /// Its version, when known, for people.
    #[serde(default)]
    pub version: Option<String>,
    /// Why: `skipped with 'freshen skip'`, or what a failed upgrade said.
    pub reason: String,
    /// When (RFC 3339).
    pub at: String,
}

impl Skip {
    /// What it leaves out, for people: `1.27.4 (0086f3a1c2d4)`, `tag 16.4`,
    /// or both joined by "and".
    pub fn describe(&self) -> String {
        let short = crate::core::reference::short_digest;
        let mut parts = Vec::new();
        if let Some(d) = &self.digest {
            parts.push(match self.version.as_deref().filter(|_| self.tag.is_none()) {
                Some(v) => format!("{v} ({})", short(d)),
                None => short(d).to_string(),
            });
        }
        if let Some(t) = &self.tag {
            match &self.tag_digest {
                Some(d) => parts.push(format!("tag {t} ({})", short(d))),
                None => parts.push(format!("tag {t}")),
            }
        }
        parts.join(" and ")
    }

    /// What the health gate said, if an upgrade rolled this version back.
    pub fn rolled_back(&self) -> Option<&str> {
        let rest = self.reason.strip_prefix(REASON_ROLLED_BACK)?;
        if rest.is_empty() {
            Some("")
        } else {
            rest.strip_prefix(": ")
        }
    }
}

pub fn skips_path(dir: &Path) -> PathBuf {
    dir.join(SKIPS_FILE)
}

impl Skips {
    /// Records a skip; an existing one for the same tag, digest and newer
    /// tag is replaced (its reason and time updated). False if it was
    /// already there with the same reason.
    pub fn record(&mut self, skip: Skip) -> bool {
        let same = |s: &Skip| s.reference == skip.reference && s.digest == skip.digest && s.tag == skip.tag;
        // A version that failed and was rolled back stays recorded as such:
        // skipping it by hand adds nothing and must not erase why.
        let failed_here = |s: &Skip| s.rolled_back().is_some() && skip.rolled_back().is_none();
        if self.skips.iter().any(|s| same(s) && (s.reason == skip.reason || failed_here(s))) {
            return false;
        }
        self.skips.retain(|s| !same(s));
        self.skips.push(skip);
        self.skips.sort_by(|a, b| (&a.reference, &a.at).cmp(&(&b.reference, &b.at)));
        true
    }

    /// Takes over the versions older releases recorded in `state.json`
    /// (`rolled_back`, one per tag) as skips; a skip already recorded for
    /// the same digest stays as it is. Returns whether anything was added.
    pub fn adopt_rolled_back(&mut self, legacy: &BTreeMap<String, RolledBack>) -> bool {
        let mut changed = false;
        for (reference, rb) in legacy {
            let known = self
                .skips
                .iter()
                .any(|s| &s.reference == reference && s.digest.as_deref() == Some(rb.digest.as_str()));
            if !known {
                changed |= self.record(Skip {
                    reference: reference.clone(),
                    digest: Some(rb.digest.clone()),
                    tag: None,
                    tag_digest: None,
                    version: None,
                    reason: rolled_back_reason(&rb.reason),
                    at: rb.at.clone(),
                });
            }
        }
        changed
    }

    /// Removes every skip of a tag; how many there were.
    pub fn remove(&mut self, reference: &str) -> usize {
        let before = self.skips.len();
        self.skips.retain(|s| s.reference != reference);
        before - self.skips.len()
    }

    /// The skip that covers what the registry offers a tag now: its digest
    /// `remote` (when it differs from the local image) or its newer tag.
    pub fn covering(&self, reference: &str, remote: Option<&str>, newer_tag: Option<&str>) -> Option<&Skip> {
        self.skips.iter().find(|s| {
            s.reference == reference
                && ((s.digest.is_some() && s.digest.as_deref() == remote)
                    || (s.tag.is_some() && s.tag.as_deref() == newer_tag))
        })
    }

    /// The skip of the newer tag `tag` offered to `reference`, whose digest
    /// is `digest` now (when known): a skip recorded with another digest of
    /// that tag does not cover it.
    pub fn tag_skipped(&self, reference: &str, tag: &str, digest: Option<&str>) -> Option<&Skip> {
        self.skips.iter().find(|s| {
            s.reference == reference
                && s.tag.as_deref() == Some(tag)
                && match (s.tag_digest.as_deref(), digest) {
                    (Some(then), Some(now)) => then == now,
                    _ => true,
                }
        })
    }

    /// Whether the digest an entry reports is skipped.
    pub fn digest_skipped(&self, e: &Entry) -> Option<&Skip> {
        if e.status != Status::Upgradable {
            return None;
        }
        let remote = e.remote_digest.as_deref()?;
        self.skips.iter().find(|s| s.reference == e.reference && s.digest.as_deref() == Some(remote))
    }

    /// Forgets the skips the registry has moved past. The digest part: the
    /// tag was checked and its digest is another one now. The newer-tag
    /// part: the tag was checked and `picks` (per reference, the newer tag
    /// that would be offered now with its digest, skips aside; `(None,
    /// None)` when none would) names another tag, or the same tag under
    /// another digest. A failed check, or a tag `picks` says nothing about,
    /// keeps them. Returns whether anything changed.
    pub fn prune(&mut self, entries: &[Entry], picks: &Picks) -> bool {
        let checked: std::collections::HashMap<&str, Option<&str>> = entries
            .iter()
            .filter(|e| matches!(e.status, Status::UpToDate | Status::Upgradable))
            .map(|e| (e.reference.as_str(), e.remote_digest.as_deref()))
            .collect();
        let before = self.skips.clone();
        for s in &mut self.skips {
            let moved = match (s.digest.as_deref(), checked.get(s.reference.as_str())) {
                (Some(digest), Some(remote)) => *remote != Some(digest),
                _ => false,
            };
            if moved {
                s.digest = None;
            }
            let pick = picks.get(&s.reference).filter(|_| checked.contains_key(s.reference.as_str()));
            if let (Some(tag), Some((now_tag, now_digest))) = (s.tag.as_deref(), pick) {
                let tag_moved = now_tag.as_deref() != Some(tag)
                    || matches!((s.tag_digest.as_deref(), now_digest.as_deref()), (Some(a), Some(b)) if a != b);
                if tag_moved {
                    s.tag = None;
                    s.tag_digest = None;
                }
            }
        }
        self.skips.retain(|s| s.digest.is_some() || s.tag.is_some());
        self.skips != before
    }
}

/// Per local tag (fully qualified): the newer tag an update would offer
/// now, skips aside, and its digest if known; `(None, None)` when the tag
/// listing offers none.
pub type Picks = std::collections::HashMap<String, (Option<String>, Option<String>)>;

/// Why an upgradable tag is not offered now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldBack<'a> {
    /// The tag is on hold (`freshen hold`, or `hold = true` in the config).
    Held,
    /// The user skipped this version (or a failed upgrade rolled it back).
    Skipped(&'a Skip),
    /// The new image is younger than its minimum age.
    Cooldown(Cooldown),
}

impl HoldBack<'_> {
    /// The reason `upgrade` and `--unattended` give when they keep a tag
    /// back: `skipped` or `cooldown: available in 2 days`.
    pub fn reason(&self, now: i64) -> String {
        match self {
            HoldBack::Held => "held".to_string(),
            HoldBack::Skipped(s) if s.rolled_back().is_some() => REASON_ROLLED_BACK.to_string(),
            HoldBack::Skipped(_) => "skipped".to_string(),
            HoldBack::Cooldown(c) => {
                format!("cooldown: available {}", crate::core::controls::in_words(c.available_at - now))
            }
        }
    }
}

/// What decides whether an upgradable tag is offered now: the holds, the
/// skips, the clock, and a `--min-age` given to this command (else the
/// minimum age the last `update` recorded for the tag).
#[derive(Debug, Clone, Default)]
pub struct Controls {
    pub holds: Holds,
    pub skips: Skips,
    pub now: i64,
    pub min_age: Option<u64>,
}

impl Controls {
    /// Why an upgradable entry is held back, if it is.
    pub fn hold_back(&self, e: &Entry) -> Option<HoldBack<'_>> {
        if e.status != Status::Upgradable {
            return None;
        }
        if let Some(s) = self.skips.digest_skipped(e) {
            return Some(HoldBack::Skipped(s));
        }
        if let Some(c) = e.age.as_ref().and_then(|a| a.cooldown(self.now, self.min_age)) {
            return Some(HoldBack::Cooldown(c));
        }
        // Last, so a held tag still shows its skip or cooldown in `list`.
        Reference::parse(&e.reference).is_ok_and(|r| self.holds.is_held(&r)).then_some(HoldBack::Held)
    }

    /// Upgradable and neither held, skipped nor cooling down: what `check`
    /// counts, notifications announce and `upgrade` takes.
    pub fn offered(&self, e: &Entry) -> bool {
        e.status == Status::Upgradable && self.hold_back(e).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipping_a_version_that_failed_keeps_the_failure() {
        let mut skips = Skips::default();
        let failed = Skip {
            reason: rolled_back_reason("web: it exited with code 3"),
            ..skip("docker.io/library/web:1", Some("sha256:b"), None)
        };
        assert!(skips.record(failed.clone()));
        let by_hand = Skip { reason: "skipped with 'freshen skip'".into(), ..failed.clone() };
        assert!(!skips.record(by_hand), "the failure is kept, nothing to add");
        assert_eq!(skips.skips, vec![failed.clone()]);
        // A new failure of the same version does replace the old reason.
        let again = Skip { reason: rolled_back_reason("web: unhealthy"), ..failed };
        assert!(skips.record(again.clone()));
        assert_eq!(skips.skips, vec![again]);
    }

    fn skip(reference: &str, digest: Option<&str>, tag: Option<&str>) -> Skip {
        Skip {
            reference: reference.into(),
            digest: digest.map(String::from),
            tag: tag.map(String::from),
            tag_digest: None,
            version: None,
            reason: REASON_USER.into(),
            at: "2026-11-25T12:00:00Z".into(),
        }
    }

    fn entry(reference: &str, status: Status, remote: Option<&str>) -> Entry {
        Entry {
            reference: reference.into(),
            status,
            image_id: "sha256:1".into(),
            local_digest: None,
            remote_digest: remote.map(String::from),
            checked_at: "2026-11-25T12:00:00Z".into(),
            error: None,
            age: None,
            stale: None,
        }
    }

    #[test]
    fn a_skip_covers_its_digest_or_newer_tag_only() {
        let mut skips = Skips::default();
        assert!(skips.record(skip("r/a:1", Some("sha256:a2"), None)));
        assert!(!skips.record(skip("r/a:1", Some("sha256:a2"), None)), "recorded twice");
        assert!(skips.record(skip("r/b:16.2", None, Some("16.4"))));
        assert!(skips.covering("r/a:1", Some("sha256:a2"), None).is_some());
        assert!(skips.covering("r/a:1", Some("sha256:a3"), None).is_none());
        assert!(skips.covering("r/c:1", Some("sha256:a2"), None).is_none());
        assert!(skips.covering("r/b:16.2", None, Some("16.4")).is_some());
        assert!(skips.covering("r/b:16.2", None, Some("16.5")).is_none());
        let up = entry("r/a:1", Status::Upgradable, Some("sha256:a2"));
        assert!(skips.digest_skipped(&up).is_some());
        assert!(skips.digest_skipped(&entry("r/a:1", Status::Unknown, Some("sha256:a2"))).is_none());
        assert_eq!(skips.remove("r/a:1"), 1);
        assert_eq!(skips.remove("r/a:1"), 0);
    }

    #[test]
    fn prune_forgets_digests_the_registry_moved_past() {
        let mut skips = Skips::default();
        skips.record(skip("r/a:1", Some("sha256:a2"), None));
        skips.record(skip("r/b:1", Some("sha256:b2"), None));
        skips.record(skip("r/c:1", Some("sha256:c2"), None));
        let entries = vec![
            entry("r/a:1", Status::Upgradable, Some("sha256:a3")),
            entry("r/b:1", Status::Unknown, None),
            entry("r/c:1", Status::Upgradable, Some("sha256:c2")),
        ];
        assert!(skips.prune(&entries, &Picks::new()));
        let left: Vec<&str> = skips.skips.iter().map(|s| s.reference.as_str()).collect();
        assert_eq!(left, vec!["r/b:1", "r/c:1"], "a failed check or the same digest keeps the skip");
        assert!(!skips.prune(&entries, &Picks::new()));
    }

    #[test]
    fn prune_forgets_newer_tags_the_registry_moved_past() {
        let with_digest = |reference: &str, tag: &str, digest: &str| {
            let mut s = skip(reference, None, Some(tag));
            s.tag_digest = Some(digest.into());
            s
        };
        let mut skips = Skips::default();
        skips.record(with_digest("r/same:1.0", "1.2", "sha256:x"));
        skips.record(with_digest("r/newer:1.0", "1.2", "sha256:x"));
        skips.record(with_digest("r/moved:1.0", "1.2", "sha256:x"));
        skips.record(with_digest("r/gone:1.0", "1.2", "sha256:x"));
        skips.record(with_digest("r/failed:1.0", "1.2", "sha256:x"));
        skips.record(with_digest("r/unlisted:1.0", "1.2", "sha256:x"));
        // A skip of both the digest and a newer tag keeps the part that
        // still holds.
        let mut both = with_digest("r/both:1.0", "1.2", "sha256:x");
        both.digest = Some("sha256:d1".into());
        skips.record(both);
        let ok = |r: &str| entry(r, Status::UpToDate, Some("sha256:1"));
        let entries = vec![
            ok("r/same:1.0"),
            ok("r/newer:1.0"),
            ok("r/moved:1.0"),
            ok("r/gone:1.0"),
            entry("r/failed:1.0", Status::Unknown, None),
            ok("r/unlisted:1.0"),
            entry("r/both:1.0", Status::Upgradable, Some("sha256:d2")),
        ];
        let pick = |t: Option<&str>, d: Option<&str>| (t.map(String::from), d.map(String::from));
        let picks: Picks = [
            ("r/same:1.0", pick(Some("1.2"), Some("sha256:x"))),
            ("r/newer:1.0", pick(Some("1.3"), Some("sha256:y"))),
            ("r/moved:1.0", pick(Some("1.2"), Some("sha256:z"))),
            ("r/gone:1.0", pick(None, None)),
            ("r/failed:1.0", pick(Some("1.3"), None)),
            ("r/both:1.0", pick(Some("1.2"), Some("sha256:x"))),
        ]
        .into_iter()
        .map(|(r, p)| (r.to_string(), p))
        .collect();
        assert!(skips.prune(&entries, &picks));
        let left: Vec<(&str, Option<&str>, Option<&str>)> = skips
            .skips
            .iter()
            .map(|s| (s.reference.as_str(), s.digest.as_deref(), s.tag.as_deref()))
            .collect();
        assert_eq!(
            left,
            vec![
                ("r/both:1.0", None, Some("1.2")),
                ("r/failed:1.0", None, Some("1.2")),
                ("r/same:1.0", None, Some("1.2")),
                ("r/unlisted:1.0", None, Some("1.2")),
            ]
        );
        // The tag skip covers its tag under its digest only.
        assert!(skips.tag_skipped("r/same:1.0", "1.2", Some("sha256:x")).is_some());
        assert!(skips.tag_skipped("r/same:1.0", "1.2", None).is_some());
        assert!(skips.tag_skipped("r/same:1.0", "1.2", Some("sha256:z")).is_none());
        assert!(skips.tag_skipped("r/same:1.0", "1.3", Some("sha256:x")).is_none());
    }

    #[test]
    fn a_rolled_back_version_is_a_skip_with_its_reason() {
        let mut s = skip("r/a:1", Some("sha256:a2"), None);
        assert_eq!(s.rolled_back(), None);
        s.reason = rolled_back_reason("web: it is unhealthy");
        assert_eq!(s.reason, "failed, rolled back: web: it is unhealthy");
        assert_eq!(s.rolled_back(), Some("web: it is unhealthy"));
        assert_eq!(HoldBack::Skipped(&s).reason(0), "failed, rolled back");
        s.reason = REASON_ROLLED_BACK.into();
        assert_eq!(s.rolled_back(), Some(""));
        s.reason = "failed, rolled backwards".into();
        assert_eq!(s.rolled_back(), None);
    }

    #[test]
    fn the_rolled_back_versions_of_an_old_state_become_skips() {
        let mut legacy = BTreeMap::new();
        let rb = |d: &str| RolledBack {
            digest: d.into(),
            at: "2026-11-20T08:00:00Z".into(),
            reason: "web: exited".into(),
        };
        legacy.insert("r/a:1".to_string(), rb("sha256:a2"));
        legacy.insert("r/b:1".to_string(), rb("sha256:b2"));
        let mut skips = Skips::default();
        skips.record(skip("r/b:1", Some("sha256:b2"), None));
        assert!(skips.adopt_rolled_back(&legacy));
        assert_eq!(skips.skips.len(), 2);
        let a = skips.covering("r/a:1", Some("sha256:a2"), None).unwrap();
        assert_eq!((a.rolled_back(), a.at.as_str()), (Some("web: exited"), "2026-11-20T08:00:00Z"));
        let b = skips.covering("r/b:1", Some("sha256:b2"), None).unwrap();
        assert_eq!(b.reason, REASON_USER, "a skip already there is kept");
        assert!(!skips.adopt_rolled_back(&legacy));
    }

    #[test]
    fn round_trip() {
        let mut skips = Skips::default();
        skips.record(skip("r/a:1", Some("sha256:a2"), Some("1.1")));
        let text = serde_json::to_string(&skips).unwrap();
        assert_eq!(serde_json::from_str::<Skips>(&text).unwrap(), skips);
    }
}
