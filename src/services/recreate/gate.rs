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
    // On a terminal, the line says which containers are waited for and how
    // long is left (a container without a HEALTHCHECK is watched the whole
    // --wait, in silence otherwise).
    let mut shown: Vec<Option<crate::output::waiting::GateWait>> = Vec::new();
    // For the events that tell a restarted container's exit code; a minute
    // back covers the start just before the gate and a clock that steps.
    let since =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
            - 60;
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
            if shown.len() <= i {
                let name = v["Name"].as_str().unwrap_or(id).trim_start_matches('/').to_string();
                shown.push(Some(crate::output::waiting::gate_waits_for(&name, begun + wait)));
            }
            let mut observed = Observed::from_inspect(&v);
            if observed.restarted() {
                observed.last_exit = engine.last_exit_code(id, since).await;
            }
            match gate(&observed, checked, begun.elapsed(), wait) {
                Gate::Pass => {
                    passed[i] = true;
                    shown[i] = None;
                }
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
