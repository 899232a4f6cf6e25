//! The planning and the state merge of `freshen rollback`, pure: which
//! recorded version a tag goes back to, and what the state says after.

use crate::core::state::{State, Superseded};
use crate::core::verdict::Status;

/// Which version a rollback can go back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Previous {
    /// The newest version the tag was replaced from that is still here.
    Found(Superseded),
    /// No earlier version of the tag is recorded.
    None,
    /// The newest recorded one (its image id) is no longer on the host.
    Removed(String),
}

/// The version `key` goes back to: of the versions it replaced (not the one
/// it points at now, `current`), the newest still on the host that ran
/// healthily here. A version whose containers failed the health gate, or
/// whose upgrade was interrupted before they passed it, is never one.
pub fn previous(state: &State, key: &str, current: Option<&str>, present: impl Fn(&str) -> bool) -> Previous {
    let mut records: Vec<&Superseded> = state
        .superseded
        .iter()
        .filter(|s| s.reference == key && Some(s.image_id.as_str()) != current && s.failed.is_none())
        .collect();
    records.sort_by(|a, b| b.replaced_at.cmp(&a.replaced_at));
    match records.iter().find(|r| present(&r.image_id)) {
        Some(r) => Previous::Found((*r).clone()),
        None => match records.first() {
            Some(r) => Previous::Removed(r.image_id.clone()),
            None => Previous::None,
        },
    }
}

/// A rollback to `image_id` did not pass the health gate: that version of
/// `key` failed here, and no later rollback goes to it.
pub fn mark_failed(state: &mut State, key: &str, image_id: &str, reason: &str) {
    for s in state.superseded.iter_mut().filter(|s| s.reference == key && s.image_id == image_id) {
        s.failed = Some(format!("a rollback to it did not pass the health gate: {reason}"));
    }
}

/// The tag `key` points at `previous` again: that version is no longer
/// superseded, the one it leaves (`current`, with its digest) is, and the
/// last check still stands: going back from the registry's version makes
/// the tag upgradable again (not "changed since the update"), going back
/// to it makes it current.
pub fn merge(
    state: &mut State,
    key: &str,
    current: Option<(&str, Option<String>)>,
    previous: &Superseded,
    now: &str,
) {
    state.superseded.retain(|s| !(s.reference == key && s.image_id == previous.image_id));
    if let Some((cur, digest)) = &current {
        state.superseded.push(Superseded {
            tag_moved: false,
            failed: None,
            image_id: cur.to_string(),
            reference: key.to_string(),
            digest: digest.clone(),
            replaced_at: now.to_string(),
            replaced_by: previous.image_id.clone(),
        });
    }
    let current_id = current.map(|(id, _)| id);
    for e in state.entries.iter_mut().filter(|e| e.reference == key) {
        if current_id == Some(e.image_id.as_str()) && e.remote_digest.is_some() {
            let current_again = previous.digest.is_some() && previous.digest == e.remote_digest;
            e.status = if current_again { Status::UpToDate } else { Status::Upgradable };
            e.image_id = previous.image_id.clone();
            e.local_digest = previous.digest.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::state::Entry;

    const KEY: &str = "docker.io/library/nginx:latest";

    fn superseded(id: &str, digest: &str, at: &str, by: &str) -> Superseded {
        Superseded {
            image_id: id.into(),
            reference: KEY.into(),
            digest: Some(digest.into()),
            replaced_at: at.into(),
            replaced_by: by.into(),
            tag_moved: false,
            failed: None,
        }
    }

    fn entry(id: &str, local: &str, remote: &str) -> Entry {
        Entry {
            reference: KEY.into(),
            status: Status::UpToDate,
            image_id: id.into(),
            local_digest: Some(local.into()),
            remote_digest: Some(remote.into()),
            checked_at: "2026-03-01T00:00:00Z".into(),
            error: None,
            age: None,
            stale: None,
        }
    }

    #[test]
    fn the_newest_replaced_version_still_here_is_the_one_to_go_back_to() {
        let state = State {
            superseded: vec![
                superseded("old", "d-old", "2026-01-01T00:00:00Z", "mid"),
                superseded("mid", "d-mid", "2026-02-01T00:00:00Z", "new"),
            ],
            ..State::default()
        };
        let all = |_: &str| true;
        assert_eq!(previous(&state, KEY, Some("new"), all), Previous::Found(state.superseded[1].clone()));
        let mid_gone = |id: &str| id != "mid";
        assert_eq!(
            previous(&state, KEY, Some("new"), mid_gone),
            Previous::Found(state.superseded[0].clone())
        );
        assert_eq!(previous(&state, KEY, Some("new"), |_| false), Previous::Removed("mid".into()));
        // The version the tag points at now is no previous version.
        let only_mid = State { superseded: vec![state.superseded[1].clone()], ..State::default() };
        assert_eq!(previous(&only_mid, KEY, Some("mid"), all), Previous::None);
        assert_eq!(previous(&only_mid, "docker.io/library/redis:7", None, all), Previous::None);
    }

    #[test]
    fn a_version_that_failed_its_gate_is_never_the_one_to_go_back_to() {
        // 7.2.4 ran healthily, 7.3.0 replaced it and runs now; 7.3.1 was
        // tried after it, failed its gate and was rolled back.
        let mut broken = superseded("broken", "d-broken", "2026-03-01T00:00:00Z", "cur");
        broken.failed = Some("cache-1: exited with code 3".into());
        let mut state = State {
            superseded: vec![superseded("good", "d-good", "2026-01-01T00:00:00Z", "cur"), broken],
            ..State::default()
        };
        let all = |_: &str| true;
        assert_eq!(previous(&state, KEY, Some("cur"), all), Previous::Found(state.superseded[0].clone()));
        // Only the broken one left: nothing to go back to.
        let only_broken = State { superseded: vec![state.superseded[1].clone()], ..State::default() };
        assert_eq!(previous(&only_broken, KEY, Some("cur"), all), Previous::None);
        // A rollback to the good one that then fails its gate marks it too.
        mark_failed(&mut state, KEY, "good", "cache-1: unhealthy");
        assert_eq!(previous(&state, KEY, Some("cur"), all), Previous::None);
        assert!(state.superseded[0].failed.as_deref().unwrap().contains("unhealthy"));
    }

    #[test]
    fn going_back_supersedes_the_current_version_and_the_check_still_stands() {
        let prev = superseded("old", "d-old", "2026-01-01T00:00:00Z", "new");
        let mut state = State {
            superseded: vec![prev.clone()],
            entries: vec![entry("new", "d-new", "d-new")],
            ..State::default()
        };
        merge(&mut state, KEY, Some(("new", Some("d-new".into()))), &prev, "2026-03-02T00:00:00Z");
        assert_eq!(state.superseded.len(), 1);
        let s = &state.superseded[0];
        assert_eq!((s.image_id.as_str(), s.replaced_by.as_str()), ("new", "old"));
        assert_eq!(s.digest.as_deref(), Some("d-new"));
        assert_eq!(s.replaced_at, "2026-03-02T00:00:00Z");
        let e = &state.entries[0];
        assert_eq!(e.status, Status::Upgradable, "the registry still has the newer version");
        assert_eq!((e.image_id.as_str(), e.local_digest.as_deref()), ("old", Some("d-old")));

        // Back to what the registry lists: current again.
        let mut state = State { entries: vec![entry("new", "d-new", "d-old")], ..State::default() };
        merge(&mut state, KEY, Some(("new", None)), &prev, "2026-03-02T00:00:00Z");
        assert_eq!(state.entries[0].status, Status::UpToDate);
        assert_eq!(state.superseded[0].digest, None);
    }
}
