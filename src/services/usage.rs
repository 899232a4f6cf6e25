//! Refreshing the usage record (`usage.json`, see `core::usage`) from what
//! the engine proves now. Cheap by design, since every `update` does it: one
//! container listing (plus an inspect per stopped container), one event
//! read, and an image inspect only for images that are new to the record or
//! changed tags; nothing per image otherwise.

use crate::core::image::LocalImage;
use crate::core::state::State;
use crate::core::usage::{self, EngineUsage, Evidence, Observation, Usage};
use crate::engine::Engine;
use crate::error::Result;
use crate::settings::Settings;
use crate::store::Lock;

/// The key of an engine in the record: how it is reached.
pub fn engine_key(settings: &Settings) -> String {
    settings.docker_host.clone().unwrap_or_else(|| "unix:///var/run/docker.sock".to_string())
}

/// Reads the evidence, merges it into the record and saves it (unless
/// `lock` is None: a dry run reads, and writes nothing). An unreadable
/// record is an error and stays as it is.
pub async fn refresh(
    settings: &Settings,
    engine: &Engine,
    images: &[LocalImage],
    state: &State,
    lock: Option<&Lock>,
) -> Result<EngineUsage> {
    let dir = &settings.state_dir;
    let mut record = Usage::load(dir)?;
    let key = engine_key(settings);
    let old = record.engines.get(&key);
    let now = settings.now();
    let clock = crate::output::now_unix();
    let changed: Vec<&str> = usage::tags_changed(old, images).iter().map(|i| i.id.as_str()).collect();
    // Events are stamped by the real clock; a test's clock never makes
    // the engine wait for a future `until`.
    let until = now.min(clock);
    let since = old.and_then(|o| o.events_through).map(|t| t.min(until));
    let events = async {
        match since {
            Some(since) if since < until => engine.event_evidence(images, since, until).await,
            // The first refresh reads what the engine kept of the last hour.
            None => engine.event_evidence(images, until - 3600, until).await,
            _ => Vec::new(),
        }
    };
    let (containers, tagged, events, started, kept) = tokio::join!(
        engine.container_evidence(now),
        engine.tag_times(&changed),
        events,
        engine.daemon_started(),
        engine.keeps_events(),
    );
    let mut observations = containers?;
    observations.extend(tagged);
    observations.extend(events);
    observations.extend(upgrades(state));
    let fresh = usage::refresh(old, images, &observations, now, started, kept);
    if let Some(lock) = lock {
        record.engines.insert(key, fresh.clone());
        record.save(dir, lock)?;
    }
    Ok(fresh)
}

/// freshen's own upgrades: the image a tag was moved to was installed then.
fn upgrades(state: &State) -> Vec<Observation> {
    state
        .superseded
        .iter()
        .filter_map(|s| {
            let at = crate::core::time::parse_rfc3339(&s.replaced_at)?;
            Some(Observation {
                image_id: s.replaced_by.clone(),
                at,
                evidence: Evidence::Upgrade { reference: s.reference.clone() },
            })
        })
        .collect()
}
