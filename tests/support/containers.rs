//! Runnable fixtures: `FROM scratch` images whose one program (a static C
//! binary built here, once per test run) pauses until stopped, answers a
//! `HEALTHCHECK`, or exits at once; and [`Containers`], which runs
//! containers, networks and volumes under this test's namespace and removes
//! exactly those (found by a label, so a container freshen recreated or
//! renamed is removed too) when the test ends.

// Only some test binaries run containers; the others compile this unused.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::docker::{self, docker, docker_ok};
use super::{registry, Published, Registry, Run, TestEnv};

/// The label every container, network and volume of a test carries; its
/// value is the test's namespace.
pub const TEST_LABEL: &str = "freshen.test.namespace";

/// What the fixture program does with its arguments (see [`PROGRAM`]).
const PROGRAM: &str = r#"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* PID 1 in a container ignores signals it has no handler for: without one,
   `docker stop` would wait its whole timeout and then kill. */
static void stop(int sig) { (void)sig; _exit(0); }

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "ok") == 0) return 0;
    if (argc > 1 && strcmp(argv[1], "fail") != 0) {
        /* A line in the container's log, for rollback notices. */
        printf("prog: %s, exiting soon\n", argv[1]);
        fflush(stdout);
    }
    if (argc > 1 && strcmp(argv[1], "fail") == 0) return 1;
    if (argc > 1 && strcmp(argv[1], "exit") == 0) return 3;
    if (argc > 2 && strcmp(argv[1], "exit-after") == 0) {
        sleep((unsigned)atoi(argv[2]));
        return 4;
    }
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    for (;;) pause();
}
"#;

/// The fixture program, compiled with `cc -static` once per test binary run.
pub fn program() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // Kept for the whole run (other tests of this binary reuse it).
        let dir = tempfile::Builder::new().prefix("freshen-test-prog-").tempdir().unwrap().keep();
        let src = dir.join("prog.c");
        std::fs::write(&src, PROGRAM).unwrap();
        let bin = dir.join("prog");
        let out = Command::new("cc")
            .args(["-static", "-O2", "-o"])
            .arg(&bin)
            .arg(&src)
            .stdin(Stdio::null())
            .output()
            .expect("run cc");
        assert!(out.status.success(), "cc -static prog.c: {}", String::from_utf8_lossy(&out.stderr));
        bin
    })
}

/// How a fixture image's `CMD` behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Runs until stopped.
    Serve,
    /// Exits with code 3 at once.
    Exit,
    /// Runs this many seconds, then exits with code 4.
    ExitAfter(u32),
    /// Its `CMD` names a file the image does not have: the engine creates
    /// the container and fails to start it.
    Unstartable,
}

/// The image's `HEALTHCHECK`, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    None,
    /// Passes every second: `healthy` about a second after the start.
    Healthy,
    /// Fails every second: `unhealthy` after two failures.
    Unhealthy,
    /// A check so rarely run that the container stays `starting`.
    Starting,
}

/// A runnable fixture image.
#[derive(Debug, Clone)]
pub struct Runnable {
    pub behaviour: Behaviour,
    pub health: Health,
    /// `VOLUME /data`: every container gets an anonymous volume there.
    pub volume: bool,
    /// Makes the image distinct (a file `/version`).
    pub version: String,
    /// A shell: Debian's busybox-static as `/bin/sh` (it runs its applets,
    /// `cp`, `cat`, `sleep`, without links), for hooks run with `sh -c`.
    pub shell: bool,
    /// `LABEL`s of the image.
    pub labels: Vec<(String, String)>,
}

impl Runnable {
    pub fn new(version: &str) -> Runnable {
        Runnable {
            behaviour: Behaviour::Serve,
            health: Health::None,
            volume: false,
            version: version.into(),
            shell: false,
            labels: Vec::new(),
        }
    }

    pub fn shell(mut self) -> Runnable {
        self.shell = true;
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> Runnable {
        self.labels.push((key.into(), value.into()));
        self
    }

    pub fn behaviour(mut self, behaviour: Behaviour) -> Runnable {
        self.behaviour = behaviour;
        self
    }

    pub fn health(mut self, health: Health) -> Runnable {
        self.health = health;
        self
    }

    pub fn volume(mut self) -> Runnable {
        self.volume = true;
        self
    }

    fn dockerfile(&self) -> String {
        let mut text = String::from("FROM scratch\nCOPY prog /prog\nCOPY version /version\n");
        if self.volume {
            text.push_str("VOLUME /data\n");
        }
        if self.shell {
            text.push_str("COPY sh /bin/sh\n");
        }
        for (k, v) in &self.labels {
            text.push_str(&format!("LABEL {}={}\n", serde_json::json!(k), serde_json::json!(v)));
        }
        match self.health {
            Health::None => {}
            Health::Healthy => {
                text.push_str("HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD [\"/prog\", \"ok\"]\n")
            }
            Health::Unhealthy => text
                .push_str("HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD [\"/prog\", \"fail\"]\n"),
            Health::Starting => text.push_str(
                "HEALTHCHECK --interval=1h --start-period=1h --timeout=2s CMD [\"/prog\", \"ok\"]\n",
            ),
        }
        match self.behaviour {
            Behaviour::Serve => text.push_str("CMD [\"/prog\"]\n"),
            Behaviour::Exit => text.push_str("CMD [\"/prog\", \"exit\"]\n"),
            Behaviour::ExitAfter(s) => text.push_str(&format!("CMD [\"/prog\", \"exit-after\", \"{s}\"]\n")),
            Behaviour::Unstartable => text.push_str("CMD [\"/missing\"]\n"),
        }
        text
    }

    /// Builds the image as `tag` (legacy builder, no cache) and returns its Id.
    pub fn build(&self, tag: &str) -> String {
        let context = tempfile::Builder::new().prefix("freshen-test-run-").tempdir().unwrap();
        std::fs::copy(program(), context.path().join("prog")).unwrap();
        if self.shell {
            let busybox = std::path::Path::new("/bin/busybox");
            if !busybox.exists() {
                super::docker::missing("busybox (apt-get install busybox-static)");
            }
            std::fs::copy(busybox, context.path().join("sh")).unwrap();
        }
        std::fs::write(context.path().join("version"), format!("{}\n", self.version)).unwrap();
        std::fs::write(context.path().join("Dockerfile"), self.dockerfile()).unwrap();
        let args = ["build", "-q", "--no-cache", "-t", tag, context.path().to_str().unwrap()];
        let mut output = None;
        // A parallel prune can delete the builder's intermediate image.
        for _ in 0..3 {
            let out = Command::new("docker")
                .args(args)
                .env("DOCKER_BUILDKIT", "0")
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let retry = !out.status.success()
                && String::from_utf8_lossy(&out.stderr).contains("unable to find image");
            output = Some(out);
            if !retry {
                break;
            }
        }
        let out = output.unwrap();
        assert!(
            out.status.success(),
            "docker build {tag}:\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.dockerfile()
        );
        docker::inspect(tag).id
    }
}

impl TestEnv {
    /// Builds `image` as `reference`, pushes it and keeps it: the version a
    /// container on this host runs (it has a RepoDigest, like a pull).
    pub fn publish_runnable(&self, reference: &str, image: &Runnable) -> Published {
        let id = image.build(reference);
        self.remember(&id);
        let digest = docker::push(reference);
        Published { id, digest }
    }

    /// Makes the registry's `name:tag` hold `image` without leaving it on
    /// this host: the new version an upgrade will pull.
    pub fn publish_runnable_remote(
        &self,
        registry: &Registry,
        name: &str,
        tag: &str,
        image: &Runnable,
    ) -> Published {
        let scratch_tag = format!("fixture-{}", super::nonce());
        let scratch = self.reference(registry.host(), name, &scratch_tag);
        let id = image.build(&scratch);
        self.remember(&id);
        docker::push(&scratch);
        let digest = registry.copy_tag(&self.repo(name), &scratch_tag, tag);
        docker::untag(&scratch);
        Published { id, digest }
    }
}

/// `docker inspect` of a container, as JSON.
pub fn inspect(name: &str) -> Value {
    let out = docker(&["container", "inspect", name]);
    let mut all: Vec<Value> = serde_json::from_str(&out).expect("inspect prints JSON");
    all.pop().expect("one container")
}

/// `docker inspect` of a container that may be gone (or renamed) meanwhile.
pub fn try_inspect(name: &str) -> Option<Value> {
    let out =
        Command::new("docker").args(["container", "inspect", name]).stdin(Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let mut all: Vec<Value> = serde_json::from_slice(&out.stdout).ok()?;
    all.pop()
}

/// Whether a container by that name or Id exists.
pub fn exists(name: &str) -> bool {
    docker_ok(&["container", "inspect", "--format", "{{.Id}}", name])
}

/// The container's state: (status, health status if it has a check).
pub fn state(name: &str) -> (String, Option<String>) {
    let v = inspect(name);
    let status = v["State"]["Status"].as_str().unwrap_or_default().to_string();
    let health = v["State"]["Health"]["Status"].as_str().map(str::to_string);
    (status, health)
}

/// Waits until `check` holds, panicking with `what` after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The containers, networks and volumes one test made. Everything carries
/// [`TEST_LABEL`]; on drop, every container with that label (whatever its
/// name now), its anonymous volumes, and the networks and volumes made here
/// are removed.
pub struct Containers {
    namespace: String,
    networks: Vec<String>,
    volumes: Vec<String>,
    projects: Vec<(String, PathBuf)>,
}

impl Containers {
    pub fn new(t: &TestEnv) -> Containers {
        Containers {
            namespace: t.namespace().to_string(),
            networks: Vec::new(),
            volumes: Vec::new(),
            projects: Vec::new(),
        }
    }

    /// A name unique to this test: `NAMESPACE-SUFFIX`.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.namespace)
    }

    fn label(&self) -> String {
        format!("{TEST_LABEL}={}", self.namespace)
    }

    /// `docker run -d --name NAMESPACE-SUFFIX --label … ARGS… IMAGE`;
    /// returns the full name.
    pub fn run(&self, suffix: &str, args: &[&str], image: &str) -> String {
        let name = self.name(suffix);
        let label = self.label();
        let mut all = vec!["run", "-d", "--name", name.as_str(), "--label", label.as_str()];
        all.extend_from_slice(args);
        all.push(image);
        docker(&all);
        name
    }

    /// `docker create` with the same conventions as [`Containers::run`].
    pub fn create(&self, suffix: &str, args: &[&str], image: &str) -> String {
        let name = self.name(suffix);
        let label = self.label();
        let mut all = vec!["create", "--name", name.as_str(), "--label", label.as_str()];
        all.extend_from_slice(args);
        all.push(image);
        docker(&all);
        name
    }

    /// A user-defined bridge network `NAMESPACE-SUFFIX`.
    pub fn network(&mut self, suffix: &str) -> String {
        let name = self.name(suffix);
        docker(&["network", "create", "--label", &self.label(), &name]);
        self.networks.push(name.clone());
        name
    }

    /// A network `NAMESPACE-SUFFIX` created with extra `docker network
    /// create` arguments; None if the engine refuses (a subnet in use).
    pub fn network_with(&mut self, suffix: &str, extra: &[&str]) -> Option<String> {
        let name = self.name(suffix);
        let label = self.label();
        let mut args = vec!["network", "create", "--label", label.as_str()];
        args.extend_from_slice(extra);
        args.push(&name);
        if !docker_ok(&args) {
            return None;
        }
        self.networks.push(name.clone());
        Some(name)
    }

    /// A named volume `NAMESPACE-SUFFIX`.
    pub fn volume(&mut self, suffix: &str) -> String {
        let name = self.name(suffix);
        docker(&["volume", "create", "--label", &self.label(), &name]);
        self.volumes.push(name.clone());
        name
    }

    /// Remembers a Compose project to take down (`down -v`) at the end.
    pub fn compose_project(&mut self, project: &str, dir: PathBuf) {
        self.projects.push((project.to_string(), dir));
    }

    /// A Compose project named after the test, in a directory of its own
    /// holding `compose.yaml` with `yaml`; taken down at the end. The
    /// directory lives as long as the returned `TempDir`.
    pub fn compose_dir(&mut self, t: &TestEnv, yaml: &str) -> (String, PathBuf, tempfile::TempDir) {
        let project = t.namespace().replace('-', "_");
        let dir = tempfile::Builder::new().prefix("freshen-test-compose-").tempdir().unwrap();
        std::fs::write(dir.path().join("compose.yaml"), yaml).unwrap();
        self.compose_project(&project, dir.path().to_path_buf());
        (project, dir.path().to_path_buf(), dir)
    }

    /// Every container of this test, by name (sorted).
    pub fn all(&self) -> Vec<String> {
        let out =
            docker(&["ps", "-a", "--filter", &format!("label={}", self.label()), "--format", "{{.Names}}"]);
        let mut names: Vec<String> = out.lines().map(str::to_string).collect();
        names.sort();
        names
    }

    /// Writes `content` as `path` inside the container (`docker cp`, which
    /// needs no shell in the image and reaches into its volumes).
    pub fn put(&self, container: &str, path: &str, content: &str) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, content).unwrap();
        docker(&["cp", file.to_str().unwrap(), &format!("{container}:{path}")]);
    }

    /// Reads `path` from the container (`docker cp` to a temporary dir).
    pub fn get(&self, container: &str, path: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        docker(&["cp", &format!("{container}:{path}"), file.to_str().unwrap()]);
        std::fs::read_to_string(&file).unwrap()
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        if std::env::var_os("FRESHEN_TEST_KEEP").is_some() {
            eprintln!("FRESHEN_TEST_KEEP: leaving the containers of {}", self.namespace);
            return;
        }
        for (project, dir) in &self.projects {
            let _ = Command::new("docker")
                .args(["compose", "-p", project, "--project-directory"])
                .arg(dir)
                .args(["down", "-v", "--remove-orphans", "-t", "1"])
                .stdin(Stdio::null())
                .output();
        }
        let names = self.all();
        // Anonymous volumes: remembered before their containers go.
        let mut volumes: Vec<String> = Vec::new();
        for name in &names {
            let v = inspect(name);
            for m in v["Mounts"].as_array().into_iter().flatten() {
                if m["Type"] == "volume" {
                    if let Some(volume) = m["Name"].as_str() {
                        // A 64-hex name is an anonymous volume: ours.
                        if volume.len() == 64 && volume.chars().all(|c| c.is_ascii_hexdigit()) {
                            volumes.push(volume.to_string());
                        }
                    }
                }
            }
        }
        if !names.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(names.iter().map(String::as_str));
            let _ = docker_ok(&args);
        }
        volumes.extend(self.volumes.iter().cloned());
        volumes.sort();
        volumes.dedup();
        for volume in &volumes {
            let _ = docker_ok(&["volume", "rm", volume]);
        }
        for network in &self.networks {
            let _ = docker_ok(&["network", "rm", network]);
        }
    }
}

/// The parts of a container's configuration an upgrade must keep, read from
/// `docker inspect` in a form two containers can be compared by.
#[derive(Debug, PartialEq, Eq)]
pub struct Kept {
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub cmd: Value,
    pub entrypoint: Value,
    pub hostname: String,
    pub user: String,
    pub working_dir: String,
    pub restart: Value,
    pub ports: Value,
    pub memory: Value,
    pub cap_add: Value,
    pub log_config: Value,
    /// Network name → (sorted aliases the user set, configured IPAM, MAC if set).
    pub networks: BTreeMap<String, (Vec<String>, Value)>,
    /// Destination → (type, volume name or bind source).
    pub mounts: BTreeMap<String, (String, String)>,
}

impl Kept {
    pub fn read(name: &str) -> Kept {
        let v = inspect(name);
        let id = v["Id"].as_str().unwrap_or_default().to_string();
        let short_id = &id[..12.min(id.len())];
        let mut labels: BTreeMap<String, String> = BTreeMap::new();
        for (k, val) in v["Config"]["Labels"].as_object().into_iter().flatten() {
            labels.insert(k.clone(), val.as_str().unwrap_or_default().to_string());
        }
        let mut networks = BTreeMap::new();
        for (net, cfg) in v["NetworkSettings"]["Networks"].as_object().into_iter().flatten() {
            let mut aliases: Vec<String> = cfg["Aliases"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str())
                // The engine adds the container's short Id (and, newer
                // engines, its name): not something the user set.
                .filter(|a| *a != short_id && !id.starts_with(*a))
                .map(str::to_string)
                .collect();
            aliases.sort();
            aliases.dedup();
            // No static address reads as null or {} depending on how the
            // container joined the network.
            let ipam = match &cfg["IPAMConfig"] {
                Value::Object(o) if o.is_empty() => Value::Null,
                other => other.clone(),
            };
            networks.insert(net.clone(), (aliases, ipam));
        }
        let mut mounts = BTreeMap::new();
        for m in v["Mounts"].as_array().into_iter().flatten() {
            let kind = m["Type"].as_str().unwrap_or_default().to_string();
            let source = if kind == "volume" { m["Name"].as_str() } else { m["Source"].as_str() };
            mounts.insert(
                m["Destination"].as_str().unwrap_or_default().to_string(),
                (kind, source.unwrap_or_default().to_string()),
            );
        }
        let mut env: Vec<String> = v["Config"]["Env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_str().map(str::to_string))
            .collect();
        env.sort();
        Kept {
            env,
            labels,
            cmd: v["Config"]["Cmd"].clone(),
            entrypoint: v["Config"]["Entrypoint"].clone(),
            // Unset, the engine uses the short Id, which a new container changes.
            hostname: match v["Config"]["Hostname"].as_str().unwrap_or_default() {
                h if h == short_id => "(default)".to_string(),
                h => h.to_string(),
            },
            user: v["Config"]["User"].as_str().unwrap_or_default().to_string(),
            working_dir: v["Config"]["WorkingDir"].as_str().unwrap_or_default().to_string(),
            restart: v["HostConfig"]["RestartPolicy"].clone(),
            ports: v["HostConfig"]["PortBindings"].clone(),
            memory: v["HostConfig"]["Memory"].clone(),
            cap_add: v["HostConfig"]["CapAdd"].clone(),
            log_config: v["HostConfig"]["LogConfig"].clone(),
            networks,
            mounts,
        }
    }
}

/// `docker compose -p PROJECT --project-directory DIR up -d`, which must
/// succeed; its stderr.
pub fn compose_up(dir: &Path, project: &str) -> String {
    let out = Command::new("docker")
        .args(["compose", "-p", project, "--project-directory"])
        .arg(dir)
        .args(["up", "-d"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "docker compose up: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One tag `app:1` whose v1 runs here and whose v2 the registry holds, after
/// `freshen update` saw it. Containers are made by the test between
/// [`Setup::v1`] and [`Setup::v2`].
pub struct Setup {
    pub reference: String,
    pub pattern: String,
    pub v1: Published,
}

impl Setup {
    pub fn v1(t: &TestEnv, image: &Runnable) -> Setup {
        let reg = registry::shared();
        let reference = t.reference(reg.host(), "app", "1");
        let v1 = t.publish_runnable(&reference, image);
        Setup { reference, pattern: t.pattern(reg.host()), v1 }
    }

    /// Publishes the next version and runs `freshen update`.
    pub fn v2(&self, t: &TestEnv, image: &Runnable) -> Published {
        let v2 = t.publish_runnable_remote(registry::shared(), "app", "1", image);
        t.freshen().args(["update", &self.pattern]).run().expect_code(0);
        assert_eq!(t.list(&[&self.pattern]).get(&self.reference).status, "upgradable");
        v2
    }

    pub fn upgrade(&self, t: &TestEnv, extra: &[&str]) -> Run {
        t.freshen().args(["upgrade", "-y"]).args(extra).arg(&self.pattern).run()
    }
}
