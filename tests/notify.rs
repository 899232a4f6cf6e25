//! Unattended hosts, end to end: notifications announced once per new
//! update (to a real HTTP receiver on loopback started by each test, and
//! to a command), retried when a target fails, the login message, the
//! node_exporter metrics, the Nagios line, the unattended plan, and the
//! systemd units and cron line that `schedule` writes.

// The harness is shared by every test binary; each uses only part of it.
#[allow(dead_code)]
mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;
use support::{registry, upgradable_summary, Config, Published, TestEnv};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// A real HTTP/1.1 server on a loopback port that records every request
/// and answers with a status the test can change (200 by default). It
/// lives until the test process exits.
#[derive(Clone)]
struct Receiver {
    addr: String,
    requests: Arc<Mutex<Vec<Request>>>,
    status: Arc<AtomicU16>,
    body: Arc<Mutex<String>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let r = Receiver {
            addr: listener.local_addr().unwrap().to_string(),
            requests: Arc::new(Mutex::new(Vec::new())),
            status: Arc::new(AtomicU16::new(200)),
            body: Arc::new(Mutex::new(String::new())),
        };
        let server = r.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let server = server.clone();
                thread::spawn(move || server.serve(stream));
            }
        });
        r
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// What the answers carry as their body (none by default).
    fn set_body(&self, body: &str) {
        *self.body.lock().unwrap() = body.to_string();
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn serve(&self, mut stream: TcpStream) {
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        let head_end = loop {
            if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        };
        let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or("").split(' ');
        let method = first.next().unwrap_or("").to_string();
        let path = first.next().unwrap_or("").to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = raw[head_end + 4..].to_vec();
        while body.len() < length {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&buf[..n]),
            }
        }
        self.requests.lock().unwrap().push(Request { method, path, headers, body });
        let status = self.status.load(Ordering::SeqCst);
        let answer = self.body.lock().unwrap().clone();
        let _ = write!(
            stream,
            "HTTP/1.1 {status} Test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        );
        let _ = stream.flush();
    }
}

fn kernel_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string()
}

/// `(reference, old_digest, new_digest, repeat)` of a payload's updates.
fn updates(payload: &Value) -> Vec<(String, String, String, bool)> {
    payload["updates"]
        .as_array()
        .unwrap_or_else(|| panic!("no updates array in {payload:#}"))
        .iter()
        .map(|u| {
            (
                u["reference"].as_str().unwrap().to_string(),
                u["old_digest"].as_str().unwrap().to_string(),
                u["new_digest"].as_str().unwrap().to_string(),
                u["repeat"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn update(reference: &str, old: &Published, new: &Published) -> (String, String, String, bool) {
    (reference.to_string(), old.digest.clone(), new.digest.clone(), false)
}

/// The announced updates: the first run sends the two new ones, the second
/// nothing, the third only the tag that moved again. The webhook gets the
/// documented JSON with its secret header; the command gets the same JSON
/// on stdin; the secret never reaches output or the state directory.
#[test]
fn each_update_is_announced_once() {
    let t = TestEnv::new("each_update_is_announced_once");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "1");
    let db = t.reference(reg.host(), "db", "1");
    let web = t.reference(reg.host(), "web", "1");
    let app_v1 = t.publish(&app, "v1");
    let db_v1 = t.publish(&db, "v1");
    t.publish(&web, "v1");
    let app_v2 = t.publish_remote(reg, "app", "1", "v2");
    let db_v2 = t.publish_remote(reg, "db", "1", "v2");

    let hook = Receiver::start();
    let token = "Bearer t0ken-that-must-not-leak";
    let config = Config::new("");
    std::fs::write(config.file("api-key"), "key-from-a-file\n").unwrap();
    let stdin_copy = config.file("payload.json");
    std::fs::write(
        config.path(),
        format!(
            "[[notify]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n\
             headers = {{ Authorization = {{ env = \"FRESHEN_TEST_TOKEN\" }}, X-Api-Key = {{ file = \"{}\" }} }}\n\n\
             [[notify]]\nname = \"script\"\nkind = \"exec\"\ncommand = [\"sh\", \"-c\", \"cat > '{}'\"]\n",
            hook.url("/hooks/freshen"),
            config.file("api-key").display(),
            stdin_copy.display()
        ),
    )
    .unwrap();
    let run_update = || {
        t.freshen()
            .args(["--config", &config.path(), "update", "--notify", &pattern])
            .env("FRESHEN_TEST_TOKEN", token)
            .run()
    };

    let run = run_update();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(2), "\n{run}");
    assert!(run.stderr.contains("Announced 2 updates to hook."), "\n{run}");
    assert!(run.stderr.contains("Announced 2 updates to script."), "\n{run}");
    let got = hook.requests();
    assert_eq!(got.len(), 1, "one POST for both updates: {got:?}");
    let req = &got[0];
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/hooks/freshen"));
    assert_eq!(req.header("authorization"), Some(token));
    assert_eq!(req.header("x-api-key"), Some("key-from-a-file"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let payload = req.json();
    assert_eq!(payload["schema_version"], 1);
    assert_eq!(payload["event"], "updates");
    assert_eq!(payload["host"], kernel_host_name().as_str());
    support::assert_rfc3339(payload["time"].as_str().unwrap());
    assert_eq!(updates(&payload), vec![update(&app, &app_v1, &app_v2), update(&db, &db_v1, &db_v2)]);
    let first = &payload["updates"][0];
    assert_eq!(first["image"], app.as_str(), "a registry with a port is shown in full");
    assert_eq!(first["tag"], "1");
    assert_eq!(first["image_id"], app_v1.id.as_str());
    support::assert_rfc3339(first["checked_at"].as_str().unwrap());
    // The tag is a version; the new image carries no version label.
    assert_eq!(first["old_version"], "1", "{first:#}");
    assert_eq!(first["new_version"], Value::Null, "{first:#}");

    // The command read the same document on stdin.
    let piped: Value =
        serde_json::from_slice(&std::fs::read(&stdin_copy).unwrap()).expect("valid JSON on stdin");
    assert_eq!(piped["event"], "updates");
    assert_eq!(updates(&piped), updates(&payload));

    // Nothing new: nothing sent, the command not run.
    std::fs::remove_file(&stdin_copy).unwrap();
    let run = run_update();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(2), "\n{run}");
    assert!(!run.stderr.contains("Announced"), "\n{run}");
    assert_eq!(hook.requests().len(), 1);
    assert!(!stdin_copy.exists(), "the command ran again");

    // The app's tag moves again: only that one is announced.
    let app_v3 = t.publish_remote(reg, "app", "1", "v3");
    let run = run_update();
    run.expect_code(0);
    assert!(run.stderr.contains("Announced 1 update to hook."), "\n{run}");
    let got = hook.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(updates(&got[1].json()), vec![update(&app, &app_v1, &app_v3)]);
    let piped: Value = serde_json::from_slice(&std::fs::read(&stdin_copy).unwrap()).unwrap();
    assert_eq!(updates(&piped), vec![update(&app, &app_v1, &app_v3)]);

    // No secret anywhere freshen writes.
    for path in t.state_files() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            !text.contains("t0ken") && !text.contains("key-from-a-file"),
            "{} holds a secret",
            path.display()
        );
    }
    assert!(t.state_files().iter().any(|p| p.ends_with("notified.json")), "{:?}", t.state_files());

    // check --notify announces through the same record.
    let run = t
        .freshen()
        .args(["--config", &config.path(), "check", "--notify", &pattern])
        .env("FRESHEN_TEST_TOKEN", token)
        .run();
    run.expect_code(100);
    assert_eq!(hook.requests().len(), 2);
}

/// A target that fails is reported (exit 1) and gets the same updates on
/// the next run, while the target that worked is not sent them again.
#[test]
fn failed_target_is_retried_next_run() {
    let t = TestEnv::new("failed_target_is_retried_next_run");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "1");
    let app_v1 = t.publish(&app, "v1");
    let app_v2 = t.publish_remote(reg, "app", "1", "v2");

    let good = Receiver::start();
    let flaky = Receiver::start();
    flaky.set_status(503);
    let config = Config::new(&format!(
        "[[notify]]\nname = \"good\"\nkind = \"webhook\"\nurl = \"{}\"\n\n\
         [[notify]]\nname = \"flaky\"\nkind = \"ntfy\"\nurl = \"{}\"\nretries = 1\n",
        good.url("/"),
        flaky.url("/freshen-topic")
    ));
    let run_update = || t.freshen().args(["--config", &config.path(), "update", "--notify", &pattern]).run();

    let run = run_update();
    run.expect_code(1);
    assert_eq!(run.last_line(), upgradable_summary(1), "\n{run}");
    assert_eq!(
        run.warnings(),
        vec![
            "W: cannot announce 1 update to flaky: the server answered 503 Service Unavailable \
             (after 2 attempts); will try again on the next run"
        ],
        "\n{run}"
    );
    assert_eq!(good.requests().len(), 1);
    assert_eq!(flaky.requests().len(), 2, "one retry after a 503");

    flaky.set_status(200);
    let run = run_update();
    run.expect_code(0);
    assert!(run.warnings().is_empty(), "\n{run}");
    assert_eq!(good.requests().len(), 1, "the working target is not sent the update twice");
    let got = flaky.requests();
    assert_eq!(got.len(), 3);
    let delivered = &got[2];
    assert_eq!(delivered.path, "/freshen-topic");
    assert_eq!(
        delivered.header("title"),
        Some(format!("freshen on {}: 1 image update", kernel_host_name()).as_str())
    );
    assert_eq!(delivered.header("content-type"), Some("text/plain; charset=utf-8"));
    let short = |d: &str| d.strip_prefix("sha256:").unwrap()[..12].to_string();
    assert_eq!(
        String::from_utf8(delivered.body.clone()).unwrap(),
        format!("{app} can be upgraded: {} -> {}\n", short(&app_v1.digest), short(&app_v2.digest))
    );

    let run = run_update();
    run.expect_code(0);
    assert_eq!((good.requests().len(), flaky.requests().len()), (1, 3), "nothing new, nothing sent");

    // --renotify-after sends a reminder once the interval has passed.
    thread::sleep(Duration::from_millis(2100));
    let run = t
        .freshen()
        .args(["--config", &config.path(), "update", "--notify", "--renotify-after", "2s", &pattern])
        .run();
    run.expect_code(0);
    let got = good.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(
        updates(&got[1].json()),
        vec![(app.clone(), app_v1.digest.clone(), app_v2.digest.clone(), true)]
    );
}

/// `notify --test` reaches every target and prints one line for each.
#[test]
fn notify_test_reports_each_target() {
    let t = TestEnv::new("notify_test_reports_each_target");
    let hook = Receiver::start();
    let topic = Receiver::start();
    let dead = registry::dead_host();
    // A server error whose body says "ok": the body must not read as the outcome.
    let broken = Receiver::start();
    broken.set_status(500);
    broken.set_body("ok");
    let config = Config::new(&format!(
        "[[notify]]\nkind = \"webhook\"\nurl = \"{}\"\n\n\
         [[notify]]\nkind = \"ntfy\"\nurl = \"{}\"\ntitle = \"Docker images\"\n\n\
         [[notify]]\nkind = \"webhook\"\nurl = \"http://{dead}/\"\nretries = 0\n\n\
         [[notify]]\nname = \"failing-script\"\nkind = \"exec\"\ncommand = [\"sh\", \"-c\", \"echo no mail today >&2; exit 3\"]\n\n\
         [[notify]]\nkind = \"webhook\"\nurl = \"{}\"\nretries = 0\n",
        hook.url("/x"),
        topic.url("/t"),
        broken.url("/"),
    ));
    let run = t.freshen().args(["--config", &config.path(), "notify", "--test"]).run();
    run.expect_code(1);
    let lines = run.stdout_lines();
    assert_eq!(lines.len(), 5, "\n{run}");
    assert_eq!(
        lines[4],
        format!(
            "webhook #5 ({}): failed: the server answered 500 Internal Server Error with the body \"ok\"",
            broken.addr
        )
    );
    assert_eq!(lines[0], format!("webhook #1 ({}): sent", hook.addr));
    assert_eq!(lines[1], format!("ntfy #2 ({}): sent", topic.addr));
    assert!(lines[2].starts_with(&format!("webhook #3 ({dead}): failed: cannot connect")), "\n{run}");
    assert_eq!(lines[3], "failing-script: failed: sh exited with status 3: no mail today");
    let payload = hook.requests()[0].json();
    assert_eq!(payload["event"], "test");
    assert_eq!(payload["updates"], Value::Array(Vec::new()));
    assert_eq!(topic.requests()[0].header("title"), Some("Docker images"));

    // No targets at all is a clear error.
    let run = t.freshen().args(["notify", "--test"]).run();
    run.expect_code(1);
    assert!(
        run.stderr.starts_with("freshen: no notification targets: add a [[notify]] table to "),
        "\n{run}"
    );

    // A mistake in a target names the file, the line and the key.
    let bad = Config::new("[[notify]]\nkind = \"webhook\"\nurl = \"ftp://example.org/\"\n");
    let run = t.freshen().args(["--config", &bad.path(), "notify", "--test"]).run();
    run.expect_code(1);
    assert_eq!(
        run.stderr.trim_end(),
        format!(
            "freshen: config file {}: line 3, key 'notify.url': must be an http:// or https:// URL \
             (in [[notify]] number 1)",
            bad.path()
        )
    );
    // So does every command that may notify…
    for command in [&["update", "--notify"][..], &["check", "--notify"], &["upgrade", "-s"]] {
        let run = t.freshen().args(["--config", &bad.path()]).args(command).run();
        run.expect_code(1);
        assert!(run.stderr.contains("key 'notify.url': must be an http:// or https:// URL"), "\n{run}");
    }
    // …while the commands that never notify have no use for a target and work.
    for command in [
        &["motd"][..],
        &["showhold"],
        &["hold", "freshen-test-nothing:1"],
        &["unhold", "freshen-test-nothing:1"],
    ] {
        let run = t.freshen().args(["--config", &bad.path()]).args(command).run();
        run.expect_code(0);
        assert!(!run.stderr.contains("notify"), "\n{run}");
    }
}

/// The login message and the metrics say what the state says, without
/// the engine; the Nagios line and exit code follow the verdicts.
#[test]
fn motd_metrics_and_nagios_match_the_state() {
    let t = TestEnv::new("motd_metrics_and_nagios_match_the_state");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "1");
    let db = t.reference(reg.host(), "db", "1");
    let web = t.reference(reg.host(), "web", "1");
    t.publish(&app, "v1");
    t.publish(&db, "v1");
    t.publish(&web, "v1");

    let run = t.freshen().args(["check", "--nagios", &pattern]).run();
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        "FRESHEN OK - all 3 images up to date | upgradable=0;1;;0; total=3;;;0; errors=0;;;0;\n"
    );
    let run = t.freshen().args(["motd", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.stdout, "", "nothing when everything is current");

    t.publish_remote(reg, "app", "1", "v2");
    t.publish_remote(reg, "db", "1", "v2");
    let run = t.freshen().args(["check", "--nagios", "--critical", "3", &pattern]).run();
    run.expect_code(1);
    assert_eq!(
        run.stdout,
        format!(
            "FRESHEN WARNING - 2 of 3 images can be upgraded: {app}, {db} \
             | upgradable=2;1;3;0; total=3;;;0; errors=0;;;0;\n"
        )
    );
    let run = t.freshen().args(["check", "--nagios", "--critical", "2", &pattern]).run();
    run.expect_code(2);
    assert!(run.stdout.starts_with("FRESHEN CRITICAL - 2 of 3 images can be upgraded"), "\n{run}");

    // motd and metrics read only the state: a daemon that is not there does not matter.
    let nowhere = ["-H", "unix:///nonexistent/docker.sock"];
    let run = t.freshen().args(nowhere).args(["motd", &pattern]).run();
    run.expect_code(0);
    assert_eq!(
        run.stdout_lines(),
        vec!["2 image updates can be applied.", "Run 'freshen list --upgradable' to see them."]
    );
    let state: Value =
        serde_json::from_slice(&std::fs::read(t.state_dir().join("state.json")).unwrap()).unwrap();
    let updated_at = time::OffsetDateTime::parse(
        state["updated_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    let out = t.state_dir().join("metrics/freshen.prom");
    // The collector's directory must exist (a missing one is a typo).
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let run = t
        .freshen()
        .umask(0o022)
        .args(nowhere)
        .args(["metrics", "--output", out.to_str().unwrap(), &pattern])
        .run();
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    // node_exporter runs as its own user: the file is as readable as the
    // umask allows, while the state files stay owner-only.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&out), 0o644, "the metrics file under umask 022");
    assert_eq!(mode(&t.state_dir().join("state.json")), 0o600);
    let run = t
        .freshen()
        .umask(0o077)
        .args(nowhere)
        .args(["metrics", "--output", out.to_str().unwrap(), &pattern])
        .run();
    run.expect_code(0);
    assert_eq!(mode(&out), 0o600, "a stricter umask is honoured too");
    let text = std::fs::read_to_string(&out).unwrap();
    let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    // The host's totals, and per tag whether it can be upgraded now, with
    // `image` and `tag` split (the whole `reference` stays one release).
    let name = |r: &str| r.rsplit_once(':').unwrap().0.to_string();
    let mut expected: Vec<String> = [
        "freshen_images 3",
        "freshen_images_total 3",
        "freshen_images_upgradable 2",
        "freshen_images_cooldown 0",
        "freshen_images_skipped 0",
        "freshen_images_held 0",
        "freshen_check_errors 0",
        "freshen_interrupted_recreations 0",
    ]
    .map(String::from)
    .to_vec();
    for (r, up) in [(&app, 1), (&db, 1), (&web, 0)] {
        expected.push(format!(
            "freshen_image_upgradable{{image=\"{}\",tag=\"1\",reference=\"{r}\"}} {up}",
            name(r)
        ));
    }
    expected.push(format!("freshen_last_update_timestamp_seconds {updated_at}"));
    for line in &expected {
        assert!(samples.contains(&line.as_str()), "no sample {line}\n{text}");
    }
    for family in ["freshen_images", "freshen_images_upgradable", "freshen_image_upgradable"] {
        assert!(text.contains(&format!("\n# TYPE {family} gauge\n")), "{text}");
    }
    let stdout = t.freshen().args(nowhere).args(["metrics", &pattern]).run();
    stdout.expect_code(0);
    assert_eq!(stdout.stdout, text, "stdout and the file hold the same document");

    // A held tag is not an update that can be applied: like apt-check and
    // dnf's versionlock, check, Nagios, motd and metrics leave it out.
    t.freshen().args(["hold", &db]).run().expect_code(0);
    let run = t.freshen().args(["check", "--nagios", &pattern]).run();
    run.expect_code(1);
    assert!(
        run.stdout.starts_with(&format!("FRESHEN WARNING - 1 of 3 images can be upgraded: {app} |")),
        "\n{run}"
    );
    let run = t.freshen().args(nowhere).args(["metrics", &pattern]).run();
    assert!(run.stdout.contains("\nfreshen_images_upgradable 1\n"), "{run}");
    assert!(run.stdout.contains("\nfreshen_images_held 1\n"), "{run}");
    let db_name = db.rsplit_once(':').unwrap().0;
    let held = format!("freshen_image_upgradable{{image=\"{db_name}\",tag=\"1\",reference=\"{db}\"}} 0");
    assert!(run.stdout.contains(&held), "{run}");
    t.freshen().args(["hold", &app]).run().expect_code(0);
    t.freshen().args(["check", &pattern]).run().expect_code(0);
    let run = t.freshen().args(nowhere).args(["motd", &pattern]).run();
    assert_eq!(run.stdout, "", "\n{run}");
    t.freshen().args(["unhold", &app, &db]).run().expect_code(0);
    t.freshen().args(["check", &pattern]).run().expect_code(100);

    // A week-old list says so.
    let mut old = state.clone();
    old["updated_at"] = Value::String("2020-01-01T00:00:00Z".into());
    std::fs::write(t.state_dir().join("state.json"), serde_json::to_vec(&old).unwrap()).unwrap();
    let run = t.freshen().args(nowhere).args(["motd", &pattern]).run();
    run.expect_code(0);
    assert_eq!(
        run.stdout_lines(),
        vec![
            "2 image updates can be applied.",
            "Run 'freshen list --upgradable' to see them.",
            "The list of available updates is more than a week old.",
            "Run 'freshen update' to refresh it.",
        ]
    );

    // A registry that cannot be reached makes the check UNKNOWN; a daemon
    // that cannot be reached too, still with one status line.
    let dead = registry::dead_host();
    support::docker::tag(&web, &t.reference(&dead, "web", "1"));
    let run = t.freshen().args(["check", "--nagios", &t.pattern(&dead)]).run();
    run.expect_code(3);
    assert!(
        run.stdout.starts_with("FRESHEN UNKNOWN - 0 of 1 image up to date; 1 could not be checked |"),
        "\n{run}"
    );
    let run = t.freshen().args(nowhere).args(["check", "--nagios", &pattern]).run();
    run.expect_code(3);
    assert!(run.stdout.starts_with("FRESHEN UNKNOWN - cannot connect to the Docker daemon"), "\n{run}");
    assert_eq!(run.stdout.lines().count(), 1);
}

/// `update --unattended` needs a policy, and then says which upgradable
/// tags the policy allows and which it keeps back; it also notifies.
#[test]
fn unattended_plan_follows_the_policy() {
    let t = TestEnv::new("unattended_plan_follows_the_policy");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "1");
    let db = t.reference(reg.host(), "db", "1");
    t.publish(&app, "v1");
    t.publish(&db, "v1");
    t.publish_remote(reg, "app", "1", "v2");
    t.publish_remote(reg, "db", "1", "v2");

    let run = t.freshen().args(["update", "--unattended", &pattern]).run();
    run.expect_code(1);
    assert!(run.stderr.contains("--unattended needs an [unattended] section in "), "\n{run}");
    assert!(!t.state_dir().join("state.json").exists(), "refused before checking anything");

    let hook = Receiver::start();
    let config = Config::new(&format!(
        "[unattended]\nupgrade = true\nretire = true\nallowed = [\"{}/{}/app\"]\n\n\
         [[notify]]\nkind = \"webhook\"\nurl = \"{}\"\n",
        reg.host(),
        t.namespace(),
        hook.url("/")
    ));
    let run = t.freshen().args(["--config", &config.path(), "update", "--unattended", &pattern]).run();
    run.expect_code(0);
    let lines = run.stdout_lines();
    assert!(
        lines.contains(&format!("Unattended: upgrading {app} and retiring its old image.").as_str()),
        "\n{run}"
    );
    assert!(
        lines
            .contains(&format!("Unattended: kept back {db} (not matched by [unattended] allowed).").as_str()),
        "\n{run}"
    );
    assert_eq!(hook.requests().len(), 1, "--unattended notifies");
    // The allowed tag was really upgraded; the one kept back was not.
    let listing = t.list(&[&pattern]);
    assert_eq!(listing.get(&app).status, "up-to-date", "{:#}\n{run}", listing.get(&app).raw);
    assert_eq!(listing.get(&db).status, "upgradable", "{:#}", listing.get(&db).raw);
}

/// The systemd units run this binary with the state and config in effect,
/// and pass `systemd-analyze verify`; the cron file has one line at a
/// minute picked from the host name; uninstall removes what install wrote.
#[test]
fn schedule_writes_units_and_cron_file() {
    let t = TestEnv::new("schedule_writes_units_and_cron_file");
    let config = Config::new("");
    let dir = tempfile::tempdir().unwrap();
    let units = dir.path().join("units");
    std::fs::create_dir(&units).unwrap();
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_freshen")).unwrap();
    let state = t.state_dir();
    let expected_exec = format!(
        "ExecStart={} --state-dir {} --config {} update --notify",
        exe.display(),
        state.display(),
        config.path()
    );

    let run = t
        .freshen()
        .args(["--config", &config.path(), "schedule", "--install", "--dir", units.to_str().unwrap()])
        .args(["--on-calendar", "Mon..Fri 04:00", "--randomized-delay", "30m"])
        .run();
    run.expect_code(0);
    let service = std::fs::read_to_string(units.join("freshen.service")).unwrap();
    let timer = std::fs::read_to_string(units.join("freshen.timer")).unwrap();
    assert!(service.lines().any(|l| l == expected_exec), "{expected_exec}\n{service}");
    assert!(service.lines().any(|l| l == "Type=oneshot"), "{service}");
    let docker_config = state.parent().unwrap().join("docker-config");
    let expected_env = format!("Environment=DOCKER_CONFIG={}", docker_config.display());
    assert!(service.lines().any(|l| l == expected_env), "{expected_env}\n{service}");
    for line in
        ["OnCalendar=Mon..Fri 04:00", "RandomizedDelaySec=1800", "Persistent=true", "WantedBy=timers.target"]
    {
        assert!(timer.lines().any(|l| l == line), "{line} missing\n{timer}");
    }
    assert_eq!(
        run.stdout_lines(),
        vec![
            format!("Wrote {}.", units.join("freshen.service").display()),
            format!("Wrote {}.", units.join("freshen.timer").display()),
            "Run 'systemctl daemon-reload && systemctl enable --now freshen.timer' to start it.".to_string(),
        ]
    );
    verify_units(&units);

    // Printing shows the same files.
    let run = t
        .freshen()
        .args(["--config", &config.path(), "schedule", "--dir", units.to_str().unwrap()])
        .args(["--on-calendar", "Mon..Fri 04:00", "--randomized-delay", "30m"])
        .run();
    run.expect_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "# {}\n{service}\n# {}\n{timer}",
            units.join("freshen.service").display(),
            units.join("freshen.timer").display()
        )
    );

    // With an [unattended] policy the timer runs the unattended mode.
    let unattended = Config::new("[unattended]\nupgrade = true\nallowed = [\"nginx\"]\n");
    let run = t.freshen().args(["--config", &unattended.path(), "schedule"]).run();
    run.expect_code(0);
    assert!(run.stdout.contains(" update --unattended\n"), "\n{run}");

    let run =
        t.freshen().args(["--config", &config.path(), "schedule", "--on-calendar", "every full moon"]).run();
    run.expect_code(2);
    if have_systemd_analyze() {
        assert!(run.stderr.contains("is not a systemd calendar expression"), "\n{run}");
    }
    let run = t.freshen().args(["schedule", "--on-calendar", "daily\nExecStartPre=/bin/evil"]).run();
    run.expect_code(2);
    assert!(run.stderr.contains("--on-calendar must be one non-empty line"), "\n{run}");

    let run = t.freshen().args(["schedule", "--uninstall", "--dir", units.to_str().unwrap()]).run();
    run.expect_code(0);
    assert!(!units.join("freshen.service").exists() && !units.join("freshen.timer").exists());
    let run = t.freshen().args(["schedule", "--uninstall", "--dir", units.to_str().unwrap()]).run();
    run.expect_code(0);
    assert_eq!(run.stdout_lines(), vec![format!("Nothing to remove in {}.", units.display())]);

    // cron: one line, daily at a minute and hour from the host name.
    let cron = dir.path().join("cron.d");
    std::fs::create_dir(&cron).unwrap();
    let run = t
        .freshen()
        .args([
            "--config",
            &config.path(),
            "schedule",
            "--cron",
            "--install",
            "--dir",
            cron.to_str().unwrap(),
        ])
        .run();
    run.expect_code(0);
    let file = std::fs::read_to_string(cron.join("freshen")).unwrap();
    assert!(file.lines().any(|l| l == format!("DOCKER_CONFIG={}", docker_config.display())), "{file}");
    let jobs: Vec<&str> =
        file.lines().filter(|l| !l.starts_with('#') && !l.contains("=/") && !l.is_empty()).collect();
    assert_eq!(jobs.len(), 1, "{file}");
    let fields: Vec<&str> = jobs[0].splitn(7, ' ').collect();
    let minute: u32 = fields[0].parse().unwrap();
    let hour: u32 = fields[1].parse().unwrap();
    assert!(minute < 60 && hour < 6, "{}", jobs[0]);
    assert_eq!(&fields[2..6], ["*", "*", "*", "root"]);
    assert_eq!(
        fields[6],
        format!(
            "{} --state-dir {} --config {} update --notify --quiet >/dev/null",
            exe.display(),
            state.display(),
            config.path()
        )
    );
    let again = t.freshen().args(["--config", &config.path(), "schedule", "--cron"]).run();
    assert!(again.stdout.contains(jobs[0]), "the same minute every time\n{again}");
    let run = t.freshen().args(["schedule", "--cron", "--on-calendar", "Mon 04:00"]).run();
    run.expect_code(2);
    assert!(run.stderr.contains("--cron runs hourly, daily or weekly"), "\n{run}");
    t.freshen()
        .args(["schedule", "--cron", "--uninstall", "--dir", cron.to_str().unwrap()])
        .run()
        .expect_code(0);
    assert!(!cron.join("freshen").exists());
}

fn have_systemd_analyze() -> bool {
    Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// `systemd-analyze verify` on the units, when systemd-analyze is installed.
fn verify_units(dir: &Path) {
    if !have_systemd_analyze() {
        eprintln!("note: systemd-analyze is not installed; the units were not verified");
        return;
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.join("freshen.service"))
        .arg(dir.join("freshen.timer"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "systemd-analyze verify: {stderr}");
}

/// Kills the `openssl s_server` a test started, however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A webhook over HTTPS verifies the server's certificate: a self-signed
/// one (a real TLS server, `openssl s_server`, on loopback) is refused.
#[test]
fn webhook_verifies_tls() {
    if !Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success()) {
        eprintln!("note: openssl is not installed; TLS verification was not tested");
        return;
    }
    let t = TestEnv::new("webhook_verifies_tls");
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let addr = registry::dead_host();
    let port = addr.rsplit(':').next().unwrap().to_string();
    let _server = KillOnDrop(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept", &port, "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_err() {
        assert!(std::time::Instant::now() < deadline, "openssl s_server did not start on {addr}");
        thread::sleep(Duration::from_millis(50));
    }
    let config =
        Config::new(&format!("[[notify]]\nkind = \"webhook\"\nurl = \"https://{addr}/\"\nretries = 0\n"));
    let run = t.freshen().args(["--config", &config.path(), "notify", "--test"]).run();
    run.expect_code(1);
    let line = run.stdout.trim_end();
    assert!(line.starts_with(&format!("webhook #1 ({addr}): failed: ")), "\n{run}");
    assert!(line.to_lowercase().contains("certificate"), "the failure names the certificate\n{run}");
}
