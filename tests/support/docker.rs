//! Driving the shared Docker daemon through the `docker` CLI: fixture builds,
//! tags, pushes, pulls and removals. Every helper panics with the CLI's own
//! output when it fails, so a broken fixture reads as such and not as a
//! freshen bug.

use std::fs;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

fn describe(args: &[&str], output: &Output) -> String {
    format!(
        "`docker {}` failed ({}):\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    )
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new("docker")
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("cannot run `docker {}`: {err}", args.join(" ")))
}

/// Runs `docker ARGS` and returns its stdout; panics if it fails.
pub fn docker(args: &[&str]) -> String {
    let output = run(args, &[]);
    assert!(output.status.success(), "{}", describe(args, &output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `docker ARGS` and returns whether it succeeded.
pub fn docker_ok(args: &[&str]) -> bool {
    run(args, &[]).status.success()
}

/// Stops the whole test binary, with one line saying what is missing and how
/// to get it, unless the daemon answers. Checked once: without a daemon
/// every integration test would fail the same way, one by one, so the first
/// one to find out ends the run (cargo then stops at this binary).
pub fn ensure_daemon() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let args = ["version", "--format", "{{.Server.Version}}"];
        let answer = Command::new("docker").args(args).stdin(Stdio::null()).output();
        let host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        let why = match answer {
            Ok(output) if output.status.success() => return,
            Ok(output) => {
                String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("").trim().to_string()
            }
            Err(err) => format!("cannot run `docker`: {err}"),
        };
        missing(&format!(
            "the Docker daemon at {host} does not answer ({why}); `.ci/run` installs docker.io and \
             docker-registry and starts dockerd (or: apt-get install docker.io, then start dockerd)"
        ));
    });
}

/// Says what the integration tests are missing, in one line on stderr, and
/// ends the test binary.
pub fn missing(what: &str) -> ! {
    // Straight to the file descriptor: the test harness captures eprintln!,
    // and its capture is lost when the process exits.
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "freshen tests: {what}");
    std::process::exit(1);
}

/// The daemon's own platform, `os/arch` as in an index (`linux/amd64`).
pub fn host_platform() -> String {
    static PLATFORM: OnceLock<String> = OnceLock::new();
    PLATFORM
        .get_or_init(|| {
            docker(&["version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"]).trim().to_string()
        })
        .clone()
}

/// A platform that is not the daemon's, for the "other" side of an index.
pub fn other_platform() -> String {
    if host_platform() == "linux/arm64" {
        "linux/amd64".to_string()
    } else {
        "linux/arm64".to_string()
    }
}

/// Builds a `FROM scratch` image holding one file with `content`, tagged
/// `tag`, for `platform` (`None`: the daemon's). Returns the image Id.
pub fn build(tag: &str, content: &str, platform: Option<&str>) -> String {
    let context =
        tempfile::Builder::new().prefix("freshen-test-build-").tempdir().expect("create build context");
    fs::write(context.path().join("Dockerfile"), "FROM scratch\nCOPY payload /payload\n").unwrap();
    fs::write(context.path().join("payload"), content).unwrap();
    let context_path = context.path().to_str().unwrap();
    // No cache: the legacy builder's cache probe walks every image and fails
    // ("unable to find image") when a parallel test deletes one meanwhile.
    let mut args = vec!["build", "-q", "--no-cache", "-t", tag];
    if let Some(platform) = platform {
        args.extend(["--platform", platform]);
    }
    args.push(context_path);
    // The classic builder commits an untagged image before tagging it; a
    // concurrent prune of dangling images (another test of autoremove, or
    // anything else on a shared daemon) can delete it in between. Retry.
    let mut output = run(&args, &[("DOCKER_BUILDKIT", "0")]);
    for _ in 0..3 {
        if output.status.success()
            || !String::from_utf8_lossy(&output.stderr).contains("unable to find image")
        {
            break;
        }
        output = run(&args, &[("DOCKER_BUILDKIT", "0")]);
    }
    assert!(output.status.success(), "{}", describe(&args, &output));
    inspect(tag).id
}

/// `docker push REFERENCE`; returns the manifest digest the push reported.
pub fn push(reference: &str) -> String {
    let stdout = docker(&["push", reference]);
    stdout
        .lines()
        .filter_map(|line| line.split_once("digest: "))
        .filter_map(|(_, rest)| rest.split_whitespace().next())
        .next_back()
        .unwrap_or_else(|| panic!("no digest in `docker push {reference}` output:\n{stdout}"))
        .to_string()
}

pub fn pull(reference: &str) {
    docker(&["pull", "-q", reference]);
}

pub fn tag(source: &str, target: &str) {
    docker(&["tag", source, target]);
}

/// `docker rmi REFERENCE` (untags; deletes the image with its last name).
pub fn untag(reference: &str) {
    docker(&["rmi", reference]);
}

/// What `docker image inspect` says about one image.
#[derive(Debug, Clone)]
pub struct Inspect {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
}

pub fn inspect(reference: &str) -> Inspect {
    let stdout = docker(&["image", "inspect", "--format", "{{json .}}", reference]);
    let value: Value = serde_json::from_str(stdout.trim()).expect("inspect prints JSON");
    let strings = |key: &str| -> Vec<String> {
        value[key]
            .as_array()
            .map(|items| items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    Inspect {
        id: value["Id"].as_str().expect("image has an Id").to_string(),
        repo_tags: strings("RepoTags"),
        repo_digests: strings("RepoDigests"),
    }
}

/// Whether a local image answers to `reference` (tag, digest or Id).
pub fn exists(reference: &str) -> bool {
    docker_ok(&["image", "inspect", "--format", "{{.Id}}", reference])
}

/// Ids of local images that have a tag or digest in any repository whose
/// path starts with `NAMESPACE/` (on any registry).
pub fn images_in_namespace(namespace: &str) -> Vec<String> {
    let stdout = docker(&["images", "--no-trunc", "--digests", "--format", "{{.Repository}} {{.ID}}"]);
    let marker = format!("/{namespace}/");
    let mut ids: Vec<String> = stdout
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(repository, _)| repository.contains(&marker))
        .map(|(_, id)| id.to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Removes images by Id, forcing through multiple names; best effort, for
/// cleanup only.
pub fn remove_ids(ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    let mut args = vec!["rmi", "-f"];
    args.extend(ids.iter().map(String::as_str));
    let _ = run(&args, &[]);
}
