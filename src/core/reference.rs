//! Image references as Docker understands them, normalised so that every
//! spelling of one image compares equal: `nginx`, `library/nginx:latest` and
//! `docker.io/library/nginx:latest` are the same reference. Also the glob
//! patterns users pass to select images.

use std::fmt;

pub const DOCKER_HUB: &str = "docker.io";
/// The host that actually serves Docker Hub's registry API.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";
const MAX_NAME_LEN: usize = 255;
const MAX_TAG_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// Registry as Docker names it: `docker.io`, `ghcr.io`, `127.0.0.1:5000`.
    pub registry: String,
    /// Repository path inside the registry: `library/nginx`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    /// Parses a reference the way `docker pull` does. A reference with
    /// neither tag nor digest gets no implicit tag here.
    pub fn parse(input: &str) -> Result<Reference, String> {
        if input.is_empty() {
            return Err("empty reference".into());
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("contains whitespace".into());
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                validate_digest(digest)?;
                (rest, Some(digest.to_string()))
            }
            None => (input, None),
        };
        // A tag is what follows the last ':' provided no '/' comes after it;
        // otherwise the ':' belongs to a registry port.
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i + 1..].contains('/') => {
                let tag = &rest[i + 1..];
                validate_tag(tag)?;
                (&rest[..i], Some(tag.to_string()))
            }
            _ => (rest, None),
        };
        if name.is_empty() {
            return Err("missing repository name".into());
        }
        let (registry, repository) = split_registry(name);
        validate_registry(&registry)?;
        validate_repository(&repository)?;
        let (registry, repository) = normalise(registry, repository);
        if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
            return Err(format!("name longer than {MAX_NAME_LEN} characters"));
        }
        Ok(Reference { registry, repository, tag, digest })
    }

    /// `registry/repository`, fully qualified.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The repository as `docker images` shows it: `nginx`, `user/app`,
    /// `ghcr.io/org/app`.
    pub fn familiar_name(&self) -> String {
        if self.registry == DOCKER_HUB {
            match self.repository.strip_prefix("library/") {
                Some(short) if !short.contains('/') => short.to_string(),
                _ => self.repository.clone(),
            }
        } else {
            self.name()
        }
    }

    /// The reference as `docker images` shows it: `nginx:latest`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        push_suffix(&mut s, self);
        s
    }
}

pub fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        DOCKER_HUB_API
    } else {
        registry
    }
}

fn push_suffix(s: &mut String, r: &Reference) {
    if let Some(tag) = &r.tag {
        s.push(':');
        s.push_str(tag);
    }
    if let Some(digest) = &r.digest {
        s.push('@');
        s.push_str(digest);
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        push_suffix(&mut s, self);
        f.write_str(&s)
    }
}

/// Docker's rule: the first path component is a registry if it contains a
/// '.' or a ':', is `localhost`, or has upper-case letters (which repository
/// names cannot).
fn split_registry(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    }
}

fn normalise(registry: String, repository: String) -> (String, String) {
    let registry = match registry.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => DOCKER_HUB.to_string(),
        _ => registry,
    };
    let repository = if registry == DOCKER_HUB && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository
    };
    (registry, repository)
}

fn validate_registry(registry: &str) -> Result<(), String> {
    let bad = || format!("bad registry host '{registry}'");
    let (host_ok, port) = if let Some(rest) = registry.strip_prefix('[') {
        // An IPv6 literal: [::1]:5000
        let (addr, after) = rest.split_once(']').ok_or_else(bad)?;
        let ok = !addr.is_empty() && addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(bad)?),
        };
        (ok, port)
    } else {
        let (host, port) = match registry.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (registry, None),
        };
        let ok = !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        (ok, port)
    };
    if !host_ok {
        return Err(bad());
    }
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!("bad registry port in '{registry}'"));
        }
    }
    Ok(())
}

/// Repository path components: lower-case alphanumerics separated by `.`,
/// `_`, `__` or any number of `-`.
fn validate_repository(repository: &str) -> Result<(), String> {
    for component in repository.split('/') {
        if !valid_component(component) {
            return Err(if component.chars().any(|c| c.is_ascii_uppercase()) {
                "repository names must be lower-case".into()
            } else {
                format!("bad repository name component '{component}'")
            });
        }
    }
    Ok(())
}

fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: exactly ".", "_", "__", or one or more "-".
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= b.len() || !is_alnum(b[i]) {
            return false;
        }
    }
    true
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn validate_tag(tag: &str) -> Result<(), String> {
    let b = tag.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    if b.is_empty() {
        return Err("empty tag".into());
    }
    if b.len() > MAX_TAG_LEN {
        return Err(format!("tag longer than {MAX_TAG_LEN} characters"));
    }
    if !word(b[0]) || !b.iter().all(|&c| word(c) || c == b'.' || c == b'-') {
        return Err(format!("bad tag '{tag}'"));
    }
    Ok(())
}

/// Accepts `sha256:` + 64 lower-case hex and `sha512:` + 128; these are the
/// algorithms registries use. Anything else is refused rather than guessed at.
pub fn validate_digest(digest: &str) -> Result<(), String> {
    let (algo, hex) = digest.split_once(':').ok_or_else(|| format!("bad digest '{digest}'"))?;
    let len = match algo {
        "sha256" => 64,
        "sha512" => 128,
        _ => return Err(format!("unsupported digest algorithm in '{digest}'")),
    };
    if hex.len() != len || !hex.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        return Err(format!("bad digest '{digest}'"));
    }
    Ok(())
}

/// `sha256:0123456789abcdef…` → `0123456789ab`, as `docker images` shows ids.
pub fn short_digest(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    &hex[..hex.len().min(12)]
}

/// A glob selecting images: `*` matches any run of characters, `?` one.
/// A pattern matches a reference if it matches its full form, its familiar
/// form, or its repository name in either form, so `nginx`, `nginx:*`,
/// `docker.io/library/*` and `ghcr.io/org/*` all work as users expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    pub fn new(p: &str) -> Result<Pattern, String> {
        if p.is_empty() {
            return Err("empty pattern".into());
        }
        if p.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("contains whitespace".into());
        }
        Ok(Pattern(p.to_string()))
    }

    pub fn matches(&self, r: &Reference) -> bool {
        self.matches_forms(&Forms::of(r))
    }

    /// Matching against precomputed forms, for many patterns against one
    /// reference without rebuilding the strings each time.
    pub fn matches_forms(&self, forms: &Forms) -> bool {
        let p = self.0.as_bytes();
        forms.0.iter().any(|s| glob(p, s.as_bytes()))
    }
}

/// The spellings a pattern may match: full, familiar, and both repository
/// names.
pub struct Forms([String; 4]);

impl Forms {
    pub fn of(r: &Reference) -> Forms {
        Forms([r.to_string(), r.familiar(), r.name(), r.familiar_name()])
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Iterative wildcard match with single-star backtracking: linear in
/// practice, and no recursion for hostile patterns to blow up.
pub fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// True for hosts Docker talks plain HTTP to without being told: loopback.
pub fn is_loopback_host(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        registry.split(':').next().unwrap_or("")
    };
    host == "localhost"
        || host == "::1"
        || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Reference {
        Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn docker_hub_short_names_are_normalised() {
        let r = p("nginx");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "library/nginx");
        assert_eq!(r.tag, None);
        assert_eq!(r.to_string(), "docker.io/library/nginx");
        assert_eq!(p("library/nginx:1.25").to_string(), "docker.io/library/nginx:1.25");
        assert_eq!(p("index.docker.io/nginx:1").to_string(), "docker.io/library/nginx:1");
        assert_eq!(p("user/app:dev").to_string(), "docker.io/user/app:dev");
        assert_eq!(p("docker.io/library/nginx:latest").familiar(), "nginx:latest");
        assert_eq!(p("docker.io/user/app:dev").familiar(), "user/app:dev");
        assert_eq!(p("docker.io/library/a/b:1").familiar(), "library/a/b:1");
    }

    #[test]
    fn registries_with_ports_and_tags() {
        let r = p("127.0.0.1:5000/team/app:1.2-alpine");
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("1.2-alpine"));
        assert_eq!(r.familiar(), "127.0.0.1:5000/team/app:1.2-alpine");
        let r = p("localhost:5000/app");
        assert_eq!((r.registry.as_str(), r.tag), ("localhost:5000", None));
        let r = p("localhost/app:x");
        assert_eq!(r.registry, "localhost");
        let r = p("ghcr.io/org/app");
        assert_eq!(r.registry, "ghcr.io");
        assert_eq!(api_host(&r.registry), "ghcr.io");
        assert_eq!(api_host(&p("nginx").registry), "registry-1.docker.io");
        let r = p("[::1]:5000/app:1");
        assert_eq!(r.registry, "[::1]:5000");
        assert!(is_loopback_host(&r.registry));
    }

    #[test]
    fn digests() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = p(&format!("nginx@{d}"));
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r.tag, None);
        let r = p(&format!("nginx:1.25@{d}"));
        assert_eq!(r.tag.as_deref(), Some("1.25"));
        assert_eq!(r.to_string(), format!("docker.io/library/nginx:1.25@{d}"));
        assert!(Reference::parse("nginx@sha256:abc").is_err());
        assert!(Reference::parse(&format!("nginx@md5:{}", "a".repeat(32))).is_err());
        assert!(Reference::parse(&format!("nginx@sha256:{}", "A".repeat(64))).is_err());
        assert_eq!(short_digest(&d), "aaaaaaaaaaaa");
    }

    #[test]
    fn malformed_references_are_refused() {
        for bad in [
            "",
            "Nginx",
            "nginx:",
            ":latest",
            "nginx:-bad",
            "nginx::1",
            "a//b",
            "/nginx",
            "nginx/",
            "ngi nx",
            "a--",
            "a..b",
            "a___b",
            "host:port/app",
            "my_registry.io/app",
            "127.0.0.1:/app",
            "127.0.0.1:99999999/app",
        ] {
            assert!(Reference::parse(bad).is_err(), "accepted {bad:?}");
        }
        assert!(Reference::parse(&format!("nginx:{}", "a".repeat(129))).is_err());
        assert!(Reference::parse(&"a".repeat(300)).is_err());
    }

    #[test]
    fn separators_follow_docker_grammar() {
        for good in ["a-b", "a--b", "a_b", "a__b", "a.b", "a0", "0a", "a.b-c_d__e"] {
            assert!(valid_component(good), "{good}");
        }
        for bad in ["-a", "a-", "a_", "a.", ".a", "a___b", "a._b", "A"] {
            assert!(!valid_component(bad), "{bad}");
        }
    }

    #[test]
    fn patterns_match_every_spelling() {
        let r = p("docker.io/library/nginx:1.25");
        for pat in ["nginx", "nginx:*", "nginx:1.25", "*", "docker.io/library/*", "ngin?:1.2?"] {
            assert!(Pattern::new(pat).unwrap().matches(&r), "{pat}");
        }
        for pat in ["nginx:1.2", "redis", "ghcr.io/*", "nginx:1.25x"] {
            assert!(!Pattern::new(pat).unwrap().matches(&r), "{pat}");
        }
        let r = p("127.0.0.1:5000/ns/app:1");
        assert!(Pattern::new("127.0.0.1:5000/ns/*").unwrap().matches(&r));
        assert!(!Pattern::new("127.0.0.1:5000/other/*").unwrap().matches(&r));
    }

    #[test]
    fn glob_is_not_exponential() {
        let s = "a".repeat(5000);
        let pat = format!("{}b", "*a".repeat(50));
        assert!(!glob(pat.as_bytes(), s.as_bytes()));
    }
}

/// Property tests (`PROPTEST_CASES` raises the case count for a longer run).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// The textbook recursive wildcard match, as the oracle for `glob`.
    fn oracle(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => oracle(&p[1..], s) || (!s.is_empty() && oracle(p, &s[1..])),
            (Some(b'?'), Some(_)) => oracle(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => oracle(&p[1..], &s[1..]),
            _ => false,
        }
    }

    /// Strings that look like references, with the odd character that
    /// does not belong.
    fn reference_like() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9.:/_@-]{0,40}",
            "([a-z0-9-]{1,8}(\\.[a-z]{2,3})?(:[0-9]{1,5})?/)?[a-z0-9]{1,6}(/[a-z0-9._-]{1,6}){0,3}(:[A-Za-z0-9._-]{1,10})?(@sha256:[0-9a-f]{64})?",
            any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_round_trips(input in reference_like()) {
            if let Ok(r) = Reference::parse(&input) {
                let again = Reference::parse(&r.to_string()).expect("a parsed reference prints as a valid one");
                prop_assert_eq!(&again, &r);
                let familiar = Reference::parse(&r.familiar()).expect("the familiar form parses");
                prop_assert_eq!(familiar, r);
            }
        }

        #[test]
        fn glob_agrees_with_the_oracle(p in "[ab*?]{0,8}", s in "[ab]{0,10}") {
            prop_assert_eq!(glob(p.as_bytes(), s.as_bytes()), oracle(p.as_bytes(), s.as_bytes()));
        }

        #[test]
        fn patterns_never_panic(p in any::<String>(), input in reference_like()) {
            if let (Ok(pattern), Ok(r)) = (Pattern::new(&p), Reference::parse(&input)) {
                let _ = pattern.matches(&r);
                prop_assert!(Pattern::new("*").unwrap().matches(&r));
                prop_assert!(Pattern::new(&r.to_string()).unwrap().matches(&r));
            }
        }
    }
}
