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
        let plain =
            Registry::start_with(&Setup { storage: Some(storage.path().to_path_buf()), ..Setup::default() });
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
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
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
    let mut s =
        format!("  tls:\n    certificate: {}\n    key: {}\n", server.cert.display(), server.key.display());
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

/// The failure a check of `reference` recorded: the tag is `unknown` when
/// no earlier check knew better, else it keeps that earlier verdict, marked
/// with `check_failed_at` (an outage never erases what freshen knew).
fn entry_error(listing: &Listing, reference: &str) -> String {
    let e = listing.get(reference);
    assert!(e.status == "unknown" || e.raw["check_failed_at"].is_string(), "{:#}", e.raw);
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
    std::fs::write(root(t).join("docker-config/config.json"), serde_json::to_vec_pretty(json).unwrap())
        .unwrap();
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
    assert_eq!(
        run.warnings(),
        vec![format!("W: {}: {expected}", app.trim_start_matches("docker.io/"))],
        "\n{run}"
    );
    // The earlier check's verdict stands (the tag moved): still counted.
    assert_eq!(run.stdout_lines(), vec![upgradable_summary(1), failed_summary(1)], "\n{run}");

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
        error.starts_with(&format!(
            "unreachable: registry {host} closed the TLS connection without answering ("
        )) && error.ends_with(&format!(
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
    write_docker_config(
        &t,
        &serde_json::json!({ "auths": { &host: { "auth": basic(USER, "wrong-password-123") } } }),
    );
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

    write_docker_config(
        &t,
        &serde_json::json!({ "auths": { &host: { "username": USER, "password": "nope-nope-42" } } }),
    );
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

/// A registry whose authentication the last update learnt (issue 13) is
/// sent the credentials, or the tokens fetched first, from the first
/// request on: no request is refused, and everything goes at once. With the
/// credentials gone, the next update learns again from a 401 and says what
/// to do, as for a registry it never saw.
#[test]
fn known_authentication_is_used_from_the_first_request() {
    let t = TestEnv::new("known_auth");
    let refused = |run: &Run| run.stderr.lines().filter(|l| l.contains("-> 401")).count();

    // Basic (htpasswd).
    let file = htpasswd(&root(&t).join("auth"));
    let basic_pair = Pair::start(
        "",
        &format!("auth:\n  htpasswd:\n    realm: freshen-test\n    path: {}\n", file.display()),
    );
    let basic_host = basic_pair.served.host().to_string();
    // Token auth, on a registry of its own.
    let signer = pki::signer(&root(&t).join("signer"));
    let server = token::TokenServer::start(&signer, USER, PASSWORD);
    let token_pair = Pair::start("", &server.registry_config(&signer));
    let token_host = token_pair.served.host().to_string();

    let mut references = Vec::new();
    for host in [&basic_host, &token_host] {
        let mine: Vec<String> = ["a", "b", "c"].iter().map(|n| t.reference(host, n, "latest")).collect();
        for r in &mine {
            t.build(r, "v1");
        }
        push_logged_in(&t, host, &mine);
        references.extend(mine);
    }
    write_docker_config(
        &t,
        &serde_json::json!({ "auths": {
            &basic_host: { "auth": basic(USER, PASSWORD) },
            &token_host: { "auth": basic(USER, PASSWORD) },
        } }),
    );
    let patterns = [t.pattern(&basic_host), t.pattern(&token_host)];

    let first = freshen(&t).args(["update", "--verbose"]).args(&patterns).run();
    first.expect_code(0);
    assert_eq!(first.last_line(), "All images are up to date.", "\n{first}");
    assert!(refused(&first) >= 2, "the first update learns each registry from a 401\n{first}");

    server.forget();
    let second = freshen(&t).args(["update", "--verbose"]).args(&patterns).run();
    second.expect_code(0);
    assert_eq!(second.last_line(), "All images are up to date.", "\n{second}");
    assert_eq!(refused(&second), 0, "no request refused\n{second}");
    let tokens = server.requests();
    assert_eq!(tokens.len(), 1, "one token for every repository, fetched first: {tokens:?}\n{second}");
    assert_eq!(tokens[0].scopes.len(), 3, "{tokens:?}");
    assert!(tokens[0].had_credentials);
    let heads = second.stderr.lines().filter(|l| l.starts_with("HEAD ")).count();
    assert_eq!(heads, references.len(), "one HEAD per tag\n{second}");

    // The credentials are gone: learnt again, and said.
    write_docker_config(&t, &serde_json::json!({}));
    let third = freshen(&t).args(["update", "--verbose"]).args(&patterns).run();
    third.expect_code(1);
    let listing = list(&t, &[&patterns[0]]);
    assert_eq!(
        entry_error(&listing, &t.reference(&basic_host, "a", "latest")),
        format!("unauthorized: registry {basic_host} requires credentials: run 'docker login {basic_host}'")
    );
    let mut secrets: Vec<String> = server.issued();
    secrets.extend([PASSWORD.to_string(), basic(USER, PASSWORD)]);
    assert_no_secrets(&t, &[&first, &second, &third], &secrets);
}

// ---------------------------------------------------------------------------
// Faults, through a proxy in front of the real registry.

/// Runs a prepared command to the end, with its peak resident memory (in
/// KiB, from `wait4`).
#[expect(clippy::zombie_processes, reason = "wait4 reaps the child, to read its peak memory")]
fn run_measured(mut command: std::process::Command, shown: &str) -> (Run, u64) {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: waiting for our own child, with valid pointers.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let status = std::process::ExitStatus::from_raw(status);
    let run = Run {
        command: shown.to_string(),
        elapsed: started.elapsed(),
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    };
    (run, usage.ru_maxrss as u64)
}

/// An image in the shared registry that the daemon pulled through the
/// proxy, so that it carries a RepoDigest for the proxy's address.
fn pulled_through(t: &TestEnv, proxy: &Proxy, name: &str) -> String {
    let reg = registry::shared();
    t.publish(&t.reference(reg.host(), name, "1"), "v1");
    let reference = t.reference(&proxy.host, name, "1");
    docker::pull(&reference);
    reference
}

/// Every fault the proxy can inject, each on its own repository, in one
/// run: each faulty image gets `unknown` with a one-line reason, the
/// healthy ones are checked normally (an up-to-date one with a single
/// HEAD), the run exits 1, memory stays bounded while a 100 MB manifest is
/// refused, and the state of the previous run is replaced by one that
/// holds every verdict.
#[test]
fn faults_make_only_their_image_unknown() {
    let t = TestEnv::new("faults");
    let reg = registry::shared();
    let proxy = Proxy::start(reg.host());
    let healthy = ["current", "moved"];
    let faults: Vec<(&str, Fault)> = vec![
        ("e500", Fault::Status(500, vec![])),
        ("e429", Fault::Status(429, vec![("Retry-After".into(), "1".into())])),
        ("reset", Fault::Reset),
        ("hang", Fault::Hang(Duration::from_secs(8))),
        ("truncated", Fault::Truncate),
        ("notjson", Fault::NotJson),
        ("malformed", Fault::MalformedDigest),
        ("wrongdigest", Fault::WrongDigest),
        ("huge", Fault::Huge),
    ];
    let mut references = std::collections::BTreeMap::new();
    for name in healthy.iter().copied().chain(faults.iter().map(|(n, _)| *n)) {
        references.insert(name, pulled_through(&t, &proxy, name));
    }
    let pattern = t.pattern(&proxy.host);

    // A clean run first: its state is what the faulty run replaces.
    freshen(&t).args(["update", &pattern]).run().expect_code(0);
    let before = std::fs::read(t.state_dir().join("state.json")).unwrap();
    assert!(list(&t, &[&pattern]).images.iter().all(|e| e.status == "up-to-date"));

    let v2 = t.publish_remote(reg, "moved", "1", "v2");
    for (name, fault) in &faults {
        proxy.fault(&t.repo(name), fault.clone());
    }
    proxy.forget();
    let mut command = freshen(&t).args(["update", "--timeout", "1", "--retries", "1", &pattern]).command();
    command.stdin(std::process::Stdio::null());
    let (run, max_rss_kib) = run_measured(command, "freshen update --timeout 1 --retries 1");
    eprintln!("peak RSS of freshen: {max_rss_kib} KiB\n{run}");
    run.expect_code(1);
    assert!(max_rss_kib < 100 * 1024, "freshen used {max_rss_kib} KiB while refusing a 100 MB manifest");
    assert_eq!(run.stdout_lines(), vec![upgradable_summary(1), failed_summary(faults.len())], "\n{run}");
    assert_eq!(run.warnings().len(), faults.len(), "one W: line per fault\n{run}");

    let after = std::fs::read(t.state_dir().join("state.json")).unwrap();
    assert_ne!(after, before);
    let names: Vec<String> =
        t.state_files().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(
        names,
        vec!["inventory.json", "lock", "outcomes.json", "state.json", "tags.json", "usage.json"],
        "no temporary files left"
    );

    let listing = list(&t, &[&pattern]);
    assert_eq!(listing.get(&references["current"]).status, "up-to-date");
    let moved = listing.get(&references["moved"]);
    assert_eq!(moved.status, "upgradable", "{:#}", moved.raw);
    assert_eq!(moved.remote_digest.as_deref(), Some(v2.digest.as_str()));
    // HEAD only wherever HEAD can answer: the current image cost one HEAD
    // (plus the version check's tag listing, once per repository and TTL).
    let current: Vec<String> = proxy
        .seen_for(&t.repo("current"))
        .iter()
        .filter(|s| !s.path.contains("/tags/list"))
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(current, vec![format!("HEAD /v2/{}/manifests/1", t.repo("current"))]);

    let host = &proxy.host;
    let zeros = "0".repeat(64);
    let expected: Vec<(&str, String)> = vec![
        ("e500", format!("bad response: registry {host} answered 500 Internal Server Error")),
        (
            "e429",
            format!("rate limited: registry {host} answered 429 Too Many Requests; the registry asks to wait 1s: try again later"),
        ),
        ("reset", format!("unreachable: cannot reach {host}: request failed (Connection reset by peer (os error 104))")),
        ("hang", format!("unreachable: no answer from {host} within 1s")),
        ("truncated", "bad response: the answer was cut off: connection broke while reading the answer (end of file before message length reached)".to_string()),
        ("notjson", "bad response: manifest is not JSON (expected value at line 1 column 1)".to_string()),
        ("malformed", "bad response: registry sent an invalid digest header 'sha256:0123456789abcdef'".to_string()),
        ("wrongdigest", format!("bad response: manifest body does not match its digest header sha256:{zeros}")),
        ("huge", "bad response: registry sent more than the 4194304 bytes a manifest may have".to_string()),
    ];
    let mut problems = Vec::new();
    for (name, want) in &expected {
        let got = entry_error(&listing, &references[name]);
        assert!(!got.contains('\n'));
        if &got != want {
            problems.push(format!("{name}:\n  want {want}\n  got  {got}"));
        }
        assert!(
            run.warnings().contains(&format!("W: {}: {got}", references[name]).as_str()),
            "no W: line for {name}\n{run}"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The state holds exactly what list shows, not half of anything.
    let state: Value = serde_json::from_slice(&after).unwrap();
    assert_eq!(state["entries"].as_array().unwrap().len(), references.len());
}

/// Rate-limit headers are recorded and shown (`--verbose`, JSON); a 429
/// with or without `Retry-After` and a 500 are retried with backoff and
/// the checks succeed; up-to-date images cost HEADs only.
#[test]
fn rate_limits_and_backoff() {
    let t = TestEnv::new("rate_limits");
    let reg = registry::shared();
    let proxy = Proxy::start(reg.host());
    let names = ["after", "bare", "flaky", "calm"];
    let references: Vec<String> = names.iter().map(|n| pulled_through(&t, &proxy, n)).collect();
    let pattern = t.pattern(&proxy.host);
    proxy.add_header("ratelimit-limit", "100;w=21600");
    proxy.add_header("ratelimit-remaining", "76;w=21600");
    let once = |f: Fault| Fault::First(1, Box::new(f));
    proxy.fault(&t.repo("after"), once(Fault::Status(429, vec![("Retry-After".into(), "1".into())])));
    proxy.fault(&t.repo("bare"), once(Fault::Status(429, vec![])));
    proxy.fault(&t.repo("flaky"), Fault::First(2, Box::new(Fault::Status(500, vec![]))));
    proxy.forget();

    let run = freshen(&t).args(["update", "--verbose", "--format", "json", &pattern]).run();
    run.expect_code(0);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    assert_eq!(
        doc["registries"][&proxy.host],
        serde_json::json!({
            "scheme": "http",
            "rate_limit": { "limit": 100, "remaining": 76, "window_seconds": 21600 }
        }),
        "\n{run}"
    );
    assert!(
        run.stderr.lines().any(|l| l == format!("{}: rate limit 76 remaining of 100 per 21600s", proxy.host)),
        "\n{run}"
    );
    for r in &references {
        let images = doc["images"].as_array().unwrap();
        let image = images.iter().find(|i| i["reference"] == r.as_str()).unwrap();
        assert_eq!(image["status"], "up-to-date", "{image:#}");
    }
    // Manifests are asked by HEAD only; the one GET per repository is the
    // version check's tag listing, which goes beside the HEAD: a fault may
    // fall on either, and is retried there. So each repository sees its
    // HEAD and its listing answered, plus one request per fault.
    let seen = |name: &str| proxy.seen_for(&t.repo(name)).len();
    assert_eq!([seen("after"), seen("bare"), seen("flaky"), seen("calm")], [3, 3, 4, 2]);
    let lists = |name: &str| proxy.seen_for(&t.repo(name)).iter().filter(|s| s.method == "GET").count();
    for name in names {
        assert!((1..=2).contains(&lists(name)), "{name}: {:?}", proxy.seen_for(&t.repo(name)));
    }
    assert!(
        proxy.seen().iter().all(|s| s.method == "HEAD" || s.path.contains("/tags/list")),
        "{:?}",
        proxy.seen()
    );

    // list shows what the last update learnt.
    let run = freshen(&t).args(["list", "--format", "json", &pattern]).run();
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["registries"][&proxy.host]["rate_limit"]["remaining"], 76);
}

/// A registry that answered the last update without asking for
/// credentials is asked about every tag at once (no first request alone to
/// learn its authentication). Should it ask for credentials by then, each
/// request in flight gets one 401, the run learns the credentials once and
/// every verdict stands; the update after that sends them from its first
/// request (it knows the registry asks for Basic credentials).
#[test]
fn anonymous_registry_asked_at_once_may_start_asking_for_credentials() {
    let t = TestEnv::new("anonymous_then_auth");
    let reg = registry::shared();
    let proxy = Proxy::start(reg.host());
    let names = ["a", "b", "c", "d"];
    for n in names {
        pulled_through(&t, &proxy, n);
    }
    t.publish_remote(reg, "c", "1", "v2");
    let pattern = t.pattern(&proxy.host);
    let state = || -> Value {
        serde_json::from_slice(&std::fs::read(t.state_dir().join("state.json")).unwrap()).unwrap()
    };
    let first = freshen(&t).args(["update", &pattern]).run();
    first.expect_code(0);
    assert_eq!(first.last_line(), upgradable_summary(1), "\n{first}");
    assert_eq!(state()["registries"][&proxy.host]["anonymous"], true, "{:#}", state());

    for n in names {
        proxy.fault(&t.repo(n), Fault::RequireAuth(r#"Basic realm="freshen-test""#.into()));
    }
    write_docker_config(
        &t,
        &serde_json::json!({ "auths": { &proxy.host: { "auth": basic(USER, PASSWORD) } } }),
    );
    let heads = |authorized: bool| {
        proxy
            .seen()
            .iter()
            .filter(|s| s.method == "HEAD" && s.header("authorization").is_some() == authorized)
            .count()
    };
    proxy.forget();
    let second = freshen(&t).args(["update", &pattern]).run();
    second.expect_code(0);
    assert_eq!(second.last_line(), upgradable_summary(1), "\n{second}");
    // The HEADs went out at once, without waiting for a first answer, so
    // those sent before the first 401 came back were refused once each
    // (usually all of them; never more than one per tag); then one with
    // credentials per tag (c's verdict is the last one's: same image, same
    // remote digest).
    let refused = heads(false);
    assert!((1..=names.len()).contains(&refused), "{refused} refused HEADs\n{:?}", proxy.seen());
    assert_eq!(heads(true), names.len(), "{:?}", proxy.seen());
    assert!(
        proxy.seen().iter().filter(|s| s.header("authorization").is_none()).all(|s| s.method == "HEAD"),
        "{:?}",
        proxy.seen()
    );
    assert!(state()["registries"][&proxy.host].get("anonymous").is_none(), "{:#}", state());
    assert_eq!(state()["registries"][&proxy.host]["auth"], serde_json::json!({ "scheme": "basic" }));

    // The next update knows: the credentials go with the first request.
    proxy.forget();
    let third = freshen(&t).args(["update", &pattern]).run();
    third.expect_code(0);
    assert_eq!(third.last_line(), upgradable_summary(1), "\n{third}");
    assert_eq!((heads(false), heads(true)), (0, names.len()), "{:?}", proxy.seen());
    let listing = list(&t, &[&pattern]);
    for n in names {
        let entry = listing.get(&t.reference(&proxy.host, n, "1"));
        assert_eq!(entry.status, if n == "c" { "upgradable" } else { "up-to-date" }, "{:#}", entry.raw);
    }
    assert_no_secrets(&t, &[&first, &second, &third], &[PASSWORD.to_string(), basic(USER, PASSWORD)]);
}

/// A redirect to another host (as registries do to object storage) is
/// followed without the `Authorization` header.
#[test]
fn redirect_drops_authorization() {
    let t = TestEnv::new("redirect");
    let file = htpasswd(&root(&t).join("auth"));
    let pair = Pair::start(
        "",
        &format!("auth:\n  htpasswd:\n    realm: freshen-test\n    path: {}\n", file.display()),
    );
    let proxy = Proxy::start(pair.served.host());
    let storage = Proxy::start(pair.served.host());
    storage.upstream_auth(&format!("Basic {}", basic(USER, PASSWORD)));
    let app = t.reference(&proxy.host, "app", "1");
    let id = t.build(&app, "v1");
    let plain = t.reference(pair.plain.host(), "app", "1");
    docker::tag(&app, &plain);
    docker::push(&plain);
    proxy.fault(&t.repo("app"), Fault::Redirect(storage.host.clone()));
    write_docker_config(
        &t,
        &serde_json::json!({ "auths": { &proxy.host: { "auth": basic(USER, PASSWORD) } } }),
    );

    let pattern = t.pattern(&proxy.host);
    let run = freshen(&t).args(["update", "--verbose", &pattern]).run();
    run.expect_code(0);
    let entry = list(&t, &[&pattern]);
    assert_eq!(entry.get(&app).status, "up-to-date", "{:#}", entry.get(&app).raw);
    assert_eq!(entry.get(&app).image_id, id);
    let sent = proxy.seen_for(&t.repo("app"));
    assert!(
        sent.iter().any(|s| s.method == "GET" && s.header("authorization").is_some()),
        "freshen authenticated to the registry: {sent:?}"
    );
    let followed = storage.seen_for(&t.repo("app"));
    assert!(!followed.is_empty(), "the redirect was followed\n{run}");
    for s in &followed {
        assert_eq!(s.header("authorization"), None, "Authorization followed the redirect: {s:?}");
    }
    assert_no_secrets(&t, &[&run], &[PASSWORD.to_string(), basic(USER, PASSWORD)]);
}

// ---------------------------------------------------------------------------
// Docker Hub mirrors.

/// `registry-mirrors` in daemon.json: Docker Hub images are checked
/// against the mirror; when the mirror fails, against Docker Hub itself
/// (here through an HTTPS proxy that only records the attempt, since the
/// tests stay on loopback), and the error says both.
#[test]
fn docker_hub_mirrors() {
    let t = TestEnv::new("mirrors");
    let mirror = Registry::start();
    let hub = format!("docker.io/{}/app:1", t.namespace());
    let familiar = format!("{}/app:1", t.namespace());
    let at_mirror = t.reference(mirror.host(), "app", "1");
    let id = t.build(&familiar, "v1");
    docker::tag(&familiar, &at_mirror);
    docker::push(&at_mirror);
    let pattern = t.pattern("docker.io");
    let outside = Proxy::start(&registry::dead_host());
    let vars = [
        ("HTTPS_PROXY", format!("http://{}", outside.host)),
        ("https_proxy", format!("http://{}", outside.host)),
        ("NO_PROXY", "127.0.0.1,localhost".to_string()),
        ("no_proxy", "127.0.0.1,localhost".to_string()),
    ];
    let run_with = |args: &[&str]| {
        let mut f = freshen(&t);
        for (k, v) in &vars {
            f = f.env(k, v);
        }
        f.args(args).run()
    };

    std::fs::write(daemon_json(&t), format!(r#"{{"registry-mirrors":["http://{}"]}}"#, mirror.host()))
        .unwrap();
    let run = run_with(&["update", "--verbose", &pattern]);
    run.expect_code(0);
    let listing = list(&t, &[&pattern]);
    assert_eq!(listing.get(&hub).status, "up-to-date", "{:#}\n{run}", listing.get(&hub).raw);
    assert_eq!(listing.get(&hub).image_id, id);
    assert!(outside.seen().is_empty(), "Docker Hub was not asked: {:?}", outside.seen());

    let v2 = t.publish_remote(&mirror, "app", "1", "v2");
    run_with(&["update", &pattern]).expect_code(0);
    let listing = list(&t, &[&pattern]);
    assert_eq!(listing.get(&hub).status, "upgradable");
    assert_eq!(listing.get(&hub).remote_digest.as_deref(), Some(v2.digest.as_str()));

    // The mirror is down: Docker Hub is tried, and its failure reported.
    let dead = registry::dead_host();
    std::fs::write(daemon_json(&t), format!(r#"{{"registry-mirrors":["http://{dead}"]}}"#)).unwrap();
    let run = run_with(&["update", "--retries", "0", &pattern]);
    run.expect_code(1);
    let error = entry_error(&list(&t, &[&pattern]), &hub);
    assert!(error.starts_with("unreachable: cannot reach docker.io: "), "{error}");
    assert!(
        error.ends_with(&format!(
            "(mirror {dead} failed first: unreachable: cannot reach {dead}: connection failed (Connection refused (os error 111)))"
        )),
        "{error}"
    );
    let connects: Vec<String> = outside.seen().iter().map(|s| format!("{} {}", s.method, s.path)).collect();
    assert_eq!(connects, vec!["CONNECT registry-1.docker.io:443"]);
}

// ---------------------------------------------------------------------------
// The state file under stress.

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `kill -9` in the middle of an update leaves the previous state file
/// exactly as it was; the next update replaces it whole.
#[test]
fn sigkill_during_update_leaves_old_or_new_state() {
    let t = TestEnv::new("sigkill");
    let reg = registry::shared();
    let proxy = Proxy::start(reg.host());
    let references: Vec<String> = ["a", "b", "c"].iter().map(|n| pulled_through(&t, &proxy, n)).collect();
    let pattern = t.pattern(&proxy.host);
    freshen(&t).args(["update", &pattern]).run().expect_code(0);
    let state = t.state_dir().join("state.json");
    let old = std::fs::read(&state).unwrap();
    t.publish_remote(reg, "b", "1", "v2");

    proxy.delay(Duration::from_millis(400));
    for killed_after in [1, 2, 3] {
        proxy.forget();
        let mut child = freshen(&t)
            .args(["update", "--concurrency", "1", &pattern])
            .command()
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_for("requests", || proxy.seen().len() >= killed_after);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(std::fs::read(&state).unwrap(), old, "killed after {killed_after} requests");
    }
    proxy.delay(Duration::ZERO);
    freshen(&t).args(["update", &pattern]).run().expect_code(0);
    let listing = list(&t, &[&pattern]);
    let statuses: Vec<&str> = references.iter().map(|r| listing.get(r).status.as_str()).collect();
    assert_eq!(statuses, vec!["up-to-date", "upgradable", "up-to-date"]);
}

/// A second update while one runs waits for the lock, saying whose it is,
/// and then runs.
#[test]
fn second_update_waits_for_the_lock() {
    let t = TestEnv::new("lock");
    let reg = registry::shared();
    let proxy = Proxy::start(reg.host());
    pulled_through(&t, &proxy, "app");
    let pattern = t.pattern(&proxy.host);
    proxy.delay(Duration::from_millis(1500));
    proxy.forget();
    let first = freshen(&t)
        .args(["update", &pattern])
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = first.id();
    wait_for("the first update's request", || !proxy.seen().is_empty());
    proxy.delay(Duration::ZERO);
    let second = freshen(&t).args(["update", &pattern]).run();
    let mut first = first;
    assert!(first.wait().unwrap().success());
    second.expect_code(0);
    assert_eq!(
        second.stderr.lines().next(),
        Some(format!("Waiting for another freshen (pid {pid}) to finish…").as_str()),
        "\n{second}"
    );
    assert_eq!(second.last_line(), upgradable_summary(0));
}

/// Broken files: a corrupt or future state file, a bad config file, a
/// broken daemon.json or Docker config.json. Each is one line naming the
/// file, never a panic; a corrupt state is set aside and rebuilt by
/// `update`.
#[test]
fn broken_files_are_named() {
    let t = TestEnv::new("broken_files");
    let reg = registry::shared();
    let app = t.reference(reg.host(), "app", "1");
    t.publish(&app, "v1");
    let pattern = t.pattern(reg.host());
    let state = t.state_dir().join("state.json");

    for garbage in [&b"{\"schema_version\":1,\"entries\":[{"[..], &[0xff, 0x00, 0x13, 0x37][..], &b""[..]] {
        std::fs::write(&state, garbage).unwrap();
        let run = freshen(&t).args(["list", &pattern]).run();
        run.expect_code(1);
        let line = run.stderr.trim_end();
        assert!(
            line.starts_with(&format!("freshen: state file {} is unreadable (", state.display()))
                && line.ends_with("): run 'freshen update' to rebuild it")
                && !line.contains('\n'),
            "\n{run}"
        );
        let run = freshen(&t).args(["update", &pattern]).run();
        run.expect_code(0);
        let aside = t.state_dir().join("state.json.corrupt");
        assert_eq!(run.warnings().len(), 1, "\n{run}");
        assert!(
            run.warnings()[0].starts_with(&format!("W: state file {} was unreadable (", state.display()))
                && run.warnings()[0]
                    .ends_with(&format!("); kept it as {} and starting afresh", aside.display())),
            "\n{run}"
        );
        assert_eq!(std::fs::read(&aside).unwrap(), garbage);
        assert_eq!(list(&t, &[&pattern]).get(&app).status, "up-to-date");
    }

    std::fs::write(&state, r#"{"schema_version":7,"entries":"whatever comes later"}"#).unwrap();
    for command in ["list", "update"] {
        let run = freshen(&t).args([command, &pattern]).run();
        run.expect_code(1);
        assert_eq!(
            run.stderr,
            format!(
                "freshen: state file {} has format version 7, newer than this freshen understands (1): \
                 upgrade freshen, or remove the file and run 'freshen update'\n",
                state.display()
            )
        );
    }
    std::fs::remove_file(&state).unwrap();

    let config = root(&t).join("config.toml");
    std::fs::write(&config, "timeout = 5\nconcurrency = \"lots\"\n").unwrap();
    let run =
        freshen(&t).env("FRESHEN_CONFIG", config.display().to_string()).args(["update", &pattern]).run();
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        format!(
            "freshen: config file {}: line 2, key 'concurrency': invalid type: string \"lots\", expected a whole number \
             (0 or more)\n",
            config.display()
        )
    );

    std::fs::write(daemon_json(&t), "{\"insecure-registries\": [").unwrap();
    std::fs::write(root(&t).join("docker-config/config.json"), "{\"auths\": 7}").unwrap();
    let run = freshen(&t).args(["update", &pattern]).run();
    run.expect_code(0);
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 2, "\n{run}");
    assert!(
        warnings[0].starts_with(&format!("W: ignoring {}: not valid JSON (", daemon_json(&t).display())),
        "\n{run}"
    );
    assert!(
        warnings[1].starts_with(&format!(
            "W: {} is not valid JSON (",
            root(&t).join("docker-config/config.json").display()
        )),
        "\n{run}"
    );
    assert_eq!(run.last_line(), upgradable_summary(0));
}

/// The daemon is not there: one line naming the socket and what to do,
/// and the state file is not touched.
#[test]
fn daemon_down_is_one_clear_line() {
    let t = TestEnv::new("daemon_down");
    let reg = registry::shared();
    let app = t.reference(reg.host(), "app", "1");
    t.publish(&app, "v1");
    // Upgradable, so that `list --upgradable` has a tag to look at.
    t.publish_remote(reg, "app", "1", "v2");
    let pattern = t.pattern(reg.host());
    freshen(&t).args(["update", &pattern]).run().expect_code(0);
    let state = std::fs::read(t.state_dir().join("state.json")).unwrap();
    let socket = root(&t).join("nothing-here.sock");
    for command in [&["update"][..], &["list"], &["list", "--upgradable"], &["check"]] {
        let run = freshen(&t)
            .env("DOCKER_HOST", format!("unix://{}", socket.display()))
            .args(command)
            .arg(&pattern)
            .run();
        run.expect_code(1);
        let prefix = format!("freshen: cannot connect to the Docker daemon at unix://{} (", socket.display());
        assert!(
            run.stderr.starts_with(&prefix)
                && run
                    .stderr
                    .ends_with("): is dockerd running? Start it or point DOCKER_HOST at the right socket\n")
                && run.stderr.lines().count() == 1,
            "\n{run}"
        );
        assert!(run.stdout.is_empty());
    }
    assert_eq!(std::fs::read(t.state_dir().join("state.json")).unwrap(), state);
}

/// A socket this user may not open is not a daemon that is down: the
/// message is the docker CLI's ("permission denied while trying to connect
/// to the Docker daemon socket"), which users know how to fix, not "is
/// dockerd running?" with the client library's text.
#[test]
fn daemon_socket_permission_denied_is_said_as_docker_says_it() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestEnv::new("daemon_socket_denied");
    // A real listening socket that only root may connect to, in a directory
    // an ordinary user can enter.
    let dir = root(&t);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(t.state_dir(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let socket = dir.join("root-only.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).unwrap();
    let host = format!("unix://{}", socket.display());
    for command in [&["update"][..], &["list"]] {
        let run = freshen(&t).user(65534, 65534).env("DOCKER_HOST", &host).args(command).run();
        run.expect_code(1);
        assert_eq!(
            run.stderr,
            format!(
                "freshen: permission denied while trying to connect to the Docker daemon socket at {host}: \
                 run freshen with sudo, or as a user allowed to use that socket (for Docker, a member of \
                 the 'docker' group)\n"
            ),
            "\n{run}"
        );
    }
}
