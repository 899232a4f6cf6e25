//! A fleet on Prometheus and Alertmanager (issue 22), on real parts: a
//! real Prometheus (Debian's `prometheus`) scrapes the `freshen metrics`
//! text of 22 hosts, each its own state directory. Two of them are real
//! engines with real upgrades (one passes its health gate, one fails it
//! and rolls back); 20 are state directories written the way an update
//! and an upgrade would leave them; one more host is a real node_exporter
//! that exports no freshen metrics. The README's three fleet questions are
//! asked in PromQL, every panel of the Grafana dashboard is queried, and a
//! real Alertmanager (`prometheus-alertmanager`) delivers the
//! failed-upgrade alert to a webhook listening in this test.
//!
//! Prometheus reads its targets from a file (`file_sd_configs`), each with
//! its own `__metrics_path__` on one loopback HTTP listener of this test
//! that serves each host's metrics file as it is on disk. One host's file
//! is served by a real node_exporter's textfile collector instead, the way
//! hosts publish it.

#[allow(dead_code)]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::containers::{self, Containers, Health, Runnable};
use support::{http, registry, TestEnv};

const DAY: i64 = 86_400;

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A program this test needs, from a Debian package: a clear failure
/// that says how to get it.
fn program(name: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is missing: install Debian's {package} (.ci/monitoring.sh does)");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server this test started; stopped (by its own pid) when dropped.
struct Server {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(name: &'static str, mut command: Command, log: PathBuf) -> Server {
        let out = std::fs::File::create(&log).unwrap();
        command.stdin(Stdio::null()).stdout(out.try_clone().unwrap()).stderr(out);
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Server { name, child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `GET path` on `addr` answers 200.
    fn wait_ready(&mut self, addr: &str, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http::request("GET", addr, path, &[], b"") {
                if r.status == 200 {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before it answered:\n{}", self.name, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{} did not answer on {addr} in 60 s:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one HTTP request from `stream`: its path and body.
fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let path = first.split_whitespace().nth(1)?.to_string();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((path, body))
}

fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// Serves `DIR/NAME.prom` as `/hosts/NAME/metrics`, as it is on disk at
/// each scrape (the files are replaced atomically by `freshen metrics
/// --output`). Runs until the test process ends.
fn serve_metrics(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let Some((path, _)) = read_request(&mut stream) else { continue };
            let name = path.strip_prefix("/hosts/").and_then(|p| p.strip_suffix("/metrics"));
            match name.and_then(|n| std::fs::read(dir.join(format!("{n}.prom"))).ok()) {
                Some(body) => respond(&mut stream, "200 OK", "text/plain; version=0.0.4", &body),
                None => respond(&mut stream, "404 Not Found", "text/plain", b"no such host\n"),
            }
        }
    });
    addr
}

/// A webhook receiver: every body POSTed to it, in order.
fn serve_webhook() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let Some((_, body)) = read_request(&mut stream) else { continue };
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                keep.lock().unwrap().push(v);
            }
            respond(&mut stream, "200 OK", "text/plain", b"ok\n");
        }
    });
    (addr, got)
}

fn form_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An instant query; the result vector, or the error Prometheus gave.
fn query(prometheus: &str, expr: &str) -> Result<Vec<Value>, String> {
    let body = format!("query={}", form_encode(expr));
    let r = http::request(
        "POST",
        prometheus,
        "/api/v1/query",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&r.body).map_err(|e| format!("{e}: {}", r.text()))?;
    if v["status"] != "success" {
        return Err(format!("{expr}: {}", r.text()));
    }
    Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// The `instance` of every series of a result.
fn instances(result: &[Value]) -> BTreeSet<String> {
    result.iter().map(|s| s["metric"]["instance"].as_str().unwrap_or("").to_string()).collect()
}

/// Polls `check` until it holds, up to `limit`.
fn eventually<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match check() {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => panic!("{what}: not within {limit:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// A host simulated by its state directory, written as an update and an
/// upgrade leave it.
struct Simulated<'a> {
    name: String,
    images: Vec<(&'a str, &'a str)>,
    running: Vec<&'a str>,
    held: Vec<&'a str>,
    last_success: i64,
    failures_in_a_row: u64,
    upgrades: Vec<(&'a str, &'a str, i64)>,
}

impl Simulated<'_> {
    fn write(&self, dir: &Path, now: i64) {
        std::fs::create_dir_all(dir).unwrap();
        let digest = |s: &str, v: &str| {
            use sha2::Digest;
            format!("sha256:{:x}", sha2::Sha256::digest(format!("{s}{v}").as_bytes()))
        };
        let checked = rfc3339(self.last_success);
        let entries: Vec<Value> = self
            .images
            .iter()
            .map(|(reference, status)| {
                json!({
                    "reference": reference,
                    "status": status,
                    "image_id": digest(reference, "id"),
                    "local_digest": digest(reference, "old"),
                    "remote_digest": digest(reference, if *status == "upgradable" { "new" } else { "old" }),
                    "checked_at": checked,
                })
            })
            .collect();
        let state = json!({"schema_version": 1, "freshen_version": "0.1.0", "updated_at": checked, "entries": entries});
        std::fs::write(dir.join("state.json"), state.to_string()).unwrap();
        let containers: Vec<Value> = self
            .running
            .iter()
            .enumerate()
            .map(|(i, r)| json!({"name": format!("c{i}"), "reference": r, "image_id": digest(r, "id"), "running": true}))
            .collect();
        let inventory = json!({
            "schema_version": 1,
            "taken_at": checked,
            "engine": {"engine": "docker", "version": "20.10.24", "api_version": "1.41", "image_store": "classic"},
            "containers": containers,
            "versions": {},
        });
        std::fs::write(dir.join("inventory.json"), inventory.to_string()).unwrap();
        let mut upgrades: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        for (reference, result, at) in &self.upgrades {
            upgrades
                .entry(reference.to_string())
                .or_default()
                .insert(result.to_string(), json!({"count": 1, "last_at": at}));
        }
        let last_at = if self.failures_in_a_row > 0 { now - 3600 } else { self.last_success };
        let outcomes = json!({
            "schema_version": 1,
            "checks": {
                "last_at": last_at,
                "last_ok": self.failures_in_a_row == 0,
                "last_success_at": self.last_success,
                "failures_in_a_row": self.failures_in_a_row,
                "failures": self.failures_in_a_row,
            },
            "upgrades": upgrades,
        });
        std::fs::write(dir.join("outcomes.json"), outcomes.to_string()).unwrap();
        if !self.held.is_empty() {
            let holds = json!({"schema_version": 1, "holds": self.held});
            std::fs::write(dir.join("holds.json"), holds.to_string()).unwrap();
        }
    }
}

/// `freshen metrics --output DIR/NAME.prom` for one host's state.
fn publish(t: &TestEnv, state: &Path, out: &Path) {
    t.freshen()
        .env("FRESHEN_STATE_DIR", state.display().to_string())
        .args(["metrics", "--output", &out.display().to_string()])
        .run()
        .expect_code(0);
}

/// One real engine host: its own state directory, a container on v1 of an
/// image, v2 in the registry (healthy or not), `update` then `upgrade`.
fn real_host(name: &str, v2_health: Health, code: i32) -> (TestEnv, Containers, String) {
    let t = TestEnv::new(&format!("fleet {name}"));
    let reg = registry::shared();
    let reference = t.reference(reg.host(), "app", "1");
    t.publish_runnable(&reference, &Runnable::new("v1").health(Health::Healthy));
    let c = Containers::new(&t);
    c.run("app", &[], &reference);
    t.publish_runnable_remote(reg, "app", "1", &Runnable::new("v2").health(v2_health));
    let pattern = t.pattern(reg.host());
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    t.freshen().args(["upgrade", "-y", "--wait", "6", &pattern]).run().expect_code(code);
    (t, c, reference)
}

#[test]
fn a_fleet_answers_in_prometheus_and_alerts_through_alertmanager() {
    let prometheus_bin = program("prometheus", "prometheus");
    let alertmanager_bin = program("prometheus-alertmanager", "prometheus-alertmanager");
    let node_exporter_bin = program("prometheus-node-exporter", "prometheus-node-exporter");
    let work = tempfile::Builder::new().prefix("freshen-fleet-").tempdir().unwrap();
    let (files, states) = (work.path().join("metrics"), work.path().join("hosts"));
    std::fs::create_dir_all(&files).unwrap();

    // The two real engine hosts, upgraded for real: r1's v2 is healthy,
    // r2's fails its health gate and is rolled back.
    let (r1, _c1, ref1) = real_host("r1", Health::Healthy, 0);
    let (r2, c2, ref2) = real_host("r2", Health::Unhealthy, 1);
    assert!(containers::state(&c2.name("app")).0 == "running", "r2's container runs v1 again");
    publish(&r1, &r1.state_dir(), &files.join("r1.prom"));
    publish(&r2, &r2.state_dir(), &files.join("r2.prom"));

    // 20 simulated hosts.
    let now = now();
    let nginx = "docker.io/library/nginx:1.25";
    let redis = "docker.io/library/redis:7";
    let mut simulated = Vec::new();
    for i in 1..=20 {
        simulated.push(Simulated {
            name: format!("s{i:02}"),
            images: vec![(nginx, "up-to-date"), (redis, "up-to-date")],
            running: vec![nginx, redis],
            held: Vec::new(),
            last_success: now - 600,
            failures_in_a_row: 0,
            upgrades: Vec::new(),
        });
    }
    // Outdated nginx: s01 and s02 run it, s03 has it but runs nothing,
    // s04 runs it held back.
    for s in &mut simulated[0..4] {
        s.images[0].1 = "upgradable";
    }
    simulated[2].running = vec![redis];
    simulated[3].held = vec![nginx];
    // Upgrades: s06 failed two hours ago, s07 rolled back three days ago,
    // s05 succeeded an hour ago.
    simulated[5].upgrades = vec![(redis, "failed", now - 7200)];
    simulated[6].upgrades = vec![(nginx, "rolled_back", now - 3 * DAY)];
    simulated[4].upgrades = vec![(nginx, "success", now - 3600)];
    // Silent: s08 last checked three days ago; s09's checks have failed
    // four times in a row since five days ago.
    simulated[7].last_success = now - 3 * DAY;
    simulated[8].last_success = now - 5 * DAY;
    simulated[8].failures_in_a_row = 4;
    for s in &simulated {
        let dir = states.join(&s.name);
        s.write(&dir, now);
        publish(&r1, &dir, &files.join(format!("{}.prom", s.name)));
    }

    // The series each image and each host has, for the closing note.
    let r1_text = std::fs::read_to_string(files.join("r1.prom")).unwrap();
    let samples: Vec<&str> = r1_text.lines().filter(|l| !l.starts_with('#')).collect();
    let image_label = format!("image=\"{}\"", ref1.rsplit_once(':').unwrap().0);
    let per_image = samples
        .iter()
        .filter(|l| l.contains(&image_label) && !l.starts_with("freshen_container_info"))
        .count();
    let per_host = samples
        .iter()
        .filter(|l| !l.contains("image=\"") && !l.starts_with("freshen_container_info"))
        .count();
    eprintln!("series per image: {per_image}; per host (besides images and containers): {per_host}");

    // node_exporters: n1 publishes a simulated host's file through the
    // textfile collector; n2 exports nothing of freshen's.
    let text_n1 = work.path().join("textfile-n1");
    let text_n2 = work.path().join("textfile-n2");
    std::fs::create_dir_all(&text_n1).unwrap();
    std::fs::create_dir_all(&text_n2).unwrap();
    let n1_state = states.join("s20");
    publish(&r1, &n1_state, &text_n1.join("freshen.prom"));
    // node_exporter reads the file as its own user.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(text_n1.join("freshen.prom")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o644, "the textfile must be readable by node_exporter's user");
    let node = |dir: &Path, port: u16, name: &'static str| {
        let mut cmd = Command::new(&node_exporter_bin);
        cmd.args([
            &format!("--web.listen-address=127.0.0.1:{port}"),
            "--collector.disable-defaults",
            "--collector.textfile",
            &format!("--collector.textfile.directory={}", dir.display()),
        ]);
        let mut s = Server::start(name, cmd, work.path().join(format!("{name}.log")));
        s.wait_ready(&format!("127.0.0.1:{port}"), "/metrics");
        s
    };
    let (n1_port, n2_port) = (free_port(), free_port());
    let _n1 = node(&text_n1, n1_port, "node_exporter n1");
    let _n2 = node(&text_n2, n2_port, "node_exporter n2");

    // The webhook and Alertmanager.
    let (hook, received) = serve_webhook();
    let am_port = free_port();
    let am_dir = work.path().join("alertmanager");
    std::fs::create_dir_all(&am_dir).unwrap();
    std::fs::write(
        am_dir.join("alertmanager.yml"),
        format!(
            "route:\n  receiver: hook\n  group_by: [alertname, instance]\n  group_wait: 1s\n  group_interval: 1s\n  \
             repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://{hook}/hook\n        \
             send_resolved: false\n"
        ),
    )
    .unwrap();
    let mut am_cmd = Command::new(&alertmanager_bin);
    am_cmd.args([
        &format!("--config.file={}", am_dir.join("alertmanager.yml").display()),
        &format!("--storage.path={}", am_dir.join("data").display()),
        &format!("--web.listen-address=127.0.0.1:{am_port}"),
        "--cluster.listen-address=",
    ]);
    let mut am = Server::start("alertmanager", am_cmd, work.path().join("alertmanager.log"));
    am.wait_ready(&format!("127.0.0.1:{am_port}"), "/-/ready");

    // Prometheus, scraping every host every second, evaluating the rules
    // shipped in monitoring/ every second.
    let metrics_addr = serve_metrics(files.clone());
    let mut targets: Vec<Value> = Vec::new();
    let mut hosts: Vec<String> = simulated.iter().map(|s| s.name.clone()).collect();
    hosts.extend(["r1".to_string(), "r2".to_string()]);
    for h in &hosts {
        targets.push(json!({"targets": [metrics_addr], "labels": {"instance": h, "__metrics_path__": format!("/hosts/{h}/metrics")}}));
    }
    targets.push(json!({"targets": [format!("127.0.0.1:{n1_port}")], "labels": {"instance": "n1"}}));
    targets.push(json!({"targets": [format!("127.0.0.1:{n2_port}")], "labels": {"instance": "n2"}}));
    let prom_dir = work.path().join("prometheus");
    std::fs::create_dir_all(&prom_dir).unwrap();
    std::fs::write(prom_dir.join("targets.json"), serde_json::to_string_pretty(&targets).unwrap()).unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring/rules.yml");
    std::fs::write(
        prom_dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n\
             scrape_configs:\n  - job_name: node\n    file_sd_configs:\n      - files: ['{}']\n",
            rules.display(),
            prom_dir.join("targets.json").display()
        ),
    )
    .unwrap();
    let prom_port = free_port();
    let prometheus = format!("127.0.0.1:{prom_port}");
    let mut prom_cmd = Command::new(&prometheus_bin);
    prom_cmd.args([
        &format!("--config.file={}", prom_dir.join("prometheus.yml").display()),
        &format!("--storage.tsdb.path={}", prom_dir.join("data").display()),
        &format!("--web.listen-address={prometheus}"),
    ]);
    let mut prom = Server::start("prometheus", prom_cmd, work.path().join("prometheus.log"));
    prom.wait_ready(&prometheus, "/-/ready");

    // Every target up: 22 freshen hosts and two node_exporters.
    let limit = Duration::from_secs(90);
    eventually("every target scraped", limit, || {
        let up = query(&prometheus, "up == 1")?;
        let got = instances(&up);
        if got.len() == hosts.len() + 2 {
            Ok(())
        } else {
            Err(format!("up: {got:?}\n{}", prom.log()))
        }
    });
    // Three scrapes of each, so that rates and increases have samples.
    eventually("every freshen host's build info, scraped three times", limit, || {
        let got = instances(&query(&prometheus, "count_over_time(freshen_build_info[1m]) >= 3")?);
        if got.len() == hosts.len() + 1 {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    });

    // The README's three questions.
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
    let outdated_nginx =
        "freshen_image_state{image=\"nginx\", state=~\"upgradable|held|skipped|cooldown\"} == 1 \
                          and on (instance, image, tag) freshen_image_containers > 0";
    let failed = "freshen_upgrade_last_timestamp_seconds{result=~\"failed|rolled_back\"} > time() - 86400";
    let silent = "time() - freshen_last_successful_check_timestamp_seconds > 2 * 86400";
    let answers: Vec<(&str, BTreeSet<String>)> = [outdated_nginx, failed, silent]
        .iter()
        .map(|q| (*q, instances(&query(&prometheus, q).unwrap())))
        .collect();
    for (q, a) in &answers {
        eprintln!("{q}\n  => {a:?}");
    }
    assert_eq!(answers[0].1, set(&["s01", "s02", "s04"]), "which hosts run an outdated nginx");
    assert_eq!(answers[1].1, set(&["r2", "s06"]), "which upgrades failed or rolled back in the last day");
    assert_eq!(answers[2].1, set(&["s08", "s09"]), "which hosts have not checked in two days");
    let failed_rows = query(&prometheus, failed).unwrap();
    let r2_row = failed_rows.iter().find(|s| s["metric"]["instance"] == "r2").unwrap();
    assert_eq!(r2_row["metric"]["result"], "rolled_back");
    assert_eq!(r2_row["metric"]["image"], ref2.rsplit_once(':').unwrap().0);
    // r1's upgrade succeeded and counted; its container runs the new tag.
    let r1_ok = query(&prometheus, "freshen_upgrades_total{instance=\"r1\", result=\"success\"}").unwrap();
    assert_eq!(r1_ok.len(), 1);
    assert_eq!(r1_ok[0]["value"][1], "1");
    let r1_containers = query(&prometheus, "freshen_image_containers{instance=\"r1\"}").unwrap();
    assert_eq!(r1_containers[0]["value"][1], "1", "{r1_containers:?}");
    let engine = query(&prometheus, "freshen_engine_info{instance=\"r1\"}").unwrap();
    assert_eq!(engine[0]["metric"]["engine"], "docker", "{engine:?}");

    // Every panel of the dashboard answers with data, with its variables
    // set to every host and every image.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring/dashboard.json"))
            .unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let concrete =
                expr.replace("$host", ".*").replace("$image", ".*").replace("$__rate_interval", "5m");
            let result =
                query(&prometheus, &concrete).unwrap_or_else(|e| panic!("panel {:?}: {e}", panel["title"]));
            assert!(!result.is_empty(), "panel {:?} has no data: {concrete}", panel["title"]);
            checked += 1;
        }
    }
    for var in dashboard["templating"]["list"].as_array().unwrap() {
        let q = var["query"]["query"].as_str().unwrap();
        let (metric, label) = q
            .strip_prefix("label_values(")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|r| r.rsplit_once(", "))
            .unwrap_or_else(|| panic!("variable query {q}"));
        let result =
            query(&prometheus, &format!("count by ({label}) ({})", metric.replace("$host", ".*"))).unwrap();
        assert!(!result.is_empty(), "variable {q} has no values");
    }
    assert!(checked >= 9, "{checked} panel queries");
    // The silent-host panel sees n2.
    let silent_nodes = instances(
        &query(&prometheus, "node_exporter_build_info unless on (instance) freshen_build_info").unwrap(),
    );
    assert_eq!(silent_nodes, set(&["n2"]));

    // Alertmanager delivers the failed-upgrade alerts to the webhook.
    let alerts = eventually("the failed-upgrade alerts at the webhook", Duration::from_secs(120), || {
        let got = received.lock().unwrap().clone();
        let firing: Vec<Value> = got
            .iter()
            .flat_map(|m| m["alerts"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["labels"]["alertname"] == "FreshenUpgradeFailed" && a["status"] == "firing")
            .collect();
        let who: BTreeSet<String> =
            firing.iter().map(|a| a["labels"]["instance"].as_str().unwrap_or("").to_string()).collect();
        if who == set(&["r2", "s06"]) {
            Ok(got)
        } else {
            Err(format!("so far {who:?}\n{}", am.log()))
        }
    });
    let r2_alert = alerts
        .iter()
        .find(|m| {
            m["groupLabels"]["instance"] == "r2" && m["groupLabels"]["alertname"] == "FreshenUpgradeFailed"
        })
        .unwrap();
    eprintln!("webhook received:\n{}", serde_json::to_string_pretty(r2_alert).unwrap());
    let a = &r2_alert["alerts"][0];
    assert_eq!(a["labels"]["result"], "rolled_back");
    assert_eq!(a["labels"]["severity"], "warning");
    assert!(a["annotations"]["summary"].as_str().unwrap().contains(": rolled_back"), "{a}");
    drop((prom, am));
}
