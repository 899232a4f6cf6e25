//! Interrupted runs, end to end: a signal at each step of an upgrade (after
//! a pull, after the old container stopped, after the new one was created,
//! during the health gate, before the retirement), sent to the whole process
//! group as a terminal's Ctrl-C is, through the Engine API and through
//! Compose; and a SIGKILL, whose leftovers every later command reports and
//! the next upgrade repairs. After each: exactly one container of each name
//! runs, nothing is parked under `*-freshen-old`, the tag and the state
//! agree with what runs, and the exit status is 128 + the signal.
//!
//! The run is stopped at a step with `FRESHEN_TEST_PAUSE=STEP` (freshen
//! waits there and says so on stderr), so the signal lands exactly there.

#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use support::containers::{self, compose_up, Containers, Health, Runnable, Setup, TEST_LABEL};
use support::docker;
use support::{Published, TestEnv};

/// What an interrupted run printed and how it ended.
struct Stopped {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs `freshen ARGS` paused at `step`, then sends `signals` (one after
/// the other) to its whole process group, as a terminal does on Ctrl-C.
fn interrupted(t: &TestEnv, args: &[&str], step: &str, signals: &[i32]) -> Stopped {
    let mut command = t.freshen().args(args).env("FRESHEN_TEST_PAUSE", step).command();
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().expect("start freshen");
    let pid = child.id() as i32;
    let mut stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let (paused_tx, paused_rx) = mpsc::channel();
    let marker = format!("paused at {step}");
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(&marker) {
                let _ = paused_tx.send(());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let reached = paused_rx.recv_timeout(Duration::from_secs(120)).is_ok();
    if reached {
        for (i, &sig) in signals.iter().enumerate() {
            if i > 0 {
                std::thread::sleep(Duration::from_millis(200));
            }
            // SAFETY: kill(2) with a negative pid signals that process group.
            unsafe { libc::kill(-pid, sig) };
        }
    } else {
        let _ = child.kill();
    }
    let mut status = None;
    for _ in 0..(180 * 10) {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        child.wait().unwrap()
    });
    let stopped = Stopped {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    assert!(reached, "freshen never paused at {step}\n{stopped}");
    stopped
}

/// The invariants after any interruption before the new version passed:
/// one container of the name, running the old version, nothing parked, the
/// tag on v1, the tag upgradable and no skip (an interruption is no verdict
/// on v2), no journal left.
fn assert_put_back(t: &TestEnv, c: &Containers, s: &Setup, web: &str, old_id: &str, run: &Stopped) {
    assert_eq!(c.all(), vec![web.to_string()], "a container was left behind or is missing\n{run}");
    assert!(containers::state(web).0 == "running", "{web} is not running\n{run}");
    assert_eq!(containers::inspect(web)["Image"].as_str().unwrap(), s.v1.id, "{web} is not on v1\n{run}");
    assert_eq!(containers::inspect(web)["Id"].as_str().unwrap(), old_id, "not the old container\n{run}");
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id, "the tag is not on v1\n{run}");
    assert!(!t.state_dir().join("journal.json").exists(), "the journal was left\n{run}");
    let listing = t.list(&[&s.pattern]);
    let entry = listing.get(&s.reference);
    assert_eq!(entry.status, "upgradable", "{:#}\n{run}", entry.raw);
    assert_eq!(entry.raw["skipped"], Value::Null, "an interruption was recorded as a skip\n{run}");
    assert!(
        run.stderr.contains(&format!("{web}: running, on the previous version")),
        "the run did not say where {web} stands\n{run}"
    );
}

fn check_upgrade_again(t: &TestEnv, s: &Setup, web: &str, v2: &Published) {
    // The next upgrade does it, and nothing of the interrupted run is in
    // its way (its plan retires v1, never v2).
    let plan = t.freshen().args(["upgrade", "-s", &s.pattern]).run();
    plan.expect_code(0);
    if let Some(retired) = plan.stdout.split("will be retired:").nth(1) {
        let short = &v2.id["sha256:".len().."sha256:".len() + 12];
        let block: String = retired.lines().skip(1).take_while(|l| l.starts_with("  ")).collect();
        assert!(!block.contains(short), "the plan retires the version it installs\n{plan}");
    }
    let again = t.freshen().args(["upgrade", "-y", "--wait", "20", &s.pattern]).run();
    again.expect_code(0);
    assert_eq!(containers::inspect(web)["Image"].as_str().unwrap(), v2.id, "\n{again}");
}

fn standalone(name: &str, step: &str, signals: &[i32], code: i32) {
    let t = TestEnv::new(name);
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1").health(Health::Healthy));
    let web = c.run("web", &["--restart", "always"], &s.reference);
    let old_id = containers::inspect(&web)["Id"].as_str().unwrap().to_string();
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Healthy));
    let run = interrupted(&t, &["upgrade", "-y", "--wait", "30", &s.pattern], step, signals);
    assert_eq!(run.code, code, "\n{run}");
    assert_put_back(&t, &c, &s, &web, &old_id, &run);
    // The old container has its restart policy back.
    assert_eq!(containers::inspect(&web)["HostConfig"]["RestartPolicy"]["Name"], "always", "\n{run}");
    check_upgrade_again(&t, &s, &web, &v2);
}

#[test]
fn sigint_after_the_pull_points_the_tag_back() {
    standalone("interrupt_pulled", "pulled", &[libc::SIGINT], 130);
}

#[test]
fn sigterm_after_the_old_container_stopped_brings_it_back() {
    standalone("interrupt_stopped", "stopped", &[libc::SIGTERM], 143);
}

#[test]
fn sigint_after_the_new_container_was_created_removes_it() {
    standalone("interrupt_created", "created", &[libc::SIGINT], 130);
}

#[test]
fn sighup_during_the_health_gate_puts_the_old_container_back() {
    standalone("interrupt_gating", "gating", &[libc::SIGHUP], 129);
}

/// A second Ctrl-C while freshen puts things back changes nothing.
#[test]
fn a_second_ctrl_c_does_not_make_it_worse() {
    standalone("interrupt_twice", "gating", &[libc::SIGINT, libc::SIGINT, libc::SIGTERM], 130);
}

/// After the new version passed: it stays, the old container is gone, and
/// only the retirement is left for later.
#[test]
fn sigterm_after_the_gate_passed_keeps_the_new_version() {
    let t = TestEnv::new("interrupt_retiring");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1").health(Health::Healthy));
    let web = c.run("web", &[], &s.reference);
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Healthy));
    let run = interrupted(&t, &["upgrade", "-y", "--wait", "30", &s.pattern], "retiring", &[libc::SIGTERM]);
    assert_eq!(run.code, 143, "\n{run}");
    assert_eq!(c.all(), vec![web.clone()], "\n{run}");
    assert_eq!(containers::state(&web).0, "running", "\n{run}");
    assert_eq!(containers::inspect(&web)["Image"].as_str().unwrap(), v2.id, "\n{run}");
    assert_eq!(docker::inspect(&s.reference).id, v2.id, "\n{run}");
    assert!(run.stderr.contains(&format!("{web}: running, on the new version")), "\n{run}");
    assert!(!t.state_dir().join("journal.json").exists(), "\n{run}");
    assert_eq!(t.list(&[&s.pattern]).get(&s.reference).status, "up-to-date");
    // v1 was not retired by the interrupted run; autoremove takes it.
    assert!(docker::exists(&s.v1.id), "v1 went although the run stopped before retiring\n{run}");
    t.freshen().args(["autoremove", "-y", &s.pattern]).run().expect_code(0);
    assert!(!docker::exists(&s.v1.id));
}

fn compose_project(t: &TestEnv, c: &mut Containers, reference: &str) -> (String, PathBuf, tempfile::TempDir) {
    c.compose_dir(
        t,
        &format!(
            "services:\n  web:\n    image: {reference}\n    restart: always\n    labels:\n      {TEST_LABEL}: {}\n",
            t.namespace()
        ),
    )
}

/// Through Compose: Ctrl-C right after Compose recreated the service and
/// during its gate. Compose is never cut short (it runs in a process group
/// of its own), the service is Compose's own on v1 again, and a later
/// `docker compose up -d` leaves it alone.
#[test]
fn ctrl_c_during_a_compose_recreation_puts_the_service_back() {
    for step in ["created", "gating"] {
        let t = TestEnv::new(&format!("interrupt_compose_{step}"));
        let mut c = Containers::new(&t);
        let s = Setup::v1(&t, &Runnable::new("v1").health(Health::Healthy));
        let (project, dir, _keep) = compose_project(&t, &mut c, &s.reference);
        compose_up(&dir, &project);
        let web = format!("{project}-web-1");
        let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Healthy));
        let run = interrupted(&t, &["upgrade", "-y", "--wait", "30", &s.pattern], step, &[libc::SIGINT]);
        assert_eq!(run.code, 130, "{step}\n{run}");
        assert_eq!(c.all(), vec![web.clone()], "{step}: containers\n{run}");
        assert_eq!(containers::state(&web).0, "running", "{step}\n{run}");
        assert_eq!(containers::inspect(&web)["Image"].as_str().unwrap(), s.v1.id, "{step}\n{run}");
        assert_eq!(docker::inspect(&s.reference).id, s.v1.id, "{step}\n{run}");
        assert!(!t.state_dir().join("journal.json").exists(), "{step}\n{run}");
        assert_eq!(t.list(&[&s.pattern]).get(&s.reference).status, "upgradable", "{step}");
        let id = containers::inspect(&web)["Id"].as_str().unwrap().to_string();
        compose_up(&dir, &project);
        assert_eq!(containers::inspect(&web)["Id"].as_str().unwrap(), id, "compose recreated it again");
        check_upgrade_again(&t, &s, &web, &v2);
    }
}

/// SIGKILL during the gate: nothing can be put back then. The parked old
/// container has no restart policy (a restarted daemon would otherwise
/// start it beside the new one), every command says what was left and
/// what the next upgrade will do, and that upgrade repairs first.
#[test]
fn sigkill_leaves_a_parked_container_that_cannot_come_back_and_is_reported() {
    let t = TestEnv::new("interrupt_sigkill");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1").health(Health::Healthy));
    let web = c.run("web", &["--restart", "always"], &s.reference);
    let old_id = containers::inspect(&web)["Id"].as_str().unwrap().to_string();
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Healthy));
    let run = interrupted(&t, &["upgrade", "-y", "--wait", "30", &s.pattern], "gating", &[libc::SIGKILL]);
    assert_eq!(run.code, -1, "killed\n{run}");
    let all = c.all();
    assert_eq!(all.len(), 2, "the old (parked) and the new container\n{run}");
    let parked = containers::inspect(&old_id);
    assert_eq!(parked["State"]["Running"], false);
    let engine = docker::engine();
    if engine.kind != docker::Kind::Podman {
        assert_eq!(parked["HostConfig"]["RestartPolicy"]["Name"], "no", "the parked container may come back");
    }
    // Every command says so, with what comes next.
    for args in [vec!["list"], vec!["motd"], vec!["metrics"], vec!["showhold"]] {
        let out = t.freshen().args(&args).run();
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(
            text.contains("was interrupted while recreating") && text.contains("'freshen upgrade'"),
            "freshen {args:?} did not report the interrupted recreation\n{out}"
        );
        if args == ["metrics"] {
            assert!(out.stdout.contains("freshen_interrupted_recreations 1"), "\n{out}");
        }
    }
    // The next upgrade repairs first, then upgrades.
    let again = t.freshen().args(["upgrade", "-y", "--wait", "20", &s.pattern]).run();
    again.expect_code(0);
    assert!(again.stderr.contains("interrupted"), "\n{again}");
    assert_eq!(c.all(), vec![web.clone()], "\n{again}");
    assert_eq!(containers::inspect(&web)["Image"].as_str().unwrap(), v2.id, "\n{again}");
    assert_eq!(containers::inspect(&web)["HostConfig"]["RestartPolicy"]["Name"], "always");
    let metrics = t.freshen().args(["metrics"]).run();
    assert!(metrics.stdout.contains("freshen_interrupted_recreations 0"), "\n{metrics}");
}

/// `freshen rollback` interrupted during its gate: the containers and the
/// tag stay on the current version.
#[test]
fn an_interrupted_rollback_stays_on_the_current_version() {
    let t = TestEnv::new("interrupt_rollback");
    let c = Containers::new(&t);
    let s = Setup::v1(&t, &Runnable::new("v1").health(Health::Healthy));
    let web = c.run("web", &[], &s.reference);
    let v2 = s.v2(&t, &Runnable::new("v2").health(Health::Healthy));
    t.freshen().args(["upgrade", "-y", "--keep", "1", "--wait", "20", &s.pattern]).run().expect_code(0);
    assert_eq!(containers::inspect(&web)["Image"].as_str().unwrap(), v2.id);
    let new_id = containers::inspect(&web)["Id"].as_str().unwrap().to_string();
    let run = interrupted(&t, &["rollback", "--wait", "30", &s.reference], "gating", &[libc::SIGINT]);
    assert_eq!(run.code, 130, "\n{run}");
    assert_eq!(c.all(), vec![web.clone()], "\n{run}");
    assert_eq!(containers::inspect(&web)["Id"].as_str().unwrap(), new_id, "\n{run}");
    assert_eq!(containers::state(&web).0, "running");
    assert_eq!(docker::inspect(&s.reference).id, v2.id, "the tag left v2\n{run}");
    // And a rollback that is let through still goes to v1.
    let done = t.freshen().args(["rollback", "--wait", "20", &s.reference]).run();
    done.expect_code(0);
    assert_eq!(containers::inspect(&web)["Image"].as_str().unwrap(), s.v1.id, "\n{done}");
}
