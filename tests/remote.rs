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
        Sshd::start_with(&[("fleet-a", Vec::new())])
    }

    /// An sshd with one client key per host alias; each key's login gets
    /// the environment given (`PermitUserEnvironment`), so that one
    /// machine can stand in for several hosts (their own state
    /// directories).
    fn start_with(hosts: &[(&str, Vec<(&str, String)>)]) -> Sshd {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(sshd.exists(), "sshd is missing: install Debian's openssh-server (.ci/monitoring.sh does)");
        // sshd's privilege separation directory; the package creates it
        // only when its service starts.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let dir = tempfile::Builder::new().prefix("freshen-sshd-").tempdir().unwrap();
        let d = dir.path();
        let keygen = |key: &str| {
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key))
                .output()
                .unwrap();
            assert!(out.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
        };
        keygen("host_key");
        let mut authorized = String::new();
        for (alias, env) in hosts {
            keygen(&format!("key-{alias}"));
            let public = std::fs::read_to_string(d.join(format!("key-{alias}.pub"))).unwrap();
            // `command` stands for a forced command (with `restrict`), the
            // rest for environment variables.
            let options: Vec<String> = env
                .iter()
                .map(|(k, v)| match *k {
                    "command" => format!("restrict,command=\"{v}\""),
                    _ => format!("environment=\"{k}={v}\""),
                })
                .collect();
            if options.is_empty() {
                authorized.push_str(&public);
            } else {
                authorized.push_str(&format!("{} {public}", options.join(",")));
            }
        }
        std::fs::write(d.join("authorized_keys"), authorized).unwrap();
        let port = free_port();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {keys}\n\
                 PidFile none\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nLogLevel VERBOSE\n\
                 PermitUserEnvironment yes\n",
                host = d.join("host_key").display(),
                keys = d.join("authorized_keys").display(),
            ),
        )
        .unwrap();
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        std::fs::write(d.join("known_hosts"), format!("[127.0.0.1]:{port} {host_pub}")).unwrap();
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        let mut config = String::new();
        for (alias, _) in hosts {
            config.push_str(&format!(
                "Host {alias}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {}\n",
                d.join(format!("key-{alias}")).display()
            ));
        }
        // A host that is down: nothing listens on its port.
        config.push_str(&format!(
            "Host fleet-down\n  HostName 127.0.0.1\n  Port {}\n  User {user}\n",
            free_port()
        ));
        config.push_str(&format!(
            "Host *\n  IdentityFile {key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {known}\n  \
             StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n",
            key = d.join(format!("key-{}", hosts[0].0)).display(),
            known = d.join("known_hosts").display(),
        ));
        std::fs::write(d.join("ssh_config"), config).unwrap();
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
        // One server: once one key gets in, it is up.
        s.wait_ready(hosts[0].0);
        s
    }

    fn wait_ready(&self, alias: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = Command::new(self.dir.path().join("bin/ssh")).args([alias, "true"]).output().unwrap();
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
    // The tunnels' sockets go to a runtime directory of this test's own, so
    // that what other runs left elsewhere is not counted below.
    let runtime = tempfile::Builder::new().prefix("freshen-runtime-").tempdir().unwrap();
    let over_ssh = || {
        t.freshen()
            .env("PATH", sshd.path())
            .env("DOCKER_HOST", sshd.url())
            .env("XDG_RUNTIME_DIR", runtime.path().to_str().unwrap())
    };

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
    let ctx = || {
        t.freshen()
            .env("PATH", sshd.path())
            .env_remove("DOCKER_HOST")
            .env("XDG_RUNTIME_DIR", runtime.path().to_str().unwrap())
    };
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
    let leftovers: Vec<_> = std::fs::read_dir(runtime.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("freshen-ssh-"))
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

/// `freshen fleet` over two hosts and one that is down: each host is this
/// machine's engine behind the loopback sshd, with its own state directory
/// (set by its key's environment), running its own freshen.
#[test]
fn a_fleet_of_hosts_answers_in_one_view() {
    let t = TestEnv::new("a_fleet_of_hosts");
    let states = tempfile::Builder::new().prefix("freshen-fleet-hosts-").tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_freshen")).parent().unwrap().display().to_string();
    let host_env = |name: &str| {
        let state = states.path().join(name);
        std::fs::create_dir_all(&state).unwrap();
        vec![
            ("FRESHEN_STATE_DIR", state.display().to_string()),
            ("PATH", format!("{bin}:/usr/local/bin:/usr/bin:/bin")),
            ("NO_COLOR", "1".to_string()),
            ("DOCKER_HOST", format!("unix://{}", remote_socket())),
        ]
    };
    // fleet-ro: host a's state, through the read-only key of
    // docs/remote.md (its forced command, taken from the document).
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/remote.md")).unwrap();
    let script = doc
        .split("```sh\n")
        .find(|block| block.starts_with("#!/bin/sh\n# Runs the command the client asked for"))
        .and_then(|block| block.split("```").next())
        .expect("docs/remote.md has the read-only key's script");
    let script_path = states.path().join("freshen-readonly");
    std::fs::write(&script_path, script.replace("/usr/local/bin/", &format!("{bin}/"))).unwrap();
    std::fs::set_permissions(&script_path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut ro = host_env("a");
    ro.push(("command", script_path.display().to_string()));
    let sshd = Sshd::start_with(&[("fleet-a", host_env("a")), ("fleet-b", host_env("b")), ("fleet-ro", ro)]);
    let reg = registry::shared();
    let reference = t.reference(reg.host(), "app", "1");
    let v1 = t.publish_runnable(&reference, &Runnable::new("v1"));
    t.publish_runnable_remote(reg, "app", "1", &Runnable::new("v2"));
    let pattern = t.pattern(reg.host());
    let fleet = |args: &[&str]| t.freshen().env("PATH", sshd.path()).arg("fleet").args(args).run();

    // update on all three: two answer, the one that is down is a row with
    // ssh's reason, and the exit status says a host failed.
    let run = fleet(&["--hosts", "fleet-a,fleet-b,fleet-down", "update", &pattern]);
    run.expect_code(1);
    let rows: Vec<&str> = run.stdout.lines().collect();
    assert!(rows[0].starts_with("HOST") && rows[0].contains("IMAGE") && rows[0].contains("STATUS"), "{run}");
    for host in ["fleet-a", "fleet-b"] {
        assert!(
            rows.iter().any(|l| l.starts_with(host) && l.contains("app:1") && l.contains("upgradable")),
            "{run}"
        );
    }
    let down = rows
        .iter()
        .find(|l| l.starts_with("fleet-down"))
        .unwrap_or_else(|| panic!("no row for the down host\n{run}"));
    assert!(down.contains("unreachable") && down.contains("Connection refused"), "{run}");
    assert!(run.stderr.contains("fleet-down: unreachable: "), "{run}");

    let run = fleet(&["--hosts", "fleet-a,fleet-b,fleet-down", "list", "--upgradable", &pattern]);
    run.expect_code(1);
    eprintln!("$ freshen fleet --hosts fleet-a,fleet-b,fleet-down list --upgradable PATTERN\n{}", run.stdout);
    assert_eq!(run.stdout.lines().count(), 4, "a heading and three rows\n{run}");

    // JSON: the host in each row.
    let run = fleet(&["--hosts", "fleet-a,fleet-b,fleet-down", "--format", "json", "list", &pattern]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    let hosts: Vec<&str> = doc.as_array().unwrap().iter().map(|r| r["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["fleet-a", "fleet-b", "fleet-down"], "{run}");
    assert_eq!(doc[0]["reference"], reference.as_str());
    assert_eq!(doc[2]["status"], "unreachable");

    // check: every host answered and one has an update: 100.
    fleet(&["--hosts", "fleet-a,fleet-b", "check", &pattern]).expect_code(100);

    // upgrade goes host by host and stops at the first that fails: the
    // host after the down one is not touched.
    let run = fleet(&["--hosts", "fleet-down,fleet-a", "upgrade", "-y", &pattern]);
    run.expect_code(1);
    assert!(run.stderr.contains("not run on fleet-a"), "{run}");
    assert_eq!(support::docker::inspect(&reference).id, v1.id, "fleet-a was not upgraded");
    let run = fleet(&["--hosts", "fleet-a", "upgrade", "-y", &pattern]);
    run.expect_code(0);
    assert!(run.stdout.lines().any(|l| l.starts_with("fleet-a") && l.contains("upgraded")), "{run}");
    assert_ne!(support::docker::inspect(&reference).id, v1.id, "fleet-a upgraded the tag");

    // The read-only key lists (a quoted pattern passes) and refuses an
    // upgrade with the script's reason.
    let run = fleet(&["--hosts", "fleet-ro", "list", &pattern]);
    run.expect_code(0);
    assert!(run.stdout.lines().any(|l| l.starts_with("fleet-ro") && l.contains("app:1")), "{run}");
    let run = fleet(&["--hosts", "fleet-ro", "upgrade", "-y", &pattern]);
    run.expect_code(1);
    assert!(run.stdout.contains("not allowed with this key"), "{run}");

    // No hosts at all is a clear error.
    let run = t.freshen().args(["fleet", "list"]).run();
    run.expect_code(1);
    assert!(run.stderr.contains("freshen fleet needs hosts"), "{run}");
}

/// A Compose service on an engine reached over ssh is refused with the
/// reason for its whole tag, before anything of it changes (the tag is not
/// pulled): recreating it needs the project's files, which are on that host.
#[test]
fn a_compose_service_over_ssh_is_kept_back_with_the_reason() {
    let sshd = Sshd::start();
    let t = TestEnv::new("a_compose_service_over_ssh");
    let mut c = Containers::new(&t);
    let reg = registry::shared();
    let reference = t.reference(reg.host(), "app", "1");
    t.publish_runnable(&reference, &Runnable::new("v1"));
    let (project, dir, _keep) = c.compose_dir(&t, &format!("services:\n  web:\n    image: {reference}\n"));
    containers::compose_up(&dir, &project);
    let web = format!("{project}-web-1");
    let old_id = containers::inspect(&web)["Id"].clone();
    t.publish_runnable_remote(reg, "app", "1", &Runnable::new("v2"));
    let pattern = t.pattern(reg.host());
    let over_ssh = || t.freshen().env("PATH", sshd.path()).env("DOCKER_HOST", sshd.url());
    over_ssh().args(["update", &pattern]).run().expect_code(0);

    let old_image = support::docker::inspect(&reference).id;
    let run = over_ssh().args(["upgrade", "-y", "--wait", "2", &pattern]).run();
    // Refused whole: the run fails, and the tag was not pulled, so the
    // service's tag and its container agree.
    run.expect_code(1);
    assert_eq!(support::docker::inspect(&reference).id, old_image, "the tag was not moved\n{run}");
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains(&format!("compose project {project} runs on {}", sshd.url()))
            && said.contains("needs the project's files there"),
        "{run}"
    );
    assert_eq!(containers::inspect(&web)["Id"], old_id, "the Compose service was left as it was\n{run}");
    assert_eq!(containers::state(&web).0, "running");
}

/// The Ansible playbook of monitoring/ansible, run by a real
/// `ansible-playbook` (ansible-core) over the loopback sshd against three
/// hosts in batches of one: the first upgrades, the second's upgrade rolls
/// back and fails the host, so the third batch is never run. A report-only
/// run sets the facts from `check`'s exit status and JSON and changes
/// nothing; a host that is down stops the play before the hosts after it.
#[test]
fn the_ansible_playbook_upgrades_in_batches_and_stops_at_a_failed_one() {
    let Some(playbook_bin) = which("ansible-playbook") else {
        panic!("ansible-playbook is missing: .ci/monitoring.sh installs ansible-core");
    };
    let t = TestEnv::new("the_ansible_playbook");
    let c = Containers::new(&t);
    let states = tempfile::Builder::new().prefix("freshen-ansible-").tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_freshen"));
    let host_env = |name: &str| {
        let state = states.path().join(name);
        std::fs::create_dir_all(&state).unwrap();
        vec![
            ("FRESHEN_STATE_DIR", state.display().to_string()),
            ("PATH", "/usr/local/bin:/usr/bin:/bin".to_string()),
            ("NO_COLOR", "1".to_string()),
            ("DOCKER_HOST", format!("unix://{}", remote_socket())),
        ]
    };
    let sshd = Sshd::start_with(&[
        ("fleet-a", host_env("a")),
        ("fleet-b", host_env("b")),
        ("fleet-c", host_env("c")),
    ]);
    let reg = registry::shared();
    // One image per host (they share this machine's engine); b's new
    // version turns unhealthy.
    let mut images = Vec::new();
    for (host, v2) in [
        ("a", Runnable::new("a2").health(Health::Healthy)),
        ("b", Runnable::new("b2").health(Health::Unhealthy)),
        ("c", Runnable::new("c2").health(Health::Healthy)),
    ] {
        let reference = t.reference(reg.host(), &format!("app-{host}"), "1");
        let v1 = t.publish_runnable(&reference, &Runnable::new(&format!("{host}1")).health(Health::Healthy));
        let container = c.run(&format!("web-{host}"), &[], &reference);
        t.publish_runnable_remote(reg, &format!("app-{host}"), "1", &v2);
        images.push((reference, v1.id, container));
    }
    let inventory = states.path().join("hosts.yml");
    let mut hosts = String::new();
    // Ansible runs hosts in inventory order: the down host before c.
    for (alias, (reference, _, _)) in ["fleet-a", "fleet-b", "fleet-down", "fleet-c"]
        .iter()
        .zip([&images[0], &images[1], &images[2], &images[2]])
    {
        hosts.push_str(&format!("        {alias}:\n          freshen_patterns: [\"{reference}\"]\n"));
    }
    std::fs::write(
        &inventory,
        format!(
            "all:\n  vars:\n    freshen_command: {bin}\n    freshen_upgrade_args: [\"--wait\", \"30\"]\n    \
             ansible_python_interpreter: /usr/bin/python3\n    ansible_pipelining: true\n    \
             ansible_ssh_transfer_method: piped\n    \
             ansible_ssh_common_args: \"-F {config}\"\n  children:\n    freshen:\n      hosts:\n{hosts}",
            bin = bin.display(),
            config = sshd.dir.path().join("ssh_config").display(),
        ),
    )
    .unwrap();
    let playbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring/ansible/freshen.yml");
    let ansible_home = states.path().join("ansible");
    let play = |extra: &[&str]| {
        let out = Command::new(&playbook_bin)
            .arg("-i")
            .arg(&inventory)
            .arg(&playbook)
            .args(extra)
            .env("ANSIBLE_HOME", &ansible_home)
            .env("ANSIBLE_LOCAL_TEMP", ansible_home.join("tmp"))
            .env("ANSIBLE_SSH_CONTROL_PATH_DIR", ansible_home.join("cp"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.code(), text)
    };
    let image_of = |reference: &str| support::docker::inspect(reference).id;

    // Report only: check's exit 100 and JSON become facts; nothing moves.
    let (code, text) = play(&["--limit", "fleet-a,fleet-c", "-e", "freshen_upgrade=false"]);
    assert_eq!(code, Some(0), "{text}");
    for (reference, v1, _) in [&images[0], &images[2]] {
        assert!(text.contains(&format!("1 upgradable: {reference}")), "{text}");
        assert_eq!(&image_of(reference), v1, "a report-only run moved {reference}\n{text}");
    }

    // The rollout: a upgrades, b rolls back and fails, c is never run.
    let (code, text) = play(&["--limit", "fleet-a,fleet-b,fleet-c"]);
    assert_eq!(code, Some(2), "ansible-playbook fails the play\n{text}");
    let (a, a_v1, web_a) = &images[0];
    assert_ne!(&image_of(a), a_v1, "fleet-a upgraded\n{text}");
    assert_eq!(
        containers::inspect(web_a)["Image"],
        serde_json::json!(image_of(a)),
        "web-a runs the new version"
    );
    let (b, b_v1, web_b) = &images[1];
    assert_eq!(&image_of(b), b_v1, "fleet-b's tag is back on the old version\n{text}");
    assert_eq!(
        containers::inspect(web_b)["Image"],
        serde_json::json!(b_v1),
        "web-b runs the old version again"
    );
    assert!(text.contains("freshen upgrade exited 1") && text.contains("rolled back:"), "{text}");
    let (c_ref, c_v1, _) = &images[2];
    assert_eq!(&image_of(c_ref), c_v1, "the batch after the failed one was not run\n{text}");
    assert!(!text.contains("ok: [fleet-c]") && !text.contains("changed: [fleet-c]"), "{text}");

    // A host that cannot be reached is a failed batch too.
    let (code, text) = play(&["--limit", "fleet-down,fleet-c"]);
    assert_eq!(code, Some(4), "unreachable hosts make ansible-playbook exit 4\n{text}");
    assert!(text.contains("fleet-down") && text.contains("UNREACHABLE"), "{text}");
    assert_eq!(&image_of(c_ref), c_v1, "fleet-c comes after the unreachable batch\n{text}");
}

/// A program on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}
