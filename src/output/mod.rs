//! Everything freshen prints goes through here: the table and apt-style
//! lines for people, the JSON schema for scripts, the apt summary, and
//! warnings. Colour only when asked for or on a terminal without NO_COLOR.

pub mod page;
pub mod status;
pub mod upgrade_report;

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use serde::Serialize;

use crate::core::reference::short_digest;
use crate::core::report::Row;
use crate::core::state::RateLimit;
use crate::core::state::RegistryInfo;
use crate::core::time::age;
use crate::core::verdict::Status;
use crate::core::versions::Level;
use crate::error::{Error, Result};

/// A status's colour (SGR code).
fn status_color(s: Status) -> &'static str {
    match s {
        Status::UpToDate => "32",
        Status::Upgradable => "1;33",
        Status::Unknown => "31",
        Status::LocalOnly | Status::Pinned => "36",
    }
}

/// A row's name in the table: a digest reference shortened to the 12
/// digits `docker images` shows (`repo@sha256:4f2d1c3b8a9e`).
fn table_name(r: &Row) -> String {
    match &r.reference.digest {
        Some(d) => format!("{}@sha256:{}", r.reference.familiar_name(), short_digest(d)),
        None => r.reference.familiar(),
    }
}

pub mod table;
pub mod waiting;

/// The version of the JSON document `list --format json` prints.
pub const JSON_SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Copy)]
pub struct Printer {
    out: OutputSettings,
}

impl Printer {
    pub fn new(out: OutputSettings) -> Printer {
        waiting::set_quiet(out.quiet);
        Printer { out }
    }

    /// A line of the command's result on stdout.
    pub fn line(&self, text: &str) {
        let mut so = std::io::stdout().lock();
        let _ = writeln!(so, "{text}");
    }

    /// A whole document on stdout in one write: stdout is line-buffered,
    /// and tens of thousands of lines (the metrics of a big host) written
    /// one by one cost a system call each.
    pub fn text(&self, text: &str) {
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(text.as_bytes());
        let _ = so.flush();
    }

    /// Progress and notes on stderr; silent with --quiet.
    pub fn info(&self, text: &str) {
        if !self.out.quiet {
            eprintln!("{text}");
        }
    }

    /// `W: …` on stderr, like apt; shown even with --quiet.
    pub fn warn(&self, text: &str) {
        eprintln!("{}", self.paint("W:", "33") + " " + text);
    }

    pub fn verbose(&self) -> bool {
        self.out.verbose
    }

    pub fn quiet(&self) -> bool {
        self.out.quiet
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.out.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn table(&self, rows: &[Row], now: i64) {
        use table::{Cell, Column, Shrink};
        if rows.is_empty() {
            return;
        }
        let with_notes = rows.iter().any(|r| r.error.is_some());
        let with_newer = rows.iter().any(|r| r.version.newest.is_some());
        // Drop ranks: the least useful column goes first when space runs out.
        let mut columns = vec![
            Column { heading: "IMAGE", drop_rank: None, shrink: Shrink::Middle(16) },
            Column { heading: "STATUS", drop_rank: None, shrink: Shrink::Never },
            Column { heading: "IMAGE ID", drop_rank: Some(3), shrink: Shrink::Never },
            Column { heading: "CREATED", drop_rank: Some(2), shrink: Shrink::Never },
            Column { heading: "VERSION", drop_rank: Some(4), shrink: Shrink::End(8) },
            Column { heading: "AVAILABLE", drop_rank: None, shrink: Shrink::End(12) },
        ];
        if with_newer {
            columns.push(Column { heading: "NEWER TAG", drop_rank: Some(1), shrink: Shrink::End(12) });
        }
        if with_notes {
            columns.push(Column { heading: "NOTE", drop_rank: None, shrink: Shrink::End(12) });
        }
        let mut cells = Vec::with_capacity(rows.len());
        for r in rows {
            // Versions where known; a digest is always labelled as one.
            let available = match (&r.remote_digest, r.status) {
                (Some(d), Status::Upgradable) => {
                    let what =
                        r.version.remote.clone().unwrap_or_else(|| format!("sha256:{}", short_digest(d)));
                    match r.version.remote_created.as_deref().and_then(crate::core::time::parse_rfc3339) {
                        Some(at) => format!("{what} ({})", age(now - at)),
                        None => what,
                    }
                }
                _ => "-".to_string(),
            };
            let current = r.version.current.clone().unwrap_or_else(|| "-".to_string());
            let (status, color) = if r.held {
                (format!("{} (held)", r.status.as_str()), status_color(r.status))
            } else if r.rolled_back().is_some() {
                (format!("{} (failed, rolled back)", r.status.as_str()), status_color(r.status))
            } else if r.skipped.is_some() && r.status == Status::Upgradable {
                ("skipped".to_string(), "36")
            } else if r.deferred.is_some() {
                (format!("{} (deferred by a hook)", r.status.as_str()), status_color(r.status))
            } else if let Some(c) = &r.cooldown {
                (
                    format!(
                        "{} ({})",
                        r.status.as_str(),
                        crate::core::controls::in_words(c.available_at - now)
                    ),
                    status_color(r.status),
                )
            } else {
                (r.status.as_str().to_string(), status_color(r.status))
            };
            let mut row = vec![
                Cell::plain(table_name(r)),
                Cell::colored(status, color),
                Cell::plain(short_digest(&r.image_id)),
                Cell::plain(age(now - r.created)),
                Cell::plain(current),
                Cell::plain(available),
            ];
            if with_newer {
                row.push(Cell::plain(newer_cell(r, now)));
            }
            if with_notes {
                let note = match (&r.stale, &r.error) {
                    (Some(_), Some(error)) => {
                        format!("the last check failed ({error}); this verdict is from the one before")
                    }
                    _ => r.error.clone().unwrap_or_default(),
                };
                row.push(Cell::plain(note));
            }
            cells.push(row);
        }
        for line in table::render(&columns, &cells, self.out.width, |text, code| self.paint(text, code)) {
            self.line(&line);
        }
    }

    /// `freshen fleet`'s table: one row per image per host, and one per
    /// host that did not answer, with the reason.
    pub fn fleet_table(&self, rows: &[crate::core::fleet::Row]) {
        use table::{Cell, Column, Shrink};
        let columns = [
            Column { heading: "HOST", drop_rank: None, shrink: Shrink::End(12) },
            Column { heading: "IMAGE", drop_rank: None, shrink: Shrink::Middle(16) },
            Column { heading: "STATUS", drop_rank: None, shrink: Shrink::Never },
            Column { heading: "VERSION", drop_rank: Some(2), shrink: Shrink::End(8) },
            Column { heading: "AVAILABLE", drop_rank: Some(1), shrink: Shrink::End(8) },
            Column { heading: "NOTE", drop_rank: None, shrink: Shrink::End(12) },
        ];
        let dash = |t: &str| if t.is_empty() { "-".to_string() } else { t.to_string() };
        let cells: Vec<Vec<Cell>> = rows
            .iter()
            .map(|r| {
                let color = match r.status.as_str() {
                    "upgradable" | "rolled-back" => "33",
                    "unreachable" | "error" | "failed" | "unknown" => "31",
                    _ => "32",
                };
                let image = crate::core::reference::Reference::parse(&r.image)
                    .map(|i| i.familiar())
                    .unwrap_or_else(|_| r.image.clone());
                vec![
                    Cell::plain(r.host.clone()),
                    Cell::plain(dash(&image)),
                    Cell::colored(r.status.clone(), color),
                    Cell::plain(dash(&r.current)),
                    Cell::plain(dash(&r.available)),
                    Cell::plain(r.note.clone()),
                ]
            })
            .collect();
        for line in table::render(&columns, &cells, self.out.width, |text, code| self.paint(text, code)) {
            self.line(&line);
        }
    }

    /// Any JSON value on stdout, pretty.
    pub fn json_value(&self, value: &serde_json::Value) {
        let mut so = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut so, value);
        let _ = writeln!(so);
    }

    /// One line per image, like `apt list`.
    pub fn apt(&self, rows: &[Row]) {
        for r in rows {
            let name = r.reference.familiar();
            let line = match r.status {
                // Versions when both sides have one, else digests.
                Status::Upgradable => match (&r.version.remote, &r.version.current) {
                    (Some(new), Some(old)) if new != old => {
                        format!("{name} {new} [upgradable from: {old}]")
                    }
                    _ => format!(
                        "{name} {} [upgradable from: {}]",
                        r.remote_digest.as_deref().map(short_digest).unwrap_or("?"),
                        r.local_digest
                            .as_deref()
                            .map(short_digest)
                            .unwrap_or_else(|| short_digest(&r.image_id))
                    ),
                },
                // The version where it is known, as apt names what is installed.
                Status::UpToDate | Status::LocalOnly => format!(
                    "{name} {} [{}]",
                    r.version.current.clone().unwrap_or_else(|| r
                        .local_digest
                        .as_deref()
                        .map(short_digest)
                        .unwrap_or_else(|| short_digest(&r.image_id))
                        .to_string()),
                    r.status
                ),
                Status::Pinned => format!("{name} [pinned]"),
                Status::Unknown => {
                    format!("{name} [unknown: {}]", r.error.as_deref().unwrap_or("not checked"))
                }
            };
            let now = now_unix();
            let line = if r.stale.is_some() { format!("{line} [last check failed]") } else { line };
            if r.held {
                self.line(&format!("{line} [held]"));
            } else if r.rolled_back().is_some() {
                self.line(&format!("{line} [failed, rolled back]"));
            } else if r.skipped.is_some() && r.status == Status::Upgradable {
                self.line(&format!("{line} [skipped]"));
            } else if r.deferred.is_some() {
                self.line(&format!("{line} [deferred by a hook]"));
            } else if let Some(c) = &r.cooldown {
                self.line(&format!(
                    "{line} [available {}]",
                    crate::core::controls::in_words(c.available_at - now)
                ));
            } else {
                self.line(&line);
            }
        }
    }

    /// The JSON document. `registries` is what the last update learnt
    /// about the registries of these rows (scheme, rate limit).
    pub fn json(&self, updated_at: Option<&str>, rows: &[Row], registries: &BTreeMap<String, RegistryInfo>) {
        let shown: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.reference.registry.as_str()).collect();
        let doc = JsonDoc {
            schema_version: JSON_SCHEMA_VERSION,
            updated_at,
            images: rows.iter().map(JsonImage::from).collect(),
            registries: registries
                .iter()
                .filter(|(name, _)| shown.contains(name.as_str()))
                .map(|(name, info)| {
                    (
                        name.as_str(),
                        JsonRegistry { scheme: info.scheme.as_deref(), rate_limit: info.rate_limit.as_ref() },
                    )
                })
                .collect(),
        };
        let mut so = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut so, &doc);
        let _ = writeln!(so);
    }
}

#[derive(Serialize)]
struct JsonDoc<'a> {
    schema_version: u32,
    updated_at: Option<&'a str>,
    images: Vec<JsonImage<'a>>,
    registries: BTreeMap<&'a str, JsonRegistry<'a>>,
}

/// One registry in the JSON document: how it was reached and the last
/// rate-limit headers it sent (null when it sent none).
#[derive(Serialize)]
struct JsonRegistry<'a> {
    scheme: Option<&'a str>,
    rate_limit: Option<&'a RateLimit>,
}

/// One image in the JSON schema documented in docs/json.md. Fields are only
/// ever added, never renamed or removed, within a schema version.
#[derive(Serialize)]
struct JsonImage<'a> {
    reference: String,
    registry: &'a str,
    repository: &'a str,
    tag: Option<&'a str>,
    status: Status,
    image_id: &'a str,
    local_digest: Option<&'a str>,
    remote_digest: Option<&'a str>,
    checked_at: Option<&'a str>,
    error: Option<&'a str>,
    /// The latest check failed at this time; status and digests are from
    /// the check at `checked_at`, kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    check_failed_at: Option<&'a str>,
    created: Option<String>,
    size: i64,
    held: bool,
    rolled_back: Option<JsonRolledBack<'a>>,
    current_version: Option<&'a str>,
    candidate_version: Option<&'a str>,
    candidate_tag: Option<&'a str>,
    update_level: Option<Level>,
    newest_tag: Option<&'a str>,
    cooldown: Option<JsonCooldown>,
    tag_cooldown: Option<JsonTagCooldown<'a>>,
    skipped: Option<&'a crate::core::skips::Skip>,
    release_notes: Option<&'a str>,
    /// Why a pre-upgrade hook deferred the registry's version, if one did.
    deferred: Option<&'a str>,
}

/// The registry's version, tried by an upgrade and rolled back (a skip
/// whose reason is `failed, rolled back`).
#[derive(Serialize)]
struct JsonRolledBack<'a> {
    digest: Option<&'a str>,
    at: &'a str,
    /// What the health gate said.
    reason: &'a str,
}

/// An update that waits out its minimum age.
#[derive(Serialize)]
struct JsonCooldown {
    /// When it becomes an upgrade candidate.
    available_at: Option<String>,
    /// `created` (the image's creation time) or `first_seen` (when freshen
    /// first saw the digest), what the age counts from.
    age_source: &'static str,
    min_age_seconds: u64,
}

/// A newer tag, newer than `candidate_tag`, that waits out its minimum age.
#[derive(Serialize)]
struct JsonTagCooldown<'a> {
    tag: &'a str,
    #[serde(flatten)]
    cooldown: JsonCooldown,
}

impl JsonCooldown {
    fn of(c: &crate::core::controls::Cooldown) -> JsonCooldown {
        JsonCooldown {
            available_at: crate::core::time::format_rfc3339(c.available_at),
            age_source: c.source.as_str(),
            min_age_seconds: c.min_age_seconds,
        }
    }
}

impl<'a> From<&'a Row> for JsonImage<'a> {
    fn from(r: &'a Row) -> JsonImage<'a> {
        JsonImage {
            reference: r.reference.to_string(),
            registry: &r.reference.registry,
            repository: &r.reference.repository,
            tag: r.reference.tag.as_deref(),
            status: r.status,
            image_id: &r.image_id,
            local_digest: r.local_digest.as_deref(),
            remote_digest: r.remote_digest.as_deref(),
            checked_at: r.checked_at.as_deref(),
            error: r.error.as_deref(),
            check_failed_at: r.stale.as_deref(),
            created: crate::core::time::format_rfc3339(r.created),
            size: r.size,
            held: r.held,
            rolled_back: r.rolled_back().map(|s| JsonRolledBack {
                digest: s.digest.as_deref(),
                at: &s.at,
                reason: s.rolled_back().unwrap_or_default(),
            }),
            current_version: r.version.current.as_deref(),
            candidate_version: r.candidate_version(),
            candidate_tag: r.version.candidate.as_ref().map(|c| c.tag.as_str()),
            update_level: r.update_level(),
            newest_tag: r.version.newest.as_ref().map(|c| c.tag.as_str()),
            cooldown: r.cooldown.as_ref().map(JsonCooldown::of),
            tag_cooldown: r
                .version
                .tag_cooldown
                .as_ref()
                .map(|(c, wait)| JsonTagCooldown { tag: &c.tag, cooldown: JsonCooldown::of(wait) }),
            skipped: r.skipped.as_ref(),
            release_notes: r.version.release_notes.as_deref(),
            deferred: r.deferred.as_deref(),
        }
    }
}

/// The newest newer tag at each level, like `16.4 (minor), 17.0 (major)`;
/// those the policy does not allow end with `beyond policy`.
fn newer_cell(r: &Row, now: i64) -> String {
    // A newer tag still in its cooldown says when it comes:
    // `1.3 (minor, available in 2 days)`.
    let waiting = r.version.tag_cooldown.as_ref();
    let when = |tag: &str| {
        waiting
            .filter(|(c, _)| c.tag == tag)
            .map(|(_, wait)| {
                format!(", available {}", crate::core::controls::in_words(wait.available_at - now))
            })
            .unwrap_or_default()
    };
    let mut within: Vec<String> = r
        .version
        .by_level
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(c, _)| format!("{} ({}{})", c.tag, c.level, when(&c.tag)))
        .collect();
    if let Some((c, _)) = waiting.filter(|(c, _)| !r.version.by_level.iter().any(|(b, _)| b.tag == c.tag)) {
        within.insert(0, format!("{} ({}{})", c.tag, c.level, when(&c.tag)));
    }
    let beyond: Vec<String> = r
        .version
        .by_level
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(c, _)| format!("{} ({})", c.tag, c.level))
        .collect();
    match (within.is_empty(), beyond.is_empty()) {
        (true, true) => "-".to_string(),
        (false, true) => within.join(", "),
        (true, false) => format!("{} beyond policy", beyond.join(", ")),
        (false, false) => format!("{}, {} beyond policy", within.join(", "), beyond.join(", ")),
    }
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The apt summary after an update: `3 images can be upgraded. Run …`.
pub fn summary_lines(
    upgradable: usize,
    failed: usize,
    checked: usize,
    kept_back: &[(String, usize)],
) -> Vec<String> {
    let mut lines = Vec::new();
    if checked == 0 && failed == 0 {
        lines.push("No images to check.".to_string());
        return lines;
    }
    // Like apt, a tag with a newer image that is held or skipped is not
    // "up to date": it is kept back, and the summary says why.
    let kept: usize = kept_back.iter().map(|(_, n)| n).sum();
    let why = kept_back.iter().map(|(reason, n)| format!("{n} {reason}")).collect::<Vec<_>>().join(", ");
    lines.push(match (upgradable, failed, kept) {
        (0, 0, 0) => "All images are up to date.".to_string(),
        (0, f, 0) if f >= checked => String::new(),
        (0, _, 0) => "All images that could be checked are up to date.".to_string(),
        (0, _, 1) => format!("No image can be upgraded now: 1 is kept back ({why}). Run 'freshen list --upgradable' to see it."),
        (0, _, k) => format!("No image can be upgraded now: {k} are kept back ({why}). Run 'freshen list --upgradable' to see them."),
        (1, _, _) => "1 image can be upgraded. Run 'freshen list --upgradable' to see it.".to_string(),
        (n, _, _) => format!("{n} images can be upgraded. Run 'freshen list --upgradable' to see them."),
    });
    match (upgradable, kept) {
        (0, _) | (_, 0) => {}
        (_, 1) => lines.push(format!("1 more is kept back ({why}).")),
        (_, k) => lines.push(format!("{k} more are kept back ({why}).")),
    }
    lines.retain(|l| !l.is_empty());
    match failed {
        0 => {}
        1 => lines.push("1 image could not be checked. Run 'freshen list' to see why.".to_string()),
        n => lines.push(format!("{n} images could not be checked. Run 'freshen list' to see why.")),
    }
    lines
}

#[derive(Debug, Clone, Copy)]
pub struct OutputSettings {
    pub quiet: bool,
    pub verbose: bool,
    pub color: bool,
    /// The width tables fit (`COLUMNS`, else the terminal's); None: as
    /// wide as they take.
    pub width: Option<usize>,
}

/// apt's `Do you want to continue? [Y/n]`. `--yes` answers it. Like
/// apt-get, the answer is one line of standard input whether or not it is a
/// terminal (`echo y | freshen upgrade`); end of input is no answer, and
/// without a terminal that stops with the way to go ahead rather than guess.
pub fn confirm(yes: bool, what: &str) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    let terminal = std::io::stdin().is_terminal();
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "Do you want to continue? [Y/n] ");
    let _ = out.flush();
    drop(out);
    let mut answer = String::new();
    // End of input (Ctrl-D, a closed terminal, an empty pipe) or an
    // unreadable answer is no answer: like apt, abort. Only an empty line
    // takes the default.
    let read = std::io::stdin().lock().read_line(&mut answer);
    if !matches!(read, Ok(n) if n > 0) {
        let _ = writeln!(std::io::stdout());
        if !terminal {
            return Err(Error::Usage(format!(
                "there is no terminal to ask whether to {what} and standard input gave no answer: \
                 run again with --yes (or with the answer on standard input) to go ahead, \
                 or --dry-run to only see the plan"
            )));
        }
        return Ok(false);
    }
    if !terminal {
        // A terminal echoed what was typed; a pipe did not, so say it.
        let _ = writeln!(std::io::stdout(), "{}", answer.trim_end());
    }
    Ok(accepts(&answer))
}

/// Whether a line typed at `[Y/n]` means yes: an empty line, `y` or `yes`.
pub fn accepts(line: &str) -> bool {
    let a = line.trim().to_ascii_lowercase();
    a.is_empty() || a == "y" || a == "yes"
}

/// `1 image`, `2 images`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod prompt_tests {
    #[test]
    fn only_an_empty_line_or_yes_accepts() {
        for yes in ["\n", "y\n", "YES\n", "  \n"] {
            assert!(super::accepts(yes), "{yes:?}");
        }
        for no in ["n\n", "no\n", "q\n", "ja\n"] {
            assert!(!super::accepts(no), "{no:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_summaries() {
        assert_eq!(summary_lines(0, 0, 5, &[]), vec!["All images are up to date."]);
        assert_eq!(
            summary_lines(1, 0, 5, &[]),
            vec!["1 image can be upgraded. Run 'freshen list --upgradable' to see it."]
        );
        assert_eq!(
            summary_lines(3, 2, 9, &[]),
            vec![
                "3 images can be upgraded. Run 'freshen list --upgradable' to see them.",
                "2 images could not be checked. Run 'freshen list' to see why."
            ]
        );
        assert_eq!(
            summary_lines(0, 1, 1, &[]),
            vec!["1 image could not be checked. Run 'freshen list' to see why."]
        );
        assert_eq!(summary_lines(0, 1, 3, &[])[0], "All images that could be checked are up to date.");
        assert_eq!(summary_lines(0, 0, 0, &[]), vec!["No images to check."]);
    }

    #[test]
    fn what_is_kept_back_is_not_up_to_date() {
        let kept = [("held".to_string(), 1), ("failed, rolled back".to_string(), 1)];
        assert_eq!(
            summary_lines(0, 0, 5, &kept),
            vec![
                "No image can be upgraded now: 2 are kept back (1 held, 1 failed, rolled back). \
                 Run 'freshen list --upgradable' to see them."
            ]
        );
        assert_eq!(
            summary_lines(0, 1, 5, &kept[..1]),
            vec![
                "No image can be upgraded now: 1 is kept back (1 held). Run 'freshen list --upgradable' to see it.",
                "1 image could not be checked. Run 'freshen list' to see why."
            ]
        );
        assert_eq!(
            summary_lines(2, 0, 5, &kept),
            vec![
                "2 images can be upgraded. Run 'freshen list --upgradable' to see them.",
                "2 more are kept back (1 held, 1 failed, rolled back)."
            ]
        );
    }

    #[test]
    fn ages() {
        assert_eq!(age(5), "just now");
        assert_eq!(age(60), "1 minute ago");
        assert_eq!(age(7200), "2 hours ago");
        assert_eq!(age(3 * 86_400), "3 days ago");
        assert_eq!(age(21 * 86_400), "3 weeks ago");
        assert_eq!(age(90 * 86_400), "3 months ago");
        assert_eq!(age(800 * 86_400), "2 years ago");
        assert_eq!(age(-5), "just now");
        assert_eq!(crate::core::time::format_rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
    }
}
