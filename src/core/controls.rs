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

/// Which newer tag to offer under a minimum age, from the tags the policy
/// allows (newest first) and the ages `update` recorded for them
/// (`ages`, by tag). Like Renovate's `minimumReleaseAge`, the newest tag
/// that has waited out its minimum age is offered; the newest one still
/// waiting, if it is newer, is returned with its cooldown so people see
/// when it comes. A tag with no recorded age passes when no minimum age is
/// in effect and is not offered when one is (`update` ages the tags it
/// looks at). `min_age` is a `--min-age` given to this command, else the
/// one `update` recorded.
pub fn pick_tag<'t, T>(
    candidates: &'t [T],
    tag_of: impl Fn(&T) -> &str,
    ages: Option<&std::collections::BTreeMap<String, Age>>,
    now: i64,
    min_age: Option<u64>,
) -> (Option<&'t T>, Option<(&'t T, Cooldown)>) {
    let recorded = ages.and_then(|a| a.values().map(|x| x.min_age_seconds).max()).unwrap_or(0);
    let in_effect = min_age.unwrap_or(recorded);
    let mut waiting = None;
    for c in candidates {
        match ages.and_then(|a| a.get(tag_of(c))) {
            Some(age) => match age.cooldown(now, min_age) {
                None => return (Some(c), waiting),
                Some(wait) => {
                    if waiting.is_none() {
                        waiting = Some((c, wait));
                    }
                }
            },
            None if in_effect == 0 => return (Some(c), waiting),
            None => {}
        }
    }
    (None, waiting)
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

/// What the new image says about its version: its
/// `org.opencontainers.image.version` label and the tag it is pulled by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spelling<'a> {
    pub label: Option<&'a str>,
    pub tag: Option<&'a str>,
}

impl Spelling<'_> {
    /// The version to link to: the label as written, else the release the
    /// tag names (`1.2.3` of `v1.2.3-alpine`). None when neither says one.
    fn version(&self) -> Option<String> {
        let label = self.label.map(str::trim).filter(|l| !l.is_empty());
        label
            .map(str::to_string)
            .or_else(|| self.tag.and_then(crate::core::versions::Version::parse).map(|v| v.release_text()))
    }

    /// The project's git tag for `version`, when the image says how the
    /// project spells it: a `v` in the label (`v1.2.3`) or in the image tag
    /// (`v1.2.3` → `v1.2.3`), or a version that is a word (`nightly`). A
    /// plain `1.2.3` says nothing: image tags and labels drop the `v` of
    /// the git tag as often as not (docker/metadata-action does).
    fn git_tag(&self, version: &str) -> Option<String> {
        let v_number = |t: &str| {
            t.strip_prefix(['v', 'V']).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        };
        if v_number(version) {
            return Some(version.to_string());
        }
        if !version.starts_with(|c: char| c.is_ascii_digit()) {
            return Some(version.to_string());
        }
        let tag_has_v =
            self.tag.and_then(crate::core::versions::Version::parse).is_some_and(|v| v.v_prefixed());
        tag_has_v.then(|| format!("v{version}"))
    }
}

/// The release-notes page of the new version for a source repository URL
/// (the `org.opencontainers.image.source` label), for GitHub and GitLab; or
/// the user's `changelog` template with `{version}`, `{tag}` and `{source}`
/// filled in. No request to the forge is made to build it.
///
/// GitHub and GitLab name a release by its git tag, which projects spell
/// `v1.2.3` or `1.2.3`. When the image says which (see `Spelling::git_tag`)
/// the link is that release's page; otherwise it is the forge's search for
/// the version, which finds the release under either spelling: GitHub's
/// releases page with `?q=1.2.3` and GitLab's tags page (which shows each
/// tag's release notes) with `?search=1.2.3$`.
pub fn release_notes(template: Option<&str>, source: Option<&str>, new: Spelling<'_>) -> Option<String> {
    let version = new.version()?;
    let repo = source.and_then(forge_repository);
    if let Some(t) = template {
        let link = t
            .replace("{version}", &version)
            .replace("{tag}", new.tag.unwrap_or(&version))
            .replace("{source}", repo.as_ref().map_or(source.unwrap_or(""), |r| r.url.as_str()));
        return Some(link);
    }
    let repo = repo?;
    Some(match (new.git_tag(&version), repo.forge) {
        (Some(git_tag), forge) => {
            let tag_path: String = git_tag.split('/').map(escape_path).collect::<Vec<_>>().join("/");
            match forge {
                Forge::GitHub => format!("{}/releases/tag/{tag_path}", repo.url),
                Forge::GitLab => format!("{}/-/releases/{tag_path}", repo.url),
            }
        }
        (None, Forge::GitHub) => format!("{}/releases?q={}&expanded=true", repo.url, escape_path(&version)),
        // GitLab's tag search: `$` anchors the end, so `v1.2.3` and
        // `1.2.3` match and `1.2.30` does not.
        (None, Forge::GitLab) => format!("{}/-/tags?search={}%24", repo.url, escape_path(&version)),
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
    fn the_newest_tag_that_waited_out_its_minimum_age_is_offered() {
        use std::collections::BTreeMap;
        let day = 86_400;
        let aged = |days_old: i64, min_age: u64| Age {
            digest: Some("sha256:x".into()),
            first_seen: format_rfc3339(NOW - days_old * day).unwrap(),
            since: format_rfc3339(NOW - days_old * day).unwrap(),
            source: AgeSource::FirstSeen,
            min_age_seconds: min_age,
        };
        let tags = ["1.3", "1.2", "1.1"];
        fn id<'a>(t: &'a &str) -> &'a str {
            t
        }
        let mut ages = BTreeMap::new();
        ages.insert("1.3".to_string(), aged(1, 3 * day as u64));
        ages.insert("1.2".to_string(), aged(5, 3 * day as u64));
        let (pick, waiting) = pick_tag(&tags, id, Some(&ages), NOW, None);
        assert_eq!(pick, Some(&"1.2"), "the older tag is old enough");
        let (tag, wait) = waiting.unwrap();
        assert_eq!((*tag, wait.available_at), ("1.3", NOW + 2 * day));
        // --min-age 12h lets the newest through; 7d keeps both back, and
        // the unaged 1.1 is not offered while a minimum age is in effect.
        assert_eq!(pick_tag(&tags, id, Some(&ages), NOW, Some(day as u64 / 2)).0, Some(&"1.3"));
        let (pick, waiting) = pick_tag(&tags, id, Some(&ages), NOW, Some(7 * day as u64));
        assert_eq!((pick, waiting.map(|w| *w.0)), (None, Some("1.3")));
        // No minimum age: the newest, aged or not.
        assert_eq!(pick_tag(&tags, id, None, NOW, None), (Some(&"1.3"), None));
        ages.clear();
        ages.insert("1.3".to_string(), aged(1, 0));
        assert_eq!(pick_tag(&tags, id, Some(&ages), NOW, None), (Some(&"1.3"), None));
        // Once its time has come, the newest is offered and nothing waits.
        ages.insert("1.3".to_string(), aged(4, 3 * day as u64));
        assert_eq!(pick_tag(&tags, id, Some(&ages), NOW, None), (Some(&"1.3"), None));
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

    fn notes(source: &str, label: Option<&str>, tag: Option<&str>) -> Option<String> {
        release_notes(None, Some(source), Spelling { label, tag })
    }

    #[test]
    fn release_pages_on_github_and_gitlab() {
        let gh = |s: &str| notes(s, Some("v1.4.2"), None);
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
            assert_eq!(gh(source), want, "{source}");
        }
        assert_eq!(
            notes("https://gitlab.com/acme/tools/gadget", Some("v2.0.1"), None).as_deref(),
            Some("https://gitlab.com/acme/tools/gadget/-/releases/v2.0.1")
        );
        assert_eq!(
            notes("https://gitlab.example.org/acme/gadget.git/-/tree/main", Some("v2.0.1"), None).as_deref(),
            Some("https://gitlab.example.org/acme/gadget/-/releases/v2.0.1")
        );
        // Not a forge, not a repository, not a version: no link.
        let widget = "https://github.com/acme/widget";
        assert_eq!(notes("https://example.org/acme/widget", Some("1.0"), None), None);
        assert_eq!(notes("https://github.com/acme", Some("1.0"), None), None);
        assert_eq!(notes("not a url", Some("1.0"), None), None);
        assert_eq!(notes(widget, Some(" "), None), None);
        assert_eq!(notes(widget, None, Some("latest")), None);
        assert_eq!(notes(widget, None, None), None);
        assert_eq!(release_notes(None, None, Spelling { label: Some("1.0"), tag: None }), None);
        // A version with odd characters stays inside the path.
        assert_eq!(
            notes(widget, Some("v1.0 beta?x"), None).as_deref(),
            Some("https://github.com/acme/widget/releases/tag/v1.0%20beta%3Fx")
        );
        // A word version (a date, a name) is used as written.
        assert_eq!(
            notes(widget, Some("nightly"), None).as_deref(),
            Some("https://github.com/acme/widget/releases/tag/nightly")
        );
    }

    #[test]
    fn the_git_tag_form_comes_from_the_label_and_the_image_tag() {
        let widget = "https://github.com/acme/widget";
        let gadget = "https://gitlab.com/acme/gadget";
        let exact = |v: &str| Some(format!("{widget}/releases/tag/{v}"));
        // The image tag says `v`: the release is `v` + the version.
        assert_eq!(notes(widget, None, Some("v1.2.3")), exact("v1.2.3"));
        assert_eq!(notes(widget, None, Some("v1.2.3-alpine")), exact("v1.2.3"));
        assert_eq!(notes(widget, Some("1.2.3"), Some("v1.2")), exact("v1.2.3"));
        // The label says `v`, whatever the tag.
        assert_eq!(notes(widget, Some("v1.2.3"), Some("1.2.3")), exact("v1.2.3"));
        assert_eq!(notes(widget, Some("v1.2.3"), Some("stable")), exact("v1.2.3"));
        // Nothing says which: the search finds either spelling.
        assert_eq!(
            notes(widget, None, Some("1.2.3")).as_deref(),
            Some("https://github.com/acme/widget/releases?q=1.2.3&expanded=true")
        );
        assert_eq!(
            notes(widget, Some("1.2.3"), Some("latest")).as_deref(),
            Some("https://github.com/acme/widget/releases?q=1.2.3&expanded=true")
        );
        assert_eq!(
            notes(widget, None, Some("1.2.3-rc1-alpine")).as_deref(),
            Some("https://github.com/acme/widget/releases?q=1.2.3-rc1&expanded=true")
        );
        assert_eq!(
            notes(gadget, Some("2.0.1"), Some("2.0")).as_deref(),
            Some("https://gitlab.com/acme/gadget/-/tags?search=2.0.1%24")
        );
        assert_eq!(
            notes(gadget, None, Some("v2.0.1")).as_deref(),
            Some("https://gitlab.com/acme/gadget/-/releases/v2.0.1")
        );
        // The label wins over the tag for the version itself.
        assert_eq!(notes(widget, Some("v1.27.4"), Some("v1.27")), exact("v1.27.4"));
    }

    #[test]
    fn changelog_template_wins() {
        let t = Some("https://changes.example.org/{version}.html?tag={tag}&src={source}");
        let new = Spelling { label: Some("1.0"), tag: Some("1.0-alpine") };
        assert_eq!(
            release_notes(t, Some("https://github.com/acme/widget.git"), new).as_deref(),
            Some("https://changes.example.org/1.0.html?tag=1.0-alpine&src=https://github.com/acme/widget")
        );
        let new = Spelling { label: None, tag: Some("v2.1-alpine") };
        assert_eq!(
            release_notes(Some("https://x.example/{version}"), None, new).as_deref(),
            Some("https://x.example/2.1")
        );
    }
}
