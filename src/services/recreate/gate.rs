//! The health gate, watched on the engine.

use std::time::{Duration, Instant};

use super::POLL;
use crate::core::recreate::{gate, Gate, HealthClock, Observed};
use crate::engine::Engine;

/// Waits until every container passes, or one fails. On podman the gate
/// also runs the health checks when they are due (see [`HealthClock`]).
pub(super) async fn gate_all(
    engine: &Engine,
    ids: &[String],
    checked: bool,
    wait: Duration,
    podman: bool,
) -> std::result::Result<(), String> {
    if ids.is_empty() {
        return Err("no container runs after the recreation".into());
    }
    let begun = Instant::now();
    let mut passed = vec![false; ids.len()];
    let mut clocks: Vec<Option<HealthClock>> = vec![None; ids.len()];
    let mut first = true;
    loop {
        for (i, id) in ids.iter().enumerate() {
            if passed[i] {
                continue;
            }
            let mut v = match engine.inspect_container_json(id).await {
                Ok(Some(v)) => v,
                Ok(None) => return Err("the new container disappeared".into()),
                Err(e) => return Err(e.to_string()),
            };
            if podman && checked {
                let clock = clocks[i].get_or_insert_with(|| HealthClock::new(&v, begun.elapsed()));
                if Observed::from_inspect(&v).running && clock.due(&v, begun.elapsed()) {
                    engine.run_healthcheck(id).await;
                    v = match engine.inspect_container_json(id).await {
                        Ok(Some(v)) => v,
                        Ok(None) => return Err("the new container disappeared".into()),
                        Err(e) => return Err(e.to_string()),
                    };
                    clock.ran(&v, begun.elapsed());
                }
            }
            match gate(&Observed::from_inspect(&v), checked, begun.elapsed(), wait) {
                Gate::Pass => passed[i] = true,
                Gate::Fail(why) => return Err(why),
                Gate::Wait => {}
            }
        }
        if passed.iter().all(|p| *p) {
            return Ok(());
        }
        if first {
            first = false;
            crate::services::interrupt::checkpoint("gating").await;
        }
        tokio::time::sleep(POLL).await;
    }
}
