//! End-to-end tests of the second half of an upgrade: recreating the
//! containers that run a tag it upgrades, health-gated, with rollback and
//! crash repair, through the Engine API or through Compose. Real daemon, real
//! registry, real `docker compose`; fixture images are `FROM scratch` with a
//! static program that serves, passes or fails a health check, or exits.
//!
//! Each test's containers, networks and volumes carry a label with the
//! test's namespace and only those are removed at the end.

// The harness is shared by several test binaries; each uses part of it.
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::containers::{
    self, compose_up, Behaviour, Containers, Health, Kept, Runnable, Setup, TEST_LABEL,
};
use support::docker::{self, docker};
use support::{registry, Published, Run, TestEnv};

fn image_of(container: &str) -> String {
    containers::inspect(container)["Image"].as_str().unwrap().to_string()
}

fn id_of(container: &str) -> String {
    containers::inspect(container)["Id"].as_str().unwrap().to_string()
}

fn running(container: &str) -> bool {
    containers::state(container).0 == "running"
}

/// A v1 that serves and reports healthy.
fn serve() -> Runnable {
    Runnable::new("v1").health(Health::Healthy)
}

fn assert_contains(run: &Run, needle: &str) {
    assert!(
        run.stdout.contains(needle) || run.stderr.contains(needle),
        "expected {needle:?} in the output\n{run}"
    );
}

/// A network with a free subnet `10.231.X.0/24`, for a static address;
/// tries a few (another test or helper may hold one). Returns the network
/// and an address in it.
fn network_with_subnet(c: &mut Containers, suffix: &str) -> (String, String) {
    let seed = std::process::id() as u64 + Instant::now().elapsed().as_nanos() as u64;
    for attempt in 0..16u64 {
        let third = (seed + attempt * 37) % 250;
        let subnet = format!("10.231.{third}.0/24");
        if let Some(name) = c.network_with(suffix, &["--subnet", &subnet]) {
            return (name, format!("10.231.{third}.50"));
        }
    }
    panic!("no free 10.231.X.0/24 subnet for a test network");
}

// ---------------------------------------------------------------------------

/// The fixtures themselves: a serving image becomes healthy and stops at
/// once on SIGTERM, a failing check makes it unhealthy, a rare check leaves
/// it starting, and the "exit" image exits with code 3.
#[test]
fn fixtures_serve_pass_fail_and_exit() {
    let t = TestEnv::new("recreate_fixtures");
    let c = Containers::new(&t);
    let host = registry::shared().host().to_string();
    let image = |name: &str, runnable: Runnable| {
        let reference = t.reference(&host, name, "1");
        t.publish_runnable(&reference, &runnable);
        reference
    };
    let healthy =
        c.run("healthy", &[], &image("healthy", Runnable::new("a").health(Health::Healthy).volume()));
    let unhealthy =
        c.run("unhealthy", &[], &image("unhealthy", Runnable::new("b").health(Health::Unhealthy)));
    let starting = c.run("starting", &[], &image("starting", Runnable::new("c").health(Health::Starting)));
    let exits = c.run("exits", &[], &image("exits", Runnable::new("d").behaviour(Behaviour::Exit)));
    let limit = Duration::from_secs(20);
    containers::wait_for("healthy", limit, || containers::state(&healthy).1.as_deref() == Some("healthy"));
    containers::wait_for("unhealthy", limit, || {
        containers::state(&unhealthy).1.as_deref() == Some("unhealthy")
    });
    containers::wait_for("exited", limit, || containers::state(&exits).0 == "exited");
    assert_eq!(containers::inspect(&exits)["State"]["ExitCode"], 3);
    assert_eq!(containers::state(&starting), ("running".to_string(), Some("starting".to_string())));
    c.put(&healthy, "/data/x", "data\n");
    assert_eq!(c.get(&healthy, "/data/x"), "data\n");
    let stop = Instant::now();
    // Docker's default grace period, given: podman before 4.7 gives a
    // container created through the Docker API a stop timeout of 0 (its
    // issue 19139), so a bare `docker stop` there kills at once.
    docker(&["stop", "-t", "10", &healthy]);
    assert!(stop.elapsed() < Duration::from_secs(5), "SIGTERM is not handled: {:?}", stop.elapsed());
    assert_eq!(containers::inspect(&healthy)["State"]["ExitCode"], 0);
}

/// Everything the user configured survives: env, labels, command, hostname,
/// ports, restart policy, resources, capabilities, log config, a device, a
/// working directory, a read-only bind mount, two user
/// networks with their aliases, a static IP, a named volume and the
/// data in the anonymous volume. The `container:` dependent follows the new
/// container, and the old container and v1 are gone.
#[test]
fn a_container_is_recreated_with_its_whole_configuration() {
    let t = TestEnv::new("recreate_whole_configuration");
    let mut c = Containers::new(&t);
    let s = Setup::v1(&t, &serve().volume());
    let (front, ip) = network_with_subnet(&mut c, "front");
    let back = c.network("back");
    let named = c.volume("named");
    let port = free_port();
    let podman = docker::engine().kind == docker::Kind::Podman;
    let web = c.run(
        "web",
        &[
            "-e",
            "GREETING=hello world",
            "-e",
            "PASSWORD=s3cr3t-value",
            "--label",
            "tier=frontend",
            "--hostname",
            "webhost",
            "-p",
            &format!("127.0.0.1:{port}:8080/tcp"),
            "--restart",
            "unless-stopped",
            "--memory",
            "64m",
            "--cap-add",
            "NET_ADMIN",
            "--log-opt",
            "max-size=1m",
            "--network",
            &front,
            "--network-alias",
            "www",
            "--ip",
            &ip,
            "-v",
            &format!("{named}:/named"),
            "-v",
            // A directory the engine's own root has (a lane's daemon runs in
            // a root of its own, where this host's temporary files are not).
            "/etc:/bound:ro",
            "--workdir",
            "/named",
        ]
        .into_iter()
        // The docker CLI checks a device against the server's OS, which
        // podman's API does not name ("unknown server OS").
        .chain(
            if podman { &[][..] } else { &["--device", "/dev/null:/dev/fixture-null"][..] }.iter().copied(),
        )
        .collect::<Vec<_>>(),
        &s.reference,
    );
    docker(&["network", "connect", "--alias", "api", "--alias", "api2", &back, &web]);
    let side = c.run("side", &["--network", &format!("container:{web}")], &s.reference);
    c.put(&web, "/data/anonymous.txt", "kept in the anonymous volume\n");
    c.put(&web, "/named/named.txt", "kept in the named volume\n");
    let before = Kept::read(&web);
    let host_config = |key: &str| containers::inspect(&web)["HostConfig"][key].clone();
    let bound = c.get(&web, "/bound/passwd");
    assert!(bound.starts_with("root:"), "{bound}");
    let (devices, binds) = (host_config("Devices"), host_config("Binds"));
    let old_id = id_of(&web);
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Healthy).volume());

    let run = s.upgrade(&t, &["--wait", "10"]);
    run.expect_code(0);
    assert_contains(&run, "The following containers will be recreated:");
    assert_contains(&run, &format!("  {web} ({}): container", short_ref(&s.reference)));

    assert_ne!(id_of(&web), old_id, "web was not recreated\n{run}");
    assert_eq!(image_of(&web), v2.id, "web does not run v2\n{run}");
    assert!(running(&web), "web is not running\n{run}");
    let after = Kept::read(&web);
    assert_eq!(after, before, "the configuration changed\n{run}");
    let address = containers::inspect(&web)["NetworkSettings"]["Networks"][&front]["IPAddress"].clone();
    assert_eq!(address, Value::String(ip.clone()));
    assert_eq!(c.get(&web, "/data/anonymous.txt"), "kept in the anonymous volume\n");
    assert_eq!(c.get(&web, "/named/named.txt"), "kept in the named volume\n");
    assert_eq!(c.get(&web, "/bound/passwd"), bound, "the bind mount is not there\n{run}");
    assert_eq!(host_config("Devices"), devices, "\n{run}");
    let binds_now = host_config("Binds");
    // podman adds its mount options (`/etc:/bound:ro,rprivate,rbind`).
    let bound_ro = |b: &Value| b.as_str().is_some_and(|b| b.starts_with("/etc:/bound:ro"));
    assert!(binds.as_array().unwrap().iter().any(bound_ro), "{binds}");
    assert!(binds_now.as_array().unwrap().iter().any(bound_ro), "{binds_now}\n{run}");
    assert_eq!(before.working_dir, "/named");

    // The dependent shares the new container's network namespace.
    assert!(running(&side), "the container: dependent is not running\n{run}");
    let mode = containers::inspect(&side)["HostConfig"]["NetworkMode"].as_str().unwrap().to_string();
    let new_id = id_of(&web);
    assert!(mode == format!("container:{new_id}") || mode == format!("container:{web}"), "{mode}\n{run}");
    // The very same network namespace (the engine's processes are this
    // host's).
    let netns = |name: &str| {
        let pid = containers::inspect(name)["State"]["Pid"].as_i64().unwrap();
        std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap()
    };
    assert_eq!(netns(&side), netns(&web), "the dependent is not in web's network namespace");

    // Nothing left behind: no renamed old container, v1 retired.
    let mut expected = vec![side.clone(), web.clone()];
    expected.sort();
    assert_eq!(c.all(), expected, "\n{run}");
    assert!(!docker::exists(&s.v1.id), "v1 was not retired\n{run}");

    // The journal holds no configuration values, and state is owner-only.
    for file in t.state_files() {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(!text.contains("s3cr3t-value"), "{} holds the container's env", file.display());
        let mode = std::fs::metadata(&file).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077, 0, "{}", file.display());
    }
}

/// A new version whose command exits at once does not pass the gate: the old
/// container runs again under its name, the tag points at v1 again, and the
/// next upgrade leaves that digest alone until the registry moves the tag.
#[test]
fn a_version_that_exits_at_once_is_rolled_back() {
    let t = TestEnv::new("recreate_exits_rolled_back");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let web = c.run("web", &["-e", "KEEP=1"], &s.reference);
    c.put(&web, "/marker", "the old container\n");
    let old_id = id_of(&web);
    let v2 = s.v2(&t, &Runnable::new("v2").behaviour(Behaviour::Exit));

    let run = s.upgrade(&t, &["--wait", "3"]);
    run.expect_code(1);
    assert_rolled_back(&t, &c, &s, &web, &old_id, &v2, &run);
    assert_contains(&run, "rolled back");
    // The versions are named as the plan names them: the image ID that
    // `docker images` shows for the old one, sha256:… for the new one.
    let short = |id: &str| id.strip_prefix("sha256:").unwrap_or(id)[..12].to_string();
    assert_contains(&run, &format!("the new version (sha256:{}) did not pass", short(&v2.digest)));
    assert_contains(&run, &format!("rolled back: {web} runs {} again", short(&s.v1.id)));

    // Not tried again while the registry's tag is that digest.
    let again = s.upgrade(&t, &["--wait", "3"]);
    again.expect_code(0);
    assert_eq!(id_of(&web), old_id, "the next upgrade recreated web again\n{again}");
    assert_contains(&again, "failed, rolled back");
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id, "\n{again}");

    // The registry moves on: v3 is tried.
    let v3 = s.v2(&t, &Runnable::new("v3"));
    let third = s.upgrade(&t, &["--wait", "2"]);
    third.expect_code(0);
    assert_eq!(image_of(&web), v3.id, "\n{third}");
    assert!(running(&web));
}

/// Tags are recreated side by side: in one upgrade, the tag whose new
/// version exits is rolled back (its container on v1 under its name, the tag
/// on v1, the digest skipped) while the other tag's container, gated at the
/// same time, stays on its new version; nothing is left behind.
#[test]
fn one_failing_tag_is_rolled_back_while_the_other_stays_upgraded() {
    let t = TestEnv::new("recreate_two_tags_one_fails");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let reg = registry::shared();
    let other = t.reference(reg.host(), "other", "1");
    let other_v1 = t.publish_runnable(&other, &Runnable::new("o1"));
    let web = c.run("web", &[], &s.reference);
    c.put(&web, "/marker", "the old container\n");
    let old_id = id_of(&web);
    let worker = c.run("worker", &[], &other);
    let v2 = t.publish_runnable_remote(reg, "app", "1", &Runnable::new("v2").behaviour(Behaviour::Exit));
    let other_v2 = t.publish_runnable_remote(reg, "other", "1", &Runnable::new("o2"));
    t.freshen().args(["update", &s.pattern]).run().expect_code(0);

    let run = s.upgrade(&t, &["--wait", "3"]);
    run.expect_code(1);
    assert_eq!(id_of(&web), old_id, "web is not the old container\n{run}");
    assert!(running(&web), "web is not running\n{run}");
    assert_eq!(image_of(&web), s.v1.id, "\n{run}");
    assert_eq!(c.get(&web, "/marker"), "the old container\n");
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id, "the failed tag is not on v1 again\n{run}");
    let listing = t.list(&[&s.pattern]);
    assert_eq!(listing.get(&s.reference).raw["skipped"]["digest"], Value::String(v2.digest.clone()));
    assert_eq!(image_of(&worker), other_v2.id, "the other tag's container is not on its new version\n{run}");
    assert!(running(&worker), "\n{run}");
    assert_eq!(docker::inspect(&other).id, other_v2.id, "\n{run}");
    assert_eq!(listing.get(&other).status, "up-to-date", "\n{run}");
    let mut all = c.all();
    all.sort();
    let mut expected = vec![web.clone(), worker.clone()];
    expected.sort();
    assert_eq!(all, expected, "a container was left behind\n{run}");
    assert!(!docker::exists(&other_v1.id), "the other tag's old version was not retired\n{run}");
}

/// A new version the engine cannot start (its command is missing) is rolled
/// back like one that fails its gate: the created container removed, the old
/// one back under its name and running, the tag on v1, the digest skipped.
#[test]
fn a_version_that_cannot_start_is_rolled_back() {
    let t = TestEnv::new("recreate_cannot_start");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let web = c.run("web", &[], &s.reference);
    c.put(&web, "/marker", "the old container\n");
    let old_id = id_of(&web);
    let v2 = s.v2(&t, &Runnable::new("v2").behaviour(Behaviour::Unstartable));

    let run = s.upgrade(&t, &["--wait", "3"]);
    run.expect_code(1);
    assert_rolled_back(&t, &c, &s, &web, &old_id, &v2, &run);
    assert_contains(&run, "/missing");
}

/// A new version without a HEALTHCHECK that exits after a second under
/// `--restart always` keeps running only because the engine restarts it:
/// a restart fails the gate, and it is rolled back.
#[test]
fn a_version_that_restarts_is_rolled_back() {
    let t = TestEnv::new("recreate_restarts");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let web = c.run("web", &["--restart", "always"], &s.reference);
    c.put(&web, "/marker", "the old container\n");
    let old_id = id_of(&web);
    let v2 = s.v2(&t, &Runnable::new("v2").behaviour(Behaviour::ExitAfter(1)));

    let run = s.upgrade(&t, &["--wait", "8"]);
    run.expect_code(1);
    assert_rolled_back(&t, &c, &s, &web, &old_id, &v2, &run);
    assert_eq!(containers::inspect(&web)["HostConfig"]["RestartPolicy"]["Name"], "always");
    // The gate sees either the exit itself (when it looks before the
    // engine's restart, which a loaded machine delays) or the restart.
    // After a restart it names the code it exited with (4), as the engine's
    // events say, not the 0 of the run the engine restarted it into.
    // podman's Docker-compatible events carry no exit code: there it says
    // only that it restarted, and never a made-up code.
    let said = format!("{}{}", run.stdout, run.stderr);
    if said.contains(&format!("{web}: it exited with code 4")) {
        return;
    }
    if docker::engine().kind == docker::Kind::Podman {
        assert_contains(&run, &format!("{web}: it restarted"));
        assert!(!run.stderr.contains("(exit code 0)"), "\n{run}");
    } else {
        assert_contains(&run, &format!("{web}: it restarted (exit code 4)"));
    }
}

/// A rollback is announced to every notification target, with the failing
/// container's last log lines unless the target says `logs = false`.
#[test]
fn a_rollback_is_announced_with_the_last_log_lines() {
    let t = TestEnv::new("recreate_rollback_notice");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let web = c.run("web", &[], &s.reference);
    let v2 = s.v2(&t, &Runnable::new("v2").behaviour(Behaviour::Exit));
    let dir = t.state_dir().join("..");
    let (with, without) = (dir.join("with-logs.json"), dir.join("without-logs.json"));
    let config = dir.join("notify.toml");
    std::fs::write(
        &config,
        format!(
            "[[notify]]\nkind = \"exec\"\nname = \"with\"\ncommand = [\"sh\", \"-c\", \"cat > {}\"]\n\n\
             [[notify]]\nkind = \"exec\"\nname = \"without\"\nlogs = false\n\
             command = [\"sh\", \"-c\", \"cat > {}\"]\n",
            with.display(),
            without.display()
        ),
    )
    .unwrap();

    let run = t
        .freshen()
        .env("FRESHEN_CONFIG", config.to_str().unwrap())
        .args(["upgrade", "-y", "--wait", "3", &s.pattern])
        .run();
    run.expect_code(1);
    assert_contains(&run, &format!("{web}| prog: exit, exiting soon"));
    let read = |path: &std::path::Path| -> Value {
        serde_json::from_slice(
            &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}\n{run}", path.display())),
        )
        .unwrap()
    };
    let full = read(&with);
    assert_eq!(full["event"], "rollback");
    assert_eq!(full["updates"], Value::Array(vec![]));
    let rb = &full["rollbacks"][0];
    assert_eq!(rb["reference"], s.reference.as_str());
    assert_eq!(rb["digest"], v2.digest.as_str());
    assert!(rb["reason"].as_str().unwrap().contains("exited with code 3"), "{full:#}");
    assert_eq!(rb["containers"][0]["name"], web.as_str());
    assert_eq!(rb["containers"][0]["logs"], serde_json::json!(["prog: exit, exiting soon"]));
    let quiet = read(&without);
    assert_eq!(quiet["rollbacks"][0]["containers"][0]["logs"], Value::Array(vec![]));
    assert_eq!(quiet["rollbacks"][0]["digest"], v2.digest.as_str());
}

/// A new version whose HEALTHCHECK never passes is rolled back too.
#[test]
fn a_version_that_never_becomes_healthy_is_rolled_back() {
    let t = TestEnv::new("recreate_unhealthy_rolled_back");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &serve());
    let web = c.run("web", &[], &s.reference);
    c.put(&web, "/marker", "the old container\n");
    let old_id = id_of(&web);
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Unhealthy));

    let run = s.upgrade(&t, &["--wait", "6"]);
    run.expect_code(1);
    assert_rolled_back(&t, &c, &s, &web, &old_id, &v2, &run);
    assert_contains(&run, "unhealthy");

    // The rolled-back version is a skip: showskip lists it with its reason,
    // and unskip lifts it, so the tag is offered again.
    let shown = t.freshen().args(["showskip"]).run();
    shown.expect_code(0);
    let line = shown
        .stdout
        .lines()
        .find(|l| l.starts_with(&short_ref(&s.reference)))
        .unwrap_or_else(|| panic!("the rolled-back version is not in showskip\n{shown}"));
    assert!(line.contains(&v2.digest["sha256:".len()..][..12]), "{line}");
    assert!(line.contains("failed, rolled back: ") && line.contains("unhealthy"), "{line}");
    let unskip = t.freshen().args(["unskip", &s.pattern]).run();
    unskip.expect_code(0);
    assert!(!t.freshen().args(["showskip"]).run().stdout.contains(&short_ref(&s.reference)));
    let listing = t.list(&[&s.pattern]);
    let entry = listing.get(&s.reference);
    assert_eq!(entry.status, "upgradable");
    assert_eq!(entry.raw["rolled_back"], Value::Null, "{:#}", entry.raw);
    assert_eq!(entry.raw["skipped"], Value::Null, "{:#}", entry.raw);
    let table = t.freshen().args(["list", &s.pattern]).run();
    assert!(!table.stdout.contains("failed, rolled back"), "unskip did not lift it\n{table}");
    let dry = s.upgrade(&t, &["--dry-run"]);
    dry.expect_code(0);
    assert!(!dry.stdout.contains("failed, rolled back"), "still kept back after unskip\n{dry}");
}

fn assert_rolled_back(
    t: &TestEnv,
    c: &Containers,
    s: &Setup,
    web: &str,
    old_id: &str,
    v2: &Published,
    run: &Run,
) {
    assert_eq!(id_of(web), old_id, "web is not the old container\n{run}");
    assert!(running(web), "web is not running\n{run}");
    assert_eq!(image_of(web), s.v1.id, "\n{run}");
    assert_eq!(c.get(web, "/marker"), "the old container\n");
    assert_eq!(c.all(), vec![web.to_string()], "a container was left behind\n{run}");
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id, "the tag is not on v1 again\n{run}");
    let listing = t.list(&[&s.pattern]);
    let entry = listing.get(&s.reference);
    assert_eq!(entry.status, "upgradable", "\n{run}");
    assert_eq!(entry.raw["rolled_back"]["digest"], Value::String(v2.digest.clone()), "{:#}", entry.raw);
    // Recorded as a skip of that digest, with the reason.
    assert_eq!(entry.raw["skipped"]["digest"], Value::String(v2.digest.clone()), "{:#}", entry.raw);
    let reason = entry.raw["skipped"]["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("failed, rolled back: "), "{:#}", entry.raw);
    let table = t.freshen().args(["list", &s.pattern]).run();
    assert_contains(&table, "upgradable (failed, rolled back)");
}

/// SIGKILL while freshen waits for the new container's health: the next
/// run that changes anything puts things right before it does anything
/// else, and the container of that name runs with no leftover.
#[test]
fn sigkill_during_the_health_wait_is_repaired_by_the_next_run() {
    let t = TestEnv::new("recreate_sigkill_repaired");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &serve());
    let web = c.run("web", &[], &s.reference);
    let old_id = id_of(&web);
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Starting));

    let mut child = t
        .freshen()
        .args(["upgrade", "-y", "--wait", "60", &s.pattern])
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Names change under our feet (the old container is renamed): look
    // each up once and take what answers.
    containers::wait_for("the new container to run", Duration::from_secs(30), || {
        c.all()
            .iter()
            .filter_map(|n| containers::try_inspect(n))
            .any(|v| v["Image"] == v2.id.as_str() && v["State"]["Running"] == true)
    });
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(c.all().len(), 2, "expected the old (stopped) and the new container mid-way");

    let repair = t.freshen().args(["update", &s.pattern]).run();
    repair.expect_code(0);
    assert_contains(&repair, "interrupted");
    assert_eq!(c.all(), vec![web.clone()], "a container was left behind\n{repair}");
    assert!(running(&web), "\n{repair}");
    // The gate was not passed: the old container is back, and the tag.
    assert_eq!(id_of(&web), old_id, "\n{repair}");
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id, "\n{repair}");
    // An interrupted upgrade is not a failed version: it stays upgradable.
    let listing = t.list(&[&s.pattern]);
    assert_eq!(listing.get(&s.reference).status, "upgradable");
    assert_eq!(listing.get(&s.reference).raw["rolled_back"], Value::Null);
    // And the journal is done with.
    let again = t.freshen().args(["update", &s.pattern]).run();
    assert!(!again.stdout.contains("interrupted") && !again.stderr.contains("interrupted"), "\n{again}");
}

fn compose_project(t: &TestEnv, c: &mut Containers, reference: &str) -> (String, PathBuf, tempfile::TempDir) {
    let (project, dir, keep) = c.compose_dir(
        t,
        &format!(
            "services:\n  web:\n    image: {reference}\n    environment:\n      GREETING: hello\n    \
             labels:\n      {TEST_LABEL}: {}\n      tier: frontend\n",
            t.namespace()
        ),
    );
    std::fs::write(dir.join(".env"), "UNUSED=1\n").unwrap();
    (project, dir, keep)
}

/// `upgrade --tags` moves to a newer tag (16.2 → 16.3); a Compose service
/// whose file names 16.2 is not recreated by `docker compose up -d` alone:
/// the advice says the file must name the new tag.
#[test]
fn a_tag_move_tells_compose_users_to_change_the_file() {
    let t = TestEnv::new("recreate_compose_tag_move");
    let mut c = Containers::new(&t);
    let reg = registry::shared();
    let db = t.reference(reg.host(), "db", "16.2");
    t.publish_runnable(&db, &Runnable::new("16.2"));
    t.publish_runnable_remote(reg, "db", "16.3", &Runnable::new("16.3"));
    let (project, dir, _keep) = compose_project(&t, &mut c, &db);
    compose_up(&dir, &project);
    let pattern = t.pattern(reg.host());
    t.freshen().args(["update", &pattern]).run().expect_code(0);

    let run = t.freshen().args(["upgrade", "-y", "--tags", "--wait", "2", &pattern]).run();
    run.expect_code(0);
    let new = t.reference(reg.host(), "db", "16.3");
    assert!(
        run.stdout.lines().any(|l| l
            == format!(
                "Compose project {project}: change the image in its compose file from {db} to {new}, \
                 then run 'docker compose up -d' in {}.",
                dir.display()
            )),
        "\n{run}"
    );
}

/// A Compose service that depends on another is recreated with its
/// dependency left as it runs, and Compose's record keeps the dependency:
/// a later `docker compose up -d` recreates neither (with `--no-deps`,
/// Compose drops `depends_on` from the service's config hash).
#[test]
fn a_compose_service_with_a_dependency_stays_as_compose_would_make_it() {
    let t = TestEnv::new("recreate_compose_deps");
    let mut c = Containers::new(&t);
    let s = Setup::v1(&t, &serve());
    let reg = registry::shared();
    let db_ref = t.reference(reg.host(), "db", "1");
    t.publish_runnable(&db_ref, &Runnable::new("db"));
    let project = t.namespace().replace('-', "_");
    let dir = tempfile::Builder::new().prefix("freshen-test-compose-").tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            "services:\n  db:\n    image: {db_ref}\n    labels:\n      {TEST_LABEL}: {ns}\n  \
             web:\n    image: {web}\n    depends_on: [db]\n    labels:\n      {TEST_LABEL}: {ns}\n",
            ns = t.namespace(),
            web = s.reference,
        ),
    )
    .unwrap();
    c.compose_project(&project, dir.path().to_path_buf());
    compose_up(dir.path(), &project);
    let (web, db) = (format!("{project}-web-1"), format!("{project}-db-1"));
    let db_id = id_of(&db);
    let v2 = s.v2(&t, &Runnable::new("v2"));

    let run = s.upgrade(&t, &["--wait", "2"]);
    run.expect_code(0);
    assert_eq!(image_of(&web), v2.id, "\n{run}");
    assert_eq!(id_of(&db), db_id, "the dependency was recreated\n{run}");
    let web_id = id_of(&web);

    compose_up(dir.path(), &project);
    assert_eq!(id_of(&web), web_id, "a later 'docker compose up -d' recreated the service again");
    assert_eq!(id_of(&db), db_id);
}

/// A Compose service and the service it depends on, both upgraded in one
/// run (each its own tag): the dependency is recreated first, through its
/// own gate. Here its new version exits at once, so it goes back to v1 and
/// the dependent then comes up on its new version beside it. Before, the
/// dependent went first (its tag sorts first) and Compose's `up` of it
/// recreated the dependency on the bad version out of band, so the
/// dependent failed too and was rolled back.
#[test]
fn compose_dependencies_upgraded_together_go_first() {
    let t = TestEnv::new("recreate_compose_dep_order");
    let mut c = Containers::new(&t);
    let s = Setup::v1(&t, &serve());
    let reg = registry::shared();
    let db_ref = t.reference(reg.host(), "zdb", "1");
    let db_v1 = t.publish_runnable(&db_ref, &Runnable::new("db1").health(Health::Healthy));
    let project = t.namespace().replace('-', "_");
    let dir = tempfile::Builder::new().prefix("freshen-test-compose-").tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            "services:\n  zdb:\n    image: {db_ref}\n    labels:\n      {TEST_LABEL}: {ns}\n  \
             app:\n    image: {app}\n    depends_on:\n      zdb:\n        condition: service_healthy\n    \
             labels:\n      {TEST_LABEL}: {ns}\n",
            ns = t.namespace(),
            app = s.reference,
        ),
    )
    .unwrap();
    c.compose_project(&project, dir.path().to_path_buf());
    compose_up(dir.path(), &project);
    let (app, db) = (format!("{project}-app-1"), format!("{project}-zdb-1"));
    t.publish_runnable_remote(reg, "zdb", "1", &Runnable::new("db2").behaviour(Behaviour::Exit));
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Healthy));
    assert_eq!(t.list(&[&s.pattern]).get(&db_ref).status, "upgradable");

    let run = s.upgrade(&t, &["--wait", "10"]);
    run.expect_code(1);
    assert_eq!(image_of(&db), db_v1.id, "the dependency's bad version was not rolled back\n{run}");
    assert!(running(&db), "\n{run}");
    assert_eq!(docker::inspect(&db_ref).id, db_v1.id, "\n{run}");
    assert_eq!(image_of(&app), v2.id, "the dependent was not upgraded beside the old dependency\n{run}");
    assert!(running(&app), "\n{run}");
    let ids = (id_of(&app), id_of(&db));

    compose_up(dir.path(), &project);
    assert_eq!((id_of(&app), id_of(&db)), ids, "a later 'docker compose up -d' recreated a service again");
}

/// Two services of one Compose project on two upgraded tags, with no
/// dependency between them, are recreated side by side (two `docker compose
/// up` of one project at once): both end on their new version, and a later
/// `docker compose up -d` changes neither.
#[test]
fn two_services_of_one_project_upgraded_side_by_side() {
    let t = TestEnv::new("recreate_compose_side_by_side");
    let mut c = Containers::new(&t);
    let s = Setup::v1(&t, &serve());
    let reg = registry::shared();
    let cache_ref = t.reference(reg.host(), "cache", "1");
    t.publish_runnable(&cache_ref, &Runnable::new("c1").health(Health::Healthy));
    let project = t.namespace().replace('-', "_");
    let dir = tempfile::Builder::new().prefix("freshen-test-compose-").tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            "services:\n  cache:\n    image: {cache_ref}\n    labels:\n      {TEST_LABEL}: {ns}\n  \
             app:\n    image: {app}\n    labels:\n      {TEST_LABEL}: {ns}\n",
            ns = t.namespace(),
            app = s.reference,
        ),
    )
    .unwrap();
    c.compose_project(&project, dir.path().to_path_buf());
    compose_up(dir.path(), &project);
    let (app, cache) = (format!("{project}-app-1"), format!("{project}-cache-1"));
    let cache_v2 = t.publish_runnable_remote(reg, "cache", "1", &Runnable::new("c2").health(Health::Healthy));
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Healthy));
    assert_eq!(t.list(&[&s.pattern]).get(&cache_ref).status, "upgradable");

    let run = s.upgrade(&t, &["--wait", "10"]);
    run.expect_code(0);
    assert_eq!(image_of(&app), v2.id, "\n{run}");
    assert_eq!(image_of(&cache), cache_v2.id, "\n{run}");
    assert!(running(&app) && running(&cache), "\n{run}");
    let mut all = c.all();
    all.sort();
    let mut expected = vec![app.clone(), cache.clone()];
    expected.sort();
    assert_eq!(all, expected, "a container was left behind\n{run}");
    let ids = (id_of(&app), id_of(&cache));
    compose_up(dir.path(), &project);
    assert_eq!((id_of(&app), id_of(&cache)), ids, "a later 'docker compose up -d' recreated a service again");
}

/// A Compose service is recreated by Compose itself, so Compose's own
/// bookkeeping agrees and a later `docker compose up -d` leaves it alone.
#[test]
fn a_compose_service_is_recreated_through_compose() {
    let t = TestEnv::new("recreate_compose");
    let mut c = Containers::new(&t);
    let s = Setup::v1(&t, &serve());
    let (project, dir, _keep) = compose_project(&t, &mut c, &s.reference);
    compose_up(&dir, &project);
    let web = format!("{project}-web-1");
    assert!(running(&web));
    let old_id = id_of(&web);
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Healthy));

    let dry = t.freshen().args(["upgrade", "-s", &s.pattern]).run();
    dry.expect_code(0);
    assert_contains(
        &dry,
        &format!("  {web} ({}): compose project {project}, service web", short_ref(&s.reference)),
    );
    assert_eq!(id_of(&web), old_id);

    let run = s.upgrade(&t, &["--wait", "10"]);
    run.expect_code(0);
    let new_id = id_of(&web);
    assert_ne!(new_id, old_id, "\n{run}");
    assert_eq!(image_of(&web), v2.id, "\n{run}");
    assert!(running(&web));
    assert_eq!(containers::inspect(&web)["Config"]["Labels"]["com.docker.compose.project"], project.as_str());
    assert_eq!(c.all(), vec![web.clone()], "\n{run}");

    // Compose agrees: nothing to recreate.
    compose_up(&dir, &project);
    assert_eq!(id_of(&web), new_id, "a later 'docker compose up -d' recreated the service again");
}

/// When the project's files are gone, freshen does not guess: the container
/// stays as it is, the reason is given and the run exits 1.
#[test]
fn a_compose_service_whose_files_are_gone_is_left_alone() {
    let t = TestEnv::new("recreate_compose_files_gone");
    let mut c = Containers::new(&t);
    let s = Setup::v1(&t, &serve());
    let (project, dir, _keep) = compose_project(&t, &mut c, &s.reference);
    compose_up(&dir, &project);
    let web = format!("{project}-web-1");
    let old_id = id_of(&web);
    std::fs::remove_file(dir.join("compose.yaml")).unwrap();
    s.v2(&t, &Runnable::new("v2"));

    let run = s.upgrade(&t, &["--wait", "2"]);
    run.expect_code(1);
    assert_eq!(id_of(&web), old_id, "\n{run}");
    assert!(running(&web));
    assert_contains(&run, "compose.yaml");
}

/// The Watchtower opt-out label and freshen's own keep a container on the
/// previous version; the tag is still upgraded and they are listed.
#[test]
fn opt_out_labels_keep_a_container_on_the_previous_version() {
    let t = TestEnv::new("recreate_opt_out");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let tower = c.run("tower", &["--label", "com.centurylinklabs.watchtower.enable=false"], &s.reference);
    let own = c.run("own", &["--label", "freshen.recreate=false"], &s.reference);
    let ids = (id_of(&tower), id_of(&own));
    let v2 = s.v2(&t, &Runnable::new("v2"));

    let run = s.upgrade(&t, &["--wait", "2"]);
    run.expect_code(0);
    assert_eq!((id_of(&tower), id_of(&own)), ids, "\n{run}");
    assert_eq!(image_of(&tower), s.v1.id);
    assert_eq!(image_of(&own), s.v1.id);
    assert_eq!(docker::inspect(&s.reference).id, v2.id, "the tag was not upgraded\n{run}");
    assert_contains(&run, "com.centurylinklabs.watchtower.enable=false");
    assert_contains(&run, "freshen.recreate=false");
    assert_contains(&run, "These containers still run the previous version:");
    assert!(docker::exists(&s.v1.id), "v1 is in use and must stay");
}

/// One image with three tags (`1`, `stable`, `1.0`), a container on each;
/// the registry moves `1` and `stable`. Each recreated container stays on
/// the tag it was created from, and the one on `1.0`, whose tag did not
/// move, is left running as it was: it is not a container of either tag.
#[test]
fn containers_stay_on_their_own_tag_of_a_shared_image() {
    let t = TestEnv::new("recreate_own_tag");
    let c = Containers::new(&t);
    let reg = registry::shared();
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let stable = t.reference(reg.host(), "app", "stable");
    let fixed = t.reference(reg.host(), "app", "1.0");
    for tag in [&stable, &fixed] {
        docker::tag(&s.reference, tag);
        docker::push(tag);
    }
    let on_one = c.run("one", &[], &s.reference);
    let on_stable = c.run("stable", &[], &stable);
    let on_fixed = c.run("fixed", &[], &fixed);
    let fixed_id = id_of(&on_fixed);
    let v2 = s.v2(&t, &Runnable::new("v2"));
    reg.copy_tag(&t.repo("app"), "1", "stable");
    t.freshen().args(["update", &s.pattern]).run().expect_code(0);
    let listing = t.list(&[&s.pattern]);
    assert_eq!(listing.get(&stable).status, "upgradable");
    assert_eq!(listing.get(&fixed).status, "up-to-date");

    let dry = t.freshen().args(["upgrade", "-s", &s.pattern]).run();
    dry.expect_code(0);
    assert!(!dry.stdout.contains(&on_fixed), "{on_fixed} is not a container of an upgraded tag\n{dry}");

    let run = s.upgrade(&t, &["--wait", "2"]);
    run.expect_code(0);
    let config_image =
        |name: &str| containers::inspect(name)["Config"]["Image"].as_str().unwrap().to_string();
    assert_eq!((image_of(&on_one), config_image(&on_one)), (v2.id.clone(), s.reference.clone()), "\n{run}");
    assert_eq!((image_of(&on_stable), config_image(&on_stable)), (v2.id.clone(), stable.clone()), "\n{run}");
    assert_eq!(id_of(&on_fixed), fixed_id, "recreated although its tag did not move\n{run}");
    assert!(!run.stdout.contains(&on_fixed), "{on_fixed} runs the current 1.0, nothing to finish\n{run}");
    assert_eq!((image_of(&on_fixed), config_image(&on_fixed)), (s.v1.id.clone(), fixed.clone()));
    assert!(running(&on_fixed));
    assert_eq!(docker::inspect(&fixed).id, s.v1.id, "1.0 did not move");
}

/// A container created from the image's ID (`docker run 3f2a…` or
/// `docker run sha256:…`) runs that image, not a tag: it is left running as
/// it is, listed with the reason, and its image is kept because a container
/// uses it. Before, the list's `Image` (an ID, for these and for a container
/// whose tag had moved alike) made it follow the upgraded tag.
#[test]
fn a_container_created_from_an_image_id_is_left_alone() {
    let t = TestEnv::new("recreate_by_image_id");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let full = s.v1.id.clone();
    let short = full.trim_start_matches("sha256:")[..12].to_string();
    let by_short = c.run("short", &[], &short);
    let by_full = c.run("full", &[], &full);
    let by_tag = c.run("tag", &[], &s.reference);
    if docker::engine().kind == docker::Kind::Podman {
        // podman (4.3, 5.4) records the tag it resolved the ID to, in
        // `Config.Image` and everywhere else: nothing says the user named
        // an ID, so such a container follows that tag there (README,
        // Supported engines).
        assert_eq!(containers::inspect(&by_short)["Config"]["Image"], s.reference.as_str());
        return;
    }
    let ids = (id_of(&by_short), id_of(&by_full));
    let v2 = s.v2(&t, &Runnable::new("v2"));

    let dry = t.freshen().args(["upgrade", "-s", &s.pattern]).run();
    dry.expect_code(0);
    assert_contains(&dry, &format!("  {by_short} ({}): created from an image ID", short_ref(&s.reference)));
    assert_contains(&dry, &format!("  {by_full} ({}): created from an image ID", short_ref(&s.reference)));

    let run = s.upgrade(&t, &["--wait", "2"]);
    run.expect_code(0);
    assert_eq!((id_of(&by_short), id_of(&by_full)), ids, "recreated onto the tag\n{run}");
    for name in [&by_short, &by_full] {
        assert_eq!(image_of(name), s.v1.id, "\n{run}");
        assert!(running(name), "{name} is not running\n{run}");
    }
    assert_eq!(containers::inspect(&by_short)["Config"]["Image"], short.as_str());
    assert_eq!(image_of(&by_tag), v2.id, "the container of the tag was not recreated\n{run}");
    assert_eq!(docker::inspect(&s.reference).id, v2.id, "the tag was not upgraded\n{run}");
    assert!(docker::exists(&s.v1.id), "v1 is in use and must stay\n{run}");
    // Recreating them would be wrong advice: they run that image on purpose.
    assert!(!run.stdout.contains("still run the previous version"), "{run}");
}

/// A container started with `--rm` is removed by the engine when it stops,
/// so there would be no stopped old container to return to: before, a new
/// version that failed the gate left the service gone while the output said
/// it ran the previous version again. It is listed and left running; the
/// tag is still upgraded and the version it runs is kept.
#[test]
fn a_container_started_with_rm_is_left_running() {
    let t = TestEnv::new("recreate_auto_remove");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let web = c.run("web", &["--rm"], &s.reference);
    let old_id = id_of(&web);
    let v2 = s.v2(&t, &Runnable::new("v2").behaviour(Behaviour::Exit));

    let run = s.upgrade(&t, &["--wait", "2"]);
    run.expect_code(0);
    assert!(containers::exists(&web), "the --rm container is gone\n{run}");
    assert_eq!(id_of(&web), old_id, "\n{run}");
    assert!(running(&web), "\n{run}");
    assert_eq!(image_of(&web), s.v1.id);
    assert_eq!(docker::inspect(&s.reference).id, v2.id, "the tag was not upgraded\n{run}");
    assert_contains(&run, "started with --rm");
    assert_contains(&run, "These containers still run the previous version:");
    assert!(docker::exists(&s.v1.id), "v1 is in use and must stay");
}

/// `--no-recreate` is the upgrade of before: pull and retag only.
#[test]
fn no_recreate_only_pulls_and_retags() {
    let t = TestEnv::new("recreate_no_recreate");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let web = c.run("web", &[], &s.reference);
    let old_id = id_of(&web);
    let v2 = s.v2(&t, &Runnable::new("v2"));

    let dry = t.freshen().args(["upgrade", "-s", "--no-recreate", &s.pattern]).run();
    dry.expect_code(0);
    dry.expect_no_line_starting("The following containers will be recreated:");

    let run = s.upgrade(&t, &["--no-recreate"]);
    run.expect_code(0);
    assert_eq!(id_of(&web), old_id, "\n{run}");
    assert_eq!(docker::inspect(&s.reference).id, v2.id);
    assert_contains(
        &run,
        &format!(
            "These containers still run the previous version: {web} ({}). Recreate them to finish the upgrade.",
            short_ref(&s.reference)
        ),
    );
}

/// `recreate = false` for an image in the config file does the same.
#[test]
fn config_recreate_false_keeps_the_containers_of_an_image() {
    let t = TestEnv::new("recreate_config_false");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let web = c.run("web", &[], &s.reference);
    let old_id = id_of(&web);
    let v2 = s.v2(&t, &Runnable::new("v2"));
    let config = t.state_dir().join("../config.toml");
    std::fs::write(&config, format!("[images.\"{}\"]\nrecreate = false\n", s.pattern)).unwrap();

    let run =
        t.freshen().env("FRESHEN_CONFIG", config.to_str().unwrap()).args(["upgrade", "-y", &s.pattern]).run();
    run.expect_code(0);
    assert_eq!(id_of(&web), old_id, "\n{run}");
    assert_eq!(docker::inspect(&s.reference).id, v2.id);
    assert_contains(&run, "recreate = false");
}

/// The dry run shows which containers would be recreated and how, and the
/// stopped one that would not; it changes nothing. The real run leaves the
/// stopped container stopped and lists it.
#[test]
fn the_plan_lists_containers_and_a_stopped_one_stays_stopped() {
    let t = TestEnv::new("recreate_plan_stopped");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let web = c.run("web", &[], &s.reference);
    let idle = c.create("idle", &[], &s.reference);
    let ids = (id_of(&web), id_of(&idle));
    let v2 = s.v2(&t, &Runnable::new("v2"));
    let name = short_ref(&s.reference);

    let dry = t.freshen().args(["upgrade", "-s", &s.pattern]).run();
    dry.expect_code(0);
    let lines = dry.stdout_lines();
    let at = lines
        .iter()
        .position(|l| *l == "The following containers will be recreated:")
        .unwrap_or_else(|| panic!("no recreation plan\n{dry}"));
    assert_eq!(lines[at + 1], format!("  {web} ({name}): container"), "\n{dry}");
    assert_contains(&dry, &format!("  {idle} ({name}): stopped"));
    assert_eq!(dry.last_line(), "1 upgraded, 1 to recreate, 0 to retire, 0 kept back.", "\n{dry}");
    assert_eq!((id_of(&web), id_of(&idle)), ids, "the dry run changed a container");
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id);

    let run = s.upgrade(&t, &["--wait", "2"]);
    run.expect_code(0);
    assert_eq!(image_of(&web), v2.id, "\n{run}");
    assert_eq!(id_of(&idle), ids.1);
    assert_eq!(containers::state(&idle).0, "created", "the stopped container was started\n{run}");
    assert_contains(
        &run,
        &format!(
            "These containers still run the previous version: {idle} ({name}, stopped). \
             Recreate them to finish the upgrade."
        ),
    );
    assert_eq!(run.last_line(), "1 upgraded, 1 recreated, 0 retired, 0 kept back.", "\n{run}");
}

/// `upgrade --format json`: a report of what was upgraded, recreated,
/// rolled back, retired and kept, with reasons.
#[test]
fn upgrade_reports_json() {
    let t = TestEnv::new("recreate_json_report");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &serve());
    let web = c.run("web", &[], &s.reference);
    let tower = c.run("tower", &["--label", "com.centurylinklabs.watchtower.enable=false"], &s.reference);
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Healthy));

    let run = s.upgrade(&t, &["--wait", "10", "--format", "json"]);
    run.expect_code(0);
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"));
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["dry_run"], false);
    let upgraded = report["upgraded"].as_array().unwrap();
    assert_eq!(upgraded.len(), 1, "{report:#}");
    assert_eq!(upgraded[0]["reference"], s.reference.as_str());
    assert_eq!(upgraded[0]["from_image_id"], s.v1.id.as_str());
    assert_eq!(upgraded[0]["to_image_id"], v2.id.as_str());
    assert_eq!(upgraded[0]["to_digest"], v2.digest.as_str());
    let recreated = report["recreated"].as_array().unwrap();
    assert_eq!(recreated.len(), 1, "{report:#}");
    assert_eq!(recreated[0]["name"], web.as_str());
    assert_eq!(recreated[0]["id"], id_of(&web).as_str());
    assert_eq!(recreated[0]["how"], "container");
    assert_eq!(recreated[0]["reference"], s.reference.as_str());
    let downtime = recreated[0]["downtime_seconds"].as_f64().unwrap();
    assert!(downtime > 0.0 && downtime < 10.0, "{report:#}");
    let not = report["not_recreated"].as_array().unwrap();
    assert_eq!(not.len(), 1, "{report:#}");
    assert_eq!(not[0]["name"], tower.as_str());
    assert!(not[0]["reason"].as_str().unwrap().contains("watchtower"), "{report:#}");
    assert_eq!(report["rolled_back"], Value::Array(vec![]));
    assert_eq!(report["failed"], Value::Array(vec![]));
    // v1 still runs in `tower`: kept, with the reason.
    assert_eq!(report["retired"], Value::Array(vec![]), "{report:#}");
    let kept = report["kept"].as_array().unwrap();
    assert_eq!(kept.len(), 1, "{report:#}");
    assert_eq!(kept[0]["image_id"], s.v1.id.as_str());
    assert!(kept[0]["reason"].as_str().unwrap().contains(&tower), "{report:#}");
    // Nothing else on stdout.
    assert!(run.stdout.trim_end().ends_with('}'));
}

/// `autoremove --format json` reports what was retired and kept.
#[test]
fn autoremove_reports_json() {
    let t = TestEnv::new("recreate_autoremove_json");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let v2 = s.v2(&t, &Runnable::new("v2"));
    s.upgrade(&t, &["--keep-previous"]).expect_code(0);
    let web = c.run("web", &[], &s.v1.id);

    let run = t.freshen().args(["autoremove", "-y", "--format", "json", &s.pattern]).run();
    run.expect_code(0);
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"));
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["retired"], Value::Array(vec![]), "{report:#}");
    let kept = report["kept"].as_array().unwrap();
    assert_eq!(kept.len(), 1, "{report:#}");
    assert_eq!(kept[0]["image_id"], s.v1.id.as_str());
    assert!(kept[0]["reason"].as_str().unwrap().contains(&web), "{report:#}");
    assert_eq!(docker::inspect(&s.reference).id, v2.id);
}

/// `freshen rollback` after an upgrade that recreated containers takes them
/// back to the previous version as well.
#[test]
fn rollback_recreates_the_containers_on_the_previous_version() {
    let t = TestEnv::new("recreate_rollback_command");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &serve());
    let web = c.run("web", &["-e", "KEEP=1"], &s.reference);
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Healthy));
    s.upgrade(&t, &["--keep", "1", "--wait", "10"]).expect_code(0);
    assert_eq!(image_of(&web), v2.id);

    let run = t.freshen().args(["rollback", "--wait", "10", &s.reference]).run();
    run.expect_code(0);
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id, "\n{run}");
    assert_eq!(image_of(&web), s.v1.id, "the container was not taken back\n{run}");
    assert!(running(&web));
    let env = containers::inspect(&web)["Config"]["Env"].clone();
    assert!(env.as_array().unwrap().iter().any(|e| e == "KEEP=1"), "{env}");
    assert_eq!(c.all(), vec![web.clone()], "\n{run}");
}

/// `update --unattended` recreates only when `[unattended] recreate = true`
/// says so; otherwise it pulls and retags, as before.
#[test]
fn unattended_recreates_only_when_the_policy_says_so() {
    let t = TestEnv::new("recreate_unattended");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let web = c.run("web", &[], &s.reference);
    let old_id = id_of(&web);
    let v2 = s.v2(&t, &Runnable::new("v2"));
    let config = |recreate: bool| {
        let path = t.state_dir().join(format!("../unattended-{recreate}.toml"));
        std::fs::write(
            &path,
            format!(
                "[unattended]\nupgrade = true\nretire = true\nrecreate = {recreate}\nwait = 2\nallowed = [\"{}\"]\n",
                s.pattern
            ),
        )
        .unwrap();
        path
    };

    let off = config(false);
    let run =
        t.freshen().args(["--config", off.to_str().unwrap(), "update", "--unattended", &s.pattern]).run();
    run.expect_code(0);
    assert_eq!(docker::inspect(&s.reference).id, v2.id, "\n{run}");
    assert_eq!(id_of(&web), old_id, "recreated without recreate = true\n{run}");

    // A container on v2, and v3 with recreation allowed.
    let web2 = c.run("web2", &[], &s.reference);
    let v3 = s.v2(&t, &Runnable::new("v3"));
    let on = config(true);
    let run =
        t.freshen().args(["--config", on.to_str().unwrap(), "update", "--unattended", &s.pattern]).run();
    run.expect_code(0);
    assert_eq!(image_of(&web2), v3.id, "not recreated with recreate = true\n{run}");
    assert!(running(&web2));
    assert_eq!(id_of(&web), old_id, "a container on v1 is not v2's to recreate");
}

/// An unattended run with `recreate = true` rolls back a version that fails
/// the gate like `upgrade` does, and the next unattended run leaves that
/// digest alone: the tag stays on v1 and the container is not touched.
#[test]
fn unattended_runs_skip_a_rolled_back_version() {
    let t = TestEnv::new("recreate_unattended_skip");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1"));
    let web = c.run("web", &[], &s.reference);
    let old_id = id_of(&web);
    s.v2(&t, &Runnable::new("v2").behaviour(Behaviour::Exit));
    let path = t.state_dir().join("../unattended-skip.toml");
    std::fs::write(
        &path,
        format!(
            "[unattended]\nupgrade = true\nretire = true\nrecreate = true\nwait = 3\nallowed = [\"{}\"]\n",
            s.pattern
        ),
    )
    .unwrap();
    let unattended =
        || t.freshen().args(["--config", path.to_str().unwrap(), "update", "--unattended", &s.pattern]).run();

    let first = unattended();
    assert_ne!(first.code, 0, "a rollback is a failure\n{first}");
    assert_eq!(id_of(&web), old_id, "\n{first}");
    assert!(running(&web), "\n{first}");
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id, "the tag is not on v1 again\n{first}");

    let second = unattended();
    second.expect_code(0);
    assert_eq!(id_of(&web), old_id, "the rolled-back version was tried again\n{second}");
    assert_eq!(
        docker::inspect(&s.reference).id,
        s.v1.id,
        "the rolled-back version was pulled again\n{second}"
    );
    assert!(!second.stdout.contains("Recreating") && !second.stderr.contains("Recreating"), "\n{second}");
}

/// Measurement for the report (run with `--ignored --nocapture`): ten
/// running containers with a health check, one upgrade; prints the wall time
/// and each container's downtime (stop of the old → healthy new).
#[test]
#[ignore]
fn measure_ten_containers() {
    let t = TestEnv::new("recreate_measure_ten");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &serve());
    let names: Vec<String> = (0..10).map(|i| c.run(&format!("svc{i}"), &[], &s.reference)).collect();
    for n in &names {
        containers::wait_for("v1 healthy", Duration::from_secs(20), || {
            containers::state(n).1.as_deref() == Some("healthy")
        });
    }
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Healthy));
    let start = Instant::now();
    let run = s.upgrade(&t, &["--wait", "30", "--format", "json"]);
    let wall = start.elapsed();
    run.expect_code(0);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let mut downtime: BTreeMap<String, f64> = BTreeMap::new();
    for r in report["recreated"].as_array().unwrap() {
        downtime.insert(r["name"].as_str().unwrap().to_string(), r["downtime_seconds"].as_f64().unwrap());
    }
    assert_eq!(downtime.len(), 10, "{report:#}");
    for n in &names {
        assert_eq!(image_of(n), v2.id);
    }
    eprintln!("MEASURE: upgrade of 10 running containers: wall {:.2}s", wall.as_secs_f64());
    for (n, d) in &downtime {
        eprintln!("MEASURE: {n}: downtime {d:.2}s");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The short form freshen prints: `HOST/NAMESPACE/app:1` stays as is (a
/// registry host with a port is not Docker Hub).
fn short_ref(reference: &str) -> String {
    reference.to_string()
}
