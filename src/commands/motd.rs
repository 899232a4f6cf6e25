//! `freshen motd` and `freshen metrics`: the last update's verdicts for the
//! login message and for node_exporter. Both read the state file only (no
//! engine, no network), so they take milliseconds and work offline.

use crate::cli::{MetricsArgs, MotdArgs};
use crate::core::exit::ExitStatus;
use crate::core::monitor;
use crate::core::report::Selection;
use crate::core::state::State;
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::settings::Settings;

pub fn motd(settings: &Settings, args: &MotdArgs, p: &Printer) -> Result<ExitStatus> {
    let selection = Selection::new(&args.patterns, settings.exclude.clone())?;
    let state = State::load(&settings.state_dir)?;
    let entries = monitor::selected(&state, &selection);
    let controls = crate::services::skip::controls(settings, None)?;
    for line in
        monitor::motd(monitor::counts(&entries, &controls), state.updated_at.as_deref(), output::now_unix())
    {
        p.line(&line);
    }
    // At login, where nobody reads stderr: a container left between two
    // versions is the first thing to know.
    for line in crate::services::recreate::pending(&settings.state_dir).unwrap_or_default() {
        p.line(&format!("freshen: {line}."));
    }
    Ok(ExitStatus::Ok)
}

pub fn metrics(settings: &Settings, args: &MetricsArgs, p: &Printer) -> Result<ExitStatus> {
    let (text, warnings) = crate::services::metrics::text(settings, &args.patterns)?;
    for w in &warnings {
        p.warn(w);
    }
    match &args.output {
        // The collector reads whole files; a half-written one would be a scrape error.
        Some(path) => {
            // A mistyped collector directory is an error, not a new directory.
            let dir =
                path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            if !dir.is_dir() {
                return Err(Error::Usage(format!(
                    "cannot write {}: the directory {} does not exist",
                    path.display(),
                    dir.display()
                )));
            }
            crate::store::write_atomic_shared(path, text.as_bytes())?
        }
        None => p.text(&text),
    }
    Ok(ExitStatus::Ok)
}
