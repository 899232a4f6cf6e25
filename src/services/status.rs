//! What the server shows, gathered once and then served from memory: the
//! state of the last update joined with the local images and containers
//! as `list` joins them, the skips, the engine's model and the host's name;
//! and the metrics text `freshen metrics` prints.

use crate::core::image::{Container, EngineModel};
use crate::core::report::{self, Row, Selection};
use crate::core::skips::Skips;
use crate::core::state::State;
use crate::core::status::{self, TagView};
use crate::core::tagcache::TagCache;
use crate::engine::Engine;
use crate::error::Result;
use crate::settings::Settings;

/// One look at the host.
pub struct Gathered {
    pub host: String,
    pub engine: Option<EngineModel>,
    pub state: State,
    pub rows: Vec<Row>,
    pub containers: Vec<Container>,
    pub skips: Skips,
}

impl Gathered {
    /// `recent`: upgrades the caller ran itself, by tag.
    pub fn views(&self, recent: &[(String, status::LastUpgrade)]) -> Vec<TagView<'_>> {
        status::tag_views(&self.rows, &self.containers, &self.state, &self.skips, recent)
    }
}

/// Reads the state, the controls and the engine's images and containers,
/// and makes the rows `list` would show for every tag.
pub async fn gather(settings: &Settings) -> Result<Gathered> {
    let selection = Selection::new(&[], settings.exclude.clone())?;
    let state = State::load(&settings.state_dir)?;
    let controls = super::skip::controls(settings, None)?;
    let engine = Engine::connect(settings.docker_host.as_deref()).await?;
    let (images, containers) = tokio::try_join!(engine.images(), engine.containers())?;
    let model = engine.model().await.ok();
    let mut rows = report::rows(&state, &images, &containers, &selection);
    report::mark_held(&mut rows, &controls.holds);
    let cache = TagCache::load(&settings.state_dir);
    report::annotate(&mut rows, &images, &cache, |r| settings.image_policy(r));
    report::mark_controls(&mut rows, &state, &controls);
    report::link_release_notes(&mut rows, &images, &cache, &state, |r| settings.image_policy(r));
    Ok(Gathered { host: host_name(), engine: model, state, rows, containers, skips: controls.skips })
}

/// The host's name, as `hostname` prints it.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The Prometheus text `freshen metrics` prints for `patterns`, from the
/// state file alone: one function for the command and the server's
/// `/metrics`, so both always say the same.
pub fn metrics_text(settings: &Settings, patterns: &[String]) -> Result<String> {
    // The one text `freshen metrics` prints (warnings about unreadable
    // records go to the server's log through the caller's printer there).
    super::metrics::text(settings, patterns).map(|(text, _)| text)
}
