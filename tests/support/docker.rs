//! Driving the engine `DOCKER_HOST` names (the shared system daemon unless a
//! CI lane points it elsewhere) through the `docker` CLI: fixture builds,
//! tags, pushes, pulls and removals. Every helper panics with the CLI's own
//! output when it fails, so a broken fixture reads as such and not as a
//! freshen bug. [`engine`] says which engine answers, for the few fixture
//! facts that differ between engines (GUIDE §8).

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

/// Whether a failed listing only lost a race with a concurrent removal: the
/// containerd image store and podman fail the whole `GET /images/json` when
/// an image they are describing is deleted meanwhile (Docker 26: "content
/// digest …: not found"; podman: "image not known").
fn lost_a_race(output: &Output) -> bool {
    let stderr = String::from_utf8_lossy(&output.stderr);
    !output.status.success() && (stderr.contains("not found") || stderr.contains("image not known"))
}

/// Runs a read-only command that must succeed (`docker image inspect` of an
/// image the test made) and returns its stdout. podman 4.3's storage says
/// "image not known" for an image that is there while another test removes
/// images (freshen's engine adapter retries the same way): try again for a
/// few seconds before calling it a failure.
pub fn docker_retrying(args: &[&str]) -> String {
    let mut output = run(args, &[]);
    for attempt in 1..=20 {
        if !lost_a_race(&output) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50 * attempt.min(6)));
        output = run(args, &[]);
    }
    assert!(output.status.success(), "{}", describe(args, &output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs a read-only listing (`docker images …`), trying again while it
/// fails only because a parallel test removed an image meanwhile.
fn run_listing(args: &[&str]) -> Output {
    let mut output = run(args, &[]);
    for _ in 0..10 {
        if !lost_a_race(&output) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        output = run(args, &[]);
    }
    output
}

/// [`docker`] for read-only listings, which may race with other tests'
/// removals on some engines (see [`run_listing`]).
pub fn docker_listing(args: &[&str]) -> String {
    let output = run_listing(args);
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
    build_with(tag, content, platform, &[])
}

/// [`build`] with `--label KEY=VALUE` for each label, for the daemon's
/// platform.
pub fn build_labeled(tag: &str, content: &str, labels: &[(&str, &str)]) -> String {
    build_with(tag, content, None, labels)
}

fn build_with(tag: &str, content: &str, platform: Option<&str>, labels: &[(&str, &str)]) -> String {
    let context =
        tempfile::Builder::new().prefix("freshen-test-build-").tempdir().expect("create build context");
    fs::write(context.path().join("Dockerfile"), "FROM scratch\nCOPY payload /payload\n").unwrap();
    fs::write(context.path().join("payload"), content).unwrap();
    let context_path = context.path().to_str().unwrap();
    let label_args: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    // No cache: the legacy builder's cache probe walks every image and fails
    // ("unable to find image") when a parallel test deletes one meanwhile.
    let mut args = vec!["build", "-q", "--no-cache", "-t", tag];
    if let Some(platform) = platform {
        args.extend(["--platform", platform]);
    }
    for l in &label_args {
        args.extend(["--label", l.as_str()]);
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
    let stdout = docker_retrying(&["image", "inspect", "--format", "{{json .}}", reference]);
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
/// path starts with `NAMESPACE/` (on any registry). Reports a failure
/// instead of panicking: cleanup in `Drop` uses it, and a panic there aborts
/// the whole test binary.
pub fn images_in_namespace(namespace: &str) -> Result<Vec<String>, String> {
    let args = ["images", "--no-trunc", "--digests", "--format", "{{.Repository}} {{.ID}}"];
    let output = run_listing(&args);
    if !output.status.success() {
        return Err(describe(&args, &output));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let marker = format!("/{namespace}/");
    let mut ids: Vec<String> = stdout
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(repository, _)| repository.contains(&marker))
        .map(|(_, id)| id.to_string())
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
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

/// Which engine answers on `DOCKER_HOST`, asked once from `docker version`
/// and `docker info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Docker,
    Podman,
}

#[derive(Debug, Clone)]
pub struct Engine {
    pub kind: Kind,
    /// The engine's own version (`26.1.5+dfsg1`, `5.4.2`).
    pub version: String,
    /// The API version it reports (`1.41`, `1.45`).
    pub api_version: String,
    /// Docker with the containerd image store (`driver-type
    /// io.containerd.snapshotter.v1` in `docker info`).
    pub containerd_store: bool,
}

impl Engine {
    /// `docker 26.1.5+dfsg1 (API 1.45, containerd store)`, for messages.
    pub fn describe(&self) -> String {
        match (self.kind, self.containerd_store) {
            (Kind::Podman, _) => format!("podman {} (API {})", self.version, self.api_version),
            (Kind::Docker, true) => {
                format!("docker {} (API {}, containerd store)", self.version, self.api_version)
            }
            (Kind::Docker, false) => {
                format!("docker {} (API {}, classic store)", self.version, self.api_version)
            }
        }
    }

    /// Whether a locally built, never pushed image already has a
    /// `RepoDigests` entry (containerd: its own manifest digest; podman: a
    /// local digest that no registry has). Classic Docker leaves it empty.
    pub fn local_build_has_repo_digest(&self) -> bool {
        self.kind == Kind::Podman || self.containerd_store
    }

    /// Whether `docker push` records the pushed manifest digest in the
    /// image's `RepoDigests`. podman keeps the digest of its own local
    /// manifest, which differs from what it pushed.
    pub fn push_records_digest(&self) -> bool {
        self.kind == Kind::Docker
    }

    /// The `Id` of an image pulled through an index whose entry for our
    /// platform is the image built as `ours_id`: the index digest on the
    /// containerd store, our platform's image (config) otherwise.
    pub fn pulled_index_id(&self, index: &str, ours_id: &str) -> String {
        if self.containerd_store {
            index.to_string()
        } else {
            ours_id.to_string()
        }
    }

    /// The `RepoDigests` (sorted) of an image pulled through an index, in
    /// repository `name` (`host/path`): podman records our platform's
    /// manifest beside the index, Docker only the index.
    pub fn pulled_index_repo_digests(&self, name: &str, index: &str, ours_manifest: &str) -> Vec<String> {
        let mut digests = vec![format!("{name}@{index}")];
        if self.kind == Kind::Podman {
            digests.push(format!("{name}@{ours_manifest}"));
        }
        digests.sort();
        digests
    }
}

pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let version: Value =
            serde_json::from_str(docker(&["version", "--format", "{{json .Server}}"]).trim())
                .expect("docker version prints JSON");
        let podman = version["Components"]
            .as_array()
            .is_some_and(|components| components.iter().any(|c| c["Name"] == "Podman Engine"));
        let info = docker(&["info", "--format", "{{json .DriverStatus}}"]);
        Engine {
            kind: if podman { Kind::Podman } else { Kind::Docker },
            version: version["Version"].as_str().unwrap_or_default().to_string(),
            api_version: version["ApiVersion"].as_str().unwrap_or_default().to_string(),
            containerd_store: info.contains("io.containerd.snapshotter"),
        }
    })
}
