//! `outcomes.json`: a missing file means nothing was counted yet. An
//! unreadable one is refused by readers with the advice to remove it; the
//! services that count (update, upgrade) set it aside and start again from
//! zero, since losing a count is better than no longer counting.

use std::path::Path;

use super::{parse_versioned, read_optional, save_json, Lock};
use crate::core::outcomes::{Outcomes, OUTCOMES_FILE, SCHEMA_VERSION};
use crate::error::{Result, StoreFile};

impl Outcomes {
    pub fn load(dir: &Path) -> Result<Outcomes> {
        let path = dir.join(OUTCOMES_FILE);
        match read_optional(&path, "read")? {
            None => Ok(Outcomes::new()),
            Some(bytes) => parse_versioned(StoreFile::Outcomes, &path, &bytes, SCHEMA_VERSION),
        }
    }

    /// Replaces the file atomically; the caller holds the state lock.
    pub fn save(&self, dir: &Path, lock: &Lock) -> Result<()> {
        save_json(&dir.join(OUTCOMES_FILE), self, true, "outcome counts", lock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn outcomes_round_trip_and_refuse_a_future_format() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Outcomes::load(dir.path()).unwrap(), Outcomes::new());
        let lock = Lock::acquire(dir.path(), Duration::ZERO, |_| {}).unwrap();
        let mut o = Outcomes::new();
        o.check(true, 5);
        o.upgrade("r/a:1", crate::core::outcomes::UpgradeResult::Failed, 6);
        o.save(dir.path(), &lock).unwrap();
        assert_eq!(Outcomes::load(dir.path()).unwrap(), o);
        std::fs::write(dir.path().join(OUTCOMES_FILE), "[").unwrap();
        assert!(Outcomes::load(dir.path()).unwrap_err().to_string().contains("remove the file"));
        std::fs::write(dir.path().join(OUTCOMES_FILE), "{\"schema_version\": 9}").unwrap();
        assert!(Outcomes::load(dir.path()).unwrap_err().to_string().contains("newer than this freshen"));
    }
}
