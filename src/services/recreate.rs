//! Recreating the containers of an upgraded tag: each through the Engine
//! API (stop, park under another name, create from the old one's settings,
//! start) or through Compose, then the health gate for all of them at once;
//! if one fails, the whole tag goes back (containers and tag) so they agree.
//! Every step is written to the journal before it is taken, and
//! [`repair`] finishes or undoes what a killed run left.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;

use crate::core::recreate::{
    self, creation, gate, has_healthcheck, parked_name, ComposeService, Gate, HealthClock, How, JournalEntry,
    Observed, Planned, Repair, Skip, Step,
};
use crate::core::reference::Reference;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::store::journal::Journal;

/// Containers of one tag recreated at the same time.
const PARALLEL: usize = 4;
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

/// Whether Compose can recreate `service`; the reason if not.
pub fn compose_problem(service: &ComposeService, compose: Option<&ComposeCli>) -> Option<Skip> {
    let Some(_) = compose else {
        return Some(Skip::Compose(format!(
            "compose project {}: neither the 'docker compose' plugin nor docker-compose v2 is installed",
            service.project
        )));
    };
    if service.config_files.is_empty() {
        return Some(Skip::Compose(format!(
            "compose project {}: its containers do not say which files define it",
            service.project
        )));
    }
    for file in service.config_files.iter().chain(&service.env_files) {
        if !Path::new(file).exists() {
            return Some(Skip::Compose(format!("compose project {}: {file} is missing", service.project)));
        }
    }
    if let Some(dir) = &service.working_dir {
        if !Path::new(dir).is_dir() {
            return Some(Skip::Compose(format!("compose project {}: {dir} is missing", service.project)));
        }
    }
    None
}

/// Moves the Compose services that cannot be recreated (no Compose, or a
/// file of the project gone) from `plan.recreate` to `plan.skipped`;
/// returns the Compose command when one is needed and found.
pub async fn check_compose(plan: &mut recreate::Plan, docker_host: Option<&str>) -> Option<ComposeCli> {
    let needed = plan.recreate.iter().any(|c| matches!(c.how, How::Compose(_)));
    let compose = if needed { ComposeCli::find(docker_host).await } else { None };
    let mut keep = Vec::new();
    for c in std::mem::take(&mut plan.recreate) {
        let problem = match &c.how {
            How::Compose(s) => compose_problem(s, compose.as_ref()),
            How::Container => None,
        };
        match problem {
            Some(skip) => plan.skipped.push((c.name.clone(), c.reference.clone(), skip)),
            None => keep.push(c),
        }
    }
    plan.recreate = keep;
    compose
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

/// The Compose command line found on this host.
#[derive(Debug, Clone)]
pub struct ComposeCli {
    program: PathBuf,
    prefix: Vec<String>,
}

impl ComposeCli {
    /// `docker compose` (the v2 plugin), else `docker-compose` if it is v2.
    pub async fn find(docker_host: Option<&str>) -> Option<ComposeCli> {
        let candidates = [
            ComposeCli { program: "docker".into(), prefix: vec!["compose".into()] },
            ComposeCli { program: "docker-compose".into(), prefix: vec![] },
        ];
        for c in candidates {
            let mut cmd = c.command(docker_host);
            cmd.args(["version", "--short"]);
            if let Ok(out) = cmd.output().await {
                let text = String::from_utf8_lossy(&out.stdout);
                let v = text.trim().trim_start_matches('v');
                if out.status.success()
                    && v.split('.').next().and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| m >= 2)
                {
                    return Some(c);
                }
            }
        }
        None
    }

    fn command(&self, docker_host: Option<&str>) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.prefix).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(h) = docker_host {
            cmd.env("DOCKER_HOST", h);
        }
        cmd
    }

    /// `up -d --pull never SERVICE` with the project's name, directory,
    /// files and env files, as the labels recorded them; `--no-deps` only
    /// for a service without dependencies. With it, Compose leaves
    /// `depends_on` out of the service's config hash, and the next plain
    /// `docker compose up -d` would recreate the service once more. Without
    /// it, dependencies already running as configured are left alone.
    async fn up(&self, s: &ComposeService, docker_host: Option<&str>) -> Result<()> {
        let mut cmd = self.command(docker_host);
        cmd.args(["-p", &s.project]);
        if let Some(dir) = &s.working_dir {
            cmd.args(["--project-directory", dir]);
            cmd.current_dir(dir);
        }
        for f in &s.config_files {
            cmd.args(["-f", f]);
        }
        for e in &s.env_files {
            cmd.args(["--env-file", e]);
        }
        cmd.args(["up", "-d", "--pull", "never"]);
        if s.depends_on.is_empty() {
            cmd.arg("--no-deps");
        }
        cmd.arg(&s.service);
        let out = cmd.output().await.map_err(|e| Error::Daemon {
            action: format!("run compose for project {}", s.project),
            detail: e.to_string(),
        })?;
        if out.status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        Err(Error::Daemon {
            action: format!("docker compose up {} (project {})", s.service, s.project),
            detail: last.to_string(),
        })
    }
}

/// The containers Compose runs for one service.
async fn compose_containers(engine: &Engine, s: &ComposeService) -> Result<Vec<String>> {
    Ok(engine
        .recreate_candidates()
        .await?
        .into_iter()
        .filter(|c| {
            c.labels.get("com.docker.compose.project") == Some(&s.project)
                && c.labels.get("com.docker.compose.service") == Some(&s.service)
                && c.labels.get("com.docker.compose.oneoff").is_none_or(|v| v != "True")
        })
        .map(|c| c.id)
        .collect())
}

/// `groups` (one per upgraded tag, `reference` says which) in the order
/// they are recreated: see [`recreate::tag_order`].
// Called from the upgrade loop in services/upgrade.rs, which this branch
// does not own: remove the allow when that call is in.
#[allow(dead_code)]
pub fn in_dependency_order<T>(
    groups: Vec<T>,
    reference: impl Fn(&T) -> String,
    plan: &recreate::Plan,
) -> Vec<T> {
    let references: Vec<String> = groups.iter().map(&reference).collect();
    let order = recreate::tag_order(&references, plan);
    let mut slots: Vec<Option<T>> = groups.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Recreates one group. The tag already points at `new_image`.
pub async fn recreate_group(
    engine: &Engine,
    journal: &Journal,
    compose: Option<&ComposeCli>,
    group: &Group,
    opts: &Options,
    info: &dyn Fn(&str),
) -> Outcome {
    let mut out = Outcome::default();
    let mut flights: Vec<Flight> = Vec::new();
    let mut failure: Option<(String, String)> = None;
    // Containers that join another of the group's namespace (`container:X`)
    // wait for X, Compose services for the services they depend on; the
    // others go side by side, a few at a time, each from
    // its stop straight to its own gate, so each one's downtime is its own.
    let podman = engine.is_podman().await;
    let mut waves: Vec<Vec<&Planned>> = vec![Vec::new()];
    for m in &group.members {
        let parent_in_wave = waves.last().is_some_and(|w| w.iter().any(|x| recreate::must_follow(m, x)));
        if parent_in_wave {
            waves.push(Vec::new());
        }
        waves.last_mut().expect("a wave").push(m);
    }
    for wave in waves {
        let earlier: Vec<(String, String, String)> = flights
            .iter()
            .filter_map(|f| Some((f.planned.id.clone(), f.planned.name.clone(), f.new_ids.first()?.clone())))
            .collect();
        let runs = futures_util::stream::iter(wave.into_iter().map(|planned| {
            let earlier = &earlier;
            async move {
                info(&format!("Recreating {} ({})…", planned.name, group.reference.familiar()));
                match start_one(engine, journal, compose, group, planned, opts, earlier).await {
                    Ok(mut f) => {
                        let verdict = gate_all(engine, &f.new_ids, f.checked, opts.wait, podman).await;
                        f.downtime = f.started.elapsed();
                        (Some(f), verdict.map_err(|why| format!("{}: {why}", planned.name)))
                    }
                    Err((f, e)) => (f, Err(format!("{}: {e}", planned.name))),
                }
            }
        }))
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>()
        .await;
        for (f, verdict) in runs {
            if let Err(why) = verdict {
                if failure.is_none() {
                    let culprit = why.split(": ").next().unwrap_or_default().to_string();
                    failure = Some((culprit, why));
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
    // Back in the group's order: a rollback restores parents first.
    flights.sort_by_key(|f| group.members.iter().position(|m| m.name == f.planned.name));
    match failure {
        None => {
            for f in &mut flights {
                f.entry.step = Step::Passed;
                journal_set(journal, &f.entry, &mut out.errors);
            }
            // Parked containers go last one first: podman refuses to remove
            // a container another one (a `container:` dependent) still
            // refers to.
            for f in flights.iter().rev() {
                if let Err(e) = finish(engine, journal, &f.entry, info).await {
                    out.errors.push(format!("{}: {e}", f.entry.name));
                }
            }
            for f in &flights {
                let downtime = f.downtime;
                out.recreated.push(Recreated {
                    name: f.planned.name.clone(),
                    id: f.new_ids.first().cloned().unwrap_or_default(),
                    previous_id: f.planned.id.clone(),
                    reference: group.reference.to_string(),
                    compose: f.entry.compose.clone(),
                    downtime,
                });
            }
        }
        Some((culprit, reason)) => {
            let logs = match flights.iter().find(|f| f.planned.name == culprit) {
                Some(f) => match f.new_ids.first() {
                    Some(id) => engine.log_tail(id, LOG_LINES).await,
                    None => Vec::new(),
                },
                None => Vec::new(),
            };
            // The tag first: Compose recreates from it.
            if let Err(e) = engine.tag(&group.old_image, &group.reference).await {
                out.errors.push(format!("{}: cannot point the tag back: {e}", group.reference.familiar()));
            }
            // New containers go first, last one first; then the old ones
            // come back in order, so a `container:` dependent finds its
            // parent running.
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
                out.rolled_back.push(RolledBack {
                    name: f.planned.name.clone(),
                    reference: group.reference.to_string(),
                    reason: reason.clone(),
                    logs: if f.planned.name == culprit { logs.clone() } else { Vec::new() },
                });
            }
            out.failure = Some(reason);
        }
    }
    out
}

fn journal_set(journal: &Journal, entry: &JournalEntry, errors: &mut Vec<String>) {
    if let Err(e) = journal.set(entry.clone()) {
        errors.push(format!("journal: {e}"));
    }
}

/// Stops, parks, creates and starts one container (or has Compose do it).
/// On an error, the flight so far (to be undone with the others).
async fn start_one(
    engine: &Engine,
    journal: &Journal,
    compose: Option<&ComposeCli>,
    group: &Group,
    planned: &Planned,
    opts: &Options,
    earlier: &[(String, String, String)],
) -> std::result::Result<Flight, (Option<Flight>, Error)> {
    let mut entry = JournalEntry {
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
    };
    let fail = |e: Error| (None, e);
    match &planned.how {
        How::Compose(service) => {
            let cli = compose.ok_or_else(|| {
                fail(Error::Daemon {
                    action: "recreate through compose".into(),
                    detail: "compose is not installed".into(),
                })
            })?;
            entry.compose = Some(service.clone());
            entry.step = Step::Creating;
            journal.set(entry.clone()).map_err(fail)?;
            let started = Instant::now();
            let mut flight = Flight {
                planned: planned.clone(),
                entry,
                started,
                new_ids: Vec::new(),
                checked: false,
                downtime: Duration::ZERO,
            };
            if let Err(e) = cli.up(service, opts.docker_host.as_deref()).await {
                return Err((Some(flight), e));
            }
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
        How::Container => {
            let old = engine.inspect_container_json(&planned.id).await.map_err(fail)?.ok_or_else(|| {
                fail(Error::Daemon {
                    action: format!("inspect {}", planned.name),
                    detail: "it is gone".into(),
                })
            })?;
            let old_image =
                engine.inspect_image_json(&group.old_image).await.map_err(fail)?.unwrap_or(Value::Null);
            let image = group.reference.familiar();
            // `container:X` where X was recreated just before: X's new one.
            let mode = old["HostConfig"]["NetworkMode"].as_str().unwrap_or_default();
            let parent = mode.strip_prefix("container:").and_then(|target| {
                earlier
                    .iter()
                    .find(|(id, name, _)| id == target || name == target)
                    .map(|(_, _, new)| new.as_str())
            });
            let body = creation(&old, &old_image, &image, parent, engine.is_podman().await);
            journal.set(entry.clone()).map_err(fail)?;
            let started = Instant::now();
            engine.stop_container(&planned.id, None).await.map_err(fail)?;
            entry.step = Step::Parking;
            journal.set(entry.clone()).map_err(fail)?;
            let mut flight = Flight {
                planned: planned.clone(),
                entry,
                started,
                new_ids: Vec::new(),
                checked: false,
                downtime: Duration::ZERO,
            };
            if let Err(e) = engine.rename_container(&planned.id, &parked_name(&planned.name)).await {
                return Err((Some(flight), e));
            }
            flight.entry.step = Step::Creating;
            if let Err(e) = journal.set(flight.entry.clone()) {
                return Err((Some(flight), e));
            }
            let id = match engine.create_container(&planned.name, &body).await {
                Ok(id) => id,
                Err(e) => return Err((Some(flight), e)),
            };
            flight.entry.new_id = Some(id.clone());
            flight.new_ids = vec![id.clone()];
            if let Err(e) = journal.set(flight.entry.clone()) {
                return Err((Some(flight), e));
            }
            if let Err(e) = engine.start_container(&id).await {
                return Err((Some(flight), e));
            }
            flight.entry.step = Step::Gating;
            let _ = journal.set(flight.entry.clone());
            let new = engine.inspect_container_json(&id).await.ok().flatten().unwrap_or(Value::Null);
            let new_image =
                engine.inspect_image_json(&group.new_image).await.ok().flatten().unwrap_or(Value::Null);
            flight.checked = has_healthcheck(&new, &new_image);
            Ok(flight)
        }
    }
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

/// Waits until every container passes, or one fails. On podman the gate
/// also runs the health checks when they are due (see [`HealthClock`]).
async fn gate_all(
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
        tokio::time::sleep(POLL).await;
    }
}

/// The new container passed: the parked one goes, dependents follow the new
/// one, the journal entry is done.
async fn finish(engine: &Engine, journal: &Journal, entry: &JournalEntry, info: &dyn Fn(&str)) -> Result<()> {
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
async fn undo(
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
async fn remove_new(engine: &Engine, entry: &JournalEntry) -> Result<()> {
    if let Some(new_id) = &entry.new_id {
        engine.stop_container(new_id, Some(10)).await?;
        engine.remove_container(new_id).await?;
    }
    Ok(())
}

async fn undo_container(engine: &Engine, entry: &JournalEntry) -> Result<()> {
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
        if entry.was_running {
            engine.start_container(&entry.old_id).await?;
        }
    }
    Ok(())
}

/// What [`repair`] did.
#[derive(Debug, Default)]
pub struct Repaired {
    /// One line per container, to print.
    pub lines: Vec<String>,
    /// Tags pointed back at their old image: (reference, old image, new image).
    pub undone: Vec<(String, String, String)>,
}

/// Puts right what a killed run left in the journal: finishes recreations
/// that passed, undoes the others (new containers removed, the old ones
/// back under their names and running, the tag on the old image).
pub async fn repair(engine: &Engine, dir: &Path, opts: &Options) -> Result<Repaired> {
    let journal = Journal::load(dir)?;
    let mut out = Repaired::default();
    if journal.is_empty() {
        return Ok(out);
    }
    let compose = ComposeCli::find(opts.docker_host.as_deref()).await;
    let entries = journal.entries();
    // New containers go first (last one first), then the old ones come back
    // in order, as in a rollback.
    for entry in entries.iter().rev() {
        if recreate::repair(entry) == Repair::Undo && entry.compose.is_none() {
            remove_new(engine, entry).await?;
        }
    }
    for entry in entries {
        match recreate::repair(&entry) {
            Repair::Finish => {
                finish(engine, &journal, &entry, &|_| {}).await?;
                out.lines.push(format!(
                    "{}: an interrupted upgrade was finished; it runs the new version of {}.",
                    entry.name, entry.reference
                ));
            }
            Repair::Undo => {
                if let Ok(reference) = Reference::parse(&entry.reference) {
                    let now = engine.image_id(&reference.to_string()).await.ok().flatten();
                    if now.as_deref() != Some(entry.old_image.as_str()) {
                        engine.tag(&entry.old_image, &reference).await?;
                        out.undone.push((
                            entry.reference.clone(),
                            entry.old_image.clone(),
                            entry.new_image.clone(),
                        ));
                    }
                }
                if let Some(service) = &entry.compose {
                    match &compose {
                        Some(cli) => cli.up(service, opts.docker_host.as_deref()).await?,
                        None => out.lines.push(format!(
                            "{}: an interrupted upgrade of compose project {}, service {} needs \
                             'docker compose up -d {}' in its directory.",
                            entry.name, service.project, service.service, service.service
                        )),
                    }
                } else {
                    undo_container(engine, &entry).await?;
                }
                journal.remove(&entry.name)?;
                out.lines.push(format!(
                    "{}: an upgrade was interrupted; it runs the previous version of {} again.",
                    entry.name, entry.reference
                ));
            }
        }
    }
    out.undone.sort();
    out.undone.dedup();
    Ok(out)
}

/// Finishes or undoes a container recreation that a killed run left (see
/// [`repair`]), before a command changes anything: the container of each
/// name exists and runs, on the old or the new version. Without a journal
/// this costs one `stat`. The state follows: a tag pointed back is
/// upgradable again (an interruption is no verdict on the new version), and
/// the new version is the one superseded.
pub async fn repair_interrupted(
    settings: &crate::settings::Settings,
    p: &crate::output::Printer,
) -> Result<()> {
    use crate::core::state::{State, Superseded};
    let dir = &settings.state_dir;
    if !Journal::exists(dir) {
        return Ok(());
    }
    let lock = crate::services::lock_state(dir, p)?;
    let engine = Engine::connect(settings.docker_host.as_deref()).await?;
    let opts = Options {
        // A repair gates nothing.
        wait: Duration::ZERO,
        docker_host: settings.docker_host.clone(),
    };
    let repaired = repair(&engine, dir, &opts).await?;
    for line in &repaired.lines {
        p.warn(line);
    }
    if repaired.undone.is_empty() {
        return Ok(());
    }
    let mut state = State::load(dir)?;
    let now = crate::output::now_rfc3339();
    for (reference, old, new) in &repaired.undone {
        let old_digest = state
            .superseded
            .iter()
            .find(|s| &s.reference == reference && &s.image_id == old)
            .and_then(|s| s.digest.clone());
        state.superseded.retain(|s| !(&s.reference == reference && &s.image_id == old));
        let mut new_digest = None;
        for e in state.entries.iter_mut().filter(|e| &e.reference == reference && &e.image_id == new) {
            e.status = crate::core::verdict::Status::Upgradable;
            e.image_id = old.clone();
            new_digest = e.local_digest.take();
            e.local_digest = old_digest.clone();
        }
        state.superseded.push(Superseded {
            image_id: new.clone(),
            reference: reference.clone(),
            digest: new_digest,
            replaced_at: now.clone(),
            replaced_by: old.clone(),
            tag_moved: false,
        });
    }
    state.save(dir, &lock)
}

/// Recreates the running containers of `from` (the image the tag leaves) on
/// `to`, the tag already pointing at `to`: `freshen rollback`'s second half.
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
    let upgraded = std::collections::BTreeMap::from([(from.to_string(), vec![reference.to_string()])]);
    let containers = engine.recreate_candidates().await?;
    let mut plan = recreate::plan(&containers, &upgraded, |r| {
        let r = Reference::parse(r).ok()?;
        settings.recreate_off(&r).map(|_| Skip::ConfigFalse)
    });
    skip_auto_remove(engine, &mut plan).await?;
    let compose = check_compose(&mut plan, settings.docker_host.as_deref()).await;
    let mut out = Outcome::default();
    for (name, _, why) in &plan.skipped {
        if why.is_failure() {
            out.errors.push(format!("{name}: not recreated: {why}"));
        }
    }
    if plan.recreate.is_empty() {
        return Ok(out);
    }
    let group = Group {
        reference: reference.clone(),
        old_image: from.to_string(),
        new_image: to.to_string(),
        members: plan.recreate,
    };
    let opts = Options { wait, docker_host: settings.docker_host.clone() };
    let journal = Journal::load(&settings.state_dir)?;
    let info = |text: &str| p.info(text);
    let mut o = recreate_group(engine, &journal, compose.as_ref(), &group, &opts, &info).await;
    o.errors.splice(0..0, out.errors);
    Ok(o)
}
