//! What the state says, shaped for the machinery that watches a host: the
//! login message (update-motd), node_exporter's textfile collector, and a
//! Nagios status line. Pure functions of the recorded verdicts and the
//! clock; no engine, no network.

use std::fmt::Write as _;

use crate::core::inventory::Inventory;
use crate::core::outcomes::{Outcomes, UpgradeResult};
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

/// Everything the metrics are drawn from: the verdicts (selected), the
/// controls in effect, and what the update and upgrade runs recorded.
pub struct Sources<'a> {
    pub entries: &'a [&'a Entry],
    pub controls: &'a Controls,
    /// When the last update finished (RFC 3339).
    pub updated_at: Option<&'a str>,
    pub inventory: &'a Inventory,
    pub outcomes: &'a Outcomes,
    /// freshen's own version, for `freshen_build_info`.
    pub version: &'a str,
}

/// The states of `freshen_image_state`, one series each per image.
pub const IMAGE_STATES: [&str; 9] =
    ["current", "upgradable", "held", "skipped", "cooldown", "local-only", "pinned", "unknown", "error"];

/// One tag's state, as `freshen_image_state` names it: what `list` shows,
/// with the reason an update is kept back.
pub fn image_state(e: &Entry, controls: &Controls) -> &'static str {
    match e.status {
        Status::UpToDate => "current",
        Status::Upgradable => match controls.hold_back(e) {
            None => "upgradable",
            Some(HoldBack::Held) => "held",
            Some(HoldBack::Skipped(_)) => "skipped",
            Some(HoldBack::Cooldown(_)) => "cooldown",
        },
        Status::LocalOnly => "local-only",
        Status::Pinned => "pinned",
        Status::Unknown if e.error.is_some() => "error",
        Status::Unknown => "unknown",
    }
}

/// The `image` and `tag` labels of one tag: the repository as docker
/// shows it (`nginx`, `ghcr.io/o/app`) and the tag. An image pinned by
/// digest has no tag: it is named by `@` and the digest's first 12 hex
/// digits, one series per pinned image as there is one image.
fn image_labels(reference: &str) -> (String, String) {
    match Reference::parse(reference) {
        Ok(r) => {
            let tag = match (&r.tag, &r.digest) {
                (Some(t), _) => t.clone(),
                (None, Some(d)) => format!("@{}", crate::core::reference::short_digest(d)),
                (None, None) => String::new(),
            };
            (r.familiar_name(), tag)
        }
        // Not a reference this freshen parses: split it where a tag starts.
        Err(_) => match reference.rsplit_once(':').filter(|(_, tag)| !tag.contains('/')) {
            Some((image, tag)) => (image.to_string(), tag.to_string()),
            None => (reference.to_string(), String::new()),
        },
    }
}

/// A label set in the exposition format, values escaped.
fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{}\"", label(v))).collect();
    format!("{{{}}}", inner.join(","))
}

/// The text a Prometheus scrape or node_exporter's textfile collector
/// reads: every family with its HELP and TYPE, no timestamps. The same
/// text whoever serves it (`freshen metrics`, a server's `/metrics`).
/// Labels never include `instance`, `job` or `host`: the scrape target
/// gives those, and a metric's own would be renamed `exported_*`.
pub fn metrics(src: &Sources<'_>) -> String {
    let (entries, controls) = (src.entries, src.controls);
    let c = counts(entries, controls);
    let mut s = String::new();
    let mut typed = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
        let _ = writeln!(s, "# HELP {name} {help}");
        let _ = writeln!(s, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(s, "{name}{labels} {value}");
        }
    };
    let one = |v: usize| vec![(String::new(), v.to_string())];
    typed("freshen_images", "gauge", "Local image tags in freshen's last update.", &one(c.total));
    // The name before 0.2: a gauge may not end in _total (promtool), so it
    // is kept one more release untyped, then removed.
    typed(
        "freshen_images_total",
        "untyped",
        "Deprecated: use freshen_images; this name goes away in the next release.",
        &one(c.total),
    );
    typed(
        "freshen_images_upgradable",
        "gauge",
        "Local image tags that can be upgraded now (not held, not skipped, not waiting out a minimum age).",
        &one(c.upgradable),
    );
    typed(
        "freshen_images_cooldown",
        "gauge",
        "Local image tags whose new image is younger than its minimum age (min_age).",
        &one(c.cooldown),
    );
    typed(
        "freshen_images_skipped",
        "gauge",
        "Local image tags whose new image is a version the user skipped (freshen skip).",
        &one(c.skipped),
    );
    typed(
        "freshen_images_held",
        "gauge",
        "Local image tags on hold (freshen hold) whose registry has a new image.",
        &one(c.held),
    );
    typed("freshen_check_errors", "gauge", "Local image tags whose last check failed.", &one(c.errors));

    let named: Vec<(&Entry, String, String)> = entries
        .iter()
        .map(|e| {
            let (image, tag) = image_labels(&e.reference);
            (*e, image, tag)
        })
        .collect();
    // `reference` stays on this one family for a release, so that queries
    // written for 0.1 keep answering; `image` and `tag` replace it.
    let upgradable: Vec<(String, String)> = named
        .iter()
        .map(|(e, image, tag)| {
            let l = labels(&[("image", image), ("tag", tag), ("reference", &e.reference)]);
            (l, u8::from(controls.offered(e)).to_string())
        })
        .collect();
    typed(
        "freshen_image_upgradable",
        "gauge",
        "1 if this image tag can be upgraded now, else 0. The reference label is deprecated \
         (use image and tag) and goes away in the next release.",
        &upgradable,
    );
    let mut states = Vec::with_capacity(named.len() * IMAGE_STATES.len());
    for (e, image, tag) in &named {
        let now = image_state(e, controls);
        for st in IMAGE_STATES {
            states.push((
                labels(&[("image", image), ("tag", tag), ("state", st)]),
                u8::from(st == now).to_string(),
            ));
        }
    }
    typed(
        "freshen_image_state",
        "gauge",
        "The image tag's state: 1 for the state it is in, 0 for the others.",
        &states,
    );
    let info: Vec<(String, String)> = named
        .iter()
        .map(|(e, image, tag)| {
            let v = src.inventory.versions.get(&e.reference);
            let current = v.and_then(|v| v.current.clone()).unwrap_or_default();
            let digest = e.local_digest.clone().unwrap_or_else(|| e.image_id.clone());
            let (available, available_digest) = if e.status == Status::Upgradable {
                (
                    v.and_then(|v| v.available.clone()).unwrap_or_default(),
                    e.remote_digest.clone().unwrap_or_default(),
                )
            } else {
                (current.clone(), digest.clone())
            };
            let l = labels(&[
                ("image", image),
                ("tag", tag),
                ("version", &current),
                ("digest", &digest),
                ("available_version", &available),
                ("available_digest", &available_digest),
            ]);
            (l, "1".to_string())
        })
        .collect();
    typed(
        "freshen_image_info",
        "gauge",
        "The image tag's current and available version and digest (always 1).",
        &info,
    );
    let created: Vec<(String, String)> = named
        .iter()
        .filter(|(e, _, _)| e.status == Status::Upgradable)
        .filter_map(|(e, image, tag)| {
            let at = src.inventory.versions.get(&e.reference)?.available_created.as_deref()?;
            let t = crate::core::time::parse_rfc3339(at)?;
            Some((labels(&[("image", image), ("tag", tag)]), t.to_string()))
        })
        .collect();
    typed(
        "freshen_image_available_created_timestamp_seconds",
        "gauge",
        "When the registry's new image for this tag was built (Unix time), when its config says.",
        &created,
    );
    let mut running: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for ct in src.inventory.containers.iter().filter(|c| c.running) {
        if let Some(r) = &ct.reference {
            *running.entry(r.as_str()).or_default() += 1;
        }
    }
    let containers: Vec<(String, String)> = named
        .iter()
        .map(|(e, image, tag)| {
            let n = running.get(e.reference.as_str()).copied().unwrap_or(0);
            (labels(&[("image", image), ("tag", tag)]), n.to_string())
        })
        .collect();
    typed(
        "freshen_image_containers",
        "gauge",
        "Running containers created from this image tag, at the last update.",
        &containers,
    );
    let container_info: Vec<(String, String)> = src
        .inventory
        .containers
        .iter()
        .map(|ct| {
            let (image, tag) = ct.reference.as_deref().map(image_labels).unwrap_or_default();
            let l = labels(&[
                ("container", &ct.name),
                ("image", &image),
                ("tag", &tag),
                ("compose_project", ct.compose_project.as_deref().unwrap_or("")),
                ("compose_service", ct.compose_service.as_deref().unwrap_or("")),
            ]);
            (l, "1".to_string())
        })
        .collect();
    typed(
        "freshen_container_info",
        "gauge",
        "A container at the last update, the tag it was created from and its Compose project and service \
         (always 1).",
        &container_info,
    );
    let mut upgrades = Vec::with_capacity(named.len() * UpgradeResult::ALL.len());
    let mut last_upgrades = Vec::new();
    for (e, image, tag) in &named {
        for r in UpgradeResult::ALL {
            let tally = src.outcomes.tally(&e.reference, r);
            let l = labels(&[("image", image), ("tag", tag), ("result", r.as_str())]);
            upgrades.push((l.clone(), tally.map_or(0, |t| t.count).to_string()));
            if let Some(t) = tally {
                last_upgrades.push((l, t.last_at.to_string()));
            }
        }
    }
    typed(
        "freshen_upgrades_total",
        "counter",
        "Upgrades of this image tag by result: success, failed, rolled_back (health gate), deferred (kept back).",
        &upgrades,
    );
    typed(
        "freshen_upgrade_last_timestamp_seconds",
        "gauge",
        "When an upgrade of this image tag last ended with this result (Unix time).",
        &last_upgrades,
    );
    let checks = &src.outcomes.checks;
    let at = |v: Option<i64>| v.map(|t| vec![(String::new(), t.to_string())]).unwrap_or_default();
    typed(
        "freshen_last_check_timestamp_seconds",
        "gauge",
        "When freshen last checked the registries, whatever came of it (Unix time).",
        &at(checks.last_at),
    );
    typed(
        "freshen_last_check_success",
        "gauge",
        "1 if the last check reached the engine and every registry it asked, else 0.",
        &checks.last_ok.map(|ok| vec![(String::new(), u8::from(ok).to_string())]).unwrap_or_default(),
    );
    typed(
        "freshen_last_successful_check_timestamp_seconds",
        "gauge",
        "When a check last succeeded (Unix time).",
        &at(checks.last_success_at),
    );
    typed(
        "freshen_check_failures_in_a_row",
        "gauge",
        "Checks that failed since the last one that succeeded.",
        &one(checks.failures_in_a_row as usize),
    );
    typed(
        "freshen_check_failures_total",
        "counter",
        "Checks that failed, since the count began.",
        &one(checks.failures as usize),
    );
    if let Some(e) = &src.inventory.engine {
        let l = labels(&[
            ("engine", &e.engine),
            ("version", &e.version),
            ("api_version", &e.api_version),
            ("image_store", &e.image_store),
        ]);
        typed(
            "freshen_engine_info",
            "gauge",
            "The container engine at the last update and its image store (always 1).",
            &[(l, "1".to_string())],
        );
    }
    typed(
        "freshen_build_info",
        "gauge",
        "The freshen that wrote these metrics (always 1).",
        &[(labels(&[("version", src.version)]), "1".to_string())],
    );
    if let Some(t) = src.updated_at.and_then(crate::core::time::parse_rfc3339) {
        typed(
            "freshen_last_update_timestamp_seconds",
            "gauge",
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
        let (inventory, outcomes) = (Inventory::default(), Outcomes::new());
        let render = |entries: &[&Entry], controls: &Controls, updated_at| {
            metrics(&Sources {
                entries,
                controls,
                updated_at,
                inventory: &inventory,
                outcomes: &outcomes,
                version: "0.1.0",
            })
        };
        let text = render(&[&a, &b, &c, &d, &e, &f], &controls, Some("1970-01-02T00:00:00Z"));
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        let sample = |prefix: &str| -> Vec<&str> {
            samples.iter().copied().filter(|l| l.starts_with(prefix)).collect()
        };
        assert_eq!(
            samples[..7],
            [
                "freshen_images 6",
                "freshen_images_total 6",
                "freshen_images_upgradable 1",
                "freshen_images_cooldown 1",
                "freshen_images_skipped 1",
                "freshen_images_held 1",
                "freshen_check_errors 1",
            ]
        );
        assert_eq!(
            sample("freshen_image_upgradable{"),
            vec![
                "freshen_image_upgradable{image=\"127.0.0.1:5000/a\\\"b\\\\c\",tag=\"1\",\
                 reference=\"127.0.0.1:5000/a\\\"b\\\\c:1\"} 1",
                "freshen_image_upgradable{image=\"nginx\",tag=\"latest\",reference=\"docker.io/library/nginx:latest\"} 0",
                "freshen_image_upgradable{image=\"ghcr.io/o/x\",tag=\"1\",reference=\"ghcr.io/o/x:1\"} 0",
                "freshen_image_upgradable{image=\"ghcr.io/o/waits\",tag=\"1\",reference=\"ghcr.io/o/waits:1\"} 0",
                "freshen_image_upgradable{image=\"ghcr.io/o/skipped\",tag=\"1\",reference=\"ghcr.io/o/skipped:1\"} 0",
                "freshen_image_upgradable{image=\"ghcr.io/o/held\",tag=\"1\",reference=\"ghcr.io/o/held:1\"} 0",
            ]
        );
        // One state set per tag: nine series, exactly one of them 1.
        let on: Vec<&str> =
            sample("freshen_image_state{").into_iter().filter(|l| l.ends_with(" 1")).collect();
        assert_eq!(sample("freshen_image_state{").len(), 6 * IMAGE_STATES.len());
        let states: Vec<&str> =
            on.iter().map(|l| l.split("state=\"").nth(1).unwrap().split('"').next().unwrap()).collect();
        assert_eq!(states, ["upgradable", "current", "unknown", "cooldown", "skipped", "held"]);
        // Four results per tag, pre-initialised to 0; no last time yet.
        assert_eq!(sample("freshen_upgrades_total{").len(), 6 * 4);
        assert!(sample("freshen_upgrades_total{").iter().all(|l| l.ends_with(" 0")));
        assert!(sample("freshen_upgrade_last_timestamp_seconds").is_empty());
        assert!(text.contains("# TYPE freshen_upgrades_total counter\n"));
        assert_eq!(sample("freshen_build_info"), ["freshen_build_info{version=\"0.1.0\"} 1"]);
        assert_eq!(
            sample("freshen_last_update_timestamp_seconds"),
            ["freshen_last_update_timestamp_seconds 86400"]
        );
        assert!(text.contains("# TYPE freshen_images_upgradable gauge\n"));
        assert!(text.contains("# TYPE freshen_images_total untyped\n"));
        for forbidden in ["instance=", "job=", "host="] {
            assert!(!text.contains(forbidden), "{forbidden}");
        }
        // Four days after it was first seen, the 3-day cooldown is over.
        let later = Controls { now: 5 * DAY, ..controls.clone() };
        assert!(render(&[&d], &later, None).contains("freshen_images_upgradable 1\n"));
        assert!(!render(&[], &controls, None)
            .lines()
            .any(|l| l.starts_with("freshen_last_update_timestamp_seconds ")));
    }

    #[test]
    fn metrics_name_containers_versions_outcomes_and_the_host() {
        let mut a = entry("docker.io/library/nginx:1.25", Status::Upgradable);
        a.local_digest = Some("sha256:old".into());
        a.remote_digest = Some("sha256:new".into());
        let b = entry(&format!("ghcr.io/o/app@sha256:0123456789ab{}", "c".repeat(52)), Status::Pinned);
        let mut inventory = Inventory::default();
        inventory.versions.insert(
            a.reference.clone(),
            crate::core::inventory::Versions {
                current: Some("1.25.0".into()),
                available: Some("1.25.1".into()),
                available_created: Some("1970-01-03T00:00:00Z".into()),
            },
        );
        let ct = |name: &str, reference: Option<&str>, running| crate::core::inventory::ContainerFacts {
            name: name.into(),
            reference: reference.map(str::to_string),
            image_id: "sha256:1".into(),
            running,
            compose_project: Some("shop".into()),
            compose_service: Some(name.into()),
        };
        inventory.containers = vec![
            ct("web", Some(&a.reference), true),
            ct("web2", Some(&a.reference), true),
            ct("stopped", Some(&a.reference), false),
            ct("byid", None, true),
        ];
        inventory.engine = Some(crate::core::inventory::EngineFacts {
            engine: "docker".into(),
            version: "20.10.24".into(),
            api_version: "1.41".into(),
            image_store: "classic".into(),
        });
        let mut outcomes = Outcomes::new();
        outcomes.upgrade(&a.reference, UpgradeResult::RolledBack, 100);
        outcomes.check(false, 200);
        let controls = Controls::default();
        let text = metrics(&Sources {
            entries: &[&a, &b],
            controls: &controls,
            updated_at: None,
            inventory: &inventory,
            outcomes: &outcomes,
            version: "9.9.9",
        });
        let has = |line: &str| assert!(text.lines().any(|l| l == line), "no line {line}\n{text}");
        has("freshen_image_info{image=\"nginx\",tag=\"1.25\",version=\"1.25.0\",digest=\"sha256:old\",\
             available_version=\"1.25.1\",available_digest=\"sha256:new\"} 1");
        has("freshen_image_available_created_timestamp_seconds{image=\"nginx\",tag=\"1.25\"} 172800");
        has("freshen_image_containers{image=\"nginx\",tag=\"1.25\"} 2");
        has("freshen_image_containers{image=\"ghcr.io/o/app\",tag=\"@0123456789ab\"} 0");
        has("freshen_image_state{image=\"ghcr.io/o/app\",tag=\"@0123456789ab\",state=\"pinned\"} 1");
        has(
            "freshen_container_info{container=\"web\",image=\"nginx\",tag=\"1.25\",compose_project=\"shop\",\
             compose_service=\"web\"} 1",
        );
        has("freshen_container_info{container=\"byid\",image=\"\",tag=\"\",compose_project=\"shop\",\
             compose_service=\"byid\"} 1");
        has("freshen_upgrades_total{image=\"nginx\",tag=\"1.25\",result=\"rolled_back\"} 1");
        has("freshen_upgrades_total{image=\"nginx\",tag=\"1.25\",result=\"success\"} 0");
        has(
            "freshen_upgrade_last_timestamp_seconds{image=\"nginx\",tag=\"1.25\",result=\"rolled_back\"} 100",
        );
        has("freshen_last_check_timestamp_seconds 200");
        has("freshen_last_check_success 0");
        has("freshen_check_failures_in_a_row 1");
        has("freshen_check_failures_total 1");
        has("freshen_engine_info{engine=\"docker\",version=\"20.10.24\",api_version=\"1.41\",image_store=\"classic\"} 1");
        assert!(
            !text.lines().any(|l| l.starts_with("freshen_last_successful_check_timestamp_seconds ")),
            "never succeeded"
        );
        // Series per image: 1 upgradable + 9 states + 1 info + 1 created
        // (when upgradable and known) + 1 containers + 4 outcomes (+ one
        // last time per result that happened).
        let per_image = text.lines().filter(|l| !l.starts_with('#') && l.contains("tag=\"1.25\"")).count();
        assert_eq!(per_image, 1 + 9 + 1 + 1 + 1 + 4 + 1 + 3, "3 containers of the tag have info series");
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
