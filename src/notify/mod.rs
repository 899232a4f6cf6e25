//! Notification targets: where freshen announces new updates. Three kinds,
//! configured as `[[notify]]` tables in the config file: a `webhook` gets the
//! JSON payload by POST, an `ntfy` target gets a title and a plain-text body
//! (ntfy, Gotify-like and chat webhooks), an `exec` target is a command that
//! reads the payload on stdin (sendmail and anything else). Header values
//! come from the environment or a file at send time and live in `Secret`,
//! so they never reach output, logs or the state.

mod payload;
mod target;

use std::process::Stdio;
use std::time::Duration;

use reqwest::header::{HeaderValue, CONTENT_TYPE};
use tokio::io::AsyncWriteExt;

use crate::core::secret::Secret;
use crate::net::{self, backoff, Failure};

pub use payload::{
    host_name, BudgetNotice, Deferral, Payload, Rollback, RolledBackContainer, Update, PAYLOAD_SCHEMA_VERSION,
};
pub use target::{validate, Action, Header, HeaderSource, Target, TargetConfig};

/// The first retry waits 0.5–0.75 s, doubling from there.
const NOTIFY_BACKOFF_MS: u64 = 250;
/// Enough of a command's stderr to explain its failure in one line.
const STDERR_KEEP: usize = 400;

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
                    // Quoted as what it is: a bare "(ok)" after a 500 read as success.
                    (retryable, format!("the server answered {s} with the body {said:?}"))
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
    use super::target::DEFAULT_RETRIES;
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
            deferred: vec![],
            budget: None,
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
            deferred: vec![],
            budget: None,
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
