//! Workflows shared by commands; they return data and leave printing to commands.

pub mod announce;
pub mod cache;
pub mod check;
pub mod fleet;
pub mod hooks;
pub mod interrupt;
pub mod marks;
pub mod metrics;
pub mod outcomes;
pub mod pinned;
pub mod recreate;
pub mod retire;
pub mod skip;
pub mod status;
pub mod tag_age;
pub mod tag_refresh;
pub mod update;
pub mod upgrade;
pub mod usage;

use crate::error::Result;

/// The holds in effect: `holds.json`, plus the config file's sections with
/// `hold = true` (one meaning of hold everywhere).
pub fn holds(settings: &crate::settings::Settings) -> Result<crate::core::holds::Holds> {
    let mut h = crate::core::holds::Holds::load(&settings.state_dir)?;
    h.config = settings.held_sections();
    Ok(h)
}

/// How long a second freshen waits for the first to finish with the state.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Stops a command whose patterns name nothing on this host (the tags and
/// digests of `images`, and `also`): see `core::report::unmatched_patterns`.
pub fn every_pattern_matches(
    patterns: &[String],
    images: &[crate::core::image::LocalImage],
    also: &[crate::core::reference::Reference],
) -> Result<()> {
    let known: Vec<&crate::core::reference::Reference> =
        images.iter().flat_map(|i| i.tags.iter().chain(&i.digests)).chain(also).collect();
    match crate::core::report::unmatched_patterns(patterns, known.iter().copied()) {
        Some(message) => Err(crate::error::Error::Usage(message)),
        None => Ok(()),
    }
}

/// Takes the state lock for a command that writes the state, saying once
/// (on stderr) whose lock it waits for.
pub fn lock_state(dir: &std::path::Path, p: &crate::output::Printer) -> Result<crate::store::Lock> {
    crate::store::Lock::acquire(dir, LOCK_WAIT, |holder| {
        p.info(&format!("Waiting for another freshen ({holder}) to finish…"));
    })
}

/// Moves an unreadable file of the state directory aside (as
/// `NAME.json.corrupt`, for a person to look at) so the run can rebuild it,
/// and says so.
pub fn set_aside(path: &std::path::Path, detail: &str, p: &crate::output::Printer) {
    let aside = path.with_extension("json.corrupt");
    let _ = std::fs::rename(path, &aside);
    p.warn(&format!(
        "state file {} was unreadable ({detail}); kept it as {} and starting afresh",
        path.display(),
        aside.display()
    ));
}

/// `-v`: which engine and image store freshen is talking to, since what
/// `Id`, `RepoDigests` and sizes mean depends on it.
pub async fn say_engine(engine: &crate::engine::Engine, p: &crate::output::Printer) {
    match engine.model().await {
        Ok(model) => p.info(&format!("Engine: {model}")),
        Err(e) => p.info(&format!("Engine: unknown ({e})")),
    }
}
