//! `state.json`: a missing file is an empty state; an unreadable one is an
//! error that says to run `freshen update` (which sets it aside, see
//! `services::set_aside`).

use std::path::Path;

use super::{parse_versioned, read_optional, save_json, Lock};
use crate::core::state::{state_path, State, SCHEMA_VERSION, STATE_FILE};
use crate::error::{Error, Result, StoreFile};

impl State {
    /// Loads the state; a missing file is an empty state.
    pub fn load(dir: &Path) -> Result<State> {
        let path = state_path(dir);
        match read_optional(&path, "read state file")? {
            None => Ok(State::default()),
            Some(bytes) => State::parse(&path, &bytes),
        }
    }

    pub fn parse(path: &Path, bytes: &[u8]) -> Result<State> {
        let state: State = parse_versioned(StoreFile::State, path, bytes, SCHEMA_VERSION)?;
        if state.schema_version == 0 {
            return Err(Error::CorruptStore {
                file: StoreFile::State,
                path: path.to_path_buf(),
                detail: "schema_version 0 is not a freshen state".into(),
            });
        }
        Ok(state)
    }

    /// Writes the state atomically. The caller holds the lock.
    pub fn save(&self, dir: &Path, lock: &Lock) -> Result<()> {
        // A writer killed between creating its temporary file and the
        // rename leaves the file behind; under the lock no other writer is
        // using one, so any that exist are such leftovers.
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.file_name().to_str().is_some_and(|n| n.starts_with(&format!(".{STATE_FILE}.tmp-"))) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        // What an older release recorded as rolled back in this file is a
        // skip now: move it before the file is written without it.
        super::skips::migrate_rolled_back(dir, lock)?;
        save_json(&state_path(dir), self, true, "state", lock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::state::Entry;
    use crate::core::verdict::Status;
    use std::time::Duration;

    fn entry(r: &str) -> Entry {
        Entry {
            reference: r.into(),
            status: Status::Upgradable,
            image_id: "sha256:1".into(),
            local_digest: None,
            remote_digest: Some("sha256:2".into()),
            checked_at: "2026-01-01T00:00:00Z".into(),
            error: None,
            age: None,
            stale: None,
        }
    }

    #[test]
    fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(State::load(dir.path()).unwrap().entries.is_empty());
        let lock = Lock::acquire(dir.path(), Duration::ZERO, |_| {}).unwrap();
        let mut s = State::default();
        s.entries.push(entry("docker.io/library/nginx:latest"));
        s.save(dir.path(), &lock).unwrap();
        let back = State::load(dir.path()).unwrap();
        assert_eq!(back.entries, s.entries);
        assert!(back.entries.iter().any(|e| e.reference == "docker.io/library/nginx:latest"));
        // No temporary files left behind, not even those of a writer that
        // was killed midway.
        std::fs::write(dir.path().join(".state.json.tmp-999999"), "{\"schema_ver").unwrap();
        s.save(dir.path(), &lock).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn corrupt_and_future_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATE_FILE), "{\"schema_version\":1,\"entries\":[{").unwrap();
        let e = State::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("is unreadable") && e.contains("run 'freshen update' to rebuild it"), "{e}");
        std::fs::write(dir.path().join(STATE_FILE), "{\"schema_version\":99}").unwrap();
        let e = State::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("format version 99") && e.contains("upgrade freshen"), "{e}");
        std::fs::write(dir.path().join(STATE_FILE), [0xff, 0xfe, 0x00]).unwrap();
        assert!(State::load(dir.path()).is_err());
    }

    #[test]
    fn second_writer_is_told_who_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let _held = Lock::acquire(dir.path(), Duration::ZERO, |_| {}).unwrap();
        let mut told = None;
        let e = Lock::acquire(dir.path(), Duration::from_millis(250), |h| told = Some(h.to_string()))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(told.as_deref(), Some(format!("pid {}", std::process::id()).as_str()));
        assert!(e.contains("holds the lock"), "{e}");
    }
}

/// Property tests (`PROPTEST_CASES` raises the case count for a longer run).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = State::parse(Path::new("state.json"), &bytes);
        }

        #[test]
        fn parse_never_panics_on_near_misses(
            version in any::<u32>(),
            tail in "[\\[\\]{}\",:0-9a-z ]{0,60}",
        ) {
            let text = format!("{{\"schema_version\":{version},\"entries\":{tail}");
            if let Err(e) = State::parse(Path::new("state.json"), text.as_bytes()) {
                prop_assert!(!e.to_string().contains('\n'));
                prop_assert!(e.to_string().contains("state.json"));
            }
        }
    }
}
