//! The record of the last update: one JSON file, replaced atomically
//! (write a temporary file, fsync, rename, fsync the directory) so a crash
//! or SIGKILL leaves the old file or the new one, never a mix. Writers take
//! an exclusive lock on a separate lock file; readers need none.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::core::verdict::Status;
use crate::error::{Error, Result};
use crate::registry::RateLimit;

pub const STATE_FILE: &str = "state.json";
pub const LOCK_FILE: &str = "lock";
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub schema_version: u32,
    #[serde(default)]
    pub freshen_version: String,
    /// When the last update finished (RFC 3339), None before the first.
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub entries: Vec<Entry>,
    /// What freshen learnt about each registry: the scheme that worked and
    /// the last rate-limit headers. Never credentials or tokens.
    #[serde(default)]
    pub registries: BTreeMap<String, RegistryInfo>,
    /// Versions an upgrade replaced and that may still be on the host: what
    /// `rollback` returns to and `autoremove` retires.
    #[serde(default)]
    pub superseded: Vec<Superseded>,
    /// Per tag (fully qualified): the version whose containers failed the
    /// health gate and were rolled back. Upgrades leave that digest alone
    /// until the registry's tag moves to another.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rolled_back: BTreeMap<String, RolledBack>,
}

/// A version an upgrade tried and took back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RolledBack {
    pub digest: String,
    pub at: String,
    pub reason: String,
}

/// One version of a tag that an upgrade (or a rollback) replaced.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Superseded {
    pub image_id: String,
    /// The tag it was, fully qualified.
    pub reference: String,
    /// Its digest in the tag's repository, if it had one.
    #[serde(default)]
    pub digest: Option<String>,
    pub replaced_at: String,
    /// The image id the tag points at since.
    pub replaced_by: String,
    /// `upgrade --tags` moved on to a newer tag: the old tag itself is
    /// obsolete, and retiring this version may remove it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tag_moved: bool,
}

/// The verdict for one local tag (or one pinned image) at one check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Fully qualified: `docker.io/library/nginx:latest`.
    pub reference: String,
    pub status: Status,
    /// The local image the check was about.
    pub image_id: String,
    pub local_digest: Option<String>,
    pub remote_digest: Option<String>,
    pub checked_at: String,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegistryInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
}

impl Default for State {
    fn default() -> State {
        State {
            schema_version: SCHEMA_VERSION,
            freshen_version: env!("CARGO_PKG_VERSION").to_string(),
            updated_at: None,
            entries: Vec::new(),
            registries: BTreeMap::new(),
            superseded: Vec::new(),
            rolled_back: BTreeMap::new(),
        }
    }
}

#[derive(Deserialize)]
struct VersionProbe {
    schema_version: u32,
}

pub fn state_path(dir: &Path) -> PathBuf {
    dir.join(STATE_FILE)
}

impl State {
    /// Loads the state; a missing file is an empty state.
    pub fn load(dir: &Path) -> Result<State> {
        let path = state_path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(Error::io("read state file", &path, e)),
        };
        State::parse(&path, &bytes)
    }

    pub fn parse(path: &Path, bytes: &[u8]) -> Result<State> {
        let corrupt = |detail: String| Error::StateCorrupt { path: path.to_path_buf(), detail };
        let probe: VersionProbe = serde_json::from_slice(bytes).map_err(|e| corrupt(one_line(&e)))?;
        if probe.schema_version > SCHEMA_VERSION {
            return Err(Error::StateFromFuture {
                path: path.to_path_buf(),
                found: probe.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        if probe.schema_version == 0 {
            return Err(corrupt("schema_version 0 is not a freshen state".into()));
        }
        serde_json::from_slice(bytes).map_err(|e| corrupt(one_line(&e)))
    }

    /// Writes the state atomically. The caller holds the lock.
    pub fn save(&self, dir: &Path, _lock: &Lock) -> Result<()> {
        let mut json =
            serde_json::to_vec_pretty(self).map_err(|e| Error::Usage(format!("cannot encode state: {e}")))?;
        json.push(b'\n');
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
        write_atomic(&state_path(dir), &json)
    }
}

fn one_line(e: &serde_json::Error) -> String {
    e.to_string().replace('\n', " ")
}

/// Replaces `path` with `bytes` so that readers see the old content or the
/// new, never a mix, even across a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        // Owner-only: state files name containers and images, and a
        // recreation's journal sits beside them.
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io("create", &tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io("write", &tmp, e))?;
        f.sync_all().map_err(|e| Error::io("flush", &tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| Error::io("replace", path, e))?;
        // The rename itself must reach the disk too.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The exclusive lock for writers, held until dropped. The lock file holds
/// the holder's pid so the waiting side can say who it waits for.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock, waiting up to `wait` for another freshen to finish.
    /// `on_wait` is called once if we have to wait.
    pub fn acquire(dir: &Path, wait: Duration, on_wait: impl FnOnce(&str)) -> Result<Lock> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create state directory", dir, e))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io("open lock file", &path, e))?;
        let deadline = Instant::now() + wait;
        let mut waited = false;
        let mut on_wait = Some(on_wait);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = holder(&path);
                    if Instant::now() >= deadline {
                        return Err(Error::Locked { path, holder });
                    }
                    if !waited {
                        waited = true;
                        if let Some(f) = on_wait.take() {
                            f(&holder);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", &path, e)),
            }
        }
        let _ = file.set_len(0);
        let _ = file.write_all(format!("{}\n", std::process::id()).as_bytes());
        let _ = file.flush();
        Ok(Lock { _file: file })
    }
}

fn holder(path: &Path) -> String {
    match std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<u32>().ok()) {
        Some(pid) => format!("pid {pid}"),
        None => "another process".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(r: &str) -> Entry {
        Entry {
            reference: r.into(),
            status: Status::Upgradable,
            image_id: "sha256:1".into(),
            local_digest: None,
            remote_digest: Some("sha256:2".into()),
            checked_at: "2026-01-01T00:00:00Z".into(),
            error: None,
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
