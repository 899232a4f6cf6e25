//! The metrics text of this host, from the state directory alone: the same
//! text for `freshen metrics` and for any server's `/metrics`. A record
//! that cannot be read (the inventory, the outcome counts) costs its own
//! series and a warning, never the whole text: the watchers must still see
//! the host.

use crate::core::inventory::Inventory;
use crate::core::monitor::{self, Sources};
use crate::core::outcomes::Outcomes;
use crate::core::report::Selection;
use crate::core::state::State;
use crate::error::Result;
use crate::settings::Settings;

/// The text, and a warning for each record that was left out.
pub fn text(settings: &Settings, patterns: &[String]) -> Result<(String, Vec<String>)> {
    let selection = Selection::new(patterns, settings.exclude.clone())?;
    let dir = &settings.state_dir;
    let state = State::load(dir)?;
    let controls = crate::services::skip::controls(settings, None)?;
    let mut warnings = Vec::new();
    let inventory = Inventory::load(dir).unwrap_or_else(|e| {
        warnings.push(e.to_string());
        Inventory::default()
    });
    let outcomes = Outcomes::load(dir).unwrap_or_else(|e| {
        warnings.push(e.to_string());
        Outcomes::new()
    });
    let entries = monitor::selected(&state, &selection);
    let mut text = monitor::metrics(&Sources {
        entries: &entries,
        controls: &controls,
        updated_at: state.updated_at.as_deref(),
        inventory: &inventory,
        outcomes: &outcomes,
        version: env!("CARGO_PKG_VERSION"),
    });
    // A recreation a killed run left unfinished (the journal), for an alert.
    let pending = crate::services::recreate::pending(dir).unwrap_or_default();
    text.push_str(&monitor::interrupted_series(pending.len()));
    Ok((text, warnings))
}
