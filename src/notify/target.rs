//! A notification target as written (`[[notify]]`) and as validated: its
//! action, limits, name and headers (values read only when sending).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use sha2::Digest as _;

pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub(super) const DEFAULT_RETRIES: u32 = 2;
const MAX_RETRIES: u32 = 10;

/// One `[[notify]]` table as the user wrote it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub kind: Kind,
    /// A stable name for results and for the record of what was announced.
    pub name: Option<String>,
    /// webhook, ntfy: where to POST.
    pub url: Option<String>,
    /// exec: the program and its arguments (no shell).
    pub command: Option<Vec<String>>,
    /// webhook, ntfy: extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderConfig>,
    /// ntfy: the `Title` header (default `freshen on HOST`).
    pub title: Option<String>,
    /// Seconds per attempt (per run for exec).
    pub timeout: Option<f64>,
    /// webhook, ntfy: retries after a network error, 429 or 5xx.
    pub retries: Option<u32>,
    /// Send the last log lines of a rolled-back container (default true).
    pub logs: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Webhook,
    Ntfy,
    Exec,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Ntfy => "ntfy",
            Kind::Exec => "exec",
        }
    }
}

/// A header value: a literal (for harmless headers such as `Tags`), or a
/// secret read from an environment variable or a file when sending.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    deny_unknown_fields,
    expecting = "each header value must be a string, { env = \"VARIABLE\" } or { file = \"/absolute/path\" }"
)]
pub enum HeaderConfig {
    Literal(String),
    Env { env: String },
    File { file: PathBuf },
}

/// A validated target.
#[derive(Debug, Clone)]
pub struct Target {
    /// Stable key in `notified.json`: the `name`, else kind and a hash of
    /// the URL or command (never the URL itself, which may hold a token).
    pub id: String,
    /// How results name it: the `name`, else kind and URL host or program.
    pub label: String,
    pub action: Action,
    pub timeout: Duration,
    pub retries: u32,
    /// Whether rollback notices carry the container's last log lines.
    pub logs: bool,
}

#[derive(Debug, Clone)]
pub enum Action {
    Webhook { url: reqwest::Url, headers: Vec<Header> },
    Ntfy { url: reqwest::Url, headers: Vec<Header>, title: Option<String> },
    Exec { command: Vec<String> },
}

#[derive(Debug, Clone)]
pub struct Header {
    pub name: HeaderName,
    pub source: HeaderSource,
}

#[derive(Debug, Clone)]
pub enum HeaderSource {
    Literal(String),
    Env(String),
    File(PathBuf),
}

/// Turns one `[[notify]]` table into a target. Errors are `(key, message)`
/// so the caller can say which line of which file is wrong.
pub fn validate(c: TargetConfig, index: usize) -> Result<Target, (String, String)> {
    if let Some(name) = &c.name {
        if name.is_empty() || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) {
            return fail("name", format!("'{name}' must be letters, digits, '-', '_' or '.'"));
        }
    }
    let timeout = c.timeout.unwrap_or(DEFAULT_TIMEOUT.as_secs_f64());
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= 3600.0) {
        return fail("timeout", format!("must be a number of seconds between 0 and 3600, not {timeout}"));
    }
    let retries = c.retries.unwrap_or(DEFAULT_RETRIES);
    if retries > MAX_RETRIES {
        return fail("retries", format!("must be at most {MAX_RETRIES}, not {retries}"));
    }
    let needs_url = matches!(c.kind, Kind::Webhook | Kind::Ntfy);
    if !needs_url {
        for (key, set) in [("url", c.url.is_some()), ("headers", !c.headers.is_empty())] {
            if set {
                return fail(key, "is only for webhook and ntfy targets".into());
            }
        }
    }
    if c.kind != Kind::Ntfy && c.title.is_some() {
        return fail("title", "is only for ntfy targets".into());
    }
    if c.kind != Kind::Exec && c.command.is_some() {
        return fail("command", "is only for exec targets".into());
    }
    let kind = c.kind.as_str();
    let logs = c.logs.unwrap_or(true);
    let name = c.name.clone();
    let (action, identity, label_detail) = action(c)?;
    let (id, label) = match name {
        Some(name) => (name.clone(), name),
        None => {
            let hash = hex::encode(sha2::Sha256::digest(format!("{kind}\0{identity}").as_bytes()));
            (format!("{kind}-{}", &hash[..12]), format!("{kind} #{} ({label_detail})", index + 1))
        }
    };
    Ok(Target { id, label, action, timeout: Duration::from_secs_f64(timeout), retries, logs })
}

fn fail<T>(key: &str, msg: String) -> Result<T, (String, String)> {
    Err((key.to_string(), msg))
}

/// What the target does, what identifies it (the URL or the command, only
/// ever hashed) and what its label shows (the URL's host or the program).
fn action(c: TargetConfig) -> Result<(Action, String, String), (String, String)> {
    match c.kind {
        Kind::Webhook | Kind::Ntfy => {
            let Some(raw) = c.url else {
                return fail("kind", format!("a {} target needs a 'url'", c.kind.as_str()));
            };
            let url = match reqwest::Url::parse(&raw) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
                Ok(_) => return fail("url", "must be an http:// or https:// URL".into()),
                Err(e) => return fail("url", format!("is not a URL ({e})")),
            };
            let headers = headers(c.headers)?;
            let host = match url.port() {
                Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
                None => url.host_str().unwrap_or("").to_string(),
            };
            let action = if c.kind == Kind::Webhook {
                Action::Webhook { url, headers }
            } else {
                if let Some(t) = &c.title {
                    if t.chars().any(char::is_control) {
                        return fail("title", "must be one line".into());
                    }
                }
                Action::Ntfy { url, headers, title: c.title }
            };
            Ok((action, raw, host))
        }
        Kind::Exec => {
            let command = c.command.unwrap_or_default();
            let Some(program) = command.first().filter(|p| !p.is_empty()) else {
                return fail("command", "an exec target needs a command: [\"program\", \"arg\", …]".into());
            };
            let base = program.rsplit('/').next().unwrap_or(program).to_string();
            let identity = command.join("\0");
            Ok((Action::Exec { command }, identity, base))
        }
    }
}

fn headers(raw: BTreeMap<String, HeaderConfig>) -> Result<Vec<Header>, (String, String)> {
    raw.into_iter()
        .map(|(name, value)| {
            let key = format!("headers.{name}");
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| (key.clone(), "is not a valid HTTP header name".to_string()))?;
            let source = match value {
                HeaderConfig::Literal(v) => {
                    HeaderValue::from_str(&v)
                        .map_err(|_| (key.clone(), "is not a valid HTTP header value".to_string()))?;
                    HeaderSource::Literal(v)
                }
                HeaderConfig::Env { env } if !env.is_empty() => HeaderSource::Env(env),
                HeaderConfig::File { file } if file.is_absolute() => HeaderSource::File(file),
                HeaderConfig::Env { .. } => return Err((key, "env needs a variable name".into())),
                HeaderConfig::File { .. } => return Err((key, "file must be an absolute path".into())),
            };
            Ok(Header { name, source })
        })
        .collect()
}
