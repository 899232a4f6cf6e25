//! `freshen skip`, `unskip` and `showskip`: leave out one version the
//! registry offers for a tag, until it offers another.

use crate::core::exit::ExitStatus;
use crate::core::reference::Reference;
use crate::core::report::Selection;
use crate::core::skips::{Skip, Skips, REASON_USER};
use crate::core::state::State;
use crate::core::tagcache::TagCache;
use crate::core::verdict::Status;
use crate::core::versions;
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::settings::Settings;

fn short(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    &hex[..hex.len().min(12)]
}

/// What a skip leaves out, for people: `1.27.4 (0086f3a1c2d4)`, `tag 16.4`.
fn describe(s: &Skip) -> String {
    let mut parts = Vec::new();
    if let Some(d) = &s.digest {
        parts.push(match s.version.as_deref().filter(|_| s.tag.is_none()) {
            Some(v) => format!("{v} ({})", short(d)),
            None => short(d).to_string(),
        });
    }
    if let Some(t) = &s.tag {
        parts.push(format!("tag {t}"));
    }
    parts.join(" and ")
}

fn name(reference: &str) -> String {
    Reference::parse(reference).map(|r| r.familiar()).unwrap_or_else(|_| reference.to_string())
}

/// Skips what the last update found for the matching tags: the registry's
/// new digest of an upgradable tag and the newer tag its policy offers.
pub fn skip(settings: &Settings, images: &[String], p: &Printer) -> Result<ExitStatus> {
    let selection = Selection::new(images, settings.exclude.clone())?;
    let dir = &settings.state_dir;
    let lock = crate::services::lock_state(dir, p)?;
    let state = State::load(dir)?;
    let cache = TagCache::load(dir);
    let mut skips = Skips::load(dir)?;
    let now = output::now_rfc3339();
    let mut matched = 0;
    let mut changed = false;
    for e in &state.entries {
        let Ok(r) = Reference::parse(&e.reference) else { continue };
        if r.tag.is_none() || !selection.matches(&r) {
            continue;
        }
        matched += 1;
        let digest = e.remote_digest.clone().filter(|_| e.status == Status::Upgradable);
        let version = digest.as_deref().and_then(|d| cache.images.get(d)).and_then(|i| i.version.clone());
        let rules = settings.image_policy(&r).rules;
        let newer = r
            .tag
            .as_deref()
            .zip(cache.tags(&r.name()))
            .and_then(|(tag, tags)| versions::newer_tags(tag, tags, &rules))
            .and_then(|n| n.candidate().map(|c| c.tag().to_string()));
        if digest.is_none() && newer.is_none() {
            p.line(&format!("{}: nothing to skip, no newer version is offered.", r.familiar()));
            continue;
        }
        let s = Skip {
            reference: e.reference.clone(),
            digest,
            tag: newer,
            version,
            reason: REASON_USER.to_string(),
            at: now.clone(),
        };
        let what = describe(&s);
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
        p.line(&format!("{} {}: {} on {}", name(&s.reference), describe(s), s.reason, s.at));
    }
    Ok(ExitStatus::Ok)
}
