//! `freshen hold`, `unhold` and `showhold`, as `apt-mark` does them.

use crate::core::exit::ExitStatus;
use crate::core::holds::{self, Holds};
use crate::error::Result;
use crate::output::Printer;
use crate::settings::Settings;

pub fn hold(settings: &Settings, images: &[String], p: &Printer) -> Result<ExitStatus> {
    change(
        settings,
        images,
        p,
        |h, s| h.add(s.to_string()),
        |n| format!("{n} set on hold."),
        |n| format!("{n} was already set on hold."),
    )
}

pub fn unhold(settings: &Settings, images: &[String], p: &Printer) -> Result<ExitStatus> {
    // apt-mark exits 0 for a name that was not held, too.
    change(
        settings,
        images,
        p,
        |h, s| h.remove(s),
        |n| format!("Canceled hold on {n}."),
        |n| format!("{n} was already not on hold."),
    )
}

/// Applies `apply` to each name under the lock, saying what changed (or
/// that nothing did) like apt-mark, and saves only if something changed.
fn change(
    settings: &Settings,
    images: &[String],
    p: &Printer,
    apply: impl Fn(&mut Holds, &str) -> bool,
    done: impl Fn(&str) -> String,
    unchanged: impl Fn(&str) -> String,
) -> Result<ExitStatus> {
    let stored: Vec<String> = images.iter().map(|i| holds::normalise(i)).collect::<Result<_>>()?;
    let lock = crate::services::lock_state(&settings.state_dir, p)?;
    let mut h = Holds::load(&settings.state_dir)?;
    let mut changed = false;
    for s in stored {
        let name = holds::display(&s);
        if apply(&mut h, &s) {
            changed = true;
            p.line(&done(&name));
        } else {
            p.line(&unchanged(&name));
        }
    }
    if changed {
        h.save(&settings.state_dir, &lock)?;
    }
    Ok(ExitStatus::Ok)
}

pub fn showhold(settings: &Settings, p: &Printer) -> Result<ExitStatus> {
    let h = match Holds::load(&settings.state_dir) {
        Ok(h) => h,
        Err(e) => {
            p.warn(&e.to_string());
            return Ok(ExitStatus::Failed);
        }
    };
    for s in &h.holds {
        p.line(&holds::display(s));
    }
    Ok(ExitStatus::Ok)
}
