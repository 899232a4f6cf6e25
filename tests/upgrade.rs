//! End-to-end tests of the commands that change the host — `upgrade`,
//! `autoremove`, `hold`/`unhold`/`showhold` and `rollback` — against the
//! real Docker daemon and a real registry on loopback.
//!
//! Each test works in its own namespace and passes its pattern to every
//! freshen command: the daemon is shared, and `autoremove` without a
//! pattern would look at everyone's images.

// The harness is shared by several test binaries; each uses part of it.
#[allow(dead_code)]
mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use support::docker;
use support::{http, registry, Published, Registry, Run, TestEnv};

/// Builds an image from `files` (one `COPY` layer each, in order) under a
/// scratch tag, pushes it, points `name:tag` in the registry at it and
/// deletes the local copy: the registry then holds a version this host has
/// never seen.
fn publish_files(t: &TestEnv, reg: &Registry, name: &str, tag: &str, files: &[(&str, Vec<u8>)]) -> Published {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let scratch_tag =
        format!("build-{}-{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    let scratch = t.reference(reg.host(), name, &scratch_tag);
    let context = tempfile::tempdir().unwrap();
    let mut dockerfile = String::from("FROM scratch\n");
    for (file, content) in files {
        let path = context.path().join(file);
        std::fs::write(&path, content).unwrap();
        // COPY keeps the mode and the mtime: a fixed mtime makes equal
        // content give an equal (shared) layer across builds.
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000)).unwrap();
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        dockerfile.push_str(&format!("COPY {file} /{file}\n"));
    }
    if files.iter().any(|(f, _)| *f == "pause") {
        dockerfile.push_str("CMD [\"/pause\"]\n");
    }
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    let out = Command::new("docker")
        // No cache: probing it races with images other tests delete meanwhile.
        .args(["build", "-q", "--no-cache", "-t", &scratch, context.path().to_str().unwrap()])
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "docker build: {}", String::from_utf8_lossy(&out.stderr));
    let id = docker::inspect(&scratch).id;
    docker::push(&scratch);
    let digest = reg.copy_tag(&t.repo(name), &scratch_tag, tag);
    docker::untag(&scratch);
    assert!(!docker::exists(&id), "the build of {scratch} is still on the host");
    Published { id, digest }
}

/// Bytes that do not compress, so layer sizes are what they seem.
fn noise(seed: &str, len: usize) -> Vec<u8> {
    let mut state: u64 =
        seed.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A static binary that sleeps until signalled: lets a container from a
/// `FROM scratch` image run.
fn pause_binary() -> Vec<u8> {
    static BIN: OnceLock<Vec<u8>> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("pause.c");
        std::fs::write(&src, "#include <unistd.h>\nint main(void) { for (;;) pause(); }\n").unwrap();
        let bin = dir.path().join("pause");
        let out = Command::new("cc").args(["-static", "-O2", "-o"]).arg(&bin).arg(&src).output().unwrap();
        assert!(out.status.success(), "cc -static: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::read(&bin).unwrap()
    })
    .clone()
}

/// One upgradable tag: v1 pulled from the registry, v2 pushed since, and
/// `freshen update` has seen it.
struct Scenario {
    reference: String,
    familiar: String,
    pattern: String,
    v1: Published,
    v2: Published,
}

fn scenario(t: &TestEnv, files_v1: &[(&str, Vec<u8>)], files_v2: &[(&str, Vec<u8>)]) -> Scenario {
    let reg = registry::shared();
    let reference = t.reference(reg.host(), "app", "1");
    let v1 = publish_files(t, reg, "app", "1", files_v1);
    docker::pull(&reference);
    assert_eq!(docker::inspect(&reference).id, v1.id);
    let v2 = publish_files(t, reg, "app", "1", files_v2);
    let pattern = t.pattern(reg.host());
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    assert_eq!(t.list(&[&pattern]).get(&reference).status, "upgradable");
    Scenario { familiar: reference.clone(), reference, pattern, v1, v2 }
}

fn simple(t: &TestEnv) -> Scenario {
    let ns = t.namespace().to_string();
    scenario(
        t,
        &[("payload", format!("v1 {ns}").into_bytes())],
        &[("payload", format!("v2 {ns}").into_bytes())],
    )
}

fn short(id: &str) -> &str {
    &id.strip_prefix("sha256:").unwrap_or(id)[..12]
}

fn state_json(t: &TestEnv) -> Value {
    serde_json::from_slice(&std::fs::read(t.state_dir().join("state.json")).unwrap()).unwrap()
}

/// Containers removed at the end of a test, whatever happens.
struct Containers(Vec<String>);

impl Drop for Containers {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(self.0.iter().map(String::as_str));
            let _ = docker::docker_ok(&args);
        }
    }
}

fn assert_stdout(run: &Run, expected: &[String]) {
    let got: Vec<&str> = run.stdout_lines();
    assert_eq!(got, expected.iter().map(String::as_str).collect::<Vec<_>>(), "\n{run}");
}

// ---------------------------------------------------------------------------

/// `--format json` lists what was retired: the report and the `Retired …`
/// lines on stderr tell the same story, for `upgrade` and for `autoremove`.
#[test]
fn json_reports_list_the_retired_images() {
    let t = TestEnv::new("json_reports_list_the_retired");
    let s = simple(&t);
    let run = t.freshen().args(["upgrade", "-y", "--format", "json", &s.pattern]).run();
    run.expect_code(0);
    assert!(run.stderr.contains(&format!("Retired {}", s.familiar)), "\n{run}");
    assert!(!docker::exists(&s.v1.id), "v1 was not retired\n{run}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"));
    let retired = report["retired"].as_array().unwrap();
    assert_eq!(retired.len(), 1, "{report:#}");
    assert_eq!(retired[0]["image_id"], s.v1.id.as_str(), "{report:#}");
    assert_eq!(retired[0]["name"], format!("{} ({})", s.familiar, short(&s.v1.id)), "{report:#}");

    // The same through autoremove, for a version an upgrade kept.
    let v3 = publish_files(
        &t,
        registry::shared(),
        "app",
        "1",
        &[("payload", format!("v3 {}", t.namespace()).into_bytes())],
    );
    t.freshen().args(["update", &s.pattern]).run().expect_code(0);
    t.freshen().args(["upgrade", "-y", "--keep-previous", &s.pattern]).run().expect_code(0);
    assert_eq!(docker::inspect(&s.reference).id, v3.id);
    assert!(docker::exists(&s.v2.id));
    let run = t.freshen().args(["autoremove", "-y", "--format", "json", &s.pattern]).run();
    run.expect_code(0);
    assert!(!docker::exists(&s.v2.id), "v2 was not retired\n{run}");
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"));
    let retired = report["retired"].as_array().unwrap();
    assert_eq!(retired.len(), 1, "{report:#}");
    assert_eq!(retired[0]["image_id"], s.v2.id.as_str(), "{report:#}");
}

/// The plan, the prompt without a terminal, the dry run, then the real
/// upgrade: the tag moves to exactly the checked digest and v1 is retired.
#[test]
fn upgrade_moves_the_tag_and_retires_the_previous_version() {
    let t = TestEnv::new("upgrade_moves_the_tag");
    let s = simple(&t);
    let plan = vec![
        "The following images will be upgraded:".to_string(),
        format!("  {} ({} => sha256:{})", s.familiar, short(&s.v1.id), short(&s.v2.digest)),
        "The following images will be retired:".to_string(),
        format!("  {} ({})", s.familiar, short(&s.v1.id)),
        "1 upgraded, 1 to retire, 0 kept back.".to_string(),
    ];

    let dry = t.freshen().args(["upgrade", "-s", &s.pattern]).run();
    dry.expect_code(0);
    assert_stdout(&dry, &plan);
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id, "a dry run changed the tag");

    // No terminal and nothing on standard input: no answer, so stop and say how to go ahead.
    let no_tty = t.freshen().args(["upgrade", &s.pattern]).run();
    no_tty.expect_code(1);
    let prompt = "Do you want to continue? [Y/n]";
    assert_stdout(&no_tty, &[plan.clone(), vec![format!("{prompt} ")]].concat());
    assert_eq!(
        no_tty.stderr.trim(),
        "freshen: there is no terminal to ask whether to upgrade these images and standard input gave \
         no answer: run again with --yes (or with the answer on standard input) to go ahead, or \
         --dry-run to only see the plan"
    );
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id);
    // Like apt-get, a piped answer is read: `echo n | freshen upgrade` aborts…
    let no = t.freshen().stdin("n\n").args(["upgrade", &s.pattern]).run();
    no.expect_code(1);
    assert_stdout(&no, &[plan.clone(), vec![format!("{prompt} n"), "Abort.".to_string()]].concat());
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id);

    // …and `echo y | freshen upgrade` goes ahead.
    let run = t.freshen().stdin("y\n").args(["upgrade", &s.pattern]).run();
    run.expect_code(0);
    assert_eq!(run.stdout_lines()[plan.len()], format!("{prompt} y"), "\n{run}");
    assert_eq!(run.last_line(), "1 upgraded, 1 retired, 0 kept back.", "\n{run}");
    // No terminal: a plain line per pull instead of a bar.
    let progress: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(progress.len(), 3, "\n{run}");
    assert_eq!(progress[0], format!("Pulling {} ({})…", s.familiar, short(&s.v2.digest)));
    assert!(progress[1].starts_with(&format!("Pulled {} (", s.familiar)), "\n{run}");
    assert_eq!(progress[2], format!("Retired {} ({})", s.familiar, short(&s.v1.id)));
    let now = docker::inspect(&s.reference);
    assert_eq!(now.id, s.v2.id);
    assert!(now.repo_digests.iter().any(|d| d.ends_with(&s.v2.digest)), "{now:?}");
    assert!(!docker::exists(&s.v1.id), "v1 was not retired\n{run}");
    let listing = t.list(&[&s.pattern]);
    assert_eq!(listing.get(&s.reference).status, "up-to-date");
    assert_eq!(listing.get(&s.reference).local_digest.as_deref(), Some(s.v2.digest.as_str()));
    assert_eq!(state_json(&t)["superseded"], Value::Array(vec![]));

    // Nothing left to do.
    let again = t.freshen().args(["upgrade", "-y", &s.pattern]).run();
    again.expect_code(0);
    assert_stdout(&again, &["0 upgraded, 0 to retire, 0 kept back.".to_string()]);
}

/// A version that containers use is kept, and the containers are named,
/// with the Compose project to recreate. Once they are gone, autoremove
/// retires it.
#[test]
fn containers_keep_the_previous_version_and_are_listed() {
    let t = TestEnv::new("containers_keep_previous");
    let ns = t.namespace().to_string();
    let s = scenario(
        &t,
        &[("pause", pause_binary()), ("payload", format!("v1 {ns}").into_bytes())],
        &[("pause", pause_binary()), ("payload", format!("v2 {ns}").into_bytes())],
    );
    let web = format!("{ns}-web");
    let old = format!("{ns}-old");
    let mut guard = Containers(vec![]);
    docker::docker(&[
        "run",
        "-d",
        "--name",
        &web,
        "--label",
        "com.docker.compose.project=shop",
        "--label",
        "com.docker.compose.project.working_dir=/srv/shop",
        &s.reference,
    ]);
    guard.0.push(web.clone());
    docker::docker(&["create", "--name", &old, &s.reference]);
    guard.0.push(old.clone());

    // --no-recreate: the upgrade of before, pull and retag (recreation is
    // tests/recreate.rs's subject).
    let dry = t.freshen().args(["upgrade", "-s", "--no-recreate", &s.pattern]).run();
    dry.expect_code(0);
    assert_eq!(dry.last_line(), "1 upgraded, 0 to retire, 0 kept back.", "\n{dry}");

    let run = t.freshen().args(["upgrade", "-y", "--no-recreate", &s.pattern]).run();
    run.expect_code(0);
    assert_eq!(docker::inspect(&s.reference).id, s.v2.id);
    assert!(docker::exists(&s.v1.id), "v1 is used by containers and must stay\n{run}");
    let lines = run.stdout_lines();
    let tail = &lines[lines.len() - 3..];
    assert_eq!(
        tail,
        [
            format!(
                "These containers still run the previous version: {web} ({}), {old} ({}, stopped). \
                 Recreate them to finish the upgrade.",
                s.familiar, s.familiar
            )
            .as_str(),
            "Compose project shop: run 'docker compose up -d' in /srv/shop.",
            "1 upgraded, 0 retired, 0 kept back.",
        ],
        "\n{run}"
    );
    let superseded = &state_json(&t)["superseded"];
    assert_eq!(superseded[0]["image_id"], s.v1.id.as_str());
    assert_eq!(superseded[0]["replaced_by"], s.v2.id.as_str());

    // autoremove keeps it while a container uses it…
    let kept = t.freshen().args(["autoremove", "-y", &s.pattern]).run();
    kept.expect_code(0);
    assert_stdout(
        &kept,
        &[
            "These images are kept:".to_string(),
            format!("  {} ({}): used by containers {old}, {web}", s.familiar, short(&s.v1.id)),
            "0 to retire, 1 kept.".to_string(),
        ],
    );
    assert!(docker::exists(&s.v1.id));
    // …and retires it once they are gone.
    docker::docker(&["rm", "-f", &web, &old]);
    guard.0.clear();
    let gone = t.freshen().args(["autoremove", "-y", &s.pattern]).run();
    gone.expect_code(0);
    assert!(gone.last_line().starts_with("Retired 1 image, freed "), "\n{gone}");
    assert!(!docker::exists(&s.v1.id));
    assert_eq!(state_json(&t)["superseded"], Value::Array(vec![]));
}

/// A held tag stays where it is, shows as held, and comes back once unheld.
#[test]
fn hold_keeps_the_tag_back() {
    let t = TestEnv::new("hold_keeps_the_tag");
    let s = simple(&t);
    let hold = t.freshen().args(["hold", &s.reference]).run();
    hold.expect_code(0);
    assert_stdout(&hold, &[format!("{} set on hold.", s.familiar)]);
    let again = t.freshen().args(["hold", &s.reference]).run();
    assert_stdout(&again, &[format!("{} was already set on hold.", s.familiar)]);
    let pattern_hold = format!("{}/{}/*:9*", registry::shared().host(), t.namespace());
    t.freshen().args(["hold", &pattern_hold]).run().expect_code(0);
    let show = t.freshen().arg("showhold").run();
    show.expect_code(0);
    let mut want = vec![s.familiar.clone(), pattern_hold.clone()];
    want.sort();
    assert_stdout(&show, &want);

    let listing = t.list(&[&s.pattern]);
    let entry = listing.get(&s.reference);
    assert_eq!(entry.status, "upgradable");
    assert_eq!(entry.raw["held"], Value::Bool(true));
    let apt = t.freshen().args(["list", "--format", "apt", &s.pattern]).run();
    assert!(apt.stdout.trim_end().ends_with("] [held]"), "\n{apt}");

    let run = t.freshen().args(["upgrade", "-y", &s.pattern]).run();
    run.expect_code(0);
    assert_stdout(
        &run,
        &[
            "The following images have been kept back:".to_string(),
            format!("  {} (held)", s.familiar),
            "0 upgraded, 0 to retire, 1 kept back.".to_string(),
        ],
    );
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id);

    // The holds live in their own file: a broken state.json does not lose them.
    std::fs::write(t.state_dir().join("state.json"), "{ not json").unwrap();
    let show = t.freshen().arg("showhold").run();
    assert_stdout(&show, &want);

    let unhold = t.freshen().args(["unhold", &s.reference]).run();
    unhold.expect_code(0);
    assert_stdout(&unhold, &[format!("Canceled hold on {}.", s.familiar)]);
    let unhold = t.freshen().args(["unhold", &s.reference]).run();
    assert_stdout(&unhold, &[format!("{} was already not on hold.", s.familiar)]);
    t.freshen().args(["update", &s.pattern]).run().expect_code(0);
    assert_eq!(t.list(&[&s.pattern]).get(&s.reference).raw["held"], Value::Bool(false));

    // A held tag's previous versions are never retired either.
    t.freshen().args(["upgrade", "-y", "--keep-previous", &s.pattern]).run().expect_code(0);
    assert_eq!(docker::inspect(&s.reference).id, s.v2.id);
    t.freshen().args(["hold", &s.reference]).run().expect_code(0);
    let run = t.freshen().args(["autoremove", "-y", &s.pattern]).run();
    run.expect_code(0);
    assert_stdout(
        &run,
        &[
            "These images are kept:".to_string(),
            format!("  {} ({}): held", s.familiar, short(&s.v1.id)),
            "0 to retire, 1 kept.".to_string(),
        ],
    );
    assert!(docker::exists(&s.v1.id));
}

/// `--keep 1` keeps v1 for rollback, which points the tag back at it;
/// without it, rollback says why it cannot.
#[test]
fn rollback_restores_the_kept_version() {
    let t = TestEnv::new("rollback_restores");
    let s = simple(&t);
    let run = t.freshen().args(["-q", "upgrade", "-y", "--keep", "1", &s.pattern]).run();
    run.expect_code(0);
    assert_eq!(run.stderr, "", "--quiet shows no progress\n{run}");
    assert_eq!(run.last_line(), "1 upgraded, 0 retired, 0 kept back.", "\n{run}");
    assert!(docker::exists(&s.v1.id));

    let dry = t.freshen().args(["rollback", "-s", &s.reference]).run();
    dry.expect_code(0);
    assert_stdout(
        &dry,
        &[format!("Would point {} back at {}, replaced just now.", s.familiar, short(&s.v1.id))],
    );
    assert_eq!(docker::inspect(&s.reference).id, s.v2.id);

    let back = t.freshen().args(["rollback", &s.reference]).run();
    back.expect_code(0);
    assert!(
        back.stdout_lines()[0].starts_with(&format!("{} points at {} again", s.familiar, short(&s.v1.id))),
        "\n{back}"
    );
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id);
    assert!(docker::exists(&s.v2.id), "rollback must not remove the newer version");
    let listing = t.list(&[&s.pattern]);
    assert_eq!(listing.get(&s.reference).status, "upgradable", "the registry still has v2");
    assert_eq!(listing.get(&s.reference).remote_digest.as_deref(), Some(s.v2.digest.as_str()));
    let superseded = &state_json(&t)["superseded"];
    assert_eq!(superseded.as_array().unwrap().len(), 1, "{superseded:#}");
    assert_eq!(superseded[0]["image_id"], s.v2.id.as_str());

    // Roll "back" again returns to v2, the version the rollback replaced.
    t.freshen().args(["rollback", &s.reference]).run().expect_code(0);
    assert_eq!(docker::inspect(&s.reference).id, s.v2.id);
    assert_eq!(t.list(&[&s.pattern]).get(&s.reference).status, "up-to-date");

    // Once the previous version is retired, rollback explains.
    let gone = t.freshen().args(["autoremove", "-y", &s.pattern]).run();
    gone.expect_code(0);
    assert!(!docker::exists(&s.v1.id), "\n{gone}");
    let cannot = t.freshen().args(["rollback", &s.reference]).run();
    cannot.expect_code(1);
    assert_eq!(
        cannot.stdout_lines(),
        [format!(
            "{} cannot be rolled back: no previous version of it is on this host \
             ('freshen upgrade --keep N' or '--keep-previous' keeps previous versions for rollback).",
            s.familiar
        )
        .as_str()]
    );
}

/// A pull that fails midway (a blob is gone from the registry) leaves the
/// tag and the old image exactly as they were; the other image is still
/// upgraded, and the run exits 1.
#[test]
fn failed_pull_leaves_the_old_version_tagged() {
    let t = TestEnv::new("failed_pull");
    let reg = registry::shared();
    let s = simple(&t);
    let other = t.reference(reg.host(), "other", "1");
    let o1 = publish_files(&t, reg, "other", "1", &[("payload", b"other v1".to_vec())]);
    docker::pull(&other);
    let o2 = publish_files(&t, reg, "other", "1", &[("payload", b"other v2".to_vec())]);
    t.freshen().args(["update", &s.pattern]).run().expect_code(0);
    let manifest: Value = serde_json::from_slice(&reg.manifest(&t.repo("app"), &s.v2.digest).body).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let path = format!("/v2/{}/blobs/{layer}", t.repo("app"));
    let deleted = http::request("DELETE", reg.host(), &path, &[], b"").unwrap();
    assert_eq!(deleted.status, 202, "DELETE {path}: {}", deleted.text());

    let run = t.freshen().args(["upgrade", "-y", &s.pattern]).run();
    run.expect_code(1);
    assert_eq!(run.last_line(), "1 upgraded, 1 retired, 0 kept back, 1 failed.", "\n{run}");
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 1, "\n{run}");
    assert!(
        warnings[0].starts_with(&format!("W: {}: not upgraded, it stays as it was: ", s.familiar)),
        "\n{run}"
    );
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id);
    assert_eq!(docker::inspect(&other).id, o2.id);
    assert!(!docker::exists(&o1.id));
    let listing = t.list(&[&s.pattern]);
    assert_eq!(listing.get(&s.reference).status, "upgradable");
    assert_eq!(listing.get(&other).status, "up-to-date");
    assert_eq!(state_json(&t)["superseded"], Value::Array(vec![]));
}

/// Untagged earlier versions that freshen did not record (pulled over by
/// `docker pull`) are retired too, with `--older-than`, `--keep`,
/// `--exclude` and the config file's `exclude` and `keep` sparing them.
#[test]
fn autoremove_retires_untracked_earlier_versions_within_the_rules() {
    let t = TestEnv::new("untracked_versions");
    let s = simple(&t);
    docker::pull(&s.reference);
    assert_eq!(docker::inspect(&s.reference).id, s.v2.id);
    if docker::engine().containerd_store {
        // The containerd store deletes the version a pull replaces when no
        // container and no other name holds it: nothing is left behind for
        // autoremove to find, and it must not invent anything.
        assert!(!docker::exists(&s.v1.id));
        let run = t.freshen().args(["autoremove", "-y", &s.pattern]).run();
        run.expect_code(0);
        assert_stdout(&run, &["0 to retire, 0 kept.".to_string()]);
        assert_eq!(docker::inspect(&s.reference).id, s.v2.id);
        return;
    }
    assert!(docker::exists(&s.v1.id));
    let name = format!("{}@{}", s.reference.rsplit_once(':').unwrap().0, s.v1.digest);
    let kept = |run: &Run, reason: &str| {
        run.expect_code(0);
        assert_stdout(
            run,
            &[
                "These images are kept:".to_string(),
                format!("  {name}: {reason}"),
                "0 to retire, 1 kept.".to_string(),
            ],
        );
    };
    let run = t.freshen().args(["autoremove", "-y", "--older-than", "1d", &s.pattern]).run();
    kept(&run, "newer than --older-than (just now)");
    let run = t.freshen().args(["autoremove", "-y", "--keep", "1", &s.pattern]).run();
    kept(&run, "kept for rollback (--keep 1)");
    let config = t.state_dir().join("../config.toml");
    std::fs::write(&config, "keep = 1\n").unwrap();
    let run = t
        .freshen()
        .env("FRESHEN_CONFIG", config.to_str().unwrap())
        .args(["autoremove", "-y", &s.pattern])
        .run();
    // Named as the user wrote it: the config file's key, not a flag.
    kept(&run, "kept for rollback (keep = 1 in the config file)");
    std::fs::write(&config, format!("exclude = [\"{}\"]\n", s.pattern)).unwrap();
    let run = t
        .freshen()
        .env("FRESHEN_CONFIG", config.to_str().unwrap())
        .args(["autoremove", "-y", &s.pattern])
        .run();
    run.expect_code(0);
    assert_stdout(&run, &["0 to retire, 0 kept.".to_string()]);
    let run = t.freshen().args(["autoremove", "-y", "--exclude", "*/app", &s.pattern]).run();
    assert_stdout(&run, &["0 to retire, 0 kept.".to_string()]);
    assert!(docker::exists(&s.v1.id));

    let run = t.freshen().args(["autoremove", "-y", &s.pattern]).run();
    run.expect_code(0);
    assert!(run.stdout_lines()[1].starts_with(&format!("  {name} (earlier version, created ")), "\n{run}");
    assert!(run.last_line().starts_with("Retired 1 image, freed "), "\n{run}");
    assert!(!docker::exists(&s.v1.id));
    assert_eq!(docker::inspect(&s.reference).id, s.v2.id);
}

/// `LayersSize` of `GET /system/df`: the engine's own count of layer bytes.
fn df_layers_size() -> i64 {
    let v = engine_get("/system/df");
    v["LayersSize"].as_i64().expect("LayersSize in /system/df")
}

/// Bytes of the regular files in podman's overlay layer store, for an
/// engine that counts nothing itself: podman 4.3 answers `LayersSize: 0`
/// in `/system/df`, and its libpod df counts a shared base layer as unique
/// to each image.
fn podman_layer_file_bytes() -> i64 {
    let info = engine_get("/v4.0.0/libpod/info");
    let root = PathBuf::from(info["store"]["graphRoot"].as_str().expect("store.graphRoot in libpod info"));
    let out = Command::new("find")
        .arg(root.join("overlay"))
        .args(["-type", "f", "-printf", "%s\\n"])
        .output()
        .unwrap();
    assert!(out.status.success(), "find in {}: {}", root.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| l.parse::<i64>().unwrap()).sum()
}

/// One GET on the engine's socket, as JSON. Retried a few times: the
/// containerd store answers `/system/df` with a 500 when another test
/// deletes an image while it counts.
fn engine_get(path: &str) -> Value {
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"));
    let mut last = String::new();
    for attempt in 0..5 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(300));
        }
        let out = Command::new("curl")
            .args(["-sS", "-w", "\n%{http_code}", "--unix-socket"])
            .arg(&socket)
            .arg(format!("http://localhost{path}"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or((&text, ""));
        if out.status.success() && code == "200" {
            return serde_json::from_str(body).unwrap();
        }
        last = format!("HTTP {code}: {body} {}", String::from_utf8_lossy(&out.stderr));
    }
    panic!("GET {path} on the engine failed five times; last: {last}");
}

/// Every image id on the daemon, to tell whether anyone else changed the
/// store while we measured.
fn all_image_ids() -> Vec<String> {
    let mut ids: Vec<String> =
        docker::docker_listing(&["images", "-a", "-q", "--no-trunc"]).lines().map(str::to_string).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Size of an image's top layer, from `docker history` in bytes.
fn top_layer_size(id: &str) -> u64 {
    let out = docker::docker(&["history", "--human=false", "--no-trunc", "--format", "{{.Size}}", id]);
    out.lines().next().unwrap().trim().parse().unwrap()
}

fn bytes_in(line: &str) -> u64 {
    let open = line.rfind('(').unwrap_or_else(|| panic!("no '(N bytes)' in {line:?}"));
    line[open + 1..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no byte count in {line:?}"))
}

/// `autoremove -s` lists exactly what `autoremove -y` removes; the freed
/// bytes count the shared base layer not at all (v2 still uses it) and
/// agree with the engine's own `system df` within 1%.
#[test]
fn autoremove_frees_what_it_announced_and_what_the_engine_counts() {
    let mut attempts = Vec::new();
    for attempt in 0..5 {
        let t = TestEnv::new("autoremove_frees");
        let ns = t.namespace().to_string();
        let base = noise(&format!("base {ns}"), 1_500_000);
        let s = scenario(
            &t,
            &[("base", base.clone()), ("payload", noise(&format!("v1 {ns}"), 2_000_000))],
            &[("base", base), ("payload", noise(&format!("v2 {ns}"), 1_000_000))],
        );
        t.freshen().args(["upgrade", "-y", "--keep-previous", &s.pattern]).run().expect_code(0);
        assert!(docker::exists(&s.v1.id));
        let unique = top_layer_size(&s.v1.id);
        assert!(unique >= 2_000_000, "payload layer of v1 is {unique} bytes");

        let plan = t.freshen().args(["autoremove", "-s", &s.pattern]).run();
        plan.expect_code(0);
        let listed: Vec<String> = plan
            .stdout_lines()
            .iter()
            .skip_while(|l| **l != "The following images will be retired:")
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(|l| l.trim().split(" (replaced").next().unwrap().to_string())
            .collect();
        assert_eq!(listed, vec![format!("{} ({})", s.familiar, short(&s.v1.id))], "\n{plan}");
        assert_eq!(plan.stdout_lines()[2], "1 to retire, 0 kept.", "\n{plan}");
        let announced = bytes_in(plan.last_line());
        assert_eq!(announced, unique, "the shared base layer must not count\n{plan}");
        assert!(docker::exists(&s.v1.id), "a dry run removed something");

        let ids_before = all_image_ids();
        let df_before = df_layers_size();
        // podman 4.3 counts no layers (LayersSize is always 0): there the
        // layer store's files on disk are the reference.
        let no_count = df_before == 0 && docker::engine().kind == docker::Kind::Podman;
        let files_before = no_count.then(podman_layer_file_bytes);
        let run = t.freshen().args(["autoremove", "-y", &s.pattern]).run();
        let df_after = df_layers_size();
        let files_after = no_count.then(podman_layer_file_bytes);
        let ids_after = all_image_ids();
        run.expect_code(0);
        let retired: Vec<&str> = run.stderr.lines().filter_map(|l| l.strip_prefix("Retired ")).collect();
        assert_eq!(retired, listed.iter().map(String::as_str).collect::<Vec<_>>(), "\n{run}");
        assert!(!docker::exists(&s.v1.id));
        assert!(docker::exists(&s.v2.id));
        let freed = bytes_in(run.last_line());
        assert_eq!(freed, announced, "\n{run}");

        let engine_freed = match (files_before, files_after) {
            (Some(before), Some(after)) => before - after,
            _ => df_before - df_after,
        };
        let quiet = ids_before.iter().filter(|id| **id != s.v1.id).eq(ids_after.iter());
        let within = (engine_freed - freed as i64).unsigned_abs() * 100 <= freed;
        attempts.push(format!("freshen {freed}, df {engine_freed}, others quiet: {quiet}"));
        if within {
            eprintln!("measured: {attempts:#?}");
            return;
        }
        // Someone else changed the store meanwhile: measure again.
        std::thread::sleep(Duration::from_millis(500 * (attempt + 1)));
    }
    panic!("freed bytes never matched the engine's system df within 1%: {attempts:#?}");
}

/// An image with a dependent child image is reported as kept, with the
/// reason, and stays.
#[test]
fn an_image_with_a_child_is_kept() {
    let t = TestEnv::new("child_is_kept");
    let s = simple(&t);
    t.freshen().args(["upgrade", "-y", "--keep-previous", &s.pattern]).run().expect_code(0);
    let child = t.reference(registry::shared().host(), "child", "1");
    let context = tempfile::tempdir().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM {}@{}\nCOPY extra /extra\n", s.reference.rsplit_once(':').unwrap().0, s.v1.digest),
    )
    .unwrap();
    std::fs::write(context.path().join("extra"), "child").unwrap();
    let out = Command::new("docker")
        .args(["build", "-q", "--no-cache", "-t", &child, context.path().to_str().unwrap()])
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let app_pattern = format!("{}/{}/app", registry::shared().host(), t.namespace());
    let run = t.freshen().args(["autoremove", "-y", &app_pattern]).run();
    // Looked at before the child goes: removing the child lets podman 4
    // prune v1 with it (an untagged parent without names).
    let kept = docker::exists(&s.v1.id);
    docker::untag(&child);
    run.expect_code(0);
    assert_stdout(
        &run,
        &[
            "These images are kept:".to_string(),
            format!("  {} ({}): has dependent child images", s.familiar, short(&s.v1.id)),
            "0 to retire, 1 kept.".to_string(),
        ],
    );
    assert!(kept, "v1 was removed\n{run}");
}

/// Holds and rollback refuse bad input with one line.
#[test]
fn bad_input_is_one_line() {
    let t = TestEnv::new("bad_input");
    // Command-line mistakes exit 2, like clap's own.
    let run = t.freshen().args(["hold", "Not A Ref"]).run();
    run.expect_code(2);
    assert_eq!(run.stderr.lines().count(), 1, "\n{run}");
    let run = t.freshen().args(["autoremove", "--older-than", "soon", "x"]).run();
    run.expect_code(2);
    assert_eq!(
        run.stderr.trim(),
        "freshen: invalid duration 'soon': use a number with a unit, like 7d, 12h, 30m or 1w"
    );
    // A tag that is not here is a typo: an error, not "no previous version".
    let nothing = format!("{}/nothing:1", t.namespace());
    let run = t.freshen().args(["rollback", &nothing]).run();
    run.expect_code(1);
    assert_eq!(
        run.stderr,
        format!("freshen: no local tag matches '{nothing}': run 'freshen list' to see the local tags\n"),
        "\n{run}"
    );
}

/// A multi-platform tag: the engine pulls this host's entry of the index
/// freshen checked, the tag moves to it, and `list` shows the index digest
/// as current without another update.
#[test]
fn upgrade_of_a_multi_platform_index() {
    let t = TestEnv::new("upgrade_multi_platform");
    let reg = registry::shared();
    let other = docker::other_platform();
    let host = docker::host_platform();
    let v1 = t.publish_remote_for(reg, "multi", "ours-v1", "ours-v1", None);
    let o1 = t.publish_remote_for(reg, "multi", "theirs-v1", "theirs-v1", Some(&other));
    let index1 = reg.put_index(
        &t.repo("multi"),
        "1",
        registry::OCI_INDEX,
        &[(&host, &v1.digest), (&other, &o1.digest)],
    );
    let reference = t.reference(reg.host(), "multi", "1");
    docker::pull(&reference);
    let engine = docker::engine();
    // The containerd store names the pulled image by the index digest, the
    // others by our platform's image (GUIDE §8).
    let v1_local = engine.pulled_index_id(&index1, &v1.id);
    assert_eq!(docker::inspect(&reference).id, v1_local);
    let v2 = t.publish_remote_for(reg, "multi", "ours-v2", "ours-v2", None);
    let o2 = t.publish_remote_for(reg, "multi", "theirs-v2", "theirs-v2", Some(&other));
    let index2 = reg.put_index(
        &t.repo("multi"),
        "1",
        registry::OCI_INDEX,
        &[(&host, &v2.digest), (&other, &o2.digest)],
    );
    let pattern = t.pattern(reg.host());
    t.freshen().args(["update", &pattern]).run().expect_code(0);

    let run = t.freshen().args(["upgrade", "-y", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), "1 upgraded, 1 retired, 0 kept back.", "\n{run}");
    let now = docker::inspect(&reference);
    assert_eq!(now.id, engine.pulled_index_id(&index2, &v2.id), "the engine pulled this platform's image");
    assert!(now.repo_digests.contains(&format!("{}/{}@{index2}", reg.host(), t.repo("multi"))), "{now:?}");
    assert!(!docker::exists(&v1_local));
    let listing = t.list(&[&pattern]);
    assert_eq!(listing.get(&reference).status, "up-to-date");
    assert_eq!(listing.get(&reference).local_digest.as_deref(), Some(index2.as_str()));
}
