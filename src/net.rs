//! What the two HTTP adapters (registry and notify) share: the backoff
//! between attempts, size-capped body reads, and the parts of a reqwest
//! error worth putting on one line. Each adapter words its own messages.

use std::time::Duration;

/// The wait before retry `attempt` (1, 2, …): `floor_ms` doubled per
/// attempt, plus up to half again as jitter from the clock's nanoseconds
/// (enough to keep a fleet apart), at most 30 s. Each client picks its floor.
pub fn backoff(attempt: u32, floor_ms: u64) -> Duration {
    let base = floor_ms.saturating_mul(1 << attempt.min(8));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = u64::from(nanos) % (base / 2 + 1);
    Duration::from_millis(base + jitter).min(Duration::from_secs(30))
}

/// Why a capped read stopped.
#[derive(Debug)]
pub enum CapError {
    /// The body is (or announced itself as) longer than the limit.
    TooBig { announced: Option<u64> },
    /// The connection broke midway.
    CutOff(reqwest::Error),
}

/// Reads a body up to `limit` bytes; a longer one is refused as soon as it
/// is known to be too long, never buffered whole.
pub async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, CapError> {
    if let Some(n) = resp.content_length().filter(|n| *n > limit as u64) {
        return Err(CapError::TooBig { announced: Some(n) });
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > limit => {
                return Err(CapError::TooBig { announced: None })
            }
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return Ok(body),
            Err(e) => return Err(CapError::CutOff(e)),
        }
    }
}

/// What kind of failure a reqwest error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    Connect,
    /// The answer broke off or could not be decoded.
    Body,
    Other,
}

pub fn failure(e: &reqwest::Error) -> Failure {
    if e.is_timeout() {
        Failure::Timeout
    } else if e.is_connect() {
        Failure::Connect
    } else if e.is_body() || e.is_decode() {
        Failure::Body
    } else {
        Failure::Other
    }
}

/// The texts of an error's sources, outermost first: reqwest nests the
/// useful part (connection refused, certificate unknown) a few levels down.
/// The error itself is left out: its text carries the URL, which may hold a
/// token.
pub fn causes(e: &reqwest::Error) -> Vec<String> {
    let mut out = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push(s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        for attempt in 1..12 {
            let d = backoff(attempt, 100);
            let base = 100u64 << attempt.min(8);
            assert!(d >= Duration::from_millis(base).min(Duration::from_secs(30)), "{attempt}: {d:?}");
            assert!(
                d <= Duration::from_millis(base * 3 / 2).min(Duration::from_secs(30)),
                "{attempt}: {d:?}"
            );
        }
        assert!(backoff(1, 250) >= Duration::from_millis(500));
        assert_eq!(backoff(30, 250), Duration::from_secs(30));
    }
}
