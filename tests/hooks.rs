//! End-to-end tests of upgrade hooks on the real engine, registry and
//! Compose: a database-like container (its data in `VOLUME /data`) backed
//! up before its upgrade, checked after, and restored when the upgrade is
//! rolled back; each exit status in each phase; a hook an image's own
//! label tries to declare (ignored); a timeout; a SIGKILL during a hook,
//! repaired by the next run. Fixture images are `FROM scratch` with the
//! static test program and busybox as `/bin/sh`.

// The harness is shared by several test binaries; each uses part of it.
#[allow(dead_code)]
mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::containers::{self, Containers, Runnable, TEST_LABEL};
use support::docker;
use support::{registry, Published, Run, TestEnv};

/// The hook that saves the data before the upgrade, the one that restores
/// it after a rollback: what a `pg_dump`/`pg_restore` pair does, with `cp`.
const BACKUP: &str =
    "cp /data/db \"$FRESHEN_HOOK_DIR/db.bak\" && echo \"saved $(cat /data/db) for $FRESHEN_CONTAINER\"";
const RESTORE: &str = "cp \"$FRESHEN_HOOK_DIR/db.bak\" /data/db && echo restored";

/// One tag `NAME:1` whose v1 runs here and whose v2 the registry holds,
/// after `freshen update` saw it.
struct Setup {
    reference: String,
    pattern: String,
    v1: Published,
    v2: Option<Published>,
}

impl Setup {
    fn new(t: &TestEnv, name: &str) -> Setup {
        let reg = registry::shared();
        let reference = t.reference(reg.host(), name, "1");
        let v1 = t.publish_runnable(&reference, &db_image("v1"));
        Setup { reference, pattern: t.pattern(reg.host()), v1, v2: None }
    }

    /// Publishes v2 of the tag and runs `freshen update`.
    fn v2(&mut self, t: &TestEnv, name: &str, image: &Runnable) {
        self.v2 = Some(t.publish_runnable_remote(registry::shared(), name, "1", image));
        t.freshen().args(["update", &self.pattern]).run().expect_code(0);
    }

    fn upgrade(&self, t: &TestEnv) -> Run {
        t.freshen().args(["upgrade", "-y", "--wait", "1", "--format", "json", &self.reference]).run()
    }

    /// The image the tag points at now.
    fn tag_id(&self) -> String {
        docker::inspect(&self.reference).id
    }
}

/// A database-like fixture: it serves, keeps its data in `/data` and has a
/// shell for the hooks.
fn db_image(version: &str) -> Runnable {
    Runnable::new(version).volume().shell()
}

fn image_of(container: &str) -> String {
    containers::inspect(container)["Image"].as_str().unwrap().to_string()
}

fn id_of(container: &str) -> String {
    containers::inspect(container)["Id"].as_str().unwrap().to_string()
}

fn report(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not a JSON report ({e})\n{run}"))
}

/// The report's hooks as (phase, exit status, decision), in order.
fn hooks_of(report: &Value) -> Vec<(String, Option<i64>, String)> {
    report["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["phase"].as_str().unwrap().to_string(),
                h["exit_status"].as_i64(),
                h["decision"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn hook(phase: &str, code: Option<i64>, decision: &str) -> (String, Option<i64>, String) {
    (phase.to_string(), code, decision.to_string())
}

fn label(phase: &str, command: &str) -> String {
    format!("freshen.hook.{phase}={command}")
}

/// `docker run` of the tag as `suffix` with these labels, its data set.
fn run_db(c: &Containers, s: &Setup, suffix: &str, labels: &[String]) -> String {
    let mut args: Vec<&str> = Vec::new();
    for l in labels {
        args.push("--label");
        args.push(l);
    }
    let name = c.run(suffix, &args, &s.reference);
    c.put(&name, "/data/db", "v1 data\n");
    name
}

/// The host's hook directory of `version` for `container`.
fn hook_dir(t: &TestEnv, version: &str, container: &str) -> PathBuf {
    t.state_dir().join("hooks").join(version.trim_start_matches("sha256:")).join(container)
}

// ---------------------------------------------------------------------------

/// The whole story: the pre-upgrade hook saves the data, v2 comes up and
/// passes its gate, the post-upgrade hook "migrates" the data and then
/// fails its check, so the upgrade is rolled back: the container runs v1
/// again and the post-rollback hook puts back the data the pre-upgrade hook
/// saved. The report and the output say what each hook did.
#[test]
fn a_failed_post_upgrade_hook_rolls_back_code_and_data() {
    let t = TestEnv::new("hooks_rollback_data");
    let c = Containers::new(&t);
    let mut s = Setup::new(&t, "db");
    let db = run_db(
        &c,
        &s,
        "db",
        &[
            label("pre-upgrade", BACKUP),
            label("post-upgrade", "echo migrated > /data/db; echo 'check: schema 2 missing'; exit 2"),
            label("pre-rollback", "echo \"rolling back from $(cat /data/db)\""),
            label("post-rollback", RESTORE),
        ],
    );
    let old_id = id_of(&db);
    s.v2(&t, "db", &db_image("v2"));
    let plan = t.freshen().args(["upgrade", "--dry-run", &s.pattern]).run();
    plan.expect_code(0);
    assert!(plan.stdout.contains("These hooks will run:"), "{plan}");
    assert!(
        plan.stdout.contains("pre-upgrade (label, in the container, timeout 60s): cp /data/db"),
        "{plan}"
    );

    let run = s.upgrade(&t);
    assert_eq!(run.code, 1, "a rolled-back upgrade fails the run\n{run}");
    let r = report(&run);
    assert_eq!(
        hooks_of(&r),
        [
            hook("pre-upgrade", Some(0), "go-on"),
            hook("post-upgrade", Some(2), "roll-back"),
            hook("pre-rollback", Some(0), "go-on"),
            hook("post-rollback", Some(0), "go-on"),
        ],
        "{run}"
    );
    let hooks = r["hooks"].as_array().unwrap();
    assert_eq!(hooks[0]["output"], serde_json::json!([format!("saved v1 data for {db}")]));
    assert_eq!(hooks[1]["output"], serde_json::json!(["check: schema 2 missing"]));
    assert_eq!(hooks[2]["output"], serde_json::json!(["rolling back from migrated"]));
    assert_eq!(hooks[0]["runs_in"], "container");
    assert_eq!(r["rolled_back"][0]["name"], db.as_str());
    let reason = r["rolled_back"][0]["reason"].as_str().unwrap();
    assert_eq!(reason, format!("{db}: the post-upgrade hook exited 2"));
    assert!(run.stderr.contains(&format!("{db}| check: schema 2 missing")), "{run}");

    // Code and data are back together.
    assert_eq!(id_of(&db), old_id, "the old container runs again");
    assert_eq!(image_of(&db), s.v1.id);
    assert_eq!(s.tag_id(), s.v1.id);
    assert_eq!(c.get(&db, "/data/db"), "v1 data\n", "the post-rollback hook restored the data");
    // The backup stays with the rollback point, on the host, owner-only.
    let saved = hook_dir(&t, &s.v1.id, &db).join("db.bak");
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), "v1 data\n");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(saved.parent().unwrap()).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the hook directory is owner-only: {mode:o}");
    // Like a failed gate, the version is skipped from now on.
    let again = s.upgrade(&t);
    again.expect_code(0);
    assert!(report(&again)["hooks"].as_array().unwrap().is_empty(), "{again}");
}

/// A label the image carries is not the user's: the image's
/// `freshen.hook.pre-upgrade` (which would stop the upgrade) and
/// `freshen.hook.post-upgrade` (which would write a file) never run. A
/// user's own value for the same key does.
#[test]
fn an_image_label_never_declares_a_hook() {
    let t = TestEnv::new("hooks_image_label");
    let c = Containers::new(&t);
    let reg = registry::shared();
    let reference = t.reference(reg.host(), "evil", "1");
    let evil = |v: &str| {
        db_image(v)
            .label("freshen.hook.pre-upgrade", "exit 1")
            .label("freshen.hook.post-upgrade", "echo owned > /data/owned")
    };
    let v1 = t.publish_runnable(&reference, &evil("v1"));
    let name = c.run("app", &[], &reference);
    // Theirs runs as a user other than root: the hook directory is theirs
    // to write all the same.
    let mine = "freshen.hook.post-upgrade=echo mine > $FRESHEN_HOOK_DIR/mine && cat $FRESHEN_HOOK_DIR/mine";
    let theirs = c.run("theirs", &["--user", "1000", "--label", mine], &reference);
    assert_eq!(
        containers::inspect(&name)["Config"]["Labels"]["freshen.hook.pre-upgrade"],
        "exit 1",
        "the container shows the image's label"
    );
    let v2 = t.publish_runnable_remote(reg, "evil", "1", &evil("v2"));
    let pattern = t.pattern(reg.host());
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    let run =
        t.freshen().args(["upgrade", "-y", "--keep", "1", "--wait", "1", "--format", "json", &pattern]).run();
    run.expect_code(0);
    assert_eq!(image_of(&name), v2.id, "upgraded: the image's exit-1 hook did not stop it\n{run}");
    assert_ne!(v1.id, v2.id);
    assert!(!has_file(&name, "/data/owned") && !has_file(&theirs, "/data/owned"), "the image's hook ran");
    let r = report(&run);
    let ran: Vec<&str> =
        r["hooks"].as_array().unwrap().iter().map(|h| h["container"].as_str().unwrap()).collect();
    assert_eq!(ran, [theirs.as_str()], "{run}");
    assert_eq!(r["hooks"][0]["output"], serde_json::json!(["mine"]), "{run}");
    let kept = hook_dir(&t, &v1.id, &theirs).join("mine");
    assert_eq!(std::fs::read_to_string(kept).unwrap_or_default(), "mine\n", "copied back to the host");
}

/// Before the upgrade, 75 defers the tag: nothing changed, reported and
/// listed as deferred, retried and done by the next upgrade once the hook
/// agrees.
#[test]
fn a_pre_upgrade_hook_that_exits_75_defers_the_upgrade() {
    let t = TestEnv::new("hooks_pre_upgrade");
    let c = Containers::new(&t);
    let mut s = Setup::new(&t, "db");
    let db = run_db(&c, &s, "db", &[label("pre-upgrade", "test -f /data/ready || { echo busy; exit 75; }")]);
    let old_id = id_of(&db);
    s.v2(&t, "db", &db_image("v2"));
    // A notification target that keeps what it is sent.
    std::fs::create_dir_all(t.state_dir()).unwrap();
    let sent = t.state_dir().join("sent.json");
    let config = t.state_dir().join("config.toml");
    std::fs::write(
        &config,
        format!("[[notify]]\nkind = \"exec\"\ncommand = [\"sh\", \"-c\", \"cat > {}\"]\n", sent.display()),
    )
    .unwrap();

    let run = t
        .freshen()
        .args(["--config", config.to_str().unwrap(), "upgrade", "-y", "--wait", "1", "--format", "json"])
        .arg(&s.pattern)
        .run();
    run.expect_code(0);
    let r = report(&run);
    assert_eq!(hooks_of(&r), [hook("pre-upgrade", Some(75), "defer")], "{run}");
    let notice: Value = serde_json::from_str(&std::fs::read_to_string(&sent).unwrap()).unwrap();
    assert_eq!(notice["event"], "deferred");
    assert_eq!(notice["deferred"][0]["reference"], s.reference.as_str());
    assert!(notice["deferred"][0]["reason"].as_str().unwrap().contains("exited 75"), "{notice}");
    assert_eq!(r["deferred"][0]["reference"], s.reference.as_str(), "{run}");
    assert!(r["deferred"][0]["reason"].as_str().unwrap().contains("exited 75 (defer)"), "{run}");
    assert_eq!(id_of(&db), old_id, "nothing changed");
    assert_eq!(s.tag_id(), s.v1.id, "the tag still points at v1");
    assert_eq!(t.list(&[&s.pattern]).get(&s.reference).status, "upgradable");
    assert!(!Path::new(&t.state_dir().join("journal.json")).exists());
    // Shown as deferred by `list`, in each format, until the next upgrade.
    let json = t.freshen().args(["list", "--format", "json", &s.pattern]).run();
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    let deferred = doc["images"][0]["deferred"].as_str().unwrap_or_default();
    assert!(deferred.starts_with("deferred by a hook (") && deferred.contains("exited 75"), "{json}");
    let table = t.freshen().args(["list", &s.pattern]).run();
    assert!(table.stdout.contains("upgradable (deferred by a hook)"), "{table}");
    // The fleet's counter of upgrade results counts it as deferred.
    let metrics = t.freshen().arg("metrics").run();
    let deferred_count = metrics
        .stdout
        .lines()
        .find(|l| l.starts_with("freshen_upgrades_total{") && l.contains("result=\"deferred\""))
        .unwrap_or_else(|| panic!("no deferred counter\n{metrics}"))
        .to_string();
    assert!(deferred_count.ends_with(" 1"), "{deferred_count}");

    // Retried next time: now the hook agrees.
    c.put(&db, "/data/ready", "yes\n");
    let run = s.upgrade(&t);
    run.expect_code(0);
    assert_eq!(hooks_of(&report(&run)), [hook("pre-upgrade", Some(0), "go-on")], "{run}");
    assert_eq!(image_of(&db), s.v2.as_ref().unwrap().id);
    assert_eq!(c.get(&db, "/data/db"), "v1 data\n", "the data volume followed");
    let json = t.freshen().args(["list", "--format", "json", &s.pattern]).run();
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["images"][0]["deferred"], Value::Null, "{json}");
    // v1 was retired with the upgrade: its hook directory went with it.
    assert!(!docker::exists(&s.v1.id), "v1 was retired");
    assert!(!hook_dir(&t, &s.v1.id, &db).exists(), "the hook directory of a retired version stays");
}

/// Before the upgrade, any status but 0 and 75 stops the tag: not
/// upgraded, a failure, nothing changed.
#[test]
fn a_failing_pre_upgrade_hook_stops_the_upgrade() {
    let t = TestEnv::new("hooks_pre_upgrade_fails");
    let c = Containers::new(&t);
    let mut s2 = Setup::new(&t, "other");
    let other = run_db(&c, &s2, "other", &[label("pre-upgrade", "echo disk full >&2; exit 3")]);
    let other_id = id_of(&other);
    s2.v2(&t, "other", &db_image("v2b"));
    let run = s2.upgrade(&t);
    assert_eq!(run.code, 1, "{run}");
    let r = report(&run);
    assert_eq!(hooks_of(&r), [hook("pre-upgrade", Some(3), "abort")], "{run}");
    assert_eq!(r["hooks"][0]["output"], serde_json::json!(["disk full"]));
    assert_eq!(r["failed"][0]["reference"], s2.reference.as_str());
    assert_eq!(id_of(&other), other_id);
    assert_eq!(s2.tag_id(), s2.v1.id);
    assert_eq!(t.list(&[&s2.pattern]).get(&s2.reference).status, "upgradable");
}

/// A pre-upgrade hook that outlives its timeout has failed: the tag stops
/// as above.
#[test]
fn a_pre_upgrade_hook_that_times_out_stops_the_upgrade() {
    let t = TestEnv::new("hooks_pre_upgrade_slow");
    let c = Containers::new(&t);
    let mut s3 = Setup::new(&t, "slow");
    let slow = run_db(&c, &s3, "slow", &[label("pre-upgrade", "sleep 30"), "freshen.hook.timeout=1".into()]);
    let slow_id = id_of(&slow);
    s3.v2(&t, "slow", &db_image("v2c"));
    let run = s3.upgrade(&t);
    assert_eq!(run.code, 1, "{run}");
    let r = report(&run);
    assert_eq!(hooks_of(&r), [hook("pre-upgrade", None, "abort")], "{run}");
    assert_eq!(r["hooks"][0]["result"], "timed out");
    assert_eq!(id_of(&slow), slow_id);
    assert_eq!(s3.tag_id(), s3.v1.id);
}

/// A hook that outlives its timeout has failed: after the upgrade that
/// rolls it back. Before an automatic rollback a failing hook (75 too) is
/// reported and the rollback goes on; after it, the same.
#[test]
fn a_post_upgrade_hook_that_times_out_rolls_back() {
    let t = TestEnv::new("hooks_timeout");
    let c = Containers::new(&t);
    let mut s = Setup::new(&t, "db");
    let db = run_db(
        &c,
        &s,
        "db",
        &[
            label("post-upgrade", "sleep 30"),
            "freshen.hook.post-upgrade.timeout=2".to_string(),
            label("pre-rollback", "exit 75"),
            label("post-rollback", "exit 4"),
        ],
    );
    let old_id = id_of(&db);
    s.v2(&t, "db", &db_image("v2"));
    let begun = Instant::now();
    let run = s.upgrade(&t);
    assert_eq!(run.code, 1, "{run}");
    assert!(begun.elapsed() < Duration::from_secs(25), "the hook was waited for: {:?}", begun.elapsed());
    let r = report(&run);
    assert_eq!(
        hooks_of(&r),
        [
            hook("post-upgrade", None, "roll-back"),
            hook("pre-rollback", Some(75), "report"),
            hook("post-rollback", Some(4), "report"),
        ],
        "{run}"
    );
    assert_eq!(r["hooks"][0]["result"], "timed out");
    assert!(run.stderr.contains(&format!("{db}: the post-rollback hook exited 4")), "{run}");
    assert_eq!(id_of(&db), old_id);
    assert_eq!(image_of(&db), s.v1.id);
}

/// `freshen rollback` runs the rollback hooks: a pre-rollback hook that
/// says 75 keeps everything as it is (the tag too); once it agrees, the
/// containers go back and the post-rollback hook restores what the
/// pre-upgrade hook saved when the version was left. With a config-file
/// hook on the host, which gets the directory as a path.
#[test]
fn freshen_rollback_restores_what_the_pre_upgrade_hook_saved() {
    let t = TestEnv::new("hooks_freshen_rollback");
    let c = Containers::new(&t);
    let mut s = Setup::new(&t, "db");
    let db = run_db(
        &c,
        &s,
        "db",
        &[
            label("pre-upgrade", BACKUP),
            label("pre-rollback", "test -f /data/allow || { test -f /data/deny && exit 5; exit 75; }"),
            label("post-rollback", RESTORE),
        ],
    );
    s.v2(&t, "db", &db_image("v2"));
    // A host hook from the config file for the phase the labels leave open.
    let marker = t.state_dir().join("post-upgrade-ran");
    let config = t.state_dir().join("config.toml");
    std::fs::create_dir_all(t.state_dir()).unwrap();
    std::fs::write(
        &config,
        format!(
            "host_hooks = true\n[images.\"{}\"]\nhooks_on = \"host\"\npost_upgrade = \"echo $FRESHEN_CONTAINER \
             $FRESHEN_HOOK > {} && ls $FRESHEN_HOOK_DIR; env | grep -q s3cret && echo leaked; true\"\n",
            s.pattern,
            marker.display()
        ),
    )
    .unwrap();
    let run = t
        .freshen()
        .args(["--config", config.to_str().unwrap(), "upgrade", "-y", "--keep", "1", "--wait", "1"])
        // freshen's own environment never reaches a host hook.
        .env("DB_PASSWORD", "s3cret")
        .args(["--format", "json", &s.pattern])
        .run();
    run.expect_code(0);
    let r = report(&run);
    assert_eq!(
        hooks_of(&r),
        [hook("pre-upgrade", Some(0), "go-on"), hook("post-upgrade", Some(0), "go-on")],
        "{run}"
    );
    assert_eq!(r["hooks"][1]["runs_in"], "host");
    assert_eq!(
        r["hooks"][1]["output"],
        serde_json::json!(["db.bak"]),
        "the host hook sees the backup, and none of freshen's environment"
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), format!("{db} post-upgrade\n"));
    let v2 = s.v2.as_ref().unwrap().id.clone();
    assert_eq!(image_of(&db), v2);
    c.put(&db, "/data/db", "v2 data\n");

    let held = t.freshen().args(["rollback", "--wait", "1", &s.reference]).run();
    assert_eq!(held.code, 1, "{held}");
    assert!(held.stdout.contains("was not rolled back: deferred by a hook"), "{held}");
    c.put(&db, "/data/deny", "1\n");
    let stopped = t.freshen().args(["rollback", "--wait", "1", &s.reference]).run();
    assert_eq!(stopped.code, 1, "{stopped}");
    assert!(stopped.stdout.contains("was not rolled back: stopped by a hook"), "{stopped}");
    assert!(stopped.stderr.contains("the pre-rollback hook exited 5"), "{stopped}");
    assert_eq!(s.tag_id(), v2, "the tag stays");
    assert_eq!(image_of(&db), v2);

    c.put(&db, "/data/allow", "1\n");
    let back = t.freshen().args(["rollback", "--wait", "1", &s.reference]).run();
    back.expect_code(0);
    assert_eq!(image_of(&db), s.v1.id, "{back}");
    assert_eq!(s.tag_id(), s.v1.id);
    assert_eq!(c.get(&db, "/data/db"), "v1 data\n", "restored\n{back}");
    assert!(back.stderr.contains(&format!("{db}: the post-rollback hook exited 0")), "{back}");
}

/// Runs `freshen ARGS`, waits until `ready` holds, then SIGKILLs it.
fn killed_when(t: &TestEnv, args: &[&str], ready: impl Fn() -> bool) -> String {
    let mut command = t.freshen().args(args).command();
    let mut child = command.spawn().expect("start freshen");
    let begun = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("freshen ended ({status}) before the hook started:\n{err}");
        }
        assert!(begun.elapsed() < Duration::from_secs(120), "the hook never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    err
}

/// Whether `path` is a file in the container (busybox's `test`: the image
/// has no other program on its PATH).
fn has_file(container: &str, path: &str) -> bool {
    Command::new("docker")
        .args(["exec", container, "sh", "-c", &format!("test -f {path}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// SIGKILL in the middle of a hook: the next run repairs it like any other
/// interrupted step. During the pre-upgrade hook nothing was stopped: the
/// tag goes back to v1 and the container is the same. During the
/// post-upgrade hook the new version's verdict is unknown: the old
/// container comes back.
#[test]
fn sigkill_during_a_hook_is_repaired_by_the_next_run() {
    let t = TestEnv::new("hooks_sigkill");
    let c = Containers::new(&t);
    let mut s = Setup::new(&t, "db");
    let db = run_db(
        &c,
        &s,
        "db",
        &[
            label("pre-upgrade", "test -f /data/pre-done || { touch /data/pre; sleep 60; }"),
            label("post-upgrade", "touch /data/post; sleep 60"),
        ],
    );
    let old_id = id_of(&db);
    s.v2(&t, "db", &db_image("v2"));
    let upgrade = ["upgrade", "-y", "--wait", "1", s.pattern.as_str()];

    killed_when(&t, &upgrade, || has_file(&db, "/data/pre"));
    let listed = t.freshen().args(["list", &s.pattern]).run();
    assert!(listed.stderr.contains("its pre-upgrade hook was running"), "{listed}");
    let repair = t.freshen().args(["update", &s.pattern]).run();
    repair.expect_code(0);
    assert!(repair.stderr.contains("runs the previous version of"), "{repair}");
    assert_eq!(id_of(&db), old_id, "the same container, never stopped");
    assert_eq!(s.tag_id(), s.v1.id, "the tag is back on v1");
    assert!(!t.state_dir().join("journal.json").exists());
    assert_eq!(t.list(&[&s.pattern]).get(&s.reference).status, "upgradable");

    // Now past the pre-upgrade hook, killed in the post-upgrade one.
    c.put(&db, "/data/pre-done", "1\n");
    let new_started = || {
        containers::try_inspect(&db).is_some_and(|v| v["Id"].as_str() != Some(old_id.as_str()))
            && has_file(&db, "/data/post")
    };
    killed_when(&t, &upgrade, new_started);
    let repair = t.freshen().args(["update", &s.pattern]).run();
    repair.expect_code(0);
    assert_eq!(id_of(&db), old_id, "the old container is back\n{repair}");
    assert_eq!(containers::state(&db).0, "running");
    assert_eq!(image_of(&db), s.v1.id);
    assert_eq!(s.tag_id(), s.v1.id);
    assert_eq!(c.all(), vec![db.clone()], "nothing parked is left");
}

/// Compose-native recreation: hooks declared in the Compose file run the
/// same way, with the project and service in their environment, and a
/// failed post-upgrade hook brings the service back on v1 with its data.
#[test]
fn compose_services_run_their_hooks_and_roll_back_with_their_data() {
    let t = TestEnv::new("hooks_compose");
    let mut c = Containers::new(&t);
    let mut s = Setup::new(&t, "db");
    let project = t.namespace().replace('-', "_");
    let dir = tempfile::Builder::new().prefix("freshen-test-compose-").tempdir().unwrap();
    let yaml = format!(
        "services:\n  db:\n    image: {}\n    labels:\n      {TEST_LABEL}: {}\n      \
         freshen.hook.pre-upgrade: 'cp /data/db $$FRESHEN_HOOK_DIR/db.bak && echo \
         $$FRESHEN_COMPOSE_PROJECT/$$FRESHEN_COMPOSE_SERVICE'\n      \
         freshen.hook.post-upgrade: 'echo broken > /data/db; exit 75'\n      \
         freshen.hook.post-rollback: 'cp $$FRESHEN_HOOK_DIR/db.bak /data/db'\n",
        s.reference,
        t.namespace()
    );
    std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
    c.compose_project(&project, dir.path().to_path_buf());
    let out = Command::new("docker")
        .args(["compose", "-p", &project, "--project-directory"])
        .arg(dir.path())
        .args(["up", "-d"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "docker compose up: {}", String::from_utf8_lossy(&out.stderr));
    let db = format!("{project}-db-1");
    c.put(&db, "/data/db", "v1 data\n");
    s.v2(&t, "db", &db_image("v2"));
    let run = s.upgrade(&t);
    assert_eq!(run.code, 1, "{run}");
    let r = report(&run);
    assert_eq!(
        hooks_of(&r),
        [
            hook("pre-upgrade", Some(0), "go-on"),
            // 75 after the upgrade defers nothing: the new version goes back.
            hook("post-upgrade", Some(75), "roll-back"),
            hook("post-rollback", Some(0), "go-on"),
        ],
        "{run}"
    );
    assert_eq!(r["hooks"][0]["output"], serde_json::json!([format!("{project}/db")]));
    assert_eq!(r["recreated"].as_array().unwrap().len(), 0);
    assert_eq!(image_of(&db), s.v1.id, "{run}");
    assert_eq!(c.get(&db, "/data/db"), "v1 data\n", "{run}");
}
