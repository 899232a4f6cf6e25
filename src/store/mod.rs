//! The state directory on disk. Every file is replaced atomically (write a
//! temporary file, fsync, rename, fsync the directory) so a crash or SIGKILL
//! leaves the old file or the new one, never a mix. Writers take an
//! exclusive lock on a separate lock file and prove it by passing the
//! `Lock`; readers need none. Each file keeps its own policy for a corrupt
//! copy: see `read_versioned`'s callers.

mod holds;
mod inventory;
pub mod journal;
mod notified;
mod outcomes;
mod skips;
mod state;
mod tagcache;
mod usage;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, StoreFile};

pub const LOCK_FILE: &str = "lock";

/// The bytes of a state-directory file; None when it does not exist.
fn read_optional(path: &Path, action: &str) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(action, path, e)),
    }
}

#[derive(Deserialize)]
struct VersionProbe {
    #[serde(default)]
    schema_version: Option<u32>,
}

/// Parses a versioned JSON file of the state directory: a file from a newer
/// freshen is refused as such (before its shape is judged), anything that
/// does not parse is `CorruptStore` with the advice for `file`.
fn parse_versioned<T: DeserializeOwned>(
    file: StoreFile,
    path: &Path,
    bytes: &[u8],
    supported: u32,
) -> Result<T> {
    let corrupt =
        |e: serde_json::Error| Error::CorruptStore { file, path: path.to_path_buf(), detail: one_line(&e) };
    let probe: VersionProbe = serde_json::from_slice(bytes).map_err(corrupt)?;
    if let Some(found) = probe.schema_version.filter(|v| *v > supported) {
        return Err(Error::StoreFromFuture { file, path: path.to_path_buf(), found, supported });
    }
    serde_json::from_slice(bytes).map_err(corrupt)
}

/// Encodes `value` and replaces `path` with it. The caller holds the lock.
fn save_json<T: Serialize>(path: &Path, value: &T, pretty: bool, what: &str, _lock: &Lock) -> Result<()> {
    write_atomic(path, &encode(value, pretty, what)?)
}

/// `save_json` for a cache that a failed read merely empties: replaced
/// atomically for readers, without waiting for the disk (two `fsync`s,
/// milliseconds each on a real disk, at the end of every update that
/// read an image config).
fn save_cache_json<T: Serialize>(path: &Path, value: &T, what: &str, _lock: &Lock) -> Result<()> {
    replace(path, &encode(value, false, what)?, false, 0o600)
}

fn encode<T: Serialize>(value: &T, pretty: bool, what: &str) -> Result<Vec<u8>> {
    let encoded = if pretty { serde_json::to_vec_pretty(value) } else { serde_json::to_vec(value) };
    let mut json = encoded.map_err(|e| Error::Internal(format!("cannot encode {what}: {e}")))?;
    json.push(b'\n');
    Ok(json)
}

fn one_line(e: &serde_json::Error) -> String {
    e.to_string().replace('\n', " ")
}

/// Replaces `path` with `bytes` so that readers see the old content or the
/// new, never a mix, even across a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace(path, bytes, true, 0o600)
}

/// Like [`write_atomic`] for a file that another user's program reads (the
/// metrics for node_exporter, which runs as its own user):
/// the mode is what the umask leaves of 0666, as for any file a shell
/// writes, not owner-only as the state files are.
pub fn write_atomic_shared(path: &Path, bytes: &[u8]) -> Result<()> {
    replace(path, bytes, true, 0o666)
}

/// Writes `bytes` to a temporary file beside `path` and renames it over
/// `path`; `durable` waits until the file and the rename are on the disk.
/// `mode` is before the umask, which `open` applies.
fn replace(path: &Path, bytes: &[u8], durable: bool, mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        // State files are owner-only (0600): they name images and
        // containers, and the recreation journal is among them.
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| Error::io("create", &tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io("write", &tmp, e))?;
        if durable {
            f.sync_all().map_err(|e| Error::io("flush", &tmp, e))?;
        }
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| Error::io("replace", path, e))?;
        // The rename itself must reach the disk too.
        if durable {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
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
