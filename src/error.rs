//! One error type for the whole program. Every message says what went wrong
//! and, where the user can do something about it, what to do next. Messages
//! never contain credentials: the types that carry secrets do not implement
//! `Display` and their `Debug` prints nothing.

use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// The Docker daemon could not be reached at all.
    DaemonUnreachable { host: String, detail: String },
    /// The daemon's socket is there but this user may not connect to it.
    DaemonDenied { host: String },
    /// The daemon answered, but with an error.
    Daemon { action: String, detail: String },
    /// A file of the state directory that cannot be parsed; the message
    /// says what to do about that file.
    CorruptStore { file: StoreFile, path: PathBuf, detail: String },
    /// A file of the state directory written by a newer freshen.
    StoreFromFuture { file: StoreFile, path: PathBuf, found: u32, supported: u32 },
    /// The lock on the state directory is held by another process.
    Locked { path: PathBuf, holder: String },
    /// A config file that cannot be read or parsed.
    Config { path: PathBuf, detail: String },
    /// A value of the config file found wrong only when it is used (an
    /// exclude pattern, `older_than`), said as it is.
    ConfigValue(String),
    /// An image reference or pattern the user typed that makes no sense.
    BadReference { input: String, detail: String },
    /// Plain I/O on one of our own files.
    Io { action: String, path: PathBuf, source: std::io::Error },
    /// Something the user asked for that cannot be done, with the reason.
    Usage(String),
    /// A bad value on the command line (exit status 2, like clap's own).
    CommandLine(String),
    /// The state directory's path names a file.
    StateDirIsFile(PathBuf),
    /// A registry client that cannot be set up (TLS roots, certificates).
    Registry(String),
    /// freshen itself failed (runtime start, encoding its own files).
    Internal(String),
    /// A program freshen runs for the user (systemctl) failed or could not
    /// start.
    Program(String),
}

/// The files of the state directory, each with its own advice when it is
/// unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFile {
    /// `state.json`: rebuilt by the next update.
    State,
    /// `holds.json`: only the user knows what was held.
    Holds,
    /// `notified.json`: what each notification target has been told.
    Notified,
    /// `skips.json`: only the user knows what was skipped.
    Skips,
    /// `journal.json`: container recreations in progress.
    Journal,
    /// `inventory.json`: what the last update saw of the host.
    Inventory,
    /// `outcomes.json`: counts of checks and upgrades, for the metrics.
    Outcomes,
    /// `usage.json`: when each image was last used.
    Usage,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::DaemonUnreachable { host, detail } if host.starts_with("ssh://") => write!(
                f,
                "cannot reach the Docker engine at {host} ({detail}): check that the host is up, that \
                 ssh reaches it without a prompt and that 'docker version' works there"
            ),
            Error::DaemonUnreachable { host, detail } => write!(
                f,
                "cannot connect to the Docker daemon at {host} ({detail}): is dockerd running? \
                 Start it or point DOCKER_HOST at the right socket"
            ),
            // The docker CLI's own words, which users know how to fix.
            Error::DaemonDenied { host } => write!(
                f,
                "permission denied while trying to connect to the Docker daemon socket at {host}: \
                 run freshen with sudo, or as a user allowed to use that socket (for Docker, a member \
                 of the 'docker' group)"
            ),
            Error::Daemon { action, detail } => {
                write!(f, "the Docker daemon failed to {action}: {detail}")
            }
            Error::CorruptStore { file, path, detail } => {
                let path = path.display();
                match file {
                    StoreFile::State => {
                        write!(f, "state file {path} is unreadable ({detail}): run 'freshen update' to rebuild it")
                    }
                    StoreFile::Holds => write!(
                        f,
                        "holds file {path} is unreadable ({detail}): fix or remove it, then set the holds again"
                    ),
                    StoreFile::Notified => write!(
                        f,
                        "notification record {path} is unreadable ({detail}): remove it, and the next \
                         'freshen update --notify' announces the pending updates again"
                    ),
                    StoreFile::Skips => write!(
                        f,
                        "skips file {path} is unreadable ({detail}): fix or remove it, then skip the versions again"
                    ),
                    StoreFile::Journal => write!(
                        f,
                        "recreation journal {path} is unreadable ({detail}): check 'docker ps -a' for \
                         containers named NAME-freshen-old (rename each back to NAME and start it if \
                         NAME is missing), then remove the file"
                    ),
                    StoreFile::Inventory => write!(
                        f,
                        "inventory {path} is unreadable ({detail}): run 'freshen update' to rebuild it"
                    ),
                    StoreFile::Outcomes => write!(
                        f,
                        "outcome counts {path} are unreadable ({detail}): remove the file; the counts \
                         start again from zero"
                    ),
                    StoreFile::Usage => write!(
                        f,
                        "usage record {path} is unreadable ({detail}): fix it or move it aside (the last \
                         use of every image is then forgotten, and each counts as first seen at the next \
                         'freshen update')"
                    ),
                }
            }
            Error::StoreFromFuture { file: StoreFile::Holds, path, found, .. } => write!(
                f,
                "holds file {} has format version {found}, newer than this freshen understands: upgrade freshen",
                path.display()
            ),
            Error::StoreFromFuture { file: StoreFile::Skips, path, found, .. } => write!(
                f,
                "skips file {} has format version {found}, newer than this freshen understands: upgrade freshen",
                path.display()
            ),
            Error::StoreFromFuture { path, found, supported, .. } => write!(
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
            Error::Usage(msg)
            | Error::Registry(msg)
            | Error::Internal(msg)
            | Error::CommandLine(msg)
            | Error::Program(msg)
            | Error::ConfigValue(msg) => f.write_str(msg),
            Error::StateDirIsFile(path) => write!(
                f,
                "the state directory {} is a file, not a directory: remove it, \
                 or choose another with --state-dir or FRESHEN_STATE_DIR",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The daemon at `host` could not be reached; `detail` is the client's
    /// one-line reason. A socket this user may not open is not a daemon that
    /// is down: it gets its own message.
    pub fn unreachable(host: &str, detail: String) -> Error {
        if detail.contains("Permission denied (os error 13)") || detail.contains("permission denied") {
            Error::DaemonDenied { host: host.to_string() }
        } else {
            Error::DaemonUnreachable { host: host.to_string(), detail }
        }
    }

    /// Mistakes on the command line: exit status 2, as for clap's own.
    pub fn is_command_line(&self) -> bool {
        matches!(self, Error::CommandLine(_) | Error::BadReference { .. })
    }

    pub fn io(action: &str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { action: action.to_string(), path: path.into(), source }
    }
}
