//! `freshen skip`, `unskip` and `showskip`: leave out one version the
//! registry offers for a tag, until it offers another.

use crate::core::controls::pick_tag;
use crate::core::exit::ExitStatus;
use crate::core::reference::{short_digest, Reference};
use crate::core::report::Selection;
use crate::core::skips::{Skip, Skips, REASON_USER};
use crate::core::state::State;
use crate::core::tagcache::TagCache;
use crate::core::verdict::Status;
use crate::core::versions;
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::registry::Registries;
use crate::settings::Settings;

/// What a skip leaves out, for people: `1.27.4 (0086f3a1c2d4)`, `tag 16.4`.
fn describe(s: &Skip) -> String {
    let mut parts = Vec::new();
    if let Some(d) = &s.digest {
        parts.push(match s.version.as_deref().filter(|_| s.tag.is_none()) {
            Some(v) => format!("{v} ({})", short_digest(d)),
            None => short_digest(d).to_string(),
        });
    }
    if let Some(t) = &s.tag {
        match &s.tag_digest {
            Some(d) => parts.push(format!("tag {t} ({})", short_digest(d))),
            None => parts.push(format!("tag {t}")),
        }
    }
    parts.join(" and ")
}

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
    let clock = output::now_unix();
    let mut registries = None;
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
        let candidates: Vec<String> = r
            .tag
            .as_deref()
            .zip(cache.tags(&r.name()))
            .and_then(|(tag, tags)| versions::newer_tags(tag, tags, &rules))
            .map(|n| n.table.iter().filter(|c| c.within_policy).map(|c| c.tag().to_string()).collect())
            .unwrap_or_default();
        // The newer tag on offer now: the newest past its minimum age.
        let ages = state.tag_ages.get(&e.reference);
        let newer = pick_tag(&candidates, |t| t.as_str(), ages, clock, None).0.cloned();
        if digest.is_none() && newer.is_none() {
            p.line(&format!("{}: nothing to skip, no newer version is offered.", r.familiar()));
            continue;
        }
        let mut tag_digest =
            newer.as_ref().and_then(|t| ages.and_then(|a| a.get(t))).and_then(|a| a.digest.clone());
        if let (Some(t), None) = (&newer, &tag_digest) {
            match ask_tag_digest(settings, &mut registries, &state, &r, t).await? {
                Ok(d) => tag_digest = Some(d),
                Err(e) => p.warn(&format!(
                    "{}: cannot ask the registry for the digest of tag {t}: {e}; the skip lasts until another tag is offered",
                    r.familiar()
                )),
            }
        }
        let s = Skip {
            reference: e.reference.clone(),
            digest,
            tag: newer,
            tag_digest,
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

/// Asks the registry for the digest of tag `t` of `r`'s repository, with
/// the registry client made on first use.
async fn ask_tag_digest(
    settings: &Settings,
    registries: &mut Option<Registries>,
    state: &State,
    r: &Reference,
    t: &str,
) -> Result<std::result::Result<String, String>> {
    if registries.is_none() {
        *registries = Some(Registries::new(settings.registry.clone()).map_err(Error::Registry)?);
    }
    let hint = state.registries.get(&r.registry).and_then(|i| i.scheme.clone());
    Ok(
        match registries
            .as_ref()
            .map(|regs| regs.host(&r.registry, vec![r.repository.clone()], hint.as_deref()))
        {
            Some(Ok(h)) => h.tag_digest(&r.repository, t).await.map_err(|e| e.to_string()),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("no registry client".to_string()),
        },
    )
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
