//! The second half: the parked container removed and the dependents moved
//! once the new one passed, or everything put back when it did not.

use serde_json::Value;

use super::compose::ComposeCli;
use super::Options;
use crate::core::recreate::{creation, parked_name, restart_parts, JournalEntry};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::store::journal::Journal;

/// The new container passed: the parked one goes, dependents follow the new
/// one, the journal entry is done.
pub(super) async fn finish(
    engine: &Engine,
    journal: &Journal,
    entry: &JournalEntry,
    info: &dyn Fn(&str),
) -> Result<()> {
    if entry.compose.is_none() {
        // Dependents first: they still refer to the old container.
        if let Some(new_id) = &entry.new_id {
            for dep in &entry.dependents {
                info(&format!("Recreating {dep} (it shares the network of {})…", entry.name));
                recreate_dependent(engine, dep, new_id).await?;
            }
        }
        engine.remove_container(&entry.old_id).await?;
    }
    journal.remove(&entry.name)
}

/// A container whose network is `container:PARENT`: recreated on its own
/// image, joined to the parent's new container.
async fn recreate_dependent(engine: &Engine, name: &str, parent_id: &str) -> Result<()> {
    let Some(old) = engine.inspect_container_json(name).await? else { return Ok(()) };
    let old_id = old["Id"].as_str().unwrap_or_default().to_string();
    let image_id = old["Image"].as_str().unwrap_or_default().to_string();
    let image_name = old["Config"]["Image"].as_str().unwrap_or(&image_id).to_string();
    let image = engine.inspect_image_json(&image_id).await?.unwrap_or(Value::Null);
    // Created from the image id, so a tag that moved meanwhile does not
    // change what it runs.
    let image_ref = if image.is_null() { image_name } else { image_id };
    let body = creation(&old, &image, &image_ref, Some(parent_id), false);
    engine.stop_container(&old_id, None).await?;
    engine.rename_container(&old_id, &parked_name(name)).await?;
    match engine.create_container(name, &body).await {
        Ok(id) => {
            engine.start_container(&id).await?;
            engine.remove_container(&old_id).await
        }
        Err(e) => {
            let _ = engine.rename_container(&old_id, name).await;
            Err(e)
        }
    }
}

/// Takes one container back to where it was: the new one removed, the old
/// one under its name and running (if it ran). The tag was pointed back
/// already; Compose recreates from it.
pub(super) async fn undo(
    engine: &Engine,
    journal: &Journal,
    compose: Option<&ComposeCli>,
    entry: &JournalEntry,
    opts: &Options,
) -> Result<()> {
    if let Some(service) = &entry.compose {
        let cli = compose.ok_or_else(|| Error::Daemon {
            action: format!("roll back compose project {}, service {}", service.project, service.service),
            detail: "compose is not available".into(),
        })?;
        cli.up(service, opts.docker_host.as_deref()).await?;
        return journal.remove(&entry.name);
    }
    undo_container(engine, entry).await?;
    journal.remove(&entry.name)
}

/// Stops and removes the new container of an entry, if it got that far.
pub(super) async fn remove_new(engine: &Engine, entry: &JournalEntry) -> Result<()> {
    if let Some(new_id) = &entry.new_id {
        engine.stop_container(new_id, Some(10)).await?;
        engine.remove_container(new_id).await?;
    }
    Ok(())
}

pub(super) async fn undo_container(engine: &Engine, entry: &JournalEntry) -> Result<()> {
    remove_new(engine, entry).await?;
    // Whatever holds the name now that is not the old container.
    if let Some(holder) = engine.inspect_container_json(&entry.name).await? {
        let id = holder["Id"].as_str().unwrap_or_default();
        if id != entry.old_id {
            engine.stop_container(id, Some(10)).await?;
            engine.remove_container(id).await?;
        }
    }
    if let Some(old) = engine.inspect_container_json(&entry.old_id).await? {
        let current = old["Name"].as_str().unwrap_or_default().trim_start_matches('/').to_string();
        if current != entry.name {
            engine.rename_container(&entry.old_id, &entry.name).await?;
        }
        if let Some(policy) = &entry.restart {
            let (name, retries) = restart_parts(policy);
            engine.set_restart_policy(&entry.old_id, &name, retries).await?;
        }
        if entry.was_running {
            engine.start_container(&entry.old_id).await?;
        }
    }
    Ok(())
}
