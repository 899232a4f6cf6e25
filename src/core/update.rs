//! The state an update leaves: what this check found, merged with what the
//! last one recorded. Pure, so the merge is tested without an engine.

use std::collections::{BTreeMap, HashSet};

use crate::core::reference::Reference;
use crate::core::report::Selection;
use crate::core::state::{Entry, RegistryInfo, State};
use crate::core::verdict::Status;

/// The new state after checking `entries` at `checked_at`. A partial update
/// (patterns or excludes) keeps the old entries it did not look at; every
/// update keeps the superseded versions and what it knew of registries it
/// did not ask this time.
pub fn merge_update(
    old: &State,
    entries: &[Entry],
    registries: &BTreeMap<String, RegistryInfo>,
    selection: &Selection,
    checked_at: &str,
) -> State {
    let mut new = State {
        updated_at: Some(checked_at.to_string()),
        superseded: old.superseded.clone(),
        seen: old.seen.clone(),
        ..State::default()
    };
    // One lookup per entry: thousands of tags must not cost a scan each.
    let mut known: HashSet<(String, String)> =
        old.seen.iter().map(|s| (s.reference.clone(), s.image_id.clone())).collect();
    for e in entries {
        let Some(digest) = &e.local_digest else { continue };
        if known.insert((e.reference.clone(), e.image_id.clone())) {
            new.seen.push(crate::core::state::Seen {
                reference: e.reference.clone(),
                image_id: e.image_id.clone(),
                digest: digest.clone(),
                at: checked_at.to_string(),
            });
        }
    }
    let checked: HashSet<&str> = entries.iter().map(|e| e.reference.as_str()).collect();
    if !selection.is_everything() {
        new.entries = old
            .entries
            .iter()
            .filter(|e| {
                !checked.contains(e.reference.as_str())
                    && Reference::parse(&e.reference).is_ok_and(|r| !selection.matches(&r))
            })
            .cloned()
            .collect();
    }
    let before: std::collections::HashMap<&str, &Entry> =
        old.entries.iter().map(|e| (e.reference.as_str(), e)).collect();
    new.entries.extend(entries.iter().map(|e| keep_verdict(before.get(e.reference.as_str()).copied(), e)));
    new.entries.sort_by(|a, b| a.reference.cmp(&b.reference));
    let mut regs = old.registries.clone();
    regs.extend(registries.clone());
    new.registries = regs;
    new
}

/// A check that failed (`Unknown`, with the error) does not erase what an
/// earlier check found for the same image: that verdict stays, with its
/// time, marked stale since this check and with this check's error, as apt
/// keeps its old lists when an index fails to download. A check that found
/// something, a registry that answered that the tag is gone (`not found`
/// is an answer, not an outage), or a tag whose image changed since,
/// replaces it.
pub fn keep_verdict(old: Option<&Entry>, new: &Entry) -> Entry {
    let failed =
        new.status == Status::Unknown && new.error.as_deref().is_some_and(|e| !e.starts_with("not found"));
    match old {
        Some(o) if failed && o.status != Status::Unknown && o.image_id == new.image_id => {
            Entry { stale: Some(new.checked_at.clone()), error: new.error.clone(), ..o.clone() }
        }
        _ => new.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::state::Superseded;

    #[test]
    fn a_failed_check_keeps_the_last_verdict_marked_stale() {
        let mut up = entry("nginx:latest", Status::Upgradable);
        up.remote_digest = Some("sha256:new".into());
        let old = State { entries: vec![up.clone(), entry("redis:7", Status::UpToDate)], ..State::default() };
        let mut failed = entry("nginx:latest", Status::Unknown);
        failed.checked_at = "2026-02-01T00:00:00Z".into();
        failed.error = Some("cannot reach registry: connection refused".into());
        let mut redis_failed = failed.clone();
        redis_failed.reference = entry("redis:7", Status::Unknown).reference;
        let new =
            merge_update(&old, &[failed.clone(), redis_failed], &BTreeMap::new(), &Selection::default(), "t");
        let nginx = &new.entries[0];
        assert_eq!(nginx.status, Status::Upgradable, "the outage erased the verdict");
        assert_eq!(nginx.remote_digest.as_deref(), Some("sha256:new"));
        assert_eq!(nginx.checked_at, "2026-01-01T00:00:00Z", "the verdict keeps its own time");
        assert_eq!(nginx.stale.as_deref(), Some("2026-02-01T00:00:00Z"));
        assert!(nginx.error.as_deref().unwrap().contains("connection refused"));
        assert_eq!(new.entries[1].status, Status::UpToDate);
        // A second outage keeps it again, with the newer failure.
        let mut later = failed.clone();
        later.checked_at = "2026-03-01T00:00:00Z".into();
        let again = merge_update(&new, &[later], &BTreeMap::new(), &Selection::default(), "t2");
        assert_eq!(again.entries[0].status, Status::Upgradable);
        assert_eq!(again.entries[0].stale.as_deref(), Some("2026-03-01T00:00:00Z"));
        // A check that answers replaces it, stale mark and all.
        let ok = entry("nginx:latest", Status::UpToDate);
        let back =
            merge_update(&again, std::slice::from_ref(&ok), &BTreeMap::new(), &Selection::default(), "t3");
        assert_eq!(back.entries[0], ok);
        // The registry says the tag is gone: an answer, not an outage.
        let mut gone = failed.clone();
        gone.error = Some("not found: docker.io/library/nginx:latest does not exist in the registry".into());
        let answered = merge_update(&old, &[gone.clone()], &BTreeMap::new(), &Selection::default(), "t");
        assert_eq!(answered.entries[0], gone);
        // The image changed since: the old verdict is about another image.
        let mut other = failed;
        other.image_id = "sha256:2".into();
        let changed = merge_update(&old, &[other.clone()], &BTreeMap::new(), &Selection::default(), "t");
        assert_eq!(changed.entries[0], other);
    }

    fn entry(reference: &str, status: Status) -> Entry {
        Entry {
            reference: Reference::parse(reference).unwrap().to_string(),
            status,
            image_id: "sha256:1".into(),
            local_digest: None,
            remote_digest: None,
            checked_at: "2026-01-01T00:00:00Z".into(),
            error: None,
            age: None,
            stale: None,
        }
    }

    fn old() -> State {
        State {
            updated_at: Some("2026-01-01T00:00:00Z".into()),
            entries: vec![entry("nginx:latest", Status::Upgradable), entry("redis:7", Status::UpToDate)],
            registries: [(
                "docker.io".to_string(),
                RegistryInfo { scheme: Some("https".into()), ..Default::default() },
            )]
            .into_iter()
            .collect(),
            superseded: vec![Superseded {
                image_id: "sha256:0".into(),
                reference: "docker.io/library/nginx:latest".into(),
                digest: None,
                replaced_at: "2026-01-01T00:00:00Z".into(),
                replaced_by: "sha256:1".into(),
                tag_moved: false,
                failed: None,
            }],
            ..State::default()
        }
    }

    #[test]
    fn a_full_update_replaces_every_entry_and_keeps_records() {
        let old = old();
        let found = vec![entry("nginx:latest", Status::UpToDate)];
        let regs =
            [("ghcr.io".to_string(), RegistryInfo { scheme: Some("https".into()), ..Default::default() })]
                .into_iter()
                .collect();
        let new = merge_update(&old, &found, &regs, &Selection::default(), "2026-02-01T00:00:00Z");
        assert_eq!(new.updated_at.as_deref(), Some("2026-02-01T00:00:00Z"));
        assert_eq!(new.entries, found, "redis, not seen this time, is gone");
        assert_eq!(new.superseded, old.superseded);
        assert_eq!(new.registries.keys().collect::<Vec<_>>(), ["docker.io", "ghcr.io"]);
    }

    #[test]
    fn a_partial_update_keeps_what_it_did_not_look_at() {
        let old = old();
        let selection = Selection::new(&["nginx".to_string()], Vec::new()).unwrap();
        let found = vec![entry("nginx:latest", Status::UpToDate), entry("nginx:1.27", Status::Upgradable)];
        let new = merge_update(&old, &found, &BTreeMap::new(), &selection, "2026-02-01T00:00:00Z");
        let got: Vec<(&str, Status)> = new.entries.iter().map(|e| (e.reference.as_str(), e.status)).collect();
        assert_eq!(
            got,
            vec![
                ("docker.io/library/nginx:1.27", Status::Upgradable),
                ("docker.io/library/nginx:latest", Status::UpToDate),
                ("docker.io/library/redis:7", Status::UpToDate),
            ]
        );
        assert_eq!(new.registries, old.registries);
    }

    #[test]
    fn updates_remember_every_image_seen_under_a_tag_with_a_digest() {
        let old = old();
        let mut v1 = entry("nginx:latest", Status::Upgradable);
        v1.local_digest = Some("sha256:d1".into());
        let local_only = entry("app:dev", Status::LocalOnly);
        let new = merge_update(&old, &[v1, local_only], &BTreeMap::new(), &Selection::default(), "t1");
        let got: Vec<(&str, &str, &str)> =
            new.seen.iter().map(|s| (s.reference.as_str(), s.image_id.as_str(), s.digest.as_str())).collect();
        assert_eq!(got, vec![("docker.io/library/nginx:latest", "sha256:1", "sha256:d1")]);
        // The tag moves to another image: both are remembered, the first
        // sighting's time kept.
        let mut v2 = entry("nginx:latest", Status::UpToDate);
        v2.image_id = "sha256:2".into();
        v2.local_digest = Some("sha256:d2".into());
        let mut again = entry("nginx:latest", Status::UpToDate);
        again.local_digest = Some("sha256:d1".into());
        let newer = merge_update(&new, &[v2], &BTreeMap::new(), &Selection::default(), "t2");
        let newest = merge_update(&newer, &[again], &BTreeMap::new(), &Selection::default(), "t3");
        let got: Vec<(&str, &str)> =
            newest.seen.iter().map(|s| (s.image_id.as_str(), s.at.as_str())).collect();
        assert_eq!(got, vec![("sha256:1", "t1"), ("sha256:2", "t2")]);
    }
}
