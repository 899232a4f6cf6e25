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
    Ok(ExitStatus::Ok)
}

pub fn metrics(settings: &Settings, args: &MetricsArgs, p: &Printer) -> Result<ExitStatus> {
    let text = crate::services::status::metrics_text(settings, &args.patterns)?;
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
            crate::store::write_atomic(path, text.as_bytes())?
        }
        None => text.lines().for_each(|l| p.line(l)),
    }
    Ok(ExitStatus::Ok)
}
