//! Versions against the real registry: newer tags within and beyond a
//! policy, suffixes kept, labels shown as versions, `freshen policy`, and
//! tag listings from a registry that pages (a proxy that implements `n`,
//! `last` and `Link` on top of the real list), one that does not (registry
//! 2.8 as it is) and one that never ends its list.

// The harness is shared by several test binaries and each uses only part
// of it; what this binary leaves unused is used by tests/cli.rs.
#[allow(dead_code)]
mod support;

/// A fixture image holding `content`, with `--label KEY=VALUE` for each
/// label, tagged `tag`. The test's namespace in the tag gets it cleaned up.
fn build_labeled(tag: &str, content: &str, labels: &[(&str, &str)]) -> String {
    docker::build_labeled(tag, &format!("{tag} {content}\n"), labels)
}

/// Builds and pushes a labelled image: a local image from the registry.
fn publish_labeled(reference: &str, version: &str, labels: &[(&str, &str)]) -> Published {
    let id = build_labeled(reference, version, labels);
    Published { id, digest: docker::push(reference) }
}

/// Makes the registry's `name:tag` hold a new labelled image without
/// leaving it on the host: built under a scratch tag, pushed, the tag moved
/// in the registry, the local copy removed.
fn publish_remote_labeled(
    t: &TestEnv,
    reg: &Registry,
    name: &str,
    tag: &str,
    version: &str,
    labels: &[(&str, &str)],
) -> Published {
    let scratch_tag = format!("scratch-{}", tag.replace('.', "-"));
    let scratch = t.reference(reg.host(), name, &scratch_tag);
    let id = build_labeled(&scratch, version, labels);
    docker::push(&scratch);
    let digest = reg.copy_tag(&t.repo(name), &scratch_tag, tag);
    docker::untag(&scratch);
    Published { id, digest }
}

/// A config file with `text`, in a directory that lives as long as the test.
struct Config {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Config {
    fn new(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        Config { _dir: dir, path }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use serde_json::{json, Value};
use support::registry::{self, Registry};
use support::{docker, http, Published, Run, TestEnv};

const VERSION: &str = "org.opencontainers.image.version";
const REVISION: &str = "org.opencontainers.image.revision";
const SOURCE: &str = "org.opencontainers.image.source";

/// A repository shaped like postgres's: the local `app:16.2` (also tagged
/// `16.2-alpine` and `latest`), remote-only `16.4` and `17.0` images with
/// their own labels, and copies of 16.2 under tags that must never be
/// candidates (other suffixes, pre-releases, hashes, CalVer, one-component
/// versions). Returns the local reference and the 16.4 digest.
fn postgres_like(t: &TestEnv, host: &str) -> (String, String) {
    let reg = registry::shared();
    let app = t.reference(host, "app", "16.2");
    publish_labeled(
        &app,
        "16.2",
        &[(VERSION, "16.2"), (REVISION, "abc123"), (SOURCE, "https://example.test/app")],
    );
    for tag in ["16.2-alpine", "latest"] {
        let other = t.reference(host, "app", tag);
        docker::tag(&app, &other);
        docker::push(&other);
    }
    let v164 =
        publish_remote_labeled(t, reg, "app", "16.4", "16.4", &[(VERSION, "16.4"), (REVISION, "def456")]);
    publish_remote_labeled(t, reg, "app", "17.0", "17.0", &[(VERSION, "17.0")]);
    for tag in
        ["16.3", "16.4-alpine", "17.0-alpine", "17.1-rc1", "18beta1", "sha-1a2b3c4", "2024.1", "16", "17"]
    {
        reg.copy_tag(&t.repo("app"), "16.2", tag);
    }
    (app, v164.digest)
}

fn field<'a>(listing: &'a support::Listing, reference: &str, key: &str) -> &'a Value {
    let entry = listing.get(reference);
    entry.raw.get(key).unwrap_or_else(|| panic!("{key} missing in {:#}", entry.raw))
}

/// The five version fields of one entry, as JSON.
fn versions(listing: &support::Listing, reference: &str) -> [Value; 5] {
    ["current_version", "candidate_version", "candidate_tag", "update_level", "newest_tag"]
        .map(|k| field(listing, reference, k).clone())
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// Lines of stderr from `-v` that are tag-list requests.
fn tag_list_requests(run: &Run) -> usize {
    run.stderr.lines().filter(|l| l.starts_with("GET ") && l.contains("/tags/list")).count()
}

/// The upgrade plan names the versions `list` knows (`7.2.4 => 7.3.0`, from
/// the images' version labels), not two image IDs.
#[test]
fn the_upgrade_plan_names_versions() {
    let t = TestEnv::new("plan_names_versions");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let cache = t.reference(reg.host(), "cache", "7");
    publish_labeled(&cache, "7.2.4", &[(VERSION, "7.2.4")]);
    publish_remote_labeled(&t, reg, "cache", "7", "7.3.0", &[(VERSION, "7.3.0")]);
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    let listing = t.list(&[&pattern]);
    assert_eq!(field(&listing, &cache, "current_version"), &s("7.2.4"));

    let run = t.freshen().args(["upgrade", "-s", &pattern]).run();
    run.expect_code(0);
    let lines = run.stdout_lines();
    assert_eq!(
        lines[..2],
        ["The following images will be upgraded:", &format!("  {cache} (7.2.4 => 7.3.0)")],
        "\n{run}"
    );
}

/// A tag that moved says its repository changed: a listing cached an hour
/// ago may lack the version pushed with it, so the same run lists again
/// (once: a tag that stays upgradable to the same image costs nothing more).
/// `--refresh-tags` lists every repository now.
#[test]
fn a_moved_tag_makes_its_repositorys_listing_stale() {
    let t = TestEnv::new("moved_tag_relists");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let app = t.reference(reg.host(), "app", "1.0");
    t.publish(&app, "1.0");
    let run = t.freshen().args(["-v", "update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(tag_list_requests(&run), 1, "\n{run}");

    // 1.0 is rebuilt and 1.1 pushed beside it, within the listing's TTL.
    t.publish_remote(reg, "app", "1.0", "1.0 rebuilt");
    t.publish_remote(reg, "app", "1.1", "1.1");
    let run = t.freshen().args(["-v", "update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(tag_list_requests(&run), 1, "the moved tag's repository is listed again\n{run}");
    assert_eq!(field(&t.list(&[&pattern]), &app, "newest_tag"), &s("1.1"));
    let run = t.freshen().args(["-v", "update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(tag_list_requests(&run), 0, "nothing moved since\n{run}");

    let run = t.freshen().args(["-v", "update", "--refresh-tags", &pattern]).run();
    run.expect_code(0);
    assert_eq!(tag_list_requests(&run), 1, "--refresh-tags lists now\n{run}");
}

#[test]
fn newest_candidate_within_policy_and_overall() {
    let t = TestEnv::new("newest_candidate_within_policy_and_overall");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let (app, _) = postgres_like(&t, reg.host());
    let alpine = t.reference(reg.host(), "app", "16.2-alpine");
    let latest = t.reference(reg.host(), "app", "latest");

    // Registry 2.8 ignores `n`: one request lists every tag.
    let run = t.freshen().args(["-v", "update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), "All images are up to date.", "\n{run}");
    assert_eq!(tag_list_requests(&run), 1, "one listing for the repository\n{run}");
    assert!(
        run.stderr.lines().any(|l| l == "1 tag list listed, 0 image configs read"),
        "up-to-date images cost no config reads\n{run}"
    );

    let listing = t.list(&[&pattern]);
    // Default policy: every level; the newest tag is 17.0 (not 17, 2024.1,
    // 17.1-rc1 or 18beta1).
    assert_eq!(versions(&listing, &app), [s("16.2"), s("17.0"), s("17.0"), s("major"), s("17.0")]);
    // The suffix is kept: -alpine moves to -alpine. The current version is
    // the image's label, which says 16.2.
    assert_eq!(
        versions(&listing, &alpine),
        [s("16.2"), s("17.0-alpine"), s("17.0-alpine"), s("major"), s("17.0-alpine")]
    );
    // `latest` is no version: digest only, but its label still tells the version.
    assert_eq!(versions(&listing, &latest), [s("16.2"), Value::Null, Value::Null, Value::Null, Value::Null]);

    // The listing is cached: a second update does not list again.
    let run = t.freshen().args(["-v", "update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(tag_list_requests(&run), 0, "\n{run}");

    // A policy in the config file applies at once, offline.
    let familiar_pattern = format!("{}/{}/app", reg.host(), t.namespace());
    let config = Config::new(&format!("[images.\"{familiar_pattern}\"]\npolicy = \"minor\"\n"));
    let run =
        t.freshen().args(["list", "--format", "json", &pattern]).env("FRESHEN_CONFIG", config.path()).run();
    run.expect_code(0);
    let listing = support::Listing::parse(&run.stdout);
    assert_eq!(versions(&listing, &app), [s("16.2"), s("16.4"), s("16.4"), s("minor"), s("17.0")]);
    let run = t.freshen().args(["list", &pattern]).env("FRESHEN_CONFIG", config.path()).run();
    run.expect_code(0);
    let row =
        run.stdout.lines().find(|l| l.starts_with(&format!("{app} "))).unwrap_or_else(|| panic!("{run}"));
    assert!(row.ends_with("16.4 (minor), 17.0 (major) beyond policy"), "{row:?}\n{run}");

    // Exclude patterns skip tags; include patterns keep to a series.
    let config = Config::new(&format!(
        "[images.\"{familiar_pattern}\"]\npolicy = \"minor\"\nexclude = [\"16.4*\"]\n\
         [images.\"{pattern}\"]\ninclude = [\"nothing\"]\n"
    ));
    let run =
        t.freshen().args(["list", "--format", "json", &pattern]).env("FRESHEN_CONFIG", config.path()).run();
    run.expect_code(0);
    let listing = support::Listing::parse(&run.stdout);
    // The repository's own section is more specific than the namespace's.
    assert_eq!(versions(&listing, &app), [s("16.2"), s("16.3"), s("16.3"), s("minor"), s("17.0")]);

    // With a TTL of 0 every update lists again.
    let config = Config::new("tag_cache_ttl = 0\n");
    let run = t.freshen().args(["-v", "update", &pattern]).env("FRESHEN_CONFIG", config.path()).run();
    run.expect_code(0);
    assert_eq!(tag_list_requests(&run), 1, "\n{run}");
}

/// The tag listings go beside the HEADs (issue 13), not in a round of
/// their own after the last check: with two requests in flight and a
/// dozen tags to check, the listing (queued for the first free slot once
/// the registry has answered) is answered before the last HEAD is. One
/// listing per repository, whatever the number of its version tags.
#[test]
fn tag_listings_go_beside_the_checks() {
    let t = TestEnv::new("tag_listings_beside_checks");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let first = t.reference(reg.host(), "app", "1.0.0");
    t.publish(&first, "v1");
    for patch in 1..12 {
        let other = t.reference(reg.host(), "app", &format!("1.0.{patch}"));
        docker::tag(&first, &other);
        docker::push(&other);
    }
    let run = t.freshen().args(["-v", "update", "--concurrency", "2", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), "All images are up to date.", "\n{run}");
    let requests: Vec<&str> =
        run.stderr.lines().filter(|l| l.starts_with("GET ") || l.starts_with("HEAD ")).collect();
    assert_eq!(tag_list_requests(&run), 1, "one listing for the repository\n{run}");
    let listing = requests.iter().position(|l| l.contains("/tags/list")).unwrap();
    let last_head = requests.iter().rposition(|l| l.starts_with("HEAD ")).unwrap();
    assert!(listing < last_head, "the listing waited for the checks\n{run}");
    assert!(requests[0].starts_with("HEAD "), "the registry answers a check first\n{run}");
}

#[test]
fn moved_tag_shows_versions_not_digests() {
    let t = TestEnv::new("moved_tag_shows_versions_not_digests");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let web = t.reference(reg.host(), "web", "1.27");
    let old = publish_labeled(&web, "1.27.3", &[(VERSION, "1.27.3")]);
    let new = publish_remote_labeled(&t, reg, "web", "1.27", "1.27.4", &[(VERSION, "1.27.4")]);

    let run = t.freshen().args(["-v", "update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), support::upgradable_summary(1), "\n{run}");
    assert!(run.stderr.lines().any(|l| l == "1 tag list listed, 1 image config read"), "\n{run}");

    let listing = t.list(&[&pattern]);
    assert_eq!(listing.get(&web).status, "upgradable");
    assert_eq!(versions(&listing, &web), [s("1.27.3"), s("1.27.4"), Value::Null, s("digest"), Value::Null]);

    let run = t.freshen().args(["list", "--upgradable", "--format", "apt", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.stdout_lines(), vec![format!("{web} 1.27.4 [upgradable from: 1.27.3]")], "\n{run}");

    // The config was read once; a second update reads it from the cache.
    let run = t.freshen().args(["-v", "update", &pattern]).run();
    run.expect_code(0);
    assert!(run.stderr.lines().any(|l| l == "0 tag lists listed, 0 image configs read"), "\n{run}");

    // `policy` shows both sides by version, and the new image as a digest move.
    let run = t.freshen().args(["policy", &web]).run();
    run.expect_code(0);
    let lines = run.stdout_lines();
    let created: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("    Created: ")).collect();
    assert_eq!(created.len(), 2, "\n{run}");
    let expected = vec![
        format!("{web}:"),
        "  Installed: 1.27.3".to_string(),
        "    Tag: 1.27".to_string(),
        format!("    Digest: {}", old.digest),
        format!("    Created: {}", created[0]),
        "  Candidate: 1.27.4".to_string(),
        "    Tag: 1.27".to_string(),
        format!("    Digest: {}", new.digest),
        format!("    Created: {}", created[1]),
        "  Policy: all levels (default)".to_string(),
        "  Tag upgrade: none".to_string(),
        "  Version table:".to_string(),
        "     1.27  digest".to_string(),
        " *** 1.27  installed".to_string(),
    ];
    // podman does not record the digest it pushed, and the tag has moved
    // on: the installed digest is unknown there and no Digest line is shown.
    let expected: Vec<String> = if docker::engine().push_records_digest() {
        expected
    } else {
        let installed_digest = format!("    Digest: {}", old.digest);
        expected.into_iter().filter(|l| *l != installed_digest).collect()
    };
    assert_eq!(lines, expected, "\n{run}");
}

#[test]
fn policy_shows_installed_candidate_and_version_table() {
    let t = TestEnv::new("policy_shows_installed_candidate_and_version_table");
    let reg = registry::shared();
    let (app, v164) = postgres_like(&t, reg.host());
    let config = Config::new(&format!("[images.\"{}\"]\npolicy = \"minor\"\n", t.pattern(reg.host())));
    let run = t.freshen().args(["policy", &app]).env("FRESHEN_CONFIG", config.path()).run();
    run.expect_code(0);
    let local = docker::inspect(&app);
    let local_digest = local.repo_digests[0].split_once('@').unwrap().1.to_string();
    let lines = run.stdout_lines();
    let created: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("    Created: ")).collect();
    assert_eq!(created.len(), 2, "both sides have a created date\n{run}");
    for c in &created {
        support::assert_rfc3339(c);
    }
    let expected = vec![
        format!("{app}:"),
        "  Installed: 16.2".to_string(),
        "    Tag: 16.2".to_string(),
        format!("    Digest: {local_digest}"),
        format!("    Created: {}", created[0]),
        "    Revision: abc123".to_string(),
        "    Source: https://example.test/app".to_string(),
        "  Candidate: 16.4".to_string(),
        "    Tag: 16.4".to_string(),
        format!("    Digest: {v164}"),
        format!("    Created: {}", created[1]),
        "    Revision: def456".to_string(),
        format!("  Policy: up to minor (config [images.\"{}\"])", t.pattern(reg.host())),
        "  Tag upgrade: 16.2 → 16.4 (minor)".to_string(),
        "  Version table:".to_string(),
        "     17.0  major  beyond policy".to_string(),
        "     16.4  minor".to_string(),
        "     16.3  minor".to_string(),
        " *** 16.2  installed".to_string(),
    ];
    assert_eq!(lines, expected, "\n{run}");

    // The listing it made is cached for `list` (after an update records verdicts).
    let run = t.freshen().args(["-v", "update", &t.pattern(reg.host())]).run();
    run.expect_code(0);
    assert_eq!(tag_list_requests(&run), 0, "policy's listing is reused\n{run}");

    // Not a version tag: followed by digest; held images say so.
    let latest = t.reference(reg.host(), "app", "latest");
    let config = Config::new(&format!("[images.\"{}\"]\nhold = true\n", t.pattern(reg.host())));
    let run = t.freshen().args(["policy", &latest]).env("FRESHEN_CONFIG", config.path()).run();
    run.expect_code(0);
    let lines = run.stdout_lines();
    assert_eq!(lines[1], "  Installed: 16.2", "\n{run}");
    assert!(lines.contains(&"  Candidate: 16.2"), "the installed image is current\n{run}");
    assert!(
        lines.contains(
            &format!("  Policy: all levels, held (config [images.\"{}\"])", t.pattern(reg.host())).as_str()
        ),
        "\n{run}"
    );
    assert!(lines.contains(&"  Tag upgrade: none (held)"), "\n{run}");
    assert_eq!(
        lines.last().copied(),
        Some(" *** latest  installed (not a version: followed by digest)"),
        "\n{run}"
    );
}

/// The full tag list of a repository, straight from the registry.
fn registry_tags(host: &str, repo: &str) -> Vec<String> {
    let r = http::request("GET", host, &format!("/v2/{repo}/tags/list"), &[], b"").unwrap();
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    v["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect()
}

#[test]
fn paged_listing_is_followed() {
    let t = TestEnv::new("paged_listing_is_followed");
    let reg = registry::shared();
    let (app, _) = postgres_like(&t, reg.host());
    let (proxy, pages) = start_paging_proxy(reg.host(), Paging::Pages(3));
    // The same image under the proxy's name: checked through the proxy.
    let via_proxy = t.reference(&proxy, "app", "16.2");
    docker::tag(&app, &via_proxy);
    let pattern = t.pattern(&proxy);

    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), "All images are up to date.", "\n{run}");
    let total = registry_tags(reg.host(), &t.repo("app")).len();
    assert!(total > 9, "{total} tags");
    assert_eq!(pages.load(Ordering::SeqCst), total.div_ceil(3), "every page once");
    let listing = t.list(&[&pattern]);
    assert_eq!(versions(&listing, &via_proxy), [s("16.2"), s("17.0"), s("17.0"), s("major"), s("17.0")]);
    docker::untag(&via_proxy);
}

#[test]
fn endless_listing_is_cut_off() {
    let t = TestEnv::new("endless_listing_is_cut_off");
    let reg = registry::shared();
    let (app, _) = postgres_like(&t, reg.host());
    let (proxy, pages) = start_paging_proxy(reg.host(), Paging::Endless(4));
    let via_proxy = t.reference(&proxy, "app", "16.2");
    docker::tag(&app, &via_proxy);
    let pattern = t.pattern(&proxy);

    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    // The second page brought nothing new: freshen stopped there and kept
    // what it had (the first four tags in order: 16, 16.2, 16.2-alpine, 16.3).
    assert_eq!(pages.load(Ordering::SeqCst), 2);
    let listing = t.list(&[&pattern]);
    assert_eq!(versions(&listing, &via_proxy), [s("16.2"), s("16.3"), s("16.3"), s("minor"), s("16.3")]);
    docker::untag(&via_proxy);
}

#[test]
fn failed_listing_is_a_warning_not_a_failure() {
    let t = TestEnv::new("failed_listing_is_a_warning_not_a_failure");
    let reg = registry::shared();
    let (app, _) = postgres_like(&t, reg.host());
    let (proxy, pages) = start_paging_proxy(reg.host(), Paging::Missing);
    let via_proxy = t.reference(&proxy, "app", "16.2");
    docker::tag(&app, &via_proxy);
    let pattern = t.pattern(&proxy);

    let run = t.freshen().args(["update", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.last_line(), "All images are up to date.", "\n{run}");
    assert_eq!(
        run.warnings(),
        vec![format!(
            "W: cannot list the tags of {proxy}/{repo}: not found: {proxy}/{repo} has no tag list",
            repo = t.repo("app")
        )],
        "\n{run}"
    );
    assert_eq!(pages.load(Ordering::SeqCst), 1);
    let listing = t.list(&[&pattern]);
    assert_eq!(listing.get(&via_proxy).status, "up-to-date");
    assert_eq!(
        versions(&listing, &via_proxy),
        [s("16.2"), Value::Null, Value::Null, Value::Null, Value::Null]
    );
    docker::untag(&via_proxy);
}

#[test]
fn bad_image_section_names_file_line_and_key() {
    let t = TestEnv::new("bad_image_section_names_file_line_and_key");
    let config = Config::new("retries = 2\n[images.\"postgres\"]\npolicy = \"minorr\"\n");
    let run = t.freshen().args(["list"]).env("FRESHEN_CONFIG", config.path()).run();
    run.expect_code(1);
    assert_eq!(
        run.stderr.trim_end(),
        format!(
            "freshen: config file {}: line 3, key 'policy': unknown variant `minorr`, expected one of `digest`, `patch`, `minor`, `major`",
            config.path()
        ),
        "\n{run}"
    );
    let config = Config::new("[images.\"postgres\"]\nhold = \"yes\"\n");
    let run = t.freshen().args(["list"]).env("FRESHEN_CONFIG", config.path()).run();
    run.expect_code(1);
    assert!(
        run.stderr.starts_with(&format!("freshen: config file {}: line 2, key 'hold': ", config.path())),
        "\n{run}"
    );
}

// ---------------------------------------------------------------------------
// A paging proxy in front of the real registry.

/// How a [`start_paging_proxy`] pages tag listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Paging {
    /// At most `page` tags per answer, sorted, with `n`/`last` honoured and
    /// a `Link: <…>; rel="next"` to the rest (alternately relative and
    /// absolute), as Docker Hub and newer registries do.
    Pages(usize),
    /// A broken server: every answer holds the first `page` tags and a
    /// `Link` to yet another page, for ever.
    Endless(usize),
    /// No tag listing at all: 404, as some registries answer.
    Missing,
}

/// Starts a proxy on a free loopback port in front of the real registry
/// `upstream`: every request is passed through unchanged except tag
/// listings, which it pages itself on top of the registry's full list
/// (registry 2.8 ignores `n` and `last`). Returns the proxy's host and the
/// number of tag-list pages it has served. Serves until the test process
/// exits.
fn start_paging_proxy(upstream: &str, paging: Paging) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let host = listener.local_addr().unwrap().to_string();
    let pages = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pages);
    let upstream = upstream.to_string();
    let me = host.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counter = Arc::clone(&counter);
            let upstream = upstream.clone();
            let me = me.clone();
            thread::spawn(move || serve_proxy(stream, &upstream, &me, paging, &counter));
        }
    });
    (host, pages)
}

fn serve_proxy(stream: TcpStream, upstream: &str, me: &str, paging: Paging, pages: &AtomicUsize) {
    registry::serve_requests(stream, |head| proxy_answer(head, upstream, me, paging, pages));
}

fn proxy_answer(head: &str, upstream: &str, me: &str, paging: Paging, pages: &AtomicUsize) -> Vec<u8> {
    let mut lines = head.split("\r\n");
    let mut words = lines.next().unwrap_or_default().split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let target = words.next().unwrap_or_default().to_string();
    let accept = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("accept"))
        .map(|(_, v)| v.trim().to_string());
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut extra: Vec<(String, String)> = Vec::new();
    let (status, content_type, digest, body, length) = if paging == Paging::Missing
        && path.ends_with("/tags/list")
    {
        pages.fetch_add(1, Ordering::SeqCst);
        let body = br#"{"errors":[{"code":"NAME_UNKNOWN","message":"no"}]}"#.to_vec();
        let length = body.len();
        (404, Some("application/json".to_string()), None, body, length)
    } else if method == "GET" && path.ends_with("/tags/list") {
        pages.fetch_add(1, Ordering::SeqCst);
        let full = http::request("GET", upstream, path, &[], b"").expect("upstream tag list");
        let value: Value = serde_json::from_slice(&full.body).expect("upstream tag list is JSON");
        let mut tags: Vec<String> = value["tags"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
            .unwrap_or_default();
        tags.sort();
        let param = |name: &str| {
            query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
        };
        let n: usize = param("n").and_then(|n| n.parse().ok()).unwrap_or(usize::MAX);
        let served = pages.load(Ordering::SeqCst);
        let page_tags: Vec<String> = match paging {
            Paging::Pages(size) => {
                let after: Vec<String> = match param("last") {
                    Some(last) => tags.into_iter().filter(|t| t.as_str() > last).collect(),
                    None => tags,
                };
                let take = size.min(n);
                if after.len() > take {
                    let last = &after[take - 1];
                    let link = format!("{path}?n={n}&last={last}");
                    let link = if served.is_multiple_of(2) { format!("http://{me}{link}") } else { link };
                    extra.push(("Link".into(), format!("<{link}>; rel=\"next\"")));
                }
                after.into_iter().take(take).collect()
            }
            Paging::Missing => unreachable!("answered above"),
            Paging::Endless(size) => {
                extra.push(("Link".into(), format!("<{path}?n={n}&last=loop{served}>; rel=\"next\"")));
                tags.into_iter().take(size).collect()
            }
        };
        let name = path.trim_start_matches("/v2/").trim_end_matches("/tags/list");
        let body = serde_json::to_vec(&json!({ "name": name, "tags": page_tags })).unwrap();
        let length = body.len();
        (200, Some("application/json".to_string()), None, body, length)
    } else {
        let headers: Vec<(&str, &str)> = accept.as_deref().map(|a| vec![("Accept", a)]).unwrap_or_default();
        let r = http::request(&method, upstream, &target, &headers, b"").expect("upstream answers");
        let length = match r.header("Content-Length").and_then(|l| l.parse().ok()) {
            Some(l) if method == "HEAD" => l,
            _ => r.body.len(),
        };
        let content_type = r.header("Content-Type").map(String::from);
        let digest = r.header("Docker-Content-Digest").map(String::from);
        let body = if method == "HEAD" { Vec::new() } else { r.body.clone() };
        (r.status, content_type, digest, body, length)
    };
    let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {length}\r\n");
    if let Some(c) = content_type {
        out.push_str(&format!("Content-Type: {c}\r\n"));
    }
    if let Some(d) = digest {
        out.push_str(&format!("Docker-Content-Digest: {d}\r\n"));
    }
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    bytes
}

/// `upgrade --tags` pulls the newest newer tag within the policy next to
/// the old one; the old tag's version is retired with its now obsolete tags
/// once nothing else names or uses it.
#[test]
fn upgrade_tags_moves_to_the_newer_tag_and_retires_the_old_one() {
    let t = TestEnv::new("upgrade_tags_moves_to_the_newer_tag");
    let reg = registry::shared();
    let pattern = t.pattern(reg.host());
    let (app, v164_digest) = postgres_like(&t, reg.host());
    let old_id = docker::inspect(&app).id;
    // Only 16.2 names the old image here (the fixture's 16.4-alpine is a
    // copy of 16.2, so moving 16.2-alpine would keep the image).
    docker::untag(&t.reference(reg.host(), "app", "latest"));
    docker::untag(&t.reference(reg.host(), "app", "16.2-alpine"));
    let config =
        Config::new(&format!("[images.\"{}/{}/*\"]\npolicy = \"minor\"\n", reg.host(), t.namespace()));
    let with_config = || t.freshen().env("FRESHEN_CONFIG", config.path());
    with_config().args(["update", &pattern]).run().expect_code(0);

    let run = with_config().args(["upgrade", "--tags", "-y", &pattern]).run();
    run.expect_code(0);
    let new = t.reference(reg.host(), "app", "16.4");
    let lines = run.stdout_lines();
    let plan = [
        "The following tags will be moved to newer versions:".to_string(),
        format!("  {app} => {new} (minor)"),
        "The following images will be retired:".to_string(),
        format!("  {app} ({})", &old_id[7..19]),
        "1 upgraded, 1 to retire, 0 kept back.".to_string(),
    ];
    assert_eq!(lines[..plan.len()], plan, "\n{run}");
    assert_eq!(run.last_line(), "1 upgraded, 1 retired, 0 kept back.", "\n{run}");
    // The newer tag is here, at what the registry lists for it.
    assert!(docker::inspect(&new).repo_digests.iter().any(|d| d.ends_with(&v164_digest)), "\n{run}");
    // The old version went, and its obsolete tag with it.
    assert!(!docker::exists(&app), "\n{run}");
    assert!(!docker::exists(&old_id));
    let listing = t.list(&[&pattern]);
    assert_eq!(listing.get(&new).status, "up-to-date");
}
