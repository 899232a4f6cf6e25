//! The integration-test harness: each test gets a [`TestEnv`] with its own
//! state directory, empty Docker credentials, and a unique repository
//! namespace, so tests can share one Docker daemon and one registry and still
//! run in parallel. Tests drive the real `freshen` binary and read its
//! `list --format json` output through [`Listing`].

pub mod containers;
pub mod docker;
pub mod http;
pub mod registry;

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tempfile::TempDir;

pub use registry::Registry;

/// How long one run of the binary may take before the test fails: a guard
/// against a hang, not a measure of speed. Generous, because CI runs two
/// engine lanes and a release build at once on 2 cores (an upgrade over
/// ssh on podman 5 with a 10 s gate took over a minute there).
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

fn nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos());
    hasher.write_u32(std::process::id());
    format!("{:08x}", hasher.finish() as u32)
}

/// An image pushed to a registry.
#[derive(Debug, Clone)]
pub struct Published {
    pub id: String,
    pub digest: String,
}

/// One test's private world.
pub struct TestEnv {
    namespace: String,
    root: PathBuf,
    dir: Option<TempDir>,
    created: Mutex<Vec<String>>,
}

impl TestEnv {
    pub fn new(test_name: &str) -> TestEnv {
        docker::ensure_daemon();
        let slug: String = test_name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
            .collect();
        let dir = tempfile::Builder::new().prefix("freshen-test-").tempdir().expect("create test dir");
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        std::fs::create_dir_all(dir.path().join("docker-config")).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        TestEnv {
            namespace: format!("{slug}-{}", nonce()),
            root: dir.path().to_path_buf(),
            dir: Some(dir),
            created: Mutex::new(Vec::new()),
        }
    }

    /// The unique first path component of every repository of this test.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `NAMESPACE/NAME`, a repository path inside a registry.
    pub fn repo(&self, name: &str) -> String {
        format!("{}/{name}", self.namespace)
    }

    /// `HOST/NAMESPACE/NAME:TAG`, a fully qualified reference.
    pub fn reference(&self, host: &str, name: &str, tag: &str) -> String {
        format!("{host}/{}/{name}:{tag}", self.namespace)
    }

    /// The pattern that selects this test's images on one registry.
    pub fn pattern(&self, host: &str) -> String {
        format!("{host}/{}/*", self.namespace)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.root.join("state")
    }

    /// Every regular file in the state directory (recursively), sorted.
    pub fn state_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(&self.state_dir(), &mut found);
        found.sort();
        found
    }

    fn content(&self, reference: &str, version: &str) -> String {
        format!("fixture for {reference}, version {version}, namespace {}\n", self.namespace)
    }

    fn remember(&self, id: &str) {
        self.created.lock().unwrap().push(id.to_string());
    }

    /// Builds a fixture tagged `reference` whose content depends on
    /// `version`, for the daemon's platform. Returns the image Id.
    pub fn build(&self, reference: &str, version: &str) -> String {
        let id = docker::build(reference, &self.content(reference, version), None);
        self.remember(&id);
        id
    }

    /// Builds `version` as `reference` and pushes it: the usual "image that
    /// came from a registry" (it has a RepoDigest).
    pub fn publish(&self, reference: &str, version: &str) -> Published {
        let id = self.build(reference, version);
        let digest = docker::push(reference);
        Published { id, digest }
    }

    /// [`TestEnv::publish`] of an image with `--label KEY=VALUE` for each
    /// label.
    pub fn publish_labeled(&self, reference: &str, version: &str, labels: &[(&str, &str)]) -> Published {
        let id = docker::build_labeled(reference, &self.content(reference, version), labels);
        self.remember(&id);
        let digest = docker::push(reference);
        Published { id, digest }
    }

    /// Makes the registry's `name:tag` hold a new `version` without touching
    /// any local image: builds it under a scratch tag, pushes, moves the tag
    /// remotely, and deletes the local copy. Returns the new manifest digest.
    pub fn publish_remote(&self, registry: &Registry, name: &str, tag: &str, version: &str) -> Published {
        self.publish_remote_for(registry, name, tag, version, None)
    }

    /// [`TestEnv::publish_remote`] for a given platform; the scratch tag
    /// (`fixture-…`) stays in the registry for indexes to reference.
    pub fn publish_remote_for(
        &self,
        registry: &Registry,
        name: &str,
        tag: &str,
        version: &str,
        platform: Option<&str>,
    ) -> Published {
        let scratch_tag = format!("fixture-{}", nonce());
        let scratch = self.reference(registry.host(), name, &scratch_tag);
        let content = self.content(&self.reference(registry.host(), name, tag), version);
        let id = docker::build(&scratch, &content, platform);
        self.remember(&id);
        docker::push(&scratch);
        let digest = registry.copy_tag(&self.repo(name), &scratch_tag, tag);
        docker::untag(&scratch);
        assert!(!docker::exists(&id), "scratch image {id} still exists locally");
        Published { id, digest }
    }

    /// A command line for the real binary with this test's isolation.
    pub fn freshen(&self) -> Freshen<'_> {
        Freshen {
            env: self,
            args: Vec::new(),
            vars: Vec::new(),
            removed: Vec::new(),
            input: None,
            umask: None,
            user: None,
        }
    }

    /// `freshen list --format json PATTERNS`, which must succeed.
    pub fn list(&self, patterns: &[&str]) -> Listing {
        let run = self.freshen().args(["list", "--format", "json"]).args(patterns).run();
        run.expect_code(0);
        Listing::parse(&run.stdout)
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if std::env::var_os("FRESHEN_TEST_KEEP").is_some() {
            eprintln!("FRESHEN_TEST_KEEP: leaving images of {} and {}", self.namespace, self.root.display());
            if let Some(dir) = self.dir.take() {
                let _ = dir.keep();
            }
            return;
        }
        let mut ids = std::mem::take(&mut *self.created.lock().unwrap());
        match docker::images_in_namespace(&self.namespace) {
            Ok(found) => ids.extend(found),
            Err(why) => eprintln!("cleanup of {} could not list images: {why}", self.namespace),
        }
        ids.sort();
        ids.dedup();
        ids.retain(|id| docker::exists(id));
        docker::remove_ids(&ids);
    }
}

/// A pending run of the `freshen` binary.
pub struct Freshen<'a> {
    env: &'a TestEnv,
    args: Vec<String>,
    vars: Vec<(String, String)>,
    removed: Vec<String>,
    input: Option<Vec<u8>>,
    umask: Option<u32>,
    user: Option<(u32, u32)>,
}

impl Freshen<'_> {
    pub fn arg(mut self, arg: impl AsRef<str>) -> Self {
        self.args.push(arg.as_ref().to_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.args.extend(args.into_iter().map(|arg| arg.as_ref().to_string()));
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.vars.push((name.to_string(), value.as_ref().to_string()));
        self
    }

    /// Runs without `name` in the environment (e.g. `NO_COLOR`, which the
    /// harness sets by default).
    #[allow(dead_code)]
    pub fn env_remove(mut self, name: &str) -> Self {
        self.removed.push(name.to_string());
        self
    }

    /// Runs with `bytes` on standard input (a pipe, not a terminal), closed
    /// after them; without this, standard input is /dev/null.
    #[allow(dead_code)]
    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.input = Some(bytes.as_ref().to_vec());
        self
    }

    /// Runs with this umask instead of the test process's.
    #[allow(dead_code)]
    pub fn umask(mut self, mask: u32) -> Self {
        self.umask = Some(mask);
        self
    }

    /// Runs as this user and group, with no supplementary groups (the
    /// tests run as root; this is how an ordinary user is seen).
    #[allow(dead_code)]
    pub fn user(mut self, uid: u32, gid: u32) -> Self {
        self.user = Some((uid, gid));
        self
    }

    /// The command line with this test's isolation, to start it yourself
    /// (to kill it midway, or to measure it).
    pub fn command(&self) -> Command {
        let root = &self.env.root;
        let mut command = Command::new(env!("CARGO_BIN_EXE_freshen"));
        command
            .args(&self.args)
            .env("FRESHEN_STATE_DIR", self.env.state_dir())
            .env("FRESHEN_CONFIG", root.join("no-such-config.toml"))
            .env("DOCKER_CONFIG", root.join("docker-config"))
            .env("HOME", root.join("home"))
            .env("XDG_CONFIG_HOME", root.join("home/.config"))
            .env("XDG_STATE_HOME", root.join("home/.local/state"))
            .env("XDG_CACHE_HOME", root.join("home/.cache"))
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("FORCE_COLOR")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in &self.vars {
            command.env(name, value);
        }
        for name in &self.removed {
            command.env_remove(name);
        }
        if self.input.is_some() {
            command.stdin(Stdio::piped());
        }
        if let Some((uid, gid)) = self.user {
            use std::os::unix::process::CommandExt;
            // std drops root's supplementary groups when it changes the uid.
            command.uid(uid).gid(gid);
        }
        if let Some(mask) = self.umask {
            use std::os::unix::process::CommandExt;
            // SAFETY: umask is async-signal-safe and touches nothing else.
            unsafe {
                command.pre_exec(move || {
                    libc::umask(mask as libc::mode_t);
                    Ok(())
                });
            }
        }
        command
    }

    pub fn run(self) -> Run {
        let mut command = self.command();
        let shown = format!("freshen {}", self.args.join(" "));
        let started = Instant::now();
        let mut child = command.spawn().unwrap_or_else(|err| panic!("cannot start `{shown}`: {err}"));
        if let (Some(input), Some(mut stdin)) = (self.input.clone(), child.stdin.take()) {
            // A thread of its own: a child that reads nothing must not block the test.
            thread::spawn(move || {
                use std::io::Write;
                let _ = stdin.write_all(&input);
            });
        }
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out_reader = thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stdout.read_to_end(&mut text);
            text
        });
        let err_reader = thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stderr.read_to_end(&mut text);
            text
        });
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > RUN_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                let stdout = String::from_utf8_lossy(&out_reader.join().unwrap()).into_owned();
                let stderr = String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned();
                panic!(
                    "`{shown}` did not finish within {RUN_TIMEOUT:?}\n--- stdout\n{stdout}--- stderr\n{stderr}"
                );
            }
            thread::sleep(Duration::from_millis(10));
        };
        let stdout = String::from_utf8(out_reader.join().unwrap()).expect("stdout is UTF-8");
        let stderr = String::from_utf8(err_reader.join().unwrap()).expect("stderr is UTF-8");
        Run { command: shown, elapsed: started.elapsed(), code: status.code().unwrap_or(-1), stdout, stderr }
    }
}

/// What one run of the binary did.
pub struct Run {
    pub command: String,
    pub elapsed: Duration,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` exited {} after {:.1?}\n--- stdout\n{}--- stderr\n{}---",
            self.command, self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// Asserts the exit code, showing the whole run if it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code on {}\n{self}", docker::engine().describe());
        self
    }

    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// The last non-empty line of stdout.
    pub fn last_line(&self) -> &str {
        self.stdout
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or_else(|| panic!("no output on stdout\n{self}"))
    }

    /// Asserts that stdout has no line starting with `prefix`.
    pub fn expect_no_line_starting(&self, prefix: &str) -> &Self {
        assert!(
            !self.stdout.lines().any(|l| l.starts_with(prefix)),
            "stdout has a line starting with {prefix:?}\n{self}"
        );
        self
    }

    /// The stderr lines that start with `W: `.
    pub fn warnings(&self) -> Vec<&str> {
        self.stderr.lines().filter(|line| line.starts_with("W: ")).collect()
    }
}

/// The summary line that `update` prints last, for `n` upgradable images.
pub fn upgradable_summary(n: usize) -> String {
    match n {
        0 => "All images are up to date.".to_string(),
        1 => "1 image can be upgraded. Run 'freshen list --upgradable' to see it.".to_string(),
        n => format!("{n} images can be upgraded. Run 'freshen list --upgradable' to see them."),
    }
}

/// The line `update` adds when `n` checks failed.
pub fn failed_summary(n: usize) -> String {
    match n {
        1 => "1 image could not be checked. Run 'freshen list' to see why.".to_string(),
        n => format!("{n} images could not be checked. Run 'freshen list' to see why."),
    }
}

/// `freshen list --format json`, checked against the documented schema.
#[derive(Debug)]
pub struct Listing {
    pub schema_version: u64,
    pub updated_at: Option<String>,
    pub images: Vec<Entry>,
}

/// One element of `images`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub reference: String,
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub status: String,
    pub image_id: String,
    pub local_digest: Option<String>,
    pub remote_digest: Option<String>,
    pub checked_at: Option<String>,
    pub error: Option<String>,
    pub raw: Value,
}

/// Reads a key that must be present and either a string or, if `nullable`,
/// null.
fn field(object: &Value, key: &str, nullable: bool) -> Option<String> {
    let value = object.get(key).unwrap_or_else(|| panic!("key {key:?} missing in {object:#}"));
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Null if nullable => None,
        other => panic!(
            "key {key:?} should be a string{} but is {other} in {object:#}",
            if nullable { " or null" } else { "" }
        ),
    }
}

pub const STATUSES: [&str; 5] = ["up-to-date", "upgradable", "local-only", "pinned", "unknown"];

/// Asserts `text` is an RFC 3339 timestamp.
pub fn assert_rfc3339(text: &str) {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|err| panic!("{text:?} is not RFC 3339: {err}"));
}

/// Asserts `text` looks like `sha256:` and 64 lowercase hex digits.
pub fn assert_digest(text: &str) {
    let hex = text.strip_prefix("sha256:").unwrap_or_else(|| panic!("{text:?} is not a sha256 digest"));
    assert!(
        hex.len() == 64 && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
        "{text:?} is not a sha256 digest"
    );
}

impl Listing {
    pub fn parse(stdout: &str) -> Listing {
        let value: Value = serde_json::from_str(stdout)
            .unwrap_or_else(|err| panic!("list --format json is not JSON ({err}):\n{stdout}"));
        let schema_version = value["schema_version"]
            .as_u64()
            .unwrap_or_else(|| panic!("schema_version missing or not a number:\n{stdout}"));
        let updated_at = field(&value, "updated_at", true);
        if let Some(at) = &updated_at {
            assert_rfc3339(at);
        }
        let images = value["images"]
            .as_array()
            .unwrap_or_else(|| panic!("images missing or not an array:\n{stdout}"))
            .iter()
            .map(Entry::parse)
            .collect();
        Listing { schema_version, updated_at, images }
    }

    /// The entry for a fully qualified reference; panics with every
    /// reference listed if there is none.
    pub fn get(&self, reference: &str) -> &Entry {
        let matches: Vec<&Entry> = self.images.iter().filter(|entry| entry.reference == reference).collect();
        assert_eq!(matches.len(), 1, "expected one entry for {reference}, listed: {:?}", self.references());
        matches[0]
    }

    pub fn references(&self) -> Vec<&str> {
        let mut references: Vec<&str> = self.images.iter().map(|entry| entry.reference.as_str()).collect();
        references.sort();
        references
    }

    /// `(reference, status)` pairs, sorted by reference.
    pub fn statuses(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> =
            self.images.iter().map(|entry| (entry.reference.clone(), entry.status.clone())).collect();
        pairs.sort();
        pairs
    }
}

impl Entry {
    fn parse(value: &Value) -> Entry {
        let entry = Entry {
            reference: field(value, "reference", false).unwrap(),
            registry: field(value, "registry", false).unwrap(),
            repository: field(value, "repository", false).unwrap(),
            tag: field(value, "tag", true),
            status: field(value, "status", false).unwrap(),
            image_id: field(value, "image_id", false).unwrap(),
            local_digest: field(value, "local_digest", true),
            remote_digest: field(value, "remote_digest", true),
            checked_at: field(value, "checked_at", true),
            error: field(value, "error", true),
            raw: value.clone(),
        };
        assert!(
            STATUSES.contains(&entry.status.as_str()),
            "status {:?} is not one of {STATUSES:?} in {value:#}",
            entry.status
        );
        assert_digest(&entry.image_id);
        for digest in [&entry.local_digest, &entry.remote_digest].into_iter().flatten() {
            assert_digest(digest);
        }
        if let Some(at) = &entry.checked_at {
            assert_rfc3339(at);
        }
        entry
    }

    /// The error text, which must be present.
    pub fn error_text(&self) -> &str {
        self.error.as_deref().unwrap_or_else(|| panic!("{} has no error: {:#}", self.reference, self.raw))
    }
}

/// A config file in its own directory, for `--config`.
pub struct Config {
    dir: tempfile::TempDir,
}

impl Config {
    pub fn new(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        Config { dir }
    }

    pub fn path(&self) -> String {
        self.dir.path().join("config.toml").display().to_string()
    }

    /// A file beside the config file.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
