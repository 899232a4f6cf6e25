//! `holds.json`: a missing file holds nothing; an unreadable one stops the
//! command, since only the user knows what was held.

use std::path::Path;

use super::{parse_versioned, read_optional, save_json, Lock};
use crate::core::holds::{holds_path, Holds, SCHEMA_VERSION};
use crate::error::{Result, StoreFile};

impl Holds {
    pub fn load(dir: &Path) -> Result<Holds> {
        let path = holds_path(dir);
        match read_optional(&path, "read holds file")? {
            None => Ok(Holds::default_new()),
            Some(bytes) => parse_versioned(StoreFile::Holds, &path, &bytes, SCHEMA_VERSION),
        }
    }

    pub fn save(&self, dir: &Path, lock: &Lock) -> Result<()> {
        save_json(&holds_path(dir), self, true, "holds", lock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Holds::load(dir.path()).unwrap().holds.is_empty());
        let lock = Lock::acquire(dir.path(), Duration::ZERO, |_| {}).unwrap();
        let mut h = Holds::load(dir.path()).unwrap();
        h.add("docker.io/library/nginx:latest".into());
        h.save(dir.path(), &lock).unwrap();
        assert_eq!(Holds::load(dir.path()).unwrap(), h);
        std::fs::write(holds_path(dir.path()), "{").unwrap();
        assert!(Holds::load(dir.path()).unwrap_err().to_string().contains("holds file"));
    }
}
