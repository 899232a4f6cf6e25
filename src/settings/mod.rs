//! Flags, environment and the config file, resolved into one `Settings`
//! value in one place. Commands never read the environment themselves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::{CheckOptions, ColorChoice, GlobalArgs, NotifyOptions};
use crate::core::policy::ImagePolicy;
use crate::core::reference::{Pattern, Reference};
use crate::core::unattended::Policy;
use crate::core::versions::{Level, TagRules};
use crate::error::{Error, Result};
use crate::notify::{Target, TargetConfig};
use crate::output::OutputSettings;
use crate::registry::RegistrySettings;

pub const DEFAULT_CONCURRENCY: usize = 64;
pub const DEFAULT_TIMEOUT_SECS: f64 = 20.0;
pub const DEFAULT_RETRIES: u32 = 3;
/// How long a repository's tag listing is reused before it is asked for again.
pub const DEFAULT_TAG_CACHE_TTL_SECS: u64 = 6 * 3600;

/// The config file, as written by the user. Unknown keys are errors so a
/// typo never silently disables a setting.
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
    /// The sections above, validated (with the line of any mistake) by
    /// `parse_config`.
    /// Seconds a repository's tag listing is reused (0: list every time).
    pub tag_cache_ttl: Option<u64>,
    /// Per-image version policy, keyed by image pattern.
    #[serde(default)]
    pub images: BTreeMap<String, ImageSection>,
    #[serde(skip)]
    pub checked: Checked,
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
    #[serde(default)]
    pub allowed: Vec<toml::Spanned<String>>,
}

/// The parts of the config file that need more than a type check.
#[derive(Debug, Default, Clone)]
pub struct Checked {
    pub notify: Vec<Target>,
    pub renotify_after: Option<Duration>,
    pub unattended: Option<Policy>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub state_dir: PathBuf,
    /// The daemon: `--host`, else `$DOCKER_HOST`; None for the engine's
    /// default socket.
    pub docker_host: Option<String>,
    /// The `FRESHEN_*` variables of this run that change what freshen does,
    /// besides the state directory and config file (which `schedule`
    /// passes as flags): a scheduled run gets them too.
    pub behaviour_env: Vec<(&'static str, String)>,
    pub registry: RegistrySettings,
    pub output: OutputSettings,
    pub exclude: Vec<Pattern>,
    /// `[images."…"]` sections, most specific first.
    pub images: Vec<(Pattern, ImageSection)>,
    pub tag_cache_ttl: Duration,
    /// The config file in effect (it need not exist), for messages and for
    /// the units `schedule` writes.
    pub config_path: Option<PathBuf>,
    /// Notification targets, in the order of the config file.
    pub notify: Vec<Target>,
    /// `--renotify-after`, else `renotify_after` from the config file.
    pub renotify_after: Option<Duration>,
    /// The `[unattended]` section, if there is one.
    pub unattended: Option<Policy>,
    /// From the config file; flags beat it (see [`Settings::retire`]).
    keep: Option<usize>,
    older_than: Option<String>,
    /// The global `min_age` of the config file, in seconds.
    min_age: u64,
    /// `--min-age` of `update`, `check` or `upgrade`, in seconds.
    pub min_age_flag: Option<u64>,
}

/// What upgrade and autoremove may retire, flags merged over the config.
#[derive(Debug, Clone)]
pub struct RetireSettings {
    pub keep: usize,
    /// Seconds.
    pub older_than: Option<i64>,
    pub exclude: Vec<Pattern>,
}

impl Settings {
    pub fn resolve(global: &GlobalArgs, check: Option<&CheckOptions>) -> Result<Settings> {
        // `--config FILE` must exist; FRESHEN_CONFIG and the default path
        // may be absent (packagers and tests point at files not written yet).
        if let Some(p) = &global.config {
            if !p.exists() {
                return Err(Error::CommandLine(format!("config file {} does not exist", p.display())));
            }
        }
        let config_path = match &global.config {
            Some(p) => Some(p.clone()),
            None => env_path("FRESHEN_CONFIG").or_else(default_config_path),
        };
        let config = match &config_path {
            Some(p) => load_config(p, global.config.is_some())?,
            None => ConfigFile::default(),
        };
        let mut settings = Settings::from_parts(global, check, config)?;
        settings.config_path = config_path;
        Ok(settings)
    }

    /// `upgrade --min-age`.
    pub fn with_min_age(mut self, text: Option<&str>) -> Result<Settings> {
        if let Some(text) = text {
            self.min_age_flag =
                Some(parse_min_age(text).map_err(|e| Error::Usage(format!("--min-age: {e}")))?);
        }
        Ok(self)
    }

    /// The minimum age `update` applies to a tag: `--min-age`, else the
    /// image's `min_age`, else the global one.
    pub fn min_age_for(&self, reference: &Reference) -> u64 {
        self.min_age_flag.unwrap_or_else(|| self.image_policy(reference).min_age)
    }

    /// Adds the flags of `update`/`check` that concern notifications.
    pub fn with_notify_options(mut self, opts: &NotifyOptions) -> Result<Settings> {
        if let Some(text) = &opts.renotify_after {
            let d = crate::core::time::positive_duration(text)
                .map_err(|e| Error::CommandLine(format!("--renotify-after: {e}")))?;
            self.renotify_after = Some(d);
        }
        Ok(self)
    }

    fn from_parts(global: &GlobalArgs, check: Option<&CheckOptions>, config: ConfigFile) -> Result<Settings> {
        let state_dir = match &global.state_dir {
            Some(dir) => dir.clone(),
            None => default_state_dir()?,
        };
        if state_dir.exists() && !state_dir.is_dir() {
            return Err(Error::StateDirIsFile(state_dir));
        }
        let concurrency =
            check.and_then(|c| c.concurrency).or(config.concurrency).unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 || concurrency > 1024 {
            return Err(Error::CommandLine(format!(
                "concurrency must be between 1 and 1024, not {concurrency}"
            )));
        }
        let timeout = check.and_then(|c| c.timeout).or(config.timeout).unwrap_or(DEFAULT_TIMEOUT_SECS);
        if !(timeout.is_finite() && (1.0..=3600.0).contains(&timeout)) {
            return Err(Error::CommandLine(format!(
                "timeout must be a number of seconds between 1 and 3600, not {timeout}"
            )));
        }
        let retries = check.and_then(|c| c.retries).or(config.retries).unwrap_or(DEFAULT_RETRIES);
        if retries > 10 {
            return Err(Error::CommandLine(format!("retries must be at most 10, not {retries}")));
        }
        let mut insecure = config.insecure_registries;
        insecure.extend(global.insecure_registries.iter().cloned());
        if let Ok(list) = std::env::var("FRESHEN_INSECURE_REGISTRIES") {
            insecure.extend(list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from));
        }
        let exclude = config
            .exclude
            .iter()
            .map(|p| Pattern::new(p).map_err(|e| Error::Usage(format!("bad exclude pattern '{p}': {e}"))))
            .collect::<Result<Vec<_>>>()?;
        let images = image_sections(&config.images);
        let docker_config_dir = match std::env::var_os("DOCKER_CONFIG") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => home_dir().map(|h| h.join(".docker")).unwrap_or_else(|| PathBuf::from(".docker")),
        };
        let mut behaviour_env = Vec::new();
        if let Some(list) = std::env::var("FRESHEN_INSECURE_REGISTRIES").ok().filter(|l| !l.trim().is_empty())
        {
            behaviour_env.push(("FRESHEN_INSECURE_REGISTRIES", list));
        }
        for name in ["FRESHEN_CERTS_DIR", "FRESHEN_DAEMON_JSON"] {
            if let Some(path) = env_path(name) {
                behaviour_env.push((name, absolute(&path).display().to_string()));
            }
        }
        let certs_dir = env_path("FRESHEN_CERTS_DIR").unwrap_or_else(|| "/etc/docker/certs.d".into());
        let daemon_json = env_path("FRESHEN_DAEMON_JSON").unwrap_or_else(|| "/etc/docker/daemon.json".into());
        let docker_host = global
            .docker_host
            .clone()
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()));
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::IsTerminal::is_terminal(&std::io::stdout())
            }
        };
        Ok(Settings {
            state_dir,
            docker_host,
            behaviour_env,
            registry: RegistrySettings {
                insecure,
                concurrency,
                timeout: Duration::from_secs_f64(timeout),
                retries,
                docker_config_dir,
                certs_dir,
                daemon_json,
                verbose: global.verbose,
            },
            output: OutputSettings {
                quiet: global.quiet,
                verbose: global.verbose,
                color,
                width: table_width(),
            },
            exclude,
            keep: config.keep,
            min_age_flag: match check.and_then(|c| c.min_age.as_deref()) {
                Some(text) => Some(parse_min_age(text).map_err(|e| Error::Usage(format!("--min-age: {e}")))?),
                None => None,
            },
            min_age: match &config.min_age {
                Some(text) => parse_min_age(text).map_err(Error::Usage)?,
                None => 0,
            },
            older_than: config.older_than,
            config_path: None,
            notify: config.checked.notify,
            renotify_after: config.checked.renotify_after,
            unattended: config.checked.unattended,
            images,
            tag_cache_ttl: Duration::from_secs(config.tag_cache_ttl.unwrap_or(DEFAULT_TAG_CACHE_TTL_SECS)),
        })
    }

    /// The retirement rules: `--keep`, `--older-than` and `--exclude` beat
    /// (or, for exclude, add to) the config file.
    pub fn retire(
        &self,
        keep: Option<usize>,
        older_than: Option<&str>,
        exclude: &[String],
    ) -> Result<RetireSettings> {
        // A bad value on the command line exits 2; one from the config file 1.
        let from_flag = older_than.is_some();
        let older_than = match older_than.or(self.older_than.as_deref()) {
            Some(d) => Some(crate::core::time::duration_secs(d).map_err(|e| {
                if from_flag {
                    Error::CommandLine(e)
                } else {
                    Error::Usage(e)
                }
            })?),
            None => None,
        };
        let mut patterns = self.exclude.clone();
        for p in exclude {
            patterns.push(
                Pattern::new(p).map_err(|e| Error::CommandLine(format!("bad exclude pattern '{p}': {e}")))?,
            );
        }
        Ok(RetireSettings { keep: keep.or(self.keep).unwrap_or(0), older_than, exclude: patterns })
    }

    /// The policy for an image: the most specific matching
    /// `[images."PATTERN"]` section (the pattern with the most characters
    /// that are not `*` or `?`; on a tie, the one that sorts first), else
    /// the default (every level, every tag, not held).
    /// Whether an upgrade may recreate the containers of this tag: not
    /// when its `[images."…"]` section says `recreate = false`. The section
    /// that names it says so, as in the message.
    pub fn recreate_off(&self, reference: &Reference) -> Option<String> {
        self.images
            .iter()
            .find(|(p, s)| s.recreate.is_some() && p.matches(reference))
            .filter(|(_, s)| s.recreate == Some(false))
            .map(|(p, _)| p.to_string())
    }

    /// The patterns of the `[images."…"]` sections with `hold = true`.
    pub fn held_sections(&self) -> Vec<String> {
        self.images.iter().filter(|(_, s)| s.hold).map(|(p, _)| p.to_string()).collect()
    }

    pub fn image_policy(&self, reference: &Reference) -> ImagePolicy {
        match self.images.iter().find(|(p, _)| p.matches(reference)) {
            None => ImagePolicy { min_age: self.min_age, ..ImagePolicy::default() },
            Some((pattern, section)) => ImagePolicy {
                rules: TagRules {
                    max_level: section.policy.unwrap_or(Level::Major),
                    include: section.include.clone(),
                    exclude: section.exclude.clone(),
                },
                hold: section.hold,
                section: Some(pattern.to_string()),
                min_age: section
                    .min_age
                    .as_deref()
                    .and_then(|t| parse_min_age(t).ok())
                    .unwrap_or(self.min_age),
                changelog: section.changelog.clone(),
            },
        }
    }
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

fn specificity(pattern: &str) -> usize {
    pattern.chars().filter(|c| *c != '*' && *c != '?').count()
}

/// The image sections in the order `image_policy` tries them.
fn image_sections(config: &BTreeMap<String, ImageSection>) -> Vec<(Pattern, ImageSection)> {
    let mut out: Vec<(Pattern, ImageSection)> =
        config.iter().filter_map(|(k, v)| Pattern::new(k).ok().map(|p| (p, v.clone()))).collect();
    // Stable sort: among equally specific patterns the map's order (sorted) stays.
    out.sort_by_key(|(p, _)| std::cmp::Reverse(specificity(&p.to_string())));
    out
}

/// `path` made absolute against the current directory (as it is now, for a
/// run that will start elsewhere).
fn absolute(path: &Path) -> PathBuf {
    match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn home_dir() -> Option<PathBuf> {
    env_path("HOME")
}

fn default_state_dir() -> Result<PathBuf> {
    if let Some(dir) = env_path("XDG_STATE_HOME") {
        return Ok(dir.join("freshen"));
    }
    match home_dir() {
        Some(home) => Ok(home.join(".local/state/freshen")),
        None => Err(Error::Usage(
            "cannot tell where to keep state: set HOME, XDG_STATE_HOME or FRESHEN_STATE_DIR".into(),
        )),
    }
}

/// The width `list` fits its table to: `COLUMNS` when set, else the
/// terminal's when stdout is one, else none (piped output is not cut).
fn table_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()) {
        if n > 0 {
            return Some(n);
        }
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return None;
    }
    terminal_size::terminal_size().map(|(terminal_size::Width(w), _)| w as usize).filter(|&w| w > 0)
}

fn default_config_path() -> Option<PathBuf> {
    env_path("XDG_CONFIG_HOME")
        .or_else(|| home_dir().map(|h| h.join(".config")))
        .map(|d| d.join("freshen/config.toml"))
}

/// Reads the config file. A missing default file is fine; a missing file the
/// user named explicitly is fine too (tests and packagers point at paths
/// that may not exist yet), but an unreadable or invalid one is an error.
pub fn load_config(path: &Path, _explicit: bool) -> Result<ConfigFile> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(e) => return Err(Error::io("read config file", path, e)),
    };
    parse_config(path, &text)
}

pub fn parse_config(path: &Path, text: &str) -> Result<ConfigFile> {
    let mut config: ConfigFile = toml::from_str(text)
        .map_err(|e| Error::Config { path: path.to_path_buf(), detail: describe_toml_error(text, &e) })?;
    let at = |span: std::ops::Range<usize>, key: &str, msg: String| Error::Config {
        path: path.to_path_buf(),
        detail: format!("line {}, key '{key}': {msg}", line_of(text, span.start)),
    };
    let mut targets = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for (i, spanned) in std::mem::take(&mut config.notify).into_iter().enumerate() {
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
    config.checked.notify = targets;
    if let Some(r) = config.renotify_after.take() {
        let span = r.span();
        let d =
            crate::core::time::positive_duration(r.get_ref()).map_err(|e| at(span, "renotify_after", e))?;
        config.checked.renotify_after = Some(d);
    }
    if let Some(u) = config.unattended.take() {
        let u = u.into_inner();
        let allowed = u
            .allowed
            .into_iter()
            .map(|p| {
                let span = p.span();
                Pattern::new(p.get_ref())
                    .map_err(|e| at(span, "unattended.allowed", format!("'{}': {e}", p.get_ref())))
            })
            .collect::<Result<Vec<_>>>()?;
        config.checked.unattended = Some(Policy {
            upgrade: u.upgrade,
            retire: u.retire,
            recreate: u.recreate,
            wait: u.wait,
            allowed,
        });
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
        if let Err(e) = Pattern::new(key) {
            return Err(bad(key, format!("key 'images.\"{key}\"': not an image pattern ({e})")));
        }
        if let Some(text) = &section.min_age {
            if let Err(e) = parse_min_age(text) {
                return Err(bad(key, format!("key 'images.\"{key}\".min_age': {e}")));
            }
        }
        if let Some(t) = &section.changelog {
            if !(t.starts_with("https://") || t.starts_with("http://")) {
                return Err(bad(
                    key,
                    format!(
                        "key 'images.\"{key}\".changelog': '{t}' is not an http:// or https:// URL template \
                         (like \"https://example.org/changes/{{version}}\")"
                    ),
                ));
            }
        }
        for (name, list) in [("include", &section.include), ("exclude", &section.exclude)] {
            if let Some(p) = list.iter().find(|p| p.is_empty() || p.chars().any(char::is_whitespace)) {
                return Err(bad(
                    key,
                    format!(
                        "key 'images.\"{key}\".{name}': '{p}' is not a tag pattern (use globs like \"16.*\")"
                    ),
                ));
            }
        }
    }
    Ok(config)
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

/// One line: where the problem is (line and key) and what it is.
pub fn describe_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
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
    match key {
        Some(key) => format!("line {line_no}, key '{key}': {message}"),
        None => format!("line {line_no}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_line_and_key() {
        let p = Path::new("/etc/freshen.toml");
        let e = parse_config(p, "retries = 2\nconcurrency = \"many\"\n").unwrap_err().to_string();
        assert!(e.starts_with("config file /etc/freshen.toml: line 2, key 'concurrency': "), "{e}");
        let e = parse_config(p, "concurrencyy = 3\n").unwrap_err().to_string();
        assert!(e.contains("line 1, key 'concurrencyy'") && e.contains("unknown field"), "{e}");
        let e = parse_config(p, "exclude = [\n").unwrap_err().to_string();
        assert!(e.contains("line "), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn notify_and_unattended_errors_point_at_the_key() {
        let p = Path::new("/etc/freshen.toml");
        let text = "retries = 2\n\n[[notify]]\nkind = \"webhook\"\nurl = \"https://a.example/\"\n\n\
                    [[notify]]\nkind = \"exec\"\ncommand = []\n";
        assert_eq!(
            parse_config(p, text).unwrap_err().to_string(),
            "config file /etc/freshen.toml: line 9, key 'notify.command': an exec target needs a command: \
             [\"program\", \"arg\", …] (in [[notify]] number 2)"
        );
        let e = parse_config(p, "renotify_after = \"soon\"\n").unwrap_err().to_string();
        assert!(
            e.starts_with("config file /etc/freshen.toml: line 1, key 'renotify_after': 'soon' is not"),
            "{e}"
        );
        let e = parse_config(p, "[unattended]\nupgrade = true\nallowed = [\"ok\", \"\"]\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "config file /etc/freshen.toml: line 3, key 'unattended.allowed': '': empty pattern");
        let e = parse_config(p, "[unattended]\nupgrade = \"yes\"\n").unwrap_err().to_string();
        assert!(e.contains("line 2, key 'upgrade'"), "{e}");

        let c = parse_config(
            p,
            "renotify_after = \"1d\"\n[unattended]\nupgrade = true\nallowed = [\"nginx\"]\n\
             [[notify]]\nkind = \"ntfy\"\nurl = \"https://ntfy.sh/x\"\n",
        )
        .unwrap();
        assert_eq!(c.checked.renotify_after, Some(Duration::from_secs(86_400)));
        assert_eq!(c.checked.notify.len(), 1);
        let u = c.checked.unattended.unwrap();
        assert!(u.upgrade && !u.retire && u.allowed.len() == 1);
    }

    #[test]
    fn config_parses() {
        let c = parse_config(Path::new("x"), "concurrency = 8\ntimeout = 2.5\nexclude = [\"*/test/*\"]\n")
            .unwrap();
        assert_eq!(c.concurrency, Some(8));
        assert_eq!(c.timeout, Some(2.5));
        assert_eq!(c.exclude, vec!["*/test/*"]);
        let c = parse_config(Path::new("x"), "keep = 2\nolder_than = \"7d\"\n").unwrap();
        assert_eq!((c.keep, c.older_than.as_deref()), (Some(2), Some("7d")));
    }

    fn settings_with(text: &str) -> Settings {
        let config = parse_config(Path::new("c.toml"), text).unwrap();
        let global = GlobalArgs {
            state_dir: Some("/tmp/x".into()),
            config: None,
            docker_host: None,
            insecure_registries: vec![],
            quiet: false,
            verbose: false,
            color: ColorChoice::Never,
        };
        Settings::from_parts(&global, None, config).unwrap()
    }

    #[test]
    fn image_policies_most_specific_first() {
        let s = settings_with(
            "tag_cache_ttl = 60\n\
             [images.\"*\"]\npolicy = \"major\"\n\
             [images.\"postgres\"]\npolicy = \"minor\"\ninclude = [\"16.*\"]\nexclude = [\"*-rc*\"]\n\
             [images.\"ghcr.io/org/*\"]\nhold = true\npolicy = \"patch\"\n",
        );
        assert_eq!(s.tag_cache_ttl, Duration::from_secs(60));
        let r = |x: &str| Reference::parse(x).unwrap();
        let pg = s.image_policy(&r("postgres:16.2"));
        assert_eq!(pg.rules.max_level, Level::Minor);
        assert_eq!(pg.rules.include, vec!["16.*"]);
        assert_eq!(pg.rules.exclude, vec!["*-rc*"]);
        assert_eq!(pg.section.as_deref(), Some("postgres"));
        assert!(!pg.hold);
        let app = s.image_policy(&r("ghcr.io/org/app:1.2"));
        assert!(app.hold);
        assert_eq!(app.rules.max_level, Level::Patch);
        assert_eq!(s.image_policy(&r("redis:7")).section.as_deref(), Some("*"));
        let none = settings_with("").image_policy(&r("redis:7"));
        assert_eq!(none, ImagePolicy::default());
        assert_eq!(none.rules.max_level, Level::Major);
    }

    #[test]
    fn minimum_ages_and_changelog_templates() {
        let s = settings_with(
            "min_age = \"2d\"\n\
             [images.\"postgres\"]\nmin_age = \"12h\"\nchangelog = \"https://x.example/{version}\"\n\
             [images.\"redis\"]\nmin_age = \"0\"\n\
             [images.\"nginx\"]\npolicy = \"minor\"\n",
        );
        let r = |x: &str| Reference::parse(x).unwrap();
        let pg = s.image_policy(&r("postgres:16.2"));
        assert_eq!((pg.min_age, pg.changelog.as_deref()), (12 * 3600, Some("https://x.example/{version}")));
        assert_eq!(s.image_policy(&r("redis:7")).min_age, 0, "0 turns it off for the section");
        assert_eq!(s.image_policy(&r("nginx:1")).min_age, 2 * 86_400, "a section without one: the global");
        assert_eq!(s.image_policy(&r("alpine:3")).min_age, 2 * 86_400);
        assert_eq!(s.min_age_for(&r("postgres:16.2")), 12 * 3600);
        let flagged = s.clone().with_min_age(Some("1h")).unwrap();
        assert_eq!(flagged.min_age_for(&r("postgres:16.2")), 3600, "--min-age beats the config");
        assert!(s.with_min_age(Some("soon")).unwrap_err().to_string().contains("--min-age: 'soon'"));
        assert_eq!(parse_min_age("1d12h"), Ok(36 * 3600));
        let p = Path::new("/c.toml");
        let e = parse_config(p, "keep = 1\nmin_age = \"3 days\"\n").unwrap_err().to_string();
        assert!(
            e.starts_with("config file /c.toml: line 2, key 'min_age': '3 days' is not a duration"),
            "{e}"
        );
        let e = parse_config(p, "[images.\"pg\"]\nmin_age = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("key 'images.\"pg\".min_age'"), "{e}");
        let e =
            parse_config(p, "[images.\"pg\"]\nchangelog = \"ftp://x/{version}\"\n").unwrap_err().to_string();
        assert!(e.contains("key 'images.\"pg\".changelog': 'ftp://x/{version}' is not an http"), "{e}");
    }

    #[test]
    fn image_section_errors_name_line_and_key() {
        let p = Path::new("/c.toml");
        let e = parse_config(p, "[images.\"postgres\"]\npolicy = \"minorr\"\n").unwrap_err().to_string();
        assert!(e.starts_with("config file /c.toml: line 2, key 'policy': unknown variant"), "{e}");
        let e = parse_config(p, "[images.\"postgres\"]\nhold = true\npolcy = \"minor\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("config file /c.toml: line 3, key 'polcy': unknown field"), "{e}");
        let e = parse_config(p, "\n[images.\"a b\"]\nhold = true\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "config file /c.toml: line 2, key 'images.\"a b\"': not an image pattern (contains whitespace)"
        );
        let e = parse_config(p, "[images.\"x\"]\ninclude = [\"\"]\n").unwrap_err().to_string();
        assert!(
            e.starts_with("config file /c.toml: line 1, key 'images.\"x\".include': '' is not a tag pattern"),
            "{e}"
        );
    }
}
