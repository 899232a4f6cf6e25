//! Registries as users run them, and registries that misbehave: the real
//! `docker-registry` serving TLS with a private CA, demanding client
//! certificates, Basic auth (htpasswd) and token auth (with the test's own
//! token server), a Docker Hub mirror, and a fault-injecting proxy in front
//! of the real registry. Each test drives the real `freshen` binary and
//! asserts what it records, prints and never prints (credentials).
//!
//! Fixtures are pushed to a plain registry; the registry under test serves
//! the same storage directory, so no credentials or certificates have to
//! be given to the shared Docker daemon.

// The harness is shared by every test binary; this one uses part of it.
#[allow(dead_code)]
mod support;

#[path = "registries/pki.rs"]
mod pki;
#[path = "registries/proxy.rs"]
mod proxy;
#[path = "registries/token.rs"]
mod token;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use proxy::{Fault, Proxy};
use support::registry::{self, Setup};
use support::{docker, failed_summary, upgradable_summary, Listing, Registry, Run, TestEnv};

const USER: &str = "freshen-user";
const PASSWORD: &str = "pa55-Wr0ng-h0rse-7f3a91";

fn root(t: &TestEnv) -> PathBuf {
    t.state_dir().parent().unwrap().to_path_buf()
}

fn certs_dir(t: &TestEnv) -> PathBuf {
    root(t).join("certs.d")
}

fn daemon_json(t: &TestEnv) -> PathBuf {
    root(t).join("daemon.json")
}

/// `freshen` with this test's certs.d and daemon.json (instead of the
/// host's /etc/docker).
fn freshen<'a>(t: &'a TestEnv) -> support::Freshen<'a> {
    t.freshen()
        .env("FRESHEN_CERTS_DIR", certs_dir(t).display().to_string())
        .env("FRESHEN_DAEMON_JSON", daemon_json(t).display().to_string())
}

/// `list --format json` with this test's settings.
fn list(t: &TestEnv, patterns: &[&str]) -> Listing {
    let run = freshen(t).args(["list", "--format", "json"]).args(patterns).run();
    run.expect_code(0);
    Listing::parse(&run.stdout)
}

/// A plain registry to push fixtures to, and the registry under test
/// serving the same storage.
struct Pair {
    _storage: tempfile::TempDir,
    plain: Registry,
    served: Registry,
}

impl Pair {
    fn start(http: &str, rest: &str) -> Pair {
        let storage = tempfile::Builder::new().prefix("freshen-test-storage-").tempdir().unwrap();
        let plain = Registry::start_with(&Setup { storage: Some(storage.path().to_path_buf()), ..Setup::default() });
        let served = Registry::start_with(&Setup {
            storage: Some(storage.path().to_path_buf()),
            http: http.to_string(),
            rest: rest.to_string(),
        });
        Pair { _storage: storage, plain, served }
    }

    /// Builds `name:tag` as the served registry's image and pushes it
    /// through the plain one. Returns the image id.
    fn publish(&self, t: &TestEnv, name: &str, tag: &str, version: &str) -> String {
        let served = t.reference(self.served.host(), name, tag);
        let id = t.build(&served, version);
        let plain = t.reference(self.plain.host(), name, tag);
        docker::tag(&served, &plain);
        docker::push(&plain);
        id
    }
}

/// Logs in with the docker CLI (a config directory of its own, not the
/// one freshen reads) and pushes, so the local images carry RepoDigests
/// for a registry that wants credentials, as pulled images do.
fn push_logged_in(t: &TestEnv, host: &str, references: &[String]) {
    let config = root(t).join("push-config");
    std::fs::create_dir_all(&config).unwrap();
    let cli = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = std::process::Command::new("docker");
        cmd.arg("--config").arg(&config).args(args);
        cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("run docker");
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap();
            if let Some(text) = stdin {
                input.write_all(text.as_bytes()).unwrap();
            }
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "docker {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    cli(&["login", "-u", USER, "--password-stdin", host], Some(PASSWORD));
    for r in references {
        cli(&["push", r], None);
    }
}

fn tls_config(server: &pki::Issued, client_ca: Option<&Path>) -> String {
    let mut s = format!(
        "  tls:\n    certificate: {}\n    key: {}\n",
        server.cert.display(),
        server.key.display()
    );
    if let Some(ca) = client_ca {
        s.push_str(&format!("    clientcas:\n      - {}\n", ca.display()));
    }
    s
}

fn install(t: &TestEnv, host: &str, files: &[(&Path, &str)]) {
    let dir = certs_dir(t).join(host);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (from, name) in files {
        std::fs::copy(from, dir.join(name)).unwrap();
    }
}

fn entry_error(listing: &Listing, reference: &str) -> String {
    let e = listing.get(reference);
    assert_eq!(e.status, "unknown", "{:#}", e.raw);
    e.error_text().to_string()
}

/// Asserts no secret appears in any output of `runs` nor in any file under
/// the state directory.
fn assert_no_secrets(t: &TestEnv, runs: &[&Run], secrets: &[String]) {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        for run in runs {
            assert!(!run.stdout.contains(secret.as_str()), "secret on stdout\n{run}");
            assert!(!run.stderr.contains(secret.as_str()), "secret on stderr\n{run}");
        }
        for file in t.state_files() {
            let bytes = std::fs::read(&file).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(secret.as_str()), "secret in {}", file.display());
        }
    }
}

fn basic(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

fn write_docker_config(t: &TestEnv, json: &Value) {
    std::fs::write(root(t).join("docker-config/config.json"), serde_json::to_vec_pretty(json).unwrap()).unwrap();
}

// ---------------------------------------------------------------------------
// TLS.

/// The real registry serving TLS with a certificate from a CA the test
/// made. A loopback registry is insecure by Docker's rule, so without a
/// certs.d entry freshen (like the daemon) accepts its certificate
/// unverified; with `certs.d/HOST/ca.crt` it verifies the certificate
/// against that CA and a certificate from another CA is an error that
/// names the file to fix.
#[test]
fn tls_with_a_private_ca() {
    let t = TestEnv::new("tls_with_a_private_ca");
    let pki_dir = root(&t).join("pki");
    let ca = pki::Ca::new(&pki_dir, "ca");
    let other = pki::Ca::new(&pki_dir, "other");
    let server = ca.issue("server", "serverAuth");
    let pair = Pair::start(&tls_config(&server, None), "");
    let host = pair.served.host().to_string();
    let app = t.reference(&host, "app", "1");
    let id = pair.publish(&t, "app", "1", "v1");
    let pattern = t.pattern(&host);

    // No certs.d entry: loopback, so unverified TLS, like the daemon.
    let run = freshen(&t).args(["update", "--format", "json", &pattern]).run();
    run.expect_code(0);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["registries"][&host]["scheme"], "https", "\n{run}");
    assert_eq!(list(&t, &[&pattern]).get(&app).status, "up-to-date");

    // The CA in certs.d: verified, and still up to date.
    install(&t, &host, &[(&ca.cert(), "ca.crt")]);
    let run = freshen(&t).args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(0), "\n{run}");
    let entry = list(&t, &[&pattern]);
    assert_eq!(entry.get(&app).status, "up-to-date");
    assert_eq!(entry.get(&app).image_id, id);

    // The tag moves: seen through verified TLS.
    let v2 = t.publish_remote(&pair.plain, "app", "1", "v2");
    freshen(&t).args(["update", &pattern]).run().expect_code(0);
    assert_eq!(list(&t, &[&pattern]).get(&app).remote_digest.as_deref(), Some(v2.digest.as_str()));

    // Another CA in certs.d: the certificate does not verify.
    install(&t, &host, &[(&other.cert(), "ca.crt")]);
    let run = freshen(&t).args(["update", &pattern]).run();
    run.expect_code(1);
    let dir = certs_dir(&t).join(&host);
    let expected = format!(
        "unreachable: cannot verify the TLS certificate of {host} (invalid peer certificate: UnknownIssuer): \
         put the CA that signed it in {}/ca.crt",
        dir.display()
    );
    assert_eq!(entry_error(&list(&t, &[&pattern]), &app), expected, "\n{run}");
    assert_eq!(run.warnings(), vec![format!("W: {}: {expected}", app.trim_start_matches("docker.io/"))], "\n{run}");
    assert_eq!(run.stdout_lines(), vec![failed_summary(1)], "\n{run}");

    // A ca.crt that is not a certificate: one line naming the file.
    std::fs::write(dir.join("ca.crt"), "not a certificate\n").unwrap();
    let run = freshen(&t).args(["update", &pattern]).run();
    run.expect_code(1);
    let error = entry_error(&list(&t, &[&pattern]), &app);
    assert_eq!(error, format!("bad response: {}/ca.crt holds no PEM certificate", dir.display()));
}

/// A registry that demands client certificates (`http.tls.clientcas`):
/// `client.cert`/`client.key` in certs.d are presented; without them the
/// error says to put them there.
#[test]
fn mutual_tls() {
    let t = TestEnv::new("mutual_tls");
    let pki_dir = root(&t).join("pki");
    let ca = pki::Ca::new(&pki_dir, "ca");
    let server = ca.issue("server", "serverAuth");
    let client = ca.issue("client", "clientAuth");
    let pair = Pair::start(&tls_config(&server, Some(&ca.cert())), "");
    let host = pair.served.host().to_string();
    let app = t.reference(&host, "app", "1");
    pair.publish(&t, "app", "1", "v1");
    let pattern = t.pattern(&host);

    install(&t, &host, &[(&ca.cert(), "ca.crt")]);
    let run = freshen(&t).args(["update", &pattern]).run();
    run.expect_code(1);
    let dir = certs_dir(&t).join(&host);
    let error = entry_error(&list(&t, &[&pattern]), &app);
    assert!(
        error.starts_with(&format!("unreachable: registry {host} closed the TLS connection without answering ("))
            && error.ends_with(&format!(
                "): if it requires a client certificate, put client.cert and client.key in {}",
                dir.display()
            )),
        "{error}\n{run}"
    );

    install(&t, &host, &[(&ca.cert(), "ca.crt"), (&client.cert, "client.cert"), (&client.key, "client.key")]);
    let run = freshen(&t).args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(0), "\n{run}");
    assert_eq!(list(&t, &[&pattern]).get(&app).status, "up-to-date");
}

// ---------------------------------------------------------------------------
// Credentials.

fn htpasswd(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let out = std::process::Command::new("htpasswd")
        .args(["-Bbn", USER, PASSWORD])
        .output()
        .unwrap_or_else(|e| panic!("cannot run htpasswd (apache2-utils; .ci/run installs it): {e}"));
    assert!(out.status.success());
    let path = dir.join("htpasswd");
    std::fs::write(&path, out.stdout).unwrap();
    path
}

/// A `docker-credential-NAME` that answers `get` for `server` only.
fn credential_helper(dir: &Path, name: &str, server: &str, user: &str, secret: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("docker-credential-{name}"));
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread -r server\nif [ \"$server\" = \"{server}\" ]; then\n  \
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}\\n' \"$server\"\nelse\n  \
             echo 'credentials not found in native keychain'; exit 1\nfi\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn path_with(dir: &Path) -> String {
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

/// Basic auth (htpasswd) with credentials from config.json `auths`, from
/// `credsStore` and from `credHelpers`; none or wrong ones are an
/// `unauthorized` verdict saying to run `docker login HOST`. The password
/// never appears in any output or in the state.
#[test]
fn basic_auth_credentials() {
    let t = TestEnv::new("basic_auth_credentials");
    let file = htpasswd(&root(&t).join("auth"));
    let pair = Pair::start(
        "",
        &format!("auth:\n  htpasswd:\n    realm: freshen-test\n    path: {}\n", file.display()),
    );
    let host = pair.served.host().to_string();
    let app = t.reference(&host, "app", "1");
    let db = t.reference(&host, "db", "1");
    t.build(&app, "v1");
    t.build(&db, "v1");
    push_logged_in(&t, &host, &[app.clone(), db.clone()]);
    let v2 = t.publish_remote(&pair.plain, "db", "1", "v2");
    let pattern = t.pattern(&host);
    let mut runs = Vec::new();

    // No credentials at all.
    let run = freshen(&t).args(["update", "--verbose", &pattern]).run();
    run.expect_code(1);
    let listing = list(&t, &[&pattern]);
    assert_eq!(
        entry_error(&listing, &app),
        format!("unauthorized: registry {host} requires credentials: run 'docker login {host}'")
    );
    runs.push(run);

    let check_ok = |run: &Run| {
        run.expect_code(0);
        assert_eq!(run.last_line(), upgradable_summary(1), "\n{run}");
        let listing = list(&t, &[&pattern]);
        assert_eq!(listing.get(&app).status, "up-to-date");
        assert_eq!(listing.get(&db).status, "upgradable");
        assert_eq!(listing.get(&db).remote_digest.as_deref(), Some(v2.digest.as_str()));
    };

    // config.json auths.
    write_docker_config(&t, &serde_json::json!({ "auths": { &host: { "auth": basic(USER, PASSWORD) } } }));
    let run = freshen(&t).args(["update", "--verbose", &pattern]).run();
    check_ok(&run);
    runs.push(run);

    // credsStore: a helper on PATH.
    let bin = root(&t).join("bin");
    credential_helper(&bin, "freshentest", &host, USER, PASSWORD);
    write_docker_config(&t, &serde_json::json!({ "credsStore": "freshentest" }));
    let run = freshen(&t).env("PATH", path_with(&bin)).args(["update", "--verbose", &pattern]).run();
    check_ok(&run);
    runs.push(run);

    // credHelpers for this registry (the credsStore would be wrong).
    credential_helper(&bin, "wrongstore", &host, USER, "not-the-password");
    write_docker_config(
        &t,
        &serde_json::json!({ "credsStore": "wrongstore", "credHelpers": { &host: "freshentest" } }),
    );
    let run = freshen(&t).env("PATH", path_with(&bin)).args(["update", "--verbose", &pattern]).run();
    check_ok(&run);
    runs.push(run);

    // Wrong password in auths.
    write_docker_config(&t, &serde_json::json!({ "auths": { &host: { "auth": basic(USER, "wrong-password-123") } } }));
    let run = freshen(&t).args(["update", "--verbose", &pattern]).run();
    run.expect_code(1);
    let config = root(&t).join("docker-config/config.json");
    let expected = format!(
        "unauthorized: registry {host} refused the credentials from {}: run 'docker login {host}'",
        config.display()
    );
    let listing = list(&t, &[&pattern]);
    assert_eq!(entry_error(&listing, &app), expected);
    assert_eq!(entry_error(&listing, &db), expected);
    assert_eq!(
        run.warnings(),
        vec![format!("W: {} and 1 more: {expected}", app)],
        "one line for one cause\n{run}"
    );
    runs.push(run);

    let secrets = [PASSWORD.to_string(), basic(USER, PASSWORD), "wrong-password-123".to_string()];
    assert_no_secrets(&t, &runs.iter().collect::<Vec<_>>(), &secrets);
}

/// Token authentication (`auth.token`) with the test's token server: one
/// token request covers every repository the run checks, with the
/// credentials from config.json; wrong ones are refused with a hint. No
/// password or token appears anywhere.
#[test]
fn bearer_token_for_many_repositories() {
    let t = TestEnv::new("bearer_token");
    let signer = pki::signer(&root(&t).join("signer"));
    let server = token::TokenServer::start(&signer, USER, PASSWORD);
    let pair = Pair::start("", &server.registry_config(&signer));
    let host = pair.served.host().to_string();
    let names = ["a", "b", "c", "d"];
    let references: Vec<String> = names.iter().map(|n| t.reference(&host, n, "1")).collect();
    for r in &references {
        t.build(r, "v1");
    }
    push_logged_in(&t, &host, &references);
    // docker login and push asked for tokens too; count freshen's only.
    server.forget();
    let v2 = t.publish_remote(&pair.plain, "c", "1", "v2");
    let pattern = t.pattern(&host);
    write_docker_config(&t, &serde_json::json!({ "auths": { &host: { "auth": basic(USER, PASSWORD) } } }));

    let run = freshen(&t).args(["update", "--verbose", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(1), "\n{run}");
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one token for all repositories: {requests:?}\n{run}");
    let mut scopes = requests[0].scopes.clone();
    scopes.sort();
    let want: Vec<String> = names.iter().map(|n| format!("repository:{}:pull", t.repo(n))).collect();
    assert_eq!(scopes, want);
    assert_eq!(requests[0].service.as_deref(), Some(token::SERVICE));
    assert!(requests[0].had_credentials);
    let listing = list(&t, &[&pattern]);
    for name in names {
        let reference = t.reference(&host, name, "1");
        let entry = listing.get(&reference);
        assert_eq!(entry.status, if name == "c" { "upgradable" } else { "up-to-date" }, "{:#}", entry.raw);
    }
    assert_eq!(listing.get(&t.reference(&host, "c", "1")).remote_digest.as_deref(), Some(v2.digest.as_str()));

    write_docker_config(&t, &serde_json::json!({ "auths": { &host: { "username": USER, "password": "nope-nope-42" } } }));
    let bad = freshen(&t).args(["update", "--verbose", &pattern]).run();
    bad.expect_code(1);
    let config = root(&t).join("docker-config/config.json");
    let expected = format!(
        "unauthorized: registry {host} refused the credentials from {}: run 'docker login {host}'",
        config.display()
    );
    let listing = list(&t, &[&pattern]);
    for name in names {
        assert_eq!(entry_error(&listing, &t.reference(&host, name, "1")), expected);
    }

    let mut secrets: Vec<String> = server.issued();
    assert!(!secrets.is_empty());
    secrets.extend([PASSWORD.to_string(), basic(USER, PASSWORD), "nope-nope-42".to_string()]);
    assert_no_secrets(&t, &[&run, &bad], &secrets);
}
