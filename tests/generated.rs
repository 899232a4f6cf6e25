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
