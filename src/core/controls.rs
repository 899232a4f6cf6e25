//! The updates the user controls: a cooldown before a new image becomes an
//! upgrade candidate, versions the user skipped, and the link to a new
//! version's release notes. Pure rules, no I/O.

use serde::{Deserialize, Serialize};

use crate::core::time::{format_rfc3339, parse_rfc3339};

/// Creation times before this (2013-03-01, Docker's first release) are not
/// plausible: the reproducible-build zero (1970) and Go's zero time (year
/// 1) say nothing about when an image was made.
pub const EARLIEST_PLAUSIBLE: i64 = 1_362_096_000;
/// How far in the future a creation time may be (clock skew between the
/// build machine and this one) before it is not believed.
pub const FUTURE_SLACK_SECS: i64 = 3_600;

/// Where the age of a new image counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeSource {
    /// The `created` time in the image's config.
    Created,
    /// When freshen first saw the digest under the tag.
    FirstSeen,
}

impl AgeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AgeSource::Created => "created",
            AgeSource::FirstSeen => "first_seen",
        }
    }
}

/// Whether an image's creation time can be its age.
pub fn plausible_created(created: i64, now: i64) -> bool {
    (EARLIEST_PLAUSIBLE..=now + FUTURE_SLACK_SECS).contains(&created)
}

/// The moment the age of a new image counts from: its creation time when
/// that is plausible, else when freshen first saw it.
pub fn age_since(created: Option<i64>, first_seen: i64, now: i64) -> (i64, AgeSource) {
    match created {
        Some(c) if plausible_created(c, now) => (c, AgeSource::Created),
        _ => (first_seen, AgeSource::FirstSeen),
    }
}

/// How old a tag's new image (the registry's digest) is, as `update`
/// recorded it, and the minimum age that was in effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Age {
    /// The registry's digest this age is about.
    #[serde(default)]
    pub digest: Option<String>,
    /// When freshen first saw this digest under this tag (RFC 3339).
    pub first_seen: String,
    /// When the age counts from (RFC 3339): the creation time or
    /// `first_seen`.
    pub since: String,
    pub source: AgeSource,
    /// The minimum age `update` applied (seconds, 0 for none).
    #[serde(default)]
    pub min_age_seconds: u64,
}

/// A new image that must still wait out its minimum age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cooldown {
    /// When it becomes an upgrade candidate (seconds since the epoch).
    pub available_at: i64,
    pub source: AgeSource,
    pub min_age_seconds: u64,
}

impl Age {
    /// The age of a tag's new image at an update: `before` is what the
    /// previous update recorded for the same digest (its first sighting
    /// carries over), `created` the image config's creation time.
    pub fn record(
        digest: Option<&str>,
        before: Option<&Age>,
        created: Option<&str>,
        checked_at: &str,
        now: i64,
        min_age: u64,
    ) -> Age {
        let before = before.filter(|b| b.digest.as_deref() == digest);
        let first_seen = before.map_or_else(|| checked_at.to_string(), |b| b.first_seen.clone());
        let seen = parse_rfc3339(&first_seen).unwrap_or(now);
        let (since, source) = age_since(created.and_then(parse_rfc3339), seen, now);
        let since = format_rfc3339(since).unwrap_or_else(|| first_seen.clone());
        Age { digest: digest.map(str::to_string), first_seen, since, source, min_age_seconds: min_age }
    }

    /// The cooldown still running at `now`, with the recorded minimum age
    /// or `min_age` (a `--min-age` given to this command) instead.
    pub fn cooldown(&self, now: i64, min_age: Option<u64>) -> Option<Cooldown> {
        let min_age_seconds = min_age.unwrap_or(self.min_age_seconds);
        let since = parse_rfc3339(&self.since)?;
        let available_at = since.saturating_add(i64::try_from(min_age_seconds).unwrap_or(i64::MAX));
        (min_age_seconds > 0 && available_at > now).then_some(Cooldown {
            available_at,
            source: self.source,
            min_age_seconds,
        })
    }
}

/// `in 2 days`, `in 5 hours`, `in 3 minutes`, `in 40 seconds`: the time
/// left, rounded to the nearest unit so that a cooldown of 3 days on a
/// day-old image reads `in 2 days` and not `in 1 day`.
pub fn in_words(seconds: i64) -> String {
    let seconds = seconds.max(1);
    let (n, unit) = if seconds >= 36 * 3600 {
        ((seconds + 43_200) / 86_400, "day")
    } else if seconds >= 90 * 60 {
        ((seconds + 1_800) / 3_600, "hour")
    } else if seconds >= 90 {
        ((seconds + 30) / 60, "minute")
    } else {
        (seconds, "second")
    };
    format!("in {n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The release-notes page of `version` for a source repository URL (the
/// `org.opencontainers.image.source` label), for GitHub and GitLab; or the
/// user's `changelog` template with `{version}`, `{tag}` and `{source}`
/// filled in. No request to the forge is made to build it.
///
/// GitHub and GitLab name a release by its git tag; projects mostly tag
/// `v1.2.3` while their images are tagged `1.2.3`, so a version without a
/// leading `v` gets one (a version that has one keeps it). A project that
/// tags otherwise sets a `changelog` template.
pub fn release_notes(
    template: Option<&str>,
    source: Option<&str>,
    version: &str,
    tag: Option<&str>,
) -> Option<String> {
    let version = version.trim();
    if version.is_empty() {
        return None;
    }
    let repo = source.and_then(forge_repository);
    if let Some(t) = template {
        let link = t
            .replace("{version}", version)
            .replace("{tag}", tag.unwrap_or(version))
            .replace("{source}", repo.as_ref().map_or(source.unwrap_or(""), |r| r.url.as_str()));
        return Some(link);
    }
    let repo = repo?;
    let git_tag = if version.starts_with(['v', 'V']) || !version.starts_with(|c: char| c.is_ascii_digit()) {
        version.to_string()
    } else {
        format!("v{version}")
    };
    let tag_path: String = git_tag.split('/').map(escape_path).collect::<Vec<_>>().join("/");
    Some(match repo.forge {
        Forge::GitHub => format!("{}/releases/tag/{tag_path}", repo.url),
        Forge::GitLab => format!("{}/-/releases/{tag_path}", repo.url),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forge {
    GitHub,
    GitLab,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Repository {
    forge: Forge,
    /// `https://github.com/OWNER/REPO`, without `.git` or a trailing path.
    url: String,
}

/// The repository a source URL names, on GitHub (`github.com`) or GitLab
/// (`gitlab.com` or a host whose first label is `gitlab`). Accepts
/// `https://`, `http://`, `git+https://`, `git://`, `ssh://git@` and
/// scp-like `git@host:owner/repo.git` forms.
fn forge_repository(source: &str) -> Option<Repository> {
    let s = source.trim();
    let s = s.strip_prefix("git+").unwrap_or(s);
    let s = s.strip_prefix("GIT+").unwrap_or(s);
    let rest = ["https://", "http://", "git://", "ssh://"]
        .iter()
        .find_map(|p| s.get(..p.len()).filter(|head| head.eq_ignore_ascii_case(p)).map(|_| &s[p.len()..]))
        .map(str::to_string)
        .or_else(|| {
            // scp-like: git@github.com:owner/repo.git
            let (user_host, path) = s.split_once(':')?;
            let host = user_host.rsplit('@').next()?;
            (user_host.contains('@') && !path.starts_with("//")).then(|| format!("{host}/{path}"))
        })?;
    let rest = rest.split(['?', '#']).next()?;
    let (authority, path) = rest.split_once('/')?;
    let host = authority.rsplit('@').next()?.split(':').next()?.to_ascii_lowercase();
    let forge = if host == "github.com" || host == "www.github.com" {
        Forge::GitHub
    } else if host == "gitlab.com" || host.starts_with("gitlab.") {
        Forge::GitLab
    } else {
        return None;
    };
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match forge {
        // github.com/OWNER/REPO[/tree/…]
        Forge::GitHub => parts.truncate(2),
        // gitlab.com/GROUP/SUB/…/PROJECT[/-/…]
        Forge::GitLab => {
            if let Some(dash) = parts.iter().position(|p| *p == "-") {
                parts.truncate(dash);
            }
        }
    }
    if parts.len() < 2 {
        return None;
    }
    let last = parts.len() - 1;
    let trimmed = parts[last].strip_suffix(".git").unwrap_or(parts[last]);
    if trimmed.is_empty() {
        return None;
    }
    parts[last] = trimmed;
    let ok = |p: &&str| p.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !parts.iter().all(ok) {
        return None;
    }
    Some(Repository { forge, url: format!("https://{host}/{}", parts.join("/")) })
}

/// Percent-encodes what may not stand in a URL path segment.
fn escape_path(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000; // 2026-11-18

    #[test]
    fn creation_time_is_the_age_only_when_plausible() {
        assert_eq!(age_since(Some(NOW - 86_400), NOW - 60, NOW), (NOW - 86_400, AgeSource::Created));
        // Reproducible-build zero, Go's zero time, before Docker existed.
        for bad in [0, -62_135_596_800, EARLIEST_PLAUSIBLE - 1] {
            assert_eq!(age_since(Some(bad), NOW - 60, NOW), (NOW - 60, AgeSource::FirstSeen), "{bad}");
        }
        // The future, beyond a little clock skew.
        assert_eq!(age_since(Some(NOW + 600), NOW - 60, NOW).1, AgeSource::Created);
        assert_eq!(age_since(Some(NOW + 2 * 3_600), NOW - 60, NOW).1, AgeSource::FirstSeen);
        assert_eq!(age_since(None, NOW - 60, NOW), (NOW - 60, AgeSource::FirstSeen));
    }

    #[test]
    fn first_sighting_carries_over_for_the_same_digest_only() {
        let t0 = "2026-11-18T00:00:00Z";
        let later = "2026-11-19T00:00:00Z";
        let a = Age::record(Some("sha256:a"), None, None, t0, NOW, 3_600);
        assert_eq!((a.first_seen.as_str(), a.since.as_str(), a.source), (t0, t0, AgeSource::FirstSeen));
        let again = Age::record(Some("sha256:a"), Some(&a), None, later, NOW, 3_600);
        assert_eq!(again.first_seen, t0, "the same digest keeps its first sighting");
        let moved = Age::record(Some("sha256:b"), Some(&a), None, later, NOW, 3_600);
        assert_eq!(moved.first_seen, later, "a new digest starts afresh");
        // A plausible creation time wins over the sighting.
        let built = "2026-11-10T00:00:00Z";
        let dated = Age::record(Some("sha256:c"), None, Some(built), later, NOW, 3_600);
        assert_eq!((dated.since.as_str(), dated.source), (built, AgeSource::Created));
        let zero = Age::record(Some("sha256:c"), None, Some("1970-01-01T00:00:00Z"), later, NOW, 3_600);
        assert_eq!((zero.since.as_str(), zero.source), (later, AgeSource::FirstSeen));
        // The cooldown: over exactly min_age after `since`; --min-age beats
        // the recorded one; 0 turns it off.
        let seen = parse_rfc3339(later).unwrap();
        let c = Age::record(Some("sha256:e"), None, None, later, NOW, 86_400);
        let wait = c.cooldown(seen + 100, None).unwrap();
        assert_eq!((wait.available_at, wait.min_age_seconds), (seen + 86_400, 86_400));
        assert_eq!(c.cooldown(seen + 86_400, None), None);
        assert_eq!(c.cooldown(seen + 100, Some(60)), None);
        assert_eq!(c.cooldown(seen + 100, Some(0)), None);
        assert!(c.cooldown(seen + 100, Some(7 * 86_400)).is_some());
    }

    #[test]
    fn time_left_in_words() {
        assert_eq!(in_words(2 * 86_400 - 5), "in 2 days");
        assert_eq!(in_words(2 * 86_400 + 3_600), "in 2 days");
        assert_eq!(in_words(36 * 3_600), "in 2 days");
        assert_eq!(in_words(35 * 3_600), "in 35 hours");
        assert_eq!(in_words(3_600), "in 60 minutes");
        assert_eq!(in_words(2 * 3_600), "in 2 hours");
        assert_eq!(in_words(60), "in 60 seconds");
        assert_eq!(in_words(1), "in 1 second");
        assert_eq!(in_words(0), "in 1 second");
        assert_eq!(in_words(86_400 * 7), "in 7 days");
    }

    #[test]
    fn release_pages_on_github_and_gitlab() {
        let gh = |s: &str, v: &str| release_notes(None, Some(s), v, None);
        let want = Some("https://github.com/acme/widget/releases/tag/v1.4.2".to_string());
        for source in [
            "https://github.com/acme/widget",
            "https://github.com/acme/widget.git",
            "https://github.com/acme/widget/",
            "https://github.com/acme/widget/tree/main/docker",
            "git+https://github.com/acme/widget.git",
            "git@github.com:acme/widget.git",
            "ssh://git@github.com/acme/widget.git",
            "https://www.github.com/acme/widget",
            "HTTPS://GitHub.com/acme/widget",
        ] {
            assert_eq!(gh(source, "1.4.2"), want, "{source}");
        }
        assert_eq!(gh("https://github.com/acme/widget", "v1.4.2"), want, "a v stays one v");
        assert_eq!(
            gh("https://gitlab.com/acme/tools/gadget", "2.0.1").as_deref(),
            Some("https://gitlab.com/acme/tools/gadget/-/releases/v2.0.1")
        );
        assert_eq!(
            gh("https://gitlab.example.org/acme/gadget.git/-/tree/main", "2.0.1").as_deref(),
            Some("https://gitlab.example.org/acme/gadget/-/releases/v2.0.1")
        );
        // Not a forge, not a repository, not a version: no link.
        assert_eq!(gh("https://example.org/acme/widget", "1.0"), None);
        assert_eq!(gh("https://github.com/acme", "1.0"), None);
        assert_eq!(gh("not a url", "1.0"), None);
        assert_eq!(gh("https://github.com/acme/widget", " "), None);
        assert_eq!(release_notes(None, None, "1.0", None), None);
        // A version with odd characters stays inside the path.
        assert_eq!(
            gh("https://github.com/acme/widget", "1.0 beta?x").as_deref(),
            Some("https://github.com/acme/widget/releases/tag/v1.0%20beta%3Fx")
        );
        // A word version (a date, a name) is used as written.
        assert_eq!(
            gh("https://github.com/acme/widget", "nightly").as_deref(),
            Some("https://github.com/acme/widget/releases/tag/nightly")
        );
    }

    #[test]
    fn changelog_template_wins() {
        let t = Some("https://changes.example.org/{version}.html?tag={tag}&src={source}");
        assert_eq!(
            release_notes(t, Some("https://github.com/acme/widget.git"), "1.0", Some("1.0-alpine"))
                .as_deref(),
            Some("https://changes.example.org/1.0.html?tag=1.0-alpine&src=https://github.com/acme/widget")
        );
        assert_eq!(
            release_notes(Some("https://x.example/{version}"), None, "2.1", None).as_deref(),
            Some("https://x.example/2.1")
        );
    }
}
