//! `inventory.json`: a missing file means no update has taken one yet; an
//! unreadable one is only a loss until the next update writes it whole
//! again, so readers report it and go on without it.

use std::path::Path;

use super::{parse_versioned, read_optional, save_json, Lock};
use crate::core::inventory::{Inventory, INVENTORY_FILE, SCHEMA_VERSION};
use crate::error::{Result, StoreFile};

impl Inventory {
    pub fn load(dir: &Path) -> Result<Inventory> {
        let path = dir.join(INVENTORY_FILE);
        match read_optional(&path, "read")? {
            None => Ok(Inventory { schema_version: SCHEMA_VERSION, ..Inventory::default() }),
            Some(bytes) => parse_versioned(StoreFile::Inventory, &path, &bytes, SCHEMA_VERSION),
        }
    }

    /// Replaces the file atomically; the caller holds the state lock.
    pub fn save(&self, dir: &Path, lock: &Lock) -> Result<()> {
        save_json(&dir.join(INVENTORY_FILE), self, false, "inventory", lock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn inventory_round_trips_and_says_when_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Inventory::load(dir.path()).unwrap().schema_version, SCHEMA_VERSION);
        let lock = Lock::acquire(dir.path(), Duration::ZERO, |_| {}).unwrap();
        let inv = crate::core::inventory::take(&[], &[], None, "2026-01-01T00:00:00Z");
        inv.save(dir.path(), &lock).unwrap();
        assert_eq!(Inventory::load(dir.path()).unwrap(), inv);
        std::fs::write(dir.path().join(INVENTORY_FILE), "{").unwrap();
        let err = Inventory::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("run 'freshen update' to rebuild it"), "{err}");
    }
}
