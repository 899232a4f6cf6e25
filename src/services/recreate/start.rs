//! The first half of one container's recreation: stop, park, create and
//! start (or Compose's `up`), each step journaled before it is taken.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::compose::{compose_containers, ComposeCli};
use super::{Flight, Group, Options};
use crate::core::recreate::{
    creation, has_healthcheck, parked_name, restart_word, restarts, ComposeService, Creation, How,
    JournalEntry, Planned, Step,
};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::services::interrupt;
use crate::store::journal::Journal;

/// What a failed start leaves: the flight so far (to be undone with the
/// others), if it got one, and the error.
type Started = std::result::Result<Flight, (Option<Flight>, Error)>;

/// Stops, parks, creates and starts one container (or has Compose do it).
/// On an error, the flight so far (to be undone with the others).
pub(super) async fn start_one(
    engine: &Engine,
    journal: &Journal,
    compose: Option<&ComposeCli>,
    group: &Group,
    planned: &Planned,
    opts: &Options,
    earlier: &[(String, String, String)],
) -> Started {
    let entry = JournalEntry {
        name: planned.name.clone(),
        old_id: planned.id.clone(),
        new_id: None,
        reference: group.reference.to_string(),
        old_image: group.old_image.clone(),
        new_image: group.new_image.clone(),
        was_running: true,
        step: Step::Stopping,
        compose: None,
        dependents: planned.dependents.clone(),
        restart: None,
    };
    match &planned.how {
        How::Compose(service) => {
            let cli = compose.ok_or_else(|| {
                let detail = "compose is not installed".into();
                (None, Error::Daemon { action: "recreate through compose".into(), detail })
            })?;
            start_compose(engine, journal, cli, group, planned, service, entry, opts).await
        }
        How::Container => start_container(engine, journal, group, planned, entry, earlier).await,
    }
}

fn flight(planned: &Planned, entry: JournalEntry, started: Instant) -> Flight {
    Flight {
        planned: planned.clone(),
        entry,
        started,
        new_ids: Vec::new(),
        checked: false,
        downtime: Duration::ZERO,
    }
}

/// Compose's `up` of the service, and the containers it then runs.
#[allow(clippy::too_many_arguments)]
async fn start_compose(
    engine: &Engine,
    journal: &Journal,
    cli: &ComposeCli,
    group: &Group,
    planned: &Planned,
    service: &ComposeService,
    mut entry: JournalEntry,
    opts: &Options,
) -> Started {
    entry.compose = Some(service.clone());
    entry.step = Step::Creating;
    journal.set(entry.clone()).map_err(|e| (None, e))?;
    let mut flight = flight(planned, entry, Instant::now());
    if let Err(e) = cli.up(service, opts.docker_host.as_deref()).await {
        return Err((Some(flight), e));
    }
    interrupt::checkpoint("created").await;
    let ids = match compose_containers(engine, service).await {
        Ok(ids) => ids,
        Err(e) => return Err((Some(flight), e)),
    };
    flight.checked = checked_any(engine, &ids, &group.new_image).await;
    flight.entry.new_id = ids.first().cloned();
    flight.entry.step = Step::Gating;
    let _ = journal.set(flight.entry.clone());
    flight.new_ids = ids;
    Ok(flight)
}

/// Through the Engine API: the create body read from the old container,
/// then stop, park under another name, create, start.
async fn start_container(
    engine: &Engine,
    journal: &Journal,
    group: &Group,
    planned: &Planned,
    mut entry: JournalEntry,
    earlier: &[(String, String, String)],
) -> Started {
    let fail = |e: Error| (None, e);
    let (body, restart) = successor(engine, group, planned, earlier).await.map_err(fail)?;
    // Recorded before it changes, so whatever interrupts what follows
    // finds the policy to give back.
    entry.restart = restart.filter(|r| restarts(r));
    journal.set(entry.clone()).map_err(fail)?;
    if entry.restart.is_some() {
        if let Err(e) = engine.set_restart_policy(&planned.id, "no", None).await {
            if !engine.is_podman().await {
                return Err(fail(e));
            }
            // podman restarts nothing when a service restarts (there is no
            // daemon), and older releases cannot change the policy.
            entry.restart = None;
            journal.set(entry.clone()).map_err(fail)?;
        }
    }
    let started = Instant::now();
    engine.stop_container(&planned.id, None).await.map_err(fail)?;
    interrupt::checkpoint("stopped").await;
    entry.step = Step::Parking;
    journal.set(entry.clone()).map_err(fail)?;
    let mut flight = flight(planned, entry, started);
    if let Err(e) = create_and_start(engine, journal, planned, &body, &mut flight).await {
        return Err((Some(flight), e));
    }
    flight.entry.step = Step::Gating;
    let _ = journal.set(flight.entry.clone());
    let id = flight.new_ids.first().cloned().unwrap_or_default();
    let new = engine.inspect_container_json(&id).await.ok().flatten().unwrap_or(Value::Null);
    let new_image = engine.inspect_image_json(&group.new_image).await.ok().flatten().unwrap_or(Value::Null);
    flight.checked = has_healthcheck(&new, &new_image);
    Ok(flight)
}

/// The create body of `planned`'s successor on the group's tag, and the old
/// container's restart policy. A `container:X` network mode where X was
/// recreated just before points at X's new container.
async fn successor(
    engine: &Engine,
    group: &Group,
    planned: &Planned,
    earlier: &[(String, String, String)],
) -> Result<(Creation, Option<String>)> {
    let old = engine.inspect_container_json(&planned.id).await?.ok_or_else(|| Error::Daemon {
        action: format!("inspect {}", planned.name),
        detail: "it is gone".into(),
    })?;
    let old_image = engine.inspect_image_json(&group.old_image).await?.unwrap_or(Value::Null);
    let image = group.reference.familiar();
    let mode = old["HostConfig"]["NetworkMode"].as_str().unwrap_or_default();
    let parent = mode.strip_prefix("container:").and_then(|target| {
        earlier.iter().find(|(id, name, _)| id == target || name == target).map(|(_, _, new)| new.as_str())
    });
    let policy = &old["HostConfig"]["RestartPolicy"];
    let restart = policy["Name"]
        .as_str()
        .map(|name| restart_word(name, policy["MaximumRetryCount"].as_i64().unwrap_or(0)));
    Ok((creation(&old, &old_image, &image, parent, engine.is_podman().await), restart))
}

/// The old container parked under another name, its successor created
/// under its name and started; each step journaled first.
async fn create_and_start(
    engine: &Engine,
    journal: &Journal,
    planned: &Planned,
    body: &Creation,
    flight: &mut Flight,
) -> Result<()> {
    engine.rename_container(&planned.id, &parked_name(&planned.name)).await?;
    flight.entry.step = Step::Creating;
    journal.set(flight.entry.clone())?;
    let id = engine.create_container(&planned.name, body).await?;
    flight.entry.new_id = Some(id.clone());
    flight.new_ids = vec![id.clone()];
    journal.set(flight.entry.clone())?;
    interrupt::checkpoint("created").await;
    engine.start_container(&id).await
}

async fn checked_any(engine: &Engine, ids: &[String], image: &str) -> bool {
    let image = engine.inspect_image_json(image).await.ok().flatten().unwrap_or(Value::Null);
    for id in ids {
        if let Ok(Some(c)) = engine.inspect_container_json(id).await {
            if has_healthcheck(&c, &image) {
                return true;
            }
        }
    }
    false
}
