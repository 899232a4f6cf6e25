//! End-to-end tests of the `freshen` binary against the real Docker daemon
//! and real registries on loopback (see `support/` for the harness).
//!
//! The daemon is shared with every other test and with leftovers of earlier
//! runs, so each test works in its own repository namespace and passes a
//! pattern for it to every command: counts and listings then only ever see
//! the test's own images.

#[allow(dead_code)]
mod support;

use support::docker;
use support::registry::{self, Refusal, DOCKER_LIST, OCI_INDEX};
use support::{failed_summary, upgradable_summary, Listing, Registry, Run, TestEnv};

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// Whether `token` is a recognisable abbreviation of `digest` (with or
/// without `sha256:`, at least 7 hex digits).
fn abbreviates(token: &str, digest: &str) -> bool {
    let short = hex(token);
    short.len() >= 7 && hex(digest).starts_with(short)
}

/// Checks one `list --format apt` line of an upgradable image:
/// `REFERENCE NEW [upgradable from: OLD]`.
fn assert_apt_upgradable_line(line: &str, reference: &str, new: &str, old: &str) {
    let rest = line
        .strip_prefix(reference)
        .and_then(|rest| rest.strip_prefix(' '))
        .unwrap_or_else(|| panic!("apt line {line:?} does not start with {reference:?}"));
    let (new_token, rest) = rest.split_once(' ').unwrap_or_else(|| panic!("apt line {line:?} has no digest"));
    assert!(abbreviates(new_token, new), "apt line {line:?}: {new_token:?} is not the new digest {new}");
    let old_token = rest
        .strip_prefix("[upgradable from: ")
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("apt line {line:?} lacks `[upgradable from: OLD]`"));
    assert!(abbreviates(old_token, old), "apt line {line:?}: {old_token:?} is not the old digest {old}");
}

fn assert_error_mentions(listing: &Listing, reference: &str, words: &[&str]) {
    let entry = listing.get(reference);
    assert_eq!(entry.status, "unknown", "{:#}", entry.raw);
    let error = entry.error_text().to_lowercase();
    assert!(
        words.iter().any(|word| error.contains(word)),
        "error of {reference} should say one of {words:?}: {:#}",
        entry.raw
    );
}

/// Asserts that the last non-blank lines of stdout are `expected`, in any
/// order (the closing summary and, after failures, the failure count).
fn assert_last_lines(run: &Run, expected: &[String]) {
    let lines: Vec<&str> = run.stdout_lines().into_iter().filter(|line| !line.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(expected.len())..];
    let mut tail: Vec<&str> = tail.to_vec();
    let mut want: Vec<&str> = expected.iter().map(String::as_str).collect();
    tail.sort();
    want.sort();
    assert_eq!(tail, want, "stdout should end with these lines\n{run}");
}

// ---------------------------------------------------------------------------
// The harness itself.

/// The fixtures behave as the other tests assume: push digests, remote-only
/// tag moves, a hand-made index pulled by the daemon, extra registries that
/// stop, and a port where nothing listens.
#[test]
fn harness_smoke() {
    let t = TestEnv::new("harness_smoke");
    let reg = registry::shared();
    let app = t.reference(reg.host(), "app", "1");
    let v1 = t.publish(&app, "v1");
    let inspect = docker::inspect(&app);
    assert_eq!(inspect.id, v1.id);
    // podman keeps its local manifest's digest after a push (GUIDE §8).
    if docker::engine().push_records_digest() {
        assert_eq!(inspect.repo_digests, vec![format!("{}/{}@{}", reg.host(), t.repo("app"), v1.digest)]);
    }
    assert_eq!(reg.manifest(&t.repo("app"), "1").digest, v1.digest);

    let v2 = t.publish_remote(reg, "app", "1", "v2");
    assert_ne!(v2.digest, v1.digest);
    assert_eq!(reg.manifest(&t.repo("app"), "1").digest, v2.digest);
    assert_eq!(docker::inspect(&app).id, v1.id, "local image untouched");

    let other = docker::other_platform();
    let ours = t.publish_remote_for(reg, "multi", "ours-1", "ours", None);
    let theirs = t.publish_remote_for(reg, "multi", "theirs-1", "theirs", Some(&other));
    let index = reg.put_index(
        &t.repo("multi"),
        "1",
        DOCKER_LIST,
        &[(&docker::host_platform(), &ours.digest), (&other, &theirs.digest)],
    );
    let multi = t.reference(reg.host(), "multi", "1");
    docker::pull(&multi);
    let pulled = docker::inspect(&multi);
    let engine = docker::engine();
    let name = format!("{}/{}", reg.host(), t.repo("multi"));
    assert_eq!(pulled.id, engine.pulled_index_id(&index, &ours.id));
    let mut digests = pulled.repo_digests.clone();
    digests.sort();
    assert_eq!(digests, engine.pulled_index_repo_digests(&name, &index, &ours.digest));

    reg.delete_manifest(&t.repo("app"), &v2.digest);
    assert!(!reg.has_manifest(&t.repo("app"), "1"));

    let extra = Registry::start();
    assert_ne!(extra.host(), reg.host());
    extra.stop();
    assert!(std::net::TcpStream::connect(extra.host()).is_err());
    let dead = registry::dead_host();
    assert!(std::net::TcpStream::connect(&dead).is_err());
}

// ---------------------------------------------------------------------------
// Verdicts.

/// The core loop: one image whose tag moved on the registry, one that did
/// not. Checks the summary, the JSON of both entries, and the filters.
#[test]
fn upgradable_and_up_to_date() {
    let t = TestEnv::new("upgradable_and_up_to_date");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "1");
    let db = t.reference(reg.host(), "db", "1");
    let app_v1 = t.publish(&app, "v1");
    let db_v1 = t.publish(&db, "v1");
    let app_v2 = t.publish_remote(reg, "app", "1", "v2");

    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(1), "\n{run}");
    run.expect_no_line_starting("1 image could not be checked");
    assert!(run.warnings().is_empty(), "no check failed\n{run}");

    let listing = t.list(&[&pattern]);
    assert_eq!(listing.schema_version, 1);
    assert!(listing.updated_at.is_some(), "updated_at after an update");
    assert_eq!(listing.references(), vec![app.as_str(), db.as_str()]);

    let entry = listing.get(&app);
    assert_eq!(entry.status, "upgradable", "{:#}", entry.raw);
    assert_eq!(entry.registry, reg.host());
    assert_eq!(entry.repository, t.repo("app"));
    assert_eq!(entry.tag.as_deref(), Some("1"));
    assert_eq!(entry.image_id, app_v1.id);
    // podman does not record the digest it pushed, and the registry's tag
    // has moved on: the installed digest is unknowable there, and freshen
    // must say none rather than podman's local digest (README, engines);
    // the apt line then names the image id.
    let installed = docker::engine().push_records_digest().then_some(app_v1.digest.as_str());
    assert_eq!(entry.local_digest.as_deref(), installed);
    assert_eq!(entry.remote_digest.as_deref(), Some(app_v2.digest.as_str()));
    assert!(entry.checked_at.is_some(), "{:#}", entry.raw);
    assert_eq!(entry.error, None);

    let entry = listing.get(&db);
    assert_eq!(entry.status, "up-to-date", "{:#}", entry.raw);
    assert_eq!(entry.repository, t.repo("db"));
    assert_eq!(entry.image_id, db_v1.id);
    assert_eq!(entry.local_digest.as_deref(), Some(db_v1.digest.as_str()));
    assert_eq!(entry.remote_digest.as_deref(), Some(db_v1.digest.as_str()));
    assert!(entry.checked_at.is_some(), "{:#}", entry.raw);
    assert_eq!(entry.error, None);

    // --upgradable keeps only the outdated tag, in every format.
    let run = t.freshen().args(["list", "--upgradable", "--format", "json", &pattern]).run();
    run.expect_code(0);
    let upgradable = Listing::parse(&run.stdout);
    assert_eq!(upgradable.references(), vec![app.as_str()]);

    let run = t.freshen().args(["list", "--upgradable", "--format", "apt", &pattern]).run();
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout_lines().into_iter().filter(|line| !line.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one upgradable image\n{run}");
    assert_apt_upgradable_line(lines[0], &app, &app_v2.digest, installed.unwrap_or(&app_v1.id));

    // Without --upgradable the apt format has one line per tag.
    let run = t.freshen().args(["list", "--format", "apt", &pattern]).run();
    run.expect_code(0);
    let app_lines: Vec<&str> =
        run.stdout_lines().into_iter().filter(|line| line.starts_with(&format!("{app} "))).collect();
    assert_eq!(app_lines.len(), 1, "\n{run}");
    assert_apt_upgradable_line(app_lines[0], &app, &app_v2.digest, installed.unwrap_or(&app_v1.id));
    let db_lines: Vec<&str> =
        run.stdout_lines().into_iter().filter(|line| line.starts_with(&format!("{db} "))).collect();
    assert_eq!(db_lines.len(), 1, "\n{run}");
    assert!(!db_lines[0].contains("upgradable from"), "an up-to-date tag is not upgradable\n{run}");

    // The table names each tag with its status.
    let run = t.freshen().args(["list", &pattern]).run();
    run.expect_code(0);
    for (reference, status) in [(&app, "upgradable"), (&db, "up-to-date")] {
        assert!(
            run.stdout.lines().any(|line| line.contains(reference.as_str()) && line.contains(status)),
            "table lacks a row with {reference} and {status}\n{run}"
        );
    }
    let run = t.freshen().args(["list", "--upgradable", &pattern]).run();
    run.expect_code(0);
    assert!(run.stdout.contains(app.as_str()), "\n{run}");
    assert!(!run.stdout.contains(db.as_str()), "\n{run}");
}

/// Requests per tag (issue 13): a cold update sends one HEAD per tag plus,
/// for an outdated one, its manifest (the multi-arch rule) and, where the
/// labels can be shown, its config; the next update trusts the verdict it
/// reached for the same local image and the same remote digest (one HEAD
/// per tag); a tag that moved again is looked at again. (`latest` is no
/// version: no tag listings in the counts.)
#[test]
fn requests_per_tag_cold_warm_and_moved_again() {
    let t = TestEnv::new("requests_per_tag");
    let reg = registry::shared();
    // Built with a version label: the new image's labels are worth a read.
    let labelled = |name: &str| {
        let reference = t.reference(reg.host(), name, "latest");
        t.publish_labeled(&reference, "v1", &[("org.opencontainers.image.version", "1.0")]);
        reference
    };
    for (label, app, db) in [
        (false, t.reference(reg.host(), "app", "latest"), t.reference(reg.host(), "db", "latest")),
        (true, labelled("lapp"), labelled("ldb")),
    ] {
        if !label {
            t.publish(&app, "v1");
            t.publish(&db, "v1");
        }
        requests_cold_warm_and_moved_again(&t, reg, (&app, &db), label);
    }
}

fn requests_cold_warm_and_moved_again(
    t: &TestEnv,
    reg: &registry::Registry,
    (app, db): (&str, &str),
    labelled: bool,
) {
    // The repositories alone: these two tags and nothing else of the test's.
    let repository = |reference: &str| reference.rsplit_once(':').unwrap().0.to_string();
    let (app_repo, db_repo) = (repository(app), repository(db));
    let patterns = [app_repo.as_str(), db_repo.as_str()];
    let app_name = app_repo.rsplit('/').next().unwrap();
    let v2 = t.publish_remote(reg, app_name, "latest", "v2");
    let requests = |run: &Run| {
        run.stderr
            .lines()
            .find_map(|l| l.strip_suffix(" registry requests for 2 images"))
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or_else(|| panic!("no request count\n{run}"))
    };
    let gets = |run: &Run| run.stderr.lines().filter(|l| l.starts_with("GET ")).count();
    let config = u32::from(labelled);

    let run = t.freshen().args(["-v", "update"]).args(patterns).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(1), "\n{run}");
    // Where a build carries a RepoDigest of its own (containerd store,
    // podman), the first check of an outdated image also asks whether that
    // digest was ever pushed: one more HEAD, once. podman does not record
    // the digest it pushed, so the current image's tag digest is not among
    // its RepoDigests: its manifest is read once to match the config.
    let engine = docker::engine();
    let extra = u32::from(engine.local_build_has_repo_digest()) + u32::from(!engine.push_records_digest());
    assert_eq!(
        requests(&run),
        3 + config + extra,
        "two HEADs, the outdated tag's manifest, its config only if labelled ({labelled})\n{run}"
    );
    let configs = if labelled { "1 image config read" } else { "0 image configs read" };
    assert!(run.stderr.lines().any(|l| l == format!("0 tag lists listed, {configs}")), "\n{run}");
    if !labelled {
        assert!(!run.stderr.lines().any(|l| l.starts_with("GET ") && l.contains("/blobs/")), "\n{run}");
        let entry = t.list(&patterns).get(app).clone();
        assert_eq!(entry.status, "upgradable", "{:#}", entry.raw);
    }

    let run = t.freshen().args(["-v", "update"]).args(patterns).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(1), "the verdict stands\n{run}");
    assert_eq!((requests(&run), gets(&run)), (2, 0), "one HEAD per tag\n{run}");
    let entry = t.list(&patterns).get(app).clone();
    assert_eq!(entry.status, "upgradable", "{:#}", entry.raw);
    assert_eq!(entry.remote_digest.as_deref(), Some(v2.digest.as_str()));
    assert!(t.list(&patterns).get(db).status == "up-to-date");

    let v3 = t.publish_remote(reg, app_name, "latest", "v3");
    let run = t.freshen().args(["-v", "update"]).args(patterns).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(1), "\n{run}");
    assert_eq!(
        (requests(&run), gets(&run)),
        (3 + config, 1 + config as usize),
        "a new remote digest is looked at again\n{run}"
    );
    assert_eq!(t.list(&patterns).get(app).remote_digest.as_deref(), Some(v3.digest.as_str()));
}

/// Tags that moved to the same image (`latest` and `stable` here) cost one
/// read of its manifest and one of its config, not one each (issue 13).
#[test]
fn tags_that_moved_together_are_read_once() {
    let t = TestEnv::new("moved_together");
    let reg = registry::shared();
    let latest = t.reference(reg.host(), "app", "latest");
    let stable = t.reference(reg.host(), "app", "stable");
    t.publish_labeled(&latest, "v1", &[("org.opencontainers.image.version", "1.0")]);
    docker::tag(&latest, &stable);
    docker::push(&stable);
    let v2 = t.publish_remote(reg, "app", "latest", "v2");
    assert_eq!(reg.copy_tag(&t.repo("app"), "latest", "stable"), v2.digest);

    let run = t.freshen().args(["-v", "update", &t.pattern(reg.host())]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(2), "\n{run}");
    let blobs = run.stderr.lines().filter(|l| l.starts_with("GET ") && l.contains("/blobs/")).count();
    let new_manifest =
        run.stderr.lines().filter(|l| l.starts_with("GET ") && l.contains(v2.digest.as_str())).count();
    assert_eq!(new_manifest, 1, "the new image's manifest, once\n{run}");
    assert_eq!(blobs, 1, "its config, once\n{run}");
}

/// The oldest image is checked first (issue 13): it is the likeliest to
/// have moved, so its follow-ups overlap the other checks. `zold` was built
/// a second before `anew`, and sorts after it by name.
#[test]
fn the_oldest_image_is_checked_first() {
    let t = TestEnv::new("oldest_first");
    let reg = registry::shared();
    let old = t.reference(reg.host(), "zold", "latest");
    let new = t.reference(reg.host(), "anew", "latest");
    t.publish(&old, "v1");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    t.publish(&new, "v1");
    let run = t.freshen().args(["-v", "update", &t.pattern(reg.host())]).run();
    run.expect_code(0);
    let first = run.stderr.lines().find(|l| l.starts_with("HEAD ")).unwrap_or_else(|| panic!("{run}"));
    assert!(first.contains("/zold/manifests/"), "{first}\n{run}");
}

/// The three summary lines, and that each update recomputes them.
#[test]
fn update_summary_lines() {
    let t = TestEnv::new("update_summary_lines");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let one = t.reference(reg.host(), "one", "1");
    let two = t.reference(reg.host(), "two", "1");
    t.publish(&one, "v1");
    t.publish(&two, "v1");

    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), "All images are up to date.", "\n{run}");

    t.publish_remote(reg, "one", "1", "v2");
    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(
        run.last_line(),
        "1 image can be upgraded. Run 'freshen list --upgradable' to see it.",
        "\n{run}"
    );

    t.publish_remote(reg, "two", "1", "v2");
    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(
        run.last_line(),
        "2 images can be upgraded. Run 'freshen list --upgradable' to see them.",
        "\n{run}"
    );
    assert!(run.warnings().is_empty(), "\n{run}");

    // Held and skipped tags are not up to date: like apt, they are kept back, and the summary says why.
    t.freshen().args(["hold", &one]).run().expect_code(0);
    t.freshen().args(["skip", &two]).run().expect_code(0);
    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(
        run.stdout_lines(),
        vec![
            "No image can be upgraded now: 2 are kept back (1 held, 1 skipped). \
             Run 'freshen list --upgradable' to see them."
        ],
        "\n{run}"
    );
    t.freshen().args(["unhold", &one]).run().expect_code(0);
    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(
        run.stdout_lines(),
        vec![
            "1 image can be upgraded. Run 'freshen list --upgradable' to see it.",
            "1 more is kept back (1 skipped)."
        ],
        "\n{run}"
    );
}

/// Built here, never pushed, and the tag does not exist remotely.
#[test]
fn local_only() {
    let t = TestEnv::new("local_only");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "dev");
    let id = t.build(&app, "v1");

    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(0), "\n{run}");
    assert!(run.warnings().is_empty(), "\n{run}");

    let listing = t.list(&[&pattern]);
    let entry = listing.get(&app);
    assert_eq!(entry.status, "local-only", "{:#}", entry.raw);
    assert_eq!(entry.image_id, id);
    assert_eq!(entry.local_digest, None, "{:#}", entry.raw);
    assert_eq!(entry.remote_digest, None, "{:#}", entry.raw);
    assert_eq!(entry.error, None, "{:#}", entry.raw);

    t.freshen().args(["check", &pattern]).run().expect_code(0);
}

/// Built locally (no RepoDigests) under a tag that exists remotely: the
/// image Id is compared with the remote config digest.
#[test]
fn locally_built_image_whose_tag_exists_remotely() {
    let t = TestEnv::new("locally_built_tag_exists_remotely");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());

    // Same content: push it, then drop the repository's name and digest
    // and put the tag back, so the daemon no longer knows it was pushed.
    let same = t.reference(reg.host(), "app", "1");
    let keeper = format!("freshen-fixture/{}-keeper:1", t.namespace());
    let same_id = t.build(&same, "v1");
    let pushed = docker::push(&same);
    docker::tag(&same, &keeper);
    docker::untag(&same);
    docker::tag(&keeper, &same);
    docker::untag(&keeper);
    let inspect = docker::inspect(&same);
    assert_eq!(inspect.id, same_id);
    // The containerd store and podman give every local build a RepoDigest of
    // its own; only the classic store forgets the push this way.
    if !docker::engine().local_build_has_repo_digest() {
        assert!(inspect.repo_digests.is_empty(), "fixture: {:?}", inspect.repo_digests);
    }

    // Different content: the registry has another build under the tag.
    let different = t.reference(reg.host(), "app", "2");
    let remote = t.publish_remote(reg, "app", "2", "built-in-ci");
    let different_id = t.build(&different, "built-here");

    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(1), "\n{run}");

    let listing = t.list(&[&pattern]);
    let entry = listing.get(&same);
    assert_eq!(entry.status, "up-to-date", "{:#}", entry.raw);
    assert_eq!(entry.image_id, same_id);
    assert_eq!(entry.remote_digest.as_deref(), Some(pushed.as_str()));
    assert_eq!(entry.error, None);

    let entry = listing.get(&different);
    assert_eq!(entry.status, "upgradable", "{:#}", entry.raw);
    assert_eq!(entry.image_id, different_id);
    assert_eq!(entry.remote_digest.as_deref(), Some(remote.digest.as_str()));
    assert_eq!(entry.local_digest, None, "{:#}", entry.raw);
}

/// Pulled by digest only: no tag, so nothing to follow.
#[test]
fn pinned() {
    let t = TestEnv::new("pinned");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let tagged = t.reference(reg.host(), "pin", "1");
    let published = t.publish(&tagged, "v1");
    docker::untag(&tagged);
    assert!(!docker::exists(&published.id), "fixture: image removed");
    let by_digest = format!("{}/{}@{}", reg.host(), t.repo("pin"), published.digest);
    docker::pull(&by_digest);
    let inspect = docker::inspect(&by_digest);
    assert!(inspect.repo_tags.is_empty(), "fixture: {inspect:?}");

    // Even a moved tag does not make a pinned image upgradable.
    t.publish_remote(reg, "pin", "1", "v2");

    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert!(run.warnings().is_empty(), "\n{run}");

    let listing = t.list(&[&pattern]);
    assert_eq!(listing.references(), vec![by_digest.as_str()]);
    let entry = listing.get(&by_digest);
    assert_eq!(entry.status, "pinned", "{:#}", entry.raw);
    assert_eq!(entry.tag, None, "{:#}", entry.raw);
    assert_eq!(entry.registry, reg.host());
    assert_eq!(entry.repository, t.repo("pin"));
    assert_eq!(entry.image_id, published.id);
    assert_eq!(entry.local_digest.as_deref(), Some(published.digest.as_str()));

    t.freshen().args(["check", &pattern]).run().expect_code(0);
    // Pinned images are not checked against a registry: nothing to check.
    assert_eq!(run.stdout_lines(), vec!["No images to check."], "\n{run}");
}

/// Every reason a check can fail is an `unknown` verdict whose error says
/// why, one `W:` line each, and exit 1.
#[test]
fn unknown_verdicts_say_why() {
    let t = TestEnv::new("unknown_verdicts_say_why");
    let reg = registry::shared();

    // The tag was deleted from the registry.
    let gone = t.reference(reg.host(), "gone", "1");
    let published = t.publish(&gone, "v1");
    if docker::engine().local_build_has_repo_digest() {
        // There a pushed image whose tag and manifest were both deleted looks
        // exactly like a local build (both carry a RepoDigest the registry
        // lacks); only freshen's record of having seen the tag in the
        // registry tells them apart, so let an update see it first.
        t.freshen().args(["update", &t.pattern(reg.host())]).run().expect_code(0);
    }
    reg.delete_manifest(&t.repo("gone"), &published.digest);

    // Images pulled from a registry that has since begun to refuse: it
    // wants credentials, rate-limits, or fails.
    let doomed = Registry::start();
    let host = doomed.host().to_string();
    let locked = t.reference(&host, "locked", "1");
    let limited = t.reference(&host, "limited", "1");
    let broken = t.reference(&host, "broken", "1");
    for reference in [&locked, &limited, &broken] {
        t.publish(reference, "v1");
    }
    doomed.stop();
    let requests = registry::start_fake(
        &host,
        vec![
            Refusal::new(&t.repo("locked"), 401, "Unauthorized")
                .header("WWW-Authenticate", "Basic realm=\"fake\""),
            Refusal::new(&t.repo("limited"), 429, "Too Many Requests"),
            Refusal::new(&t.repo("broken"), 500, "Internal Server Error"),
        ],
    );
    let refusing = [locked, limited, broken];
    let patterns = vec![t.pattern(reg.host()), t.pattern(&host)];

    let run = t.freshen().arg("update").args(&patterns).run();
    run.expect_code(1);
    assert!(requests.load(std::sync::atomic::Ordering::SeqCst) >= 3, "the fake was asked");
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 4, "one W: line per failure\n{run}");
    for reference in std::iter::once(&gone).chain(&refusing) {
        assert!(
            warnings.iter().any(|line| line.contains(reference.as_str())),
            "no W: line names {reference}\n{run}"
        );
    }

    let listing = t.list(&patterns.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(listing.images.len(), 4, "{:?}", listing.references());
    assert_error_mentions(&listing, &gone, &["not found"]);
    assert_error_mentions(&listing, &refusing[0], &["unauthorized"]);
    assert_error_mentions(&listing, &refusing[1], &["rate limit", "rate-limit"]);
    assert_error_mentions(&listing, &refusing[2], &["500", "bad response"]);
    for entry in &listing.images {
        assert_eq!(entry.remote_digest, None, "{:#}", entry.raw);
    }

    // Retries only slow this down: the verdicts were checked above.
    t.freshen().args(["check", "--retries", "0"]).args(&patterns).run().expect_code(1);
    // Every check failed: no claim that anything is up to date.
    assert_eq!(run.stdout_lines(), vec![failed_summary(4)], "\n{run}");
}

// ---------------------------------------------------------------------------
// Several names for one image.

/// Two tags of one image are judged separately.
#[test]
fn two_tags_on_one_image() {
    let t = TestEnv::new("two_tags_on_one_image");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let stable = t.reference(reg.host(), "app", "1.0");
    let latest = t.reference(reg.host(), "app", "latest");
    let v1 = t.publish(&stable, "v1");
    docker::tag(&stable, &latest);
    assert_eq!(docker::push(&latest), v1.digest);
    let v2 = t.publish_remote(reg, "app", "latest", "v2");

    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(1), "\n{run}");

    let listing = t.list(&[&pattern]);
    assert_eq!(
        listing.statuses(),
        vec![(stable.clone(), "up-to-date".to_string()), (latest.clone(), "upgradable".to_string()),]
    );
    assert_eq!(listing.get(&stable).image_id, v1.id);
    assert_eq!(listing.get(&latest).image_id, v1.id);
    assert_eq!(listing.get(&latest).remote_digest.as_deref(), Some(v2.digest.as_str()));
}

/// One image tagged into two registries, outdated in one of them.
#[test]
fn one_image_from_two_registries() {
    let t = TestEnv::new("one_image_from_two_registries");
    let first = registry::shared();
    let second = Registry::start();
    let in_first = t.reference(first.host(), "app", "1");
    let in_second = t.reference(second.host(), "app", "1");
    let v1 = t.publish(&in_first, "v1");
    docker::tag(&in_first, &in_second);
    assert_eq!(docker::push(&in_second), v1.digest, "same manifest");
    let v2 = t.publish_remote(first, "app", "1", "v2");

    let patterns = [t.pattern(first.host()), t.pattern(second.host())];
    let run = t.freshen().arg("update").args(&patterns).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(1), "\n{run}");

    let listing = t.list(&[&patterns[0], &patterns[1]]);
    let entry = listing.get(&in_first);
    assert_eq!(entry.status, "upgradable", "{:#}", entry.raw);
    assert_eq!(entry.registry, first.host());
    assert_eq!(entry.remote_digest.as_deref(), Some(v2.digest.as_str()));
    let entry = listing.get(&in_second);
    assert_eq!(entry.status, "up-to-date", "{:#}", entry.raw);
    assert_eq!(entry.registry, second.host());
    assert_eq!(entry.remote_digest.as_deref(), Some(v1.digest.as_str()));
    assert_eq!(entry.image_id, v1.id);
}

// ---------------------------------------------------------------------------
// Failures and offline use.

/// A stopped registry makes its images unknown; the others are still
/// checked and recorded, and the run exits 1.
#[test]
fn registry_down() {
    let t = TestEnv::new("registry_down");
    let up = registry::shared();
    let down = Registry::start();
    let healthy = t.reference(up.host(), "app", "1");
    let stranded = t.reference(down.host(), "app", "1");
    let dead = registry::dead_host();
    let never = t.reference(&dead, "other", "1");
    t.publish(&healthy, "v1");
    let v2 = t.publish_remote(up, "app", "1", "v2");
    t.publish(&stranded, "v1");
    docker::tag(&stranded, &never);
    down.stop();

    let patterns = [t.pattern(up.host()), t.pattern(down.host()), t.pattern(&dead)];
    let run = t.freshen().arg("update").args(&patterns).run();
    run.expect_code(1);
    assert_last_lines(&run, &[upgradable_summary(1), failed_summary(2)]);
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 2, "\n{run}");
    for reference in [&stranded, &never] {
        assert!(
            warnings.iter().any(|line| line.contains(reference.as_str())),
            "no W: line names {reference}\n{run}"
        );
    }
    assert!(!warnings.iter().any(|line| line.contains(healthy.as_str())), "\n{run}");

    let listing = t.list(&patterns.iter().map(String::as_str).collect::<Vec<_>>());
    assert_error_mentions(&listing, &stranded, &["unreachable"]);
    assert_error_mentions(&listing, &never, &["unreachable"]);
    let entry = listing.get(&healthy);
    assert_eq!(entry.status, "upgradable", "{:#}", entry.raw);
    assert_eq!(entry.remote_digest.as_deref(), Some(v2.digest.as_str()));

    // Something is upgradable, so check reports that over the failure.
    t.freshen().arg("check").args(&patterns).run().expect_code(100);
}

/// `check` exits 0, 100 or 1, as `dnf check-update` does.
#[test]
fn check_exit_codes() {
    let t = TestEnv::new("check_exit_codes");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "1");
    t.publish(&app, "v1");

    let run = t.freshen().args(["check", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(0), "\n{run}");

    t.publish_remote(reg, "app", "1", "v2");
    let run = t.freshen().args(["check", &pattern]).run();
    run.expect_code(100);
    assert_eq!(run.last_line(), upgradable_summary(1), "\n{run}");

    // Only a failed check, nothing upgradable: 1.
    let dead = registry::dead_host();
    let unreachable = t.reference(&dead, "app", "1");
    docker::tag(&app, &unreachable);
    let run = t.freshen().args(["check", &t.pattern(&dead)]).run();
    run.expect_code(1);
    assert_eq!(run.stdout_lines(), vec![failed_summary(1)], "\n{run}");
    assert_eq!(run.warnings().len(), 1, "\n{run}");
    assert!(run.warnings()[0].contains(unreachable.as_str()), "\n{run}");

    // check recorded its findings like update does.
    let listing = t.list(&[&pattern]);
    assert_eq!(listing.get(&app).status, "upgradable");
}

/// `list` reads the state and the daemon only: it works with the registry
/// gone and reports what the last update found.
#[test]
fn list_works_offline() {
    let t = TestEnv::new("list_works_offline");
    let reg = Registry::start();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "1");
    let v1 = t.publish(&app, "v1");
    let v2 = t.publish_remote(&reg, "app", "1", "v2");
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    let before = t.list(&[&pattern]);
    reg.stop();
    // Anything that still asks the registry would be counted here.
    let requests = registry::start_fake(reg.host(), Vec::new());

    let after = t.list(&[&pattern]);
    let entry = after.get(&app);
    assert_eq!(entry.status, "upgradable", "{:#}", entry.raw);
    assert_eq!(entry.remote_digest.as_deref(), Some(v2.digest.as_str()));
    assert_eq!(entry.checked_at, before.get(&app).checked_at);
    assert_eq!(after.updated_at, before.updated_at);

    let run = t.freshen().args(["list", "--upgradable", "--format", "apt", &pattern]).run();
    run.expect_code(0);
    assert!(run.stderr.trim().is_empty(), "no warnings offline\n{run}");
    let line = run
        .stdout_lines()
        .into_iter()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_else(|| panic!("no line\n{run}"));
    // Without a known installed digest (podman after build + push) the old
    // side is the image id.
    let old = if docker::engine().push_records_digest() { &v1.digest } else { &v1.id };
    assert_apt_upgradable_line(line, &app, &v2.digest, old);

    t.freshen().args(["list", &pattern]).run().expect_code(0);
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 0, "list sent registry requests");
}

/// After `docker pull` brought the new image, `list` knows it is current
/// without another update.
#[test]
fn pulled_since_update_is_not_upgradable() {
    let t = TestEnv::new("pulled_since_update");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "1");
    t.publish(&app, "v1");
    let v2 = t.publish_remote(reg, "app", "1", "v2");
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    assert_eq!(t.list(&[&pattern]).get(&app).status, "upgradable");

    docker::pull(&app);
    let pulled = docker::inspect(&app);
    assert_eq!(pulled.id, v2.id, "fixture: pulled the new image");

    let listing = t.list(&[&pattern]);
    let entry = listing.get(&app);
    assert_eq!(entry.status, "up-to-date", "{:#}", entry.raw);
    assert_eq!(entry.image_id, v2.id);

    let run = t.freshen().args(["list", "--upgradable", "--format", "apt", &pattern]).run();
    run.expect_code(0);
    assert!(!run.stdout.contains(app.as_str()), "pulled image listed as upgradable\n{run}");
}

/// Tags the last update did not see, or whose image was replaced locally
/// since, are `unknown` and ask for `freshen update`.
#[test]
fn changes_since_update_are_unknown() {
    let t = TestEnv::new("changes_since_update");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let rebuilt = t.reference(reg.host(), "app", "1");
    let kept = t.reference(reg.host(), "db", "1");
    let rebuilt_v1 = t.publish(&rebuilt, "v1");
    let kept_v1 = t.publish(&kept, "v1");

    // Before any update nothing is known.
    let listing = t.list(&[&pattern]);
    assert_eq!(listing.updated_at, None);
    for entry in &listing.images {
        assert_eq!(entry.status, "unknown", "{:#}", entry.raw);
        assert!(entry.error_text().contains("freshen update"), "{:#}", entry.raw);
        assert_eq!(entry.checked_at, None, "{:#}", entry.raw);
        assert_eq!(entry.remote_digest, None, "{:#}", entry.raw);
    }

    t.freshen().args(["update", &pattern]).run().expect_code(0);

    let rebuilt_id = t.build(&rebuilt, "v1-rebuilt-locally");
    // The replaced image would stay behind untagged, with its digest: an
    // image of its own. Remove it so only the tags are compared here.
    docker::docker(&["rmi", &rebuilt_v1.id]);
    let added = t.reference(reg.host(), "db", "extra");
    docker::tag(&kept, &added);

    let listing = t.list(&[&pattern]);
    assert_eq!(listing.images.len(), 3, "{:?}", listing.references());
    let entry = listing.get(&rebuilt);
    assert_eq!(entry.status, "unknown", "{:#}", entry.raw);
    assert_eq!(entry.image_id, rebuilt_id);
    assert!(entry.error_text().contains("freshen update"), "{:#}", entry.raw);
    let entry = listing.get(&added);
    assert_eq!(entry.status, "unknown", "{:#}", entry.raw);
    assert!(entry.error_text().contains("freshen update"), "{:#}", entry.raw);
    let entry = listing.get(&kept);
    assert_eq!(entry.status, "up-to-date", "{:#}", entry.raw);
    assert_eq!(entry.image_id, kept_v1.id);
}

// ---------------------------------------------------------------------------
// Multi-arch.

/// An index for our platform and one other, pulled here. Returns the
/// reference, the repository and the digests of our entry and theirs.
fn pulled_multi_arch(t: &TestEnv, reg: &Registry, media_type: &str) -> (String, String, String) {
    let other = docker::other_platform();
    let ours = t.publish_remote_for(reg, "multi", "ours-v1", "ours-v1", None);
    let theirs = t.publish_remote_for(reg, "multi", "theirs-v1", "theirs-v1", Some(&other));
    let index = reg.put_index(
        &t.repo("multi"),
        "1",
        media_type,
        &[(&docker::host_platform(), &ours.digest), (&other, &theirs.digest)],
    );
    let reference = t.reference(reg.host(), "multi", "1");
    docker::pull(&reference);
    let pulled = docker::inspect(&reference);
    let engine = docker::engine();
    let name = format!("{}/{}", reg.host(), t.repo("multi"));
    assert_eq!(pulled.id, engine.pulled_index_id(&index, &ours.id), "fixture: pulled our platform");
    // Docker knows only the index digest locally; podman also our platform's
    // manifest digest (GUIDE §8).
    let mut digests = pulled.repo_digests.clone();
    digests.sort();
    assert_eq!(
        digests,
        engine.pulled_index_repo_digests(&name, &index, &ours.digest),
        "fixture: what the engine records for an index pull"
    );
    (reference, ours.digest, index)
}

/// The index changed only for another platform: no false positive.
#[test]
fn multi_arch_other_platform_changed_is_up_to_date() {
    let t = TestEnv::new("multi_arch_other_changed");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let (reference, ours, old_index) = pulled_multi_arch(&t, reg, OCI_INDEX);

    let other = docker::other_platform();
    let theirs = t.publish_remote_for(reg, "multi", "theirs-v2", "theirs-v2", Some(&other));
    let new_index = reg.put_index(
        &t.repo("multi"),
        "1",
        OCI_INDEX,
        &[(&docker::host_platform(), &ours), (&other, &theirs.digest)],
    );
    assert_ne!(new_index, old_index);

    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(0), "\n{run}");

    let listing = t.list(&[&pattern]);
    assert_eq!(listing.references(), vec![reference.as_str()]);
    let entry = listing.get(&reference);
    assert_eq!(entry.status, "up-to-date", "{:#}", entry.raw);
    assert_eq!(entry.local_digest.as_deref(), Some(old_index.as_str()));
    assert_eq!(entry.error, None);

    t.freshen().args(["check", &pattern]).run().expect_code(0);
}

/// The index changed for our platform: upgradable.
#[test]
fn multi_arch_our_platform_changed_is_upgradable() {
    let t = TestEnv::new("multi_arch_ours_changed");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let (reference, _ours, old_index) = pulled_multi_arch(&t, reg, DOCKER_LIST);

    let other = docker::other_platform();
    let ours = t.publish_remote_for(reg, "multi", "ours-v2", "ours-v2", None);
    let new_index = reg.put_index(
        &t.repo("multi"),
        "1",
        DOCKER_LIST,
        &[(&docker::host_platform(), &ours.digest), (&other, "theirs-v1")],
    );

    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), upgradable_summary(1), "\n{run}");

    let listing = t.list(&[&pattern]);
    let entry = listing.get(&reference);
    assert_eq!(entry.status, "upgradable", "{:#}", entry.raw);
    assert_eq!(entry.local_digest.as_deref(), Some(old_index.as_str()));
    assert_eq!(entry.remote_digest.as_deref(), Some(new_index.as_str()));

    t.freshen().args(["check", &pattern]).run().expect_code(100);
}

// ---------------------------------------------------------------------------
// State.

/// The state outlives the process that wrote it, lives where
/// FRESHEN_STATE_DIR / --state-dir say, and each update rewrites it.
#[test]
fn state_survives_and_update_rewrites_it() {
    let t = TestEnv::new("state_survives");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "1");
    t.publish(&app, "v1");

    assert!(t.state_files().is_empty(), "{:?}", t.state_files());
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    let files = t.state_files();
    assert!(!files.is_empty(), "update wrote nothing under the state dir");
    let read_all = |files: &[std::path::PathBuf]| -> Vec<Vec<u8>> {
        files.iter().map(|f| std::fs::read(f).unwrap()).collect()
    };
    let first_bytes = read_all(&files);
    let first = t.list(&[&pattern]);
    assert_eq!(first.get(&app).status, "up-to-date");
    let first_time = first.updated_at.clone().expect("updated_at");

    // Whole-second timestamps must be able to move forward.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let v2 = t.publish_remote(reg, "app", "1", "v2");
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    assert_ne!(read_all(&t.state_files()), first_bytes, "update did not rewrite the state");
    let second = t.list(&[&pattern]);
    let entry = second.get(&app);
    assert_eq!(entry.status, "upgradable", "{:#}", entry.raw);
    assert_eq!(entry.remote_digest.as_deref(), Some(v2.digest.as_str()));
    let parse = |text: &str| {
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    };
    let second_time = second.updated_at.clone().expect("updated_at");
    assert!(parse(&second_time) > parse(&first_time), "updated_at {second_time} not after {first_time}");

    // Another state directory (by flag) knows nothing of this one.
    let elsewhere = tempfile::tempdir().unwrap();
    let run = t
        .freshen()
        .arg("--state-dir")
        .arg(elsewhere.path().to_str().unwrap())
        .args(["list", "--format", "json", &pattern])
        .run();
    run.expect_code(0);
    let listing = Listing::parse(&run.stdout);
    assert_eq!(listing.updated_at, None, "\n{run}");
    assert_eq!(listing.get(&app).status, "unknown");
    assert_eq!(t.list(&[&pattern]).get(&app).status, "upgradable", "the default state dir is untouched");
}

// ---------------------------------------------------------------------------
// Command line.

/// Patterns select by full reference, familiar form or repository, with
/// `*` and `?`; Docker Hub names are normalised.
#[test]
fn patterns_select_images() {
    let t = TestEnv::new("patterns_select_images");
    let reg = registry::shared();
    let one = t.reference(reg.host(), "app", "1");
    let ten = t.reference(reg.host(), "app", "10");
    let db = t.reference(reg.host(), "db", "1");
    let hub_familiar = format!("freshen-test/{}/hub:1", t.namespace());
    let hub = format!("docker.io/{hub_familiar}");
    t.build(&one, "v1");
    docker::tag(&one, &ten);
    t.build(&db, "v1");
    t.build(&hub_familiar, "v1");

    let references = |patterns: &[&str]| -> Vec<String> {
        t.list(patterns).references().into_iter().map(str::to_string).collect()
    };
    let app_repository = format!("{}/{}", reg.host(), t.repo("app"));
    assert_eq!(references(&[&app_repository]), vec![one.clone(), ten.clone()]);
    assert_eq!(references(&[&format!("{app_repository}:?")]), vec![one.clone()]);
    assert_eq!(
        references(&[&format!("{}/{}/*:1", reg.host(), t.namespace())]),
        vec![one.clone(), db.clone()]
    );
    assert_eq!(references(&[&db, &ten]), vec![ten.clone(), db.clone()]);
    assert_eq!(references(&[&hub_familiar]), vec![hub.clone()]);
    assert_eq!(references(&[&hub]), vec![hub.clone()]);
    assert_eq!(references(&[&format!("freshen-test/{}/*", t.namespace())]), vec![hub.clone()]);
    let listing = t.list(&[&hub_familiar]);
    let entry = listing.get(&hub);
    assert_eq!(entry.registry, "docker.io");
    assert_eq!(entry.repository, format!("freshen-test/{}/hub", t.namespace()));
    assert_eq!(entry.tag.as_deref(), Some("1"));
    assert!(references(&[&format!("{}/{}/nothing*", reg.host(), t.namespace())]).is_empty());
}

/// A wrong command line exits 2.
#[test]
fn usage_errors_exit_2() {
    let t = TestEnv::new("usage_errors");
    for args in [vec!["frobnicate"], vec!["list", "--format", "yaml"], vec!["update", "--no-such-flag"]] {
        let run = t.freshen().args(&args).run();
        run.expect_code(2);
        assert!(run.stdout.is_empty(), "usage errors go to stderr\n{run}");
        assert!(!run.stderr.is_empty(), "\n{run}");
    }
}

/// DOCKER_HOST is honoured: a daemon that is not there is an error that
/// names it, not a silent fallback to the default socket.
#[test]
fn docker_host_is_honoured() {
    let t = TestEnv::new("docker_host");
    let missing = t.state_dir().join("no-daemon.sock");
    let run = t
        .freshen()
        .env("DOCKER_HOST", format!("unix://{}", missing.display()))
        .args(["list", "--format", "json"])
        .run();
    run.expect_code(1);
    assert!(run.stdout.is_empty(), "\n{run}");
    assert!(run.stderr.contains("no-daemon.sock"), "the error names the socket\n{run}");

    let dead = registry::dead_host();
    let run =
        t.freshen().env("DOCKER_HOST", format!("tcp://{dead}")).args(["list", "--format", "json"]).run();
    run.expect_code(1);
    assert!(run.stderr.contains(&dead), "the error names the address\n{run}");

    let reg = registry::shared();
    let app = t.reference(reg.host(), "app", "1");
    t.build(&app, "v1");
    let default_host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let listing = Listing::parse(
        &t.freshen()
            .env("DOCKER_HOST", default_host)
            .args(["list", "--format", "json", &t.pattern(reg.host())])
            .run()
            .expect_code(0)
            .stdout,
    );
    assert_eq!(listing.references(), vec![app.as_str()]);
}

/// A registry that refuses connections is given up on after the first
/// image's retries: its other images fail at once with the same reason
/// instead of each waiting through its own retries.
#[test]
fn a_refusing_registry_costs_one_request_s_retries() {
    let t = TestEnv::new("refusing_registry_fails_fast");
    let up = registry::shared();
    let source = t.reference(up.host(), "app", "1");
    t.publish(&source, "v1");
    let dead = registry::dead_host();
    let stranded: Vec<String> = (0..6).map(|i| t.reference(&dead, &format!("app{i}"), "1")).collect();
    for r in &stranded {
        docker::tag(&source, r);
    }

    let run = t.freshen().args(["-v", "update", "--retries", "1", &t.pattern(&dead)]).run();
    run.expect_code(1);
    // One image: a plain-HTTP try, an HTTPS try, one retry. The five others: none.
    assert!(run.stderr.lines().any(|l| l == "3 registry requests for 6 images"), "\n{run}");
    assert_eq!(run.stdout_lines(), vec![failed_summary(6)], "\n{run}");
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 1, "one line for the registry's images\n{run}");
    assert!(warnings[0].contains("and 5 more: unreachable: cannot reach"), "\n{run}");
}
