//! `notified.json`: a missing file means nothing was announced yet; an
//! unreadable one is set aside by the announcing service (better to announce
//! again than to stop announcing).

use std::path::Path;

use super::{parse_versioned, read_optional, save_json, Lock};
use crate::core::notified::{Record, NOTIFIED_FILE, SCHEMA_VERSION};
use crate::error::{Result, StoreFile};

impl Record {
    pub fn load(dir: &Path) -> Result<Record> {
        let path = dir.join(NOTIFIED_FILE);
        match read_optional(&path, "read")? {
            None => Ok(Record { schema_version: SCHEMA_VERSION, ..Record::default() }),
            Some(bytes) => parse_versioned(StoreFile::Notified, &path, &bytes, SCHEMA_VERSION),
        }
    }

    /// Writes the record atomically; the caller holds the state lock.
    pub fn save(&self, dir: &Path, lock: &Lock) -> Result<()> {
        save_json(&dir.join(NOTIFIED_FILE), self, true, "record", lock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::state::Entry;
    use crate::core::verdict::Status;
    use std::time::Duration;

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

    #[test]
    fn record_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Record::load(dir.path()).unwrap().schema_version, SCHEMA_VERSION);
        let lock = Lock::acquire(dir.path(), Duration::ZERO, |_| {}).unwrap();
        let a = entry("r/a:1", Status::Upgradable, "sha256:a2");
        let mut rec = Record { schema_version: SCHEMA_VERSION, ..Record::default() };
        let due = rec.due("hook", &[&a], 5, None);
        rec.mark_sent("hook", &due, 5);
        rec.save(dir.path(), &lock).unwrap();
        assert_eq!(Record::load(dir.path()).unwrap(), rec);
        std::fs::write(dir.path().join(NOTIFIED_FILE), "{").unwrap();
        assert!(Record::load(dir.path()).unwrap_err().to_string().contains("unreadable"));
    }
}
