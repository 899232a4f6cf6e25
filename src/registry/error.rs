//! What went wrong with a registry, typed by kind (unreachable, denied, not
//! found, rate limited, bad response) so callers decide what to retry and
//! what to tell.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Unauthorized,
    NotFound,
    Unreachable,
    RateLimited,
    BadResponse,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::NotFound => "not found",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::BadResponse => "bad response",
        }
    }
}

/// Why one check failed. The message is one line, never holds a secret,
/// and says what to do where there is something to do.
#[derive(Debug, Clone)]
pub struct RegistryError {
    pub kind: ErrorKind,
    pub message: String,
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

pub(super) fn err(kind: ErrorKind, message: impl Into<String>) -> RegistryError {
    RegistryError { kind, message: message.into() }
}

/// The origin's error, with what the mirrors said before it.
pub(super) fn after_mirrors(mut e: RegistryError, notes: &[String]) -> RegistryError {
    if !notes.is_empty() {
        e.message = format!("{} ({})", e.message, notes.join("; "));
    }
    e
}
