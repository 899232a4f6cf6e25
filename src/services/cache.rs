//! Evicting images under a budget (`autoremove --budget/--min-free/
//! --unused-for`): the inputs of `core::cache::plan` gathered from the
//! engine, the state and the usage record, and the plan carried out one
//! image at a time. Nothing of the plan is written down: each removal is
//! whole on the engine's side, so a run stopped at any point (even by
//! SIGKILL) leaves images that are either there or gone, and the next run
//! plans again from what is there.

use std::collections::{HashMap, HashSet};

use crate::core::cache::{self, Eviction, Limits, Plan, Store};
use crate::core::holds::Holds;
use crate::core::image::{ImageLayers, Snapshot};
use crate::core::report::Selection;
use crate::core::state::State;
use crate::core::usage::EngineUsage;
use crate::core::verdict::Status;
use crate::engine::{Engine, Removal, StoreDisk};
use crate::error::{Error, Result};
use crate::output::Printer;
use crate::settings::{CacheRequest, Settings};

/// Everything a plan was made from that the command shows.
pub struct Planned {
    pub plan: Plan,
    pub disk: Option<StoreDisk>,
}

/// The images a registry can give back: on the classic store any image
/// with a registry digest; elsewhere local builds carry digests of their
/// own, so only an image an update found in its registry counts.
fn pullable(host: &Snapshot, state: &State, classic: bool) -> HashSet<String> {
    let seen: HashSet<&str> = state
        .entries
        .iter()
        .filter(|e| matches!(e.status, Status::UpToDate | Status::Upgradable))
        .map(|e| e.image_id.as_str())
        .collect();
    host.images
        .iter()
        .filter(|i| !i.digests.is_empty() && (classic || seen.contains(i.id.as_str())))
        .map(|i| i.id.clone())
        .collect()
}

/// The version of each tag an upgrade replaced last (that ran healthily):
/// what `rollback` would put back.
fn rollback_targets(state: &State) -> HashSet<String> {
    let mut latest: HashMap<&str, (&str, &str)> = HashMap::new();
    for s in state.superseded.iter().filter(|s| s.failed.is_none()) {
        let slot =
            latest.entry(s.reference.as_str()).or_insert((s.replaced_at.as_str(), s.image_id.as_str()));
        if s.replaced_at.as_str() > slot.0 {
            *slot = (s.replaced_at.as_str(), s.image_id.as_str());
        }
    }
    latest.values().map(|(_, id)| id.to_string()).collect()
}

/// The store the plan sees, and the plan.
#[allow(clippy::too_many_arguments)]
pub async fn plan(
    engine: &Engine,
    host: &Snapshot,
    layers: &HashMap<String, ImageLayers>,
    state: &State,
    holds: &Holds,
    selection: &Selection,
    usage: &EngineUsage,
    retiring: &HashSet<String>,
    request: &CacheRequest,
    now: i64,
) -> Result<Planned> {
    let disk = engine.store_disk().await;
    let total = disk.as_ref().map(|d| d.total);
    let needs_disk = request.min_free.is_some() || request.budget.is_some_and(|b| b.is_share());
    if needs_disk && disk.is_none() {
        return Err(Error::Usage(
            "--min-free and a budget in percent need the filesystem of the engine's data root, which \
             freshen cannot see from here (a remote engine): give --budget in bytes"
                .into(),
        ));
    }
    let classic = engine.model().await?.repo_digests_prove_a_pull();
    let pullable = pullable(host, state, classic);
    let rollback = rollback_targets(state);
    let store = Store {
        images: &host.images,
        layers,
        parents: &host.parents,
        containers: &host.containers,
        usage,
        holds,
        selection,
        pullable: &pullable,
        rollback: &rollback,
        retiring,
        free: disk.as_ref().map(|d| d.free),
        now,
    };
    let limits = Limits {
        budget: request.budget.and_then(|b| b.bytes(total)),
        min_free: request.min_free.and_then(|b| b.bytes(total)),
        unused_for: request.unused_for,
        min_age: request.min_age,
    };
    Ok(Planned { plan: cache::plan(&store, &limits), disk })
}

/// What the evictions came to.
#[derive(Default)]
pub struct Evicted {
    pub removed: Vec<String>,
    /// (image id, name, reason) of those kept after all.
    pub refused: Vec<(String, String, String)>,
    /// A signal stopped the run before the rest.
    pub interrupted: Option<i32>,
}

/// Removes each planned image, least recently used first, without force.
/// Right before each: a container (any state) that uses it now, or a tag it
/// gained since the plan, keeps it; an engine that refuses keeps it. The
/// run goes on either way.
pub async fn evict(engine: &Engine, evictions: &[Eviction], p: &Printer) -> Result<Evicted> {
    let _critical = crate::services::interrupt::guard();
    let mut out = Evicted::default();
    for e in evictions {
        crate::services::interrupt::checkpoint("evicting").await;
        if let Some(signal) = crate::services::interrupt::requested() {
            out.interrupted = Some(signal);
            break;
        }
        let mut refuse = |reason: String| {
            p.warn(&format!("{}: kept, {reason}", e.name));
            out.refused.push((e.image_id.clone(), e.name.clone(), reason));
        };
        if let Some(container) = engine.image_in_use(&e.image_id).await? {
            refuse(format!("container {container} uses it since the plan"));
            continue;
        }
        let Some(tags) = engine.tags_of(&e.image_id).await? else { continue };
        let new: Vec<&String> = tags
            .iter()
            .filter(|t| crate::core::reference::Reference::parse(t).map_or(true, |r| !e.tags.contains(&r)))
            .collect();
        if !new.is_empty() {
            let names: Vec<&str> = new.iter().map(|s| s.as_str()).collect();
            refuse(format!("tagged as {} since the plan", names.join(", ")));
            continue;
        }
        match super::retire::remove_by_tags(engine, &tags, &e.image_id).await? {
            Removal::Deleted(_) => {
                p.info(&format!("Evicted {}", e.name));
                out.removed.push(e.image_id.clone());
            }
            Removal::Refused(reason) => refuse(format!("the engine refused to remove it ({reason})")),
            Removal::Missing => {}
        }
    }
    Ok(out)
}

/// What the scheduled run's eviction (`[unattended] autoremove`) came to.
#[derive(Debug, Default)]
pub struct Unattended {
    pub evicted: Vec<String>,
    pub freed: u64,
    /// Why the budget cannot be met, if it cannot.
    pub unmet: Option<String>,
}

/// The `[cache]` budget kept by the scheduled run: the same plan and the
/// same removals as `autoremove -y` with that budget, without the retire
/// step (`[unattended] retire` does that) and without output beyond the
/// warnings.
pub async fn unattended(settings: &Settings, request: &CacheRequest, p: &Printer) -> Result<Unattended> {
    let dir = &settings.state_dir;
    let lock = crate::services::lock_state(dir, p)?;
    let state = State::load(dir)?;
    let holds = crate::services::holds(settings)?;
    let engine = Engine::connect(settings.docker_host.as_deref()).await?;
    let host = engine.snapshot().await?;
    let layers = crate::services::retire::all_layers(&engine, &host).await?;
    let usage = crate::services::usage::refresh(settings, &engine, &host.images, &state, Some(&lock)).await?;
    let selection = Selection::new(&[], settings.exclude.clone())?;
    let retiring = HashSet::new();
    let planned =
        plan(&engine, &host, &layers, &state, &holds, &selection, &usage, &retiring, request, settings.now())
            .await?;
    let done = evict(&engine, &planned.plan.evict, p).await?;
    // What really went, counted again: a refusal changes what the next frees.
    let freed = cache::frees_in_order(&host.images, &layers, &retiring, &done.removed).iter().sum();
    let unmet = planned.plan.unmet.clone().or_else(|| {
        let names: Vec<&str> = done.refused.iter().map(|(_, name, _)| name.as_str()).collect();
        (!names.is_empty()).then(|| format!("images kept after all (see the warnings): {}", names.join(", ")))
    });
    drop(lock);
    Ok(Unattended { evicted: done.removed, freed, unmet })
}
