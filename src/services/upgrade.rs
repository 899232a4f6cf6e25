//! `freshen upgrade`: pull exactly what the registry lists for each
//! upgradable tag (re-checked right before, pulled by digest, then tagged),
//! retire the versions it replaced when nothing needs them, and say which
//! containers still run an old version. A failed pull changes nothing; the
//! others go on and the exit status says so at the end. `freshen upgrade`
//! and `update --unattended` both run it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::core::exit::ExitStatus;
use crate::core::holds::Holds;
use crate::core::image::{LocalImage, PullAuth, Snapshot};
use crate::core::recreate::{self as recreate_core, How, Skip};
use crate::core::reference::{short_digest, Reference};
use crate::core::report::{self, LocalTag, Row, Selection};
use crate::core::retire::{Decision, OldVersion, Rules};
use crate::core::state::State;
use crate::core::tagcache::TagCache;
use crate::core::upgrade::{self as plan, Planned};
use crate::core::verdict::Status;
use crate::core::versions;
use crate::engine::{Engine, PullEvent};
use crate::error::{Error, Result};
use crate::output::confirm;
use crate::output::upgrade_report::{self as report_json, ChangeReport};
use crate::output::{self, Printer};
use crate::registry::Registries;
use crate::services::check;
use crate::services::recreate::{self, ComposeCli, Group};
use crate::services::retire as retire_service;
use crate::settings::Settings;
use crate::store::journal::Journal;

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
}

pub async fn upgrade(settings: &Settings, args: &Request, p: &Printer) -> Result<ExitStatus> {
    let rules_cfg = settings.retire(args.keep, None, &[])?;
    let selection = Selection::new(&args.patterns, settings.exclude.clone())?;
    let dir = &settings.state_dir;
    if !args.dry_run {
        recreate::repair_interrupted(settings, p).await?;
    }
    let lock = crate::services::lock_state(dir, p)?;
    let mut state = State::load(dir)?;
    // The holds, the skipped versions and the minimum age (the one the last
    // update applied, or --min-age): read once, for every decision below.
    let controls = super::skip::controls(settings, settings.min_age_flag)?;
    let holds = &controls.holds;
    let registries = Registries::new(settings.registry.clone()).map_err(Error::Registry)?;
    for w in registries.warnings() {
        p.warn(&w);
    }
    // With --format json the report is the only thing on stdout.
    let say = |text: &str| {
        if !args.json {
            p.line(text)
        }
    };
    let mut out = ChangeReport::new(args.dry_run);
    let engine = Engine::connect(settings.docker_host.as_deref()).await?;
    if p.verbose() {
        crate::services::say_engine(&engine, p).await;
    }
    let host = engine.snapshot().await?;
    let mut rows = report::rows(&state, &host.images, &host.containers, &selection);
    // Skipped versions and images younger than their minimum age stay
    // back, with the reason.
    report::mark_controls(&mut rows, &state, &controls);
    let (wanted, mut kept_back) = plan::split_held(&rows, holds, controls.now);
    if state.updated_at.is_none() {
        p.warn("freshen has not checked the registries yet: run 'freshen update' first");
    }
    if rows.is_empty() && !args.patterns.is_empty() {
        p.warn(&format!("no local tag matches {}", args.patterns.join(" ")));
    }

    // Re-check right before pulling: the digest pulled is the one checked now.
    let (mut plan, mut failed) = recheck(&wanted, &host, &state, &registries, &engine, p, &mut out).await;
    // A registry that went back to a version skipped (or rolled back)
    // before.
    plan.retain(|pl| {
        let skip = controls.skips.covering(&pl.reference.to_string(), Some(pl.digest.as_str()), None);
        if let Some(s) = skip {
            kept_back.push((pl.reference.clone(), plan::skip_reason(s)));
        }
        skip.is_none()
    });

    if args.tags {
        let moves = TagMoves { controls: &controls, kept_back: &mut kept_back };
        failed += plan_tag_moves(settings, &state, &rows, holds, &registries, &mut plan, moves, p).await;
    }

    // The containers that run what is upgraded (not tag moves: their
    // containers keep the old tag).
    // An image may carry several upgraded tags: each container stays on its own.
    let mut upgraded_ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pl in plan.iter().filter(|pl| pl.to.is_none()) {
        upgraded_ids.entry(pl.old_id.clone()).or_default().push(pl.reference.to_string());
    }
    let (containers, compose) = recreation_plan(settings, args, &engine, &upgraded_ids).await?;

    // The versions this would retire, as if the tags had already moved and
    // the recreated containers ran the new version.
    let now = output::now_rfc3339();
    let rules = Rules { keep: rules_cfg.keep, older_than: None, now: output::now_unix() };
    let (to_retire, kept): (Vec<OldVersion>, Vec<(OldVersion, String)>) = if args.keep_previous {
        (Vec::new(), Vec::new())
    } else {
        let mut host_after = host.clone();
        for c in host_after.containers.iter_mut() {
            if containers.recreate.iter().any(|r| r.name == c.name) {
                c.image_id = "(new)".into();
            }
        }
        let mut go = Vec::new();
        let mut stay = Vec::new();
        for (c, d) in plan::retirement_preview_all(&state, &host_after, &plan, holds, &rules, &now) {
            match d {
                Decision::Retire => go.push(c),
                Decision::Keep(why) => stay.push((c, why)),
            }
        }
        (go, stay)
    };
    for (name, _, why) in &containers.skipped {
        if why.is_failure() {
            failed += 1;
            p.warn(&format!("{name}: not recreated: {why}"));
        }
    }
    for line in plan::plan_lines(&plan, &kept_back, &containers, &to_retire, &kept, failed) {
        say(&line);
    }
    for (r, why) in &kept_back {
        out.kept_back.push(report_json::KeptBack { reference: r.to_string(), reason: why.to_string() });
    }
    for (name, reference, why) in &containers.skipped {
        out.not_recreated.push(report_json::NotRecreated {
            name: name.clone(),
            reference: reference.clone(),
            reason: why.to_string(),
        });
    }
    if plan.is_empty() || args.dry_run {
        if args.json {
            out.upgraded.extend(plan.iter().map(|pl| upgraded_json(pl, None)));
            out.recreated.extend(containers.recreate.iter().map(planned_json));
            out.retired.extend(
                to_retire
                    .iter()
                    .map(|c| report_json::Retired { image_id: c.image_id.clone(), name: c.name.clone() }),
            );
            out.print();
        }
        return Ok(ExitStatus::failed_if(failed > 0));
    }
    if !confirm(args.yes, "upgrade these images")? {
        say("Abort.");
        return Ok(ExitStatus::Failed);
    }

    let progress = Progress::new(p);
    let mut upgraded: Vec<(&Planned, String)> = Vec::new();
    for pl in &plan {
        let name = pl.target().familiar();
        let auth = match registries.pull_auth(&pl.reference.registry).await {
            Ok(a) => a,
            Err(e) => {
                failed += 1;
                p.warn(&format!("{name}: not upgraded, cannot read the credentials: {e}"));
                out.failed
                    .push(report_json::Failed { reference: pl.reference.to_string(), error: e.to_string() });
                continue;
            }
        };
        let mut bar = progress.start(&name, &pl.digest);
        let result = pull_and_tag(&engine, pl, auth, &mut bar).await;
        match result {
            Ok(new_id) => {
                bar.finish(true);
                plan::merge_upgrade(&mut state, pl, &new_id, &now);
                state.save(dir, &lock)?;
                upgraded.push((pl, new_id));
            }
            Err(e) => {
                bar.finish(false);
                failed += 1;
                p.warn(&format!("{name}: not upgraded, it stays as it was: {e}"));
                out.failed
                    .push(report_json::Failed { reference: pl.reference.to_string(), error: e.to_string() });
            }
        }
    }

    progress.done();

    // Recreate the containers of each upgraded tag; a tag whose containers
    // fail the gate goes back, containers and tag.
    let mut done = Recreation::default();
    if !containers.recreate.is_empty() {
        let opts = recreate::Options { wait: args.wait, docker_host: settings.docker_host.clone() };
        let journal = Journal::load(dir)?;
        let mut kept = Vec::new();
        for (pl, new_id) in upgraded {
            let members: Vec<_> = containers
                .recreate
                .iter()
                .filter(|c| c.reference == pl.reference.to_string())
                .cloned()
                .collect();
            if members.is_empty() || pl.to.is_some() {
                kept.push((pl, new_id));
                continue;
            }
            let group = Group {
                reference: pl.reference.clone(),
                old_image: pl.old_id.clone(),
                new_image: new_id.clone(),
                members,
            };
            let info = |text: &str| p.info(text);
            let o = recreate::recreate_group(&engine, &journal, compose.as_ref(), &group, &opts, &info).await;
            match done.absorb(pl, &o, &mut out, p) {
                None => kept.push((pl, new_id)),
                Some(reason) => {
                    // Kept back as a skip until the registry's tag moves
                    // on (or `unskip`).
                    let why = crate::core::skips::rolled_back_reason(&reason);
                    super::skip::record_skip(dir, &lock, &pl.reference.to_string(), &pl.digest, &why)?;
                    plan::merge_rollback(&mut state, pl, &new_id, &now);
                }
            }
            state.save(dir, &lock)?;
        }
        upgraded = kept;
        failed += done.errors;
    }

    // Retire what the successful upgrades replaced.
    let mut after = engine.snapshot().await?;
    let groups: HashSet<String> = upgraded.iter().map(|(pl, _)| pl.reference.to_string()).collect();
    let mut retired = 0;
    if !args.keep_previous && !groups.is_empty() {
        let mut decided = plan::retire_plan(&state, &after.images, &after, holds, &rules, &groups);
        let parents_recorded = engine.model().await.is_ok_and(|m| m.records_parents());
        if !parents_recorded && decided.iter().any(|(_, v)| *v == Decision::Retire) {
            // Engines without parents: a child shows in the layers.
            let layers = retire_service::all_layers(&engine, &after).await?;
            retire_service::find_layer_parents(&engine, &mut after, &layers).await?;
            if !after.layer_parents.is_empty() {
                decided = plan::retire_plan(&state, &after.images, &after, holds, &rules, &groups);
            }
        }
        let go: Vec<&OldVersion> =
            decided.iter().filter(|(_, v)| *v == Decision::Retire).map(|(c, _)| c).collect();
        let removed = retire_service::remove_all(&engine, &go, p).await?;
        retired = removed.removed.len();
        report_retired(&mut out, &go, &decided, &removed);
        let now_host = engine.snapshot().await?;
        retire_service::forget_gone(&mut state, &now_host);
        state.save(dir, &lock)?;
    }
    drop(lock);

    let mut old_ids: HashMap<&str, Vec<String>> = HashMap::new();
    for (pl, _) in &upgraded {
        old_ids.entry(pl.old_id.as_str()).or_default().push(pl.reference.to_string());
    }
    if !args.json {
        still_running(p, &after, &old_ids);
    }
    say(&format!(
        "{} upgraded, {}{} retired, {} kept back{}{}.",
        upgraded.len(),
        if containers.recreate.is_empty() {
            String::new()
        } else {
            format!("{} recreated, ", done.recreated)
        },
        retired,
        kept_back.len(),
        if done.rolled_back.is_empty() {
            String::new()
        } else {
            format!(", {} rolled back", done.rolled_back.len())
        },
        if failed > 0 { format!(", {} failed", failed) } else { String::new() }
    ));
    if args.json {
        out.upgraded.extend(upgraded.iter().map(|(pl, id)| upgraded_json(pl, Some(id))));
        out.print();
    }
    crate::services::announce::rollbacks(settings, &done.rolled_back, p).await;
    Ok(ExitStatus::failed_if(failed > 0 || !done.rolled_back.is_empty()))
}

/// What the recreations of one upgrade did, for the summary, the report and
/// the rollback notices.
#[derive(Default)]
struct Recreation {
    recreated: usize,
    rolled_back: Vec<recreate::Announced>,
    errors: usize,
}

impl Recreation {
    /// Takes in one group's outcome: reports it, and returns the reason if
    /// the group was rolled back.
    fn absorb(
        &mut self,
        pl: &Planned,
        o: &recreate::Outcome,
        out: &mut ChangeReport,
        p: &Printer,
    ) -> Option<String> {
        for e in &o.errors {
            self.errors += 1;
            p.warn(e);
        }
        for r in &o.recreated {
            self.recreated += 1;
            out.recreated.push(report_json::Recreated {
                name: r.name.clone(),
                id: Some(r.id.clone()),
                previous_id: r.previous_id.clone(),
                reference: r.reference.clone(),
                how: if r.compose.is_some() { "compose" } else { "container" },
                compose_project: r.compose.as_ref().map(|c| c.project.clone()),
                compose_service: r.compose.as_ref().map(|c| c.service.clone()),
                downtime_seconds: Some(r.downtime.as_millis() as f64 / 1000.0),
            });
        }
        let reason = o.failure.clone()?;
        let names: Vec<&str> = o.rolled_back.iter().map(|r| r.name.as_str()).collect();
        p.warn(&format!(
            "{}: the new version ({}) did not pass the health gate: {reason}; rolled back: {} run{} {} \
             again and the tag points at it. Later upgrades skip this version until the registry's tag moves.",
            pl.reference.familiar(),
            short_digest(&pl.digest),
            names.join(", "),
            if names.len() == 1 { "s" } else { "" },
            short_digest(pl.old_digest.as_deref().unwrap_or(&pl.old_id)),
        ));
        for r in &o.rolled_back {
            for line in &r.logs {
                p.info(&format!("  {}| {line}", r.name));
            }
            out.rolled_back.push(report_json::RolledBack {
                name: r.name.clone(),
                reference: r.reference.clone(),
                digest: pl.digest.clone(),
                reason: r.reason.clone(),
            });
        }
        self.rolled_back.push(recreate::Announced {
            reference: pl.reference.to_string(),
            image: pl.reference.familiar(),
            digest: pl.digest.clone(),
            reason: reason.clone(),
            containers: o.rolled_back.iter().map(|r| (r.name.clone(), r.logs.clone())).collect(),
        });
        Some(reason)
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

fn upgraded_json(pl: &Planned, new_id: Option<&String>) -> report_json::Upgraded {
    report_json::Upgraded {
        reference: pl.target().to_string(),
        from_image_id: pl.old_id.clone(),
        from_digest: pl.old_digest.clone(),
        to_image_id: new_id.cloned(),
        to_digest: pl.digest.clone(),
    }
}

/// A container the plan would recreate, in the dry run's report.
fn planned_json(c: &recreate_core::Planned) -> report_json::Recreated {
    let compose = match &c.how {
        How::Compose(s) => Some(s),
        How::Container => None,
    };
    report_json::Recreated {
        name: c.name.clone(),
        id: None,
        previous_id: c.id.clone(),
        reference: c.reference.clone(),
        how: if compose.is_some() { "compose" } else { "container" },
        compose_project: compose.map(|s| s.project.clone()),
        compose_service: compose.map(|s| s.service.clone()),
        downtime_seconds: None,
    }
}

/// The retired images, and those kept with the reason, in the report.
fn report_retired(
    out: &mut ChangeReport,
    go: &[&OldVersion],
    decided: &[(OldVersion, Decision)],
    removed: &retire_service::Retired,
) {
    for c in go.iter().filter(|c| removed.removed.contains(&c.name)) {
        out.retired.push(report_json::Retired { image_id: c.image_id.clone(), name: c.name.clone() });
    }
    for (c, d) in decided {
        if let Decision::Keep(reason) = d {
            out.kept.push(report_json::Kept {
                image_id: c.image_id.clone(),
                name: c.name.clone(),
                reason: reason.clone(),
            });
        }
    }
    for (name, reason) in &removed.refused {
        if let Some(c) = go.iter().find(|c| &c.name == name) {
            out.kept.push(report_json::Kept {
                image_id: c.image_id.clone(),
                name: name.clone(),
                reason: reason.clone(),
            });
        }
    }
}

/// Asks each registry for the tag's digest again, right before pulling:
/// the tags still upgradable become the plan. Returns it and how many
/// could not be asked.
async fn recheck(
    wanted: &[&Row],
    snapshot: &Snapshot,
    state: &State,
    registries: &Registries,
    engine: &Engine,
    p: &Printer,
    out: &mut ChangeReport,
) -> (Vec<Planned>, usize) {
    let by_id: HashMap<&str, &LocalImage> = snapshot.images.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut failed = 0usize;
    let mut plan: Vec<Planned> = Vec::new();
    let mut repos: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in wanted {
        repos.entry(r.reference.registry.as_str()).or_default().push(r.reference.repository.clone());
    }
    let checks = wanted.iter().filter_map(|r| {
        let image = by_id.get(r.image_id.as_str())?;
        let registry = r.reference.registry.as_str();
        let hint = state.registries.get(registry).and_then(|i| i.scheme.as_deref());
        let host = registries.host(registry, repos.get(registry).cloned().unwrap_or_default(), hint);
        Some(async move {
            let target = LocalTag { reference: r.reference.clone(), image };
            let checked = match host {
                Ok(h) => check::check_now(engine, &h, &target).await,
                Err(e) => Err(e),
            };
            (*r, checked)
        })
    });
    for (r, checked) in futures_util::future::join_all(checks).await {
        match checked {
            Ok((Status::Upgradable, digest)) => plan.push(Planned {
                reference: r.reference.clone(),
                old_id: r.image_id.clone(),
                old_digest: r.local_digest.clone(),
                digest,
                to: None,
                versions: match (&r.version.current, r.candidate_version()) {
                    (Some(old), Some(new)) if old != new => Some((old.clone(), new.to_string())),
                    _ => None,
                },
            }),
            Ok((status, _)) => {
                p.info(&format!("{} is {status} now; nothing to pull.", r.reference.familiar()))
            }
            Err(e) => {
                failed += 1;
                p.warn(&format!("{}: cannot check it before pulling: {e}", r.reference.familiar()));
                out.failed
                    .push(report_json::Failed { reference: r.reference.to_string(), error: e.to_string() });
            }
        }
    }
    (plan, failed)
}

/// Pulls the planned digest and tags it; the new image's id.
async fn pull_and_tag(
    engine: &Engine,
    pl: &Planned,
    auth: Option<PullAuth>,
    bar: &mut Bar,
) -> Result<String> {
    let source = format!("{}@{}", pl.target().name(), pl.digest);
    engine.pull(&source, auth, |ev| bar.event(&ev)).await?;
    match engine.image_id(&source).await? {
        Some(id) => engine.tag(&id, pl.target()).await.map(|()| id),
        None => Err(Error::Daemon {
            action: format!("pull {source}"),
            detail: "the image is not there after the pull".into(),
        }),
    }
}

/// What `--tags` needs besides the rows: the skips and the clock, and
/// where to say what it keeps back.
struct TagMoves<'a> {
    controls: &'a crate::core::skips::Controls,
    kept_back: &'a mut Vec<(Reference, String)>,
}

/// `--tags`: for each selected tag that is a version, the newest newer tag
/// its policy allows (from the listings the last update cached) that has
/// waited out its minimum age and is not skipped, unless the tag is held,
/// already upgraded by digest in this run, or the newer tag is already
/// here. A newer tag still in its cooldown with nothing older to offer, and
/// a skipped one, are kept back with the reason. Each move's digest is
/// asked of the registry now, so what is pulled is what was checked.
/// Returns how many could not be asked.
#[allow(clippy::too_many_arguments)]
async fn plan_tag_moves(
    settings: &Settings,
    state: &State,
    rows: &[report::Row],
    holds: &Holds,
    registries: &Registries,
    plan: &mut Vec<Planned>,
    moves: TagMoves<'_>,
    p: &Printer,
) -> usize {
    let cache = TagCache::load(&settings.state_dir);
    let by_digest: HashSet<&Reference> = plan.iter().map(|pl| &pl.reference).collect();
    let present: HashSet<&Reference> = rows.iter().map(|r| &r.reference).collect();
    let controls = moves.controls;
    let mut chosen: Vec<(&report::Row, Reference, versions::Level)> = Vec::new();
    for r in rows {
        let Some(tag) = r.reference.tag.as_deref() else { continue };
        if r.status == Status::Pinned || by_digest.contains(&r.reference) {
            continue;
        }
        let policy = settings.image_policy(&r.reference);
        if policy.hold || holds.is_held(&r.reference) {
            continue;
        }
        let Some(tags) = cache.tags(&r.reference.name()) else { continue };
        let Some(newer) = versions::newer_tags(tag, tags, &policy.rules) else { continue };
        let within: Vec<&versions::NewerVersion> = newer.table.iter().filter(|c| c.within_policy).collect();
        let key = r.reference.to_string();
        let ages = state.tag_ages.get(&key);
        let (pick, waiting) =
            crate::core::controls::pick_tag(&within, |c| c.tag(), ages, controls.now, controls.min_age);
        let Some(pick) = pick else {
            if let Some((c, wait)) = waiting {
                let when = crate::core::controls::in_words(wait.available_at - controls.now);
                moves
                    .kept_back
                    .push((r.reference.clone(), format!("cooldown: {} available {when}", c.tag())));
            }
            continue;
        };
        let digest = ages.and_then(|a| a.get(pick.tag())).and_then(|a| a.digest.as_deref());
        if controls.skips.tag_skipped(&key, pick.tag(), digest).is_some() {
            moves.kept_back.push((r.reference.clone(), format!("skipped: {}", pick.tag())));
            continue;
        }
        let to = Reference { tag: Some(pick.tag().to_string()), digest: None, ..r.reference.clone() };
        if present.contains(&to) {
            continue;
        }
        if let Some((c, wait)) = waiting {
            let when = crate::core::controls::in_words(wait.available_at - controls.now);
            p.info(&format!(
                "{}: {} is in its cooldown (available {when}); moving to {} instead.",
                r.reference.familiar(),
                c.tag(),
                pick.tag()
            ));
        }
        chosen.push((r, to, pick.level));
    }
    let mut failed = 0;
    for (row, to, level) in chosen {
        let hint = state.registries.get(&to.registry).and_then(|i| i.scheme.as_deref());
        let digest = match registries.host(&to.registry, vec![to.repository.clone()], hint) {
            Ok(h) => h.tag_digest(&to.repository, to.tag.as_deref().unwrap_or_default()).await,
            Err(e) => Err(e),
        };
        match digest {
            Ok(digest) => plan.push(Planned {
                reference: row.reference.clone(),
                old_id: row.image_id.clone(),
                old_digest: row.local_digest.clone(),
                digest,
                to: Some((to, level)),
                versions: None,
            }),
            Err(e) => {
                failed += 1;
                p.warn(&format!(
                    "{}: cannot check {} before pulling: {e}",
                    row.reference.familiar(),
                    to.familiar()
                ));
            }
        }
    }
    failed
}

/// Containers created from a version that is now superseded.
fn still_running(p: &Printer, host: &Snapshot, old: &HashMap<&str, Vec<String>>) {
    // A container created from another tag of that image, one that did not
    // move, runs the current version of its own tag.
    let followed = |c: &&crate::core::image::Container| {
        let refs = old.get(c.image_id.as_str())?;
        let r = recreate_core::followed(&c.image, &c.image_id, refs)?;
        Reference::parse(r).ok()
    };
    let mut users: Vec<_> = host.containers.iter().filter(|c| followed(c).is_some()).collect();
    // Running ones first: they are the ones serving the old version now.
    users.sort_by(|a, b| b.running.cmp(&a.running).then_with(|| a.name.cmp(&b.name)));
    if users.is_empty() {
        return;
    }
    let list: Vec<String> = users
        .iter()
        .map(|c| {
            let r = followed(c).map(|r| r.familiar()).unwrap_or_default();
            if c.running {
                format!("{} ({r})", c.name)
            } else {
                format!("{} ({r}, stopped)", c.name)
            }
        })
        .collect();
    p.line(&format!(
        "These containers still run the previous version: {}. Recreate them to finish the upgrade.",
        list.join(", ")
    ));
    let mut projects: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for c in &users {
        if let Some(project) = c.labels.get("com.docker.compose.project") {
            let wd = c.labels.get("com.docker.compose.project.working_dir").map(String::as_str);
            projects.insert(project.as_str(), wd);
        }
    }
    for (project, wd) in projects {
        match wd {
            Some(wd) => p.line(&format!("Compose project {project}: run 'docker compose up -d' in {wd}.")),
            None => p.line(&format!("Compose project {project}: run 'docker compose -p {project} up -d'.")),
        }
    }
}

/// Pull progress: a bar per image on a terminal (bytes, like `docker
/// pull`), a line per image otherwise, nothing with --quiet.
struct Progress {
    multi: Option<MultiProgress>,
    plain: bool,
    printer: Printer,
}

impl Progress {
    fn new(p: &Printer) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        Progress {
            multi: (terminal && !p.quiet()).then(MultiProgress::new),
            plain: !terminal && !p.quiet(),
            printer: *p,
        }
    }

    fn start(&self, name: &str, digest: &str) -> Bar {
        let bar = self.multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new(0));
            // Until the engine knows the sizes there is nothing to measure.
            b.set_style(
                ProgressStyle::with_template("{msg:40} {spinner} waiting")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.set_message(name.to_string());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        if self.plain {
            self.printer.info(&format!("Pulling {name} ({})…", short_digest(digest)));
        }
        Bar {
            bar,
            sized: false,
            layers: HashMap::new(),
            fetched: std::collections::HashSet::new(),
            name: name.to_string(),
            plain: self.plain,
            printer: self.printer,
        }
    }

    /// Leaves the cursor on a fresh line after the bars.
    fn done(&self) {
        if self.multi.is_some() {
            eprintln!();
        }
    }
}

struct Bar {
    bar: Option<ProgressBar>,
    /// Whether the bar shows bytes yet.
    sized: bool,
    /// Per layer: (downloaded, total) bytes.
    layers: HashMap<String, (u64, u64)>,
    /// Layers the engine fetched (not "Already exists"), counted even when
    /// it sends no sizes: the containerd store and podman report progress
    /// without byte counts.
    fetched: std::collections::HashSet<String>,
    name: String,
    plain: bool,
    printer: Printer,
}

impl Bar {
    fn event(&mut self, ev: &PullEvent) {
        let Some(layer) = &ev.layer else { return };
        let entry = self.layers.entry(layer.clone()).or_default();
        match ev.status.as_str() {
            "Downloading" => {
                if let Some(t) = ev.total {
                    entry.1 = t;
                }
                if let Some(c) = ev.current {
                    entry.0 = c;
                }
            }
            "Download complete" | "Pull complete" | "Already exists" => entry.0 = entry.1,
            _ => {}
        }
        if matches!(ev.status.as_str(), "Downloading" | "Download complete" | "Extracting" | "Pull complete")
        {
            self.fetched.insert(layer.clone());
        }
        let total: u64 = self.layers.values().map(|l| l.1).sum();
        if let (Some(b), true) = (&self.bar, total > 0) {
            if !self.sized {
                self.sized = true;
                b.disable_steady_tick();
                b.set_style(
                    ProgressStyle::with_template(
                        "{msg:40} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
            }
            b.set_length(total);
            b.set_position(self.layers.values().map(|l| l.0).sum());
        }
    }

    fn finish(&self, ok: bool) {
        if let Some(b) = &self.bar {
            b.disable_steady_tick();
            match (ok, self.sized) {
                (true, true) => b.finish(),
                (true, false) => {
                    b.set_style(
                        ProgressStyle::with_template("{msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    b.finish_with_message(format!("{} ({})", self.name, self.unsized_note()));
                }
                (false, _) => {
                    b.set_style(
                        ProgressStyle::with_template("{msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    b.abandon_with_message(format!("{} (failed)", self.name));
                }
            }
        }
        if self.plain && ok {
            let total: u64 = self.layers.values().map(|l| l.1).sum();
            if total > 0 {
                self.printer.info(&format!(
                    "Pulled {} ({} downloaded)",
                    self.name,
                    crate::core::space::human_bytes(total)
                ));
            } else {
                self.printer.info(&format!("Pulled {} ({})", self.name, self.unsized_note()));
            }
        }
    }

    /// What a pull without byte counts did: never "0 B downloaded" when the
    /// engine just did not say.
    fn unsized_note(&self) -> String {
        match self.fetched.len() {
            0 => "all layers already here".to_string(),
            1 => "1 layer, the engine reports no sizes".to_string(),
            n => format!("{n} layers, the engine reports no sizes"),
        }
    }
}
