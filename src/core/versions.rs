//! Version tags: which tags of a repository are versions, how they order,
//! and which newer tag a local tag may move to. Pure functions, no I/O.
//!
//! The rules follow Renovate's docker versioning, made precise:
//! - A leading `v` is dropped (`v2.11.0`), but a candidate must have one
//!   exactly when the current tag has one, so `v2.11.0` moves to `v2.11.1`
//!   and never to a duplicate `2.11.1`.
//! - The part before the first `-` is the release: numeric components
//!   separated by dots (`16`, `1.27.3`, `1.2.3.4`). A last component may
//!   carry an attached pre-release (`3.13.0a1`, `2.0.0rc2`).
//! - The rest is the compatibility suffix (`alpine`, `slim-bookworm`,
//!   `alpine3.19`). A candidate has exactly the same suffix, so `-alpine`
//!   never jumps to `-bookworm` and `-alpine3.19` stays on Alpine 3.19.
//! - A first suffix part that names a pre-release (`rc1`, `beta.2`,
//!   `alpha`) is a pre-release, not a suffix. Pre-releases sort below the
//!   release and are candidates only when the current tag is one.
//! - A tag that is strict SemVer 2.0 (three numbers, then one pre-release
//!   of dot-separated identifiers that starts with `alpha`, `beta` or `rc`
//!   alone: `1.0.0-alpha.beta`, `2.1.0-rc.1.2`), checked by the `semver`
//!   crate, has its pre-release ordered by SemVer's precedence:
//!   `1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta.11 < 1.0.0-rc.1`.
//!   Docker's loose spellings (`3.13.0a1`, `7.4-rc1`, `1.2.3-rc1-alpine`,
//!   `2.0.0-rc10`, where the number is glued to the word) keep the word's
//!   rank and the number read as a number, since SemVer would sort `rc10`
//!   below `rc9` as text; so do other words (`dev`, `pre`), whose ASCII
//!   order differs from their rank. Both readings share one key (kind, next
//!   identifier, rest), so a series that mixes them still sorts totally.
//!   Docker tags cannot hold `+`, so SemVer's build metadata never occurs.
//! - A last suffix part `lsNNN` (linuxserver.io) or `rNNN` (Bitnami) is a
//!   build counter: a higher counter of the same release is newer. A
//!   candidate has a counter of the same kind exactly when the current does.
//! - A candidate has the same number of release components, and the same
//!   scheme: a first component from 1900 to 2999, or an eight-digit date,
//!   marks a calendar version (`2024.10.1`, `20240105`), and calendar
//!   versions never replace plain ones or the reverse. This keeps a stray
//!   `2024.1` tag from outranking `16.4` in a SemVer series.
//! - Tags that look like commit hashes (`sha-1a2b3c4`, `3f9e2d1c`) and
//!   words (`latest`, `stable`, `edge`, `alpine`) are not versions; those
//!   tags are followed by digest only.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::core::reference::glob;

/// Releases with more components than this are not versions (they are
/// dates with times, IP-like names, or noise).
const MAX_COMPONENTS: usize = 6;

/// How far a move goes: the first release component that changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Same tag, new image.
    Digest,
    /// A third or later component, or only the pre-release or build counter.
    Patch,
    /// The second component.
    Minor,
    /// The first component.
    Major,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Digest => "digest",
            Level::Patch => "patch",
            Level::Minor => "minor",
            Level::Major => "major",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pre-release marker, ordered as one key so that strict and loose
/// pre-releases sort together consistently: the kind (`alpha < beta <
/// rc`), then the next identifier, then the rest. For a strict SemVer
/// pre-release this key orders exactly as SemVer's precedence does; a loose
/// one is its kind and its number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pre {
    rank: u8,
    next: Ident,
    /// The identifiers after `next` of a strict SemVer pre-release (`1` of
    /// `rc.1.1`), compared by the `semver` crate; `None` sorts first, as
    /// fewer identifiers do in SemVer.
    tail: Option<semver::Prerelease>,
}

/// The identifier after the kind, in SemVer's order: none, then numbers by
/// value, then words as ASCII text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Missing,
    Number(u64),
    Word(String),
}

/// A tag that is a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The tag as written.
    pub tag: String,
    pub release: Vec<u64>,
    pub pre: Option<Pre>,
    /// The compatibility suffix without its leading `-` (may be empty).
    pub suffix: String,
    /// `("ls", 45)` for `-ls45`.
    pub build: Option<(String, u64)>,
    v_prefix: bool,
}

impl Version {
    /// Parses a tag; `None` when it is not a version.
    pub fn parse(tag: &str) -> Option<Version> {
        if tag.is_empty() || looks_like_hash(tag) {
            return None;
        }
        let (v_prefix, body) = match tag.strip_prefix(['v', 'V']) {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => (true, rest),
            _ => (false, tag),
        };
        let (release_text, rest) = match body.split_once('-') {
            Some((r, s)) => (r, Some(s)),
            None => (body, None),
        };
        let mut components: Vec<&str> = release_text.split('.').collect();
        if components.len() > MAX_COMPONENTS {
            return None;
        }
        // An attached pre-release on the last component: `0rc1`, `0a1`.
        let mut pre = None;
        let last = components.pop()?;
        let digits_end = last.find(|c: char| !c.is_ascii_digit()).unwrap_or(last.len());
        if digits_end < last.len() {
            pre = Some(parse_pre(&last[digits_end..])?);
        }
        components.push(&last[..digits_end]);
        let mut release = Vec::with_capacity(components.len());
        for c in &components {
            if c.is_empty() || c.len() > 18 || !c.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            release.push(c.parse().ok()?);
        }
        let mut parts: Vec<&str> = match rest {
            Some(r) => r.split('-').collect(),
            None => Vec::new(),
        };
        if parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        if pre.is_none() && parts.len() == 1 && components.len() == 3 {
            pre = strict_semver_pre(body);
            if pre.is_some() {
                parts.clear();
            }
        }
        if pre.is_none() {
            if let Some(first) = parts.first() {
                if let Some(p) = parse_pre(first) {
                    pre = Some(p);
                    parts.remove(0);
                }
            }
        }
        let mut build = None;
        if let Some(last) = parts.last() {
            if let Some(b) = parse_build(last) {
                build = Some(b);
                parts.pop();
            }
        }
        Some(Version {
            tag: tag.to_string(),
            release,
            pre,
            // Exactly as written: `-Debian` and `-debian` are different
            // variants as far as anyone can tell from the tag.
            suffix: parts.join("-"),
            build,
            v_prefix,
        })
    }

    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some()
    }

    fn is_calendar(&self) -> bool {
        let first = self.release[0];
        (1900..=2999).contains(&first) || (19_000_101..=29_991_231).contains(&first)
    }

    /// Whether `other` can replace `self`: same shape (components, suffix,
    /// `v`, build counter kind, calendar or not).
    pub fn compatible(&self, other: &Version) -> bool {
        self.release.len() == other.release.len()
            && self.suffix == other.suffix
            && self.v_prefix == other.v_prefix
            && self.build.as_ref().map(|b| &b.0) == other.build.as_ref().map(|b| &b.0)
            && self.is_calendar() == other.is_calendar()
    }

    /// The level of the move from `self` to a newer `to`.
    pub fn level_to(&self, to: &Version) -> Level {
        match self.release.iter().zip(&to.release).position(|(a, b)| a != b) {
            Some(0) => Level::Major,
            Some(1) => Level::Minor,
            _ => Level::Patch,
        }
    }

    /// The version for people: the tag without its `v`.
    pub fn display(&self) -> String {
        self.tag.strip_prefix(['v', 'V']).filter(|_| self.v_prefix).unwrap_or(&self.tag).to_string()
    }

    /// Whether the tag is spelt with a leading `v` (`v1.2.3`).
    pub fn v_prefixed(&self) -> bool {
        self.v_prefix
    }

    /// The release as the tag spells it, without the `v`, the flavour
    /// suffix or the build counter: `1.2.3-rc1` for `v1.2.3-rc1-alpine`,
    /// `4.2.1` for `4.2.1-ls45`. What a project's git tag is made of.
    pub fn release_text(&self) -> String {
        let mut text = self.display();
        if self.build.is_some() {
            if let Some(at) = text.rfind('-') {
                text.truncate(at);
            }
        }
        if !self.suffix.is_empty() {
            if let Some(rest) = text.strip_suffix(&format!("-{}", self.suffix)) {
                text = rest.to_string();
            }
        }
        text
    }
}

impl Version {
    /// The order of the versions themselves, blind to their spelling:
    /// `18.04` and `18.4` are equal here.
    fn version_cmp(&self, other: &Version) -> Ordering {
        self.release
            .cmp(&other.release)
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            })
            .then_with(|| self.build.as_ref().map(|b| b.1).cmp(&other.build.as_ref().map(|b| b.1)))
    }

    /// A later version than `other`; never true of an equal version spelt
    /// differently (`18.04` is not newer than `18.4`, nor the reverse).
    pub fn newer_than(&self, other: &Version) -> bool {
        self.version_cmp(other) == Ordering::Greater
    }

    /// Whether `candidate` may follow `self` as far as pre-releases go
    /// (Renovate's rule): a stable release always; a pre-release only from
    /// a pre-release of the same release (`3.7.0b1` → `3.7.0b5`, never
    /// `3.8.0b1`).
    fn prerelease_allows(&self, candidate: &Version) -> bool {
        !candidate.is_prerelease() || (self.is_prerelease() && self.release == candidate.release)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        // Equal versions spelt differently (`1.02` and `1.2`): order by
        // text so results never depend on the registry's listing order.
        self.version_cmp(other).then_with(|| other.tag.cmp(&self.tag))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The pre-release of a strict SemVer 2.0 version (`1.0.0-alpha.beta`)
/// in SemVer's own spelling: its first identifier is `alpha`, `beta` or
/// `rc` on its own, words whose ASCII order is also their rank, so strict
/// and loose pre-releases share one order. `None` for anything else,
/// including a glued number (`rc1`), which the loose reading handles.
fn strict_semver_pre(body: &str) -> Option<Pre> {
    let parsed = semver::Version::parse(body).ok()?;
    if parsed.pre.is_empty() || !parsed.build.is_empty() {
        return None;
    }
    let mut identifiers = parsed.pre.as_str().splitn(3, '.');
    let rank = match identifiers.next()? {
        "alpha" => 1,
        "beta" => 2,
        "rc" => 4,
        _ => return None,
    };
    let next = match identifiers.next() {
        None => Ident::Missing,
        // semver has checked it: digits without a leading zero.
        Some(n) if n.bytes().all(|b| b.is_ascii_digit()) => Ident::Number(n.parse().ok()?),
        Some(word) => Ident::Word(word.to_string()),
    };
    let tail = match identifiers.next() {
        Some(rest) => Some(semver::Prerelease::new(rest).ok()?),
        None => None,
    };
    Some(Pre { rank, next, tail })
}

/// `rc1`, `rc.1`, `beta`, `beta2`, `alpha.3`, `a1`, `b2`, `pre`, `preview`.
fn parse_pre(s: &str) -> Option<Pre> {
    let lower = s.to_ascii_lowercase();
    let word_end = lower.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(lower.len());
    let (word, number) = lower.split_at(word_end);
    let rank = match word {
        "dev" | "snapshot" | "nightly" => 0,
        "alpha" | "a" => 1,
        "beta" | "b" => 2,
        "pre" | "preview" => 3,
        "rc" | "cr" => 4,
        _ => return None,
    };
    let number = number.strip_prefix('.').unwrap_or(number);
    let number = if number.is_empty() {
        0
    } else if number.bytes().all(|b| b.is_ascii_digit()) && number.len() <= 18 {
        number.parse().ok()?
    } else {
        return None;
    };
    Some(Pre { rank, next: Ident::Number(number), tail: None })
}

/// `ls45` (linuxserver.io) and `r5` (Bitnami): a build counter.
fn parse_build(s: &str) -> Option<(String, u64)> {
    for kind in ["ls", "r"] {
        if let Some(n) = s.strip_prefix(kind) {
            if !n.is_empty() && n.len() <= 18 && n.bytes().all(|b| b.is_ascii_digit()) {
                return Some((kind.to_string(), n.parse().ok()?));
            }
        }
    }
    None
}

/// A commit hash, possibly behind `sha-`/`git-`/`commit-`: 7 to 64 hex
/// digits with at least one letter (all-digit tags are dates or builds).
fn looks_like_hash(tag: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    let hex = ["sha-", "git-", "commit-", "g"]
        .iter()
        .find_map(|p| lower.strip_prefix(p).filter(|h| h.len() >= 7))
        .unwrap_or(&lower);
    (7..=64).contains(&hex.len())
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && hex.bytes().any(|b| b.is_ascii_alphabetic())
        && hex.bytes().any(|b| b.is_ascii_digit())
}

/// The per-image rules from the config file: the highest level to move
/// to, and tag globs to include (all when empty) and exclude.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRules {
    pub max_level: Level,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl Default for TagRules {
    fn default() -> TagRules {
        TagRules { max_level: Level::Major, include: Vec::new(), exclude: Vec::new() }
    }
}

impl TagRules {
    fn allows_tag(&self, tag: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| glob(p.as_bytes(), tag.as_bytes())))
            && !self.exclude.iter().any(|p| glob(p.as_bytes(), tag.as_bytes()))
    }
}

/// One newer tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewerVersion {
    pub version: Version,
    pub level: Level,
    /// Allowed by the image's policy and patterns.
    pub within_policy: bool,
}

impl NewerVersion {
    pub fn tag(&self) -> &str {
        &self.version.tag
    }
}

/// What the tag listing says about one local tag that is a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newer {
    pub current: Version,
    /// Every compatible newer tag, newest first.
    pub table: Vec<NewerVersion>,
}

impl Newer {
    /// The newest tag the policy allows.
    pub fn candidate(&self) -> Option<&NewerVersion> {
        self.table.iter().find(|c| c.within_policy)
    }

    /// The newest tag of all, policy or not.
    pub fn newest(&self) -> Option<&NewerVersion> {
        self.table.first()
    }
}

/// The newer tags for `current` among `tags`; `None` when `current` is not
/// a version. Tags excluded by the patterns stay in the table (marked
/// outside the policy) so that `freshen policy` can show them.
pub fn newer_tags<S: AsRef<str>>(current: &str, tags: &[S], rules: &TagRules) -> Option<Newer> {
    let cur = Version::parse(current)?;
    let mut table: Vec<NewerVersion> = tags
        .iter()
        .filter_map(|t| Version::parse(t.as_ref()))
        .filter(|v| cur.compatible(v) && v.newer_than(&cur) && cur.prerelease_allows(v))
        .map(|v| {
            let level = cur.level_to(&v);
            let within_policy = level <= rules.max_level && rules.allows_tag(&v.tag);
            NewerVersion { version: v, level, within_policy }
        })
        .collect();
    table.sort_by(|a, b| b.version.cmp(&a.version));
    table.dedup_by(|a, b| a.version.tag == b.version.tag);
    Some(Newer { current: cur, table })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &str) -> Vec<String> {
        list.split_whitespace().map(String::from).collect()
    }

    /// (current, candidate within default policy, newest overall)
    fn best(current: &str, list: &str) -> (Option<String>, Option<String>) {
        let n = newer_tags(current, &tags(list), &TagRules::default()).expect("a version");
        (n.candidate().map(|c| c.tag().to_string()), n.newest().map(|c| c.tag().to_string()))
    }

    fn newest(current: &str, list: &str) -> Option<String> {
        best(current, list).1
    }

    #[test]
    fn words_and_hashes_are_not_versions() {
        for t in [
            "latest",
            "stable",
            "edge",
            "alpine",
            "mainline",
            "bookworm",
            "nightly",
            "sha-1a2b3c4",
            "git-abc1234",
            "3f9e2d1c",
            "1a2b3c4d5e6f",
            "deadbeefcafe0123456789abcdef0123456789ab",
            "16.",
            ".16",
            "1..2",
            "1.2.3.4.5.6.7",
            "v",
            "1.2.x",
            "1.2-",
            "amd64-1.2.3",
            "version-1.2.3",
        ] {
            assert_eq!(Version::parse(t), None, "{t} is not a version");
        }
    }

    #[test]
    fn release_text_is_what_a_git_tag_is_made_of() {
        for (tag, text, v) in [
            ("1.2.3", "1.2.3", false),
            ("v1.2.3", "1.2.3", true),
            ("V2.0", "2.0", true),
            ("1.27.4-alpine", "1.27.4", false),
            ("v1.2.3-rc1-alpine", "1.2.3-rc1", true),
            ("3.13.0a1-slim", "3.13.0a1", false),
            ("4.2.1-ls45", "4.2.1", false),
            ("1.25.3-debian-12-r5", "1.25.3", false),
            ("7.2.4-rc1", "7.2.4-rc1", false),
        ] {
            let parsed = Version::parse(tag).unwrap();
            assert_eq!((parsed.release_text().as_str(), parsed.v_prefixed()), (text, v), "{tag}");
        }
    }

    #[test]
    fn parsing() {
        let v = Version::parse("3.12.1-slim-bookworm").unwrap();
        assert_eq!(
            (v.release.as_slice(), v.suffix.as_str(), v.is_prerelease()),
            (&[3, 12, 1][..], "slim-bookworm", false)
        );
        let v = Version::parse("v2.11.0").unwrap();
        assert_eq!((v.release.as_slice(), v.display().as_str()), (&[2, 11, 0][..], "2.11.0"));
        let v = Version::parse("1.2.3-ls45").unwrap();
        assert_eq!((v.suffix.as_str(), v.build.clone()), ("", Some(("ls".to_string(), 45))));
        let v = Version::parse("7.2.4-rc1-alpine").unwrap();
        assert!(v.is_prerelease());
        assert_eq!(v.suffix, "alpine");
        let v = Version::parse("3.13.0a1-slim").unwrap();
        assert!(v.is_prerelease());
        assert_eq!(v.suffix, "slim");
        let v = Version::parse("1.25.3-debian-12-r5").unwrap();
        assert_eq!((v.suffix.as_str(), v.build.clone()), ("debian-12", Some(("r".to_string(), 5))));
        assert_eq!(Version::parse("20240105").unwrap().release, vec![20_240_105]);
        assert_eq!(Version::parse("1.2.3.4").unwrap().release, vec![1, 2, 3, 4]);
        assert_eq!(Version::parse("16-alpine3.19").unwrap().suffix, "alpine3.19");
    }

    #[test]
    fn ordering() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.2.0",
            "1.9.0",
            "1.10.0",
            "2.0.0",
        ];
        let vs: Vec<Version> = order.iter().map(|t| Version::parse(t).unwrap()).collect();
        for w in vs.windows(2) {
            assert!(w[0] < w[1], "{} < {}", w[0].tag, w[1].tag);
        }
        assert!(Version::parse("1.2.3-ls45").unwrap() > Version::parse("1.2.3-ls9").unwrap());
        assert!(Version::parse("1.2.4-ls1").unwrap() > Version::parse("1.2.3-ls99").unwrap());
    }

    /// SemVer 2.0's own example of precedence (semver.org, item 11), with
    /// `1.0.0-alpha.beta`, which the loose reading took for a flavour suffix.
    #[test]
    fn strict_semver_prereleases_follow_semver_precedence() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        let vs: Vec<Version> = order.iter().map(|t| Version::parse(t).unwrap()).collect();
        for w in vs.windows(2) {
            assert!(!w[0].newer_than(&w[1]) && w[1].newer_than(&w[0]), "{} < {}", w[0].tag, w[1].tag);
        }
        assert_eq!(Version::parse("1.0.0-alpha.beta").unwrap().suffix, "", "a pre-release, not a flavour");
        assert_eq!(Version::parse("v2.0.0-rc.1").unwrap().display(), "2.0.0-rc.1");
    }

    /// The picks that change, each because SemVer's rules say the loose
    /// reading was wrong; everything else picks as before.
    #[test]
    fn picks_that_semver_corrects() {
        // `alpha.beta` was a suffix of its own, so nothing was newer.
        assert_eq!(
            newest("1.0.0-alpha.1", "1.0.0-alpha.beta 1.0.0-alpha.2"),
            Some("1.0.0-alpha.beta".into())
        );
        assert_eq!(newest("1.0.0-alpha.beta", "1.0.0-beta.1 1.0.1-alpha.beta"), Some("1.0.0-beta.1".into()));
        // More identifiers rank above fewer: `rc.1.1` follows `rc.1`
        // (the loose reading took `rc.1.1` for a suffix) and `beta.0`
        // follows `beta` (the loose reading saw one version spelt twice).
        assert_eq!(newest("1.0.0-rc.1", "1.0.0-rc.1.1"), Some("1.0.0-rc.1.1".into()));
        assert_eq!(newest("1.0.0-beta", "1.0.0-beta.0"), Some("1.0.0-beta.0".into()));
        // Words after the kind rank above numbers (`alpha.beta` above
        // `alpha.99`) and compare as ASCII text.
        assert_eq!(
            newest("1.0.0-alpha.99", "1.0.0-alpha.beta 1.0.0-alpha.9"),
            Some("1.0.0-alpha.beta".into())
        );
        assert_eq!(newest("1.0.0-rc.x", "1.0.0-rc.Y 1.0.0-rc.10"), None);
    }

    /// Loose spellings keep their reading: a glued number is a number (the
    /// `semver` crate would sort `rc10` below `rc9` as text), flavours stay
    /// suffixes, two-component tags are not SemVer.
    #[test]
    fn loose_tags_keep_their_reading() {
        assert_eq!(newest("2.0.0-rc9", "2.0.0-rc10 2.0.0-rc8"), Some("2.0.0-rc10".into()));
        assert_eq!(
            newest("1.2.3-rc.1-alpine", "1.2.3-rc.2-alpine 1.2.3-rc.3"),
            Some("1.2.3-rc.2-alpine".into())
        );
        assert_eq!(newest("7.4-rc1", "7.4-rc2 7.4-rc.3"), Some("7.4-rc.3".into()));
        assert_eq!(newest("1.27.3-alpine", "1.27.4-alpine 1.27.4"), Some("1.27.4-alpine".into()));
        assert_eq!(newest("3.13.0a1", "3.13.0a2 3.13.0b1"), Some("3.13.0b1".into()));
        // A strict tag meets a loose one by the word's rank and number.
        assert_eq!(newest("1.0.0-rc.2", "1.0.0-rc3 1.0.0-rc1"), Some("1.0.0-rc3".into()));
        // `dev` is not read the SemVer way (as text it would follow `alpha`).
        assert_eq!(newest("1.0.0-dev.1", "1.0.0-alpha.3"), Some("1.0.0-alpha.3".into()));
    }

    /// One order over strict and loose pre-releases of a release: sorting
    /// any mix agrees with comparing every pair (sort panics or misorders
    /// on an order that is not total).
    #[test]
    fn strict_and_loose_prereleases_share_one_total_order() {
        let mix = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha5",
            "1.0.0-alpha.beta",
            "1.0.0-dev.1",
            "1.0.0-dev5",
            "1.0.0-beta",
            "1.0.0-beta0",
            "1.0.0-beta.0",
            "1.0.0-beta.2.x",
            "1.0.0-rc.1",
            "1.0.0-rc1",
            "1.0.0-rc.1.1",
            "1.0.0-pre.2",
            "1.0.0-rc10",
            "1.0.0",
        ];
        let vs: Vec<Version> = mix.iter().map(|t| Version::parse(t).unwrap()).collect();
        for a in &vs {
            for b in &vs {
                for c in &vs {
                    if a < b && b < c {
                        assert!(a < c, "{} < {} < {} but not {} < {}", a.tag, b.tag, c.tag, a.tag, c.tag);
                    }
                }
                assert_eq!(a.cmp(b), b.cmp(a).reverse(), "{} and {}", a.tag, b.tag);
            }
        }
    }

    #[test]
    fn postgres() {
        let set = "16 16.1 16.2 16.3 16.4 17 17.0 17.2 16-alpine 16.4-alpine 17.2-alpine 16.4-bookworm \
                   17.2-bookworm 17rc1 18beta1 latest alpine bookworm 9.6.24 2024.1";
        assert_eq!(best("16.2", set), (Some("17.2".into()), Some("17.2".into())));
        let minor = TagRules { max_level: Level::Minor, ..TagRules::default() };
        let n = newer_tags("16.2", &tags(set), &minor).unwrap();
        assert_eq!(n.candidate().map(|c| (c.tag(), c.level)), Some(("16.4", Level::Minor)));
        assert_eq!(n.newest().map(|c| (c.tag(), c.level)), Some(("17.2", Level::Major)));
        let table: Vec<(&str, bool)> = n.table.iter().map(|c| (c.tag(), c.within_policy)).collect();
        assert_eq!(table, vec![("17.2", false), ("17.0", false), ("16.4", true), ("16.3", true)]);
        // Suffix kept: -alpine stays -alpine, never -bookworm.
        assert_eq!(best("16.2-alpine", set).1, Some("17.2-alpine".into()));
        assert_eq!(newest("16-alpine", set), None);
        assert_eq!(newest("16.4-alpine", set), Some("17.2-alpine".into()));
        assert_eq!(newest("16.4-bookworm", set), Some("17.2-bookworm".into()));
        // One component moves only to one component; no pre-releases.
        assert_eq!(newest("16", set), Some("17".into()));
        // A stray CalVer tag never outranks SemVer.
        assert_eq!(newest("9.6.24", set), None);
    }

    #[test]
    fn prereleases_only_from_prereleases() {
        let set = "7.2.4 7.2.5 7.4-rc1 7.4-rc2 7.4 8.0-rc1 8.0-m01";
        assert_eq!(newest("7.2.4", set), Some("7.2.5".into()));
        // From a pre-release: its own release's later pre-releases and any
        // stable release, never another release's pre-release.
        assert_eq!(newest("7.4-rc1", set), Some("7.4".into()));
        assert_eq!(newest("7.2", "7.2 7.4-rc1 7.4-rc2 8.0-rc1 7.3"), Some("7.3".into()));
        let n = newer_tags("7.4-rc1", &tags("7.4-rc2 7.4 7.5"), &TagRules::default()).unwrap();
        assert_eq!(n.table.iter().map(NewerVersion::tag).collect::<Vec<_>>(), vec!["7.5", "7.4", "7.4-rc2"]);
    }

    #[test]
    fn nginx_node_redis() {
        let nginx =
            "1.25.3 1.25.4 1.25.5 1.26.0 1.26.2 1.27.0 1.27.3 1.27.4 1.27.4-alpine 1.27.4-alpine-slim \
                     1.27.4-bookworm 1.27.4-perl 1.27.3-alpine mainline stable latest 1.27 1 1.26";
        assert_eq!(newest("1.25.3", nginx), Some("1.27.4".into()));
        assert_eq!(newest("1.27.3-alpine", nginx), Some("1.27.4-alpine".into()));
        assert_eq!(newest("1.26", nginx), Some("1.27".into()));
        assert_eq!(newest("1", nginx), None);
        let patch = TagRules { max_level: Level::Patch, ..TagRules::default() };
        let n = newer_tags("1.25.3", &tags(nginx), &patch).unwrap();
        assert_eq!(n.candidate().map(NewerVersion::tag), Some("1.25.5"));

        let node = "18 20 22 18.20.4 20.18.0 22.11.0 20-alpine 22-alpine 20.18.0-alpine3.20 \
                    20.18.1-alpine3.20 20.18.1-alpine3.21 22.11.0-bookworm-slim 20-bookworm-slim lts iron";
        assert_eq!(newest("20", node), Some("22".into()));
        assert_eq!(newest("20-alpine", node), Some("22-alpine".into()));
        assert_eq!(newest("20.18.0-alpine3.20", node), Some("20.18.1-alpine3.20".into()));
        assert_eq!(newest("20-bookworm-slim", node), None);

        let redis = "7.2.4 7.2.5 7.4.0 7.4.1 7.4.1-alpine 7.4.1-alpine3.20 7.4-rc2 8.0-M02 alpine";
        assert_eq!(newest("7.2.4", redis), Some("7.4.1".into()));
        assert_eq!(best("7.2.4", redis).0, Some("7.4.1".into()));
    }

    #[test]
    fn linuxserver_and_bitnami_build_counters() {
        let ls = "1.40.0.7998-c29d4c0c8-ls210 version-1.40.0.7998-c29d4c0c8 1.40.1.8227-c0dd5a73e-ls220 \
                  4.2.1-ls45 4.2.1-ls46 4.2.2-ls47 4.3.0-ls48 4.2.2 latest amd64-4.3.0-ls48";
        assert_eq!(newest("4.2.1-ls45", ls), Some("4.3.0-ls48".into()));
        let patch = TagRules { max_level: Level::Patch, ..TagRules::default() };
        let n = newer_tags("4.2.1-ls45", &tags(ls), &patch).unwrap();
        assert_eq!(n.candidate().map(|c| (c.tag(), c.level)), Some(("4.2.2-ls47", Level::Patch)));
        // The same release, a newer build: a patch-level move.
        let n = newer_tags("4.2.1-ls45", &tags("4.2.1-ls46"), &TagRules::default()).unwrap();
        assert_eq!(n.candidate().map(|c| c.level), Some(Level::Patch));
        // Plex's tags carry a commit in the suffix: those differ per
        // release, so such tags only ever move by digest.
        assert_eq!(newest("1.40.0.7998-c29d4c0c8-ls210", ls), None);
        // A tag without a counter does not move to one with a counter.
        assert_eq!(newest("4.2.2", ls), None);

        let bitnami =
            "1.25.3-debian-12-r5 1.25.3-debian-12-r7 1.25.4-debian-12-r1 1.25.4-debian-11-r3 1.25.4";
        assert_eq!(newest("1.25.3-debian-12-r5", bitnami), Some("1.25.4-debian-12-r1".into()));
    }

    #[test]
    fn python_traefik_four_components() {
        let py = "3.12.1-slim-bookworm 3.12.7-slim-bookworm 3.13.0-slim-bookworm 3.13.0-slim-bullseye \
                  3.14.0a1-slim-bookworm 3.13.0-bookworm 3.12.7-slim 3.13.0rc3-slim-bookworm";
        assert_eq!(newest("3.12.1-slim-bookworm", py), Some("3.13.0-slim-bookworm".into()));
        assert_eq!(newest("3.14.0a1-slim-bookworm", py), None);

        let traefik = "v2.11.0 v2.11.14 v3.0.0 v3.2.1 2.11.14 3.2.1 v3.3.0-rc1 latest v3 v2.11 v3.2";
        assert_eq!(newest("v2.11.0", traefik), Some("v3.2.1".into()));
        assert_eq!(newest("2.11.14", traefik), Some("3.2.1".into()));
        assert_eq!(newest("v2.11", traefik), Some("v3.2".into()));
        let n = newer_tags("v2.11.0", &tags(traefik), &TagRules::default()).unwrap();
        assert_eq!(n.newest().unwrap().version.display(), "3.2.1");

        let four = "1.2.3.4 1.2.3.10 1.2.4.0 1.3.0.0 1.2.3";
        assert_eq!(newest("1.2.3.4", four), Some("1.3.0.0".into()));
        let patch = TagRules { max_level: Level::Patch, ..TagRules::default() };
        let n = newer_tags("1.2.3.4", &tags(four), &patch).unwrap();
        assert_eq!(n.candidate().map(NewerVersion::tag), Some("1.2.4.0"));
        let n = newer_tags("1.2.3.4", &tags("1.2.3.10"), &TagRules::default()).unwrap();
        assert_eq!(n.candidate().map(|c| c.level), Some(Level::Patch));
    }

    #[test]
    fn calendar_versions() {
        let ha = "2024.10.1 2024.10.4 2024.11.0 2024.11.0b3 2025.1.0 stable beta dev 2024.12 0.118.5";
        assert_eq!(newest("2024.10.1", ha), Some("2025.1.0".into()));
        let minor = TagRules { max_level: Level::Minor, ..TagRules::default() };
        let n = newer_tags("2024.10.1", &tags(ha), &minor).unwrap();
        assert_eq!(n.candidate().map(|c| (c.tag(), c.level)), Some(("2024.11.0", Level::Minor)));
        assert_eq!(newest("0.118.5", ha), None, "a calendar version never replaces a plain one");
        assert_eq!(newest("20240105", "20240105 20241201 16 1"), Some("20241201".into()));
        assert_eq!(newest("16", "20240105 17"), Some("17".into()));
    }

    #[test]
    fn include_and_exclude_patterns() {
        let set = "16.2 16.3 16.4 17.0 17.1";
        let rules = TagRules { include: vec!["16.*".into()], ..TagRules::default() };
        let n = newer_tags("16.2", &tags(set), &rules).unwrap();
        assert_eq!(n.candidate().map(NewerVersion::tag), Some("16.4"));
        assert_eq!(n.newest().map(NewerVersion::tag), Some("17.1"));
        let rules = TagRules { exclude: vec!["*.4".into(), "17.1".into()], ..TagRules::default() };
        let n = newer_tags("16.2", &tags(set), &rules).unwrap();
        assert_eq!(n.candidate().map(NewerVersion::tag), Some("17.0"));
    }

    #[test]
    fn not_versions_have_no_table() {
        assert!(newer_tags("latest", &tags("1 2 3"), &TagRules::default()).is_none());
        assert!(newer_tags("sha-abc1234", &tags("1 2 3"), &TagRules::default()).is_none());
        let n = newer_tags("3", &tags("3 2 latest"), &TagRules::default()).unwrap();
        assert!(n.table.is_empty());
    }

    /// Equal versions spelt differently are never "newer" (leading zeros).
    #[test]
    fn equal_versions_are_not_newer_whatever_their_spelling() {
        assert_eq!(best("18.4", "18.04 18.4"), (None, None));
        assert_eq!(best("18.04", "18.4 18.04"), (None, None));
        assert_eq!(best("18.4", "18.04 18.10"), (Some("18.10".into()), Some("18.10".into())));
        assert_eq!(best("1.02.3", "1.2.3 1.2.03 1.2.4"), (Some("1.2.4".into()), Some("1.2.4".into())));
        assert_eq!(best("v1.2", "v1.02 v01.2"), (None, None));
        // Different spellings of one release with a build counter: only a
        // higher counter is newer.
        assert_eq!(newest("4.2.1-ls45", "4.02.1-ls45 4.2.1-ls045"), None);
        assert_eq!(newest("4.2.1-ls45", "4.2.01-ls46"), Some("4.2.01-ls46".into()));
        // And pre-releases: rc01 is rc1.
        assert_eq!(newest("7.4-rc1", "7.4-rc01 7.04-rc1"), None);
        // Ord still orders them deterministically (by text), so sorting
        // stays stable; only "newer" ignores the spelling.
        let a = Version::parse("18.04").unwrap();
        let b = Version::parse("18.4").unwrap();
        assert!(!a.newer_than(&b) && !b.newer_than(&a));
        assert_eq!(a.version_cmp(&b), Ordering::Equal);
    }

    /// The suffix must match exactly, case included.
    #[test]
    fn suffix_is_case_sensitive() {
        assert_eq!(best("1.0-Debian", "1.2-debian 1.1-DEBIAN"), (None, None));
        assert_eq!(
            best("1.0-Debian", "1.2-debian 1.1-Debian"),
            (Some("1.1-Debian".into()), Some("1.1-Debian".into()))
        );
        assert_eq!(
            best("1.0-debian", "1.1-Debian 1.2-debian"),
            (Some("1.2-debian".into()), Some("1.2-debian".into()))
        );
        assert_eq!(Version::parse("1.0-Debian").unwrap().suffix, "Debian");
        // The pre-release word and the build counter are not the suffix:
        // `-RC1` is still a pre-release of 7.4.
        assert!(Version::parse("7.4-RC1").unwrap().is_prerelease());
    }

    /// From a pre-release: later pre-releases of the same release and any
    /// stable release; never another release's pre-release (Renovate).
    #[test]
    fn prerelease_moves_stay_within_their_release() {
        assert_eq!(
            best("3.13.0a1", "3.13.0 3.14.0a1 3.13.0a2"),
            (Some("3.13.0".into()), Some("3.13.0".into()))
        );
        assert_eq!(best("3.13.0a1", "3.14.0a1 3.13.0a2"), (Some("3.13.0a2".into()), Some("3.13.0a2".into())));
        assert_eq!(best("3.13.0a1", "3.14.0a1"), (None, None));
        assert_eq!(best("3.7.0b1", "3.7.0b5 3.8.0b1"), (Some("3.7.0b5".into()), Some("3.7.0b5".into())));
        assert_eq!(
            best("3.7.0b1", "3.7.0b5 3.7.0rc1 3.8.0b1"),
            (Some("3.7.0rc1".into()), Some("3.7.0rc1".into()))
        );
        // Any stable release, also of a later release.
        assert_eq!(best("3.7.0b1", "3.7.0b5 3.8.0b1 3.8.1"), (Some("3.8.1".into()), Some("3.8.1".into())));
        // An earlier pre-release of the same release is not newer.
        assert_eq!(best("3.7.0b5", "3.7.0b1 3.7.0a9"), (None, None));
        // Dash-separated pre-releases follow the same rule.
        assert_eq!(best("7.4-rc1", "7.4-rc2 8.0-rc1"), (Some("7.4-rc2".into()), Some("7.4-rc2".into())));
        // From a stable release, still no pre-releases at all.
        assert_eq!(best("3.13.0", "3.14.0a1 3.13.1rc1"), (None, None));
    }
}
