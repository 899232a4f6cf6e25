//! Who may do what on `freshen serve`: the token rules (a read token for
//! every endpoint but `/healthz` once one is set, an apply token for
//! actions, `Authorization: Bearer` only), the loopback rule for the listen
//! address, and the pinned-upgrade request. Pure; the server applies them.

use std::net::SocketAddr;

use crate::core::secret::Secret;

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `/healthz`: a probe has no token.
    Nothing,
    /// Everything that only reads.
    Read,
    /// Upgrades, skips, holds.
    Apply,
}

/// The answer to one request's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// 401, with the reason.
    Unauthorized(&'static str),
    /// 403, with the reason.
    Forbidden(&'static str),
}

/// The tokens in effect.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub read: Option<Secret>,
    pub apply: Option<Secret>,
    pub actions: bool,
}

impl Tokens {
    /// Decides on the `Authorization` header's value, if any. The apply
    /// token also reads; the read token never applies.
    pub fn decide(&self, need: Need, authorization: Option<&str>) -> Access {
        let presented = authorization.map(bearer);
        let is = |t: &Option<Secret>, p: &str| t.as_ref().is_some_and(|t| same(t.expose(), p));
        match need {
            Need::Nothing => Access::Allowed,
            Need::Read => match (&self.read, presented) {
                (None, _) => Access::Allowed,
                (Some(_), None) => Access::Unauthorized(MISSING),
                (Some(_), Some(None)) => Access::Unauthorized(NOT_BEARER),
                (Some(_), Some(Some(p))) if is(&self.read, p) || is(&self.apply, p) => Access::Allowed,
                (Some(_), Some(Some(_))) => Access::Unauthorized(WRONG),
            },
            Need::Apply => {
                if !self.actions || self.apply.is_none() {
                    return Access::Forbidden(
                        "actions are turned off: set actions = true and an apply_token in [serve] to allow them",
                    );
                }
                match presented {
                    None => Access::Unauthorized(MISSING),
                    Some(None) => Access::Unauthorized(NOT_BEARER),
                    Some(Some(p)) if is(&self.apply, p) => Access::Allowed,
                    Some(Some(p)) if is(&self.read, p) => {
                        Access::Forbidden("the read token cannot change anything: send the apply token")
                    }
                    Some(Some(_)) => Access::Unauthorized(WRONG),
                }
            }
        }
    }
}

const MISSING: &str = "a token is needed: send 'Authorization: Bearer TOKEN'";
const NOT_BEARER: &str = "only 'Authorization: Bearer TOKEN' is accepted";
const WRONG: &str = "the token is not valid";

/// The token of a `Bearer TOKEN` header value; None for any other scheme.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Compares in time that depends only on the lengths, so a wrong token's
/// answer does not tell how much of it was right.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= (a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff)) as usize;
    }
    diff == 0
}

/// The listen address, checked: one beyond loopback needs a read token.
pub fn check_listen(listen: &str, has_read_token: bool) -> Result<SocketAddr, String> {
    let addr: SocketAddr = listen.parse().map_err(|_| {
        format!("'{listen}' is not an address to listen on: use IP:PORT, like 127.0.0.1:8675")
    })?;
    if !addr.ip().is_loopback() && !has_read_token {
        return Err(format!(
            "refusing to listen on {addr} without a read token: anyone who reaches it would see every \
             image; set read_token (or read_token_file) in [serve], or listen on 127.0.0.1"
        ));
    }
    Ok(addr)
}

/// `POST /api/v1/upgrades`: the tag and the digest the person approved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpgradeRequest {
    pub reference: String,
    pub expected_digest: String,
}

/// Skip, hold or unhold: the tag.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagRequest {
    pub reference: String,
}

/// A digest as the registry writes it: `sha256:` and 64 hex digits.
pub fn check_digest(d: &str) -> Result<(), String> {
    match d.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) =>
        {
            Ok(())
        }
        _ => Err(format!("expected_digest '{}' is not a digest: send sha256: and 64 hex digits", short(d))),
    }
}

/// At most 80 characters of something a client sent, for a message.
pub fn short(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(80).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens { read: Some(Secret::new("r-token")), apply: Some(Secret::new("a-token")), actions: true }
    }

    #[test]
    fn read_needs_either_token_once_one_is_set() {
        let t = tokens();
        assert_eq!(t.decide(Need::Read, Some("Bearer r-token")), Access::Allowed);
        assert_eq!(t.decide(Need::Read, Some("bearer a-token")), Access::Allowed);
        assert!(matches!(t.decide(Need::Read, None), Access::Unauthorized(_)));
        assert!(matches!(t.decide(Need::Read, Some("Bearer r-toke")), Access::Unauthorized(_)));
        assert!(matches!(t.decide(Need::Read, Some("Basic r-token")), Access::Unauthorized(_)));
        assert_eq!(t.decide(Need::Nothing, None), Access::Allowed);
        let open = Tokens { read: None, ..tokens() };
        assert_eq!(open.decide(Need::Read, None), Access::Allowed);
    }

    #[test]
    fn actions_need_the_apply_token_and_the_read_token_is_forbidden() {
        let t = tokens();
        assert_eq!(t.decide(Need::Apply, Some("Bearer a-token")), Access::Allowed);
        assert!(matches!(t.decide(Need::Apply, Some("Bearer r-token")), Access::Forbidden(_)));
        assert!(matches!(t.decide(Need::Apply, None), Access::Unauthorized(_)));
        assert!(matches!(t.decide(Need::Apply, Some("Bearer nope")), Access::Unauthorized(_)));
        let off = Tokens { actions: false, ..tokens() };
        assert!(matches!(off.decide(Need::Apply, Some("Bearer a-token")), Access::Forbidden(_)));
    }

    #[test]
    fn comparing_tokens_tells_only_equal_or_not() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert!(!same("", "a"));
        assert!(same("", ""));
    }

    #[test]
    fn beyond_loopback_needs_a_read_token() {
        assert!(check_listen("127.0.0.1:8675", false).is_ok());
        assert!(check_listen("[::1]:8675", false).is_ok());
        assert!(check_listen("0.0.0.0:8675", false)
            .unwrap_err()
            .starts_with("refusing to listen on 0.0.0.0:8675"));
        assert!(check_listen("0.0.0.0:8675", true).is_ok());
        assert!(check_listen("localhost", false).is_err());
    }

    #[test]
    fn digests_are_checked_before_any_registry_is_asked() {
        assert!(check_digest(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(check_digest("sha256:abc").is_err());
        assert!(check_digest(&format!("sha256:{}", "A".repeat(64))).is_err());
    }
}
