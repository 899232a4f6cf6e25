//! What freshen reads from the environment: paths (HOME, XDG_*,
//! DOCKER_CONFIG), the daemon (DOCKER_HOST), the terminal (COLUMNS,
//! NO_COLOR) and the `FRESHEN_*` variables that change behaviour.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `path` made absolute against the current directory (as it is now, for a
/// run that will start elsewhere).
pub fn absolute(path: &Path) -> PathBuf {
    match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    }
}

pub fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

pub fn home_dir() -> Option<PathBuf> {
    env_path("HOME")
}

pub fn default_state_dir() -> Result<PathBuf> {
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
pub fn table_width() -> Option<usize> {
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

/// `FRESHEN_TEST_PAUSE=STEP`: stop at that step of an upgrade until a
/// signal comes (for the tests of interrupted runs; see
/// `services::interrupt::checkpoint`).
pub fn test_pause() -> Option<String> {
    std::env::var("FRESHEN_TEST_PAUSE").ok().filter(|s| !s.is_empty())
}

/// `FRESHEN_TEST_NOW=UNIX_SECONDS`: the clock of the usage record and the
/// eviction plan, so that tests spread last uses over months without
/// waiting. Never set outside tests.
pub fn test_now() -> Option<i64> {
    std::env::var("FRESHEN_TEST_NOW").ok().and_then(|s| s.trim().parse().ok())
}

pub fn default_config_path() -> Option<PathBuf> {
    env_path("XDG_CONFIG_HOME")
        .or_else(|| home_dir().map(|h| h.join(".config")))
        .map(|d| d.join("freshen/config.toml"))
}

/// The environment's part of the settings, read once.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `FRESHEN_INSECURE_REGISTRIES`, split at commas.
    pub insecure: Vec<String>,
    /// `DOCKER_CONFIG`, else `~/.docker`.
    pub docker_config_dir: PathBuf,
    /// `FRESHEN_CERTS_DIR`, else Docker's.
    pub certs_dir: PathBuf,
    /// `FRESHEN_DAEMON_JSON`, else Docker's.
    pub daemon_json: PathBuf,
    /// `DOCKER_HOST`, when set and not empty.
    pub docker_host: Option<String>,
    /// `DOCKER_CONTEXT`, when set and not empty.
    pub docker_context: Option<String>,
    /// `NO_COLOR` is set and not empty.
    pub no_color: bool,
    /// The `FRESHEN_*` variables of this run that change what freshen does,
    /// for the scheduled run.
    pub behaviour: Vec<(&'static str, String)>,
}

impl Environment {
    pub fn read() -> Environment {
        let insecure_list = std::env::var("FRESHEN_INSECURE_REGISTRIES").ok();
        let mut behaviour = Vec::new();
        if let Some(list) = insecure_list.as_ref().filter(|l| !l.trim().is_empty()) {
            behaviour.push(("FRESHEN_INSECURE_REGISTRIES", list.clone()));
        }
        for name in ["FRESHEN_CERTS_DIR", "FRESHEN_DAEMON_JSON"] {
            if let Some(path) = env_path(name) {
                behaviour.push((name, absolute(&path).display().to_string()));
            }
        }
        Environment {
            insecure: insecure_list
                .iter()
                .flat_map(|list| list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from))
                .collect(),
            docker_config_dir: match std::env::var_os("DOCKER_CONFIG") {
                Some(d) if !d.is_empty() => PathBuf::from(d),
                _ => home_dir().map(|h| h.join(".docker")).unwrap_or_else(|| PathBuf::from(".docker")),
            },
            certs_dir: env_path("FRESHEN_CERTS_DIR").unwrap_or_else(|| "/etc/docker/certs.d".into()),
            daemon_json: env_path("FRESHEN_DAEMON_JSON").unwrap_or_else(|| "/etc/docker/daemon.json".into()),
            docker_host: std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()),
            docker_context: std::env::var("DOCKER_CONTEXT").ok().filter(|h| !h.is_empty()),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            behaviour,
        }
    }
}
