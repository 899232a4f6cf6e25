//! The updates the user controls (issue 14), against the real registry and
//! engine: a cooldown (`min_age`) measured from the new image's creation
//! time when that is plausible and from the time freshen first saw the
//! digest otherwise; `skip`/`unskip` of one offered version until the
//! registry moves on; release-note links built from the image's source and
//! version labels; and `freshen metrics` output that promtool accepts.
//!
//! Images with a chosen creation time are made the way a reproducible
//! build or a faked build date makes them: a fixture is pushed, its config
//! blob is rewritten with another `created` and uploaded, and a manifest
//! pointing at it (and at the same layer) is put under the tag. The result
//! is a real image that the engine pulls like any other.

// The harness is shared by several test binaries and each uses only part
// of it.
#[allow(dead_code)]
mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{docker, http, registry, upgradable_summary, Config, Published, Registry, TestEnv};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn short(digest: &str) -> &str {
    &digest.strip_prefix("sha256:").unwrap_or(digest)[..12]
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

fn parse_time(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|err| panic!("{text:?} is not RFC 3339: {err}"))
}

/// A fixture image holding `content`, with `--label KEY=VALUE` for each
/// label, tagged `tag`. The test's namespace in the tag gets it cleaned up.
fn build_labeled(tag: &str, content: &str, labels: &[(&str, &str)]) -> String {
    docker::build_labeled(tag, &format!("{tag} {content}\n"), labels)
}

/// Builds, labels and pushes `reference`: a local image from the registry.
fn publish_labeled(reference: &str, content: &str, labels: &[(&str, &str)]) -> Published {
    let id = build_labeled(reference, content, labels);
    Published { id, digest: docker::push(reference) }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Uploads a blob with the two-step upload of the distribution API.
fn upload_blob(reg: &Registry, repository: &str, body: &[u8]) -> String {
    let digest = sha256(body);
    let start =
        http::request("POST", reg.host(), &format!("/v2/{repository}/blobs/uploads/"), &[], b"").unwrap();
    assert_eq!(start.status, 202, "start upload: {}", start.text());
    let location = start.header("Location").expect("upload Location").to_string();
    let path = match location.find("/v2/") {
        Some(at) => location[at..].to_string(),
        None => panic!("unexpected upload location {location}"),
    };
    let separator = if path.contains('?') { '&' } else { '?' };
    let put = http::request(
        "PUT",
        reg.host(),
        &format!("{path}{separator}digest={digest}"),
        &[("Content-Type", "application/octet-stream")],
        body,
    )
    .unwrap();
    assert_eq!(put.status, 201, "finish upload: {}", put.text());
    digest
}

/// Makes the registry's `name:tag` a new image (content `content`, labels
/// `labels`) whose config says it was created at `created`, without
/// leaving it on the host. Returns its manifest digest and image id.
fn publish_remote_created(
    t: &TestEnv,
    reg: &Registry,
    name: &str,
    tag: &str,
    content: &str,
    created: &str,
    labels: &[(&str, &str)],
) -> Published {
    let scratch_tag = format!("scratch-{}-{}", tag.replace('.', "-"), short(&sha256(content.as_bytes())));
    let scratch = t.reference(reg.host(), name, &scratch_tag);
    build_labeled(&scratch, content, labels);
    docker::push(&scratch);
    docker::untag(&scratch);
    let repository = t.repo(name);
    let manifest = reg.manifest(&repository, &scratch_tag);
    let mut body: Value = serde_json::from_slice(&manifest.body).unwrap();
    let config_digest = body["config"]["digest"].as_str().expect("a single-platform manifest").to_string();
    let blob = http::request("GET", reg.host(), &format!("/v2/{repository}/blobs/{config_digest}"), &[], b"")
        .unwrap();
    assert_eq!(blob.status, 200, "GET config blob: {}", blob.text());
    let mut config: Value = serde_json::from_slice(&blob.body).unwrap();
    config["created"] = Value::String(created.to_string());
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let id = upload_blob(reg, &repository, &config_bytes);
    body["config"]["digest"] = Value::String(id.clone());
    body["config"]["size"] = Value::from(config_bytes.len());
    let manifest_bytes = serde_json::to_vec(&body).unwrap();
    let digest = reg.put_manifest(&repository, tag, &manifest.media_type, &manifest_bytes);
    Published { id, digest }
}

fn ago(duration: Duration) -> String {
    rfc3339(OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - duration)
}

const DAY: Duration = Duration::from_secs(86_400);

/// The `cooldown` object of a listing entry (null when nothing waits).
fn cooldown(entry: &support::Entry) -> &Value {
    entry.raw.get("cooldown").unwrap_or_else(|| panic!("no cooldown field in {:#}", entry.raw))
}

/// A row of the table output that names `reference`.
fn table_row<'a>(stdout: &'a str, reference: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.split_whitespace().next() == Some(reference))
        .unwrap_or_else(|| panic!("no row for {reference} in\n{stdout}"))
}

// ---------------------------------------------------------------------------

/// The image's creation time is the age when it is plausible: an image
/// built a day ago waits two more days under `min_age = "3d"` (per image,
/// beating the global one), shows `upgradable (in 2 days)` in the table,
/// its availability in JSON, is kept back by `upgrade` with the reason and
/// makes `check` exit 0; `--min-age 12h` on the command line lets it
/// through.
#[test]
fn cooldown_counts_from_a_plausible_creation_time() {
    let t = TestEnv::new("cooldown_counts_from_creation");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "stable");
    let v1 = t.publish(&app, "v1");
    let created = ago(DAY);
    let v2 = publish_remote_created(&t, reg, "app", "stable", "v2", &created, &[]);
    let config = Config::new(&format!("min_age = \"1h\"\n\n[images.\"{pattern}\"]\nmin_age = \"3d\"\n"));

    let run = t.freshen().args(["--config", &config.path(), "update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(0), "nothing is available yet\n{run}");

    let listing = Listing::of(&t, &config, &pattern);
    let entry = listing.get(&app);
    assert_eq!(entry.status, "upgradable");
    assert_eq!(entry.remote_digest.as_deref(), Some(v2.digest.as_str()));
    let wait = cooldown(entry);
    assert_eq!(wait["age_source"], "created", "{wait:#}");
    assert_eq!(wait["min_age_seconds"], 3 * 86_400, "{wait:#}");
    let until = parse_time(wait["available_at"].as_str().expect("available_at"));
    assert_eq!(until, parse_time(&created) + 3 * DAY, "{wait:#}");

    // The table says when; --upgradable keeps it (it is an update, only
    // not yet).
    let table = t.freshen().args(["--config", &config.path(), "list", &pattern]).run();
    table.expect_code(0);
    assert!(table_row(&table.stdout, &app).contains("upgradable (in 2 days)"), "\n{table}");
    let upgradable = t
        .freshen()
        .args(["--config", &config.path(), "list", "--upgradable", "--format", "json", &pattern])
        .run();
    upgradable.expect_code(0);
    assert_eq!(support::Listing::parse(&upgradable.stdout).references(), vec![app.as_str()]);

    // check: nothing can be upgraded now.
    let check = t.freshen().args(["--config", &config.path(), "check", &pattern]).run();
    check.expect_code(0);

    // upgrade keeps it back and says why.
    let upgrade = t.freshen().args(["--config", &config.path(), "upgrade", "-y", &pattern]).run();
    upgrade.expect_code(0);
    assert!(upgrade.stdout.contains("The following images have been kept back:"), "\n{upgrade}");
    assert!(upgrade.stdout.contains(&format!("  {app} (cooldown: available in 2 days)")), "\n{upgrade}");
    assert_eq!(upgrade.last_line(), "0 upgraded, 0 to retire, 1 kept back.", "\n{upgrade}");
    assert_eq!(docker::inspect(&app).id, v1.id, "the tag must not move");

    // The flag beats the config: a day is older than 12 hours.
    let run = t.freshen().args(["--config", &config.path(), "update", "--min-age", "12h", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(1), "\n{run}");
    let check = t.freshen().args(["--config", &config.path(), "check", "--min-age", "12h", &pattern]).run();
    check.expect_code(100);
    let upgrade =
        t.freshen().args(["--config", &config.path(), "upgrade", "-y", "--min-age", "12h", &pattern]).run();
    upgrade.expect_code(0);
    assert_eq!(upgrade.last_line(), "1 upgraded, 1 retired, 0 kept back.", "\n{upgrade}");
    assert_eq!(docker::inspect(&app).id, v2.id);
}

/// Creation times that cannot be the age — the reproducible-build zero
/// (1970), Go's zero time (year 1) and a date in the future — are not
/// used: the age counts from when freshen first saw the digest, recorded in
/// the state so that later runs count from the same moment.
#[test]
fn cooldown_falls_back_to_when_freshen_first_saw_the_digest() {
    let t = TestEnv::new("cooldown_falls_back_to_first_seen");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let cases = [
        ("epoch", "1970-01-01T00:00:00Z"),
        ("zero", "0001-01-01T00:00:00Z"),
        ("future", "2099-06-01T00:00:00Z"),
    ];
    let mut refs = Vec::new();
    for (name, created) in cases {
        let reference = t.reference(reg.host(), name, "stable");
        t.publish(&reference, "v1");
        publish_remote_created(&t, reg, name, "stable", "v2", created, &[]);
        refs.push(reference);
    }
    let config = Config::new("");
    let payload = config.file("payload.json");
    std::fs::write(
        config.path(),
        format!(
            "[[notify]]\nname = \"script\"\nkind = \"exec\"\ncommand = [\"sh\", \"-c\", \"cat > '{}'\"]\n",
            payload.display()
        ),
    )
    .unwrap();
    let update = |min_age: &str| {
        let run = t
            .freshen()
            .args(["--config", &config.path(), "update", "--notify", "--min-age", min_age, &pattern])
            .run();
        run.expect_code(0);
        run
    };

    let before = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    update("1h");
    let after = OffsetDateTime::now_utc();
    let first = Listing::of(&t, &config, &pattern);
    let mut seen = Vec::new();
    for reference in &refs {
        let wait = cooldown(first.get(reference));
        assert_eq!(wait["age_source"], "first_seen", "{reference}: {wait:#}");
        let until = parse_time(wait["available_at"].as_str().expect("available_at"));
        assert!(
            until >= before + Duration::from_secs(3600) && until <= after + Duration::from_secs(3600),
            "{reference}: available at {until}, first seen between {before} and {after}"
        );
        seen.push(until);
    }

    assert!(!payload.exists(), "announced while still in its cooldown");

    // A later run counts from the same first sighting.
    std::thread::sleep(Duration::from_secs(2));
    update("1h");
    assert!(!payload.exists(), "announced while still in its cooldown");
    let second = Listing::of(&t, &config, &pattern);
    for (reference, until) in refs.iter().zip(&seen) {
        let wait = cooldown(second.get(reference));
        assert_eq!(parse_time(wait["available_at"].as_str().unwrap()), *until, "{reference}: {wait:#}");
    }

    // Once that long has passed since the first sighting, they are offered.
    std::thread::sleep(Duration::from_secs(2));
    let run = update("3s");
    assert_eq!(run.last_line(), upgradable_summary(3), "\n{run}");
    // Announced once, when they became available.
    let sent: Value = serde_json::from_slice(&std::fs::read(&payload).expect("announced")).unwrap();
    assert_eq!(sent["updates"].as_array().map(Vec::len), Some(3), "{sent:#}");
    std::fs::remove_file(&payload).unwrap();
    update("3s");
    assert!(!payload.exists(), "announced twice");
    let third = Listing::of(&t, &config, &pattern);
    for reference in &refs {
        assert_eq!(*cooldown(third.get(reference)), Value::Null, "{reference}");
    }
}

/// `skip` takes the offered digest out of every "upgradable": list
/// --upgradable, check, upgrade, notifications; it shows in showskip and
/// JSON. When the registry moves on, the new digest is offered as usual.
/// `unskip` brings a skipped one back.
#[test]
fn skip_lasts_until_the_registry_moves_on() {
    let t = TestEnv::new("skip_until_the_registry_moves_on");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "stable");
    let other = t.reference(reg.host(), "other", "stable");
    let v1 = t.publish(&app, "v1");
    t.publish(&other, "v1");
    let v2 = t.publish_remote(reg, "app", "stable", "v2");
    let other_v2 = t.publish_remote(reg, "other", "stable", "v2");
    let config = Config::new("");
    let payload = config.file("payload.json");
    std::fs::write(
        config.path(),
        format!(
            "[[notify]]\nname = \"script\"\nkind = \"exec\"\ncommand = [\"sh\", \"-c\", \"cat > '{}'\"]\n",
            payload.display()
        ),
    )
    .unwrap();
    let freshen = |args: &[&str]| t.freshen().args(["--config", &config.path()]).args(args).run();

    freshen(&["update", &pattern]).expect_code(0);
    let run = freshen(&["skip", &app]);
    run.expect_code(0);
    assert!(run.stdout.contains(short(&v2.digest)), "skip names the digest it skips\n{run}");
    let run = freshen(&["skip", &other]);
    run.expect_code(0);

    let listing = Listing::of(&t, &config, &pattern);
    let skipped = &listing.get(&app).raw["skipped"];
    assert_eq!(skipped["digest"], Value::String(v2.digest.clone()), "{skipped:#}");
    assert!(skipped["reason"].is_string(), "{skipped:#}");
    let upgradable = freshen(&["list", "--upgradable", "--format", "json", &pattern]);
    upgradable.expect_code(0);
    assert!(support::Listing::parse(&upgradable.stdout).images.is_empty(), "\n{upgradable}");
    let showskip = freshen(&["showskip"]);
    showskip.expect_code(0);
    assert!(
        showskip.stdout.lines().any(|l| l.starts_with(&app) && l.contains(short(&v2.digest))),
        "\n{showskip}"
    );

    // Not announced, not a reason for check's 100, not upgraded.
    let run = freshen(&["update", "--notify", &pattern]);
    run.expect_code(0);
    assert!(!payload.exists(), "a skipped version was announced: {:?}", std::fs::read_to_string(&payload));
    freshen(&["check", &pattern]).expect_code(0);
    let upgrade = freshen(&["upgrade", "-y", &pattern]);
    upgrade.expect_code(0);
    assert!(upgrade.stdout.contains(&format!("  {app} (skipped)")), "\n{upgrade}");
    assert_eq!(upgrade.last_line(), "0 upgraded, 0 to retire, 2 kept back.", "\n{upgrade}");
    assert_eq!(docker::inspect(&app).id, v1.id);

    // unskip: offered again.
    let run = freshen(&["unskip", &other]);
    run.expect_code(0);
    let listing = Listing::of(&t, &config, &pattern);
    assert_eq!(listing.get(&other).raw["skipped"], Value::Null);
    let upgradable = freshen(&["list", "--upgradable", "--format", "json", &pattern]);
    assert_eq!(support::Listing::parse(&upgradable.stdout).references(), vec![other.as_str()]);

    // The registry moves on: v3 is offered, announced and upgraded to.
    let v3 = t.publish_remote(reg, "app", "stable", "v3");
    let run = freshen(&["update", "--notify", &pattern]);
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(2), "\n{run}");
    let sent: Value = serde_json::from_slice(&std::fs::read(&payload).expect("announced")).unwrap();
    let mut announced: Vec<(String, String)> = sent["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (u["reference"].as_str().unwrap().to_string(), u["new_digest"].as_str().unwrap().to_string())
        })
        .collect();
    announced.sort();
    let mut expected = vec![(app.clone(), v3.digest.clone()), (other.clone(), other_v2.digest.clone())];
    expected.sort();
    assert_eq!(announced, expected);
    let listing = Listing::of(&t, &config, &pattern);
    assert_eq!(listing.get(&app).raw["skipped"], Value::Null, "{:#}", listing.get(&app).raw);
    let showskip = freshen(&["showskip"]);
    assert!(!showskip.stdout.contains(&app), "a skip the registry moved past stays listed\n{showskip}");
    let upgrade = freshen(&["upgrade", "-y", &app]);
    upgrade.expect_code(0);
    assert_eq!(docker::inspect(&app).id, v3.id);
}

/// Release notes: `org.opencontainers.image.source` on GitHub or GitLab
/// and the new version give the release page; a per-image `changelog`
/// template overrides it; nothing new, no link. In `list --format json`,
/// `policy` and the notification payload.
#[test]
fn release_notes_link_from_the_source_label() {
    let t = TestEnv::new("release_notes_link");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let source = "org.opencontainers.image.source";
    let version = "org.opencontainers.image.version";
    let github = t.reference(reg.host(), "github", "stable");
    let gitlab = t.reference(reg.host(), "gitlab", "stable");
    let custom = t.reference(reg.host(), "custom", "stable");
    let current = t.reference(reg.host(), "current", "stable");
    // Version tags: `v3.1.0` says the project tags with a `v`; `3.1.0`
    // with a `3.1.0` label says nothing either way.
    let vtag = t.reference(reg.host(), "vtag", "v3.1.0");
    let plain = t.reference(reg.host(), "plain", "3.1.0");
    let repo_github = "https://github.com/acme/widget.git";
    let repo_gitlab = "https://gitlab.com/acme/tools/gadget";
    publish_labeled(&github, "v1", &[(source, repo_github), (version, "v1.4.1")]);
    publish_labeled(&vtag, "v1", &[(source, repo_github)]);
    publish_labeled(&plain, "v1", &[(source, repo_github), (version, "3.1.0")]);
    publish_labeled(&gitlab, "v1", &[(source, repo_gitlab), (version, "2.0.0")]);
    publish_labeled(&custom, "v1", &[(source, repo_github), (version, "0.9")]);
    publish_labeled(&current, "v1", &[(source, repo_github), (version, "5.0.0")]);
    let now = ago(Duration::from_secs(60));
    publish_remote_created(
        &t,
        reg,
        "github",
        "stable",
        "v2",
        &now,
        &[(source, repo_github), (version, "v1.4.2")],
    );
    publish_remote_created(&t, reg, "vtag", "v3.1.0", "v2", &now, &[(source, repo_github)]);
    publish_remote_created(
        &t,
        reg,
        "plain",
        "3.1.0",
        "v2",
        &now,
        &[(source, repo_github), (version, "3.1.0")],
    );
    publish_remote_created(
        &t,
        reg,
        "gitlab",
        "stable",
        "v2",
        &now,
        &[(source, repo_gitlab), (version, "2.0.1")],
    );
    publish_remote_created(
        &t,
        reg,
        "custom",
        "stable",
        "v2",
        &now,
        &[(source, repo_github), (version, "1.0")],
    );
    let config = Config::new("");
    let payload = config.file("payload.json");
    std::fs::write(
        config.path(),
        format!(
            "[images.\"{}/{}/custom\"]\nchangelog = \"https://changes.example.org/custom/{{version}}.html\"\n\n\
             [[notify]]\nname = \"script\"\nkind = \"exec\"\ncommand = [\"sh\", \"-c\", \"cat > '{}'\"]\n",
            reg.host(),
            t.namespace(),
            payload.display()
        ),
    )
    .unwrap();

    let run = t.freshen().args(["--config", &config.path(), "update", "--notify", &pattern]).run();
    run.expect_code(0);
    let listing = Listing::of(&t, &config, &pattern);
    let link = |reference: &str| listing.get(reference).raw["release_notes"].clone();
    assert_eq!(link(&github), "https://github.com/acme/widget/releases/tag/v1.4.2");
    // The GitLab image says `2.0.1` under the tag `stable`: which git tag
    // that is, it does not say, so the link searches the tags for both.
    assert_eq!(link(&gitlab), "https://gitlab.com/acme/tools/gadget/-/tags?search=2.0.1%24");
    assert_eq!(link(&vtag), "https://github.com/acme/widget/releases/tag/v3.1.0");
    assert_eq!(link(&plain), "https://github.com/acme/widget/releases?q=3.1.0&expanded=true");
    assert_eq!(link(&custom), "https://changes.example.org/custom/1.0.html");
    assert_eq!(link(&current), Value::Null, "an up-to-date image has nothing new to read about");

    let sent: Value = serde_json::from_slice(&std::fs::read(&payload).expect("announced")).unwrap();
    let in_payload: Vec<(String, Value)> = sent["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["reference"].as_str().unwrap().to_string(), u["release_notes"].clone()))
        .collect();
    assert!(
        in_payload
            .contains(&(github.clone(), Value::from("https://github.com/acme/widget/releases/tag/v1.4.2"))),
        "{sent:#}"
    );

    let policy = t.freshen().args(["--config", &config.path(), "policy", &gitlab]).run();
    policy.expect_code(0);
    assert!(
        policy
            .stdout
            .lines()
            .any(|l| l.trim() == "Release notes: https://gitlab.com/acme/tools/gadget/-/tags?search=2.0.1%24"),
        "\n{policy}"
    );
}

/// `freshen metrics` from a state with every kind of tag — up to date,
/// upgradable, waiting out a cooldown, skipped — passes `promtool check
/// metrics`, and the counts are right; the deprecated name is still there.
#[test]
fn metrics_pass_promtool() {
    let promtool = std::env::var("FRESHEN_TEST_PROMTOOL").unwrap_or_else(|_| "promtool".to_string());
    let probe = Command::new(&promtool).arg("--version").output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "promtool is missing: run .ci/promtool.sh (it installs it from Debian's prometheus package)"
    );
    let t = TestEnv::new("metrics_pass_promtool");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let names = ["current", "upgradable", "cooling", "skipped"];
    let refs: Vec<String> = names.iter().map(|n| t.reference(reg.host(), n, "stable")).collect();
    for reference in &refs {
        t.publish(reference, "v1");
    }
    t.publish_remote(reg, "upgradable", "stable", "v2");
    publish_remote_created(&t, reg, "cooling", "stable", "v2", &ago(Duration::from_secs(60)), &[]);
    publish_remote_created(&t, reg, "skipped", "stable", "v2", &ago(10 * DAY), &[]);
    let config = Config::new(&format!(
        "min_age = \"2d\"\n\n[images.\"{}/{}/upgradable\"]\nmin_age = \"0\"\n",
        reg.host(),
        t.namespace()
    ));
    let freshen = |args: &[&str]| t.freshen().args(["--config", &config.path()]).args(args).run();
    freshen(&["update", &pattern]).expect_code(0);
    freshen(&["skip", &refs[3]]).expect_code(0);

    let run = freshen(&["metrics", &pattern]);
    run.expect_code(0);
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(run.stdout.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- metrics\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        run.stdout
    );

    let value = |name: &str| -> String {
        run.stdout
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("no sample {name}\n{}", run.stdout))
            .to_string()
    };
    assert_eq!(value("freshen_images"), "4");
    assert_eq!(value("freshen_images_upgradable"), "1");
    assert_eq!(value("freshen_images_cooldown"), "1");
    assert_eq!(value("freshen_images_skipped"), "1");
    assert_eq!(value("freshen_check_errors"), "0");
    assert_eq!(value("freshen_images_total"), "4", "the deprecated name stays for one release");
    assert!(run.stdout.contains("# TYPE freshen_images gauge\n"), "\n{}", run.stdout);
    assert!(
        run.stdout.lines().any(|l| l.starts_with("# HELP freshen_images_total ") && l.contains("eprecated")),
        "\n{}",
        run.stdout
    );
    let image = |name: &str| format!("{}/{}/{name}", reg.host(), t.namespace());
    for ((name, reference), (upgradable, state)) in names.iter().zip(&refs).zip([
        ("0", "current"),
        ("1", "upgradable"),
        ("0", "cooldown"),
        ("0", "skipped"),
    ]) {
        let (image, tag) = (image(name), "stable");
        // The deprecated label stays beside image and tag for a release.
        let label =
            format!("freshen_image_upgradable{{image=\"{image}\",tag=\"{tag}\",reference=\"{reference}\"}}");
        assert_eq!(value(&label), upgradable, "{reference}");
        let on = format!("freshen_image_state{{image=\"{image}\",tag=\"{tag}\",state=\"{state}\"}}");
        assert_eq!(value(&on), "1", "{reference}");
        let failed = format!("freshen_upgrades_total{{image=\"{image}\",tag=\"{tag}\",result=\"failed\"}}");
        assert_eq!(value(&failed), "0", "pre-initialised for increase()");
    }
    // The check succeeded, and the update recorded the engine.
    assert_eq!(value("freshen_last_check_success"), "1");
    assert_eq!(value("freshen_check_failures_in_a_row"), "0");
    assert!(run.stdout.contains("freshen_engine_info{engine=\"docker\",version=\""), "\n{}", run.stdout);
    assert!(run.stdout.contains("image_store=\"classic\"} 1\n"), "\n{}", run.stdout);
    assert!(run.stdout.contains("freshen_build_info{version=\""), "\n{}", run.stdout);
    let info = run
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("freshen_image_info{{image=\"{}\"", image("upgradable"))))
        .unwrap_or_else(|| panic!("no info series\n{}", run.stdout));
    assert!(info.contains("available_digest=\"sha256:") && info.ends_with(" 1"), "{info}");
    for forbidden in ["instance=", "job=", "host="] {
        assert!(!run.stdout.contains(forbidden), "{forbidden} would be renamed exported_*");
    }

    // A check that cannot reach the engine counts as a failed check.
    t.freshen()
        .args(["--config", &config.path(), "update", &pattern])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run()
        .expect_code(1);
    let run = freshen(&["metrics", &pattern]);
    assert!(run.stdout.contains("\nfreshen_last_check_success 0\n"), "\n{}", run.stdout);
    assert!(run.stdout.contains("\nfreshen_check_failures_in_a_row 1\n"), "\n{}", run.stdout);
    assert!(run.stdout.contains("\nfreshen_check_failures_total 1\n"), "\n{}", run.stdout);
    assert!(run.stdout.contains("\nfreshen_last_successful_check_timestamp_seconds "), "\n{}", run.stdout);
}

/// `list --format json` with the config of the test.
struct Listing;

impl Listing {
    fn of(t: &TestEnv, config: &Config, pattern: &str) -> support::Listing {
        let run = t.freshen().args(["--config", &config.path(), "list", "--format", "json", pattern]).run();
        run.expect_code(0);
        support::Listing::parse(&run.stdout)
    }
}

/// The minimum age delays newer version tags too: each candidate tag is
/// aged like a new digest (its creation time when plausible, else when
/// `update` first saw its digest, kept in the state). The newest tag that
/// has waited it out is offered (Renovate's `minimumReleaseAge`); a newer
/// one still waiting shows when it comes, in the table and in JSON
/// (`tag_cooldown`), and `upgrade --tags` keeps a tag back with the reason
/// when nothing older can be offered.
#[test]
fn cooldown_delays_newer_tags() {
    let t = TestEnv::new("cooldown_delays_newer_tags");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "1.0");
    let lone = t.reference(reg.host(), "lone", "1.0");
    let unset = t.reference(reg.host(), "unset", "1.0");
    for reference in [&app, &lone, &unset] {
        t.publish(reference, "v1");
    }
    let old_enough = ago(10 * DAY);
    let fresh = ago(DAY);
    publish_remote_created(&t, reg, "app", "1.1", "v1.1", &old_enough, &[]);
    publish_remote_created(&t, reg, "app", "1.2", "v1.2", &fresh, &[]);
    publish_remote_created(&t, reg, "lone", "1.1", "v1.1", &fresh, &[]);
    publish_remote_created(&t, reg, "unset", "1.1", "v1.1", "1970-01-01T00:00:00Z", &[]);
    let config = Config::new("min_age = \"3d\"\n");
    let freshen = |args: &[&str]| t.freshen().args(["--config", &config.path()]).args(args).run();

    let before = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let run = freshen(&["update", &pattern]);
    run.expect_code(0);
    let after = OffsetDateTime::now_utc();
    assert_eq!(run.last_line(), upgradable_summary(0), "\n{run}");

    let listing = Listing::of(&t, &config, &pattern);
    let tag_cooldown = |reference: &str| listing.get(reference).raw["tag_cooldown"].clone();
    let candidate = |reference: &str| listing.get(reference).raw["candidate_tag"].clone();
    // app: 1.2 is a day old and waits two more; 1.1 is old enough.
    assert_eq!(candidate(&app), "1.1", "{:#}", listing.get(&app).raw);
    let wait = tag_cooldown(&app);
    assert_eq!(wait["tag"], "1.2", "{wait:#}");
    assert_eq!(wait["age_source"], "created", "{wait:#}");
    assert_eq!(wait["min_age_seconds"], 3 * 86_400, "{wait:#}");
    assert_eq!(parse_time(wait["available_at"].as_str().unwrap()), parse_time(&fresh) + 3 * DAY);
    // lone: nothing older to offer.
    assert_eq!(candidate(&lone), Value::Null, "{:#}", listing.get(&lone).raw);
    assert_eq!(tag_cooldown(&lone)["tag"], "1.1");
    // unset: a 1970 build date is no age; the first sighting is.
    let wait = tag_cooldown(&unset);
    assert_eq!(wait["age_source"], "first_seen", "{wait:#}");
    let unset_until = parse_time(wait["available_at"].as_str().unwrap());
    assert!(
        unset_until >= before + 3 * DAY && unset_until <= after + 3 * DAY,
        "available at {unset_until}, first seen between {before} and {after}"
    );

    let table = freshen(&["list", &pattern]);
    table.expect_code(0);
    assert!(table_row(&table.stdout, &app).contains("1.2 (minor, available in 2 days)"), "\n{table}");

    // A later update counts from the same first sighting.
    std::thread::sleep(Duration::from_secs(2));
    freshen(&["update", &pattern]).expect_code(0);
    let again = Listing::of(&t, &config, &pattern);
    let wait = &again.get(&unset).raw["tag_cooldown"];
    assert_eq!(parse_time(wait["available_at"].as_str().unwrap()), unset_until, "{wait:#}");

    // policy says the same: the move it would make, and what waits.
    let policy = freshen(&["policy", &app]);
    policy.expect_code(0);
    let lines: Vec<&str> = policy.stdout.lines().map(str::trim).collect();
    assert!(lines.contains(&"Tag upgrade: 1.0 → 1.1 (minor)"), "\n{policy}");
    assert!(lines.contains(&"Cooldown: 1.2 available in 2 days"), "\n{policy}");

    // upgrade --tags: app moves to 1.1; lone and unset are kept back.
    let upgrade = freshen(&["upgrade", "--tags", "-y", &pattern]);
    upgrade.expect_code(0);
    let app_11 = t.reference(reg.host(), "app", "1.1");
    assert!(upgrade.stdout.contains(&format!("  {app} => {app_11} (minor)")), "\n{upgrade}");
    assert!(upgrade.stdout.contains(&format!("  {lone} (cooldown: 1.1 available in 2 days)")), "\n{upgrade}");
    assert!(
        upgrade.stdout.contains(&format!("  {unset} (cooldown: 1.1 available in 3 days)")),
        "\n{upgrade}"
    );
    assert!(docker::exists(&app_11), "\n{upgrade}");
    assert!(!docker::exists(&t.reference(reg.host(), "app", "1.2")), "\n{upgrade}");
    assert!(!docker::exists(&t.reference(reg.host(), "lone", "1.1")), "\n{upgrade}");

    // --min-age on the command line beats the config: a day is enough.
    let upgrade = freshen(&["upgrade", "--tags", "-y", "--min-age", "12h", &lone]);
    upgrade.expect_code(0);
    assert!(docker::exists(&t.reference(reg.host(), "lone", "1.1")), "\n{upgrade}");
}

/// `skip` of a newer tag records the tag and its digest; `upgrade --tags`
/// keeps it back. When the registry moves that tag to another digest, or
/// offers an even newer tag, the new one is offered as usual and the stale
/// skip is gone from `showskip` and JSON. The digest path too: a skipped
/// digest is dropped when the registry moves the tag on.
#[test]
fn skip_of_a_newer_tag_lasts_until_the_registry_moves_on() {
    let t = TestEnv::new("skip_of_a_newer_tag_until_it_moves");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "1.0");
    let plain = t.reference(reg.host(), "plain", "stable");
    t.publish(&app, "v1");
    t.publish(&plain, "v1");
    let v11 = t.publish_remote(reg, "app", "1.1", "v1.1");
    let plain_v2 = t.publish_remote(reg, "plain", "stable", "v2");
    // Every update lists the tags afresh, so it sees a new one at once.
    let config = Config::new("tag_cache_ttl = 0\n");
    let freshen = |args: &[&str]| t.freshen().args(["--config", &config.path()]).args(args).run();
    let showskip = || {
        let run = freshen(&["showskip"]);
        run.expect_code(0);
        run
    };

    freshen(&["update", &pattern]).expect_code(0);
    let run = freshen(&["skip", &app, &plain]);
    run.expect_code(0);
    assert!(run.stdout.contains(&format!("tag 1.1 ({})", short(&v11.digest))), "\n{run}");
    let listing = Listing::of(&t, &config, &pattern);
    let entry = listing.get(&app);
    assert_eq!(entry.raw["candidate_tag"], Value::Null, "{:#}", entry.raw);
    assert_eq!(entry.raw["skipped"]["tag"], "1.1", "{:#}", entry.raw);
    assert_eq!(entry.raw["skipped"]["tag_digest"], Value::String(v11.digest.clone()), "{:#}", entry.raw);
    assert_eq!(listing.get(&plain).raw["skipped"]["digest"], Value::String(plain_v2.digest.clone()));

    // upgrade --tags leaves the skipped tag alone.
    let upgrade = freshen(&["upgrade", "--tags", "-y", &app]);
    upgrade.expect_code(0);
    assert!(upgrade.stdout.contains(&format!("  {app} (skipped: 1.1)")), "\n{upgrade}");
    let app_11 = t.reference(reg.host(), "app", "1.1");
    assert!(!docker::exists(&app_11), "\n{upgrade}");

    // The registry moves 1.1 to another digest: offered again, skip gone.
    let v11b = t.publish_remote(reg, "app", "1.1", "v1.1b");
    freshen(&["update", &pattern]).expect_code(0);
    let listing = Listing::of(&t, &config, &pattern);
    let entry = listing.get(&app);
    assert_eq!(entry.raw["candidate_tag"], "1.1", "{:#}", entry.raw);
    assert_eq!(entry.raw["skipped"], Value::Null, "{:#}", entry.raw);
    let shown = showskip();
    assert!(!shown.stdout.contains(&app), "a skip the registry moved past stays listed\n{shown}");

    // Skipped again (the new digest), then an even newer tag appears.
    let run = freshen(&["skip", &app]);
    run.expect_code(0);
    assert!(run.stdout.contains(&format!("tag 1.1 ({})", short(&v11b.digest))), "\n{run}");
    t.publish_remote(reg, "app", "1.2", "v1.2");
    freshen(&["update", &pattern]).expect_code(0);
    let listing = Listing::of(&t, &config, &pattern);
    let entry = listing.get(&app);
    assert_eq!(entry.raw["candidate_tag"], "1.2", "{:#}", entry.raw);
    assert_eq!(entry.raw["skipped"], Value::Null, "{:#}", entry.raw);
    assert!(!showskip().stdout.contains(&app));
    let upgrade = freshen(&["upgrade", "--tags", "-y", &app]);
    upgrade.expect_code(0);
    assert!(docker::exists(&t.reference(reg.host(), "app", "1.2")), "\n{upgrade}");

    // The digest path: the registry moves stable on; the new digest is
    // offered and the skip is gone.
    assert!(showskip().stdout.contains(&plain));
    let plain_v3 = t.publish_remote(reg, "plain", "stable", "v3");
    freshen(&["update", &pattern]).expect_code(0);
    let listing = Listing::of(&t, &config, &pattern);
    let entry = listing.get(&plain);
    assert_eq!(entry.status, "upgradable");
    assert_eq!(entry.remote_digest.as_deref(), Some(plain_v3.digest.as_str()));
    assert_eq!(entry.raw["skipped"], Value::Null, "{:#}", entry.raw);
    assert!(!showskip().stdout.contains(&plain));
    let upgradable = freshen(&["list", "--upgradable", "--format", "json", &pattern]);
    assert_eq!(support::Listing::parse(&upgradable.stdout).references(), vec![plain.as_str()]);
}
