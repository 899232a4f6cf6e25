//! Registry credentials, found where `docker login` put them:
//! `$DOCKER_CONFIG/config.json` with `auths`, `credsStore` and
//! `credHelpers`. No config file at all means anonymous access.
//! Secrets live in `Secret`, whose `Debug` prints nothing, and are never
//! written anywhere by freshen.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::core::reference::DOCKER_HUB;
use crate::core::secret::Secret;

/// The key Docker uses for Docker Hub in `config.json` and with helpers.
pub const DOCKER_HUB_INDEX: &str = "https://index.docker.io/v1/";
const HELPER_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone, Debug)]
pub enum Credential {
    Basic {
        username: String,
        password: Secret,
    },
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the token
    /// endpoint.
    IdentityToken(Secret),
    /// A bearer token to send as it is (`registrytoken`).
    RegistryToken(Secret),
}

/// Where a credential came from, for error messages that tell the user
/// which file or helper to fix.
#[derive(Clone, Debug)]
pub struct Found {
    pub credential: Credential,
    pub source: String,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigJson {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
}

pub struct Store {
    path: PathBuf,
    config: ConfigJson,
    /// Problem with the file itself, reported once when a credential is needed.
    problem: Option<String>,
}

impl Store {
    pub fn load(docker_config_dir: &Path) -> Store {
        let path = docker_config_dir.join("config.json");
        let (config, problem) = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<ConfigJson>(&bytes) {
                Ok(c) => (c, None),
                Err(e) => {
                    (ConfigJson::default(), Some(format!("{} is not valid JSON ({e})", path.display())))
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (ConfigJson::default(), None),
            Err(e) => (ConfigJson::default(), Some(format!("cannot read {}: {e}", path.display()))),
        };
        Store { path, config, problem }
    }

    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// The credential for a registry (as Docker names it: `docker.io`,
    /// `127.0.0.1:5000`), or None for anonymous access. A helper that fails
    /// is an error: silently going anonymous would hide the real problem.
    pub async fn lookup(&self, registry: &str) -> Result<Option<Found>, String> {
        let server = server_address(registry);
        let helper = self
            .config
            .cred_helpers
            .iter()
            .find(|(k, _)| normalise_key(k) == registry)
            .map(|(_, v)| v.clone())
            .or_else(|| self.config.creds_store.clone().filter(|s| !s.is_empty()));
        if let Some(helper) = helper {
            // Docker asks the helper first and falls back to the file's
            // auths only for credsStore; we do the same.
            if let Some(found) = run_helper(&helper, &server).await? {
                return Ok(Some(found));
            }
        }
        let entry = self.config.auths.iter().find(|(k, _)| normalise_key(k) == registry).map(|(_, v)| v);
        let Some(entry) = entry else { return Ok(None) };
        let source = self.path.display().to_string();
        if let Some(token) = entry.registrytoken.as_deref().filter(|t| !t.is_empty()) {
            return Ok(Some(Found { credential: Credential::RegistryToken(Secret::new(token)), source }));
        }
        let (user, pass) = match (&entry.auth, &entry.username, &entry.password) {
            (Some(auth), _, _) if !auth.is_empty() => decode_auth(auth).ok_or_else(|| {
                format!("the 'auth' entry for {registry} in {source} is not base64 of user:password")
            })?,
            (_, Some(u), Some(p)) => (u.clone(), p.clone()),
            _ => (entry.username.clone().unwrap_or_default(), String::new()),
        };
        if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
            return Ok(Some(Found { credential: Credential::IdentityToken(Secret::new(token)), source }));
        }
        if user.is_empty() && pass.is_empty() {
            return Ok(None);
        }
        Ok(Some(Found {
            credential: Credential::Basic { username: user, password: Secret::new(pass) },
            source,
        }))
    }
}

/// What Docker passes to helpers and uses as the `auths` key.
pub fn server_address(registry: &str) -> String {
    if registry == DOCKER_HUB {
        DOCKER_HUB_INDEX.to_string()
    } else {
        registry.to_string()
    }
}

/// `https://index.docker.io/v1/` → `docker.io`; `http://host:5000/` → `host:5000`.
pub fn normalise_key(key: &str) -> String {
    let k = key.trim();
    let k = k.strip_prefix("https://").or_else(|| k.strip_prefix("http://")).unwrap_or(k);
    let host = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" | "docker.io" => {
            DOCKER_HUB.to_string()
        }
        _ => host,
    }
}

fn decode_auth(auth: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(auth.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `docker-credential-<name> get` with the server address on stdin.
/// "credentials not found" means anonymous; any other failure is an error
/// whose text never includes what the helper printed on stdout.
async fn run_helper(name: &str, server: &str) -> Result<Option<Found>, String> {
    let program = format!("docker-credential-{name}");
    let mut child = tokio::process::Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run credential helper {program} ({e}): install it or fix credsStore/credHelpers in config.json"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is reported by its exit status.
        let _ = stdin.write_all(server.as_bytes()).await;
    }
    let output = tokio::time::timeout(HELPER_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            format!("credential helper {program} did not answer within {}s", HELPER_TIMEOUT.as_secs())
        })?
        .map_err(|e| format!("credential helper {program} failed: {e}"))?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stdout);
        if text.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        return Err(format!("credential helper {program} failed for {server} ({})", output.status));
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
        .map_err(|_| format!("credential helper {program} printed something that is not its JSON answer"))?;
    let source = format!("credential helper {program}");
    if answer.username == "<token>" {
        return Ok(Some(Found { credential: Credential::IdentityToken(Secret::new(answer.secret)), source }));
    }
    if answer.username.is_empty() && answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Found {
        credential: Credential::Basic { username: answer.username, password: Secret::new(answer.secret) },
        source,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalise_like_docker() {
        assert_eq!(normalise_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalise_key("registry-1.docker.io"), "docker.io");
        assert_eq!(normalise_key("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
        assert_eq!(normalise_key("GHCR.io"), "ghcr.io");
        assert_eq!(server_address("docker.io"), DOCKER_HUB_INDEX);
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let c = Credential::Basic { username: "u".into(), password: Secret::new("hunter2") };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn auths_entries_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        std::fs::write(
            dir.path().join("config.json"),
            format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}},"127.0.0.1:5000":{{"username":"bob","password":"pw"}}}}}}"#),
        )
        .unwrap();
        let store = Store::load(dir.path());
        assert!(store.problem().is_none());
        match store.lookup("docker.io").await.unwrap().unwrap().credential {
            Credential::Basic { username, password } => {
                assert_eq!((username.as_str(), password.expose()), ("alice", "s3cret"))
            }
            other => panic!("{other:?}"),
        }
        match store.lookup("127.0.0.1:5000").await.unwrap().unwrap().credential {
            Credential::Basic { username, .. } => assert_eq!(username, "bob"),
            other => panic!("{other:?}"),
        }
        assert!(store.lookup("ghcr.io").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn missing_or_broken_config() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::load(dir.path());
        assert!(store.problem().is_none());
        assert!(store.lookup("docker.io").await.unwrap().is_none());
        std::fs::write(dir.path().join("config.json"), "{nope").unwrap();
        let store = Store::load(dir.path());
        assert!(store.problem().unwrap().contains("not valid JSON"));
    }

    #[tokio::test]
    async fn missing_helper_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), r#"{"credsStore":"freshen-test-absent"}"#).unwrap();
        let e = Store::load(dir.path()).lookup("ghcr.io").await.unwrap_err();
        assert!(e.contains("docker-credential-freshen-test-absent"), "{e}");
    }
}
