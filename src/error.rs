//! One error type for the whole program. Every message says what went wrong
//! and, where the user can do something about it, what to do next. Messages
//! never contain credentials: the types that carry secrets do not implement
//! `Display` and their `Debug` prints nothing.

use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// The Docker daemon could not be reached at all.
    DaemonUnreachable { host: String, detail: String },
    /// The daemon answered, but with an error.
    Daemon { action: String, detail: String },
    /// A state file that cannot be read or parsed.
    StateCorrupt { path: PathBuf, detail: String },
    /// A state file written by a newer freshen.
    StateFromFuture { path: PathBuf, found: u32, supported: u32 },
    /// The lock on the state directory is held by another process.
    Locked { path: PathBuf, holder: String },
    /// A config file that cannot be read or parsed.
    Config { path: PathBuf, detail: String },
    /// An image reference or pattern the user typed that makes no sense.
    BadReference { input: String, detail: String },
    /// Plain I/O on one of our own files.
    Io { action: String, path: PathBuf, source: std::io::Error },
    /// Something the user asked for that cannot be done, with the reason.
    Usage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::DaemonUnreachable { host, detail } => write!(
                f,
                "cannot connect to the Docker daemon at {host} ({detail}): is dockerd running? \
                 Start it or point DOCKER_HOST at the right socket"
            ),
            Error::Daemon { action, detail } => {
                write!(f, "the Docker daemon failed to {action}: {detail}")
            }
            Error::StateCorrupt { path, detail } => write!(
                f,
                "state file {} is unreadable ({detail}): run 'freshen update' to rebuild it",
                path.display()
            ),
            Error::StateFromFuture { path, found, supported } => write!(
                f,
                "state file {} has format version {found}, newer than this freshen understands \
                 ({supported}): upgrade freshen, or remove the file and run 'freshen update'",
                path.display()
            ),
            Error::Locked { path, holder } => write!(
                f,
                "another freshen ({holder}) holds the lock {}: wait for it to finish and try again",
                path.display()
            ),
            Error::Config { path, detail } => {
                write!(f, "config file {}: {detail}", path.display())
            }
            Error::BadReference { input, detail } => {
                write!(f, "invalid image reference '{input}': {detail}")
            }
            Error::Io { action, path, source } => {
                write!(f, "cannot {action} {}: {source}", path.display())
            }
            Error::Usage(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    pub fn io(action: &str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { action: action.to_string(), path: path.into(), source }
    }
}
