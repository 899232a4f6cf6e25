//! Registries for the tests: real `docker-registry` processes on loopback,
//! hand-written manifest operations through the distribution API, and a fake
//! registry that refuses requests the way real ones do (401, 429, 500).
//!
//! A real registry is started through a small `sh` watchdog that holds the
//! read end of a pipe whose write end lives in this process. When the test
//! process exits for whatever reason (success, panic, SIGKILL) the kernel
//! closes the write end, the watchdog reads EOF, kills the registry and
//! removes its storage. No registry outlives the test binary that started it.

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::http;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

const ACCEPT_ALL: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// A real `docker-registry serve` on `127.0.0.1:PORT`.
pub struct Registry {
    host: String,
    process: Mutex<Option<(Child, ChildStdin)>>,
}

/// The one registry shared by every test of this binary.
pub fn shared() -> &'static Registry {
    static SHARED: OnceLock<Registry> = OnceLock::new();
    SHARED.get_or_init(Registry::start)
}

/// A loopback `host:port` where nothing listens: connections are refused.
/// Taken below the kernel's ephemeral range (32768 and up on Linux), where
/// neither `bind(…:0)` (registries, proxies) nor the engine's published
/// ports land, so no other test can start listening there meanwhile (a
/// released ephemeral port was taken by a parallel test once).
pub fn dead_host() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let seed = std::process::id() as usize + NEXT.fetch_add(1, Ordering::Relaxed) * 7919;
    for i in 0..1000 {
        let port = 20000 + (seed + i * 13) % 12000;
        let addr = format!("127.0.0.1:{port}");
        let free = TcpListener::bind(&addr).is_ok();
        if free && TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_millis(200)).is_err() {
            return addr;
        }
    }
    panic!("no free loopback port below the ephemeral range")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().unwrap().port()
}

/// How to configure a registry beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// A storage directory owned by the test, so that two registries (one
    /// plain for `docker push`, one configured as under test) can serve
    /// the same repositories; a fresh private one when None.
    pub storage: Option<PathBuf>,
    /// Extra YAML inside `http:` (indented by two spaces), e.g. `tls:`.
    pub http: String,
    /// Extra top-level YAML, e.g. `auth:`.
    pub rest: String,
}

/// A manifest as the registry serves it.
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
    pub body: Vec<u8>,
}

/// Ends the test binary with one line when the registry program is not
/// installed: every test that needs a registry would fail the same way.
fn ensure_installed(binary: &str) {
    static CHECKED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    CHECKED.get_or_init(|| {
        let found = if binary.contains('/') {
            std::path::Path::new(binary).is_file()
        } else {
            std::env::var_os("PATH")
                .map(|path| std::env::split_paths(&path).any(|dir| dir.join(binary).is_file()))
                .unwrap_or(false)
        };
        if !found {
            super::docker::missing(&format!(
                "{binary} (the distribution registry) is not installed; `.ci/run` installs it \
                 (or: apt-get install docker-registry)"
            ));
        }
    });
}

impl Registry {
    /// Starts an independent registry with its own storage. Dropping it (or
    /// calling [`Registry::stop`]) stops it.
    pub fn start() -> Registry {
        Registry::start_with(&Setup::default())
    }

    /// Starts a registry configured by `setup` (TLS, authentication, shared
    /// storage). It counts as started once it answers `GET /v2/` over plain
    /// HTTP at all: 200, or the 400 of a TLS port, or the 401 of one that
    /// wants credentials.
    pub fn start_with(setup: &Setup) -> Registry {
        let binary =
            std::env::var("FRESHEN_TEST_REGISTRY_BIN").unwrap_or_else(|_| "docker-registry".to_string());
        ensure_installed(&binary);
        let mut last_error = String::new();
        // A port picked by binding port 0 can be taken by someone else before
        // the registry binds it: retry with a fresh port.
        for _attempt in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("freshen-test-registry-")
                .tempdir()
                .expect("create registry dir")
                .keep();
            let port = free_port();
            let host = format!("127.0.0.1:{port}");
            let config = dir.join("config.yml");
            let storage = setup.storage.clone().unwrap_or_else(|| dir.join("storage"));
            fs::create_dir_all(&storage).unwrap();
            fs::write(
                &config,
                format!(
                    "version: 0.1\n\
                     log:\n  level: warn\n  accesslog:\n    disabled: true\n\
                     storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n\
                     http:\n  addr: {host}\n{http}{rest}",
                    storage = storage.display(),
                    http = setup.http,
                    rest = setup.rest,
                ),
            )
            .unwrap();
            let log_path = dir.join("registry.log");
            let log = fs::File::create(&log_path).unwrap();
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(
                    r#"dir="$1"; shift
exec 3<&0
"$@" </dev/null 3<&- &
pid=$!
{ cat <&3 >/dev/null; kill "$pid" 2>/dev/null; } &
wait "$pid"
rm -rf "$dir""#,
                )
                .arg("sh")
                .arg(&dir)
                .arg(&binary)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::piped())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|err| panic!("cannot start `sh` for {binary}: {err}"));
            let stdin = child.stdin.take().unwrap();

            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if let Ok(response) = http::request("GET", &host, "/v2/", &[], b"") {
                    if matches!(response.status, 200 | 400 | 401) {
                        return Registry { host, process: Mutex::new(Some((child, stdin))) };
                    }
                }
                let exited = child.try_wait().unwrap().is_some();
                if exited || Instant::now() > deadline {
                    let log = read_log(&log_path);
                    drop(stdin);
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = fs::remove_dir_all(&dir);
                    last_error = format!(
                        "{binary} on {host} {}; its log:\n{log}",
                        if exited { "exited" } else { "did not answer GET /v2/ within 15s" }
                    );
                    break;
                }
                thread::sleep(Duration::from_millis(25));
            }
        }
        panic!(
            "could not start a test registry (is docker-registry installed? .ci/run installs it): {last_error}"
        );
    }

    /// `127.0.0.1:PORT`, the registry part of image references.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Stops the registry and waits until its port refuses connections.
    pub fn stop(&self) {
        let Some((mut child, stdin)) = self.process.lock().unwrap().take() else {
            return;
        };
        drop(stdin);
        let _ = child.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&self.host).is_ok() {
            assert!(Instant::now() < deadline, "registry {} still listens after stop", self.host);
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> http::Response {
        http::request(method, &self.host, path, headers, body)
            .unwrap_or_else(|err| panic!("{method} http://{}{path}: {err}", self.host))
    }

    /// GETs a manifest (any of the four media types) by tag or digest.
    pub fn manifest(&self, repository: &str, reference: &str) -> Manifest {
        let path = format!("/v2/{repository}/manifests/{reference}");
        let response = self.call("GET", &path, &[("Accept", ACCEPT_ALL)], b"");
        assert_eq!(response.status, 200, "GET {}{path}: {}", self.host, response.text());
        Manifest {
            digest: response
                .header("Docker-Content-Digest")
                .expect("registry sends Docker-Content-Digest")
                .to_string(),
            media_type: response.header("Content-Type").expect("registry sends Content-Type").to_string(),
            body: response.body,
        }
    }

    /// Whether the tag (or digest) currently exists in the registry.
    pub fn has_manifest(&self, repository: &str, reference: &str) -> bool {
        let path = format!("/v2/{repository}/manifests/{reference}");
        let response = self.call("HEAD", &path, &[("Accept", ACCEPT_ALL)], b"");
        match response.status {
            200 => true,
            404 => false,
            other => panic!("HEAD {}{path}: unexpected status {other}", self.host),
        }
    }

    /// PUTs a manifest under a tag and returns the digest the registry
    /// computed for it.
    pub fn put_manifest(&self, repository: &str, tag: &str, media_type: &str, body: &[u8]) -> String {
        let path = format!("/v2/{repository}/manifests/{tag}");
        let response = self.call("PUT", &path, &[("Content-Type", media_type)], body);
        assert_eq!(response.status, 201, "PUT {}{path}: {}", self.host, response.text());
        response
            .header("Docker-Content-Digest")
            .expect("registry sends Docker-Content-Digest on PUT")
            .to_string()
    }

    /// Points `to` at whatever `from` points at, without touching any local
    /// image (the way a CI pipeline moves a tag).
    pub fn copy_tag(&self, repository: &str, from: &str, to: &str) -> String {
        let manifest = self.manifest(repository, from);
        self.put_manifest(repository, to, &manifest.media_type, &manifest.body)
    }

    /// Deletes a manifest by digest; every tag that pointed at it disappears.
    pub fn delete_manifest(&self, repository: &str, digest: &str) {
        let path = format!("/v2/{repository}/manifests/{digest}");
        let response = self.call("DELETE", &path, &[], b"");
        assert_eq!(response.status, 202, "DELETE {}{path}: {}", self.host, response.text());
    }

    /// PUTs a multi-platform index under `tag`. Each entry names a platform
    /// (`linux/amd64`, `linux/arm64/v8`) and a tag or digest of a
    /// single-platform manifest already in the same repository. With
    /// `media_type` = [`OCI_INDEX`] or [`DOCKER_LIST`].
    pub fn put_index(
        &self,
        repository: &str,
        tag: &str,
        media_type: &str,
        entries: &[(&str, &str)],
    ) -> String {
        let manifests: Vec<Value> = entries
            .iter()
            .map(|(platform, reference)| {
                let manifest = self.manifest(repository, reference);
                let mut parts = platform.split('/');
                let os = parts.next().unwrap();
                let architecture = parts.next().expect("platform is os/arch[/variant]");
                let mut platform = json!({ "os": os, "architecture": architecture });
                if let Some(variant) = parts.next() {
                    platform["variant"] = json!(variant);
                }
                json!({
                    "mediaType": manifest.media_type,
                    "digest": manifest.digest,
                    "size": manifest.body.len(),
                    "platform": platform,
                })
            })
            .collect();
        let index = json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": manifests,
        });
        let body = serde_json::to_vec_pretty(&index).unwrap();
        self.put_manifest(repository, tag, media_type, &body)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

fn read_log(path: &PathBuf) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    text
}

/// How a [`FakeRegistry`] answers requests for one repository.
#[derive(Clone)]
pub struct Refusal {
    pub repository: String,
    pub status: u16,
    pub reason: &'static str,
    pub headers: Vec<(String, String)>,
}

impl Refusal {
    pub fn new(repository: &str, status: u16, reason: &'static str) -> Refusal {
        Refusal { repository: repository.to_string(), status, reason, headers: Vec::new() }
    }

    pub fn header(mut self, name: &str, value: &str) -> Refusal {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// Starts a registry impostor on `host` (typically the address of a real
/// registry that was just stopped, so local images carry RepoDigests for
/// it): `GET /v2/` succeeds, requests under `/v2/REPOSITORY/` get the
/// matching [`Refusal`], anything else a 404. It serves until the test
/// process exits. Returns the number of requests answered so far.
pub fn start_fake(host: &str, refusals: Vec<Refusal>) -> Arc<AtomicUsize> {
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    let deadline = Instant::now() + Duration::from_secs(10);
    let listener = loop {
        match TcpListener::bind(host) {
            Ok(listener) => break listener,
            Err(err) if Instant::now() > deadline => {
                panic!("cannot bind {host} for a fake registry: {err}")
            }
            Err(_) => thread::sleep(Duration::from_millis(50)),
        }
    };
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let refusals = refusals.clone();
            let counter = Arc::clone(&counter);
            thread::spawn(move || serve_fake(stream, &refusals, &counter));
        }
    });
    requests
}

fn fake_answer(head: &str, refusals: &[Refusal]) -> String {
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or_default();
    let path = words.next().unwrap_or_default();
    let refusal = refusals.iter().find(|refusal| path.starts_with(&format!("/v2/{}/", refusal.repository)));
    let (status, reason, headers, code) = match refusal {
        Some(refusal) => {
            let code = match refusal.status {
                401 => "UNAUTHORIZED",
                403 => "DENIED",
                429 => "TOOMANYREQUESTS",
                _ => "UNKNOWN",
            };
            (refusal.status, refusal.reason, refusal.headers.as_slice(), code)
        }
        None if path == "/v2/" || path == "/v2" => (200, "OK", &[][..], ""),
        None => (404, "Not Found", &[][..], "NAME_UNKNOWN"),
    };
    let body = if code.is_empty() {
        "{}".to_string()
    } else {
        format!(r#"{{"errors":[{{"code":"{code}","message":"{reason}"}}]}}"#)
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Docker-Distribution-Api-Version: registry/2.0\r\n\
         Content-Type: application/json\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    if method != "HEAD" {
        response.push_str(&body);
    }
    response
}

fn serve_fake(stream: TcpStream, refusals: &[Refusal], requests: &AtomicUsize) {
    serve_requests(stream, |head| {
        requests.fetch_add(1, Ordering::SeqCst);
        fake_answer(head, refusals).into_bytes()
    });
}

/// Answers each request head (bodiless requests only) on one connection
/// until the client closes it, so a client that reuses connections sees a
/// normal server.
pub fn serve_requests(mut stream: TcpStream, mut answer: impl FnMut(&str) -> Vec<u8>) {
    use std::io::Write;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut pending = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            pending.drain(..end + 4);
            if stream.write_all(&answer(&head)).is_err() {
                return;
            }
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&buffer[..n]),
        }
    }
}
