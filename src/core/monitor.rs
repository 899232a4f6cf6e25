//! What the state says, shaped for the machinery that watches a host: the
//! login message (update-motd), node_exporter's textfile collector, and a
//! Nagios status line. Pure functions of the recorded verdicts and the
//! clock; no engine, no network.

use std::fmt::Write as _;

use crate::core::reference::Reference;
use crate::core::report::Selection;
use crate::core::skips::{Controls, HoldBack};
use crate::core::state::{Entry, State};
use crate::core::verdict::Status;

/// The list is stale after a week, as Ubuntu's login message says.
pub const STALE_AFTER_SECS: i64 = 7 * 86_400;

/// Counts over the recorded verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    /// Upgradable now: neither skipped nor waiting out a minimum age.
    pub upgradable: usize,
    pub errors: usize,
    /// Upgradable once their minimum age has passed.
    pub cooldown: usize,
    /// Upgradable to a version the user skipped.
    pub skipped: usize,
    /// Upgradable, but on hold.
    pub held: usize,
    /// Whose latest check failed, counted by the earlier verdict they keep.
    pub stale: usize,
}

/// The entries the user's selection (and the config's `exclude`) allows.
pub fn selected<'a>(state: &'a State, selection: &Selection) -> Vec<&'a Entry> {
    state
        .entries
        .iter()
        .filter(|e| Reference::parse(&e.reference).is_ok_and(|r| selection.matches(&r)))
        .collect()
}

pub fn counts(entries: &[&Entry], controls: &Controls) -> Counts {
    let mut c = Counts { total: entries.len(), ..Counts::default() };
    for e in entries {
        if e.stale.is_some() {
            c.stale += 1;
        }
        match (e.status, controls.hold_back(e)) {
            (Status::Upgradable, None) => c.upgradable += 1,
            (Status::Upgradable, Some(HoldBack::Cooldown(_))) => c.cooldown += 1,
            (Status::Upgradable, Some(HoldBack::Skipped(_))) => c.skipped += 1,
            (Status::Upgradable, Some(HoldBack::Held)) => c.held += 1,
            (Status::Unknown, _) => c.errors += 1,
            _ => {}
        }
    }
    c
}

/// The login message: nothing when everything is current.
pub fn motd(counts: Counts, updated_at: Option<&str>, now: i64) -> Vec<String> {
    let mut lines = Vec::new();
    match counts.upgradable {
        0 => {}
        1 => {
            lines.push("1 image update can be applied.".to_string());
            lines.push("Run 'freshen list --upgradable' to see it.".to_string());
        }
        n => {
            lines.push(format!("{n} image updates can be applied."));
            lines.push("Run 'freshen list --upgradable' to see them.".to_string());
        }
    }
    match counts.stale {
        0 => {}
        1 => lines.push("The last check of 1 image failed; its earlier verdict is counted.".to_string()),
        n => lines.push(format!("The last check of {n} images failed; their earlier verdicts are counted.")),
    }
    let stale =
        updated_at.and_then(crate::core::time::parse_rfc3339).is_some_and(|t| now - t > STALE_AFTER_SECS);
    if stale {
        lines.push("The list of available updates is more than a week old.".to_string());
        lines.push("Run 'freshen update' to refresh it.".to_string());
    }
    lines
}

/// A label value in the Prometheus text format: backslash, double quote
/// and newline escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The node_exporter textfile-collector document.
pub fn metrics(entries: &[&Entry], controls: &Controls, updated_at: Option<&str>) -> String {
    let c = counts(entries, controls);
    let mut s = String::new();
    let mut typed = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
        let _ = writeln!(s, "# HELP {name} {help}");
        let _ = writeln!(s, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(s, "{name}{labels} {value}");
        }
    };
    typed(
        "freshen_images",
        "gauge",
        "Local image tags in freshen's last update.",
        &[(String::new(), c.total.to_string())],
    );
    // The name before 0.2: a gauge may not end in _total (promtool), so it
    // is kept one more release untyped, then removed.
    typed(
        "freshen_images_total",
        "untyped",
        "Deprecated: use freshen_images; this name goes away in the next release.",
        &[(String::new(), c.total.to_string())],
    );
    let mut family =
        |name: &str, help: &str, samples: &[(String, String)]| typed(name, "gauge", help, samples);
    family(
        "freshen_images_upgradable",
        "Local image tags that can be upgraded now (not held, not skipped, not waiting out a minimum age).",
        &[(String::new(), c.upgradable.to_string())],
    );
    family(
        "freshen_images_cooldown",
        "Local image tags whose new image is younger than its minimum age (min_age).",
        &[(String::new(), c.cooldown.to_string())],
    );
    family(
        "freshen_images_skipped",
        "Local image tags whose new image is a version the user skipped (freshen skip).",
        &[(String::new(), c.skipped.to_string())],
    );
    family(
        "freshen_images_held",
        "Local image tags on hold (freshen hold) whose registry has a new image.",
        &[(String::new(), c.held.to_string())],
    );
    family(
        "freshen_check_errors",
        "Local image tags whose last check failed.",
        &[(String::new(), c.errors.to_string())],
    );
    let per_image: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            let up = u8::from(controls.offered(e));
            (format!("{{reference=\"{}\"}}", label(&e.reference)), up.to_string())
        })
        .collect();
    family("freshen_image_upgradable", "1 if this image tag can be upgraded, else 0.", &per_image);
    if let Some(t) = updated_at.and_then(crate::core::time::parse_rfc3339) {
        family(
            "freshen_last_update_timestamp_seconds",
            "When freshen last asked the registries (Unix time).",
            &[(String::new(), t.to_string())],
        );
    }
    s
}

/// Nagios plugin states and their exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NagiosState {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl NagiosState {
    fn as_str(self) -> &'static str {
        match self {
            NagiosState::Ok => "OK",
            NagiosState::Warning => "WARNING",
            NagiosState::Critical => "CRITICAL",
            NagiosState::Unknown => "UNKNOWN",
        }
    }
}

/// The plugin's one line and state. WARNING from `warning` upgradable
/// images on, CRITICAL from `critical` on (if set); UNKNOWN when nothing
/// is upgradable but some image could not be checked (its state is not
/// known), or when no image could be checked at all.
pub fn nagios(
    c: Counts,
    upgradable: &[&str],
    warning: usize,
    critical: Option<usize>,
) -> (NagiosState, String) {
    let known = c.total - c.errors;
    let state = if c.total > 0 && known == 0 {
        NagiosState::Unknown
    } else if critical.is_some_and(|n| c.upgradable >= n) {
        NagiosState::Critical
    } else if c.upgradable >= warning && c.upgradable > 0 {
        NagiosState::Warning
    } else if c.errors > 0 || c.stale > 0 {
        NagiosState::Unknown
    } else {
        NagiosState::Ok
    };
    let plural = |n: usize| if n == 1 { "image" } else { "images" };
    let mut text = match c.upgradable {
        _ if c.total == 0 => "no images to check".to_string(),
        0 if c.errors == 0 => format!("all {} {} up to date", c.total, plural(c.total)),
        0 => format!("{known} of {} {} up to date", c.total, plural(c.total)),
        n => {
            const SHOWN: usize = 5;
            let mut names: Vec<String> = upgradable.iter().take(SHOWN).map(|s| s.to_string()).collect();
            if upgradable.len() > SHOWN {
                names.push(format!("and {} more", upgradable.len() - SHOWN));
            }
            format!("{n} of {} {} can be upgraded: {}", c.total, plural(c.total), names.join(", "))
        }
    };
    if c.errors > 0 {
        let _ = write!(text, "; {} could not be checked", c.errors);
    }
    if c.stale > 0 {
        let _ = write!(text, "; the last check of {} failed (earlier verdicts kept)", c.stale);
    }
    let thresholds = format!("{warning};{}", critical.map(|n| n.to_string()).unwrap_or_default());
    let line = format!(
        "FRESHEN {} - {text} | upgradable={};{thresholds};0; total={};;;0; errors={};;;0;",
        state.as_str(),
        c.upgradable,
        c.total,
        c.errors
    );
    (state, line)
}

/// The line for a run that failed before it could check anything.
pub fn nagios_failure(error: &str) -> String {
    format!("FRESHEN UNKNOWN - {error}")
}

/// The containers a killed run left between two versions (the recreation
/// journal's entries): above 0 until the next upgrade, update, rollback or
/// autoremove puts them right, which an alert can watch for.
pub fn interrupted_series(pending: usize) -> String {
    format!(
        "# HELP freshen_interrupted_recreations Containers whose recreation an interrupted run left \
         unfinished; the next upgrade, update, rollback or autoremove finishes or undoes it.\n\
         # TYPE freshen_interrupted_recreations gauge\n\
         freshen_interrupted_recreations {pending}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reference: &str, status: Status) -> Entry {
        Entry {
            reference: reference.into(),
            status,
            image_id: "sha256:1".into(),
            local_digest: None,
            remote_digest: None,
            checked_at: "2026-01-01T00:00:00Z".into(),
            error: None,
            age: None,
            stale: None,
        }
    }

    const DAY: i64 = 86_400;
    const T0: &str = "2026-01-01T00:00:00Z";

    #[test]
    fn motd_lines() {
        let t0 = crate::core::time::parse_rfc3339(T0).unwrap();
        let c = |upgradable| Counts { total: 5, upgradable, ..Counts::default() };
        assert!(motd(c(0), Some(T0), t0 + DAY).is_empty());
        assert_eq!(
            motd(c(3), Some(T0), t0 + DAY),
            vec!["3 image updates can be applied.", "Run 'freshen list --upgradable' to see them."]
        );
        assert_eq!(
            motd(c(1), Some(T0), t0),
            vec!["1 image update can be applied.", "Run 'freshen list --upgradable' to see it."]
        );
        assert_eq!(
            motd(c(0), Some(T0), t0 + 8 * DAY),
            vec![
                "The list of available updates is more than a week old.",
                "Run 'freshen update' to refresh it."
            ]
        );
        assert_eq!(motd(c(2), Some(T0), t0 + 8 * DAY).len(), 4);
        assert!(motd(c(0), Some(T0), t0 + 7 * DAY).is_empty(), "exactly a week is not more than a week");
        assert!(motd(c(0), None, t0).is_empty());
    }

    #[test]
    fn metrics_text() {
        let a = entry("127.0.0.1:5000/a\"b\\c:1", Status::Upgradable);
        let b = entry("docker.io/library/nginx:latest", Status::UpToDate);
        let c = entry("ghcr.io/o/x:1", Status::Unknown);
        let mut d = entry("ghcr.io/o/waits:1", Status::Upgradable);
        d.remote_digest = Some("sha256:d2".into());
        d.age = Some(crate::core::controls::Age {
            digest: d.remote_digest.clone(),
            first_seen: "1970-01-02T00:00:00Z".into(),
            since: "1970-01-02T00:00:00Z".into(),
            source: crate::core::controls::AgeSource::FirstSeen,
            min_age_seconds: 3 * DAY as u64,
        });
        let mut e = entry("ghcr.io/o/skipped:1", Status::Upgradable);
        e.remote_digest = Some("sha256:e2".into());
        let mut controls = Controls { now: 2 * DAY, ..Controls::default() };
        controls.skips.record(crate::core::skips::Skip {
            reference: e.reference.clone(),
            digest: e.remote_digest.clone(),
            tag: None,
            tag_digest: None,
            version: None,
            reason: "test".into(),
            at: T0.into(),
        });
        let f = entry("ghcr.io/o/held:1", Status::Upgradable);
        controls.holds.add("ghcr.io/o/held:*".into());
        let text = metrics(&[&a, &b, &c, &d, &e, &f], &controls, Some("1970-01-02T00:00:00Z"));
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            vec![
                "freshen_images 6",
                "freshen_images_total 6",
                "freshen_images_upgradable 1",
                "freshen_images_cooldown 1",
                "freshen_images_skipped 1",
                "freshen_images_held 1",
                "freshen_check_errors 1",
                "freshen_image_upgradable{reference=\"127.0.0.1:5000/a\\\"b\\\\c:1\"} 1",
                "freshen_image_upgradable{reference=\"docker.io/library/nginx:latest\"} 0",
                "freshen_image_upgradable{reference=\"ghcr.io/o/x:1\"} 0",
                "freshen_image_upgradable{reference=\"ghcr.io/o/waits:1\"} 0",
                "freshen_image_upgradable{reference=\"ghcr.io/o/skipped:1\"} 0",
                "freshen_image_upgradable{reference=\"ghcr.io/o/held:1\"} 0",
                "freshen_last_update_timestamp_seconds 86400",
            ]
        );
        assert!(text.contains("# TYPE freshen_images_upgradable gauge\n"));
        assert!(text.contains("# TYPE freshen_images_total untyped\n"));
        assert_eq!(text.lines().filter(|l| l.starts_with("# HELP")).count(), 9);
        // Four days after it was first seen, the 3-day cooldown is over.
        let later = Controls { now: 5 * DAY, ..controls.clone() };
        assert!(metrics(&[&d], &later, None).contains("freshen_images_upgradable 1\n"));
        assert!(!metrics(&[], &controls, None).contains("timestamp"));
    }

    #[test]
    fn nagios_lines() {
        let c = |total, upgradable, errors| Counts { total, upgradable, errors, ..Counts::default() };
        assert_eq!(
            nagios(c(12, 0, 0), &[], 1, None),
            (
                NagiosState::Ok,
                "FRESHEN OK - all 12 images up to date | upgradable=0;1;;0; total=12;;;0; errors=0;;;0;"
                    .into()
            )
        );
        let (s, line) = nagios(c(12, 2, 0), &["nginx:latest", "redis:7"], 1, Some(5));
        assert_eq!(s, NagiosState::Warning);
        assert_eq!(
            line,
            "FRESHEN WARNING - 2 of 12 images can be upgraded: nginx:latest, redis:7 \
             | upgradable=2;1;5;0; total=12;;;0; errors=0;;;0;"
        );
        assert_eq!(nagios(c(12, 5, 0), &[], 1, Some(5)).0, NagiosState::Critical);
        assert_eq!(nagios(c(12, 1, 0), &[], 2, None).0, NagiosState::Ok);
        let (s, line) = nagios(c(3, 0, 1), &[], 1, None);
        assert_eq!(s, NagiosState::Unknown);
        assert!(
            line.starts_with("FRESHEN UNKNOWN - 2 of 3 images up to date; 1 could not be checked |"),
            "{line}"
        );
        assert_eq!(nagios(c(2, 0, 2), &[], 1, None).0, NagiosState::Unknown);
        assert_eq!(nagios(c(3, 1, 1), &["a"], 1, None).0, NagiosState::Warning);
        let many: Vec<String> = (0..7).map(|i| format!("i{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(nagios(c(9, 7, 0), &many, 1, None).1.contains("i4, and 2 more |"));
        assert_eq!(nagios(c(0, 0, 0), &[], 1, None).0, NagiosState::Ok);
    }
}
