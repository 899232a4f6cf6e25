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
    // (The harness's FRESHEN_CONFIG names a file that does not exist: the
    // unit carries it as FRESHEN_CONFIG, see the test below.)
    assert!(
        !plain
            .stdout
            .lines()
            .any(|l| l.contains("FRESHEN_") && !l.starts_with("Environment=FRESHEN_CONFIG=")),
        "\n{plain}"
    );

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

/// The default config file (or FRESHEN_CONFIG) is often not written yet
/// when the timer is installed. The unit must not pass it as `--config`,
/// which has to exist (exit 2 on every scheduled run): it goes as
/// FRESHEN_CONFIG, which may be absent, and as `--config` once it exists.
#[test]
fn schedule_does_not_name_a_config_file_that_does_not_exist() {
    let t = TestEnv::new("schedule_config_not_written_yet");
    let config = t.state_dir().parent().unwrap().join("later/config.toml");
    let run = t.freshen().args(["schedule"]).env("FRESHEN_CONFIG", config.to_str().unwrap()).run();
    run.expect_code(0);
    let exec = line_with(&run.stdout, "ExecStart=").strip_prefix("ExecStart=").unwrap();
    assert!(!exec.contains("--config"), "{exec}");
    let expected = format!("Environment=FRESHEN_CONFIG={}", config.display());
    assert!(run.stdout.lines().any(|l| l == expected), "{expected} missing\n{run}");

    // What the timer runs works as it is written (an offline command in
    // place of `update --notify`), with the unit's environment.
    let words: Vec<&str> = exec.split(' ').collect();
    let at = words.iter().position(|w| *w == "update").unwrap();
    let scheduled = std::process::Command::new(words[0])
        .args(&words[1..at])
        .arg("showhold")
        .env("FRESHEN_CONFIG", &config)
        .output()
        .unwrap();
    assert_eq!(scheduled.status.code(), Some(0), "{}", String::from_utf8_lossy(&scheduled.stderr));

    // Once the file exists it is named, as before.
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "").unwrap();
    let run = t.freshen().args(["schedule", "--cron"]).env("FRESHEN_CONFIG", config.to_str().unwrap()).run();
    run.expect_code(0);
    let job = run.stdout.lines().find(|l| l.contains(" root ")).unwrap_or_else(|| panic!("no job\n{run}"));
    assert!(job.contains(&format!(" --config {} ", config.display())), "{job}");
    assert!(!run.stdout.contains("FRESHEN_CONFIG="), "\n{run}");
}
