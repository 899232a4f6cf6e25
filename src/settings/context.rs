//! Which engine the user means when no `-H` and no `DOCKER_HOST` say it:
//! the docker CLI's contexts, as `docker context use` and `DOCKER_CONTEXT`
//! leave them. A context lives in
//! `$DOCKER_CONFIG/contexts/meta/<sha256 of its name>/meta.json`, its
//! engine at `Endpoints.docker.Host`; `currentContext` in `config.json`
//! names the one in use. `default` is the local socket.

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(rename = "currentContext", default)]
    current_context: Option<String>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "Endpoints", default)]
    endpoints: std::collections::BTreeMap<String, Endpoint>,
}

#[derive(Deserialize)]
struct Endpoint {
    #[serde(rename = "Host", default)]
    host: Option<String>,
}

/// The engine address of the context in use: `DOCKER_CONTEXT` (given as
/// `named`), else `currentContext`; None for `default` or none at all.
pub fn docker_host(config_dir: &Path, named: Option<&str>) -> Result<Option<String>> {
    let name = match named.filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => match current_context(config_dir) {
            Some(n) => n,
            None => return Ok(None),
        },
    };
    if name == "default" {
        return Ok(None);
    }
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let path = config_dir.join("contexts/meta").join(hex).join("meta.json");
    let not_found = || {
        Error::Usage(format!(
            "docker context '{name}' does not exist ({} is missing): run 'docker context ls', \
             or unset DOCKER_CONTEXT / run 'docker context use default'",
            path.display()
        ))
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    let meta: Meta = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Config { path: path.clone(), detail: format!("not a docker context: {e}") })?;
    match meta.endpoints.get("docker").and_then(|e| e.host.clone()).filter(|h| !h.is_empty()) {
        Some(host) => Ok(Some(host)),
        None => Err(Error::Usage(format!(
            "docker context '{name}' names no Docker endpoint ({}): run 'docker context inspect {name}'",
            path.display()
        ))),
    }
}

fn current_context(config_dir: &Path) -> Option<String> {
    let bytes = std::fs::read(config_dir.join("config.json")).ok()?;
    let config: ConfigFile = serde_json::from_slice(&bytes).ok()?;
    config.current_context.filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(dir: &Path, name: &str, host: &str) {
        let hex: String = Sha256::digest(name.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let d = dir.join("contexts/meta").join(hex);
        std::fs::create_dir_all(&d).unwrap();
        let meta = format!(
            r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
        );
        std::fs::write(d.join("meta.json"), meta).unwrap();
    }

    #[test]
    fn the_context_in_use_names_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(docker_host(d, None).unwrap(), None, "no config.json: the local socket");
        context(d, "edge", "ssh://deploy@edge.example");
        context(d, "lab", "tcp://10.0.0.5:2375");
        std::fs::write(d.join("config.json"), r#"{"auths":{},"currentContext":"edge"}"#).unwrap();
        assert_eq!(docker_host(d, None).unwrap().as_deref(), Some("ssh://deploy@edge.example"));
        assert_eq!(docker_host(d, Some("lab")).unwrap().as_deref(), Some("tcp://10.0.0.5:2375"));
        assert_eq!(docker_host(d, Some("default")).unwrap(), None);
        let err = docker_host(d, Some("nope")).unwrap_err().to_string();
        assert!(err.starts_with("docker context 'nope' does not exist"), "{err}");
        assert!(err.contains("docker context ls"), "{err}");
    }
}
