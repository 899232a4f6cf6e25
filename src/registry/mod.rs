//! The registry API, spoken directly over one reqwest client per registry:
//! a HEAD per tag for its current digest, a GET of a manifest only where
//! the multi-arch rule needs one, and authentication learnt once per
//! registry (one bearer token covering many repositories where the token
//! server allows it). Requests to one registry are bounded, retried with
//! backoff on 429, 5xx and network errors, and never forward credentials
//! to another host.

pub mod auth;
pub mod credentials;
pub mod daemon_config;
pub mod tags;

mod error;
mod session;
mod tls;
mod transport;

use self::error::{after_mirrors, err};
pub use self::error::{ErrorKind, RegistryError};

use self::tls::{client_builder, host_client, TlsSetup};
use self::transport::{describe_reqwest, printable, read_limited, status_text};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use sha2::Digest as _;
use tokio::sync::Semaphore;

use self::auth::{parse_challenge, Challenge, TokenAnswer};
use self::credentials::{Credential, Found, Store};
use self::daemon_config::DaemonConfig;
use crate::core::reference::{api_host, is_loopback_host, validate_digest};
use crate::core::secret::Secret;
use crate::core::state::{KnownAuth, RateLimit};
use crate::core::verdict::{parse_manifest, Manifest};
use crate::net::{self, backoff, CapError, Failure};

/// Every manifest type, so the registry answers with the index for
/// multi-arch images instead of picking one platform for us.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";
/// The distribution spec's limit for a manifest; anything larger is refused.
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
const MAX_TOKEN_BYTES: usize = 1024 * 1024;
/// Token requests carry many `scope` parameters; keep URLs well under the
/// 8 KiB that common servers accept.
const MAX_TOKEN_URL: usize = 6000;
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// The first retry waits 0.2–0.3 s, doubling from there.
const REGISTRY_BACKOFF_MS: u64 = 100;
const USER_AGENT: &str = concat!("freshen/", env!("CARGO_PKG_VERSION"));

/// All registries of one run. Cheap to share; hosts are created on first use.
pub struct Registries {
    settings: RegistrySettings,
    daemon: DaemonConfig,
    creds: Arc<Store>,
    default_client: Arc<RealmClient>,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    requests: Arc<AtomicU64>,
    activity: Arc<Activity>,
}

/// Requests in flight per registry and when each registry last answered,
/// for the terminal line that says which registry freshen waits for.
#[derive(Debug, Default)]
pub struct Activity(Mutex<HashMap<String, (usize, std::time::Instant)>>);

impl Activity {
    fn begin(self: &Arc<Self>, registry: &str) -> InFlight {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.entry(registry.to_string()).or_insert((0, std::time::Instant::now()));
        if e.0 == 0 {
            e.1 = std::time::Instant::now();
        }
        e.0 += 1;
        InFlight { activity: self.clone(), registry: registry.to_string() }
    }

    /// Registries with requests in flight that have not answered anything
    /// for at least `quiet_for`, and for how long.
    pub fn silent(&self, quiet_for: Duration) -> Vec<(String, Duration)> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter()
            .filter(|(_, (n, at))| *n > 0 && at.elapsed() >= quiet_for)
            .map(|(host, (_, at))| (host.clone(), at.elapsed()))
            .collect()
    }
}

/// One request in flight; dropping it (answered, failed or cancelled)
/// counts as activity.
pub(crate) struct InFlight {
    activity: Arc<Activity>,
    registry: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut m = self.activity.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = m.get_mut(&self.registry) {
            e.0 = e.0.saturating_sub(1);
            e.1 = std::time::Instant::now();
        }
    }
}

impl Registries {
    pub fn new(settings: RegistrySettings) -> Result<Registries, String> {
        let daemon = DaemonConfig::load(&settings.daemon_json, &settings.insecure);
        let creds = Arc::new(Store::load(&settings.docker_config_dir));
        let default_client = Arc::new(RealmClient { settings: settings.clone(), client: Default::default() });
        Ok(Registries {
            settings,
            daemon,
            creds,
            default_client,
            hosts: Mutex::new(HashMap::new()),
            requests: Arc::new(AtomicU64::new(0)),
            activity: Arc::new(Activity::default()),
        })
    }

    /// Problems with the user's files (daemon.json, config.json) that the
    /// run worked around, to be shown as warnings.
    pub fn warnings(&self) -> Vec<String> {
        self.daemon.problem.iter().cloned().chain(self.creds.problem().map(str::to_string)).collect()
    }

    /// The credentials the engine needs to pull from `registry` (what
    /// `docker login` stored), or None for anonymous pulls.
    pub async fn pull_auth(&self, registry: &str) -> Result<Option<crate::core::image::PullAuth>, String> {
        let Some(found) = self.creds.lookup(registry).await? else { return Ok(None) };
        let mut auth = crate::core::image::PullAuth {
            server: credentials::server_address(registry),
            username: None,
            password: None,
            identity_token: None,
            registry_token: None,
        };
        match found.credential {
            credentials::Credential::Basic { username, password } => {
                auth.username = Some(username);
                auth.password = Some(password);
            }
            credentials::Credential::IdentityToken(t) => auth.identity_token = Some(t),
            credentials::Credential::RegistryToken(t) => auth.registry_token = Some(t),
        }
        Ok(Some(auth))
    }

    /// The most requests one registry has in flight (until a 429 halves it).
    pub fn concurrency(&self) -> usize {
        self.settings.concurrency
    }

    /// Requests sent so far, token requests included.
    /// What the registries are doing, for a progress line.
    pub fn activity(&self) -> Arc<Activity> {
        self.activity.clone()
    }

    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The host for a registry. `repositories` are the ones this run will
    /// ask about, so that the first token can cover all of them. `scheme`
    /// is what worked last time, if known.
    pub fn host(
        &self,
        registry: &str,
        repositories: Vec<String>,
        scheme_hint: Option<&str>,
    ) -> Result<Arc<Host>, RegistryError> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = hosts.get(registry) {
            return Ok(h.clone());
        }
        let tls = host_client(&self.settings, registry, self.daemon.is_insecure(registry))?;
        let start = match scheme_hint {
            Some("http") if tls.may_use_http => Scheme::Http,
            Some("https") => Scheme::Https,
            _ if tls.may_use_http && is_loopback_host(registry) => Scheme::Http,
            _ => Scheme::Https,
        };
        // Like the daemon, Docker Hub images are asked of the mirrors
        // first, in order, and of Docker Hub itself when they all fail.
        let mut mirrors = Vec::new();
        if registry == crate::core::reference::DOCKER_HUB {
            for m in &self.daemon.mirrors {
                let mtls = host_client(&self.settings, &m.host, self.daemon.is_insecure(&m.host))?;
                let scheme = if m.https { Scheme::Https } else { Scheme::Http };
                let mirror = self.new_host(&m.host, scheme, false, mtls, repositories.clone(), Vec::new());
                mirrors.push(Arc::new(mirror));
            }
        }
        let may_switch = tls.may_use_http;
        let host = Arc::new(self.new_host(registry, start, may_switch, tls, repositories, mirrors));
        hosts.insert(registry.to_string(), host.clone());
        Ok(host)
    }

    fn new_host(
        &self,
        registry: &str,
        start: Scheme,
        may_switch_scheme: bool,
        tls: TlsSetup,
        repositories: Vec<String>,
        mirrors: Vec<Arc<Host>>,
    ) -> Host {
        Host {
            registry: registry.to_string(),
            api: api_host(registry).to_string(),
            scheme: AtomicU8::new(start as u8),
            may_switch_scheme,
            scheme_settled: AtomicBool::new(false),
            contacted: AtomicBool::new(false),
            client: tls.client,
            client_identity: tls.client_identity,
            certs_dir: self.settings.certs_dir.join(registry),
            realm_client: self.default_client.clone(),
            limit: Arc::new(Semaphore::new(self.settings.concurrency)),
            limit_now: AtomicUsize::new(self.settings.concurrency),
            auth: tokio::sync::Mutex::new(AuthState::default()),
            repositories,
            creds: tokio::sync::OnceCell::new(),
            creds_store: self.creds.clone(),
            rate: Mutex::new(None),
            retries: self.settings.retries,
            timeout: self.settings.timeout,
            verbose: self.settings.verbose,
            requests: self.requests.clone(),
            activity: self.activity.clone(),
            mirrors,
            down: AtomicBool::new(false),
            unreachable: std::sync::OnceLock::new(),
            manifests: Mutex::default(),
            configs: Mutex::default(),
        }
    }
}

/// The client for token servers on other hosts than their registry's,
/// built on first use: building it loads the system's TLS roots (tens of
/// milliseconds), which a run whose registries need no such token never
/// uses.
pub(crate) struct RealmClient {
    settings: RegistrySettings,
    client: std::sync::OnceLock<Result<reqwest::Client, String>>,
}

impl RealmClient {
    fn get(&self) -> Result<&reqwest::Client, RegistryError> {
        self.client
            .get_or_init(|| {
                client_builder(&self.settings).build().map_err(|e| format!("cannot set up HTTP: {e}"))
            })
            .as_ref()
            .map_err(|e| err(ErrorKind::Unreachable, e.clone()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Scheme {
    Https = 0,
    Http = 1,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

#[derive(Default)]
struct AuthState {
    /// Bumped whenever the credentials change, so that a request that failed
    /// with old credentials retries without fetching new ones twice.
    generation: u64,
    mode: AuthMode,
    tokens: HashMap<String, Token>,
    /// Repositories whose token the server refused (denied): don't ask again.
    denied: HashMap<String, RegistryError>,
}

#[derive(Default, Clone)]
enum AuthMode {
    /// Not yet known: send requests without credentials.
    #[default]
    Anonymous,
    Basic(Secret),
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

#[derive(Clone)]
struct Token {
    value: Secret,
    expires: Instant,
}

/// One registry: its client, its limits, its authentication.
pub struct Host {
    pub registry: String,
    api: String,
    scheme: AtomicU8,
    may_switch_scheme: bool,
    /// Set when the scheme is known to be right (it answered the last run
    /// and this run asks everything at once): a failure of one request is
    /// then that request's, not a sign to try the other scheme, which would
    /// turn the requests still to come to a scheme the registry does not
    /// speak.
    scheme_settled: AtomicBool,
    contacted: AtomicBool,
    client: reqwest::Client,
    /// Whether `client` presents a client certificate (for the error
    /// message when the registry refuses the handshake).
    client_identity: bool,
    /// `certs.d/<registry>`, named in TLS error messages.
    certs_dir: std::path::PathBuf,
    realm_client: Arc<RealmClient>,
    limit: Arc<Semaphore>,
    limit_now: AtomicUsize,
    auth: tokio::sync::Mutex<AuthState>,
    repositories: Vec<String>,
    creds: tokio::sync::OnceCell<Result<Option<Found>, String>>,
    creds_store: Arc<Store>,
    rate: Mutex<Option<RateLimit>>,
    retries: u32,
    timeout: Duration,
    verbose: bool,
    requests: Arc<AtomicU64>,
    activity: Arc<Activity>,
    /// Docker Hub's mirrors from daemon.json, asked before the origin.
    mirrors: Vec<Arc<Host>>,
    /// A mirror that could not be reached: not asked again this run.
    down: AtomicBool,
    /// Set when a connection could not be made even after the retries: the
    /// registry is down, and the rest of its images fail at once with the
    /// same reason instead of each waiting through its own retries.
    unreachable: std::sync::OnceLock<RegistryError>,
    /// Manifests and configs read this run, by repository and digest. What
    /// a digest names never changes, so tags that moved to the same image
    /// (`latest`, `1`, `1.27`) cost one read of it, not one each.
    manifests: Memo<Manifest>,
    configs: Memo<crate::core::image::ImageConfig>,
}

/// Reads by `(repository, digest)`, each done once: a read in flight is
/// joined, a failed one is tried again by the next caller.
type Memo<T> = Mutex<HashMap<(String, String), Arc<tokio::sync::OnceCell<T>>>>;

/// The memoised read of `(repository, digest)`, or `read` to make it.
async fn read_once<T: Clone>(
    memo: &Memo<T>,
    repository: &str,
    digest: &str,
    read: impl std::future::Future<Output = Result<T, RegistryError>>,
) -> Result<T, RegistryError> {
    let cell = memo
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry((repository.to_string(), digest.to_string()))
        .or_default()
        .clone();
    cell.get_or_try_init(|| read).await.cloned()
}

impl Host {
    pub fn scheme(&self) -> Scheme {
        if self.scheme.load(Ordering::Relaxed) == Scheme::Http as u8 {
            Scheme::Http
        } else {
            Scheme::Https
        }
    }

    /// The scheme this host starts with is the registry's: no request
    /// switches it (see `scheme_settled`).
    pub fn settle_scheme(&self) {
        self.scheme_settled.store(true, Ordering::Relaxed);
    }

    /// Whether the registry answered at least once this run.
    pub fn contacted(&self) -> bool {
        self.contacted.load(Ordering::Relaxed)
    }

    /// Whether the registry answered this run without asking for
    /// credentials (it answered at least once, and never with a 401).
    pub async fn anonymous(&self) -> bool {
        self.contacted.load(Ordering::Relaxed) && matches!(self.auth.lock().await.mode, AuthMode::Anonymous)
    }

    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The digest the tag points at now: one HEAD. Registries that leave
    /// out `Docker-Content-Digest` (or refuse HEAD) cost one GET, whose
    /// body is hashed. Mirrors, if any, are asked first.
    pub async fn tag_digest(&self, repository: &str, tag: &str) -> Result<String, RegistryError> {
        self.mirrors_first(|h| Box::pin(h.tag_digest_here(repository, tag))).await
    }

    /// A manifest by digest, verified against that digest; mirrors first.
    /// Read once per run.
    pub async fn manifest(&self, repository: &str, digest: &str) -> Result<Manifest, RegistryError> {
        let read = self.mirrors_first(|h| Box::pin(h.manifest_here(repository, digest)));
        read_once(&self.manifests, repository, digest, read).await
    }

    /// Runs one request against each mirror that is not known to be down,
    /// then against this registry, like the daemon does for Docker Hub.
    pub(crate) async fn mirrors_first<'s, T>(
        &'s self,
        op: impl Fn(&'s Host) -> futures_util::future::BoxFuture<'s, Result<T, RegistryError>>,
    ) -> Result<T, RegistryError> {
        let mut notes = Vec::new();
        for m in self.mirrors.iter().filter(|m| !m.down.load(Ordering::Relaxed)) {
            match op(m).await {
                Ok(v) => return Ok(v),
                Err(e) => notes.push(m.mirror_failed(e)),
            }
        }
        op(self).await.map_err(|e| after_mirrors(e, &notes))
    }

    /// Remembers a mirror that is unreachable, and describes its failure.
    fn mirror_failed(&self, e: RegistryError) -> String {
        if e.kind == ErrorKind::Unreachable {
            self.down.store(true, Ordering::Relaxed);
        }
        format!("mirror {} failed first: {e}", self.registry)
    }

    async fn tag_digest_here(&self, repository: &str, tag: &str) -> Result<String, RegistryError> {
        let _permit = self.limit.acquire().await.map_err(|_| err(ErrorKind::Unreachable, "shutting down"))?;
        let path = format!("/v2/{repository}/manifests/{tag}");
        let resp = self.send(Method::HEAD, &path, repository).await?;
        let status = resp.status();
        if status.is_success() {
            if let Some(value) = resp.headers().get("docker-content-digest") {
                let digest = value.to_str().unwrap_or("").trim().to_string();
                validate_digest(&digest).map_err(|_| {
                    err(
                        ErrorKind::BadResponse,
                        format!("registry sent an invalid digest header '{}'", printable(&digest)),
                    )
                })?;
                return Ok(digest);
            }
        } else if status != StatusCode::METHOD_NOT_ALLOWED {
            return Err(self.status_error(status, repository, Some(tag)));
        }
        let resp = self.send(Method::GET, &path, repository).await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp.status(), repository, Some(tag)));
        }
        let header =
            resp.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = read_limited(resp, MAX_MANIFEST_BYTES).await?;
        let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&body)));
        if let Some(h) = header.filter(|h| h.starts_with("sha256:")) {
            if h != digest {
                return Err(err(
                    ErrorKind::BadResponse,
                    format!("manifest body does not match its digest header {}", printable(&h)),
                ));
            }
        }
        parse_manifest(&body).map_err(|e| err(ErrorKind::BadResponse, e))?;
        Ok(digest)
    }

    async fn manifest_here(&self, repository: &str, digest: &str) -> Result<Manifest, RegistryError> {
        let _permit = self.limit.acquire().await.map_err(|_| err(ErrorKind::Unreachable, "shutting down"))?;
        let path = format!("/v2/{repository}/manifests/{digest}");
        let resp = self.send(Method::GET, &path, repository).await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp.status(), repository, None));
        }
        let body = read_limited(resp, MAX_MANIFEST_BYTES).await?;
        verify_digest(digest, &body)?;
        parse_manifest(&body).map_err(|e| err(ErrorKind::BadResponse, e))
    }

    fn status_error(&self, status: StatusCode, repository: &str, tag: Option<&str>) -> RegistryError {
        match status {
            StatusCode::NOT_FOUND => err(
                ErrorKind::NotFound,
                match tag {
                    Some(tag) => format!("{}/{repository}:{tag} does not exist in the registry", self.registry),
                    None => format!("manifest not found in {}/{repository}", self.registry),
                },
            ),
            StatusCode::FORBIDDEN => err(
                ErrorKind::Unauthorized,
                format!("registry {} denied access to {repository}: check the account's permissions or run 'docker login {}'", self.registry, self.login_name()),
            ),
            s => err(ErrorKind::BadResponse, format!("registry {} answered {}", self.registry, status_text(s))),
        }
    }
}

fn verify_digest(digest: &str, body: &[u8]) -> Result<(), RegistryError> {
    let actual = match digest.split_once(':') {
        Some(("sha256", _)) => format!("sha256:{}", hex::encode(sha2::Sha256::digest(body))),
        Some(("sha512", _)) => format!("sha512:{}", hex::encode(sha2::Sha512::digest(body))),
        _ => return Err(err(ErrorKind::BadResponse, format!("unsupported digest {}", printable(digest)))),
    };
    if actual != digest {
        return Err(err(ErrorKind::BadResponse, format!("manifest body does not match its digest {digest}")));
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct RegistrySettings {
    pub insecure: Vec<String>,
    pub concurrency: usize,
    pub timeout: Duration,
    pub retries: u32,
    /// Where Docker's client config lives (`config.json`).
    pub docker_config_dir: PathBuf,
    /// Where per-registry CAs and client certificates live.
    pub certs_dir: PathBuf,
    /// The daemon's config, for insecure registries and mirrors.
    pub daemon_json: PathBuf,
    pub verbose: bool,
}

#[cfg(test)]
mod tests {
    use super::session::{token_url, url_host};
    use super::transport::retry_after;
    use super::*;

    #[test]
    fn token_urls_carry_every_scope() {
        let url = token_url(
            "https://auth.example/token",
            &[
                ("service", "reg x".into()),
                ("scope", "repository:a/b:pull".into()),
                ("scope", "repository:c:pull".into()),
            ],
        );
        assert_eq!(url, "https://auth.example/token?service=reg%20x&scope=repository%3Aa%2Fb%3Apull&scope=repository%3Ac%3Apull");
        assert!(token_url("https://a/t?x=1", &[("scope", "s".into())]).ends_with("?x=1&scope=s"));
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn digests_are_verified() {
        let body = b"{}";
        let good = format!("sha256:{}", hex::encode(sha2::Sha256::digest(body)));
        assert!(verify_digest(&good, body).is_ok());
        let bad = format!("sha256:{}", "0".repeat(64));
        assert_eq!(verify_digest(&bad, body).unwrap_err().kind, ErrorKind::BadResponse);
    }

    #[test]
    fn realm_hosts() {
        assert_eq!(url_host("https://auth.docker.io/token?x"), Some("auth.docker.io"));
        assert_eq!(url_host("http://127.0.0.1:5000/auth"), Some("127.0.0.1:5000"));
        assert_eq!(printable("a\nb"), "a b");
    }
}
