//! `usage.json`: when each image was last used (see `core::usage`). A
//! missing file means nothing was recorded yet. An unreadable one is never
//! dropped silently: it holds months of evidence that nothing can rebuild,
//! so every reader stops with the advice, and `update` leaves it as it is.

use std::path::Path;

use super::{parse_versioned, read_optional, save_json, Lock};
use crate::core::usage::{Usage, SCHEMA_VERSION, USAGE_FILE};
use crate::error::{Result, StoreFile};

impl Usage {
    pub fn load(dir: &Path) -> Result<Usage> {
        let path = dir.join(USAGE_FILE);
        match read_optional(&path, "read")? {
            None => Ok(Usage::new()),
            Some(bytes) => parse_versioned(StoreFile::Usage, &path, &bytes, SCHEMA_VERSION),
        }
    }

    /// Replaces the file atomically and durably (a crash or a power cut
    /// leaves the old record or the new); the caller holds the state lock.
    pub fn save(&self, dir: &Path, lock: &Lock) -> Result<()> {
        save_json(&dir.join(USAGE_FILE), self, false, "the usage record", lock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn usage_round_trips_and_a_corrupt_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Usage::load(dir.path()).unwrap(), Usage::new());
        let lock = Lock::acquire(dir.path(), Duration::ZERO, |_| {}).unwrap();
        let mut u = Usage::new();
        u.engines.insert("unix:///run/docker.sock".into(), Default::default());
        u.save(dir.path(), &lock).unwrap();
        assert_eq!(Usage::load(dir.path()).unwrap(), u);
        std::fs::write(dir.path().join(USAGE_FILE), "{\"schema_version\": 1, \"engines\": 3").unwrap();
        let e = Usage::load(dir.path()).unwrap_err().to_string();
        assert!(e.starts_with("usage record "), "{e}");
        assert!(e.contains("fix it or move it aside"), "{e}");
        std::fs::write(dir.path().join(USAGE_FILE), "{\"schema_version\": 9}").unwrap();
        assert!(Usage::load(dir.path()).unwrap_err().to_string().contains("newer than this freshen"));
    }
}
