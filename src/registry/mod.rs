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
use crate::core::state::RateLimit;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Unauthorized,
    NotFound,
    Unreachable,
    RateLimited,
    BadResponse,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::NotFound => "not found",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::BadResponse => "bad response",
        }
    }
}

/// Why one check failed. The message is one line, never holds a secret,
/// and says what to do where there is something to do.
#[derive(Debug, Clone)]
pub struct RegistryError {
    pub kind: ErrorKind,
    pub message: String,
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

fn err(kind: ErrorKind, message: impl Into<String>) -> RegistryError {
    RegistryError { kind, message: message.into() }
}

/// All registries of one run. Cheap to share; hosts are created on first use.
pub struct Registries {
    settings: RegistrySettings,
    daemon: DaemonConfig,
    creds: Arc<Store>,
    default_client: reqwest::Client,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    requests: Arc<AtomicU64>,
}

impl Registries {
    pub fn new(settings: RegistrySettings) -> Result<Registries, String> {
        let daemon = DaemonConfig::load(&settings.daemon_json, &settings.insecure);
        let creds = Arc::new(Store::load(&settings.docker_config_dir));
        let default_client =
            client_builder(&settings).build().map_err(|e| format!("cannot set up HTTP: {e}"))?;
        Ok(Registries {
            settings,
            daemon,
            creds,
            default_client,
            hosts: Mutex::new(HashMap::new()),
            requests: Arc::new(AtomicU64::new(0)),
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

    /// Requests sent so far, token requests included.
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
            mirrors,
            down: AtomicBool::new(false),
            unreachable: std::sync::OnceLock::new(),
        }
    }
}

/// The client for one registry and what its TLS setup allows.
struct TlsSetup {
    client: reqwest::Client,
    /// Plain HTTP (and unverified HTTPS) is allowed: an insecure registry
    /// for which the user did not install a CA.
    may_use_http: bool,
    client_identity: bool,
}

fn client_builder(settings: &RegistrySettings) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(settings.concurrency)
        .pool_idle_timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::limited(5))
        .tcp_nodelay(true)
}

/// A client that trusts what Docker would trust for this registry: the
/// system roots plus `certs.d/<registry>/*.crt`, presenting
/// `client.cert`/`client.key` when present. Insecure registries (loopback,
/// `insecure-registries`) accept any certificate over HTTPS and may be
/// reached over plain HTTP, as the daemon does, unless `certs.d` holds a
/// CA for them: then the user has said how to verify the registry, and a
/// certificate that does not verify is an error rather than ignored.
fn host_client(
    settings: &RegistrySettings,
    registry: &str,
    insecure: bool,
) -> Result<TlsSetup, RegistryError> {
    let mut builder = client_builder(settings);
    let dir = settings.certs_dir.join(registry);
    let bad = |what: String| err(ErrorKind::BadResponse, what);
    let mut has_ca = false;
    let mut client_identity = false;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        let mut roots = Vec::new();
        for f in &files {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".crt") {
                let pem = std::fs::read(f).map_err(|e| bad(format!("cannot read {}: {e}", f.display())))?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| bad(format!("{} is not a PEM certificate ({e})", f.display())))?;
                if certs.is_empty() {
                    return Err(bad(format!("{} holds no PEM certificate", f.display())));
                }
                roots.extend(certs);
            }
        }
        if !roots.is_empty() {
            has_ca = true;
            builder = builder.tls_certs_merge(roots);
        }
        for f in &files {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(stem) = name.strip_suffix(".cert") {
                let key = dir.join(format!("{stem}.key"));
                let mut pem =
                    std::fs::read(f).map_err(|e| bad(format!("cannot read {}: {e}", f.display())))?;
                let key_pem = std::fs::read(&key).map_err(|e| {
                    bad(format!("client certificate {} has no key {} ({e})", f.display(), key.display()))
                })?;
                pem.push(b'\n');
                pem.extend_from_slice(&key_pem);
                let identity = reqwest::Identity::from_pem(&pem)
                    .map_err(|e| bad(format!("cannot use client certificate {} ({e})", f.display())))?;
                builder = builder.identity(identity);
                client_identity = true;
                break;
            }
        }
    }
    let may_use_http = insecure && !has_ca;
    if may_use_http {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    let client = builder.build().map_err(|e| bad(format!("cannot set up TLS for {registry}: {e}")))?;
    Ok(TlsSetup { client, may_use_http, client_identity })
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
    contacted: AtomicBool,
    client: reqwest::Client,
    /// Whether `client` presents a client certificate (for the error
    /// message when the registry refuses the handshake).
    client_identity: bool,
    /// `certs.d/<registry>`, named in TLS error messages.
    certs_dir: std::path::PathBuf,
    realm_client: reqwest::Client,
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
    /// Docker Hub's mirrors from daemon.json, asked before the origin.
    mirrors: Vec<Arc<Host>>,
    /// A mirror that could not be reached: not asked again this run.
    down: AtomicBool,
    /// Set when a connection could not be made even after the retries: the
    /// registry is down, and the rest of its images fail at once with the
    /// same reason instead of each waiting through its own retries.
    unreachable: std::sync::OnceLock<RegistryError>,
}

impl Host {
    pub fn scheme(&self) -> Scheme {
        if self.scheme.load(Ordering::Relaxed) == Scheme::Http as u8 {
            Scheme::Http
        } else {
            Scheme::Https
        }
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
    pub async fn manifest(&self, repository: &str, digest: &str) -> Result<Manifest, RegistryError> {
        self.mirrors_first(|h| Box::pin(h.manifest_here(repository, digest))).await
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

    fn login_name(&self) -> &str {
        if self.registry == crate::core::reference::DOCKER_HUB {
            ""
        } else {
            &self.registry
        }
    }

    fn login_hint(&self) -> String {
        if self.registry == crate::core::reference::DOCKER_HUB {
            "run 'docker login'".into()
        } else {
            format!("run 'docker login {}'", self.registry)
        }
    }

    /// Sends one request with authentication, retries and scheme fallback.
    /// Returns any response that is not 401, 429 or 5xx (after retries).
    async fn send(
        &self,
        method: Method,
        path: &str,
        repository: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut attempt: u32 = 0;
        let mut auth_retries = 0;
        // One scheme fallback per request: a registry that is down must not
        // make us alternate between HTTPS and HTTP forever.
        let mut switched = false;
        loop {
            if let Some(e) = self.unreachable.get() {
                return Err(e.clone());
            }
            let (auth, generation) = self.authorization(repository).await?;
            let scheme = self.scheme();
            let url = format!("{}://{}{}", scheme.as_str(), self.api, path);
            let mut req = self.client.request(method.clone(), &url).header(ACCEPT, MANIFEST_ACCEPT);
            if let Some(a) = &auth {
                req = req.header(AUTHORIZATION, a.expose());
            }
            let started = Instant::now();
            self.requests.fetch_add(1, Ordering::Relaxed);
            let result = req.send().await;
            match result {
                Err(e) => {
                    let first_contact = !self.contacted.load(Ordering::Relaxed);
                    if self.verbose {
                        eprintln!(
                            "{method} {url} -> {} ({} ms)",
                            describe_reqwest(&e),
                            started.elapsed().as_millis()
                        );
                    }
                    if first_contact
                        && !switched
                        && self.may_switch_scheme
                        && (e.is_connect() || e.is_request())
                        && self.switch_scheme(scheme)
                    {
                        switched = true;
                        continue;
                    }
                    if let Some(problem) = self.tls_problem(&e) {
                        // Retrying cannot change a certificate.
                        return Err(err(ErrorKind::Unreachable, problem));
                    }
                    if attempt < self.retries {
                        attempt += 1;
                        tokio::time::sleep(backoff(attempt, REGISTRY_BACKOFF_MS)).await;
                        continue;
                    }
                    let what = if e.is_timeout() {
                        format!("no answer from {} within {}s", self.registry, self.timeout.as_secs_f64())
                    } else if let Some(hint) = self.closed_tls_hint(scheme, &e) {
                        hint
                    } else {
                        format!("cannot reach {}: {}", self.registry, describe_reqwest(&e))
                    };
                    let failure = err(ErrorKind::Unreachable, what);
                    if e.is_connect() {
                        let _ = self.unreachable.set(failure.clone());
                    }
                    return Err(failure);
                }
                Ok(resp) => {
                    let status = resp.status();
                    if self.verbose {
                        eprintln!(
                            "{method} {url} -> {} ({} ms){}",
                            status_text(status),
                            started.elapsed().as_millis(),
                            rate_text(resp.headers())
                        );
                    }
                    self.note_rate_limit(resp.headers());
                    // A TLS registry on a loopback port answers plain HTTP with 400.
                    if status == StatusCode::BAD_REQUEST
                        && scheme == Scheme::Http
                        && !self.contacted.load(Ordering::Relaxed)
                        && !switched
                        && self.may_switch_scheme
                        && self.switch_scheme(scheme)
                    {
                        switched = true;
                        continue;
                    }
                    self.contacted.store(true, Ordering::Relaxed);
                    if status == StatusCode::UNAUTHORIZED {
                        if auth_retries >= 2 {
                            return Err(self.refused(auth.is_some()).await);
                        }
                        auth_retries += 1;
                        let challenge = resp
                            .headers()
                            .get(WWW_AUTHENTICATE)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        self.learn(challenge.as_deref(), repository, generation, auth.is_some()).await?;
                        continue;
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.slow_down();
                        let wait = retry_after(resp.headers());
                        if attempt < self.retries && wait.is_none_or(|w| w <= MAX_RETRY_WAIT) {
                            attempt += 1;
                            tokio::time::sleep(
                                wait.unwrap_or_else(|| backoff(attempt + 2, REGISTRY_BACKOFF_MS)),
                            )
                            .await;
                            continue;
                        }
                        let when = wait
                            .map(|w| format!("; the registry asks to wait {}s", w.as_secs()))
                            .unwrap_or_default();
                        return Err(err(
                            ErrorKind::RateLimited,
                            format!(
                                "registry {} answered 429 Too Many Requests{when}: try again later",
                                self.registry
                            ),
                        ));
                    }
                    if status.is_server_error() {
                        if attempt < self.retries {
                            attempt += 1;
                            tokio::time::sleep(backoff(attempt, REGISTRY_BACKOFF_MS)).await;
                            continue;
                        }
                        return Err(err(
                            ErrorKind::BadResponse,
                            format!("registry {} answered {}", self.registry, status_text(status)),
                        ));
                    }
                    return Ok(resp);
                }
            }
        }
    }

    /// A failed TLS handshake about certificates, in words that say which
    /// file to fix; None for any other failure.
    fn tls_problem(&self, e: &reqwest::Error) -> Option<String> {
        let tls = rustls_error(e)?;
        let dir = self.certs_dir.display();
        match tls {
            rustls::Error::InvalidCertificate(_) => Some(format!(
                "cannot verify the TLS certificate of {} ({tls}): put the CA that signed it in {dir}/ca.crt",
                self.registry
            )),
            rustls::Error::AlertReceived(
                rustls::AlertDescription::CertificateRequired
                | rustls::AlertDescription::BadCertificate
                | rustls::AlertDescription::UnknownCA
                | rustls::AlertDescription::CertificateUnknown
                | rustls::AlertDescription::UnsupportedCertificate
                | rustls::AlertDescription::CertificateExpired
                | rustls::AlertDescription::CertificateRevoked,
            ) => Some(if self.client_identity {
                format!(
                    "registry {} refused our TLS client certificate ({tls}): replace client.cert and client.key in {dir}",
                    self.registry
                )
            } else {
                format!(
                    "registry {} requires a TLS client certificate ({tls}): put client.cert and client.key in {dir}",
                    self.registry
                )
            }),
            _ => None,
        }
    }

    /// Over TLS 1.3 a server checks the client certificate after the
    /// handshake, so its refusal reaches us as a connection closed before
    /// any answer (or an alert that only survives as text): say what the
    /// likely cause is.
    fn closed_tls_hint(&self, scheme: Scheme, e: &reqwest::Error) -> Option<String> {
        if scheme != Scheme::Https {
            return None;
        }
        let text = describe_reqwest(e);
        let lower = text.to_ascii_lowercase();
        let cert_alert = [
            "badcertificate",
            "certificaterequired",
            "unknownca",
            "certificateunknown",
            "unsupportedcertificate",
            "certificateexpired",
            "certificaterevoked",
        ]
        .iter()
        .any(|a| lower.contains(a));
        let closed = ["channel closed", "connection closed", "broken pipe"].iter().any(|c| lower.contains(c));
        let dir = self.certs_dir.display();
        if self.client_identity {
            cert_alert.then(|| {
                format!(
                    "registry {} refused our TLS client certificate ({text}): replace client.cert and client.key in {dir}",
                    self.registry
                )
            })
        } else {
            (cert_alert || closed).then(|| {
                format!(
                    "registry {} closed the TLS connection without answering ({text}): if it requires a client \
                     certificate, put client.cert and client.key in {dir}",
                    self.registry
                )
            })
        }
    }

    fn switch_scheme(&self, from: Scheme) -> bool {
        let to = match from {
            Scheme::Https => Scheme::Http,
            Scheme::Http => Scheme::Https,
        };
        self.scheme.compare_exchange(from as u8, to as u8, Ordering::Relaxed, Ordering::Relaxed).is_ok()
            || self.scheme() == to
    }

    /// On 429, halve the requests in flight to this registry (to at least 1).
    fn slow_down(&self) {
        let now = self.limit_now.load(Ordering::Relaxed);
        if now > 1 {
            let target = now / 2;
            if self.limit_now.compare_exchange(now, target, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                let limit = self.limit.clone();
                let drop_n = (now - target) as u32;
                // Permits held right now are retired as they come back.
                tokio::spawn(async move {
                    if let Ok(p) = limit.acquire_many(drop_n).await {
                        p.forget();
                    }
                });
            }
        }
    }

    fn note_rate_limit(&self, headers: &HeaderMap) {
        let parse = |name: &str| -> (Option<u64>, Option<u64>) {
            let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) else { return (None, None) };
            let mut parts = v.split(';');
            let n = parts.next().and_then(|n| n.trim().parse().ok());
            let w = parts.find_map(|p| p.trim().strip_prefix("w=").and_then(|w| w.parse().ok()));
            (n, w)
        };
        let (limit, w1) = parse("ratelimit-limit");
        let (remaining, w2) = parse("ratelimit-remaining");
        if limit.is_some() || remaining.is_some() {
            *self.rate.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(RateLimit { limit, remaining, window_seconds: w1.or(w2) });
        }
    }

    async fn credentials(&self) -> Result<Option<Found>, RegistryError> {
        self.creds
            .get_or_init(|| async { self.creds_store.lookup(&self.registry).await })
            .await
            .clone()
            .map_err(|e| err(ErrorKind::Unauthorized, e))
    }

    /// The Authorization header for a repository, fetching a token when the
    /// registry wants one and we have none (or it expired).
    async fn authorization(&self, repository: &str) -> Result<(Option<Secret>, u64), RegistryError> {
        let mut state = self.auth.lock().await;
        match state.mode.clone() {
            AuthMode::Anonymous => Ok((None, state.generation)),
            AuthMode::Basic(h) => Ok((Some(h), state.generation)),
            AuthMode::Bearer { realm, service } => {
                if let Some(e) = state.denied.get(repository) {
                    return Err(e.clone());
                }
                let fresh = state
                    .tokens
                    .get(repository)
                    .filter(|t| t.expires > Instant::now() + Duration::from_secs(5));
                if let Some(t) = fresh {
                    return Ok((Some(bearer(&t.value)), state.generation));
                }
                let token = self.fetch_token(&realm, service.as_deref(), &[repository.to_string()]).await;
                match token {
                    Ok(t) => {
                        state.tokens.insert(repository.to_string(), t.clone());
                        Ok((Some(bearer(&t.value)), state.generation))
                    }
                    Err(e) => {
                        state.denied.insert(repository.to_string(), e.clone());
                        Err(e)
                    }
                }
            }
        }
    }

    /// Handles a 401: learns the challenge (first time) or gets a fresh
    /// token for this repository (token rejected).
    async fn learn(
        &self,
        challenge: Option<&str>,
        repository: &str,
        used_generation: u64,
        sent_auth: bool,
    ) -> Result<(), RegistryError> {
        let mut state = self.auth.lock().await;
        if state.generation != used_generation {
            // Someone else already changed the credentials: just retry.
            return Ok(());
        }
        let parsed = challenge.and_then(parse_challenge);
        match parsed {
            Some(Challenge::Basic) => {
                if matches!(state.mode, AuthMode::Basic(_)) {
                    return Err(self.refused(true).await);
                }
                match self.credentials().await? {
                    Some(Found { credential: Credential::Basic { username, password }, .. }) => {
                        let raw = format!("{username}:{}", password.expose());
                        let value =
                            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw));
                        state.mode = AuthMode::Basic(Secret::new(value));
                    }
                    Some(Found { credential: Credential::RegistryToken(t), .. }) => {
                        state.mode = AuthMode::Basic(bearer(&t));
                    }
                    _ => return Err(self.refused(false).await),
                }
            }
            Some(Challenge::Bearer { realm, service }) => {
                let known = matches!(&state.mode, AuthMode::Bearer { realm: r, .. } if *r == realm);
                if known && sent_auth {
                    // Our token was refused (expired, or did not cover this
                    // repository): one fresh token for it alone.
                    let t = self.fetch_token(&realm, service.as_deref(), &[repository.to_string()]).await?;
                    state.tokens.insert(repository.to_string(), t);
                } else {
                    state.mode = AuthMode::Bearer { realm: realm.clone(), service: service.clone() };
                    state.tokens.clear();
                    state.denied.clear();
                    self.prefetch_tokens(&mut state, &realm, service.as_deref(), repository).await?;
                }
            }
            None => {
                return Err(err(
                    ErrorKind::Unauthorized,
                    format!(
                        "registry {} answered 401 without a usable authentication challenge",
                        self.registry
                    ),
                ))
            }
        }
        state.generation += 1;
        Ok(())
    }

    /// One token request per batch of repositories (several `scope`
    /// parameters each), so a registry with many repositories costs one
    /// authentication, not one per repository.
    async fn prefetch_tokens(
        &self,
        state: &mut AuthState,
        realm: &str,
        service: Option<&str>,
        first: &str,
    ) -> Result<(), RegistryError> {
        let mut repos: Vec<String> = vec![first.to_string()];
        repos.extend(self.repositories.iter().filter(|r| r.as_str() != first).cloned());
        let mut batches: Vec<Vec<String>> = Vec::new();
        let mut len = realm.len() + 64;
        for r in repos {
            let cost = r.len() + 32;
            match batches.last_mut() {
                Some(b) if len + cost <= MAX_TOKEN_URL => b.push(r),
                _ => {
                    batches.push(vec![r]);
                    len = realm.len() + 64;
                }
            }
            len += cost;
        }
        let results =
            futures_util::future::join_all(batches.iter().map(|b| self.fetch_token(realm, service, b))).await;
        for (batch, result) in batches.iter().zip(results) {
            match result {
                Ok(t) => {
                    for r in batch {
                        state.tokens.insert(r.clone(), t.clone());
                    }
                }
                // The first repository's failure is the caller's answer; the
                // others get their own token (or error) when they ask.
                Err(e) if batch.iter().any(|r| r == first) => return Err(e),
                Err(_) => {}
            }
        }
        Ok(())
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        repositories: &[String],
    ) -> Result<Token, RegistryError> {
        let creds = self.credentials().await?;
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(s) = service {
            query.push(("service", s.to_string()));
        }
        for r in repositories {
            query.push(("scope", format!("repository:{r}:pull")));
        }
        let client =
            if url_host(realm) == Some(self.api.as_str()) { &self.client } else { &self.realm_client };
        let mut attempt = 0;
        loop {
            let req = match &creds {
                Some(Found { credential: Credential::IdentityToken(token), .. }) => {
                    let mut form = query.clone();
                    form.push(("grant_type", "refresh_token".into()));
                    form.push(("refresh_token", token.expose().to_string()));
                    form.push(("client_id", "freshen".into()));
                    let body = form
                        .iter()
                        .map(|(k, v)| format!("{}={}", k, urlencode(v)))
                        .collect::<Vec<_>>()
                        .join("&");
                    client.post(realm).header("content-type", "application/x-www-form-urlencoded").body(body)
                }
                Some(Found { credential: Credential::Basic { username, password }, .. }) => {
                    client.get(token_url(realm, &query)).basic_auth(username, Some(password.expose()))
                }
                _ => client.get(token_url(realm, &query)),
            };
            self.requests.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let result = req.send().await;
            if self.verbose {
                let outcome = match &result {
                    Ok(r) => status_text(r.status()),
                    Err(e) => describe_reqwest(e),
                };
                eprintln!(
                    "token {} ({} repositories) -> {outcome} ({} ms)",
                    strip_query(realm),
                    repositories.len(),
                    started.elapsed().as_millis()
                );
            }
            let retryable = match &result {
                Err(_) => true,
                Ok(r) => r.status().is_server_error() || r.status() == StatusCode::TOO_MANY_REQUESTS,
            };
            if retryable && attempt < self.retries {
                attempt += 1;
                tokio::time::sleep(backoff(attempt, REGISTRY_BACKOFF_MS)).await;
                continue;
            }
            let resp = result.map_err(|e| {
                err(
                    ErrorKind::Unreachable,
                    format!("cannot reach the token server of {}: {}", self.registry, describe_reqwest(&e)),
                )
            })?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                return Err(match &creds {
                    Some(f) => err(
                        ErrorKind::Unauthorized,
                        format!(
                            "registry {} refused the credentials from {}: {}",
                            self.registry,
                            f.source,
                            self.login_hint()
                        ),
                    ),
                    None => err(
                        ErrorKind::Unauthorized,
                        format!(
                            "registry {} requires credentials for {}: {}",
                            self.registry,
                            repositories.join(", "),
                            self.login_hint()
                        ),
                    ),
                });
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                return Err(err(
                    ErrorKind::RateLimited,
                    format!("the token server of {} answered 429: try again later", self.registry),
                ));
            }
            if !status.is_success() {
                return Err(err(
                    ErrorKind::BadResponse,
                    format!("the token server of {} answered {}", self.registry, status_text(status)),
                ));
            }
            let body = read_limited(resp, MAX_TOKEN_BYTES).await?;
            let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
                err(
                    ErrorKind::BadResponse,
                    format!("the token server of {} sent something that is not a token", self.registry),
                )
            })?;
            let (token, lifetime) = answer.into_token().ok_or_else(|| {
                err(ErrorKind::BadResponse, format!("the token server of {} sent no token", self.registry))
            })?;
            // Renew at 90% of the lifetime so a token never expires mid-request.
            let lifetime = Duration::from_secs(lifetime).mul_f64(0.9);
            return Ok(Token { value: Secret::new(token), expires: Instant::now() + lifetime });
        }
    }

    async fn refused(&self, sent_credentials: bool) -> RegistryError {
        if sent_credentials {
            let source = match self.credentials().await {
                Ok(Some(f)) => f.source,
                _ => "the configured credentials".into(),
            };
            err(
                ErrorKind::Unauthorized,
                format!(
                    "registry {} refused the credentials from {source}: {}",
                    self.registry,
                    self.login_hint()
                ),
            )
        } else {
            err(
                ErrorKind::Unauthorized,
                format!("registry {} requires credentials: {}", self.registry, self.login_hint()),
            )
        }
    }
}

/// The rustls error somewhere down a reqwest error's sources (rustls
/// errors travel wrapped in one or more `std::io::Error`s, whose `source()`
/// skips the wrapped error itself).
fn rustls_error(e: &reqwest::Error) -> Option<&rustls::Error> {
    fn within<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        let io = e.downcast_ref::<std::io::Error>()?;
        within(io.get_ref()?)
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(t) = within(s) {
            return Some(t);
        }
        src = s.source();
    }
    None
}

/// The origin's error, with what the mirrors said before it.
fn after_mirrors(mut e: RegistryError, notes: &[String]) -> RegistryError {
    if !notes.is_empty() {
        e.message = format!("{} ({})", e.message, notes.join("; "));
    }
    e
}

fn bearer(token: &Secret) -> Secret {
    Secret::new(format!("Bearer {}", token.expose()))
}

fn token_url(realm: &str, query: &[(&str, String)]) -> String {
    let mut url = realm.to_string();
    let mut sep = if realm.contains('?') { '&' } else { '?' };
    for (k, v) in query {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.push_str(&urlencode(v));
        sep = '&';
    }
    url
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?']).next().unwrap_or(rest))
}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let now = time::OffsetDateTime::now_utc();
    Some(Duration::from_secs((when - now).whole_seconds().max(0) as u64))
}

fn rate_text(headers: &HeaderMap) -> String {
    match headers.get("ratelimit-remaining").and_then(|v| v.to_str().ok()) {
        Some(r) => format!(" [rate limit remaining {r}]"),
        None => String::new(),
    }
}

fn status_text(s: StatusCode) -> String {
    match s.canonical_reason() {
        Some(r) => format!("{} {r}", s.as_u16()),
        None => s.as_u16().to_string(),
    }
}

/// A reqwest error on one line: what kind of failure, and the innermost
/// distinct part of its cause (connection refused, certificate unknown).
fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for t in net::causes(e) {
        if !t.is_empty() && !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
    }
    let inner = parts.last().cloned();
    let base = match net::failure(e) {
        Failure::Timeout => "timed out",
        Failure::Connect => "connection failed",
        Failure::Body => "connection broke while reading the answer",
        Failure::Other => "request failed",
    };
    match inner {
        Some(i) if !i.contains("operation timed out") || !e.is_timeout() => {
            format!("{base} ({})", printable(&i))
        }
        _ => base.to_string(),
    }
}

/// Keeps registry-controlled text short and on one line.
fn printable(s: &str) -> String {
    let clean: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if clean.chars().count() > 120 {
        format!("{}…", clean.chars().take(120).collect::<String>())
    } else {
        clean
    }
}

/// Reads a manifest or token answer of at most `limit` bytes.
async fn read_limited(resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, RegistryError> {
    net::read_capped(resp, limit).await.map_err(|e| match e {
        CapError::TooBig { announced: Some(n) } => err(
            ErrorKind::BadResponse,
            format!("registry sent a {n} byte answer, more than the {limit} bytes a manifest may have"),
        ),
        CapError::TooBig { announced: None } => err(
            ErrorKind::BadResponse,
            format!("registry sent more than the {limit} bytes a manifest may have"),
        ),
        CapError::CutOff(e) => {
            err(ErrorKind::BadResponse, format!("the answer was cut off: {}", describe_reqwest(&e)))
        }
    })
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
