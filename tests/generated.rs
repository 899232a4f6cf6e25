//! The committed completions and man pages must match what the command
//! line generates now.

use std::process::Command;

#[test]
fn completions_and_man_pages_are_current() {
    let out = Command::new(env!("CARGO_BIN_EXE_freshen"))
        .args(["generate", "--check", "--dir", env!("CARGO_MANIFEST_DIR")])
        .env("NO_COLOR", "1")
        .output()
        .expect("run freshen generate --check");
    assert!(out.status.success(), "stale generated files:\n{}", String::from_utf8_lossy(&out.stderr));
    for f in ["completions/freshen.bash", "completions/_freshen", "completions/freshen.fish", "man/freshen.1"]
    {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(text.contains("update") && text.contains("upgradable"), "{f} lacks the subcommands");
    }
}

/// The package's systemd units are the ones `freshen schedule` writes, for
/// the packaged binary and state directory: run the real command and
/// compare, so the two cannot drift apart.
#[test]
fn packaged_units_are_what_schedule_writes() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let units = dir.path().join("units");
    std::fs::create_dir(&units).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_freshen"))
        .arg("--state-dir")
        .arg("/var/lib/freshen")
        .arg("--config")
        .arg(&config)
        .args(["schedule", "--install", "--dir"])
        .arg(&units)
        .env("DOCKER_CONFIG", "/root/.docker")
        .env("NO_COLOR", "1")
        .env_remove("FRESHEN_INSECURE_REGISTRIES")
        .env_remove("FRESHEN_CERTS_DIR")
        .env_remove("FRESHEN_DAEMON_JSON")
        .env_remove("DOCKER_HOST")
        .output()
        .expect("run freshen schedule");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["freshen.service", "freshen.timer"] {
        let written = std::fs::read_to_string(units.join(name)).unwrap();
        // The binary under test and the config file it was given are the
        // only differences: the package's binary is /usr/bin/freshen, and
        // its service finds /etc/freshen/config.toml by itself.
        let written = written
            .replace(env!("CARGO_BIN_EXE_freshen"), "/usr/bin/freshen")
            .replace(&format!(" --config {}", config.display()), "");
        let packaged = std::fs::read_to_string(root.join("packaging").join(name)).unwrap();
        let body = |text: &str| text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n");
        assert_eq!(body(&packaged), body(&written), "packaging/{name} differs from what schedule writes");
        assert!(packaged.starts_with("# Installed by the freshen package, disabled"), "{packaged}");
    }
}
