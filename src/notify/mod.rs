//! Notification targets: where freshen announces new updates. Three kinds,
//! configured as `[[notify]]` tables in the config file: a `webhook` gets the
//! JSON payload by POST, an `ntfy` target gets a title and a plain-text body
//! (ntfy, Gotify-like and chat webhooks), an `exec` target is a command that
//! reads the payload on stdin (sendmail and anything else). Header values
//! come from the environment or a file at send time and live in `Secret`,
//! so they never reach output, logs or the state.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use tokio::io::AsyncWriteExt;

use crate::core::reference::short_digest;
use crate::core::secret::Secret;
use crate::net::{self, backoff, Failure};

/// The version of the payload document; fields are only ever added.
pub const PAYLOAD_SCHEMA_VERSION: u32 = 1;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: u32 = 2;
const MAX_RETRIES: u32 = 10;
/// The first retry waits 0.5–0.75 s, doubling from there.
const NOTIFY_BACKOFF_MS: u64 = 250;
/// Enough of a command's stderr to explain its failure in one line.
const STDERR_KEEP: usize = 400;

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
    let fail = |key: &str, msg: String| Err((key.to_string(), msg));
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
    let (action, identity, label_detail) = match c.kind {
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
            (action, raw, host)
        }
        Kind::Exec => {
            let command = c.command.unwrap_or_default();
            let Some(program) = command.first().filter(|p| !p.is_empty()) else {
                return fail("command", "an exec target needs a command: [\"program\", \"arg\", …]".into());
            };
            let base = program.rsplit('/').next().unwrap_or(program).to_string();
            let identity = command.join("\0");
            (Action::Exec { command }, identity, base)
        }
    };
    let kind = c.kind.as_str();
    let (id, label) = match c.name {
        Some(name) => (name.clone(), name),
        None => {
            let hash = hex::encode(sha2::Sha256::digest(format!("{kind}\0{identity}").as_bytes()));
            (format!("{kind}-{}", &hash[..12]), format!("{kind} #{} ({label_detail})", index + 1))
        }
    };
    Ok(Target {
        id,
        label,
        action,
        timeout: Duration::from_secs_f64(timeout),
        retries,
        logs: c.logs.unwrap_or(true),
    })
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

/// What a target receives: the JSON document documented in README.md.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Payload {
    pub schema_version: u32,
    /// `updates`, or `test` for `freshen notify --test`.
    pub event: String,
    /// The host name of the machine whose images these are.
    pub host: String,
    /// When the message was made (RFC 3339).
    pub time: String,
    pub updates: Vec<Update>,
    /// `rollback` events: the versions an upgrade took back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollbacks: Vec<Rollback>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Update {
    /// Fully qualified: `docker.io/library/nginx:latest`.
    pub reference: String,
    /// As `docker images` shows it: `nginx:latest`.
    pub image: String,
    pub tag: Option<String>,
    /// The local image's digest in that repository (its id if it has none).
    pub old_digest: String,
    /// What the registry's tag points at now.
    pub new_digest: String,
    pub image_id: String,
    /// When the registry reported `new_digest`.
    pub checked_at: String,
    /// The local image's version (`org.opencontainers.image.version`, else
    /// the tag when it is a version), if known.
    pub old_version: Option<String>,
    /// The version label of the registry's new image for the tag, if any.
    pub new_version: Option<String>,
    /// A link to what changed in the new version (its release page on
    /// GitHub or GitLab, or the image's `changelog` template), if known.
    #[serde(default)]
    pub release_notes: Option<String>,
    /// True when this update was announced before and `--renotify-after`
    /// says to announce it again.
    pub repeat: bool,
}

/// One tag whose new version did not pass the health gate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Rollback {
    pub reference: String,
    pub image: String,
    /// The digest that was tried and taken back.
    pub digest: String,
    pub reason: String,
    pub containers: Vec<RolledBackContainer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RolledBackContainer {
    pub name: String,
    /// Its last few log lines (empty when the target has `logs = false`).
    pub logs: Vec<String>,
}

impl Payload {
    /// The same message without container log lines (a target's `logs = false`).
    pub fn without_logs(&self) -> Payload {
        let mut p = self.clone();
        for r in &mut p.rollbacks {
            for c in &mut r.containers {
                c.logs.clear();
            }
        }
        p
    }

    /// The one-line title for ntfy-style targets.
    pub fn title(&self) -> String {
        match (self.event.as_str(), self.updates.len()) {
            ("test", _) => format!("freshen on {}: test notification", self.host),
            ("rollback", _) => match self.rollbacks.len() {
                1 => format!("freshen on {}: 1 upgrade rolled back", self.host),
                n => format!("freshen on {}: {n} upgrades rolled back", self.host),
            },
            (_, 1) => format!("freshen on {}: 1 image update", self.host),
            (_, n) => format!("freshen on {}: {n} image updates", self.host),
        }
    }

    /// The plain-text body for ntfy-style targets: one line per update.
    pub fn text(&self) -> String {
        if self.event == "rollback" {
            let mut s = String::new();
            for r in &self.rollbacks {
                s.push_str(&format!(
                    "{}: the new version ({}) was rolled back: {}\n",
                    r.image,
                    short_digest(&r.digest),
                    r.reason
                ));
                for c in &r.containers {
                    for line in &c.logs {
                        s.push_str(&format!("  {}| {line}\n", c.name));
                    }
                }
            }
            return s;
        }
        if self.event == "test" {
            return format!(
                "This is a test notification from freshen on {}. Notifications reach this target.\n",
                self.host
            );
        }
        let mut s = String::new();
        for u in &self.updates {
            // Versions say more than digests, when both sides have one.
            let (old, new) = match (&u.old_version, &u.new_version) {
                (Some(o), Some(n)) if o != n => (o.as_str(), n.as_str()),
                _ => (short_digest(&u.old_digest), short_digest(&u.new_digest)),
            };
            s.push_str(&format!(
                "{} can be upgraded: {old} -> {new}{}\n",
                u.image,
                if u.repeat { " (reminder)" } else { "" }
            ));
            if let Some(link) = &u.release_notes {
                s.push_str(&format!("  release notes: {link}\n"));
            }
        }
        s
    }
}

/// The machine's name for payloads: the kernel's host name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "localhost".into())
}

/// Delivers one payload to one target. The error is one line and never
/// holds a header value.
pub async fn send(client: &reqwest::Client, target: &Target, payload: &Payload) -> Result<(), String> {
    let stripped;
    let payload = if target.logs {
        payload
    } else {
        stripped = payload.without_logs();
        &stripped
    };
    match &target.action {
        Action::Webhook { url, headers } => {
            let body = serde_json::to_vec(payload).map_err(|e| format!("cannot encode the payload: {e}"))?;
            post(client, target, url, headers, "application/json", body, None).await
        }
        Action::Ntfy { url, headers, title } => {
            let title = title.clone().unwrap_or_else(|| payload.title());
            let body = payload.text().into_bytes();
            post(client, target, url, headers, "text/plain; charset=utf-8", body, Some(title)).await
        }
        Action::Exec { command } => exec(target, command, payload).await,
    }
}

fn resolve(h: &Header) -> Result<Secret, String> {
    let name = h.name.as_str();
    match &h.source {
        HeaderSource::Literal(v) => Ok(Secret::new(v.clone())),
        HeaderSource::Env(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
            _ => Err(format!("header {name}: environment variable {var} is not set")),
        },
        HeaderSource::File(path) => match std::fs::read_to_string(path) {
            Ok(v) => Ok(Secret::new(v.trim_end_matches(['\r', '\n']))),
            Err(e) => Err(format!("header {name}: cannot read {}: {e}", path.display())),
        },
    }
}

async fn post(
    client: &reqwest::Client,
    target: &Target,
    url: &reqwest::Url,
    headers: &[Header],
    content_type: &str,
    body: Vec<u8>,
    title: Option<String>,
) -> Result<(), String> {
    let mut map = reqwest::header::HeaderMap::new();
    map.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).map_err(|e| e.to_string())?);
    if let Some(t) = title {
        // Header values must be visible ASCII; ntfy also reads RFC 2047, but
        // replacing is simpler and the body carries the details.
        let ascii: String =
            t.chars().map(|c| if c.is_ascii() && !c.is_control() { c } else { '?' }).collect();
        map.insert("title", HeaderValue::from_str(&ascii).map_err(|e| e.to_string())?);
    }
    for h in headers {
        let secret = resolve(h)?;
        let mut value = HeaderValue::from_str(secret.expose())
            .map_err(|_| format!("header {}: the value is not a valid HTTP header value", h.name))?;
        value.set_sensitive(true);
        map.insert(h.name.clone(), value);
    }
    let mut attempt = 0;
    loop {
        let result = client
            .post(url.clone())
            .headers(map.clone())
            .timeout(target.timeout)
            .body(body.clone())
            .send()
            .await;
        let (retryable, message) = match result {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) if resp.status().is_redirection() => {
                // Following would turn the POST into a GET or carry the
                // headers elsewhere; the user should configure the final URL.
                let s = resp.status();
                (
                    false,
                    format!(
                        "the server answered {s}; redirects are not followed: configure the URL it points to"
                    ),
                )
            }
            Ok(resp) => {
                let s = resp.status();
                let retryable = s.is_server_error() || s == reqwest::StatusCode::TOO_MANY_REQUESTS;
                let said = resp.text().await.unwrap_or_default();
                let said: String =
                    said.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
                if said.is_empty() {
                    (retryable, format!("the server answered {s}"))
                } else {
                    (retryable, format!("the server answered {s} ({said})"))
                }
            }
            Err(e) => (true, describe(&e)),
        };
        if !retryable || attempt >= target.retries {
            let tries =
                if attempt == 0 { String::new() } else { format!(" (after {} attempts)", attempt + 1) };
            return Err(format!("{message}{tries}"));
        }
        attempt += 1;
        tokio::time::sleep(backoff(attempt, NOTIFY_BACKOFF_MS)).await;
    }
}

/// A reqwest error as one line, without the URL (which may hold a token).
fn describe(e: &reqwest::Error) -> String {
    let what = match net::failure(e) {
        Failure::Timeout => "timed out",
        Failure::Connect => "cannot connect",
        Failure::Body | Failure::Other => "request failed",
    };
    match net::causes(e).pop() {
        Some(detail) if !detail.is_empty() => format!("{what}: {detail}"),
        _ => what.to_string(),
    }
}

async fn exec(target: &Target, command: &[String], payload: &Payload) -> Result<(), String> {
    let program = &command[0];
    let body = serde_json::to_vec_pretty(payload).map_err(|e| format!("cannot encode the payload: {e}"))?;
    let mut child = tokio::process::Command::new(program)
        .args(&command[1..])
        .env("FRESHEN_EVENT", &payload.event)
        .env("FRESHEN_UPDATES", payload.updates.len().to_string())
        .env("FRESHEN_TITLE", payload.title())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let mut stdin = child.stdin.take();
    let run = async {
        if let Some(mut s) = stdin.take() {
            // A command that does not read its input is not an error.
            let _ = s.write_all(&body).await;
            let _ = s.shutdown().await;
        }
        child.wait_with_output().await
    };
    let out = match tokio::time::timeout(target.timeout, run).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(format!("{program} failed: {e}")),
        Err(_) => return Err(format!("{program} did not finish within {:?}; killed it", target.timeout)),
    };
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let last: String = last.chars().take(STDERR_KEEP).collect();
    let status = match out.status.code() {
        Some(code) => format!("exited with status {code}"),
        None => "was killed by a signal".to_string(),
    };
    Err(if last.is_empty() { format!("{program} {status}") } else { format!("{program} {status}: {last}") })
}

/// The client for webhook and ntfy targets: TLS verified (reqwest's
/// defaults), redirects not followed, a short connect time.
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .user_agent(concat!("freshen/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot set up HTTP: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> TargetConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn targets_validate() {
        let t = validate(config("kind = \"webhook\"\nurl = \"https://hooks.example/x?token=s3cret\"\n"), 0)
            .unwrap();
        assert_eq!(t.label, "webhook #1 (hooks.example)");
        assert!(t.id.starts_with("webhook-") && !t.id.contains("s3cret"), "{}", t.id);
        assert_eq!(t.retries, DEFAULT_RETRIES);
        let t = validate(
            config("kind = \"exec\"\nname = \"mail\"\ncommand = [\"/usr/sbin/sendmail\", \"-t\"]\n"),
            3,
        )
        .unwrap();
        assert_eq!((t.id.as_str(), t.label.as_str()), ("mail", "mail"));
        let t = validate(config("kind = \"exec\"\ncommand = [\"/usr/sbin/sendmail\"]\n"), 1).unwrap();
        assert_eq!(t.label, "exec #2 (sendmail)");

        let err = |text: &str| validate(config(text), 0).unwrap_err();
        assert_eq!(err("kind = \"ntfy\"\n").0, "kind");
        assert_eq!(err("kind = \"webhook\"\nurl = \"ftp://x/\"\n").0, "url");
        assert_eq!(err("kind = \"webhook\"\nurl = \"not a url\"\n").0, "url");
        assert_eq!(err("kind = \"exec\"\ncommand = []\n").0, "command");
        assert_eq!(err("kind = \"exec\"\ncommand = [\"x\"]\nurl = \"http://a/\"\n").0, "url");
        assert_eq!(err("kind = \"webhook\"\nurl = \"http://a/\"\ntitle = \"t\"\n").0, "title");
        assert_eq!(err("kind = \"webhook\"\nurl = \"http://a/\"\nretries = 99\n").0, "retries");
        assert_eq!(err("kind = \"webhook\"\nurl = \"http://a/\"\nname = \"a b\"\n").0, "name");
        let (key, msg) = err("kind = \"webhook\"\nurl = \"http://a/\"\nheaders = { \"Bad Name\" = \"x\" }\n");
        assert_eq!((key.as_str(), msg.as_str()), ("headers.Bad Name", "is not a valid HTTP header name"));
        let (key, _) = err("kind = \"webhook\"\nurl = \"http://a/\"\nheaders = { X = { file = \"rel\" } }\n");
        assert_eq!(key, "headers.X");
    }

    #[test]
    fn secret_headers_resolve_without_showing_values() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "Bearer from-file\n").unwrap();
        let t = validate(
            config(&format!(
                "kind = \"webhook\"\nurl = \"http://a/\"\nheaders = {{ Authorization = {{ file = \"{}\" }}, \
                 X-Missing = {{ env = \"FRESHEN_TEST_SURELY_UNSET\" }} }}\n",
                file.display()
            )),
            0,
        )
        .unwrap();
        let Action::Webhook { headers, .. } = &t.action else { panic!() };
        let auth = headers.iter().find(|h| h.name == "authorization").unwrap();
        assert_eq!(resolve(auth).unwrap().expose(), "Bearer from-file");
        assert_eq!(format!("{:?}", resolve(auth).unwrap()), "Secret(..)");
        let missing = headers.iter().find(|h| h.name == "x-missing").unwrap();
        assert_eq!(
            resolve(missing).unwrap_err(),
            "header x-missing: environment variable FRESHEN_TEST_SURELY_UNSET is not set"
        );
    }

    #[test]
    fn text_for_people() {
        let p = Payload {
            schema_version: 1,
            event: "updates".into(),
            host: "web-1".into(),
            time: "2026-01-01T00:00:00Z".into(),
            updates: vec![Update {
                reference: "docker.io/library/nginx:latest".into(),
                image: "nginx:latest".into(),
                tag: Some("latest".into()),
                old_digest: format!("sha256:{}", "a".repeat(64)),
                new_digest: format!("sha256:{}", "b".repeat(64)),
                image_id: format!("sha256:{}", "c".repeat(64)),
                checked_at: "2026-01-01T00:00:00Z".into(),
                repeat: false,
                old_version: None,
                new_version: Some("1.27.4".into()),
                release_notes: None,
            }],
            rollbacks: vec![],
        };
        assert_eq!(p.title(), "freshen on web-1: 1 image update");
        assert_eq!(p.text(), "nginx:latest can be upgraded: aaaaaaaaaaaa -> bbbbbbbbbbbb\n");
        let mut p = p;
        p.updates[0].old_version = Some("1.27.3".into());
        assert_eq!(p.text(), "nginx:latest can be upgraded: 1.27.3 -> 1.27.4\n");
        p.updates[0].release_notes = Some("https://github.com/nginx/nginx/releases/tag/v1.27.4".into());
        assert_eq!(
            p.text(),
            "nginx:latest can be upgraded: 1.27.3 -> 1.27.4\n  release notes: https://github.com/nginx/nginx/releases/tag/v1.27.4\n"
        );
        assert!(backoff(1, NOTIFY_BACKOFF_MS) >= Duration::from_millis(500));
    }

    #[test]
    fn rollback_text_and_logs_off() {
        let p = Payload {
            schema_version: 1,
            event: "rollback".into(),
            host: "web-1".into(),
            time: "2026-01-01T00:00:00Z".into(),
            updates: vec![],
            rollbacks: vec![Rollback {
                reference: "docker.io/library/nginx:latest".into(),
                image: "nginx:latest".into(),
                digest: format!("sha256:{}", "b".repeat(64)),
                reason: "web: it is unhealthy".into(),
                containers: vec![RolledBackContainer { name: "web".into(), logs: vec!["boom".into()] }],
            }],
        };
        assert_eq!(p.title(), "freshen on web-1: 1 upgrade rolled back");
        assert_eq!(
            p.text(),
            "nginx:latest: the new version (bbbbbbbbbbbb) was rolled back: web: it is unhealthy\n  web| boom\n"
        );
        let quiet = p.without_logs();
        assert_eq!(quiet.rollbacks[0].containers[0].logs, Vec::<String>::new());
        let json = serde_json::to_value(&quiet).unwrap();
        assert_eq!(json["rollbacks"][0]["containers"][0]["name"], "web");
    }
}
