//! The recreation journal, `journal.json` in the state directory: one
//! record per container whose recreation is under way, written (atomically,
//! owner-only) before each step, so that a run killed midway can be finished
//! or undone by the next. It holds names, ids, image ids and steps: never a
//! container's environment, command or other settings (the stopped old
//! container is the backup of those).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::core::recreate::JournalEntry;
use crate::error::{Error, Result, StoreFile};

const FILE: &str = "journal.json";
const SCHEMA: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    schema_version: u32,
    entries: Vec<JournalEntry>,
}

/// The journal of one state directory. Containers of one upgrade are
/// recreated side by side, so it takes `&self` and writes under a mutex, in
/// the order the steps happen.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    entries: Mutex<Vec<JournalEntry>>,
}

impl Journal {
    /// Whether a journal file is there (cheap: no engine needed to know
    /// there is nothing to repair).
    pub fn exists(dir: &Path) -> bool {
        dir.join(FILE).exists()
    }

    /// Reads the journal; no file is an empty journal.
    pub fn load(dir: &Path) -> Result<Journal> {
        let path = dir.join(FILE);
        let entries = match std::fs::read(&path) {
            Ok(bytes) => {
                let stored: Stored = super::parse_versioned(StoreFile::Journal, &path, &bytes, SCHEMA)?;
                stored.entries
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        Ok(Journal { path, entries: Mutex::new(entries) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<JournalEntry>> {
        // A panic elsewhere while holding it leaves the list as it was.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().clone()
    }

    /// Records (or updates) the entry for `entry.name` and writes the file.
    pub fn set(&self, entry: JournalEntry) -> Result<()> {
        let mut entries = self.lock();
        entries.retain(|e| e.name != entry.name);
        entries.push(entry);
        self.save(&entries)
    }

    /// Drops the entry of a container that is done with; the file goes when
    /// the last one does.
    pub fn remove(&self, name: &str) -> Result<()> {
        let mut entries = self.lock();
        entries.retain(|e| e.name != name);
        if entries.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io("remove", &self.path, e)),
            };
        }
        self.save(&entries)
    }

    fn save(&self, entries: &[JournalEntry]) -> Result<()> {
        let stored = Stored { schema_version: SCHEMA, entries: entries.to_vec() };
        // Owner-only, like every state file (see `write_atomic`). Written
        // only by commands that hold the state directory's lock (upgrade,
        // rollback, the repair before them).
        super::write_atomic(&self.path, &super::encode(&stored, true, "the recreation journal")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::recreate::Step;
    use std::os::unix::fs::PermissionsExt;

    fn entry(name: &str) -> JournalEntry {
        JournalEntry {
            name: name.into(),
            old_id: "old".into(),
            new_id: None,
            reference: "reg/app:1".into(),
            old_image: "sha256:1".into(),
            new_image: "sha256:2".into(),
            was_running: true,
            step: Step::Stopping,
            compose: None,
            dependents: vec![],
            restart: None,
        }
    }

    #[test]
    fn entries_survive_a_reload_and_the_file_is_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::load(dir.path()).unwrap();
        assert!(j.is_empty());
        j.set(entry("web")).unwrap();
        j.set(entry("db")).unwrap();
        j.set(JournalEntry { step: Step::Gating, new_id: Some("new".into()), ..entry("web") }).unwrap();
        let mode = std::fs::metadata(dir.path().join(FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Journal::load(dir.path()).unwrap();
        let steps: Vec<(String, Step)> = again.entries().into_iter().map(|e| (e.name, e.step)).collect();
        assert_eq!(steps, [("db".to_string(), Step::Stopping), ("web".to_string(), Step::Gating)]);
        again.remove("db").unwrap();
        again.remove("web").unwrap();
        assert!(!dir.path().join(FILE).exists(), "an empty journal leaves no file");
    }

    #[test]
    fn a_damaged_journal_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "{not json").unwrap();
        let err = Journal::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("freshen-old"), "{err}");
    }
}
