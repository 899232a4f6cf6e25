//! The image store as a cache (`autoremove --budget/--min-free/--unused-for`)
//! on a real engine and a real registry. Last use is spread over months
//! with freshen's own clock (`FRESHEN_TEST_NOW`): each `update` at a past
//! "now" records the containers running then, so the usage record holds
//! the history a host would have built, without sleeping.
//!
//! Against the system engine (no `DOCKER_HOST`), the test starts a private
//! `dockerd` whose data root is a small loop-mounted ext4 filesystem, so
//! that freed bytes can be held against `df`, a full disk can be brought
//! back under budget, and the daemon can be restarted. On an engine lane
//! (`DOCKER_HOST` set) the same protections, order and accounting run on
//! that engine, and the loop-mount parts are left out. One test: one
//! daemon, the steps in order, everything removed at the end.

#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::containers::{Containers, Runnable};
use support::docker::{self, docker};
use support::{Registry, TestEnv};

const DAY: i64 = 86_400;

/// A `dockerd` of our own on a loop-mounted filesystem, with its own
/// bridge (never `--bridge=none`: that deletes the system's docker0).
struct PrivateDaemon {
    dir: tempfile::TempDir,
    bridge: String,
    child: Option<Child>,
}

fn sh(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).stdin(Stdio::null()).output().expect(program);
    assert!(
        out.status.success(),
        "{program} {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PrivateDaemon {
    fn start() -> PrivateDaemon {
        let dir = tempfile::Builder::new().prefix("freshen-cache-").tempdir().unwrap();
        let tag = format!("{:04x}", std::process::id() % 0xffff);
        let bridge = format!("fcache{tag}");
        let image = dir.path().join("disk.img");
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        sh("truncate", &["-s", "320M", image.to_str().unwrap()]);
        sh("mkfs.ext4", &["-q", "-F", "-m", "0", image.to_str().unwrap()]);
        sh("mount", &["-o", "loop", image.to_str().unwrap(), root.to_str().unwrap()]);
        let mut d = PrivateDaemon { dir, bridge, child: None };
        // An address range nothing here uses: 10.231.N.0/24.
        let net = format!("10.231.{}.1/24", std::process::id() % 250);
        sh("ip", &["link", "add", &d.bridge, "type", "bridge"]);
        sh("ip", &["addr", "add", &net, "dev", &d.bridge]);
        sh("ip", &["link", "set", &d.bridge, "up"]);
        d.run();
        d
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// The filesystem the data root is on, as the test sees it.
    fn mount(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn run(&mut self) {
        let p = self.dir.path();
        let log = std::fs::File::create(p.join("dockerd.log")).unwrap();
        let ns = format!("freshen-{}", self.bridge);
        let child = Command::new("dockerd")
            .args(["--host", &self.host()])
            .args(["--data-root", p.join("root/docker").to_str().unwrap()])
            .args(["--exec-root", p.join("exec").to_str().unwrap()])
            .args(["--pidfile", p.join("dockerd.pid").to_str().unwrap()])
            .args(["--iptables=false", "--ip-masq=false", "--ip6tables=false", "-b", &self.bridge])
            .args(["--containerd-namespace", &ns, "--containerd-plugins-namespace", &format!("{ns}-plugins")])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = Command::new("docker")
                .args(["-H", &self.host(), "version"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            let log = std::fs::read_to_string(p.join("dockerd.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "the private dockerd did not answer:\n{log}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// (total, available) bytes of the loop filesystem, after a sync.
    fn df(&self) -> (u64, u64) {
        sh("sync", &["-f", self.mount().to_str().unwrap()]);
        let out = Command::new("stat")
            .args(["-f", "-c", "%S %b %a", self.mount().to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let n: Vec<u64> = text.split_whitespace().map(|x| x.parse().unwrap()).collect();
        (n[0] * n[1], n[0] * n[2])
    }
}

impl Drop for PrivateDaemon {
    fn drop(&mut self) {
        self.stop();
        let root = self.mount();
        let unmounted = (0..20).any(|_| {
            let done = Command::new("umount").arg(&root).status().is_ok_and(|s| s.success());
            if !done {
                std::thread::sleep(Duration::from_millis(250));
            }
            done
        });
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&root).status();
        }
        let _ = Command::new("ip").args(["link", "del", &self.bridge]).status();
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A `FROM scratch` image of `files` (name, bytes of seeded random
/// content), one layer each, tagged `tag`; no push.
fn build_sized(tag: &str, files: &[(&str, usize, u64)]) -> String {
    let ctx = tempfile::tempdir().unwrap();
    let mut dockerfile = String::from("FROM scratch\n");
    for (name, size, seed) in files {
        std::fs::write(ctx.path().join(name), random_bytes(*size, *seed)).unwrap();
        dockerfile.push_str(&format!("COPY {name} /{name}\n"));
    }
    std::fs::write(ctx.path().join("Dockerfile"), dockerfile).unwrap();
    let out = Command::new("docker")
        .args(["build", "-q", "-t", tag, ctx.path().to_str().unwrap()])
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "build {tag}: {}", String::from_utf8_lossy(&out.stderr));
    docker::inspect(tag).id
}

/// Incompressible bytes from a seed (xorshift), the same for the same seed.
fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

fn json(run: &support::Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{run}"))
}

/// The names of the images a report evicts, in order, of this test only.
fn evicted(report: &Value, ns: &str) -> Vec<String> {
    report["evicted"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["name"].as_str()).filter(|n| n.contains(ns)).map(short).collect())
        .unwrap_or_default()
}

fn short(name: &str) -> String {
    name.rsplit('/').next().unwrap().to_string()
}

fn kept_reason(report: &Value, name_part: &str) -> String {
    report["kept"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"].as_str().unwrap().contains(name_part))
        .and_then(|k| k["reason"].as_str())
        .unwrap_or_else(|| panic!("{name_part} is not among the kept: {report:#}"))
        .to_string()
}

#[test]
fn the_image_store_is_a_cache() {
    let mut daemon = std::env::var_os("DOCKER_HOST").is_none().then(PrivateDaemon::start);
    if let Some(d) = &daemon {
        // One test in this binary: nothing else reads the environment yet.
        std::env::set_var("DOCKER_HOST", d.host());
    }
    let t = TestEnv::new("cache");
    let registry = Registry::start();
    let host = registry.host().to_string();
    let c = Containers::new(&t);
    let ns = t.namespace().to_string();
    let r = |name: &str| t.reference(&host, name, "1");
    let t0 = now() - 300 * DAY;
    let at = |days: i64| (t0 + days * DAY).to_string();

    // Pulled-like images (pushed, so they have registry digests), sharing
    // the fixture program's layer; one local build; one labelled keep.
    for (i, name) in ["r1", "r2", "r3", "r4", "used", "held", "excl"].iter().enumerate() {
        t.publish_runnable(&r(name), &Runnable::new(&format!("{name}-{i}")));
    }
    t.build(&r("local"), "local");
    let label_id = docker::build_labeled(&r("label"), "label", &[("freshen.keep", "true")]);
    docker::push(&r("label"));
    let _ = label_id;
    t.freshen().args(["hold", &r("held")]).run().expect_code(0);

    // The history: first seen at t0; r2 ran at day 100, r4 at 150, r3 at
    // 200; r1 never ran. Each run is recorded by an update at that time.
    let update = |when: &str| {
        let run = t.freshen().args(["update", "-q"]).env("FRESHEN_TEST_NOW", when).run();
        assert!(run.code == 0 || run.code == 100, "{run}");
    };
    update(&at(0));
    for (name, day) in [("r2", 100), ("r4", 150), ("r3", 200)] {
        let container = c.run(&format!("run-{name}"), &[], &r(name));
        update(&at(day));
        docker(&["rm", "-f", &container]);
    }
    // A stopped container keeps `used`; `fresh` was first seen an hour
    // before the plan.
    let stopped = c.create("stopped", &[], &r("used"));
    t.publish_runnable(&r("fresh"), &Runnable::new("fresh"));
    let plan_at = at(290);
    update(&(t0 + 290 * DAY - 3600).to_string());

    // The plan of everything, in a dry run (nothing changes, the engine is
    // shared on a lane): the order by last use, and every protection.
    let usage_before = std::fs::read(t.state_dir().join("usage.json")).unwrap();
    let exclude = format!("{host}/{ns}/excl");
    let dry = t
        .freshen()
        .args(["autoremove", "-s", "--format", "json", "--budget", "0", "--exclude", &exclude])
        .env("FRESHEN_TEST_NOW", &plan_at)
        .run();
    dry.expect_code(4);
    let plan = json(&dry);
    assert_eq!(evicted(&plan, &ns), ["r1:1", "r2:1", "r4:1", "r3:1"], "{plan:#}");
    let r2 = plan["evicted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"].as_str().unwrap().ends_with("/r2:1"))
        .unwrap();
    assert_eq!(r2["evidence"], format!("container {ns}-run-r2 running"));
    assert_eq!(r2["last_used"].as_str().unwrap(), time_text(t0 + 100 * DAY));
    assert_eq!(kept_reason(&plan, "/used:1"), format!("used by container {stopped}"));
    assert_eq!(kept_reason(&plan, "/held:1"), "held");
    assert_eq!(kept_reason(&plan, "/excl:1"), "excluded");
    assert_eq!(kept_reason(&plan, "/label:1"), "label freshen.keep=true");
    assert!(kept_reason(&plan, "/local:1").starts_with("no registry can give it back"), "{plan:#}");
    assert!(kept_reason(&plan, "/fresh:1").starts_with("first seen 1 hour ago"), "{plan:#}");
    assert!(plan["cache"]["unmet"].as_str().unwrap().contains("what is left is protected"), "{plan:#}");
    assert_eq!(std::fs::read(t.state_dir().join("usage.json")).unwrap(), usage_before, "a dry run wrote");
    for name in ["r1", "r2", "r3", "r4"] {
        assert!(docker::exists(&r(name)), "a dry run removed {name}");
    }
    let text =
        t.freshen().args(["autoremove", "-s", "--budget", "0"]).env("FRESHEN_TEST_NOW", &plan_at).run();
    text.expect_code(4);
    eprintln!("the plan of the whole store:\n{}", text.stdout);
    assert!(text.stdout.contains("The budget cannot be met: the images keep"), "{text}");
    assert!(
        text.stdout.contains(&format!(
            "/r2:1 (over the budget): last used 6 months ago (container {ns}-run-r2 running)"
        )),
        "{text}"
    );

    // After a daemon restart the order is the same, and the evidence says
    // that events were lost.
    if let Some(d) = daemon.as_mut() {
        d.restart();
        let again = t
            .freshen()
            .args(["autoremove", "-s", "--format", "json", "--budget", "0", "--exclude", &exclude])
            .env("FRESHEN_TEST_NOW", &plan_at)
            .run();
        again.expect_code(4);
        let again = json(&again);
        assert_eq!(evicted(&again, &ns), evicted(&plan, &ns));
        assert!(again["evicted"].as_array().unwrap().iter().all(|e| e["events_lost"] == true), "{again:#}");
    }

    // The real run, on r1..r4 only, to a budget that r1 and r2 meet; a
    // container created from r1 between the plan and its removal saves it.
    let names: Vec<String> = ["r1", "r2", "r3", "r4"].iter().map(|n| r(n)).collect();
    let sized = t
        .freshen()
        .args(["autoremove", "-s", "--format", "json", "--budget", "0"])
        .args(&names)
        .env("FRESHEN_TEST_NOW", &plan_at)
        .run();
    let sized = json(&sized);
    let list = sized["evicted"].as_array().unwrap();
    let budget = sized["cache"]["images_bytes_before"].as_u64().unwrap()
        - list[0]["frees_bytes"].as_u64().unwrap()
        - list[1]["frees_bytes"].as_u64().unwrap();
    // A run killed (SIGKILL) between its plan and its first removal loses
    // nothing: every image is there, the record is whole, the lock free.
    let mut killed = t
        .freshen()
        .args(["autoremove", "-y", "--budget", "0"])
        .args(&names)
        .env("FRESHEN_TEST_NOW", &plan_at)
        .env("FRESHEN_TEST_PAUSE", "evicting")
        .command()
        .spawn()
        .unwrap();
    wait_for_pause(&mut killed);
    killed.kill().unwrap();
    killed.wait().unwrap();
    for name in ["r1", "r2", "r3", "r4"] {
        assert!(docker::exists(&r(name)), "a killed run lost {name}");
    }
    let record: Value =
        serde_json::from_slice(&std::fs::read(t.state_dir().join("usage.json")).unwrap()).unwrap();
    assert!(record["engines"].as_object().is_some_and(|e| !e.is_empty()), "{record}");

    let resume = t.state_dir().join("../resume");
    let mut child = t
        .freshen()
        .args(["autoremove", "-y", "--format", "json", "--budget", &budget.to_string()])
        .args(&names)
        .env("FRESHEN_TEST_NOW", &plan_at)
        .env("FRESHEN_TEST_PAUSE", format!("evicting:{}", resume.display()))
        .command()
        .spawn()
        .unwrap();
    wait_for_pause(&mut child);
    let late = c.create("late", &[], &r("r1"));
    std::fs::write(&resume, "go").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert!(docker::exists(&r("r1")), "r1 went although {late} uses it");
    assert_eq!(kept_reason(&report, "/r1:1"), format!("container {late} uses it since the plan"));
    assert_eq!(evicted(&report, &ns), ["r2:1"]);
    assert!(!docker::exists(&r("r2")));
    assert!(docker::exists(&r("r3")) && docker::exists(&r("r4")));
    // Freed bytes agree with the engine's own accounting where it has one.
    let cache = &report["cache"];
    let (before, after) =
        (cache["engine_layers_bytes_before"].as_u64(), cache["engine_layers_bytes_after"].as_u64());
    eprintln!(
        "evicting r2: freshen counted {} bytes freed; the engine's LayersSize {before:?} -> {after:?}",
        report["evicted"][0]["frees_bytes"]
    );
    if let (Some(b), Some(a)) = (before, after) {
        if b > 0 {
            let freed = report["evicted"][0]["frees_bytes"].as_u64().unwrap();
            let engine = b.saturating_sub(a);
            // The containerd store counts snapshots in 8 KiB units.
            assert!(
                close(freed, engine) || freed.abs_diff(engine) <= 64 * 1024,
                "freshen freed {freed}, the engine counts {engine}: {report:#}"
            );
        }
    }

    if let Some(d) = &daemon {
        disk_checks(&t, d, &host, &ns, &plan_at);
    }
    drop(c);
    drop(registry);
    drop(t);
    drop(daemon);
}

fn close(a: u64, b: u64) -> bool {
    let (a, b) = (a as f64, b as f64);
    (a - b).abs() <= 0.01 * a.max(b).max(1.0)
}

fn time_text(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

fn wait_for_pause(child: &mut Child) {
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("paused at evicting") {
            // Keep draining stderr so the child never blocks on it.
            std::thread::spawn(move || for _ in lines {});
            return;
        }
        assert!(Instant::now() < deadline, "no pause");
    }
    panic!("freshen ended before the pause");
}

/// On the loop-mounted store: a full disk brought back to `--min-free`,
/// and the bytes freed as `df` sees them.
fn disk_checks(t: &TestEnv, d: &PrivateDaemon, host: &str, ns: &str, plan_at: &str) {
    // Local builds, never pushed: the registry does not know them.
    let local = |name: &str| format!("{host}/{ns}/{name}:1");
    // Two images on one 60 MB base (each with 20 MB of its own), one of
    // 50 MB alone.
    build_sized(&local("big1"), &[("base", 60_000_000, 1), ("own", 20_000_000, 2)]);
    build_sized(&local("big2"), &[("base", 60_000_000, 1), ("own", 20_000_000, 3)]);
    build_sized(&local("big3"), &[("own", 50_000_000, 4)]);
    let run = t
        .freshen()
        .args(["update", "-q"])
        .env("FRESHEN_TEST_NOW", (plan_at.parse::<i64>().unwrap() - 10 * DAY).to_string())
        .run();
    assert!(run.code == 0 || run.code == 100, "{run}");
    // Fill the disk to 3 % free with a file of nobody's.
    let (total, free) = d.df();
    let filler = d.mount().join("filler");
    let fill = free.saturating_sub(total * 3 / 100);
    std::fs::write(&filler, vec![0u8; 0]).unwrap();
    sh("fallocate", &["-l", &fill.to_string(), filler.to_str().unwrap()]);
    let (_, full) = d.df();
    assert!(full < total * 5 / 100, "the disk is not full: {full} of {total} free");
    let pattern = format!("{host}/{ns}/big*");
    let shown = t
        .freshen()
        .args(["autoremove", "-s", "--min-free", "30%", &pattern])
        .env("FRESHEN_TEST_NOW", plan_at)
        .run();
    shown.expect_code(0);
    eprintln!("the plan on the full disk:\n{}", shown.stdout);
    let run = t
        .freshen()
        .args(["autoremove", "-y", "--format", "json", "--min-free", "30%", &pattern])
        .env("FRESHEN_TEST_NOW", plan_at)
        .run();
    run.expect_code(0);
    let report = json(&run);
    let (_, after) = d.df();
    assert!(after >= total * 30 / 100, "{after} of {total} free after: {report:#}");
    let freed: u64 =
        report["evicted"].as_array().unwrap().iter().map(|e| e["frees_bytes"].as_u64().unwrap()).sum();
    assert!(close(freed, after - full), "freshen says {freed} freed, df says {}: {report:#}", after - full);
    let said = report["cache"]["free_bytes_after"].as_u64().unwrap()
        - report["cache"]["free_bytes_before"].as_u64().unwrap();
    assert!(close(said, after - full), "freshen measured {said}, df {}", after - full);
    eprintln!(
        "df: {full} free before, {after} after: {} freed; freshen counted {freed} (engine layers {:?} -> {:?})",
        after - full,
        report["cache"]["engine_layers_bytes_before"],
        report["cache"]["engine_layers_bytes_after"]
    );
    std::fs::remove_file(filler).unwrap();

    // The scheduled run keeps the budget too, and tells the notification
    // targets when it cannot (everything here is this test's own).
    let told = d.dir.path().join("told.json");
    let config = d.dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[cache]\nbudget = \"1\"\n[unattended]\nautoremove = true\n[[notify]]\nkind = \"exec\"\n\
             command = [\"sh\", \"-c\", \"cat > {}\"]\n",
            told.display()
        ),
    )
    .unwrap();
    let run = t
        .freshen()
        .args(["update", "--unattended"])
        .env("FRESHEN_CONFIG", config.to_str().unwrap())
        .env("FRESHEN_TEST_NOW", plan_at)
        .run();
    run.expect_code(4);
    assert!(run.stderr.contains("the image budget cannot be met: the images keep"), "{run}");
    let notice: Value = serde_json::from_str(&std::fs::read_to_string(&told).unwrap()).unwrap();
    assert_eq!(notice["event"], "budget", "{notice:#}");
    assert!(notice["budget"]["reason"].as_str().unwrap().contains("what is left is protected"), "{notice:#}");
    assert!(notice["budget"]["evicted"].as_u64().unwrap() >= 1, "{notice:#}");
}
