//! `freshen hold`, `unhold` and `showhold`, as `apt-mark` does them.

use crate::commands::{EXIT_FAILED, EXIT_OK};
use crate::error::Result;
use crate::holds::{self, Holds};
use crate::render::Printer;
use crate::settings::Settings;
use crate::state::Lock;

fn lock(settings: &Settings, p: &Printer) -> Result<Lock> {
    crate::commands::lock_state(&settings.state_dir, p)
}

pub fn hold(settings: &Settings, images: &[String], p: &Printer) -> Result<u8> {
    let stored: Vec<String> = images.iter().map(|i| holds::normalise(i)).collect::<Result<_>>()?;
    let lock = lock(settings, p)?;
    let mut h = Holds::load(&settings.state_dir)?;
    let mut changed = false;
    for s in stored {
        let name = holds::display(&s);
        if h.add(s) {
            changed = true;
            p.line(&format!("{name} set on hold."));
        } else {
            p.line(&format!("{name} was already set on hold."));
        }
    }
    if changed {
        h.save(&settings.state_dir, &lock)?;
    }
    Ok(EXIT_OK)
}

pub fn unhold(settings: &Settings, images: &[String], p: &Printer) -> Result<u8> {
    let stored: Vec<String> = images.iter().map(|i| holds::normalise(i)).collect::<Result<_>>()?;
    let lock = lock(settings, p)?;
    let mut h = Holds::load(&settings.state_dir)?;
    let mut changed = false;
    for s in stored {
        let name = holds::display(&s);
        if h.remove(&s) {
            changed = true;
            p.line(&format!("Canceled hold on {name}."));
        } else {
            // apt-mark exits 0 here too.
            p.line(&format!("{name} was already not on hold."));
        }
    }
    if changed {
        h.save(&settings.state_dir, &lock)?;
    }
    Ok(EXIT_OK)
}

pub fn showhold(settings: &Settings, p: &Printer) -> Result<u8> {
    let h = match Holds::load(&settings.state_dir) {
        Ok(h) => h,
        Err(e) => {
            p.warn(&e.to_string());
            return Ok(EXIT_FAILED);
        }
    };
    for s in &h.holds {
        p.line(&holds::display(s));
    }
    Ok(EXIT_OK)
}
