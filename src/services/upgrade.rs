//! `freshen upgrade`: pull exactly what the registry lists for each
//! upgradable tag (re-checked right before, pulled by digest, then tagged),
//! retire the versions it replaced when nothing needs them, and say which
//! containers still run an old version. A failed pull changes nothing; the
//! others go on and the exit status says so at the end. `freshen upgrade`
//! and `update --unattended` both run it.

mod progress;
mod recheck;
mod report;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use futures_util::StreamExt;

use crate::core::exit::ExitStatus;
use crate::core::hooks::{Decision as HookDecision, Hook, Phase, Place};
use crate::core::image::{PullAuth, Snapshot};
use crate::core::recreate::{self as recreate_core, Skip};
use crate::core::reference::Reference;
use crate::core::report::{self as rows_report, Selection};
use crate::core::retire::{Decision, OldVersion, Rules};
use crate::core::skips::Controls;
use crate::core::state::State;
use crate::core::upgrade::{self as plan, Planned};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::output::confirm;
use crate::output::upgrade_report::{self as report_json, ChangeReport};
use crate::output::{self, Printer};
use crate::registry::Registries;
use crate::services::hooks::{self as hooks_service, GroupHooks, HookRun};
use crate::services::interrupt;
use crate::services::recreate::{self, ComposeCli, Group};
use crate::services::retire as retire_service;
use crate::settings::Settings;
use crate::store::journal::Journal;
use crate::store::Lock;

use progress::{Bar, Progress};
use report::Recreation;

/// What to upgrade and how: `freshen upgrade`'s arguments, or what
/// `update --unattended` derives from its policy.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Patterns choosing the tags; none means every upgradable tag.
    pub patterns: Vec<String>,
    /// Go ahead without asking.
    pub yes: bool,
    /// Show the plan and change nothing.
    pub dry_run: bool,
    /// Previous versions to keep per tag, for rollback.
    pub keep: Option<usize>,
    /// Retire nothing.
    pub keep_previous: bool,
    /// Also move version tags to newer tags.
    pub tags: bool,
    /// Leave the containers of upgraded tags as they are.
    pub no_recreate: bool,
    /// The health gate for recreated containers.
    pub wait: Duration,
    /// Print the JSON report instead of text.
    pub json: bool,
    /// Upgrade only to this digest (the one a person approved through
    /// `freshen serve`): a tag the registry moved elsewhere is kept back.
    pub pin: Option<String>,
}

/// `freshen upgrade`, in the order apt would: decide the plan, show it,
/// ask, pull, recreate the containers, retire what was replaced, sum up.
pub async fn upgrade(settings: &Settings, args: &Request, p: &Printer) -> Result<ExitStatus> {
    let keep = settings.retire(args.keep, None, &[])?;
    let selection = Selection::new(&args.patterns, settings.exclude.clone())?;
    if !args.dry_run {
        recreate::repair_interrupted(settings, p).await?;
    }
    let mut run = Run::open(settings, args, p).await?;
    let plan = run.plan(&selection, keep).await?;
    run.show(&plan);
    if plan.planned.is_empty() || args.dry_run {
        run.report_plan(&plan);
        return Ok(ExitStatus::failed_if(run.failed > 0));
    }
    if !confirm(args.yes, "upgrade these images")? {
        run.say("Abort.");
        return Ok(ExitStatus::Failed);
    }
    // From here on a signal is acted on between steps: what is in flight is
    // finished or put back, then the run stops (see services::interrupt).
    let _critical = interrupt::guard();
    let pulled = run.pull(&plan).await?;
    let (upgraded, done) = run.recreate(&plan, pulled).await?;
    interrupt::checkpoint("retiring").await;
    let (after, retired) = run.retire(&plan, &upgraded).await?;
    run.finish(&plan, &upgraded, &done, &after, retired).await
}

/// What every step of one upgrade shares: the request, where to say
/// things, the engine and the registries, the state under its lock, the
/// report being written and how many things failed so far.
struct Run<'a> {
    settings: &'a Settings,
    args: &'a Request,
    p: &'a Printer,
    lock: Lock,
    state: State,
    /// The holds, the skipped versions and the minimum age (the one the
    /// last update applied, or --min-age): read once, for every decision.
    controls: Controls,
    registries: Registries,
    engine: Engine,
    out: ChangeReport,
    failed: usize,
    /// Tags a hook deferred, with the reason, for the notifications.
    deferred: Vec<(String, String)>,
}

/// The plan, decided before asking: the tags to pull, those kept back, the
/// containers to recreate and the versions it would retire or keep.
struct Plan {
    planned: Vec<Planned>,
    kept_back: Vec<(Reference, String)>,
    containers: recreate_core::Plan,
    compose: Option<ComposeCli>,
    to_retire: Vec<OldVersion>,
    kept: Vec<(OldVersion, String)>,
    /// The hooks of the containers to recreate, by tag and container.
    hooks: BTreeMap<String, BTreeMap<String, Vec<Hook>>>,
    /// When the plan was made: the time the state records for it.
    now: String,
    rules: Rules,
}

impl<'a> Run<'a> {
    /// Takes the state lock and connects to the engine and the registries.
    async fn open(settings: &'a Settings, args: &'a Request, p: &'a Printer) -> Result<Run<'a>> {
        let lock = crate::services::lock_state(&settings.state_dir, p)?;
        let state = State::load(&settings.state_dir)?;
        let controls = super::skip::controls(settings, settings.min_age_flag)?;
        let registries = Registries::new(settings.registry.clone()).map_err(Error::Registry)?;
        for w in registries.warnings() {
            p.warn(&w);
        }
        let engine = Engine::connect(settings.docker_host.as_deref()).await?;
        if p.verbose() {
            crate::services::say_engine(&engine, p).await;
        }
        let out = ChangeReport::new(args.dry_run);
        Ok(Run {
            settings,
            args,
            p,
            lock,
            state,
            controls,
            registries,
            engine,
            out,
            failed: 0,
            deferred: Vec::new(),
        })
    }

    /// With --format json the report is the only thing on stdout.
    fn say(&self, text: &str) {
        if !self.args.json {
            self.p.line(text)
        }
    }

    /// The plan: the selected upgradable tags not kept back, each re-checked
    /// with its registry now, the tag moves with --tags, the containers to
    /// recreate and what the upgrade would retire.
    async fn plan(&mut self, selection: &Selection, keep: crate::settings::RetireSettings) -> Result<Plan> {
        let host = self.engine.snapshot().await?;
        super::every_pattern_matches(&self.args.patterns, &host.images, &[])?;
        let (mut planned, mut kept_back) = self.choose(&host, selection).await;
        let upgraded = plan::upgraded_images(&planned);
        let (mut containers, mut compose) =
            recreation_plan(self.settings, self.args, &self.engine, &upgraded).await?;
        // A tag whose containers cannot be recreated from here (Compose over
        // ssh) is refused whole, before its pull: the plan is made again
        // without it.
        let refused: Vec<(String, String, String)> = containers
            .skipped
            .iter()
            .filter(|(_, _, why)| matches!(why, Skip::Remote(_)))
            .map(|(name, reference, why)| (name.clone(), reference.clone(), why.to_string()))
            .collect();
        if !refused.is_empty() {
            planned.retain(|pl| {
                let reference = pl.reference.to_string();
                let Some((_, _, why)) = refused.iter().find(|(_, r, _)| *r == reference) else {
                    return true;
                };
                let names: Vec<&str> =
                    refused.iter().filter(|(_, r, _)| *r == reference).map(|(n, _, _)| n.as_str()).collect();
                self.failed += 1;
                self.p.warn(&format!("{reference}: not upgraded: {} runs it: {why}", names.join(", ")));
                kept_back.push((pl.reference.clone(), why.clone()));
                false
            });
            let upgraded = plan::upgraded_images(&planned);
            (containers, compose) =
                recreation_plan(self.settings, self.args, &self.engine, &upgraded).await?;
        }
        let hooks = self.hooks(&mut planned, &mut kept_back, &mut containers).await;
        let now = output::now_rfc3339();
        let rules =
            Rules { keep: keep.keep, keep_from: keep.keep_from, older_than: None, now: output::now_unix() };
        let (to_retire, kept) = if self.args.keep_previous {
            (Vec::new(), Vec::new())
        } else {
            let holds = &self.controls.holds;
            plan::retirement_split(&self.state, &host, &planned, &containers, holds, &rules, &now)
        };
        for (name, _, why) in &containers.skipped {
            if why.is_failure() {
                self.failed += 1;
                self.p.warn(&format!("{name}: not recreated: {why}"));
            }
        }
        Ok(Plan { planned, kept_back, containers, compose, to_retire, kept, hooks, now, rules })
    }

    /// The hooks of the containers each planned tag recreates (see
    /// `services::hooks::for_group`). A tag whose hook labels are wrong is
    /// kept back, with what to fix.
    async fn hooks(
        &mut self,
        planned: &mut Vec<Planned>,
        kept_back: &mut Vec<(Reference, String)>,
        containers: &mut recreate_core::Plan,
    ) -> BTreeMap<String, BTreeMap<String, Vec<Hook>>> {
        let mut out = BTreeMap::new();
        let mut bad = Vec::new();
        for pl in planned.iter() {
            let key = pl.reference.to_string();
            let members: Vec<_> =
                containers.recreate.iter().filter(|c| c.reference == key).cloned().collect();
            if members.is_empty() || pl.to.is_some() {
                continue;
            }
            match hooks_service::for_group(&self.engine, self.settings, &pl.reference, &members).await {
                Ok(found) if found.is_empty() => {}
                Ok(found) => {
                    out.insert(key, found);
                }
                Err(e) => bad.push((key, e)),
            }
        }
        for (key, e) in bad {
            planned.retain(|pl| pl.reference.to_string() != key);
            containers.recreate.retain(|c| c.reference != key);
            if let Ok(r) = Reference::parse(&key) {
                kept_back.push((r, format!("its hooks cannot be read: {e}")));
            }
        }
        out
    }

    /// The tags to pull: upgradable rows not held, skipped or in their
    /// cooldown, whose registry still lists a new digest now (and is not
    /// back at a skipped one), and with --tags the moves to newer tags.
    async fn choose(
        &mut self,
        host: &Snapshot,
        selection: &Selection,
    ) -> (Vec<Planned>, Vec<(Reference, String)>) {
        let mut rows = rows_report::rows(&self.state, &host.images, &host.containers, selection);
        // The versions `list` shows (labels, cached listings), so the plan
        // names `7.2.4 => 7.3.0` rather than two image IDs where they are known.
        let cache = crate::core::tagcache::TagCache::load(&self.settings.state_dir);
        rows_report::annotate(&mut rows, &host.images, &cache, |r| self.settings.image_policy(r));
        // Skipped versions and images younger than their minimum age stay
        // back, with the reason.
        rows_report::mark_controls(&mut rows, &self.state, &self.controls);
        let (wanted, mut kept_back) = plan::split_held(&rows, &self.controls.holds, self.controls.now);
        if self.state.updated_at.is_none() {
            self.p.warn("freshen has not checked the registries yet: run 'freshen update' first");
        }
        // Re-check right before pulling: the digest pulled is the one checked now.
        let (mut planned, failed) = recheck::recheck(
            &wanted,
            host,
            &self.state,
            &self.registries,
            &self.engine,
            self.p,
            &mut self.out,
        )
        .await;
        self.failed += failed;
        if let Some(pin) = &self.args.pin {
            planned.retain(|pl| {
                let same = &pl.digest == pin;
                if !same {
                    kept_back
                        .push((pl.reference.clone(), "the registry moved it since it was approved".into()));
                }
                same
            });
        }
        // A registry that went back to a version skipped (or rolled back)
        // before.
        planned.retain(|pl| {
            let skip =
                self.controls.skips.covering(&pl.reference.to_string(), Some(pl.digest.as_str()), None);
            if let Some(s) = skip {
                kept_back.push((pl.reference.clone(), plan::skip_reason(s)));
            }
            skip.is_none()
        });
        if self.args.tags {
            let (failed, held) = recheck::tag_moves(
                self.settings,
                &self.state,
                &rows,
                &self.controls,
                &self.registries,
                &mut planned,
                self.p,
            )
            .await;
            self.failed += failed;
            kept_back.extend(held);
        }
        (planned, kept_back)
    }

    /// The plan as apt shows it, and what it keeps back or leaves as it is
    /// in the report.
    fn show(&mut self, plan: &Plan) {
        let lines = plan::plan_lines(
            &plan.planned,
            &plan.kept_back,
            &plan.containers,
            &plan.to_retire,
            &plan.kept,
            self.failed,
        );
        for line in lines {
            self.say(&line);
        }
        if !plan.hooks.is_empty() {
            self.say("These hooks will run:");
            for (reference, per) in &plan.hooks {
                for (name, hs) in per {
                    for h in hs {
                        let place = match h.place {
                            Place::Container => "in the container",
                            Place::Host => "on the host",
                        };
                        self.say(&format!(
                            "  {name} ({}): {} ({}, {place}, timeout {}s): {}",
                            Reference::parse(reference).map_or_else(|_| reference.clone(), |r| r.familiar()),
                            h.phase.word(),
                            h.source,
                            h.timeout.as_secs(),
                            h.command
                        ));
                    }
                }
            }
        }
        for (r, why) in &plan.kept_back {
            self.out
                .kept_back
                .push(report_json::KeptBack { reference: r.to_string(), reason: why.to_string() });
        }
        for (name, reference, why) in &plan.containers.skipped {
            self.out.not_recreated.push(report_json::NotRecreated {
                name: name.clone(),
                reference: reference.clone(),
                reason: why.to_string(),
            });
        }
    }

    /// A dry run's (or an empty plan's) report: what the upgrade would do.
    fn report_plan(&mut self, plan: &Plan) {
        if !self.args.json {
            return;
        }
        let out = &mut self.out;
        out.upgraded.extend(plan.planned.iter().map(|pl| report::upgraded_json(pl, None)));
        out.recreated.extend(plan.containers.recreate.iter().map(report::planned_json));
        out.retired.extend(
            plan.to_retire
                .iter()
                .map(|c| report_json::Retired { image_id: c.image_id.clone(), name: c.name.clone() }),
        );
        for (reference, per) in &plan.hooks {
            for (name, hs) in per {
                out.hooks.extend(hs.iter().map(|h| hooks_service::planned_json(name, reference, h)));
            }
        }
        out.print();
    }

    /// Pulls each planned digest and tags it, recording each one in the
    /// state as it lands; a failed pull changes nothing. The tags pulled,
    /// with their new image ids.
    async fn pull<'p>(&mut self, plan: &'p Plan) -> Result<Vec<(&'p Planned, String)>> {
        let progress = Progress::new(self.p);
        let mut pulled = Vec::new();
        for pl in &plan.planned {
            let name = pl.target().familiar();
            if interrupt::requested().is_some() {
                self.not_upgraded(pl, &format!("{name}: not upgraded"), &"interrupted before its pull");
                continue;
            }
            let auth = match self.registries.pull_auth(&pl.reference.registry).await {
                Ok(a) => a,
                Err(e) => {
                    self.not_upgraded(pl, &format!("{name}: not upgraded, cannot read the credentials"), &e);
                    continue;
                }
            };
            let mut bar = progress.start(&name, &pl.digest);
            match pull_and_tag(&self.engine, pl, auth, &mut bar).await {
                Ok(None) => {
                    bar.finish(false);
                    self.not_upgraded(
                        pl,
                        &format!("{name}: not upgraded, it stays as it was"),
                        &"interrupted",
                    );
                }
                Ok(Some(new_id)) => {
                    bar.finish(true);
                    plan::merge_upgrade(&mut self.state, pl, &new_id, &plan.now);
                    self.state.save(&self.settings.state_dir, &self.lock)?;
                    pulled.push((pl, new_id));
                    interrupt::checkpoint("pulled").await;
                }
                Err(e) => {
                    bar.finish(false);
                    self.not_upgraded(pl, &format!("{name}: not upgraded, it stays as it was"), &e);
                }
            }
        }
        progress.done();
        Ok(pulled)
    }

    /// One tag could not be pulled: a warning, a failure in the report.
    fn not_upgraded(&mut self, pl: &Planned, what: &str, e: &dyn std::fmt::Display) {
        self.failed += 1;
        self.p.warn(&format!("{what}: {e}"));
        self.out
            .failed
            .push(report_json::Failed { reference: pl.reference.to_string(), error: e.to_string() });
    }

    /// Recreates the containers of each pulled tag; a tag whose containers
    /// fail the gate goes back, containers and tag, and is kept back as a
    /// skip until the registry's tag moves on (or `unskip`). The tags that
    /// stay upgraded, and what the recreations did.
    async fn recreate<'p>(
        &mut self,
        plan: &'p Plan,
        pulled: Vec<(&'p Planned, String)>,
    ) -> Result<(Vec<(&'p Planned, String)>, Recreation)> {
        let mut done = Recreation::default();
        if plan.containers.recreate.is_empty() {
            return Ok((pulled, done));
        }
        let dir = &self.settings.state_dir;
        let opts = recreate::Options { wait: self.args.wait, docker_host: self.settings.docker_host.clone() };
        let journal = Journal::load(dir)?;
        let mut kept = Vec::new();
        // Tags go side by side, a few at a time; a tag whose containers
        // others depend on (Compose depends_on, container: networks) in an
        // earlier wave. Each tag's own gate waits at the same time as the
        // others', so ten services take one --wait, not ten.
        let waves =
            recreate::in_dependency_waves(pulled, |(pl, _)| pl.reference.to_string(), &plan.containers);
        for wave in waves {
            let mut groups = Vec::new();
            for (pl, new_id) in wave {
                let members: Vec<_> = plan
                    .containers
                    .recreate
                    .iter()
                    .filter(|c| c.reference == pl.reference.to_string())
                    .cloned()
                    .collect();
                if members.is_empty() || pl.to.is_some() {
                    kept.push((pl, new_id));
                    continue;
                }
                if interrupt::requested().is_some() {
                    // Pulled, but its containers were never touched: the
                    // tag goes back to what they run.
                    self.put_back(pl, &new_id, &output::now_rfc3339()).await;
                    continue;
                }
                let hooks = GroupHooks {
                    per_container: plan.hooks.get(&pl.reference.to_string()).cloned().unwrap_or_default(),
                    context: hooks_service::context(
                        &pl.reference,
                        &pl.old_id,
                        &new_id,
                        (pl.old_digest.clone(), Some(pl.digest.clone())),
                        pl.versions.clone(),
                        &members,
                    ),
                    dir: hooks_service::version_dir(dir, &pl.old_id),
                    rollback: false,
                };
                let group = Group {
                    reference: pl.reference.clone(),
                    old_image: pl.old_id.clone(),
                    new_image: new_id.clone(),
                    members,
                    hooks,
                };
                // Before anything stops: the pre-upgrade hooks, in the old
                // containers. One that defers or fails leaves the tag as
                // it was.
                let info = |text: &str| self.p.info(text);
                let (runs, held) = recreate::pre_upgrade(&self.engine, &journal, &group, &info).await;
                self.hook_runs(&runs);
                if let Some((decision, why)) = held {
                    self.hold_back(pl, &new_id, decision, &why).await;
                    continue;
                }
                if interrupt::requested().is_some() && group.hooks.has(Phase::PreUpgrade) {
                    for m in &group.members {
                        let _ = journal.remove(&m.name);
                    }
                    self.put_back(pl, &new_id, &output::now_rfc3339()).await;
                    continue;
                }
                groups.push((pl, new_id, group));
            }
            let (engine, p, journal, opts) = (&self.engine, self.p, &journal, &opts);
            let compose = plan.compose.as_ref();
            let outcomes: Vec<recreate::Outcome> =
                futures_util::stream::iter(groups.iter().map(|(_, _, group)| async move {
                    let info = |text: &str| p.info(text);
                    recreate::recreate_group(engine, journal, compose, group, opts, &info).await
                }))
                .buffered(recreate::TAGS_AT_ONCE)
                .collect()
                .await;
            for ((pl, new_id, _), o) in groups.into_iter().zip(outcomes) {
                self.hook_runs(&o.hooks);
                if o.interrupted {
                    done.absorb_interrupted(pl, &o, &mut self.out, self.p);
                    plan::merge_interrupted(&mut self.state, pl, &new_id, &output::now_rfc3339());
                    continue;
                }
                match done.absorb(pl, &o, &mut self.out, self.p) {
                    None => kept.push((pl, new_id)),
                    Some(reason) => {
                        let why = crate::core::skips::rolled_back_reason(&reason);
                        super::skip::record_skip(
                            dir,
                            &self.lock,
                            &pl.reference.to_string(),
                            &pl.digest,
                            &why,
                        )?;
                        plan::merge_rollback(&mut self.state, pl, &new_id, &output::now_rfc3339(), &why);
                    }
                }
            }
            self.state.save(dir, &self.lock)?;
        }
        self.failed += done.errors;
        Ok((kept, done))
    }

    /// Hooks that ran: their last lines shown, and each in the report.
    fn hook_runs(&mut self, runs: &[HookRun]) {
        for r in runs {
            if r.decision == HookDecision::GoOn {
                self.p.info(&r.summary());
            } else {
                self.p.warn(&r.summary());
            }
            for line in &r.output {
                self.p.info(&format!("  {}| {line}", r.container));
            }
            self.out.hooks.push(r.json());
        }
    }

    /// A pre-upgrade hook deferred (75) or failed: the tag points at the
    /// image its containers run again, nothing else changed, and the state
    /// says it is upgradable as before (no skip: the next upgrade tries
    /// again).
    async fn hold_back(&mut self, pl: &Planned, new_id: &str, decision: HookDecision, why: &str) {
        let name = pl.reference.familiar();
        if let Err(e) = self.engine.tag(&pl.old_id, &pl.reference).await {
            self.not_upgraded(
                pl,
                &format!("{name}: held by a hook, and the tag could not be pointed back"),
                &e,
            );
            return;
        }
        let now = output::now_rfc3339();
        if decision == HookDecision::Defer {
            let reason = format!("{} ({why})", crate::core::hooks::DEFERRED);
            self.say(&format!("{name}: {reason}; it stays as it was and the next upgrade tries again."));
            self.out
                .deferred
                .push(report_json::Deferred { reference: pl.reference.to_string(), reason: reason.clone() });
            self.deferred.push((pl.reference.to_string(), reason.clone()));
            plan::merge_rollback(&mut self.state, pl, new_id, &now, &reason);
        } else {
            let reason = format!("stopped by a hook ({why}); it stays as it was");
            self.not_upgraded(pl, &format!("{name}: not upgraded"), &reason);
            plan::merge_rollback(&mut self.state, pl, new_id, &now, &reason);
        }
    }

    /// A pulled tag whose containers a signal kept from being recreated:
    /// the tag points at the image they run again, and the state says the
    /// tag is upgradable as before.
    async fn put_back(&mut self, pl: &Planned, new_id: &str, now: &str) {
        let name = pl.reference.familiar();
        let what = "interrupted before its containers were recreated; the tag stays on the previous version";
        if let Err(e) = self.engine.tag(&pl.old_id, &pl.reference).await {
            self.not_upgraded(pl, &format!("{name}: interrupted, and the tag could not be pointed back"), &e);
            return;
        }
        self.not_upgraded(pl, &format!("{name}: not upgraded"), &what);
        plan::merge_interrupted(&mut self.state, pl, new_id, now);
    }

    /// Retires what the successful upgrades replaced, when nothing needs
    /// it. The engine's snapshot afterwards, and how many were retired.
    /// After a signal nothing is retired: the run winds down, and the next
    /// `autoremove` or upgrade retires what is left.
    async fn retire(&mut self, plan: &Plan, upgraded: &[(&Planned, String)]) -> Result<(Snapshot, usize)> {
        let mut after = self.engine.snapshot().await?;
        let groups: HashSet<String> = upgraded.iter().map(|(pl, _)| pl.reference.to_string()).collect();
        if self.args.keep_previous || groups.is_empty() || interrupt::requested().is_some() {
            return Ok((after, 0));
        }
        let (holds, rules) = (&self.controls.holds, &plan.rules);
        let mut decided = plan::retire_plan(&self.state, &after.images, &after, holds, rules, &groups);
        let parents_recorded = self.engine.model().await.is_ok_and(|m| m.records_parents());
        if !parents_recorded && decided.iter().any(|(_, v)| *v == Decision::Retire) {
            // Engines without parents: a child shows in the layers.
            let layers = retire_service::all_layers(&self.engine, &after).await?;
            retire_service::find_layer_parents(&self.engine, &mut after, &layers).await?;
            if !after.layer_parents.is_empty() {
                decided = plan::retire_plan(&self.state, &after.images, &after, holds, rules, &groups);
            }
        }
        let go: Vec<&OldVersion> =
            decided.iter().filter(|(_, v)| *v == Decision::Retire).map(|(c, _)| c).collect();
        let removed = retire_service::remove_all(&self.engine, &go, self.p).await?;
        report::report_retired(&mut self.out, &go, &decided, &removed);
        let now_host = self.engine.snapshot().await?;
        retire_service::forget_gone(&mut self.state, &now_host);
        retire_service::forget_hook_dirs(&self.settings.state_dir, &now_host);
        self.state.save(&self.settings.state_dir, &self.lock)?;
        Ok((after, removed.removed.len()))
    }

    /// Lets the state go, says which containers still run a replaced
    /// version, sums up (or prints the report) and announces the rollbacks.
    async fn finish(
        self,
        plan: &Plan,
        upgraded: &[(&Planned, String)],
        done: &Recreation,
        after: &Snapshot,
        retired: usize,
    ) -> Result<ExitStatus> {
        let results = super::outcomes::UpgradeResults::new(
            upgraded.iter().map(|(pl, _)| &pl.reference),
            &self.out.failed,
            &done.rolled_back,
            &plan.kept_back,
            &self.out.deferred,
        );
        super::outcomes::record_upgrade(&self.settings.state_dir, &self.lock, results, &self.state, self.p);
        drop(self.lock);
        let mut old_ids: HashMap<&str, Vec<String>> = HashMap::new();
        for (pl, _) in upgraded {
            old_ids.entry(pl.old_id.as_str()).or_default().push(pl.reference.to_string());
        }
        if !self.args.json {
            // A container created from an image ID runs that image, not the
            // tag: the plan already said so, and recreating it is not advice.
            let by_id: Vec<&str> = plan
                .containers
                .skipped
                .iter()
                .filter(|(_, _, why)| matches!(why, Skip::ImageId))
                .map(|(name, _, _)| name.as_str())
                .collect();
            let moved: HashMap<String, String> = upgraded
                .iter()
                .filter_map(|(pl, _)| Some((pl.reference.to_string(), pl.to.as_ref()?.0.familiar())))
                .collect();
            report::still_running(self.p, after, &old_ids, &moved, &by_id);
        }
        let summary = plan::Summary {
            upgraded: upgraded.len(),
            recreated: (!plan.containers.recreate.is_empty()).then_some(done.recreated),
            retired,
            kept_back: plan.kept_back.len(),
            rolled_back: done.rolled_back.len(),
            failed: self.failed,
        };
        if !self.args.json {
            self.p.line(&summary.line());
        }
        if interrupt::requested().is_some() {
            report::container_states(self.p, &self.engine, plan, after).await;
        }
        let mut out = self.out;
        if self.args.json {
            out.upgraded.extend(upgraded.iter().map(|(pl, id)| report::upgraded_json(pl, Some(id))));
            out.print();
        }
        crate::services::announce::rollbacks(self.settings, &done.rolled_back, self.p).await;
        crate::services::announce::deferrals(self.settings, &self.deferred, self.p).await;
        Ok(ExitStatus::failed_if(self.failed > 0 || !done.rolled_back.is_empty()))
    }
}

/// Which containers to recreate, and the Compose command if any needs it.
async fn recreation_plan(
    settings: &Settings,
    args: &Request,
    engine: &Engine,
    upgraded: &BTreeMap<String, Vec<String>>,
) -> Result<(recreate_core::Plan, Option<ComposeCli>)> {
    if upgraded.is_empty() {
        return Ok((recreate_core::Plan::default(), None));
    }
    let candidates = engine.recreate_candidates().await?;
    let mut containers = recreate_core::plan(&candidates, upgraded, |reference| {
        if args.no_recreate {
            return Some(Skip::NoRecreate);
        }
        let r = Reference::parse(reference).ok()?;
        settings.recreate_off(&r).map(|_| Skip::ConfigFalse)
    });
    recreate::skip_auto_remove(engine, &mut containers).await?;
    let compose = recreate::check_compose(&mut containers, settings.docker_host.as_deref()).await;
    Ok((containers, compose))
}

/// Pulls the planned digest and tags it; the new image's id, or None when a
/// signal cut the pull short (the engine drops a pull its client left;
/// nothing was tagged). The tag itself is one call, never cut.
async fn pull_and_tag(
    engine: &Engine,
    pl: &Planned,
    auth: Option<PullAuth>,
    bar: &mut Bar,
) -> Result<Option<String>> {
    let source = format!("{}@{}", pl.target().name(), pl.digest);
    tokio::select! {
        biased;
        () = interrupt::wait() => return Ok(None),
        pulled = engine.pull(&source, auth, |ev| bar.event(&ev)) => pulled?,
    }
    match engine.image_id(&source).await? {
        Some(id) => engine.tag(&id, pl.target()).await.map(|()| Some(id)),
        None => Err(Error::Daemon {
            action: format!("pull {source}"),
            detail: "the image is not there after the pull".into(),
        }),
    }
}
