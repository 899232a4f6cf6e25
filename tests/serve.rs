//! `freshen serve` against real parts: the real binary serving on loopback,
//! the real Docker daemon and registry, Debian's chromium for the page and
//! Debian's mosquitto for Home Assistant. Every server is stopped with
//! SIGTERM at the end of its test and must exit 0.

// The harness is shared by several test binaries; each uses part of it.
#[allow(dead_code)]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::containers::{self, Containers, Health, Runnable};
use support::http::{self, Response};
use support::{registry, Published, TestEnv};

const READ: &str = "read-5b2f0c1e9d";
const APPLY: &str = "apply-8e41d7a3c6";
/// Generous: CI is a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(90);

/// A running `freshen serve`.
struct Server {
    child: Option<Child>,
    addr: String,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    /// Starts `freshen serve` with this config file text and waits until
    /// /healthz answers.
    fn start(t: &TestEnv, config: &str) -> Server {
        let dir = tempfile::Builder::new().prefix("freshen-serve-").tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config).unwrap();
        for _ in 0..5 {
            let addr = format!("127.0.0.1:{}", free_port());
            let mut command =
                t.freshen().args(["--config", path.to_str().unwrap(), "serve", "--listen", &addr]).command();
            let mut child = command.stdout(Stdio::null()).spawn().expect("start freshen serve");
            let log = Arc::new(Mutex::new(String::new()));
            let mut stderr = child.stderr.take().unwrap();
            let sink = log.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
            let started = Instant::now();
            loop {
                if let Ok(r) = http::request("GET", &addr, "/healthz", &[], b"") {
                    if r.status == 200 {
                        return Server { child: Some(child), addr, log, _dir: dir };
                    }
                }
                if let Some(status) = child.try_wait().unwrap() {
                    let log = log.lock().unwrap().clone();
                    // Another process took the port between our look and the bind.
                    if log.contains("cannot listen") {
                        break;
                    }
                    panic!("freshen serve exited with {status}:\n{log}");
                }
                assert!(
                    started.elapsed() < DEADLINE,
                    "freshen serve did not answer:\n{}",
                    log.lock().unwrap()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("could not find a free port for freshen serve");
    }

    fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send("GET", path, token, b"")
    }

    fn post(&self, path: &str, token: Option<&str>, body: &str) -> Response {
        self.send("POST", path, token, body.as_bytes())
    }

    fn send(&self, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        http::request(method, &self.addr, path, &headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn json(&self, path: &str, token: Option<&str>) -> Value {
        let r = self.get(path, token);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"), "GET {path}");
        serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("GET {path}: {e}: {}", r.text()))
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Polls GET /api/v1/status until `ok` says yes.
    fn status_until(&self, token: Option<&str>, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let v = self.json("/api/v1/status", token);
            if ok(&v) {
                return v;
            }
            assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}\n{v:#}\n{}", self.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM, then a clean exit (status 0) within the deadline.
    fn stop(&mut self) -> String {
        let mut child = self.child.take().unwrap();
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(started.elapsed() < DEADLINE, "freshen serve did not stop on SIGTERM:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        };
        std::thread::sleep(Duration::from_millis(100));
        let log = self.log();
        assert!(status.success(), "freshen serve exited with {status} on SIGTERM:\n{log}");
        log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The tag of this test in a status document.
fn tag<'v>(status: &'v Value, reference: &str) -> &'v Value {
    status["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["reference"] == reference)
        .unwrap_or_else(|| panic!("{reference} is not in the status:\n{status:#}"))
}

/// Validates a document against the repository's JSON Schema with python's
/// `jsonschema` (Debian's python3-jsonschema), an implementation that
/// shares nothing with freshen.
fn validate(doc: &Value, schema: &Path) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), doc.to_string()).unwrap();
    let script = "import json,sys,jsonschema\n\
        s=json.load(open(sys.argv[1]));d=json.load(open(sys.argv[2]))\n\
        jsonschema.Draft202012Validator.check_schema(s)\n\
        errs=list(jsonschema.Draft202012Validator(s).iter_errors(d))\n\
        [print('/'.join(map(str,e.absolute_path)), e.message) for e in errs[:10]]\n\
        sys.exit(1 if errs else 0)\n";
    let out = Command::new("python3")
        .args(["-c", script, schema.to_str().unwrap(), file.path().to_str().unwrap()])
        .output()
        .expect("python3 with jsonschema (apt-get install python3-jsonschema)");
    assert!(
        out.status.success(),
        "the status does not match {}:\n{}{}",
        schema.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// One tag `app:1` whose v1 runs here in a container labelled as Compose
/// service `web` of project `shop`, and whose v2 the registry holds, after
/// `freshen update` saw it.
struct Scene {
    reference: String,
    name: String,
    v1: Published,
    v2: Published,
    container: String,
}

fn scene(t: &TestEnv, c: &Containers, app: &str, v2: &Runnable) -> Scene {
    scene_with(t, c, app, v2, true)
}

/// [`scene`], the container without Compose labels when `compose` is
/// false (an upgrade recreates it; one labelled by hand names no Compose
/// files, so an upgrade leaves it alone).
fn scene_with(t: &TestEnv, c: &Containers, app: &str, v2: &Runnable, compose: bool) -> Scene {
    let reg = registry::shared();
    let reference = t.reference(reg.host(), app, "1");
    let v1 = t.publish_runnable(&reference, &Runnable::new("v1").health(Health::Healthy));
    let project = format!("com.docker.compose.project={}", t.namespace());
    let service = format!("com.docker.compose.service={app}");
    let labels = ["--label", project.as_str(), "--label", service.as_str()];
    let container = c.run(app, if compose { &labels[..] } else { &[] }, &reference);
    let v2 = t.publish_runnable_remote(reg, app, "1", v2);
    t.freshen().args(["update", &reference]).run().expect_code(0);
    Scene { name: reference.clone(), reference, v1, v2, container }
}

fn image_of(container: &str) -> String {
    containers::inspect(container)["Image"].as_str().unwrap().to_string()
}

/// The status API in the documented schema, the widget shapes of cup and
/// WUD, /metrics as `freshen metrics` prints it, and /healthz.
#[test]
fn status_and_widgets_answer_in_their_documented_shapes() {
    let t = TestEnv::new("serve_status_shapes");
    let c = Containers::new(&t);
    let s = scene(&t, &c, "web", &Runnable::new("v2").health(Health::Healthy));
    let mut server = Server::start(&t, "[serve]\ninterval = \"0\"\n");

    let status = server.status_until(None, "the tag", |v| {
        v["tags"].as_array().unwrap().iter().any(|x| x["reference"] == s.reference)
    });
    validate(&status, &repo_file("docs/serve-status.schema.json"));
    assert_eq!(status["schema_version"], 1);
    assert!(status["last_check"]["at"].is_string(), "{status:#}");
    let ours = tag(&status, &s.reference);
    assert_eq!(ours["status"], "upgradable");
    assert_eq!(ours["update_offered"], true);
    assert_eq!(ours["update_level"], "digest");
    assert_eq!(ours["available"]["digest"], s.v2.digest.as_str());
    assert_eq!(ours["current"]["digest"], s.v1.digest.as_str());
    assert_eq!(ours["image_id"], s.v1.id.as_str());
    let containers = ours["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "{ours:#}");
    assert_eq!(containers[0]["name"], s.container.as_str());
    assert_eq!(containers[0]["compose_project"], t.namespace());
    assert_eq!(containers[0]["compose_service"], "web");
    assert_eq!(ours["held"], false);
    assert!(ours["skipped"].is_null() && ours["last_upgrade"].is_null(), "{ours:#}");

    // cup's /api/v3/json: its metrics and its image entries.
    let cup = server.json("/api/v3/json", None);
    for key in [
        "monitored_images",
        "up_to_date",
        "updates_available",
        "major_updates",
        "minor_updates",
        "patch_updates",
        "other_updates",
        "unknown",
    ] {
        assert!(cup["metrics"][key].is_u64(), "cup metrics.{key}: {cup:#}");
    }
    let m = &cup["metrics"];
    let sum = |keys: &[&str]| keys.iter().map(|k| m[*k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        m["updates_available"].as_u64(),
        Some(sum(&["major_updates", "minor_updates", "patch_updates", "other_updates"]))
    );
    assert_eq!(m["monitored_images"].as_u64(), Some(sum(&["updates_available", "up_to_date", "unknown"])));
    assert_eq!(m["monitored_images"].as_u64().unwrap() as usize, cup["images"].as_array().unwrap().len());
    let familiar = s.name.clone();
    let image = cup["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == familiar.as_str())
        .unwrap_or_else(|| panic!("{familiar} not in {cup:#}"));
    assert_eq!(image["parts"]["registry"], registry::shared().host());
    assert_eq!(image["parts"]["repository"], t.repo("web"));
    assert_eq!(image["parts"]["tag"], "1");
    assert_eq!(image["result"]["has_update"], true);
    assert_eq!(image["result"]["info"]["type"], "digest");
    assert_eq!(image["result"]["info"]["remote_digest"], s.v2.digest.as_str());
    assert_eq!(image["result"]["info"]["local_digests"][0], s.v1.digest.as_str());
    assert!(image["result"]["error"].is_null());
    assert_eq!(image["in_use"], true);
    assert!(image["time"].is_u64() && image.get("server").is_some() && image.get("url").is_some());

    // WUD's /api/containers: what Homepage's whatsupdocker widget reads.
    let wud = server.json("/api/containers", None);
    let entry = wud
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == s.container.as_str())
        .unwrap_or_else(|| panic!("{wud:#}"));
    assert_eq!(entry["updateAvailable"], true);
    assert_eq!(entry["image"]["name"], t.repo("web"));
    assert_eq!(entry["image"]["tag"]["value"], "1");
    assert_eq!(entry["image"]["registry"]["name"], registry::shared().host());
    assert_eq!(entry["result"]["digest"], s.v2.digest.as_str());
    assert_eq!(entry["updateKind"]["kind"], "digest");
    // Homepage's count: the entries with updateAvailable.
    let counted = wud.as_array().unwrap().iter().filter(|e| e["updateAvailable"] == true).count();
    assert!(counted >= 1);

    // /metrics is `freshen metrics`, byte for byte.
    let metrics = server.get("/metrics", None);
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    let cli = t.freshen().arg("metrics").run();
    cli.expect_code(0);
    assert_eq!(metrics.text(), cli.stdout);

    let health = server.get("/healthz", None);
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));
    server.stop();
}

/// Without a read token the server only listens on loopback; with one,
/// every endpoint but /healthz needs it, actions need the apply token (the
/// read token gets 403), a missing or wrong token gets 401, and neither
/// token shows in any answer or in the log.
#[test]
fn tokens_guard_everything_but_healthz_and_never_show() {
    let t = TestEnv::new("serve_tokens");
    let refused = t.freshen().args(["serve", "--listen", "0.0.0.0:1"]).run();
    refused.expect_code(2);
    assert_eq!(
        refused.stderr.trim(),
        "freshen: --listen: refusing to listen on 0.0.0.0:1 without a read token: anyone who reaches it \
         would see every image; set read_token (or read_token_file) in [serve], or listen on 127.0.0.1"
    );

    let c = Containers::new(&t);
    let s = scene(&t, &c, "web", &Runnable::new("v2"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("apply"), format!("{APPLY}\n")).unwrap();
    let config = format!(
        "[serve]\ninterval = \"0\"\nactions = true\nread_token = \"{READ}\"\napply_token_file = \"{}\"\n",
        dir.path().join("apply").display()
    );
    let mut server = Server::start(&t, &config);
    let mut answers = Vec::new();
    for path in
        ["/", "/api/v1/status", "/api/v3/json", "/api/containers", "/metrics", "/api/v1/upgrades/1", "/nope"]
    {
        for (token, code) in [(None, 401), (Some("wrong"), 401), (Some(READ), 0), (Some(APPLY), 0)] {
            let r = server.get(path, token);
            if code == 401 {
                assert_eq!(r.status, 401, "GET {path} with {token:?}: {}", r.text());
                assert_eq!(r.header("www-authenticate"), Some("Bearer"));
                assert!(r.text().starts_with("{\"error\":"), "{}", r.text());
            } else {
                assert_ne!(r.status, 401, "GET {path} with {token:?}");
                assert_ne!(r.status, 403, "GET {path} with {token:?}");
            }
            answers.push(r.text());
        }
    }
    // Only Bearer: a Basic header with the right token is not accepted.
    let basic = http::request(
        "GET",
        &server.addr,
        "/api/v1/status",
        &[("Authorization", &format!("Basic {READ}"))],
        b"",
    )
    .unwrap();
    assert_eq!(basic.status, 401);
    assert_eq!(server.get("/healthz", None).status, 200);

    // Actions: the read token is forbidden, no or a wrong token 401; nothing changes.
    let body = format!("{{\"reference\":\"{}\",\"expected_digest\":\"{}\"}}", s.reference, s.v2.digest);
    let hold = format!("{{\"reference\":\"{}\"}}", s.reference);
    for (path, body) in [
        ("/api/v1/upgrades", body.as_str()),
        ("/api/v1/holds", hold.as_str()),
        ("/api/v1/skips", hold.as_str()),
    ] {
        let r = server.post(path, Some(READ), body);
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert_eq!(r.text(), "{\"error\":\"the read token cannot change anything: send the apply token\"}");
        assert_eq!(server.post(path, None, body).status, 401, "{path}");
        assert_eq!(server.post(path, Some("wrong"), body).status, 401, "{path}");
        answers.push(r.text());
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(image_of(&s.container), s.v1.id, "a refused upgrade changed the container");
    assert!(!t.state_dir().join("holds.json").exists(), "a refused hold wrote holds.json");
    assert!(!t.state_dir().join("skips.json").exists(), "a refused skip wrote skips.json");

    let log = server.stop();
    for text in answers.iter().chain([&log]) {
        assert!(!text.contains(READ) && !text.contains(APPLY), "a token shows: {text}");
    }
    for file in t.state_files() {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(!text.contains(READ) && !text.contains(APPLY), "{} holds a token", file.display());
    }
}

/// Unknown paths 404, wrong methods 405, malformed or oversized bodies
/// 400/413, each with a one-line reason; a client that sends its headers
/// too slowly is cut off, and the server goes on answering others.
#[test]
fn bad_input_gets_a_one_line_answer_and_slow_clients_time_out() {
    let t = TestEnv::new("serve_bad_input");
    let mut server =
        Server::start(&t, &format!("[serve]\ninterval = \"0\"\nactions = true\napply_token = \"{APPLY}\"\n"));
    let one_line = |r: &Response, status: u16, expected: &str| {
        assert_eq!(r.status, status, "{}", r.text());
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        let e = v["error"].as_str().unwrap();
        assert!(!e.contains('\n'));
        assert_eq!(e, expected);
    };
    one_line(
        &server.get("/no/such/page", None),
        404,
        "no such page: /no/such/page (try /, /api/v1/status, /api/v3/json, /api/containers or /metrics)",
    );
    one_line(
        &server.send("DELETE", "/api/v1/status", None, b""),
        405,
        "DELETE is not allowed on /api/v1/status",
    );
    one_line(
        &server.send("PUT", "/api/v1/upgrades", Some(APPLY), b"{}"),
        405,
        "PUT is not allowed on /api/v1/upgrades",
    );
    one_line(
        &server.post("/api/v1/upgrades", Some(APPLY), "{not json"),
        400,
        "the body is not a JSON object {\"reference\": TAG, \"expected_digest\": DIGEST} (key must be a string at line 1 column 2)",
    );
    one_line(
        &server.post(
            "/api/v1/upgrades",
            Some(APPLY),
            "{\"reference\":\"x:1\",\"expected_digest\":\"sha256:abc\"}",
        ),
        400,
        "expected_digest 'sha256:abc' is not a digest: send sha256: and 64 hex digits",
    );
    let big = format!("{{\"reference\":\"{}\"}}", "a".repeat(20_000));
    one_line(
        &server.post("/api/v1/holds", Some(APPLY), &big),
        413,
        "the body is larger than 16384 bytes: send a JSON object {\"reference\": TAG} only",
    );
    one_line(
        &server.post("/api/v1/holds", Some(APPLY), "{\"reference\":\"127.0.0.1:1/not/checked:1\"}"),
        422,
        "127.0.0.1:1/not/checked:1 is not a tag the last update checked: run 'freshen update', or check the name",
    );

    // Half a request line and then nothing: the server hangs up.
    let mut slow = TcpStream::connect(&server.addr).unwrap();
    slow.write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n").unwrap();
    slow.set_read_timeout(Some(DEADLINE)).unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(60), "the slow client was kept {:?}", started.elapsed());
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"), "{}", String::from_utf8_lossy(&rest));
    assert_eq!(server.get("/healthz", None).status, 200);
    server.stop();
}

/// Polls a job until it is no longer running.
fn finished_job(server: &Server, id: u64, token: Option<&str>) -> Value {
    let started = Instant::now();
    loop {
        let job = server.json(&format!("/api/v1/upgrades/{id}"), token);
        if job["state"] != "running" {
            return job;
        }
        assert!(started.elapsed() < Duration::from_secs(180), "job {id} still runs\n{}", server.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An upgrade through the API is pinned to the digest the person saw: a
/// tag that moved since is refused with 412 and nothing changes; the
/// approved one runs as a job (202), a second one meanwhile gets 409, the
/// container is recreated on the approved version, and the status records
/// the upgrade. Skip, hold and unhold go through too.
#[test]
fn upgrades_are_pinned_to_the_approved_digest_and_one_runs_at_a_time() {
    let t = TestEnv::new("serve_pinned_upgrade");
    let c = Containers::new(&t);
    let s = scene_with(&t, &c, "web", &Runnable::new("v2").health(Health::Healthy), false);
    let other = scene_with(&t, &c, "db", &Runnable::new("v2"), false);
    let mut server = Server::start(
        &t,
        &format!("[serve]\ninterval = \"0\"\nactions = true\nwait = 5\nread_token = \"{READ}\"\napply_token = \"{APPLY}\"\n"),
    );
    let ask = |reference: &str, digest: &str| {
        server.post(
            "/api/v1/upgrades",
            Some(APPLY),
            &format!("{{\"reference\":\"{reference}\",\"expected_digest\":\"{digest}\"}}"),
        )
    };
    // The person approved v1's digest (an older page): the registry says v2.
    let moved = ask(&s.reference, &s.v1.digest);
    assert_eq!(moved.status, 412, "{}", moved.text());
    let short = &s.v2.digest["sha256:".len().."sha256:".len() + 12];
    assert_eq!(
        moved.text(),
        format!("{{\"error\":\"the registry moved the tag since it was approved (it is {short} now): reload and approve again\"}}")
    );
    assert_eq!(image_of(&s.container), s.v1.id, "a refused upgrade changed the container");

    let accepted = ask(&s.reference, &s.v2.digest);
    assert_eq!(accepted.status, 202, "{}", accepted.text());
    let job: Value = serde_json::from_slice(&accepted.body).unwrap();
    let id = job["id"].as_u64().unwrap();
    assert_eq!(accepted.header("location"), Some(format!("/api/v1/upgrades/{id}").as_str()));
    assert_eq!(job["state"], "running");
    assert_eq!(job["expected_digest"], s.v2.digest.as_str());

    // One at a time.
    let busy = ask(&other.reference, &other.v2.digest);
    assert_eq!(busy.status, 409, "{}", busy.text());
    assert!(busy.text().contains("is running"), "{}", busy.text());

    let done = finished_job(&server, id, Some(READ));
    assert_eq!(done["state"], "upgraded", "{done:#}\n{}", server.log());
    assert_eq!(
        image_of(&s.container),
        s.v2.id,
        "the container does not run the approved version (v1 {})\n{}",
        s.v1.id,
        server.log()
    );
    assert_eq!(containers::state(&s.container).0, "running");
    // Recorded like any upgrade: `list` and the status say so.
    assert_eq!(t.list(&[&s.reference]).get(&s.reference).status, "up-to-date");
    let status = server.status_until(Some(READ), "the upgrade in the status", |v| {
        tag(v, &s.reference)["last_upgrade"]["outcome"] == "upgraded"
    });
    assert_eq!(tag(&status, &s.reference)["status"], "up-to-date");

    // Skip, hold, unhold.
    let r = |_: &str| format!("{{\"reference\":\"{}\"}}", other.reference);
    let skip = server.post("/api/v1/skips", Some(APPLY), &r(""));
    assert_eq!(skip.status, 200, "{}", skip.text());
    assert!(skip.text().contains("skipping"), "{}", skip.text());
    server.status_until(Some(READ), "the skip", |v| {
        tag(v, &other.reference)["skipped"]["digest"] == other.v2.digest.as_str()
    });
    let hold = server.post("/api/v1/holds", Some(APPLY), &r(""));
    assert_eq!(hold.status, 200, "{}", hold.text());
    server.status_until(Some(READ), "the hold", |v| tag(v, &other.reference)["held"] == true);
    let holds = t.freshen().arg("showhold").run();
    assert!(holds.stdout.contains(&t.repo("db")), "{}", holds.stdout);
    let unhold = server.post("/api/v1/unholds", Some(APPLY), &r(""));
    assert_eq!(unhold.status, 200, "{}", unhold.text());
    server.status_until(Some(READ), "the unhold", |v| tag(v, &other.reference)["held"] == false);
    // A skipped version is not upgraded either.
    let skipped = ask(&other.reference, &other.v2.digest);
    assert_eq!(skipped.status, 202, "{}", skipped.text());
    let id: u64 = serde_json::from_slice::<Value>(&skipped.body).unwrap()["id"].as_u64().unwrap();
    let job = finished_job(&server, id, Some(READ));
    assert_eq!(job["state"], "not-upgraded", "{job:#}");
    assert_eq!(image_of(&other.container), other.v1.id, "{}", server.log());
    server.stop();
}

/// With an interval, the server runs the update itself: a tag that was
/// never checked shows as upgradable without any CLI run.
#[test]
fn the_server_keeps_the_state_fresh_on_its_interval() {
    let t = TestEnv::new("serve_interval");
    let reg = registry::shared();
    let reference = t.reference(reg.host(), "web", "1");
    t.publish(&reference, "v1");
    let v2 = t.publish_remote(reg, "web", "1", "v2");
    let mut server = Server::start(&t, "[serve]\ninterval = \"1h\"\n");
    let status = server.status_until(None, "the scheduled update", |v| {
        v["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["reference"] == reference && x["status"] == "upgradable")
    });
    assert_eq!(tag(&status, &reference)["available"]["digest"], v2.digest.as_str());
    assert!(status["last_check"]["at"].is_string());
    assert!(t.state_dir().join("state.json").exists());
    server.stop();
}

/// A private mosquitto on a loopback port, and a `mosquitto_sub` that
/// records every message under the Home Assistant and freshen prefixes.
struct Broker {
    broker: Child,
    sub: Child,
    port: u16,
    seen: Arc<Mutex<Vec<(String, String)>>>,
    _dir: tempfile::TempDir,
}

impl Broker {
    fn start() -> Broker {
        let dir = tempfile::Builder::new().prefix("freshen-mqtt-").tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
        )
        .unwrap();
        let broker = Command::new("mosquitto")
            .args(["-c", conf.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto (apt-get install mosquitto)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < DEADLINE, "mosquitto did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut sub = Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-v",
                "-t",
                "homeassistant/#",
                "-t",
                "freshen/#",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub (apt-get install mosquitto-clients)");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let out = sub.stdout.take().unwrap();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let (topic, payload) = line.split_once(' ').unwrap_or((line.as_str(), ""));
                sink.lock().unwrap().push((topic.to_string(), payload.to_string()));
            }
        });
        Broker { broker, sub, port, seen, _dir: dir }
    }

    /// The first message since `from` (an index into what was seen) whose
    /// topic and payload satisfy `ok`; its index too.
    fn wait(&self, from: usize, what: &str, ok: impl Fn(&str, &str) -> bool) -> (usize, String, String) {
        let started = Instant::now();
        loop {
            {
                let seen = self.seen.lock().unwrap();
                if let Some((i, (t, p))) = seen.iter().enumerate().skip(from).find(|(_, (t, p))| ok(t, p)) {
                    return (i, t.clone(), p.clone());
                }
            }
            assert!(
                started.elapsed() < DEADLINE,
                "no MQTT message: {what}\n{:#?}",
                self.seen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn publish(&self, topic: &str, payload: &str) {
        let ok = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", topic, "-m", payload])
            .status()
            .unwrap()
            .success();
        assert!(ok, "mosquitto_pub {topic}");
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        for child in [&mut self.sub, &mut self.broker] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The discovery message of `reference`, as the broker holds it.
fn discovery_of(b: &Broker, from: usize, reference: &str) -> (usize, String, Value) {
    let (i, topic, payload) = b.wait(from, &format!("discovery of {reference}"), |t, p| {
        t.starts_with("homeassistant/update/")
            && t.ends_with("/config")
            && p.contains(&format!("\"name\":\"{reference}\""))
    });
    (i, topic, serde_json::from_str(&payload).unwrap())
}

/// Home Assistant over a real mosquitto: one update entity per tag on one
/// device, retained discovery and state, availability with a last will;
/// an install command (carrying the digest Home Assistant was shown) runs
/// the pinned, health-gated upgrade: a healthy version stays, an unhealthy
/// one is rolled back, a stale digest is refused. Without install, no
/// command topic is published.
#[test]
fn home_assistant_installs_through_the_pinned_health_gated_upgrade() {
    let t = TestEnv::new("serve_mqtt");
    let c = Containers::new(&t);
    let good = scene_with(&t, &c, "web", &Runnable::new("v2").health(Health::Healthy), false);
    let bad = scene_with(&t, &c, "api", &Runnable::new("v2").health(Health::Unhealthy), false);
    let b = Broker::start();
    let mqtt = format!("[mqtt]\nbroker = \"127.0.0.1:{}\"\ninstall = true\n", b.port);
    let config =
        format!("[serve]\ninterval = \"0\"\nactions = true\nwait = 4\napply_token = \"{APPLY}\"\n{mqtt}");
    let server = Server::start(&t, &config);

    let (_, topic, d) = discovery_of(&b, 0, &good.reference);
    let node = topic.split('/').nth(2).unwrap().to_string();
    assert_eq!(d["device"]["identifiers"][0], format!("freshen_{node}"));
    assert_eq!(d["payload_install"], good.v2.digest.as_str());
    let availability = d["availability_topic"].as_str().unwrap().to_string();
    let state_topic = d["state_topic"].as_str().unwrap().to_string();
    let command = d["command_topic"].as_str().unwrap().to_string();
    assert_eq!(availability, format!("freshen/{node}/availability"));
    b.wait(0, "online", |t, p| t == availability && p == "online");
    let (_, _, state) = b.wait(0, "the state", |t, _| t == state_topic);
    let state: Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["in_progress"], false);
    assert_eq!(state["latest_version"], format!("sha256:{}", &good.v2.digest[7..19]));
    assert_ne!(state["installed_version"], state["latest_version"]);
    let (_, bad_topic, bad_d) = discovery_of(&b, 0, &bad.reference);
    assert_eq!(bad_topic.split('/').nth(2), Some(node.as_str()), "one device per host");
    assert_eq!(bad_d["device"], d["device"]);

    // A stale digest (what Home Assistant showed before the tag moved): refused.
    b.publish(&command, &good.v1.digest);
    let started = Instant::now();
    while !server.log().contains("refused (412)") {
        assert!(started.elapsed() < DEADLINE, "the stale install was not refused:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(image_of(&good.container), good.v1.id);

    // Install: in progress, then the new version, installed.
    let mark = b.count();
    b.publish(&command, &good.v2.digest);
    b.wait(mark, "in_progress", |t, p| t == state_topic && p.contains("\"in_progress\":true"));
    let (_, _, after) =
        b.wait(mark, "installed", |t, p| t == state_topic && p.contains("\"in_progress\":false"));
    let after: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(after["installed_version"], after["latest_version"], "{after}");
    assert_eq!(image_of(&good.container), good.v2.id, "{}", server.log());
    let jobs = server.json("/api/v1/upgrades", None);
    assert_eq!(jobs[0]["source"], "mqtt");
    assert_eq!(jobs[0]["state"], "upgraded", "{jobs:#}");

    // An unhealthy version: rolled back, the old container runs again.
    let bad_command = bad_d["command_topic"].as_str().unwrap().to_string();
    b.publish(&bad_command, &bad.v2.digest);
    let started = Instant::now();
    let job = loop {
        let jobs = server.json("/api/v1/upgrades", None);
        if jobs[0]["reference"] == bad.reference.as_str() && jobs[0]["state"] != "running" {
            break jobs[0].clone();
        }
        assert!(started.elapsed() < Duration::from_secs(180), "no rollback:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(job["state"], "rolled-back", "{job:#}\n{}", server.log());
    assert_eq!(image_of(&bad.container), bad.v1.id, "the rolled back container does not run v1");
    assert_eq!(containers::state(&bad.container).0, "running");
    let status = server.status_until(None, "the rollback", |v| {
        tag(v, &bad.reference)["last_upgrade"]["outcome"] == "rolled-back"
    });
    assert_eq!(
        tag(&status, &bad.reference)["update_offered"],
        false,
        "a rolled back version is not offered again"
    );

    // The last will: the server dies, the broker says offline.
    let mark = b.count();
    unsafe { libc::kill(server.child.as_ref().unwrap().id() as i32, libc::SIGKILL) };
    b.wait(mark, "the last will", |t, p| t == availability && p == "offline");
    drop(server);

    // Without install: no command topic (no Install button).
    let mark = b.count();
    let config = format!("[serve]\ninterval = \"0\"\n[mqtt]\nbroker = \"127.0.0.1:{}\"\n", b.port);
    let mut plain = Server::start(&t, &config);
    let (_, _, d) = discovery_of(&b, mark, &good.reference);
    assert!(d.get("command_topic").is_none() && d.get("payload_install").is_none(), "{d}");
    b.wait(mark, "online again", |t, p| t == availability && p == "online");
    let mark = b.count();
    plain.stop();
    b.wait(mark, "offline on a clean stop", |t, p| t == availability && p == "offline");
}

/// The status page in Debian's headless chromium (driven by playwright-core
/// from tests/browser): every tag with its verdict, "Updates only" filters
/// it with one click, it reads without JavaScript (the filter is then a
/// form), fits a phone's width, loads nothing from elsewhere, and the
/// Upgrade button asks for confirmation and the apply token, then starts
/// the pinned upgrade. `FRESHEN_SCREENSHOT=PATH` keeps the screenshot.
#[test]
fn the_status_page_reads_filters_and_upgrades_in_a_real_browser() {
    let browser_dir = repo_file("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run 'npm install' in tests/browser (.ci/serve.sh does)"
    );
    let t = TestEnv::new("serve_page");
    let c = Containers::new(&t);
    let s = scene(&t, &c, "web", &Runnable::new("v2").health(Health::Healthy));
    let reg = registry::shared();
    let current = t.reference(reg.host(), "db", "16");
    t.publish(&current, "v1");
    t.freshen().args(["update", &current]).run().expect_code(0);
    let mut server = Server::start(
        &t,
        &format!("[serve]\ninterval = \"0\"\nactions = true\nwait = 5\napply_token = \"{APPLY}\"\n"),
    );
    server.status_until(None, "both tags", |v| {
        let tags = v["tags"].as_array().unwrap();
        tags.iter().any(|x| x["reference"] == s.reference) && tags.iter().any(|x| x["reference"] == current)
    });
    let shot = tempfile::Builder::new().prefix("freshen-page-").suffix(".png").tempfile().unwrap();
    let out = Command::new("node")
        .args([
            "page.mjs",
            &format!("http://{}/", server.addr),
            shot.path().to_str().unwrap(),
            &s.name,
            APPLY,
        ])
        .current_dir(&browser_dir)
        .output()
        .expect("node (apt-get install nodejs)");
    assert!(
        out.status.success(),
        "page.mjs failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = |key: &str| -> Vec<String> {
        report[key].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
    };
    let has = |key: &str, name: &str| rows(key).iter().any(|r| r == name);
    let host = server.json("/api/v1/status", None)["host"]["name"].as_str().unwrap().to_string();
    assert_eq!(report["title"], format!("freshen on {host}"));
    assert_eq!(report["heading"], format!("freshen on {host}"));
    assert!(report["summary"].as_str().unwrap().starts_with("Last checked "), "{report:#}");
    for key in ["all", "allAgain", "noScriptAll"] {
        assert!(has(key, &s.name) && has(key, &current), "{key}: {report:#}");
    }
    for key in ["updatesOnly", "noScriptUpdatesOnly"] {
        assert!(has(key, &s.name) && !has(key, &current), "{key}: {report:#}");
        assert!(rows(key).len() < rows("all").len(), "{key}: {report:#}");
    }
    assert!(report["noScriptUrl"].as_str().unwrap().ends_with("?updates=only"), "{report:#}");
    assert!(report["shown"].as_str().unwrap().ends_with("tags shown"), "{report:#}");
    assert!(rows("buttons").contains(&format!("{} Upgrade", s.name)), "{report:#}");
    assert!(!rows("buttons").contains(&format!("{current} Upgrade")), "{report:#}");
    assert_eq!(report["noScriptButtons"], 0, "buttons need the script");
    let base = format!("http://{}/", server.addr);
    assert!(
        rows("requests").iter().all(|u| u.starts_with(&base)),
        "the page loaded something from elsewhere: {report:#}"
    );
    let phone = &report["phone"];
    assert!(phone["scrollWidth"].as_f64() <= phone["innerWidth"].as_f64(), "wider than a phone: {phone}");
    assert!(phone["fontSize"].as_f64().unwrap() >= 14.0, "{phone}");
    // The button asked, then the pinned upgrade was accepted.
    let dialogs = rows("dialogs");
    assert_eq!(dialogs[0], format!("confirm: Upgrade {} to {}?", s.name, &s.v2.digest[7..19]), "{report:#}");
    assert_eq!(dialogs[1], "prompt: Apply token for this server", "{report:#}");
    assert!(report["upgradeMessage"].as_str().unwrap().starts_with("202: "), "{report:#}");
    let png = std::fs::read(shot.path()).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "no screenshot");
    if let Some(keep) = std::env::var_os("FRESHEN_SCREENSHOT") {
        std::fs::write(keep, &png).unwrap();
    }
    let job = finished_job(&server, 1, None);
    assert_eq!(job["state"], "upgraded", "{job:#}\n{}", server.log());
    server.stop();
}

/// A skip from the API leaves out what `freshen skip` would: for a tag
/// whose policy offers a newer tag, that tag (with the digest the update
/// saw), not only a new digest of the tag itself. A tag with nothing on
/// offer is refused with the reason.
#[test]
fn a_skip_from_the_api_skips_the_newer_tag_on_offer() {
    let t = TestEnv::new("serve_skip_tag");
    let reg = registry::shared();
    let app = t.reference(reg.host(), "app", "1.0");
    let plain = t.reference(reg.host(), "plain", "stable");
    let pattern = t.pattern(reg.host());
    t.publish(&app, "v1");
    t.publish(&plain, "v1");
    let v11 = t.publish_remote(reg, "app", "1.1", "v1.1");
    let config =
        format!("tag_cache_ttl = 0\n[serve]\ninterval = \"0\"\nactions = true\napply_token = \"{APPLY}\"\n");
    let server = Server::start(&t, &config);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), &config).unwrap();
    let with_config = || t.freshen().args(["--config", dir.path().join("config.toml").to_str().unwrap()]);
    with_config().args(["update", &pattern]).run().expect_code(0);

    let skip = server.post("/api/v1/skips", Some(APPLY), &format!("{{\"reference\":\"{app}\"}}"));
    assert_eq!(skip.status, 200, "{}", skip.text());
    let short = &v11.digest["sha256:".len().."sha256:".len() + 12];
    assert!(skip.text().contains(&format!("tag 1.1 ({short})")), "{}", skip.text());
    let listing = with_config().args(["list", "--format", "json", &pattern]).run();
    let listing = support::Listing::parse(&listing.stdout);
    let entry = listing.get(&app);
    assert_eq!(entry.raw["skipped"]["tag"], "1.1", "{:#}", entry.raw);
    assert_eq!(entry.raw["skipped"]["tag_digest"], Value::String(v11.digest.clone()), "{:#}", entry.raw);
    assert_eq!(entry.raw["candidate_tag"], Value::Null, "{:#}", entry.raw);

    let nothing = server.post("/api/v1/skips", Some(APPLY), &format!("{{\"reference\":\"{plain}\"}}"));
    assert_eq!(nothing.status, 422, "{}", nothing.text());
    assert!(nothing.text().contains("nothing to skip, no newer version is offered"), "{}", nothing.text());
}
