//! Engines on other hosts over ssh (issue 22): a real `sshd` (Debian's
//! `openssh-server`) on a loopback port, with keys and a known_hosts file
//! generated for the test, in front of the engine the other tests use.
//! freshen reaches it as the docker CLI would, through `ssh` and `docker
//! system dial-stdio`: by `DOCKER_HOST=ssh://…`, by `-H ssh://…`, by
//! `DOCKER_CONTEXT` and by the docker CLI's current context. A host that
//! is down is one line naming the host and ssh's reason.
//!
//! The user's ssh setup is stood in for by a config file: an `ssh` first on
//! `PATH` that runs the system's ssh with `-F` that file (the real ssh,
//! only told where its config is).

#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use support::containers::{self, Containers, Health, Runnable};
use support::{registry, TestEnv};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The remote side's engine socket, as an ssh URL path: the engine the
/// other tests use (`DOCKER_HOST` if it is a unix socket).
fn remote_socket() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
        .unwrap_or_else(|| "/var/run/docker.sock".into())
}

/// A private sshd on a loopback port, and the client's config for it.
struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Sshd {
    fn start() -> Sshd {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(sshd.exists(), "sshd is missing: install Debian's openssh-server (.ci/monitoring.sh does)");
        // sshd's privilege separation directory; the package creates it
        // only when its service starts.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let dir = tempfile::Builder::new().prefix("freshen-sshd-").tempdir().unwrap();
        let d = dir.path();
        for (key, kind) in [("host_key", "ed25519"), ("client_key", "ed25519")] {
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", kind, "-N", "", "-f"])
                .arg(d.join(key))
                .output()
                .unwrap();
            assert!(out.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        let port = free_port();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {keys}\n\
                 PidFile none\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nLogLevel VERBOSE\n",
                host = d.join("host_key").display(),
                keys = d.join("authorized_keys").display(),
            ),
        )
        .unwrap();
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        std::fs::write(d.join("known_hosts"), format!("[127.0.0.1]:{port} {host_pub}")).unwrap();
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        std::fs::write(
            d.join("ssh_config"),
            format!(
                "Host fleet-a\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n\
                 Host *\n  IdentityFile {key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {known}\n\
                 StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n",
                key = d.join("client_key").display(),
                known = d.join("known_hosts").display(),
            ),
        )
        .unwrap();
        std::fs::create_dir_all(d.join("bin")).unwrap();
        let wrapper = d.join("bin/ssh");
        std::fs::write(
            &wrapper,
            format!("#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n", d.join("ssh_config").display()),
        )
        .unwrap();
        std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let log = std::fs::File::create(d.join("sshd.log")).unwrap();
        let child = Command::new(sshd)
            .arg("-f")
            .arg(d.join("sshd_config"))
            .args(["-D", "-e"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let s = Sshd { dir, port, child };
        s.wait_ready();
        s
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out =
                Command::new(self.dir.path().join("bin/ssh")).args(["fleet-a", "true"]).output().unwrap();
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not let the test in: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// `PATH` with the config-reading ssh first.
    fn path(&self) -> String {
        format!("{}:{}", self.dir.path().join("bin").display(), std::env::var("PATH").unwrap_or_default())
    }

    fn url(&self) -> String {
        format!("ssh://fleet-a{}", remote_socket())
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A docker CLI context named `name` for `host`, in `config_dir`.
fn write_context(config_dir: &Path, name: &str, host: &str) {
    let hex: String = Sha256::digest(name.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let dir: PathBuf = config_dir.join("contexts/meta").join(hex);
    std::fs::create_dir_all(&dir).unwrap();
    let meta = serde_json::json!({
        "Name": name,
        "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}},
    });
    std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
}

#[test]
fn an_engine_over_ssh_is_checked_and_upgraded_like_a_local_one() {
    let sshd = Sshd::start();
    let t = TestEnv::new("an_engine_over_ssh");
    let reg = registry::shared();
    let reference = t.reference(reg.host(), "app", "1");
    t.publish_runnable(&reference, &Runnable::new("v1").health(Health::Healthy));
    let c = Containers::new(&t);
    let app = c.run("app", &[], &reference);
    let v2 = t.publish_runnable_remote(reg, "app", "1", &Runnable::new("v2").health(Health::Healthy));
    let pattern = t.pattern(reg.host());
    let over_ssh = || t.freshen().env("PATH", sshd.path()).env("DOCKER_HOST", sshd.url());

    // DOCKER_HOST=ssh://…: the update sees the remote engine's image.
    let run = over_ssh().args(["update", &pattern]).run();
    run.expect_code(0);
    assert!(run.stdout.contains("1 image can be upgraded"), "{run}");

    // -H ssh://USER@HOST:PORT, with the port in the URL, wins over a
    // DOCKER_HOST that names nothing.
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let direct = format!("ssh://{user}@127.0.0.1:{}{}", sshd.port, remote_socket());
    let run = t
        .freshen()
        .env("PATH", sshd.path())
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .args(["-H", &direct, "list", "--upgradable", &pattern])
        .run();
    run.expect_code(0);
    assert!(run.stdout.contains("app:1"), "{run}");

    // DOCKER_CONTEXT, and the docker CLI's current context, name it too.
    let config = t.state_dir().parent().unwrap().join("docker-config");
    write_context(&config, "fleet-a", &sshd.url());
    let ctx = || t.freshen().env("PATH", sshd.path()).env_remove("DOCKER_HOST");
    let run = ctx().env("DOCKER_CONTEXT", "fleet-a").args(["list", "--upgradable", &pattern]).run();
    run.expect_code(0);
    assert!(run.stdout.contains("app:1"), "{run}");
    std::fs::write(config.join("config.json"), r#"{"auths": {}, "currentContext": "fleet-a"}"#).unwrap();
    let run = ctx().args(["list", "--upgradable", &pattern]).run();
    run.expect_code(0);
    assert!(run.stdout.contains("app:1"), "{run}");
    let run = ctx().env("DOCKER_CONTEXT", "nowhere").args(["list", &pattern]).run();
    run.expect_code(1);
    assert!(run.stderr.contains("docker context 'nowhere' does not exist"), "{run}");
    std::fs::remove_file(config.join("config.json")).unwrap();

    // A real upgrade over ssh: pulled, the container recreated on v2,
    // health-gated, still running.
    let run = over_ssh().args(["upgrade", "-y", "--wait", "10", &pattern]).run();
    run.expect_code(0);
    assert_eq!(containers::state(&app).0, "running", "{run}");
    assert_eq!(containers::inspect(&app)["Image"], v2.id.as_str(), "the container runs v2\n{run}");
    let listing = over_ssh().args(["list", "--format", "json", &pattern]).run();
    assert!(listing.stdout.contains("\"up-to-date\""), "{listing}");
    // The ssh processes and the tunnel's socket are gone with freshen.
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("freshen-ssh-"))
        .filter(|e| {
            let pid: Option<u32> =
                e.file_name().to_string_lossy().split('-').nth(2).and_then(|p| p.parse().ok());
            pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists())
        })
        .collect();
    assert!(leftovers.is_empty(), "tunnel directories left behind: {leftovers:?}");
}

#[test]
fn a_host_that_is_down_is_one_line_with_ssh_s_reason() {
    let sshd = Sshd::start();
    let t = TestEnv::new("a_host_that_is_down");
    let closed = free_port();
    let run = t
        .freshen()
        .env("PATH", sshd.path())
        .args(["-H", &format!("ssh://root@127.0.0.1:{closed}"), "update"])
        .run();
    run.expect_code(1);
    let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{run}");
    assert!(lines[0].contains(&format!("ssh://root@127.0.0.1:{closed}")), "{run}");
    assert!(lines[0].contains("ssh: ") && lines[0].contains("Connection refused"), "{run}");
    eprintln!("{}", lines[0]);
    // A host that ssh would read as an option is refused before ssh runs.
    let run = t.freshen().args(["-H", "ssh://-oProxyCommand=x", "list"]).run();
    run.expect_code(1);
    assert!(run.stderr.contains("bad ssh address 'ssh://-oProxyCommand=x'"), "{run}");
}
