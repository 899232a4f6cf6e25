//! `freshen schedule`: print, install or uninstall the systemd timer (or
//! the cron job) that runs `freshen update --notify` (`--unattended` when
//! the config has an `[unattended]` section) with this binary's absolute
//! path, the state directory, config file and Docker host in effect now, and
//! the `FRESHEN_*` variables that change behaviour, so the scheduled run sees
//! what the installing user sees.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::ScheduleArgs;
use crate::core::exit::ExitStatus;
use crate::core::schedule::{self, CronEvery};
use crate::error::{Error, Result};
use crate::notify;
use crate::output::Printer;
use crate::settings::Settings;

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io("find the current directory", ".", e))?;
    Ok(cwd.join(p))
}

/// The command the timer runs.
fn command(settings: &Settings) -> Result<Vec<String>> {
    let exe =
        std::env::current_exe().map_err(|e| Error::io("find the freshen binary", "/proc/self/exe", e))?;
    let mut cmd = vec![exe.display().to_string()];
    cmd.push("--state-dir".into());
    cmd.push(absolute(&settings.state_dir)?.display().to_string());
    // `--config` must name a file that exists: a config file not written
    // yet goes to the scheduled run as FRESHEN_CONFIG (see `environment`),
    // which may be absent, so the timer does not fail until it is.
    if let Some(config) = settings.config_path.as_ref().filter(|c| c.exists()) {
        cmd.push("--config".into());
        cmd.push(absolute(config)?.display().to_string());
    }
    if let Some(host) = &settings.docker_host {
        cmd.push("--host".into());
        cmd.push(host.clone());
    }
    cmd.push("update".into());
    cmd.push(if settings.unattended.is_some() { "--unattended" } else { "--notify" }.into());
    Ok(cmd)
}

/// `0`, or a duration such as `1h`, in seconds.
fn delay_secs(text: &str) -> Result<u64> {
    if text.trim() == "0" {
        return Ok(0);
    }
    crate::core::time::positive_duration(text)
        .map(|d| d.as_secs())
        .map_err(|e| Error::CommandLine(format!("--randomized-delay: {e}")))
}

/// Lets systemd judge the calendar expression when it is installed here.
fn check_calendar(expr: &str) -> Result<()> {
    schedule::check_one_line("--on-calendar", expr).map_err(Error::CommandLine)?;
    if expr.contains('%') {
        return Err(Error::CommandLine("--on-calendar cannot contain '%'".into()));
    }
    match Command::new("systemd-analyze").arg("calendar").arg(expr).output() {
        Ok(out) if !out.status.success() => Err(Error::CommandLine(format!(
            "--on-calendar '{expr}' is not a systemd calendar expression: see 'man systemd.time' \
             (for example daily, weekly, 'Mon..Fri 04:00')"
        ))),
        // Fine, or systemd-analyze is not here to ask.
        _ => Ok(()),
    }
}

/// Whether systemd manages this machine, so systemctl can be asked.
fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

fn systemctl(args: &[&str], p: &Printer) -> Result<()> {
    let shown = format!("systemctl {}", args.join(" "));
    p.info(&format!("Running '{shown}'…"));
    match Command::new("systemctl").args(args).status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(Error::Program(format!("'{shown}' failed ({s}): see its message above"))),
        Err(e) => Err(Error::Program(format!("cannot run '{shown}': {e}"))),
    }
}

pub fn schedule(settings: &Settings, args: &ScheduleArgs, p: &Printer) -> Result<ExitStatus> {
    let cmd = command(settings)?;
    if !args.uninstall {
        warn_env_headers(settings, p);
    }
    let env = environment(settings)?;
    let (dir, files): (PathBuf, Vec<(&str, String)>) = if args.cron {
        let every = CronEvery::parse(&args.on_calendar).map_err(Error::CommandLine)?;
        let file = schedule::cron_file(&cmd, &env, every, &notify::host_name());
        (args.dir.clone().unwrap_or_else(|| schedule::CRON_DIR.into()), vec![(schedule::CRON_FILE, file)])
    } else {
        check_calendar(&args.on_calendar)?;
        let units =
            schedule::systemd_units(&cmd, &env, &args.on_calendar, delay_secs(&args.randomized_delay)?);
        (args.dir.clone().unwrap_or_else(|| schedule::SYSTEMD_DIR.into()), units)
    };
    // systemctl only for the real unit directory; elsewhere the packager
    // or the test decides what happens next.
    let manage = !args.cron && args.dir.is_none() && systemd_running();
    if args.uninstall {
        uninstall(&dir, &files, manage, p)?;
    } else if args.install {
        install(&dir, &files, args.cron, manage, p)?;
    } else {
        for (i, (name, content)) in files.iter().enumerate() {
            if i > 0 {
                p.line("");
            }
            p.line(&format!("# {}", dir.join(name).display()));
            for line in content.lines() {
                p.line(line);
            }
        }
    }
    Ok(ExitStatus::Ok)
}

/// A header read from the environment: the unit's run will not have it.
fn warn_env_headers(settings: &Settings, p: &Printer) {
    for t in &settings.notify {
        let headers = match &t.action {
            crate::notify::Action::Webhook { headers, .. } | crate::notify::Action::Ntfy { headers, .. } => {
                headers.as_slice()
            }
            crate::notify::Action::Exec { .. } => &[],
        };
        for h in headers {
            if let crate::notify::HeaderSource::Env(var) = &h.source {
                p.warn(&format!(
                    "notification target {} reads header {} from ${var}, which the scheduled run will not \
                     have: use {{ file = \"…\" }} or add Environment= to the service",
                    t.label,
                    h.name.as_str()
                ));
            }
        }
    }
}

/// The environment of the scheduled run: registry credentials as the
/// installing user finds them, a config file not written yet, and the
/// `FRESHEN_*` variables that change behaviour.
fn environment(settings: &Settings) -> Result<Vec<(&str, String)>> {
    let docker_config = absolute(&settings.registry.docker_config_dir)?.display().to_string();
    schedule::check_one_line("the Docker config directory", &docker_config).map_err(Error::Usage)?;
    let mut env = vec![("DOCKER_CONFIG", docker_config)];
    if let Some(config) = settings.config_path.as_ref().filter(|c| !c.exists()) {
        let config = absolute(config)?.display().to_string();
        schedule::check_one_line("the config file", &config).map_err(Error::Usage)?;
        env.push(("FRESHEN_CONFIG", config));
    }
    for (name, value) in &settings.behaviour_env {
        schedule::check_one_line(name, value).map_err(Error::Usage)?;
        env.push((name, value.clone()));
    }
    Ok(env)
}

/// `--uninstall`: stops the timer (when systemd is managed here) and
/// removes the files.
fn uninstall(dir: &Path, files: &[(&str, String)], manage: bool, p: &Printer) -> Result<()> {
    if manage && dir.join(schedule::TIMER).exists() {
        systemctl(&["disable", "--now", schedule::TIMER], p)?;
    }
    let mut removed = 0;
    for (name, _) in files {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                removed += 1;
                p.line(&format!("Removed {}.", path.display()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", &path, e)),
        }
    }
    if removed == 0 {
        p.line(&format!("Nothing to remove in {}.", dir.display()));
    } else if manage {
        systemctl(&["daemon-reload"], p)?;
    }
    Ok(())
}

/// `--install`: writes the files and starts the timer (when systemd is
/// managed here), else says how.
fn install(dir: &Path, files: &[(&str, String)], cron: bool, manage: bool, p: &Printer) -> Result<()> {
    for (name, content) in files {
        let path = dir.join(name);
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "{} does not exist: is {} installed? Use --dir to write elsewhere",
                dir.display(),
                if cron { "cron" } else { "systemd" }
            )));
        }
        crate::store::write_atomic(&path, content.as_bytes())?;
        p.line(&format!("Wrote {}.", path.display()));
    }
    if manage {
        systemctl(&["daemon-reload"], p)?;
        systemctl(&["enable", "--now", schedule::TIMER], p)?;
    } else if !cron {
        p.line(&format!(
            "Run 'systemctl daemon-reload && systemctl enable --now {}' to start it.",
            schedule::TIMER
        ));
    }
    Ok(())
}
