//! The registry's authentication challenge (`WWW-Authenticate`) and the
//! token endpoint's answer, parsed without I/O.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Bearer { realm: String, service: Option<String> },
    Basic,
}

/// Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
/// Quoted values may contain commas; unquoted ones end at a comma.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(char::is_whitespace).unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    let get = |k: &str| params.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
    let realm = get("realm").filter(|r| r.starts_with("https://") || r.starts_with("http://"))?;
    Some(Challenge::Bearer { realm, service: get("service").filter(|s| !s.is_empty()) })
}

fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b',' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        let key_start = i;
        while i < b.len() && b[i] != b'=' && b[i] != b',' {
            i += 1;
        }
        let key = s[key_start..i].trim().to_string();
        if i >= b.len() || b[i] != b'=' {
            continue;
        }
        i += 1;
        let mut value = String::new();
        if i < b.len() && b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                // Push whole UTF-8 characters, not bytes.
                let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
                value.push(ch);
                i += ch.len_utf8();
            }
            i += 1;
        } else {
            let start = i;
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            value = s[start..i].trim().to_string();
        }
        if !key.is_empty() {
            out.push((key, value));
        }
    }
    out
}

#[derive(Debug, Deserialize)]
pub struct TokenAnswer {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl TokenAnswer {
    pub fn into_token(self) -> Option<(String, u64)> {
        let token = self.token.filter(|t| !t.is_empty()).or(self.access_token.filter(|t| !t.is_empty()))?;
        // The spec's default lifetime is 60 seconds.
        Some((token, self.expires_in.unwrap_or(60).max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            })
        );
        let c = parse_challenge(r#"bearer realm=http://127.0.0.1:5001/auth , service=local"#);
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:5001/auth".into(),
                service: Some("local".into())
            })
        );
        assert_eq!(parse_challenge(r#"Basic realm="Registry Realm""#), Some(Challenge::Basic));
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None, "no realm");
        assert_eq!(parse_challenge(r#"Bearer realm="file:///etc/passwd""#), None);
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge(""), None);
        assert!(parse_challenge("Bearer realm=\"https://x/é\",service=\"s\"").is_some());
    }

    #[test]
    fn token_answers() {
        let a: TokenAnswer = serde_json::from_str(r#"{"token":"t","expires_in":300}"#).unwrap();
        assert_eq!(a.into_token(), Some(("t".into(), 300)));
        let a: TokenAnswer = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
        assert_eq!(a.into_token(), Some(("a".into(), 60)));
        let a: TokenAnswer = serde_json::from_str(r#"{"token":""}"#).unwrap();
        assert_eq!(a.into_token(), None);
    }
}

/// Property tests (`PROPTEST_CASES` raises the case count for a longer run).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_challenge_never_panics(header in any::<String>()) {
            let _ = parse_challenge(&header);
        }

        #[test]
        fn parse_challenge_never_panics_on_near_misses(header in "(Bearer|Basic|bearer) [a-z=\",\\\\ é:/]{0,60}") {
            let _ = parse_challenge(&header);
        }

        #[test]
        fn quoted_parameters_come_back(
            realm in "https://[a-z]{1,10}(:[0-9]{1,5})?/[a-z,=/ ]{0,20}",
            service in "[a-z0-9., =é\\\\\"]{1,20}",
        ) {
            let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
            let header = format!(
                "Bearer realm=\"{}\",service=\"{}\",scope=\"repository:a/b:pull\"",
                quote(&realm),
                quote(&service)
            );
            prop_assert_eq!(
                parse_challenge(&header),
                Some(Challenge::Bearer { realm, service: Some(service) })
            );
        }
    }
}
