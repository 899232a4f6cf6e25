//! What a new user hits (issue 16): the prompt, pins next to tags, holds,
//! the config's `hold`, `--config`, timeouts, the upgrade summary, the
//! table, identifiers, exit statuses, small conveniences and the docs that
//! promise them. Each test drives the real binary against the real daemon
//! and a real registry on loopback, in its own namespace.

// The harness is shared by several test binaries; each uses part of it.
#[allow(dead_code)]
mod support;

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::FromRawFd;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::docker;
use support::{registry, Published, Registry, Run, TestEnv};

fn short(id: &str) -> &str {
    &id.strip_prefix("sha256:").unwrap_or(id)[..12]
}

/// One upgradable tag: v1 pulled, v2 pushed since, and `update` has seen it.
struct Scenario {
    reference: String,
    pattern: String,
    v1: Published,
    v2: Published,
}

fn upgradable(t: &TestEnv, reg: &Registry, name: &str, tag: &str) -> Scenario {
    let reference = t.reference(reg.host(), name, tag);
    let v1 = t.publish(&reference, "v1");
    let v2 = t.publish_remote(reg, name, tag, "v2");
    let pattern = t.pattern(reg.host());
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    assert_eq!(t.list(&[&pattern]).get(&reference).status, "upgradable");
    Scenario { reference, pattern, v1, v2 }
}

/// A pseudo-terminal: the slave side is what the program sees as its
/// terminal, the master side is the keyboard and the screen.
struct Pty {
    master: File,
    slave: File,
}

fn pty(columns: u16) -> Pty {
    let mut master = 0;
    let mut slave = 0;
    let size = libc::winsize { ws_row: 40, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0 };
    let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    unsafe { Pty { master: File::from_raw_fd(master), slave: File::from_raw_fd(slave) } }
}

/// Collects what the program writes to the terminal, as it comes.
fn screen(master: &File) -> Arc<Mutex<Vec<u8>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut reader = master.try_clone().unwrap();
    let sink = seen.clone();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // EIO once every slave descriptor is closed: the program is gone.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    seen
}

/// Runs `command` to the end (at most 60 s) and collects its output.
fn finish(mut command: Command, shown: &str) -> Run {
    let started = Instant::now();
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let id = child.id();
    let watchdog = thread::spawn(move || {
        while started.elapsed() < Duration::from_secs(60) {
            thread::sleep(Duration::from_millis(100));
            if unsafe { libc::kill(id as i32, 0) } != 0 {
                return;
            }
        }
        unsafe { libc::kill(id as i32, libc::SIGKILL) };
    });
    let output = child.wait_with_output().unwrap();
    let _ = watchdog.join();
    Run {
        command: shown.to_string(),
        elapsed: started.elapsed(),
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Removes the colour escapes (`ESC [ … m`) from a line.
fn visible(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Containers removed at the end of a test, whatever happens.
struct Containers(Vec<String>);

impl Drop for Containers {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = docker::docker_ok(&["rm", "-f", name]);
        }
    }
}

fn write_config(t: &TestEnv, text: &str) -> String {
    let path = t.state_dir().join("../config.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn repo_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(repo_root().join("README.md")).unwrap()
}

// ---------------------------------------------------------------------------
// 1. Loses things: the prompt.

/// End of input at the prompt (Ctrl-D on a real terminal) aborts, like
/// apt: `Abort.`, exit 1, nothing pulled or retired. Only an empty line
/// takes the default.
#[test]
fn end_of_input_at_the_prompt_aborts() {
    let t = TestEnv::new("prompt_eof");
    let reg = registry::shared();
    let s = upgradable(&t, reg, "app", "1");

    let answer = |keys: &[u8]| -> Run {
        let terminal = pty(120);
        let echo = screen(&terminal.master);
        let mut command = t.freshen().args(["upgrade", &s.pattern]).command();
        command.stdin(Stdio::from(terminal.slave.try_clone().unwrap()));
        let mut keyboard = terminal.master.try_clone().unwrap();
        keyboard.write_all(keys).unwrap();
        let run = finish(command, &format!("freshen upgrade {} <<< {keys:?}", s.pattern));
        drop(terminal);
        let _ = echo;
        run
    };

    // Ctrl-D at the start of a line: the terminal's end of input.
    let run = answer(b"\x04");
    assert_eq!(run.code, 1, "end of input must abort\n{run}");
    assert!(run.stdout.contains("Do you want to continue? [Y/n]"), "\n{run}");
    assert_eq!(run.last_line().rsplit("[Y/n] ").next().unwrap(), "Abort.", "\n{run}");
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id, "end of input upgraded the image\n{run}");
    assert!(docker::exists(&s.v1.id));

    let run = answer(b"n\n");
    assert_eq!(run.code, 1, "\n{run}");
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id);

    // An empty line is the default, yes.
    let run = answer(b"\n");
    assert_eq!(run.code, 0, "\n{run}");
    assert_eq!(docker::inspect(&s.reference).id, s.v2.id, "\n{run}");
}

// ---------------------------------------------------------------------------
// 2. Loses things: a pin in a repository that has tags.

/// A build pulled by digest that is newer than the tagged one is `pinned`,
/// shown in `list`, and never retired as an "earlier version"; an untagged
/// version older than the tagged one still is.
#[test]
fn a_newer_pin_next_to_a_tag_is_pinned_not_earlier() {
    let t = TestEnv::new("pin_next_to_tag");
    let reg = registry::shared();
    let tagged = t.reference(reg.host(), "db", "1.2.3");
    let older = t.publish_remote(reg, "db", "old", "v0");
    thread::sleep(Duration::from_millis(1100));
    t.publish(&tagged, "v1");
    thread::sleep(Duration::from_millis(1100));
    let newer = t.publish_remote(reg, "db", "nightly", "v2");
    let name = format!("{}/{}", reg.host(), t.repo("db"));
    let pin = format!("{name}@{}", newer.digest);
    docker::pull(&pin);
    docker::pull(&format!("{name}@{}", older.digest));
    assert!(docker::inspect(&pin).repo_tags.is_empty(), "the pin must be untagged");

    let pattern = t.pattern(reg.host());
    t.freshen().args(["update", &pattern]).run().expect_code(0);
    let listing = t.list(&[&pattern]);
    let entry = listing.get(&pin);
    assert_eq!(entry.status, "pinned", "{:#}", entry.raw);
    assert_eq!(entry.image_id, newer.id);

    let run = t.freshen().args(["autoremove", "-s", &pattern]).run();
    run.expect_code(0);
    assert!(!run.stdout.contains(short(&newer.digest)), "the pin is offered for removal\n{run}");
    assert!(!run.stdout.contains(short(&newer.id)), "the pin is offered for removal\n{run}");
    assert!(run.stdout.contains(&format!("{name}@{}", &older.digest[..19])), "\n{run}");
    assert!(run.stdout.lines().any(|l| l.starts_with("1 to retire")), "\n{run}");
}

// ---------------------------------------------------------------------------
// 3. Holds say what is true.

#[test]
fn unhold_of_a_tag_under_a_name_hold_says_which_hold_covers_it() {
    let t = TestEnv::new("unhold_covered");
    let reg = registry::shared();
    let tagged = t.reference(reg.host(), "db", "1.2.3");
    t.publish(&tagged, "v1");
    let name = format!("{}/{}", reg.host(), t.repo("db"));

    t.freshen().args(["hold", &name]).run().expect_code(0);
    let run = t.freshen().args(["unhold", &tagged]).run();
    run.expect_code(1);
    assert!(!run.stdout.contains("was already not on hold"), "\n{run}");
    assert_eq!(
        run.stderr.trim(),
        format!("W: {tagged} stays on hold: the hold on {name} covers it; run 'freshen unhold {name}' to lift it."),
        "\n{run}"
    );
    assert_eq!(t.list(&[&name]).get(&tagged).raw["held"], Value::Bool(true));
    t.freshen().args(["unhold", &name]).run().expect_code(0);

    // The other way round: unholding the name lifts the tag's hold.
    t.freshen().args(["hold", &tagged]).run().expect_code(0);
    let run = t.freshen().args(["unhold", &name]).run();
    run.expect_code(0);
    assert_eq!(run.stdout_lines(), [format!("Canceled hold on {tagged}.").as_str()], "\n{run}");
    assert_eq!(t.list(&[&name]).get(&tagged).raw["held"], Value::Bool(false));
    let show = t.freshen().arg("showhold").run();
    assert_eq!(show.stdout, "", "\n{show}");
}

#[test]
fn a_hold_that_matches_no_local_tag_warns() {
    let t = TestEnv::new("hold_nothing");
    let reg = registry::shared();
    let tagged = t.reference(reg.host(), "db", "1.2.3");
    t.publish(&tagged, "v1");
    let missing = t.reference(reg.host(), "nosuchimage", "1");

    let run = t.freshen().args(["hold", &tagged]).run();
    run.expect_code(0);
    assert_eq!(run.warnings(), Vec::<&str>::new(), "\n{run}");

    let run = t.freshen().args(["hold", &missing]).run();
    run.expect_code(0);
    assert_eq!(run.stdout_lines(), [format!("{missing} set on hold.").as_str()], "\n{run}");
    assert_eq!(
        run.warnings(),
        [format!("W: no local image matches {missing}; the hold applies once one does.").as_str()],
        "\n{run}"
    );
}

// ---------------------------------------------------------------------------
// 4. One meaning of hold.

/// `hold = true` in the config is a hold like `freshen hold`: in
/// `showhold`, marked in `list`, kept back by `upgrade`.
#[test]
fn config_hold_is_a_hold() {
    let t = TestEnv::new("config_hold");
    let reg = registry::shared();
    let s = upgradable(&t, reg, "app", "1");
    let section = format!("{}/{}", reg.host(), t.repo("app"));
    let config = write_config(&t, &format!("[images.\"{section}\"]\nhold = true\n"));

    let show = t.freshen().args(["--config", &config, "showhold"]).run();
    show.expect_code(0);
    assert_eq!(show.stdout_lines(), [format!("{section} (config {config})").as_str()], "\n{show}");

    let listing = t.freshen().args(["--config", &config, "list", "--format", "json", &s.pattern]).run();
    listing.expect_code(0);
    let listing = support::Listing::parse(&listing.stdout);
    assert_eq!(listing.get(&s.reference).raw["held"], Value::Bool(true));

    let run = t.freshen().args(["--config", &config, "upgrade", "-y", &s.pattern]).run();
    run.expect_code(0);
    assert_eq!(
        run.stdout_lines(),
        [
            "The following images have been kept back:".to_string(),
            format!("  {} (held)", s.reference),
            "0 upgraded, 0 to retire, 1 kept back.".to_string(),
        ],
        "\n{run}"
    );
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id);
}

// ---------------------------------------------------------------------------
// 5. An explicit --config that does not exist.

#[test]
fn a_missing_explicit_config_is_an_error() {
    let t = TestEnv::new("missing_config");
    let path = t.state_dir().join("../nope.toml");
    let run = t.freshen().args(["--config", path.to_str().unwrap(), "showhold"]).run();
    run.expect_code(2);
    assert_eq!(
        run.stderr.trim(),
        format!("freshen: config file {} does not exist", path.display()),
        "\n{run}"
    );
    // The default path (here FRESHEN_CONFIG, set by the harness to a file
    // that does not exist) may be absent.
    t.freshen().arg("showhold").run().expect_code(0);
}

// ---------------------------------------------------------------------------
// 6. A registry that never answers.

/// The health gate says on a terminal which containers it waits for and how
/// long is left (a container without a HEALTHCHECK is watched the whole
/// `--wait`); off a terminal it says nothing of the kind.
#[test]
fn the_health_gate_shows_what_it_waits_for_on_a_terminal() {
    use support::containers::{Containers, Runnable};
    let t = TestEnv::new("gate_waiting_line");
    let reg = registry::shared();
    let reference = t.reference(reg.host(), "app", "1");
    t.publish_runnable(&reference, &Runnable::new("v1"));
    let c = Containers::new(&t);
    let web = c.run("web", &[], &reference);
    let _cleanup = self::Containers(vec![web.clone()]);
    let pattern = t.pattern(reg.host());
    let upgrade_to = |version: &str| {
        t.publish_runnable_remote(reg, "app", "1", &Runnable::new(version));
        t.freshen().args(["update", &pattern]).run().expect_code(0);
    };

    upgrade_to("v2");
    let terminal = pty(120);
    let seen = screen(&terminal.master);
    let mut command = t.freshen().args(["upgrade", "-y", "--wait", "3", &pattern]).command();
    command.stderr(Stdio::from(terminal.slave.try_clone().unwrap()));
    command.stdout(Stdio::piped());
    let child = command.spawn().unwrap();
    drop(command);
    let output = child.wait_with_output().unwrap();
    drop(terminal);
    thread::sleep(Duration::from_millis(200));
    let screen = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{screen}");
    assert!(screen.contains(&format!("Health gate: waiting for {web} (")), "\n{screen}");
    assert!(screen.contains("s left)"), "\n{screen}");

    // Off a terminal (a log, a pipe): no such line.
    upgrade_to("v3");
    let run = t.freshen().args(["upgrade", "-y", "--wait", "3", &pattern]).run();
    run.expect_code(0);
    assert!(!run.stderr.contains("Health gate"), "\n{run}");
}

/// `--timeout` bounds the whole wait for one image, retries included, and a
/// terminal shows what is being waited for meanwhile.
#[test]
fn timeouts_add_up_to_the_timeout_and_waits_show_progress() {
    let t = TestEnv::new("silent_registry");
    let reg = registry::shared();
    // Connections complete (the kernel's backlog) but nothing ever answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("127.0.0.1:{}", silent.local_addr().unwrap().port());
    let here = t.reference(reg.host(), "app", "1");
    t.publish(&here, "v1");
    let stuck = t.reference(&host, "app", "1");
    docker::tag(&here, &stuck);

    let terminal = pty(100);
    let seen = screen(&terminal.master);
    let mut command = t.freshen().args(["update", "--timeout", "4", &t.pattern(&host)]).command();
    command.stderr(Stdio::from(terminal.slave.try_clone().unwrap()));
    command.stdout(Stdio::piped());
    let started = Instant::now();
    let child = command.spawn().unwrap();
    drop(command);
    let output = child.wait_with_output().unwrap();
    let elapsed = started.elapsed();
    drop(terminal);
    thread::sleep(Duration::from_millis(200));
    let screen = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{screen}");
    assert!(
        elapsed < Duration::from_secs(6),
        "--timeout 4 took {elapsed:?}: the wait must add up to the timeout\n{stdout}\n{screen}"
    );
    assert!(
        screen.contains(&format!("waiting for {host}")),
        "the terminal should say what it waits for:\n{screen:?}"
    );
    drop(silent);
}

// ---------------------------------------------------------------------------
// 7. A failed re-check is counted.

#[test]
fn a_failed_recheck_is_counted_in_the_summary() {
    let t = TestEnv::new("failed_recheck");
    let reg = Registry::start();
    let s = upgradable(&t, &reg, "app", "1");
    reg.stop();
    let run = t.freshen().args(["upgrade", "-y", &s.pattern]).run();
    run.expect_code(1);
    assert_eq!(run.last_line(), "0 upgraded, 0 to retire, 0 kept back, 1 failed.", "\n{run}");
    assert_eq!(docker::inspect(&s.reference).id, s.v1.id);
}

// ---------------------------------------------------------------------------
// 8. The table fits the terminal.

/// With colour on and 80 columns, every line fits and every column starts
/// where its heading does: colour escapes take no width, and a long
/// `repo@sha256:…` is shortened.
#[test]
fn the_table_fits_the_terminal_with_colour() {
    let t = TestEnv::new("table_fits");
    let reg = registry::shared();
    let s = upgradable(&t, reg, "application-with-a-rather-long-name", "1.0.0");
    let current = t.reference(reg.host(), "current", "latest");
    t.publish(&current, "v1");
    let pinned = t.publish_remote(reg, "pinned", "x", "v1");
    docker::pull(&format!("{}/{}@{}", reg.host(), t.repo("pinned"), pinned.digest));
    t.freshen().args(["update", &s.pattern]).run().expect_code(0);
    t.freshen().args(["hold", &s.reference]).run().expect_code(0);

    for width in [80usize, 120] {
        let run = t
            .freshen()
            .env_remove("NO_COLOR")
            .env("COLUMNS", width.to_string())
            .args(["--color", "always", "list", &s.pattern])
            .run();
        run.expect_code(0);
        assert!(run.stdout.contains('\u{1b}'), "colour is on\n{run}");
        let lines: Vec<String> = run.stdout.lines().map(visible).collect();
        assert_eq!(lines.len(), 4, "a header and three rows\n{run}");
        for line in &lines {
            assert!(
                line.chars().count() <= width,
                "{} columns > {width}: {line:?}\n{run}",
                line.chars().count()
            );
        }
        let status_at = lines[0].find("STATUS").unwrap_or_else(|| panic!("no STATUS heading\n{run}"));
        for line in &lines[1..] {
            let rest: String = line.chars().skip(status_at).collect();
            assert!(
                support::STATUSES.iter().any(|s| rest.starts_with(s)),
                "the status does not start under STATUS in {line:?}\n{run}"
            );
            assert!(line.chars().nth(status_at - 1) == Some(' '), "{line:?}\n{run}");
        }
    }
}

// ---------------------------------------------------------------------------
// 9. One kind of identifier.

/// The plan names the old version by the image ID `docker images` shows;
/// a digest is always written as one (`sha256:…`); rollback names image IDs.
#[test]
fn identifiers_are_image_ids_or_labelled_digests() {
    let t = TestEnv::new("identifiers");
    let reg = registry::shared();
    let s = upgradable(&t, reg, "app", "latest");

    let plan = t.freshen().args(["upgrade", "-s", &s.pattern]).run();
    plan.expect_code(0);
    let line = plan.stdout_lines()[1].to_string();
    let new_by_id = format!("  {} ({} => {})", s.reference, short(&s.v1.id), short(&s.v2.id));
    let new_by_digest = format!("  {} ({} => sha256:{})", s.reference, short(&s.v1.id), short(&s.v2.digest));
    assert!(line == new_by_id || line == new_by_digest, "{line:?}\n{plan}");
    let retired = format!("  {} ({})", s.reference, short(&s.v1.id));
    assert!(plan.stdout_lines().contains(&retired.as_str()), "\n{plan}");

    // list: VERSION is a version or `-`, never a bare digest.
    let table = t.freshen().args(["list", &s.pattern]).run();
    table.expect_code(0);
    let row = table.stdout_lines()[1];
    for token in row.split_whitespace() {
        let hex = token.strip_prefix("sha256:").unwrap_or(token);
        if hex.len() >= 12 && hex.chars().all(|c| c.is_ascii_hexdigit()) && !token.starts_with("sha256:") {
            assert_eq!(
                token,
                short(&s.v1.id),
                "a bare hex token that is not the image ID in {row:?}\n{table}"
            );
        }
    }

    t.freshen().args(["-q", "upgrade", "-y", "--keep", "1", &s.pattern]).run().expect_code(0);
    let back = t.freshen().args(["rollback", &s.reference]).run();
    back.expect_code(0);
    assert!(
        back.stdout.starts_with(&format!("{} points at {} again", s.reference, short(&s.v1.id))),
        "\n{back}"
    );
}

// ---------------------------------------------------------------------------
// 10. The plan says which old versions it keeps.

#[test]
fn the_upgrade_plan_lists_the_versions_it_keeps() {
    let t = TestEnv::new("plan_keeps");
    let reg = registry::shared();
    let s = upgradable(&t, reg, "app", "1");
    let container = format!("{}-c", t.namespace());
    let _containers = Containers(vec![container.clone()]);
    docker::docker(&["create", "--name", &container, &s.reference, "/nothing"]);

    let plan = t.freshen().args(["upgrade", "-s", &s.pattern]).run();
    plan.expect_code(0);
    let lines = plan.stdout_lines();
    let at = lines
        .iter()
        .position(|l| *l == "These images are kept:")
        .unwrap_or_else(|| panic!("the plan does not say what it keeps\n{plan}"));
    assert_eq!(
        lines[at + 1],
        format!("  {} ({}): used by container {container}", s.reference, short(&s.v1.id)),
        "\n{plan}"
    );
    assert_eq!(plan.last_line(), "1 upgraded, 0 to retire, 0 kept back.", "\n{plan}");
}

// ---------------------------------------------------------------------------
// 11. list warns about a pattern that matches nothing.

#[test]
fn list_warns_when_a_pattern_matches_nothing() {
    let t = TestEnv::new("list_nothing");
    let reg = registry::shared();
    let pattern = format!("{}/{}/nothing-here", reg.host(), t.namespace());
    let run = t.freshen().args(["list", &pattern]).run();
    run.expect_code(0);
    assert_eq!(run.stdout, "", "\n{run}");
    assert_eq!(run.warnings(), [format!("W: no local tag matches {pattern}").as_str()], "\n{run}");
}

/// Commands that act are stricter: like `apt-get install nosuch`, a pattern
/// that matches nothing is an error (exit 1, one line that says what to do),
/// so a typo in `freshen check myapp` from cron or a monitoring script does
/// not pass silently as "nothing to upgrade". A short name that is a
/// repository on another registry gets "did you mean".
#[test]
fn a_pattern_that_matches_nothing_is_an_error() {
    let t = TestEnv::new("update_nothing");
    let reg = registry::shared();
    let present = t.reference(reg.host(), "app", "1");
    t.publish(&present, "v1");
    let pattern = format!("{}/{}/nothing-here", reg.host(), t.namespace());
    let commands: [&[&str]; 5] =
        [&["update"], &["check"], &["upgrade", "-y"], &["autoremove", "-y"], &["rollback"]];
    for command in commands {
        let run = t.freshen().args(command).arg(&pattern).run();
        run.expect_code(1);
        assert_eq!(run.stdout, "", "\n{run}");
        let shown = if command[0] == "rollback" { format!("{pattern}:latest") } else { pattern.clone() };
        assert_eq!(
            run.stderr,
            format!("freshen: no local tag matches '{shown}': run 'freshen list' to see the local tags\n"),
            "\n{run}"
        );
    }
    // `app:1` is Docker Hub's; the one here is on another registry.
    let short = format!("{}/app:1", t.namespace());
    for command in commands {
        let run = t.freshen().args(command).arg(&short).run();
        run.expect_code(1);
        assert_eq!(
            run.stderr,
            format!(
                "freshen: no local tag matches '{short}': did you mean '{present}'? \
                 (a name without a registry is on Docker Hub)\n"
            ),
            "\n{run}"
        );
    }
    // One pattern that matches nothing fails the run, as with apt-get.
    let run = t.freshen().args(["update", &t.pattern(reg.host()), &pattern]).run();
    run.expect_code(1);
    // A pattern that matches is not an error.
    let run = t.freshen().args(["update", &t.pattern(reg.host())]).run();
    run.expect_code(0);
    assert!(run.warnings().is_empty(), "\n{run}");
}

// ---------------------------------------------------------------------------
// 12. Exit statuses.

#[test]
fn bad_option_values_exit_2() {
    let t = TestEnv::new("bad_values");
    for (args, message) in [
        (vec!["update", "--concurrency", "0"], "freshen: concurrency must be between 1 and 1024, not 0"),
        (
            vec!["update", "--timeout", "0"],
            "freshen: timeout must be a number of seconds between 1 and 3600, not 0",
        ),
        (vec!["list", ""], "freshen: invalid image reference '': empty pattern"),
        (vec!["hold", "a::b"], "freshen: invalid image reference 'a::b': bad repository name component 'a:'"),
    ] {
        let run = t.freshen().args(&args).run();
        run.expect_code(2);
        assert_eq!(run.stderr.trim(), message, "\n{run}");
    }
}

/// Something upgradable and a failed check: `check` exits 100 (dnf's
/// meaning: updates are available), the JSON and the Nagios line report
/// both, and the docs say which wins.
#[test]
fn check_reports_upgradable_and_failed_together() {
    let t = TestEnv::new("check_both");
    let reg = registry::shared();
    let s = upgradable(&t, reg, "app", "1");
    let dead = registry::dead_host();
    let unreachable = t.reference(&dead, "app", "1");
    docker::tag(&s.reference, &unreachable);
    let patterns = [s.pattern.clone(), t.pattern(&dead)];

    let run = t.freshen().arg("check").args(&patterns).run();
    run.expect_code(100);
    assert_eq!(run.warnings().len(), 1, "\n{run}");
    let json = t.freshen().args(["check", "--format", "json"]).args(&patterns).run();
    json.expect_code(100);
    let listing = support::Listing::parse(&json.stdout);
    assert_eq!(listing.get(&s.reference).status, "upgradable");
    assert_eq!(listing.get(&unreachable).status, "unknown");
    let nagios = t.freshen().args(["check", "--nagios"]).args(&patterns).run();
    nagios.expect_code(1);
    assert!(nagios.stdout.starts_with("FRESHEN WARNING - 1 of 2 images can be upgraded"), "\n{nagios}");
    assert!(nagios.stdout.contains("errors=1;"), "\n{nagios}");

    let commands = std::fs::read_to_string(repo_root().join("docs/commands.md")).unwrap();
    assert!(
        commands.contains("100 wins over 1"),
        "docs/commands.md's exit status table must say that 100 wins over a failed check for `check`"
    );
}

// ---------------------------------------------------------------------------
// 15. Smaller things.

#[test]
fn a_state_dir_that_is_a_file_gets_a_hint() {
    let t = TestEnv::new("state_file");
    let file = t.state_dir().join("../not-a-dir");
    std::fs::write(&file, "").unwrap();
    for args in [vec!["hold", "x:1"], vec!["showhold"], vec!["motd"]] {
        let run = t.freshen().env("FRESHEN_STATE_DIR", file.to_str().unwrap()).args(&args).run();
        run.expect_code(1);
        assert_eq!(
            run.stderr.trim(),
            format!(
                "freshen: the state directory {} is a file, not a directory: remove it, \
                 or choose another with --state-dir or FRESHEN_STATE_DIR",
                file.display()
            ),
            "\n{run}"
        );
    }
}

#[test]
fn metrics_output_needs_an_existing_directory() {
    let t = TestEnv::new("metrics_dir");
    let dir = t.state_dir().join("../no-such-collector");
    let out = dir.join("freshen.prom");
    let run = t.freshen().args(["metrics", "-o", out.to_str().unwrap()]).run();
    run.expect_code(1);
    assert_eq!(
        run.stderr.trim(),
        format!("freshen: cannot write {}: the directory {} does not exist", out.display(), dir.display()),
        "\n{run}"
    );
    assert!(!dir.exists(), "metrics created the directory");
}

#[test]
fn schedule_warns_about_headers_from_the_environment() {
    let t = TestEnv::new("schedule_env");
    let config = write_config(
        &t,
        "[[notify]]\nkind = \"webhook\"\nname = \"hook\"\nurl = \"https://hooks.example.org/x\"\n\
         headers = { Authorization = { env = \"FRESHEN_TEST_HOOK_TOKEN\" } }\n",
    );
    let run = t.freshen().args(["--config", &config, "schedule"]).run();
    run.expect_code(0);
    assert!(run.stdout.contains("[Timer]"), "\n{run}");
    assert_eq!(
        run.warnings(),
        ["W: notification target hook reads header authorization from $FRESHEN_TEST_HOOK_TOKEN, \
          which the scheduled run will not have: use { file = \"…\" } or add Environment= to the service"],
        "\n{run}"
    );
}

#[test]
fn help_lists_the_command_options_before_the_global_ones() {
    let t = TestEnv::new("help_order");
    for (command, own) in
        [("update", "--unattended"), ("upgrade", "--keep-previous"), ("list", "--upgradable")]
    {
        let run = t.freshen().args([command, "--help"]).run();
        run.expect_code(0);
        let own_at = run.stdout.find(own).unwrap_or_else(|| panic!("{own} missing\n{run}"));
        let global_at = run.stdout.find("--state-dir").unwrap();
        assert!(own_at < global_at, "{command}: {own} comes after the global options\n{run}");
        assert!(run.stdout.contains("Global options:"), "\n{run}");
    }
}

// ---------------------------------------------------------------------------
// 13, 14, 16. The README and the man page.

#[test]
fn readme_quick_start_and_install() {
    let readme = readme();
    assert!(
        !readme.contains("freshen update && freshen list"),
        "update exits 1 when one image cannot be checked: the quick start must not chain on it"
    );
    assert!(readme.contains("cargo install --locked --path ."), "README must install with --locked");
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let msrv = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("Cargo.toml states rust-version");
    assert!(readme.contains(&format!("Rust {msrv} or newer")), "README must state the minimum Rust version");
    for needle in ["man/*.1", "completions/freshen.bash", "completions/_freshen", "completions/freshen.fish"]
    {
        assert!(readme.contains(needle), "README must say how to install {needle}");
    }
}

#[test]
fn the_man_page_has_more_than_flags() {
    let page = std::fs::read_to_string(repo_root().join("man/freshen.1")).unwrap();
    for section in ["CONFIGURATION", "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES"] {
        assert!(
            page.lines().any(|l| l == format!(".SH \"{section}\"") || l == format!(".SH {section}")),
            "man/freshen.1 lacks a {section} section"
        );
    }
    assert!(page.contains("FRESHEN_STATE_DIR"), "ENVIRONMENT names the variables");
    assert!(page.contains("100"), "EXIT STATUS gives check's 100");
}

/// One command sets up and runs every test, and the README names it; the
/// command the README calls the test command is what `.ci/run` runs last.
#[test]
fn readme_names_the_one_test_command() {
    let readme = readme();
    let development = readme.split("## Development").nth(1).expect("a Development section");
    let first_block = development
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a command block in Development");
    assert_eq!(first_block.trim(), ".ci/run", "the first command of Development sets up and runs everything");
    let script = std::fs::read_to_string(repo_root().join(".ci/run")).unwrap();
    // The suite's own command (the engine lanes after it rerun parts of it
    // against other engines): the README must name it as .ci/run writes it.
    let suite = script
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("cargo test ") && !l.contains("--no-run") && !l.contains("$"))
        .expect(".ci/run runs cargo test");
    assert!(
        development.contains(&format!("`{suite}`")),
        "README must name the suite .ci/run runs: `{suite}`"
    );
}

/// Without a daemon (or without the registry), the test binary stops at
/// the first integration test with one line saying what is missing and
/// how to install it, instead of failing every test one by one.
#[test]
fn without_docker_the_tests_stop_with_one_line() {
    let me = std::env::current_exe().unwrap();
    let run = |vars: &[(&str, &str)]| -> (Option<i32>, String) {
        let output = Command::new(&me)
            .args(["probe_", "--test-threads=1"])
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.code(), text)
    };

    let (code, text) = run(&[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    assert_ne!(code, Some(0), "{text}");
    let said: Vec<&str> = text.lines().filter(|l| l.contains("freshen tests:")).collect();
    assert_eq!(said.len(), 1, "one line, once:\n{text}");
    assert!(said[0].contains("Docker daemon") && said[0].contains(".ci/run"), "{text}");
    assert!(!text.contains("test result:"), "the binary must stop at the first test:\n{text}");

    // The registry binary missing: a PATH with only `docker`.
    let bin = tempfile::tempdir().unwrap();
    let docker_path =
        String::from_utf8(Command::new("sh").args(["-c", "command -v docker"]).output().unwrap().stdout)
            .unwrap();
    std::os::unix::fs::symlink(docker_path.trim(), bin.path().join("docker")).unwrap();
    let (code, text) = run(&[("PATH", bin.path().to_str().unwrap())]);
    assert_ne!(code, Some(0), "{text}");
    let said: Vec<&str> = text.lines().filter(|l| l.contains("freshen tests:")).collect();
    assert_eq!(said.len(), 1, "one line, once:\n{text}");
    assert!(said[0].contains("docker-registry") && said[0].contains("apt-get install"), "{text}");
    assert!(!text.contains("test result:"), "the binary must stop at the first test:\n{text}");
}

/// Probes for the test above; they also run (and pass) in a normal run.
#[test]
fn probe_a_needs_the_daemon_and_the_registry() {
    let _t = TestEnv::new("probe_a");
    let _ = registry::shared().host();
}

#[test]
fn probe_b_needs_the_daemon_and_the_registry() {
    let _t = TestEnv::new("probe_b");
    let _ = registry::shared().host();
}
