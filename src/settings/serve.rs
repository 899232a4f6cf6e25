//! `[serve]` and `[mqtt]` resolved: the tokens read (inline or from their
//! files), the address to listen on, the update interval, the broker. The
//! only place that reads a token file; tokens travel as `Secret`s from here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::config_file::{MqttSection, ServeSection};
use crate::core::secret::Secret;
use crate::error::{Error, Result};

/// Where `freshen serve` listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8675";
/// How often the server runs an update itself: what `freshen schedule`'s
/// default timer (`daily`) does.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// The health gate of an upgrade the server runs (as `upgrade --wait`).
pub const DEFAULT_WAIT: u64 = 30;

#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub listen: String,
    pub read_token: Option<Secret>,
    pub apply_token: Option<Secret>,
    pub actions: bool,
    /// None: never run an update on its own.
    pub interval: Option<Duration>,
    pub wait: Duration,
}

impl Default for ServeSettings {
    fn default() -> ServeSettings {
        ServeSettings {
            listen: DEFAULT_LISTEN.to_string(),
            read_token: None,
            apply_token: None,
            actions: false,
            interval: Some(DEFAULT_INTERVAL),
            wait: Duration::from_secs(DEFAULT_WAIT),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MqttSettings {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub discovery_prefix: String,
    pub topic_prefix: String,
    pub install: bool,
}

pub fn serve(section: Option<&ServeSection>, config: Option<&Path>) -> Result<ServeSettings> {
    let Some(s) = section else { return Ok(ServeSettings::default()) };
    let interval = match s.interval.as_deref() {
        None => Some(DEFAULT_INTERVAL),
        Some(t) if t.trim() == "0" => None,
        Some(t) => match crate::core::time::duration_secs(t) {
            Ok(secs) if secs > 0 => Some(Duration::from_secs(secs as u64)),
            _ => {
                return Err(Error::ConfigValue(format!(
                    "[serve] interval: '{t}' is not a duration: use a number and a unit, like 6h or 1d, or 0 for never"
                )))
            }
        },
    };
    let read_token =
        token("serve", "read_token", s.read_token.as_deref(), s.read_token_file.as_deref(), config)?;
    let apply_token =
        token("serve", "apply_token", s.apply_token.as_deref(), s.apply_token_file.as_deref(), config)?;
    if s.actions && apply_token.is_none() {
        return Err(Error::ConfigValue(
            "[serve] actions = true needs an apply_token (or apply_token_file): actions are never anonymous"
                .into(),
        ));
    }
    if let (Some(r), Some(a)) = (&read_token, &apply_token) {
        if r == a {
            return Err(Error::ConfigValue(
                "[serve] read_token and apply_token are the same: give the apply token its own value".into(),
            ));
        }
    }
    Ok(ServeSettings {
        listen: s.listen.clone().unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
        read_token,
        apply_token,
        actions: s.actions,
        interval,
        wait: Duration::from_secs(s.wait.unwrap_or(DEFAULT_WAIT)),
    })
}

pub fn mqtt(section: Option<&MqttSection>, config: Option<&Path>) -> Result<Option<MqttSettings>> {
    let Some(m) = section else { return Ok(None) };
    let (host, port) = match m.broker.rsplit_once(':') {
        Some((h, p)) => (
            h.to_string(),
            p.parse::<u16>().map_err(|_| {
                Error::ConfigValue(format!("[mqtt] broker: '{}' has no valid port: use HOST:PORT", m.broker))
            })?,
        ),
        None => (m.broker.clone(), 1883),
    };
    if host.is_empty() {
        return Err(Error::ConfigValue("[mqtt] broker is empty: use HOST:PORT, like 127.0.0.1:1883".into()));
    }
    let password = token("mqtt", "password", m.password.as_deref(), m.password_file.as_deref(), config)?;
    let clean = |p: Option<&str>, default: &str| p.unwrap_or(default).trim_end_matches('/').to_string();
    Ok(Some(MqttSettings {
        host,
        port,
        username: m.username.clone(),
        password,
        discovery_prefix: clean(m.discovery_prefix.as_deref(), "homeassistant"),
        topic_prefix: clean(m.topic_prefix.as_deref(), "freshen"),
        install: m.install,
    }))
}

/// A secret given inline or in a file (its first line; a relative path is
/// read from the config file's directory).
fn token(
    section: &str,
    key: &str,
    inline: Option<&str>,
    file: Option<&Path>,
    config: Option<&Path>,
) -> Result<Option<Secret>> {
    let value = match (inline, file) {
        (Some(_), Some(_)) => {
            return Err(Error::ConfigValue(format!("[{section}] has both {key} and {key}_file: keep one")))
        }
        (Some(v), None) => v.to_string(),
        (None, Some(path)) => {
            let path: PathBuf = match config.and_then(Path::parent) {
                Some(dir) if path.is_relative() => dir.join(path),
                _ => path.to_path_buf(),
            };
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Error::ConfigValue(format!("[{section}] {key}_file: cannot read {}: {e}", path.display()))
            })?;
            text.lines().next().unwrap_or("").trim().to_string()
        }
        (None, None) => return Ok(None),
    };
    if value.is_empty() {
        return Err(Error::ConfigValue(format!(
            "[{section}] {key} is empty: give it a value or leave it out"
        )));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::ConfigValue(format!(
            "[{section}] {key} holds spaces or control characters: use a token of plain characters"
        )));
    }
    Ok(Some(Secret::new(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> ServeSection {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn tokens_come_inline_or_from_a_file_never_both() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("apply"), "a-token\nignored\n").unwrap();
        let config = dir.path().join("config.toml");
        let s = serve(
            Some(&section("actions = true\napply_token_file = \"apply\"\nread_token = \"r\"")),
            Some(&config),
        )
        .unwrap();
        assert_eq!(s.apply_token.unwrap().expose(), "a-token");
        assert_eq!(s.read_token.unwrap().expose(), "r");
        let both = serve(Some(&section("read_token = \"r\"\nread_token_file = \"apply\"")), Some(&config));
        assert_eq!(
            both.unwrap_err().to_string(),
            "[serve] has both read_token and read_token_file: keep one"
        );
    }

    #[test]
    fn actions_need_their_own_apply_token() {
        let e = serve(Some(&section("actions = true")), None).unwrap_err().to_string();
        assert!(e.starts_with("[serve] actions = true needs an apply_token"), "{e}");
        let e = serve(Some(&section("actions = true\nread_token = \"x\"\napply_token = \"x\"")), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("are the same"), "{e}");
        let e = serve(Some(&section("read_token = \"a b\"")), None).unwrap_err().to_string();
        assert!(e.contains("spaces"), "{e}");
    }

    #[test]
    fn intervals_and_brokers() {
        assert_eq!(serve(Some(&section("interval = \"0\"")), None).unwrap().interval, None);
        assert_eq!(
            serve(Some(&section("interval = \"6h\"")), None).unwrap().interval,
            Some(Duration::from_secs(21600))
        );
        assert!(serve(Some(&section("interval = \"often\"")), None).is_err());
        assert_eq!(serve(None, None).unwrap().listen, DEFAULT_LISTEN);
        let m: MqttSection = toml::from_str("broker = \"10.0.0.2\"").unwrap();
        let m = mqtt(Some(&m), None).unwrap().unwrap();
        assert_eq!(
            (m.host.as_str(), m.port, m.discovery_prefix.as_str()),
            ("10.0.0.2", 1883, "homeassistant")
        );
        let bad: MqttSection = toml::from_str("broker = \"h:port\"").unwrap();
        assert!(mqtt(Some(&bad), None).is_err());
    }
}
