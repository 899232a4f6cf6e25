//! `freshen skip`, `unskip` and `showskip`: leave out one version the
//! registry offers for a tag, until it offers another.

use crate::core::exit::ExitStatus;
use crate::core::reference::Reference;
use crate::core::report::Selection;
use crate::core::skips::Skips;
use crate::core::state::State;
use crate::core::tagcache::TagCache;
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::settings::Settings;

fn name(reference: &str) -> String {
    Reference::parse(reference).map(|r| r.familiar()).unwrap_or_else(|_| reference.to_string())
}

/// Skips what the last update found for the matching tags: the registry's
/// new digest of an upgradable tag and the newer tag its policy offers now
/// (with that tag's digest: from the last update when it looked, else asked
/// of the registry now, so that a later move of the tag lifts the skip).
pub async fn skip(settings: &Settings, images: &[String], p: &Printer) -> Result<ExitStatus> {
    let selection = Selection::new(images, settings.exclude.clone())?;
    let dir = &settings.state_dir;
    let lock = crate::services::lock_state(dir, p)?;
    let state = State::load(dir)?;
    let cache = TagCache::load(dir);
    let mut skips = Skips::load(dir)?;
    let now = output::now_rfc3339();
    let mut registries = None;
    let mut matched = 0;
    let mut changed = false;
    for e in &state.entries {
        let Ok(r) = Reference::parse(&e.reference) else { continue };
        if r.tag.is_none() || !selection.matches(&r) {
            continue;
        }
        matched += 1;
        let Some(mut s) = crate::services::skip::offered(settings, &state, &cache, e, &r, &now) else {
            p.line(&format!("{}: nothing to skip, no newer version is offered.", r.familiar()));
            continue;
        };
        if let (Some(t), None) = (s.tag.clone(), &s.tag_digest) {
            match crate::services::skip::ask_tag_digest(settings, &mut registries, &state, &r, &t).await? {
                Ok(d) => s.tag_digest = Some(d),
                Err(e) => p.warn(&format!(
                    "{}: cannot ask the registry for the digest of tag {t}: {e}; the skip lasts until another tag is offered",
                    r.familiar()
                )),
            }
        }
        let what = s.describe();
        if skips.record(s) {
            changed = true;
            p.line(&format!("{}: skipping {what}.", r.familiar()));
        } else {
            p.line(&format!("{}: {what} was already skipped.", r.familiar()));
        }
    }
    if changed {
        skips.save(dir, &lock)?;
    }
    if matched == 0 {
        return Err(Error::Usage(format!(
            "no checked tag matches {}: run 'freshen update' first, or check the name",
            images.join(", ")
        )));
    }
    Ok(ExitStatus::Ok)
}

/// Removes the skips of the matching tags.
pub fn unskip(settings: &Settings, images: &[String], p: &Printer) -> Result<ExitStatus> {
    let selection = Selection::new(images, settings.exclude.clone())?;
    let dir = &settings.state_dir;
    let lock = crate::services::lock_state(dir, p)?;
    let mut skips = Skips::load(dir)?;
    let references: std::collections::BTreeSet<String> = skips
        .skips
        .iter()
        .filter(|s| Reference::parse(&s.reference).is_ok_and(|r| selection.matches(&r)))
        .map(|s| s.reference.clone())
        .collect();
    if references.is_empty() {
        for i in images {
            p.line(&format!("{i} was not skipped."));
        }
        return Ok(ExitStatus::Ok);
    }
    for r in &references {
        skips.remove(r);
        p.line(&format!("Canceled skip on {}.", name(r)));
    }
    skips.save(dir, &lock)?;
    Ok(ExitStatus::Ok)
}

/// One line per skipped version: `nginx:latest 1.27.4 (0086f3a1c2d4):
/// skipped with 'freshen skip' on 2026-11-25T12:00:00Z`.
pub fn showskip(settings: &Settings, p: &Printer) -> Result<ExitStatus> {
    let skips = match Skips::load(&settings.state_dir) {
        Ok(s) => s,
        Err(e) => {
            p.warn(&e.to_string());
            return Ok(ExitStatus::Failed);
        }
    };
    for s in &skips.skips {
        p.line(&format!("{} {}: {} on {}", name(&s.reference), s.describe(), s.reason, s.at));
    }
    Ok(ExitStatus::Ok)
}
