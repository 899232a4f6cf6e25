//! The config file: its keys as written, read and checked with the line
//! and key of any mistake (`deny_unknown_fields`, spans for the sections
//! that need more than a type check).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::core::reference::Pattern;
use crate::core::unattended::Policy;
use crate::core::versions::Level;
use crate::error::{Error, Result};
use crate::notify::{Target, TargetConfig};

/// The config file, as written by the user. Unknown keys are errors so a
/// typo never silently disables a setting.
/// `[fleet]`: `hosts = ["deploy@edge1", "edge2"]`, as ssh reaches them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    #[serde(default)]
    pub hosts: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Requests in flight per registry.
    pub concurrency: Option<usize>,
    /// Seconds before one registry request is abandoned.
    pub timeout: Option<f64>,
    /// Retries after 429, 5xx or a network error.
    pub retries: Option<u32>,
    /// Extra registries that may be reached over plain HTTP.
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    /// Images freshen never checks or touches.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Previous versions kept per tag by upgrade and autoremove.
    pub keep: Option<usize>,
    /// autoremove spares versions replaced more recently than this (`7d`).
    pub older_than: Option<String>,
    /// A new image becomes an upgrade candidate only once it is this old
    /// (`3d`; `0` for at once, the default).
    pub min_age: Option<String>,
    /// Where `--notify` announces new updates: `[[notify]]` tables.
    #[serde(default)]
    pub notify: Vec<toml::Spanned<TargetConfig>>,
    /// Announce an update again after this long (`7d`); default never.
    pub renotify_after: Option<toml::Spanned<String>>,
    /// What `update --unattended` may do.
    pub unattended: Option<toml::Spanned<UnattendedConfig>>,
    /// Seconds a repository's tag listing is reused (0: list every time).
    pub tag_cache_ttl: Option<u64>,
    /// `[fleet]`: the hosts `freshen fleet` runs on.
    #[serde(default)]
    pub fleet: FleetConfig,
    /// `[cache]`: the image store's budget for `autoremove`.
    #[serde(default)]
    pub cache: CacheSection,
    /// Per-image version policy, keyed by image pattern.
    #[serde(default)]
    pub images: BTreeMap<String, ImageSection>,
    /// Whether `[images."…"]` hooks may run on the host (`hooks_on =
    /// "host"`): off unless set, so no section runs host commands by
    /// accident.
    #[serde(default)]
    pub host_hooks: bool,
    /// The timeout of a hook that sets none (`60`, `2m`).
    pub hook_timeout: Option<String>,
    /// `freshen serve`: where it listens, its tokens, whether it may act.
    pub serve: Option<ServeSection>,
    /// Home Assistant over MQTT, for `freshen serve`.
    pub mqtt: Option<MqttSection>,
    /// The sections that need more than a type check (notify,
    /// renotify_after, unattended), validated with the line of any mistake
    /// by `parse_config`.
    #[serde(skip)]
    pub validated: Validated,
}

/// `[images."PATTERN"]`: how far the tags of matching images may move.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImageSection {
    /// The highest level a newer tag may be: `digest` (never another tag),
    /// `patch`, `minor` or `major` (the default).
    pub policy: Option<Level>,
    /// Tag globs a candidate must match (any); all tags when empty.
    #[serde(default)]
    pub include: Vec<String>,
    /// Tag globs a candidate must not match.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Never upgrade or remove matching images.
    #[serde(default)]
    pub hold: bool,
    /// The minimum age of a new image of these images (beats the global
    /// `min_age`).
    pub min_age: Option<String>,
    /// The release-notes link, a URL template with `{version}`, `{tag}`
    /// and `{source}` (beats the link made from the source label).
    pub changelog: Option<String>,
    /// `false`: an upgrade leaves the containers of matching images on the
    /// version they run (pull and retag only).
    pub recreate: Option<bool>,
    /// Upgrade hooks for the containers of matching images (`sh -c`
    /// commands; a container's own `freshen.hook.*` labels beat them).
    pub pre_upgrade: Option<String>,
    pub post_upgrade: Option<String>,
    pub pre_rollback: Option<String>,
    pub post_rollback: Option<String>,
    /// Their timeout (`60`, `2m`).
    pub hook_timeout: Option<String>,
    /// `container` (the default) or `host` (needs the top-level
    /// `host_hooks = true`).
    pub hooks_on: Option<String>,
}

/// `[cache]` as written: checked when `autoremove` uses it, with the key
/// in the message.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    /// `SIZE` or `PERCENT` of the store's filesystem: the images' unique bytes.
    pub budget: Option<String>,
    /// `SIZE` or `PERCENT`: free space to leave on the store's filesystem.
    pub min_free: Option<String>,
    /// A duration: images unused for longer go.
    pub unused_for: Option<String>,
    /// A duration: images first seen or used more recently stay.
    pub min_age: Option<String>,
}

/// `[serve]` as written. Tokens may be given inline or read from a file
/// (`read_token_file`), never both.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    /// `ADDR:PORT` (`--listen` beats it).
    pub listen: Option<String>,
    pub read_token: Option<String>,
    pub read_token_file: Option<std::path::PathBuf>,
    pub apply_token: Option<String>,
    pub apply_token_file: Option<std::path::PathBuf>,
    /// Whether upgrade, skip, hold and unhold may be asked over HTTP or MQTT.
    #[serde(default)]
    pub actions: bool,
    /// How often the server runs an update itself (`1d`, `6h`; `0`: never).
    pub interval: Option<String>,
    /// The health gate of an upgrade the server runs, in seconds.
    pub wait: Option<u64>,
}

/// `[mqtt]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSection {
    /// `HOST:PORT` of the broker (plain MQTT; port 1883 when left out).
    pub broker: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<std::path::PathBuf>,
    /// Home Assistant's discovery prefix.
    pub discovery_prefix: Option<String>,
    /// The prefix of freshen's own topics.
    pub topic_prefix: Option<String>,
    /// Publish a command topic so Home Assistant shows an Install button
    /// (needs `[serve] actions = true`).
    #[serde(default)]
    pub install: bool,
}

/// `[unattended]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnattendedConfig {
    #[serde(default)]
    pub upgrade: bool,
    #[serde(default)]
    pub retire: bool,
    /// Recreate the containers of what it upgrades.
    #[serde(default)]
    pub recreate: bool,
    /// Their health gate, in seconds.
    pub wait: Option<u64>,
    /// Keep the image store under the `[cache]` budget.
    #[serde(default)]
    pub autoremove: bool,
    #[serde(default)]
    pub allowed: Vec<toml::Spanned<String>>,
}

/// The parts of the config file that need more than a type check.
#[derive(Debug, Default, Clone)]
pub struct Validated {
    pub notify: Vec<Target>,
    /// What is wrong with the `[[notify]]` targets, as the error message:
    /// only the commands that notify stop on it (see `Settings::notify_targets_ok`).
    pub notify_error: Option<String>,
    pub renotify_after: Option<Duration>,
    pub unattended: Option<Policy>,
}

/// A minimum age: a duration (`3d`, `12h`, `1d12h`) or `0` for none, in
/// seconds.
pub fn parse_min_age(text: &str) -> std::result::Result<u64, String> {
    if text.trim() == "0" {
        return Ok(0);
    }
    match crate::core::time::duration_secs(text) {
        Ok(secs) if secs >= 0 => Ok(secs as u64),
        _ => Err(format!("'{text}' is not a duration: use a number and a unit, like 3d, 12h or 1d12h, or 0")),
    }
}

/// Reads the config file. A missing default file is fine; a missing file the
/// user named explicitly is fine too (tests and packagers point at paths
/// that may not exist yet), but an unreadable or invalid one is an error.
pub fn load_config(path: &Path) -> Result<ConfigFile> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(e) => return Err(Error::io("read config file", path, e)),
    };
    parse_config(path, &text)
}

/// Parses and checks the config file's text: each mistake names the line
/// and the key.
pub fn parse_config(path: &Path, text: &str) -> Result<ConfigFile> {
    let mut config: ConfigFile = toml::from_str(text)
        .map_err(|e| Error::Config { path: path.to_path_buf(), detail: describe_toml_error(text, &e) })?;
    let at = |span: std::ops::Range<usize>, key: &str, msg: String| Error::Config {
        path: path.to_path_buf(),
        detail: format!("line {}, key '{key}': {msg}", line_of(text, span.start)),
    };
    // A mistake in a target concerns the commands that notify; `motd`,
    // `hold` or `list` still work with it (they never send anything).
    match check_notify(std::mem::take(&mut config.notify), text, &at) {
        Ok(targets) => config.validated.notify = targets,
        Err(e) => config.validated.notify_error = Some(e.to_string()),
    }
    if let Some(r) = config.renotify_after.take() {
        let span = r.span();
        let d =
            crate::core::time::positive_duration(r.get_ref()).map_err(|e| at(span, "renotify_after", e))?;
        config.validated.renotify_after = Some(d);
    }
    if let Some(u) = config.unattended.take() {
        config.validated.unattended = Some(check_unattended(u.into_inner(), &at)?);
    }
    let bad = |needle: &str, detail: String| Error::Config {
        path: path.to_path_buf(),
        detail: match line_mentioning(text, needle) {
            Some(n) => format!("line {n}, {detail}"),
            None => detail,
        },
    };
    if let Some(text) = &config.min_age {
        if let Err(e) = parse_min_age(text) {
            return Err(bad("min_age", format!("key 'min_age': {e}")));
        }
    }
    for (key, section) in &config.images {
        check_image_section(key, section).map_err(|detail| bad(key, detail))?;
        if section.hooks_on.as_deref() == Some("host") && !config.host_hooks {
            return Err(bad(
                "hooks_on",
                format!(
                    "key 'images.\"{key}\".hooks_on': hooks on the host are off: set 'host_hooks = true' \
                     at the top of the config file to allow them"
                ),
            ));
        }
    }
    if let Some(t) = &config.hook_timeout {
        if let Err(e) = crate::core::hooks::parse_timeout(t) {
            return Err(bad("hook_timeout", format!("key 'hook_timeout': {e}")));
        }
    }
    Ok(config)
}

/// An error at a span of the text, for a key.
type At<'a> = dyn Fn(std::ops::Range<usize>, &str, String) -> Error + 'a;

/// The `[[notify]]` targets, validated, each with its own name.
fn check_notify(notify: Vec<toml::Spanned<TargetConfig>>, text: &str, at: &At) -> Result<Vec<Target>> {
    let mut targets = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for (i, spanned) in notify.into_iter().enumerate() {
        let span = spanned.span();
        let target = crate::notify::validate(spanned.into_inner(), i).map_err(|(key, msg)| {
            let first = key.split('.').next().unwrap_or(&key);
            at(
                key_span(text, &span, first),
                &format!("notify.{key}"),
                format!("{msg} (in [[notify]] number {})", i + 1),
            )
        })?;
        if !ids.insert(target.id.clone()) {
            return Err(at(
                span,
                "notify.name",
                format!("two [[notify]] targets are both called '{}': give each its own name", target.id),
            ));
        }
        targets.push(target);
    }
    Ok(targets)
}

/// `[unattended]`, its patterns parsed.
fn check_unattended(u: UnattendedConfig, at: &At) -> Result<Policy> {
    let allowed = u
        .allowed
        .into_iter()
        .map(|p| {
            let span = p.span();
            Pattern::new(p.get_ref())
                .map_err(|e| at(span, "unattended.allowed", format!("'{}': {e}", p.get_ref())))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Policy {
        upgrade: u.upgrade,
        retire: u.retire,
        recreate: u.recreate,
        wait: u.wait,
        autoremove: u.autoremove,
        allowed,
    })
}

/// One `[images."PATTERN"]` section: what is wrong with it, as the error
/// says it after the line.
fn check_image_section(key: &str, section: &ImageSection) -> std::result::Result<(), String> {
    if let Err(e) = Pattern::new(key) {
        return Err(format!("key 'images.\"{key}\"': not an image pattern ({e})"));
    }
    if let Some(text) = &section.min_age {
        if let Err(e) = parse_min_age(text) {
            return Err(format!("key 'images.\"{key}\".min_age': {e}"));
        }
    }
    if let Some(t) = &section.changelog {
        if !(t.starts_with("https://") || t.starts_with("http://")) {
            return Err(format!(
                "key 'images.\"{key}\".changelog': '{t}' is not an http:// or https:// URL template \
                 (like \"https://example.org/changes/{{version}}\")"
            ));
        }
    }
    if let Some(t) = &section.hook_timeout {
        if let Err(e) = crate::core::hooks::parse_timeout(t) {
            return Err(format!("key 'images.\"{key}\".hook_timeout': {e}"));
        }
    }
    if let Some(on) = section.hooks_on.as_deref().filter(|o| !matches!(*o, "container" | "host")) {
        return Err(format!("key 'images.\"{key}\".hooks_on': '{on}' is neither \"container\" nor \"host\""));
    }
    for (name, list) in [("include", &section.include), ("exclude", &section.exclude)] {
        if let Some(p) = list.iter().find(|p| p.is_empty() || p.chars().any(char::is_whitespace)) {
            return Err(format!(
                "key 'images.\"{key}\".{name}': '{p}' is not a tag pattern (use globs like \"16.*\")"
            ));
        }
    }
    Ok(())
}

/// Where `key` is set inside a table's span (the table itself if not there),
/// so an error points at the line to fix.
fn key_span(text: &str, table: &std::ops::Range<usize>, key: &str) -> std::ops::Range<usize> {
    let end = table.end.min(text.len());
    let start = table.start.min(end);
    let mut offset = start;
    for line in text[start..end].split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix(key).or_else(|| t.strip_prefix(&format!("\"{key}\""))) {
            if rest.trim_start().starts_with(['=', '.']) {
                return offset..offset + line.len();
            }
        }
        offset += line.len();
    }
    table.clone()
}

fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text[..offset].bytes().filter(|&b| b == b'\n').count() + 1
}

/// The first line mentioning `needle` as a quoted or bare key, 1-based.
fn line_mentioning(text: &str, needle: &str) -> Option<usize> {
    let quoted = format!("\"{needle}\"");
    text.lines()
        .position(|l| l.contains(&quoted))
        .or_else(|| text.lines().position(|l| l.contains(needle)))
        .map(|i| i + 1)
}

/// The keys of the top level: written after a `[[notify]]` or `[section]`
/// header, TOML puts them in that table instead.
const GLOBAL_KEYS: [&str; 11] = [
    "concurrency",
    "timeout",
    "retries",
    "insecure_registries",
    "exclude",
    "keep",
    "older_than",
    "min_age",
    "renotify_after",
    "tag_cache_ttl",
    "unattended",
];

/// One line: where the problem is (line and key) and what it is, in the
/// user's words rather than the parser's (`a whole number`, not `usize`).
pub fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = plain_words(&e.message().trim().replace('\n', " "));
    let Some(span) = e.span() else {
        return message;
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].bytes().filter(|&b| b == b'\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"'))
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    // A top-level key below a table header belongs to that table in TOML.
    let header = text.lines().take(line_no - 1).filter(|l| l.trim_start().starts_with('[')).last();
    if let (Some(key), Some(header)) = (key, header) {
        if message.starts_with("unknown field") && GLOBAL_KEYS.contains(&key) {
            return format!(
                "line {line_no}, key '{key}': belongs before the first table: below '{}' it is read as part \
                 of that table; move it to the top of the file",
                header.trim()
            );
        }
    }
    match key {
        Some(key) => format!("line {line_no}, key '{key}': {message}"),
        None => format!("line {line_no}: {message}"),
    }
}

/// serde's type names in the words of the config file.
fn plain_words(message: &str) -> String {
    let mut out = message.to_string();
    for (parser, plain) in [
        ("expected usize", "expected a whole number (0 or more)"),
        ("expected u64", "expected a whole number (0 or more)"),
        ("expected u32", "expected a whole number (0 or more)"),
        ("expected u16", "expected a whole number (0 or more)"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
    ] {
        out = out.replace(parser, plain);
    }
    out
}
