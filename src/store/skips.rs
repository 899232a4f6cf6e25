//! `skips.json`: a missing file skips nothing; an unreadable one stops the
//! command, since only the user knows what was skipped.

use std::path::Path;

use super::{parse_versioned, read_optional, save_json, Lock};
use crate::core::skips::{skips_path, Skips, SCHEMA_VERSION};
use crate::error::{Result, StoreFile};

impl Skips {
    pub fn load(dir: &Path) -> Result<Skips> {
        let path = skips_path(dir);
        match read_optional(&path, "read skips file")? {
            None => Ok(Skips::default()),
            Some(bytes) => parse_versioned(StoreFile::Skips, &path, &bytes, SCHEMA_VERSION),
        }
    }

    pub fn save(&self, dir: &Path, lock: &Lock) -> Result<()> {
        save_json(&skips_path(dir), self, true, "skips", lock)
    }
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
            version: None,
            reason: "test".into(),
            at: "2026-11-25T12:00:00Z".into(),
        });
        s.save(dir.path(), &lock).unwrap();
        assert_eq!(Skips::load(dir.path()).unwrap(), s);
        std::fs::write(skips_path(dir.path()), "{").unwrap();
        assert!(Skips::load(dir.path()).unwrap_err().to_string().contains("skips file"));
    }
}
