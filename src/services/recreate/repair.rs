//! What a killed run left in the journal, finished or undone by the next
//! run that changes anything.

use std::path::Path;
use std::time::Duration;

use super::compose::ComposeCli;
use super::undo::{finish, remove_new, undo_container};
use super::Options;
use crate::core::recreate::{self, Repair};
use crate::core::reference::Reference;
use crate::engine::Engine;
use crate::error::Result;
use crate::store::journal::Journal;

/// What [`repair`] did.
#[derive(Debug, Default)]
pub struct Repaired {
    /// One line per container, to print.
    pub lines: Vec<String>,
    /// Tags pointed back at their old image: (reference, old image, new image).
    pub undone: Vec<(String, String, String)>,
}

/// Puts right what a killed run left in the journal: finishes recreations
/// that passed, undoes the others (new containers removed, the old ones
/// back under their names and running, the tag on the old image).
pub async fn repair(engine: &Engine, dir: &Path, opts: &Options) -> Result<Repaired> {
    let journal = Journal::load(dir)?;
    let mut out = Repaired::default();
    if journal.is_empty() {
        return Ok(out);
    }
    let compose = ComposeCli::find(opts.docker_host.as_deref()).await;
    let entries = journal.entries();
    // New containers go first (last one first), then the old ones come back
    // in order, as in a rollback.
    for entry in entries.iter().rev() {
        if recreate::repair(entry) == Repair::Undo && entry.compose.is_none() {
            remove_new(engine, entry).await?;
        }
    }
    for entry in entries {
        match recreate::repair(&entry) {
            Repair::Finish => {
                finish(engine, &journal, &entry, &|_| {}).await?;
                out.lines.push(format!(
                    "{}: an interrupted upgrade was finished; it runs the new version of {}.",
                    entry.name, entry.reference
                ));
            }
            Repair::Undo => {
                if let Ok(reference) = Reference::parse(&entry.reference) {
                    let now = engine.image_id(&reference.to_string()).await.ok().flatten();
                    if now.as_deref() != Some(entry.old_image.as_str()) {
                        engine.tag(&entry.old_image, &reference).await?;
                        out.undone.push((
                            entry.reference.clone(),
                            entry.old_image.clone(),
                            entry.new_image.clone(),
                        ));
                    }
                }
                if let Some(service) = &entry.compose {
                    match &compose {
                        Some(cli) => cli.up(service, opts.docker_host.as_deref()).await?,
                        None => out.lines.push(format!(
                            "{}: an interrupted upgrade of compose project {}, service {} needs \
                             'docker compose up -d {}' in its directory.",
                            entry.name, service.project, service.service, service.service
                        )),
                    }
                } else {
                    undo_container(engine, &entry).await?;
                }
                journal.remove(&entry.name)?;
                out.lines.push(format!(
                    "{}: an upgrade was interrupted; it runs the previous version of {} again.",
                    entry.name, entry.reference
                ));
            }
        }
    }
    out.undone.sort();
    out.undone.dedup();
    Ok(out)
}

/// What a killed run left in the journal, in words, without the engine:
/// for every command that reads the state (`list`, `motd`, `metrics`, …),
/// so a person hears of it before the next upgrade puts it right. Empty
/// when there is no journal (one `stat`).
pub fn pending(dir: &Path) -> Result<Vec<String>> {
    if !Journal::exists(dir) {
        return Ok(Vec::new());
    }
    let journal = Journal::load(dir)?;
    Ok(journal
        .entries()
        .iter()
        .map(|e| {
            let what = match recreate::repair(e) {
                Repair::Finish => "finish it (the new version had passed its health gate)",
                Repair::Undo => "put the previous version back",
            };
            format!(
                "an upgrade of {} was interrupted while recreating {} ({}); the next 'freshen upgrade', \
                 'update', 'rollback' or 'autoremove' will {what} first",
                Reference::parse(&e.reference).map(|r| r.familiar()).unwrap_or_else(|_| e.reference.clone()),
                e.name,
                e.step.describe(),
            )
        })
        .collect())
}

/// Finishes or undoes a container recreation that a killed run left (see
/// [`repair`]), before a command changes anything: the container of each
/// name exists and runs, on the old or the new version. Without a journal
/// this costs one `stat`. The state follows: a tag pointed back is
/// upgradable again (an interruption is no verdict on the new version), and
/// the new version is the one superseded.
pub async fn repair_interrupted(
    settings: &crate::settings::Settings,
    p: &crate::output::Printer,
) -> Result<()> {
    use crate::core::state::{State, Superseded};
    let dir = &settings.state_dir;
    if !Journal::exists(dir) {
        return Ok(());
    }
    let lock = crate::services::lock_state(dir, p)?;
    let engine = Engine::connect(settings.docker_host.as_deref()).await?;
    // Putting back is itself a critical section: a signal waits for it.
    let _critical = crate::services::interrupt::guard();
    let opts = Options {
        // A repair gates nothing.
        wait: Duration::ZERO,
        docker_host: settings.docker_host.clone(),
    };
    let repaired = repair(&engine, dir, &opts).await?;
    for line in &repaired.lines {
        p.warn(line);
    }
    if repaired.undone.is_empty() {
        return Ok(());
    }
    let mut state = State::load(dir)?;
    let now = crate::output::now_rfc3339();
    for (reference, old, new) in &repaired.undone {
        let old_digest = state
            .superseded
            .iter()
            .find(|s| &s.reference == reference && &s.image_id == old)
            .and_then(|s| s.digest.clone());
        state.superseded.retain(|s| !(&s.reference == reference && &s.image_id == old));
        let mut new_digest = None;
        for e in state.entries.iter_mut().filter(|e| &e.reference == reference && &e.image_id == new) {
            e.status = crate::core::verdict::Status::Upgradable;
            e.image_id = old.clone();
            new_digest = e.local_digest.take();
            e.local_digest = old_digest.clone();
        }
        state.superseded.push(Superseded {
            image_id: new.clone(),
            reference: reference.clone(),
            digest: new_digest,
            replaced_at: now.clone(),
            replaced_by: old.clone(),
            tag_moved: false,
            failed: Some("the upgrade to it was interrupted before it passed its health gate".into()),
        });
    }
    state.save(dir, &lock)
}
