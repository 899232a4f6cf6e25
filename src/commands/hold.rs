//! `freshen hold`, `unhold` and `showhold`, as `apt-mark` does them. A hold
//! that matches no local tag is still set, with a warning (a typo shows);
//! unholding a name or pattern lifts the holds on the tags it covers, and
//! unholding a tag that a broader hold still covers says which one.

use crate::core::exit::ExitStatus;
use crate::core::holds::{self, Holds};
use crate::core::reference::Reference;
use crate::engine::Engine;
use crate::error::Result;
use crate::output::Printer;
use crate::settings::Settings;

pub async fn hold(settings: &Settings, images: &[String], p: &Printer) -> Result<ExitStatus> {
    let stored: Vec<String> = images.iter().map(|i| holds::normalise(i)).collect::<Result<_>>()?;
    let lock = crate::services::lock_state(&settings.state_dir, p)?;
    let mut h = Holds::load(&settings.state_dir)?;
    let local = local_tags(settings).await;
    let mut changed = false;
    for s in stored {
        let name = holds::display(&s);
        if h.add(s.clone()) {
            changed = true;
            p.line(&format!("{name} set on hold."));
        } else {
            p.line(&format!("{name} was already set on hold."));
        }
        if let Some(tags) = &local {
            if !tags.iter().any(|t| holds::covers(&s, t)) {
                p.warn(&format!("no local image matches {name}; the hold applies once one does."));
            }
        }
    }
    if changed {
        h.save(&settings.state_dir, &lock)?;
    }
    Ok(ExitStatus::Ok)
}

pub async fn unhold(settings: &Settings, images: &[String], p: &Printer) -> Result<ExitStatus> {
    let stored: Vec<String> = images.iter().map(|i| holds::normalise(i)).collect::<Result<_>>()?;
    let lock = crate::services::lock_state(&settings.state_dir, p)?;
    let mut h = crate::services::holds(settings)?;
    let mut changed = false;
    let mut failed = false;
    for s in stored {
        let name = holds::display(&s);
        let mut lifted = Vec::new();
        if h.remove(&s) {
            lifted.push(s.clone());
        }
        lifted.extend(h.remove_covered(&s));
        if !lifted.is_empty() {
            changed = true;
            for l in lifted {
                p.line(&format!("Canceled hold on {}.", holds::display(&l)));
            }
            continue;
        }
        // Nothing to lift by that name: a broader hold may still cover it.
        let tag = Reference::parse(&s).ok().filter(|r| r.tag.is_some());
        if let Some(by) = tag.as_ref().and_then(|r| h.covering(r)) {
            let by = holds::display(by);
            p.warn(&format!(
                "{name} stays on hold: the hold on {by} covers it; run 'freshen unhold {by}' to lift it."
            ));
            failed = true;
        } else if let Some(section) = tag.as_ref().and_then(|r| h.covering_config(r)) {
            let file = settings.config_path.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
            p.warn(&format!(
                "{name} stays on hold: [images.\"{section}\"] in {file} holds it; remove its hold = true to lift it."
            ));
            failed = true;
        } else {
            // apt-mark exits 0 for a name that was not held, too.
            p.line(&format!("{name} was already not on hold."));
        }
    }
    if changed {
        h.save(&settings.state_dir, &lock)?;
    }
    Ok(ExitStatus::failed_if(failed))
}

/// Every local tag, or None when the daemon cannot be asked (then no
/// warning: holds work offline).
async fn local_tags(settings: &Settings) -> Option<Vec<Reference>> {
    let engine = Engine::connect(settings.docker_host.as_deref()).await.ok()?;
    let images = engine.images().await.ok()?;
    Some(images.into_iter().flat_map(|i| i.tags).collect())
}

pub fn showhold(settings: &Settings, p: &Printer) -> Result<ExitStatus> {
    let h = match crate::services::holds(settings) {
        Ok(h) => h,
        Err(e) => {
            p.warn(&e.to_string());
            return Ok(ExitStatus::Failed);
        }
    };
    for s in &h.holds {
        p.line(&holds::display(s));
    }
    let file = settings.config_path.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
    for s in &h.config {
        p.line(&format!("{s} (config {file})"));
    }
    Ok(ExitStatus::Ok)
}
