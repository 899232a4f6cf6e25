//! What must hold when things go wrong besides a signal (see interrupt.rs):
//! a version that failed its health gate is never a rollback target and
//! never counts toward `--keep`; a registry outage keeps what freshen knew;
//! an image pulled by digest is not retired as an "earlier version" on a
//! tie or without evidence. Real daemon, real registry.

#[allow(dead_code)]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use support::containers::{self, Behaviour, Containers, Health, Runnable};
use support::docker;
use support::registry::{self, Registry};
use support::TestEnv;

/// cache 1 → 2 upgraded (1 kept for rollback), then 2 → 3, which exits at
/// once and is rolled back. 3 is never a rollback target, never "kept for
/// rollback", and goes first; `rollback` goes to 1 (the last version that
/// ran healthily before 2), not to the broken 3.
#[test]
fn a_version_that_failed_its_gate_is_never_kept_or_rolled_back_to() {
    let t = TestEnv::new("failures_rollback_target");
    let c = Containers::new(&t);
    let reg = registry::shared();
    let reference = t.reference(reg.host(), "cache", "7");
    let pattern = t.pattern(reg.host());
    let v1 = t.publish_runnable(&reference, &Runnable::new("v1").health(Health::Healthy));
    let web = c.run("cache", &[], &reference);
    let publish = |version: &str, image: Runnable| {
        let _ = version;
        let p = t.publish_runnable_remote(reg, "cache", "7", &image);
        t.freshen().args(["update", &pattern]).run().expect_code(0);
        p
    };
    let v2 = publish("v2", Runnable::new("v2").health(Health::Healthy));
    let up = t.freshen().args(["upgrade", "-y", "--keep", "1", "--wait", "20", &pattern]).run();
    up.expect_code(0);
    assert_eq!(containers::inspect(&web)["Image"].as_str().unwrap(), v2.id, "\n{up}");
    let v3 = publish("v3", Runnable::new("v3").behaviour(Behaviour::Exit));
    let broken = t.freshen().args(["upgrade", "-y", "--keep", "1", "--wait", "10", &pattern]).run();
    broken.expect_code(1);
    assert_eq!(containers::inspect(&web)["Image"].as_str().unwrap(), v2.id, "not rolled back\n{broken}");
    assert!(docker::exists(&v3.id), "the broken version is still here to be retired\n{broken}");

    let plan = t.freshen().args(["autoremove", "-s", "--keep", "1", &pattern]).run();
    plan.expect_code(0);
    let short = |id: &str| id["sha256:".len().."sha256:".len() + 12].to_string();
    let retire_block = plan.stdout.split("will be retired").nth(1).unwrap_or_default().to_string();
    let retire_block: String =
        retire_block.lines().skip(1).take_while(|l| l.starts_with("  ")).collect::<Vec<_>>().join("\n");
    assert!(retire_block.contains(&short(&v3.id)), "the broken version is not retired\n{plan}");
    assert!(retire_block.contains("failed here"), "the reason is not given\n{plan}");
    assert!(!retire_block.contains(&short(&v1.id)), "the good version is retired\n{plan}");
    assert!(
        plan.stdout.lines().any(|l| l.contains(&short(&v1.id)) && l.contains("kept for rollback")),
        "v1 is not kept for rollback\n{plan}"
    );

    let back = t.freshen().args(["rollback", "--wait", "20", &reference]).run();
    back.expect_code(0);
    assert_eq!(containers::inspect(&web)["Image"].as_str().unwrap(), v1.id, "rolled back to\n{back}");
    assert_eq!(docker::inspect(&reference).id, v1.id);
}

/// With the registry down, an update keeps every earlier verdict: the
/// upgradable tag stays upgradable in `list`, `check` still exits 100, the
/// login message and Nagios still count it, and each says the check failed.
#[test]
fn a_registry_outage_keeps_what_freshen_knew() {
    let t = TestEnv::new("failures_outage");
    let reg = Registry::start();
    let outdated = t.reference(reg.host(), "web", "1");
    let current = t.reference(reg.host(), "db", "1");
    t.publish(&outdated, "v1");
    t.publish(&current, "v1");
    t.publish_remote(&reg, "web", "1", "v2");
    let pattern = t.pattern(reg.host());
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    assert_eq!(t.list(&[&pattern]).get(&outdated).status, "upgradable");
    reg.stop();

    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(1);
    assert!(run.stdout.contains("1 image can be upgraded"), "the outage hid the update\n{run}");
    assert!(run.stderr.contains("keep the verdicts of an earlier check"), "\n{run}");
    let listing = t.list(&[&pattern]);
    let web = listing.get(&outdated);
    assert_eq!(web.status, "upgradable", "{:#}", web.raw);
    assert!(web.raw["check_failed_at"].is_string(), "{:#}", web.raw);
    assert!(web.error.as_deref().is_some_and(|e| !e.is_empty()), "the failure is not said: {:#}", web.raw);
    assert_eq!(listing.get(&current).status, "up-to-date");
    let upgradable = t.freshen().args(["list", "--upgradable", &pattern]).run();
    assert!(upgradable.stdout.contains("web"), "\n{upgradable}");
    assert!(upgradable.stdout.contains("the last check failed"), "the table does not say so\n{upgradable}");

    let check = t.freshen().args(["check", &pattern]).run();
    assert_eq!(check.code, 100, "\n{check}");
    let motd = t.freshen().args(["motd", &pattern]).run();
    assert!(motd.stdout.contains("1 image update can be applied"), "\n{motd}");
    assert!(motd.stdout.contains("The last check of 2 images failed"), "\n{motd}");
    let nagios = t.freshen().args(["check", "--nagios", &pattern]).run();
    assert!(nagios.stdout.contains("can be upgraded") && nagios.stdout.contains("failed"), "\n{nagios}");
    let metrics = t.freshen().args(["metrics", &pattern]).run();
    metrics.expect_code(0);
    assert!(
        metrics.stdout.lines().any(|l| l.starts_with("freshen_images_upgradable") && l.ends_with(" 1")),
        "\n{metrics}"
    );
}

/// A docker-archive (as `docker save` writes it) of one layer holding
/// `content`, whose config says it was created at `created` (RFC 3339 with
/// a fraction), loaded as `reference`.
fn load_image(dir: &Path, reference: &str, created: &str, content: &str) {
    use ring::digest::{digest, SHA256};
    let work = dir.join(format!("archive-{}", hex(&digest(&SHA256, reference.as_bytes()).as_ref()[..6])));
    let rootfs = work.join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    std::fs::write(rootfs.join("content"), content).unwrap();
    let layer = work.join("layer.tar");
    let tar = |args: &[&str], cwd: &Path| {
        let out = Command::new("tar").args(args).current_dir(cwd).stdin(Stdio::null()).output().unwrap();
        assert!(out.status.success(), "tar {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    tar(&["--numeric-owner", "--mtime=@0", "-cf", layer.to_str().unwrap(), "content"], &rootfs);
    let layer_digest = hex(digest(&SHA256, &std::fs::read(&layer).unwrap()).as_ref());
    let (os, arch) =
        docker::host_platform().split_once('/').map(|(o, a)| (o.to_string(), a.to_string())).unwrap();
    let config = serde_json::json!({
        "architecture": arch,
        "os": os,
        "created": created,
        "config": {},
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{layer_digest}")] },
        "history": [{ "created": created, "created_by": "freshen test" }],
    })
    .to_string();
    let config_digest = hex(digest(&SHA256, config.as_bytes()).as_ref());
    let pack = work.join("pack");
    std::fs::create_dir_all(pack.join(&layer_digest)).unwrap();
    std::fs::copy(&layer, pack.join(&layer_digest).join("layer.tar")).unwrap();
    std::fs::write(pack.join(format!("{config_digest}.json")), &config).unwrap();
    let manifest = serde_json::json!([{
        "Config": format!("{config_digest}.json"),
        "RepoTags": [reference],
        "Layers": [format!("{layer_digest}/layer.tar")],
    }]);
    std::fs::write(pack.join("manifest.json"), manifest.to_string()).unwrap();
    let archive = work.join("image.tar");
    tar(
        &["-cf", archive.to_str().unwrap(), "manifest.json", &format!("{config_digest}.json"), &layer_digest],
        &pack,
    );
    docker::docker(&["load", "-i", archive.to_str().unwrap()]);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Two builds of one repository created within the same second: the tag
/// `app:1` on the older, the newer pulled by digest only. The newer is a
/// pin (listed, never retired as an earlier version); a build strictly
/// older than the tag, to the nanosecond, is an earlier version.
#[test]
fn a_digest_pin_created_in_the_same_second_is_not_an_earlier_version() {
    let t = TestEnv::new("failures_pin_tie");
    let reg = registry::shared();
    let dir = tempfile::tempdir().unwrap();
    let tagged = t.reference(reg.host(), "app", "1");
    let newer = t.reference(reg.host(), "app", "newer");
    let older = t.reference(reg.host(), "app", "older");
    load_image(dir.path(), &tagged, "2026-03-01T10:00:00.500000000Z", "tagged");
    load_image(dir.path(), &newer, "2026-03-01T10:00:00.900000000Z", "newer");
    load_image(dir.path(), &older, "2026-03-01T10:00:00.100000000Z", "older");
    docker::push(&tagged);
    let newer_digest = docker::push(&newer);
    let older_digest = docker::push(&older);
    docker::untag(&newer);
    docker::untag(&older);
    let repo = tagged.rsplit_once(':').unwrap().0.to_string();
    let pin = format!("{repo}@{newer_digest}");
    let old = format!("{repo}@{older_digest}");
    docker::pull(&pin);
    docker::pull(&old);
    let pattern = t.pattern(reg.host());

    let listing = t.list(&[&pattern]);
    let refs = listing.references();
    assert!(refs.iter().any(|r| r.contains(&newer_digest)), "the pin is not listed: {refs:?}");
    assert!(!refs.iter().any(|r| r.contains(&older_digest)), "an older build is listed as a pin: {refs:?}");

    let plan = t.freshen().args(["autoremove", "-s", &pattern]).run();
    plan.expect_code(0);
    assert!(!plan.stdout.contains(&newer_digest[7..19]), "the pin would be retired\n{plan}");
    assert!(plan.stdout.contains(&older_digest[7..19]), "the older build is not retired\n{plan}");
    t.freshen().args(["autoremove", "-y", &pattern]).run().expect_code(0);
    assert!(docker::exists(&pin), "the pin was removed");
    assert!(!docker::exists(&old), "the older build is still here");
}

/// Item 9 of issue 21: a stopped container created from `web:latest`,
/// where `web:1.4` is the same image, is named by the tag it was created
/// from after the upgrade moved both (the engine then lists it by image
/// ID, and the first upgraded tag of that image is not its tag).
#[test]
fn a_container_left_on_the_old_version_is_named_by_its_own_tag() {
    let t = TestEnv::new("failures_own_tag");
    let c = Containers::new(&t);
    let reg = registry::shared();
    let latest = t.reference(reg.host(), "web", "latest");
    let pinned = t.reference(reg.host(), "web", "1.4");
    let pattern = t.pattern(reg.host());
    t.publish_runnable(&latest, &Runnable::new("v1"));
    docker::tag(&latest, &pinned);
    docker::push(&pinned);
    let stopped = c.create("stopped", &[], &latest);
    let v2 = Runnable::new("v2");
    let published = t.publish_runnable_remote(reg, "web", "latest", &v2);
    reg.copy_tag(&t.repo("web"), "latest", "1.4");
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    let run = t.freshen().args(["upgrade", "-y", &pattern]).run();
    run.expect_code(0);
    assert_eq!(docker::inspect(&pinned).id, published.id, "both tags moved\n{run}");
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("These containers still run the previous version"))
        .unwrap_or_else(|| panic!("the stopped container is not named\n{run}"));
    assert!(line.contains(&format!("{stopped} ({latest}, stopped)")), "named by its own tag\n{run}");
    assert!(!line.contains(&pinned), "named by another tag of its image\n{run}");
}

/// Item 9 of issue 21: a rollback is recorded at the time it happened, in
/// the state (`list`'s `rolled_back.at`) and in the skip (`showskip`) alike,
/// not at the time the plan was made. The new version turns unhealthy only
/// after two failed checks, so the plan is seconds older than the old
/// container's restart, which comes before the record.
#[test]
fn a_rollback_is_recorded_at_the_time_it_happened() {
    let t = TestEnv::new("failures_rollback_time");
    let c = Containers::new(&t);
    let reg = registry::shared();
    let reference = t.reference(reg.host(), "dash", "1");
    let pattern = t.pattern(reg.host());
    t.publish_runnable(&reference, &Runnable::new("v1").health(Health::Healthy));
    let web = c.run("dash", &[], &reference);
    t.publish_runnable_remote(reg, "dash", "1", &Runnable::new("v2").health(Health::Unhealthy));
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    let run = t.freshen().args(["upgrade", "-y", "--wait", "60", &pattern]).run();
    run.expect_code(1);
    let parse = |text: &str| {
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
    };
    // The old container's restart: after the plan and the gate, before
    // the rollback is recorded (seconds are all either record keeps).
    let restarted = parse(containers::inspect(&web)["State"]["StartedAt"].as_str().unwrap());
    let restarted = restarted.replace_nanosecond(0).unwrap();
    let listing = t.list(&[&pattern]);
    let entry = listing.images.iter().find(|e| e.reference == reference).expect("listed");
    let at = entry.raw["rolled_back"]["at"].as_str().unwrap_or_else(|| panic!("no rolled_back.at\n{run}"));
    let in_state = parse(at);
    assert!(
        in_state >= restarted,
        "state: rolled back at {in_state}, before the restart at {restarted}\n{run}"
    );
    // The entry the rollback wrote (the tag upgradable again, on the old
    // image) carries the same time.
    let recorded = parse(entry.raw["checked_at"].as_str().expect("checked_at"));
    assert!(
        recorded >= restarted,
        "state: entry written at {recorded}, before the restart at {restarted}\n{run}"
    );
    let skips = t.freshen().arg("showskip").run();
    skips.expect_code(0);
    let line = skips.stdout.lines().find(|l| l.contains("failed, rolled back")).expect("showskip lists it");
    let shown = parse(line.rsplit(" on ").next().unwrap());
    assert!(shown >= restarted, "showskip: {shown}, before the restart at {restarted}\n{skips}");
    assert!((shown - in_state).abs() <= time::Duration::seconds(1), "{shown} vs {in_state}");
}
