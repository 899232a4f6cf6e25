//! Recreating the containers of an upgraded tag: each through the Engine
//! API (stop, park under another name, create from the old one's settings,
//! start) or through Compose, then the health gate for all of them at once;
//! if one fails, the whole tag goes back (containers and tag) so they agree.
//! Every step is written to the journal before it is taken, and
//! [`repair`] finishes or undoes what a killed run left.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::core::hooks::{Decision, Phase};
use crate::core::recreate::{self, ComposeService, How, JournalEntry, Planned, Skip, Step};
use crate::core::reference::Reference;
use crate::engine::Engine;
use crate::error::Result;
use crate::services::hooks::HookRun;
use crate::services::interrupt;
use crate::store::journal::Journal;

mod compose;
mod gate;
mod repair;
mod start;
mod undo;

pub use compose::{check_compose, ComposeCli};
use gate::gate_all;
pub use repair::{pending, repair_interrupted};
use start::start_one;
use undo::{finish, remove_new, undo};

/// Containers of one tag recreated at the same time.
const PARALLEL: usize = 4;
/// Tags whose containers are recreated at the same time (so at most
/// `TAGS_AT_ONCE * PARALLEL` containers between their stop and their gate):
/// the gates wait side by side, while the engine is not asked to start
/// more than a small host does at boot.
pub const TAGS_AT_ONCE: usize = 8;
/// How often the gate looks at a starting container.
const POLL: Duration = Duration::from_millis(250);
/// Log lines sent with a rollback notice.
pub const LOG_LINES: usize = 10;

/// Where Compose runs and what it talks to.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub wait: Duration,
    /// `-H`/`DOCKER_HOST`, handed to Compose.
    pub docker_host: Option<String>,
}

/// The containers of one upgraded tag.
#[derive(Debug, Clone)]
pub struct Group {
    pub reference: Reference,
    pub old_image: String,
    pub new_image: String,
    pub members: Vec<Planned>,
    /// The members' upgrade hooks (none for most).
    pub hooks: crate::services::hooks::GroupHooks,
}

/// One container that runs the new version and passed the gate.
#[derive(Debug, Clone)]
pub struct Recreated {
    pub name: String,
    pub id: String,
    pub previous_id: String,
    pub reference: String,
    pub compose: Option<ComposeService>,
    /// From the stop of the old container to the gate passing.
    pub downtime: Duration,
}

/// One container that runs the old version again.
#[derive(Debug, Clone)]
pub struct RolledBack {
    pub name: String,
    pub reference: String,
    /// Why the group went back (the first container that failed, or this one).
    pub reason: String,
    /// The failing container's last log lines (empty for the others).
    pub logs: Vec<String>,
}

/// What recreating one group did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub recreated: Vec<Recreated>,
    pub rolled_back: Vec<RolledBack>,
    /// The reason the group was rolled back, if it was.
    pub failure: Option<String>,
    /// Problems that left something for a person to look at.
    pub errors: Vec<String>,
    /// A signal cut the recreation short: the group was put back, and that
    /// is no verdict on the new version.
    pub interrupted: bool,
    /// The hooks that ran, in order.
    pub hooks: Vec<crate::services::hooks::HookRun>,
}

/// A container on its way: what was done so far.
struct Flight {
    planned: Planned,
    entry: JournalEntry,
    started: Instant,
    /// Containers to gate (Compose may run several replicas).
    new_ids: Vec<String>,
    checked: bool,
    /// From the stop to the gate's verdict.
    downtime: Duration,
}

/// Runs the pre-upgrade hooks of a group's containers, in the old ones,
/// before anything stops. Each container is journaled first (step
/// `hooking`), so a run killed during a hook is put back by the next (the
/// tag on the old image, nothing else changed). The hooks that ran, and
/// the first that deferred or failed (its decision and summary).
pub async fn pre_upgrade(
    engine: &Engine,
    journal: &Journal,
    group: &Group,
    info: &dyn Fn(&str),
) -> (Vec<HookRun>, Option<(Decision, String)>) {
    let mut all = Vec::new();
    if !group.hooks.has(Phase::PreUpgrade) {
        return (all, None);
    }
    let noted = |m: &Planned| JournalEntry {
        name: m.name.clone(),
        old_id: m.id.clone(),
        new_id: None,
        reference: group.reference.to_string(),
        old_image: group.old_image.clone(),
        new_image: group.new_image.clone(),
        was_running: true,
        step: Step::Hooking,
        compose: None,
        dependents: Vec::new(),
        restart: None,
    };
    let mut held = None;
    for m in &group.members {
        if let Err(e) = journal.set(noted(m)) {
            held = Some((Decision::Abort, format!("journal: {e}")));
            break;
        }
        interrupt::checkpoint("hooking").await;
        let (runs, decision) = group.hooks.run(engine, &m.name, &m.id, Phase::PreUpgrade, false, info).await;
        let summary = runs.last().map(HookRun::summary).unwrap_or_default();
        all.extend(runs);
        if decision != Decision::GoOn {
            held = Some((decision, summary));
            break;
        }
    }
    if held.is_some() {
        // Nothing was stopped: the entries go, the caller points the tag back.
        for m in &group.members {
            let _ = journal.remove(&m.name);
        }
    }
    (all, held)
}

/// Moves the containers started with `--rm` from `plan.recreate` to
/// `plan.skipped`: the engine removes such a container when it stops, so the
/// stopped old container a failed health gate returns to would be gone and
/// the service left down. They keep running the previous version, listed.
pub async fn skip_auto_remove(engine: &Engine, plan: &mut recreate::Plan) -> Result<()> {
    let mut keep = Vec::new();
    for c in std::mem::take(&mut plan.recreate) {
        let auto_remove = match c.how {
            How::Container => engine
                .inspect_container_json(&c.id)
                .await?
                .is_some_and(|v| v["HostConfig"]["AutoRemove"].as_bool() == Some(true)),
            How::Compose(_) => false,
        };
        if auto_remove {
            plan.skipped.push((c.name.clone(), c.reference.clone(), Skip::AutoRemove));
        } else {
            keep.push(c);
        }
    }
    plan.recreate = keep;
    plan.skipped.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(())
}

/// A rollback, for the notification targets: the tag, the digest that
/// failed, why, and each container with its last log lines.
#[derive(Debug, Clone)]
pub struct Announced {
    pub reference: String,
    pub image: String,
    pub digest: String,
    pub reason: String,
    pub containers: Vec<(String, Vec<String>)>,
}

/// `groups` (one per upgraded tag, `reference` says which) in waves: the
/// groups of a wave can be recreated side by side, each wave after the ones
/// it depends on. See [`recreate::tag_waves`].
pub fn in_dependency_waves<T>(
    groups: Vec<T>,
    reference: impl Fn(&T) -> String,
    plan: &recreate::Plan,
) -> Vec<Vec<T>> {
    let references: Vec<String> = groups.iter().map(&reference).collect();
    let waves = recreate::tag_waves(&references, plan);
    let mut slots: Vec<Option<T>> = groups.into_iter().map(Some).collect();
    waves.into_iter().map(|w| w.into_iter().filter_map(|i| slots[i].take()).collect()).collect()
}

/// Recreates one group. The tag already points at `new_image`. A signal
/// (see [`interrupt`]) lets the step under way finish, cuts a health gate
/// short and puts the whole group back, as a failed gate does.
pub async fn recreate_group(
    engine: &Engine,
    journal: &Journal,
    compose: Option<&ComposeCli>,
    group: &Group,
    opts: &Options,
    info: &dyn Fn(&str),
) -> Outcome {
    let mut out = Outcome::default();
    let (mut flights, failure, hook_runs) = fly(engine, journal, compose, group, opts, info).await;
    // A hook whose failure undoes nothing (after `freshen rollback`) is
    // still a failure of the run.
    out.errors.extend(hook_runs.iter().filter(|r| r.decision == Decision::Report).map(HookRun::summary));
    out.hooks = hook_runs;
    // Back in the group's order: a rollback restores parents first.
    flights.sort_by_key(|f| group.members.iter().position(|m| m.name == f.planned.name));
    match failure {
        None => passed(engine, journal, group, &mut flights, info, &mut out).await,
        Some(failed) => {
            out.interrupted = failed.interrupted;
            roll_back(engine, journal, compose, group, opts, &mut flights, &failed, &mut out).await;
            out.failure = Some(failed.reason);
        }
    }
    // A member that never started (a failure or a signal came first) keeps
    // the entry its pre-upgrade hook left: nothing of it changed.
    for e in journal.entries() {
        if e.step == Step::Hooking && group.members.iter().any(|m| m.name == e.name) {
            journal_remove(journal, &e.name, &mut out.errors);
        }
    }
    out
}

fn journal_remove(journal: &Journal, name: &str, errors: &mut Vec<String>) {
    if let Err(e) = journal.remove(name) {
        errors.push(format!("journal: {e}"));
    }
}

/// The members in waves: a container that joins another of the group's
/// namespace (`container:X`) waits for X, a Compose service for the
/// services it depends on; the others go side by side.
fn waves(group: &Group) -> Vec<Vec<&Planned>> {
    let mut waves: Vec<Vec<&Planned>> = vec![Vec::new()];
    for m in &group.members {
        let parent_in_wave = waves.last().is_some_and(|w| w.iter().any(|x| recreate::must_follow(m, x)));
        if parent_in_wave {
            waves.push(Vec::new());
        }
        waves.last_mut().expect("a wave").push(m);
    }
    waves
}

/// Starts and gates the members, wave by wave, a few at a time, each from
/// its stop straight to its own gate, so each one's downtime is its own.
/// Stops after the first wave with a failure, or when a signal came.
async fn fly(
    engine: &Engine,
    journal: &Journal,
    compose: Option<&ComposeCli>,
    group: &Group,
    opts: &Options,
    info: &dyn Fn(&str),
) -> (Vec<Flight>, Option<Failure>, Vec<HookRun>) {
    let podman = engine.is_podman().await;
    let mut flights: Vec<Flight> = Vec::new();
    let mut hook_runs: Vec<HookRun> = Vec::new();
    let mut failure: Option<Failure> = None;
    for wave in waves(group) {
        if interrupt::requested().is_some() {
            failure = Some(Failure::interrupted(String::new()));
            break;
        }
        let earlier: Vec<(String, String, String)> = flights
            .iter()
            .filter_map(|f| Some((f.planned.id.clone(), f.planned.name.clone(), f.new_ids.first()?.clone())))
            .collect();
        let runs = futures_util::stream::iter(wave.into_iter().map(|planned| {
            let earlier = &earlier;
            async move {
                if interrupt::requested().is_some() {
                    // Not started: nothing of it to put back.
                    return (None, Err(Failure::interrupted(planned.name.clone())), Vec::new());
                }
                info(&format!("Recreating {} ({})…", planned.name, group.reference.familiar()));
                // The steps of one container run to their end: a signal
                // is acted on at the gate, where nothing is half done.
                match start_one(engine, journal, compose, group, planned, opts, earlier).await {
                    Ok(mut f) => {
                        // Without a HEALTHCHECK the service is back once it
                        // runs; the gate then watches it for --wait.
                        let running = f.started.elapsed();
                        let mut runs = Vec::new();
                        let verdict = tokio::select! {
                            biased;
                            () = interrupt::wait() => Err(Failure::interrupted(planned.name.clone())),
                            v = gate_all(engine, &f.new_ids, f.checked, opts.wait, podman) => {
                                v.map_err(|why| Failure::failed(&planned.name, why))
                            }
                        };
                        f.downtime = if f.checked { f.started.elapsed() } else { running };
                        // Past the gate, the hooks verify (or, after
                        // `freshen rollback`, restore) the new container;
                        // the journal still says gating, so a run killed
                        // during one is put back by the next.
                        let verdict = match verdict {
                            Ok(()) => {
                                let target = f.new_ids.first().cloned().unwrap_or_default();
                                let phase =
                                    if group.hooks.rollback { Phase::PostRollback } else { Phase::PostUpgrade };
                                tokio::select! {
                                    biased;
                                    () = interrupt::wait() => Err(Failure::interrupted(planned.name.clone())),
                                    (r, decision) = group.hooks.run(engine, &planned.name, &target, phase, false, info) => {
                                        let failed = r.last().filter(|_| decision == Decision::RollBack).map(HookRun::summary);
                                        runs = r;
                                        match failed {
                                            Some(why) => Err(Failure { culprit: planned.name.clone(), reason: why, interrupted: false }),
                                            None => Ok(()),
                                        }
                                    }
                                }
                            }
                            v => v,
                        };
                        (Some(f), verdict, runs)
                    }
                    Err((f, e)) => (f, Err(Failure::failed(&planned.name, e.to_string())), Vec::new()),
                }
            }
        }))
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>()
        .await;
        for (f, verdict, ran) in runs {
            hook_runs.extend(ran);
            if let Err(why) = verdict {
                // A real failure names the culprit even when a signal came
                // too: its version did fail.
                let better = match &failure {
                    None => true,
                    Some(earlier) => earlier.interrupted && !why.interrupted,
                };
                if better {
                    failure = Some(why);
                }
            }
            if let Some(f) = f {
                flights.push(f);
            }
        }
        if failure.is_some() {
            break;
        }
    }
    (flights, failure, hook_runs)
}

/// Every member passed: the journal says so, the parked containers go and
/// the dependents follow.
async fn passed(
    engine: &Engine,
    journal: &Journal,
    group: &Group,
    flights: &mut [Flight],
    info: &dyn Fn(&str),
    out: &mut Outcome,
) {
    for f in flights.iter_mut() {
        f.entry.step = Step::Passed;
        journal_set(journal, &f.entry, &mut out.errors);
    }
    // Parked containers go last one first: podman refuses to remove a
    // container another one (a `container:` dependent) still refers to.
    for f in flights.iter().rev() {
        if let Err(e) = finish(engine, journal, &f.entry, info).await {
            out.errors.push(format!("{}: {e}", f.entry.name));
        }
    }
    for f in flights.iter() {
        out.recreated.push(Recreated {
            name: f.planned.name.clone(),
            id: f.new_ids.first().cloned().unwrap_or_default(),
            previous_id: f.planned.id.clone(),
            reference: group.reference.to_string(),
            compose: f.entry.compose.clone(),
            downtime: f.downtime,
        });
    }
}

/// Which container failed the group, and why; or the signal that stopped it.
struct Failure {
    culprit: String,
    reason: String,
    interrupted: bool,
}

impl Failure {
    fn failed(name: &str, why: String) -> Failure {
        Failure { culprit: name.to_string(), reason: format!("{name}: {why}"), interrupted: false }
    }

    fn interrupted(name: String) -> Failure {
        let reason = "interrupted before the new version passed its health gate".to_string();
        Failure { culprit: name, reason, interrupted: true }
    }
}

/// A member failed: the tag goes back, then every member's new container,
/// then the old ones come back.
#[allow(clippy::too_many_arguments)]
async fn roll_back(
    engine: &Engine,
    journal: &Journal,
    compose: Option<&ComposeCli>,
    group: &Group,
    opts: &Options,
    flights: &mut [Flight],
    failed: &Failure,
    out: &mut Outcome,
) {
    let culprit_new =
        flights.iter().find(|f| f.planned.name == failed.culprit).and_then(|f| f.new_ids.first());
    let logs = match culprit_new {
        Some(id) if !failed.interrupted => engine.log_tail(id, LOG_LINES).await,
        _ => Vec::new(),
    };
    // The pre-rollback hooks, in the new containers while they still run
    // (an automatic rollback goes on whatever they say). None after a
    // signal: the run winds down.
    let hooked = !group.hooks.rollback && !failed.interrupted;
    if hooked {
        for f in flights.iter() {
            if let Some(id) = f.new_ids.first() {
                let (runs, _) =
                    group.hooks.run(engine, &f.planned.name, id, Phase::PreRollback, true, &|_| {}).await;
                report_hooks(runs, out);
            }
        }
    }
    // The tag first: Compose recreates from it.
    if let Err(e) = engine.tag(&group.old_image, &group.reference).await {
        out.errors.push(format!("{}: cannot point the tag back: {e}", group.reference.familiar()));
    }
    // New containers go first, last one first; then the old ones come back
    // in order, so a `container:` dependent finds its parent running.
    for f in flights.iter_mut().rev() {
        f.entry.step = Step::RollingBack;
        journal_set(journal, &f.entry, &mut out.errors);
        if f.entry.compose.is_none() {
            if let Err(e) = remove_new(engine, &f.entry).await {
                out.errors.push(format!("{}: rollback failed: {e}", f.entry.name));
            }
        }
    }
    for f in flights.iter() {
        if let Err(e) = undo(engine, journal, compose, &f.entry, opts).await {
            out.errors.push(format!("{}: rollback failed: {e}", f.entry.name));
        }
        if hooked {
            // In the old version, running again: the place to restore
            // what the pre-upgrade hook saved.
            let name = &f.planned.name;
            let (runs, _) = group.hooks.run(engine, name, name, Phase::PostRollback, true, &|_| {}).await;
            report_hooks(runs, out);
        }
        let culprit = f.planned.name == failed.culprit;
        out.rolled_back.push(RolledBack {
            name: f.planned.name.clone(),
            reference: group.reference.to_string(),
            reason: failed.reason.clone(),
            logs: if culprit { logs.clone() } else { Vec::new() },
        });
    }
}

/// Hooks that ran during a rollback: kept, and a failure is an error the
/// exit status shows (nothing is left to undo).
fn report_hooks(runs: Vec<HookRun>, out: &mut Outcome) {
    for r in runs {
        if r.decision != Decision::GoOn {
            out.errors.push(r.summary());
        }
        out.hooks.push(r);
    }
}

fn journal_set(journal: &Journal, entry: &JournalEntry, errors: &mut Vec<String>) {
    if let Err(e) = journal.set(entry.clone()) {
        errors.push(format!("journal: {e}"));
    }
}

/// The containers of `from` that `freshen rollback` moves, and the
/// Compose command if one needs it; what cannot be moved, as errors.
async fn rollback_plan(
    engine: &Engine,
    settings: &crate::settings::Settings,
    from: &str,
    reference: &Reference,
) -> Result<(recreate::Plan, Option<ComposeCli>, Vec<String>)> {
    let upgraded = std::collections::BTreeMap::from([(from.to_string(), vec![reference.to_string()])]);
    let containers = engine.recreate_candidates().await?;
    let mut plan = recreate::plan(&containers, &upgraded, |r| {
        let r = Reference::parse(r).ok()?;
        settings.recreate_off(&r).map(|_| Skip::ConfigFalse)
    });
    skip_auto_remove(engine, &mut plan).await?;
    let compose = check_compose(&mut plan, settings.docker_host.as_deref()).await;
    let errors = plan
        .skipped
        .iter()
        .filter(|(_, _, why)| why.is_failure())
        .map(|(name, _, why)| format!("{name}: not recreated: {why}"))
        .collect();
    Ok((plan, compose, errors))
}

/// The hooks of a `freshen rollback` from `from` to `to`: those of the
/// containers that move, with the directory of the version it goes back
/// to (what the pre-upgrade hooks saved when it was left).
async fn rollback_hooks(
    engine: &Engine,
    settings: &crate::settings::Settings,
    reference: &Reference,
    from: &str,
    to: &str,
    members: &[Planned],
) -> Result<crate::services::hooks::GroupHooks> {
    let per_container = crate::services::hooks::for_group(engine, settings, reference, members)
        .await
        .map_err(|e| crate::error::Error::Usage(format!("cannot read the hooks: {e}")))?;
    Ok(crate::services::hooks::GroupHooks {
        per_container,
        context: crate::services::hooks::context(reference, from, to, (None, None), None, members),
        dir: crate::services::hooks::version_dir(&settings.state_dir, to),
        rollback: true,
    })
}

/// `freshen rollback`'s first step, before the tag moves or anything
/// stops: the pre-rollback hooks in the containers of the current version
/// (`from`). The hooks that ran, and the first that deferred or failed
/// (its decision and summary): then nothing is to change.
pub async fn pre_rollback(
    engine: &Engine,
    settings: &crate::settings::Settings,
    reference: &Reference,
    from: &str,
    to: &str,
    p: &crate::output::Printer,
) -> Result<(Vec<HookRun>, Option<(Decision, String)>)> {
    let (plan, _, _) = rollback_plan(engine, settings, from, reference).await?;
    let hooks = rollback_hooks(engine, settings, reference, from, to, &plan.recreate).await?;
    let mut all = Vec::new();
    for m in &plan.recreate {
        let info = |text: &str| p.info(text);
        let (runs, decision) = hooks.run(engine, &m.name, &m.id, Phase::PreRollback, false, &info).await;
        let summary = runs.last().map(HookRun::summary).unwrap_or_default();
        all.extend(runs);
        if decision != Decision::GoOn {
            return Ok((all, Some((decision, summary))));
        }
    }
    Ok((all, None))
}

/// Recreates the running containers of `from` (the image the tag leaves) on
/// `to`, the tag already pointing at `to`: `freshen rollback`'s second half
/// (after [`pre_rollback`]); the post-rollback hooks follow each gate.
/// If they fail the gate, they and the tag are back on `from`.
pub async fn move_containers(
    engine: &Engine,
    settings: &crate::settings::Settings,
    reference: &Reference,
    from: &str,
    to: &str,
    wait: Duration,
    p: &crate::output::Printer,
) -> Result<Outcome> {
    let (plan, compose, errors) = rollback_plan(engine, settings, from, reference).await?;
    let mut out = Outcome { errors, ..Outcome::default() };
    if plan.recreate.is_empty() {
        return Ok(out);
    }
    let hooks = rollback_hooks(engine, settings, reference, from, to, &plan.recreate).await?;
    let group = Group {
        reference: reference.clone(),
        old_image: from.to_string(),
        new_image: to.to_string(),
        members: plan.recreate,
        hooks,
    };
    let opts = Options { wait, docker_host: settings.docker_host.clone() };
    let journal = Journal::load(&settings.state_dir)?;
    let info = |text: &str| p.info(text);
    let mut o = recreate_group(engine, &journal, compose.as_ref(), &group, &opts, &info).await;
    o.errors.splice(0..0, std::mem::take(&mut out.errors));
    Ok(o)
}
