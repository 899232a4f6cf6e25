//! `freshen schedule` hands the scheduled run what this run sees: the
//! Docker host chosen by `DOCKER_HOST` (as `--host`), and the `FRESHEN_*`
//! variables that change behaviour (as `Environment=` lines, or lines of the
//! cron file). No engine or registry is needed to write the units.

#[allow(dead_code)]
// The harness is shared by every test binary; each uses only part of it.
mod support;

use support::TestEnv;

fn line_with<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("no line starting {start}\n{text}"))
}

#[test]
fn schedule_passes_docker_host_and_freshen_variables_to_the_scheduled_run() {
    let t = TestEnv::new("schedule_passes_docker_host_and_freshen_variables");
    let certs = t.state_dir().parent().unwrap().join("certs.d");
    let daemon_json = t.state_dir().parent().unwrap().join("daemon.json");

    // Without DOCKER_HOST the unit names no host: the engine's default socket.
    let plain = t.freshen().args(["schedule"]).env("DOCKER_HOST", "").run();
    plain.expect_code(0);
    let exec = line_with(&plain.stdout, "ExecStart=");
    assert!(!exec.contains("--host"), "{exec}");
    assert!(!plain.stdout.contains("FRESHEN_"), "\n{plain}");

    let run = t
        .freshen()
        .args(["schedule"])
        .env("DOCKER_HOST", "tcp://127.0.0.1:2375")
        .env("FRESHEN_INSECURE_REGISTRIES", "registry.lan:5000,10.0.0.9:5000")
        .env("FRESHEN_CERTS_DIR", certs.to_str().unwrap())
        .env("FRESHEN_DAEMON_JSON", daemon_json.to_str().unwrap())
        .run();
    run.expect_code(0);
    let exec = line_with(&run.stdout, "ExecStart=");
    assert!(exec.ends_with(" --host tcp://127.0.0.1:2375 update --notify"), "{exec}");
    for expected in [
        "Environment=FRESHEN_INSECURE_REGISTRIES=registry.lan:5000,10.0.0.9:5000".to_string(),
        format!("Environment=FRESHEN_CERTS_DIR={}", certs.display()),
        format!("Environment=FRESHEN_DAEMON_JSON={}", daemon_json.display()),
    ] {
        assert!(run.stdout.lines().any(|l| l == expected), "{expected} missing\n{run}");
    }

    // --host beats DOCKER_HOST, as it does for every other command.
    let run = t
        .freshen()
        .args(["--host", "unix:///run/other.sock", "schedule"])
        .env("DOCKER_HOST", "tcp://127.0.0.1:2375")
        .run();
    run.expect_code(0);
    let exec = line_with(&run.stdout, "ExecStart=");
    assert!(exec.ends_with(" --host unix:///run/other.sock update --notify"), "{exec}");

    // cron: the same host and variables.
    let run = t
        .freshen()
        .args(["schedule", "--cron"])
        .env("DOCKER_HOST", "tcp://127.0.0.1:2375")
        .env("FRESHEN_CERTS_DIR", certs.to_str().unwrap())
        .run();
    run.expect_code(0);
    assert!(run.stdout.lines().any(|l| l == format!("FRESHEN_CERTS_DIR={}", certs.display())), "\n{run}");
    let job = run.stdout.lines().find(|l| l.contains(" root ")).unwrap_or_else(|| panic!("no job\n{run}"));
    assert!(job.contains(" --host tcp://127.0.0.1:2375 update --notify"), "{job}");
}

#[test]
fn docker_host_reaches_the_engine_through_settings() {
    let t = TestEnv::new("docker_host_reaches_the_engine");
    // Nothing listens on port 9 of loopback: the message names the host
    // DOCKER_HOST chose.
    let run = t.freshen().args(["list"]).env("DOCKER_HOST", "tcp://127.0.0.1:9").run();
    run.expect_code(1);
    assert!(
        run.stderr.starts_with("freshen: cannot connect to the Docker daemon at tcp://127.0.0.1:9 ("),
        "\n{run}"
    );
}
