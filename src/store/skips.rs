//! `skips.json`: a missing file skips nothing; an unreadable one stops the
//! command, since only the user knows what was skipped.

use std::path::Path;

use std::collections::BTreeMap;

use super::{parse_versioned, read_optional, save_json, Lock};
use crate::core::skips::{skips_path, Skips, SCHEMA_VERSION};
use crate::core::state::{state_path, RolledBack, State};
use crate::error::{Result, StoreFile};

impl Skips {
    /// The skips, with the versions an older release recorded as rolled
    /// back in `state.json` (until a save moves them here for good).
    pub fn load(dir: &Path) -> Result<Skips> {
        let mut skips = Skips::load_file(dir)?;
        skips.adopt_rolled_back(&legacy_rolled_back(dir));
        Ok(skips)
    }

    /// `skips.json` alone.
    fn load_file(dir: &Path) -> Result<Skips> {
        let path = skips_path(dir);
        match read_optional(&path, "read skips file")? {
            None => Ok(Skips::default()),
            Some(bytes) => parse_versioned(StoreFile::Skips, &path, &bytes, SCHEMA_VERSION),
        }
    }

    /// Writes the skips; a `state.json` that still holds an older release's
    /// `rolled_back` loses it, since `load` merged it into these (and
    /// `unskip` may have lifted some of it). The caller holds the lock.
    pub fn save(&self, dir: &Path, lock: &Lock) -> Result<()> {
        save_json(&skips_path(dir), self, true, "skips", lock)?;
        if !legacy_rolled_back(dir).is_empty() {
            if let Ok(state) = State::load(dir) {
                save_json(&state_path(dir), &state, true, "state", lock)?;
            }
        }
        Ok(())
    }
}

/// The `rolled_back` field an older release wrote into `state.json`; empty
/// when there is none or the state cannot be read (its own load reports
/// that).
pub(super) fn legacy_rolled_back(dir: &Path) -> BTreeMap<String, RolledBack> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default)]
        rolled_back: BTreeMap<String, RolledBack>,
    }
    // Parsing a large state for a field that is almost never there costs
    // milliseconds; a state without the key has nothing to move.
    std::fs::read(state_path(dir))
        .ok()
        .filter(|bytes| std::str::from_utf8(bytes).map_or(true, |text| text.contains("\"rolled_back\"")))
        .and_then(|bytes| serde_json::from_slice::<Probe>(&bytes).ok())
        .map(|p| p.rolled_back)
        .unwrap_or_default()
}

/// Before `state.json` is written without the `rolled_back` field: moves
/// what an older release recorded there into `skips.json`. The caller holds
/// the lock.
pub(super) fn migrate_rolled_back(dir: &Path, lock: &Lock) -> Result<()> {
    let legacy = legacy_rolled_back(dir);
    if legacy.is_empty() {
        return Ok(());
    }
    let mut skips = Skips::load_file(dir)?;
    if skips.adopt_rolled_back(&legacy) {
        save_json(&skips_path(dir), &skips, true, "skips", lock)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::skips::Skip;
    use std::time::Duration;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Skips::load(dir.path()).unwrap().skips.is_empty());
        let lock = Lock::acquire(dir.path(), Duration::ZERO, |_| {}).unwrap();
        let mut s = Skips::load(dir.path()).unwrap();
        s.record(Skip {
            reference: "docker.io/library/nginx:latest".into(),
            digest: Some("sha256:2".into()),
            tag: None,
            tag_digest: None,
            version: None,
            reason: "test".into(),
            at: "2026-11-25T12:00:00Z".into(),
        });
        s.save(dir.path(), &lock).unwrap();
        assert_eq!(Skips::load(dir.path()).unwrap(), s);
        std::fs::write(skips_path(dir.path()), "{").unwrap();
        assert!(Skips::load(dir.path()).unwrap_err().to_string().contains("skips file"));
    }

    const OLD_STATE: &str = r#"{"schema_version": 1, "freshen_version": "0.1.0", "entries": [],
        "rolled_back": {"docker.io/library/nginx:latest":
            {"digest": "sha256:2", "at": "2026-11-20T08:00:00Z", "reason": "web: it is unhealthy"}}}"#;

    #[test]
    fn an_old_rolled_back_field_is_read_and_moved_to_the_skips() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(state_path(dir.path()), OLD_STATE).unwrap();
        // Read: the state loads, and the skips show the rolled-back version.
        let state = State::load(dir.path()).unwrap();
        assert_eq!(legacy_rolled_back(dir.path()).len(), 1);
        let skips = Skips::load(dir.path()).unwrap();
        assert_eq!(skips.skips.len(), 1);
        assert_eq!(skips.skips[0].digest.as_deref(), Some("sha256:2"));
        assert_eq!(skips.skips[0].rolled_back(), Some("web: it is unhealthy"));
        assert!(!skips_path(dir.path()).exists(), "reading wrote something");
        // Saving the state moves it to skips.json and drops the field.
        let lock = Lock::acquire(dir.path(), Duration::ZERO, |_| {}).unwrap();
        state.save(dir.path(), &lock).unwrap();
        assert!(!std::fs::read_to_string(state_path(dir.path())).unwrap().contains("rolled_back"));
        assert_eq!(Skips::load_file(dir.path()).unwrap(), skips);
        assert_eq!(Skips::load(dir.path()).unwrap(), skips);
    }

    #[test]
    fn lifting_an_old_rolled_back_version_lasts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(state_path(dir.path()), OLD_STATE).unwrap();
        let lock = Lock::acquire(dir.path(), Duration::ZERO, |_| {}).unwrap();
        let mut skips = Skips::load(dir.path()).unwrap();
        assert_eq!(skips.remove("docker.io/library/nginx:latest"), 1);
        skips.save(dir.path(), &lock).unwrap();
        assert!(Skips::load(dir.path()).unwrap().skips.is_empty());
        assert!(legacy_rolled_back(dir.path()).is_empty(), "the old field is still in state.json");
        let state = State::load(dir.path()).unwrap();
        state.save(dir.path(), &lock).unwrap();
        assert!(Skips::load(dir.path()).unwrap().skips.is_empty());
    }
}
