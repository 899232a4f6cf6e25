//! `freshen autoremove`: retire the versions that upgrades replaced and the
//! untagged earlier versions of tracked repositories, with the protections
//! of `retire` and the space each removal really frees. `upgrade` retires
//! through the same service (`services::retire`).

use std::collections::{HashMap, HashSet};

use crate::cli::AutoremoveArgs;
use crate::core::exit::ExitStatus;
use crate::core::holds::Holds;
use crate::core::image::{ImageLayers, Snapshot};
use crate::core::reference::Reference;
use crate::core::report::Selection;
use crate::core::retire::{self, Decision, Inventory, OldVersion, Rules};
use crate::core::space;
use crate::core::state::State;
use crate::engine::Engine;
use crate::error::Result;
use crate::output::upgrade_report::{self as report_json, ChangeReport};
use crate::output::{self, Printer};
use crate::output::{confirm, count};
use crate::services::retire::{
    all_layers, deleted_bytes, find_layer_parents, forget_gone, freed, remove_all, Retired,
};
use crate::settings::{CacheRequest, Settings};
use crate::store::Lock;

pub fn bytes(n: u64) -> String {
    format!("{} ({n} bytes)", space::human_bytes(n))
}

pub async fn autoremove(settings: &Settings, args: &AutoremoveArgs, p: &Printer) -> Result<ExitStatus> {
    let rules_cfg = settings.retire(args.change.keep, args.older_than.as_deref(), &args.exclude)?;
    let selection = Selection::new(&args.patterns, rules_cfg.exclude.clone())?;
    if args.dangling && !args.patterns.is_empty() {
        p.warn("dangling images have no name for a pattern to match: --dangling is ignored with patterns");
    }
    let dir = &settings.state_dir;
    if !args.change.dry_run {
        crate::services::recreate::repair_interrupted(settings, p).await?;
    }
    let lock = crate::services::lock_state(dir, p)?;
    let mut state = State::load(dir)?;
    let holds = crate::services::holds(settings)?;
    let engine = Engine::connect(settings.docker_host.as_deref()).await?;
    let mut host = engine.snapshot().await?;
    let recorded = retire::recorded_versions(&state, &host.hidden);
    host.images.extend(recorded);
    // The tags the state remembers count too: their earlier versions may
    // be here after the tag itself was removed.
    let remembered: Vec<Reference> =
        state.entries.iter().filter_map(|e| Reference::parse(&e.reference).ok()).collect();
    crate::services::every_pattern_matches(&args.patterns, &host.images, &remembered)?;
    let cands = retire::candidates(&state, &host.images, &selection, args.dangling);
    let rules = Rules {
        keep: rules_cfg.keep,
        keep_from: rules_cfg.keep_from,
        older_than: rules_cfg.older_than,
        now: output::now_unix(),
    };
    let request =
        settings.cache(args.budget.as_deref(), args.min_free.as_deref(), args.unused_for.as_deref())?;
    let (verdicts, mut layers) = decide(&engine, &mut host, &cands, &holds, &rules).await?;
    let (go, kept) = split(&cands, &verdicts);
    if request.any() {
        if layers.is_empty() {
            layers = all_layers(&engine, &host).await?;
        }
        let budget = Budget { request, selection: &selection, holds: &holds };
        return by_budget(
            settings,
            args,
            &engine,
            (&host, &layers),
            (&mut state, &lock),
            &go,
            &kept,
            budget,
            p,
        )
        .await;
    }
    let planned: HashSet<String> = go.iter().map(|c| c.image_id.clone()).collect();
    let expected = freed(&host, &layers, &planned);
    let json = args.format == crate::cli::SummaryFormat::Json;
    // With --format json the report is the only thing on stdout.
    let say = |text: &str| {
        if !json {
            p.line(text)
        }
    };
    let mut report = ChangeReport::new(args.change.dry_run);
    report.kept.extend(kept.iter().map(|(c, reason)| report_json::Kept {
        image_id: c.image_id.clone(),
        name: c.name.clone(),
        reason: reason.to_string(),
    }));
    show_plan(&say, &go, &kept, rules.now);
    if go.is_empty() {
        if !args.change.dry_run {
            forget_and_save(&mut state, &host, dir, &lock)?;
        }
        if json {
            report.print();
        }
        return Ok(ExitStatus::Ok);
    }
    say(&format!("After this operation, {} of disk space will be freed.", bytes(expected)));
    if args.change.dry_run {
        if json {
            let retired = go
                .iter()
                .map(|c| report_json::Retired { image_id: c.image_id.clone(), name: c.name.clone() });
            report.retired.extend(retired);
            report.print();
        }
        return Ok(ExitStatus::Ok);
    }
    if !confirm(args.change.yes, "retire these images")? {
        say("Abort.");
        return Ok(ExitStatus::Failed);
    }
    let done = remove_all(&engine, &go, p).await?;
    let real = deleted_bytes(&host, &layers, &done);
    let after = engine.snapshot().await?;
    forget_and_save(&mut state, &after, dir, &lock)?;
    crate::services::retire::forget_hook_dirs(dir, &after);
    say(&format!("Retired {}, freed {}.", count(done.removed.len(), "image", "images"), bytes(real)));
    report_removed(&mut report, &go, &done);
    if json {
        report.print();
    }
    if !done.refused.is_empty() {
        say(&format!(
            "{} kept after all (see the warnings above).",
            count(done.refused.len(), "image", "images")
        ));
    }
    Ok(ExitStatus::Ok)
}

/// The decision on each candidate. Layers are read only when something
/// may go: for the space count, and on engines without parents for the
/// children they reveal (then the candidates are decided again).
async fn decide(
    engine: &Engine,
    host: &mut Snapshot,
    cands: &[OldVersion],
    holds: &Holds,
    rules: &Rules,
) -> Result<(Vec<Decision>, HashMap<String, ImageLayers>)> {
    let decide = |host: &Snapshot| {
        let inv = Inventory {
            images: &host.images,
            parents: &host.parents,
            layer_parents: &host.layer_parents,
            containers: &host.containers,
            holds,
        };
        retire::decide(cands, &inv, rules)
    };
    let verdicts = decide(host);
    if !verdicts.contains(&Decision::Retire) {
        return Ok((verdicts, HashMap::new()));
    }
    let layers = all_layers(engine, host).await?;
    find_layer_parents(engine, host, &layers).await?;
    Ok((decide(host), layers))
}

/// The candidates to retire, and those kept with the reason.
fn split<'c>(
    cands: &'c [OldVersion],
    verdicts: &'c [Decision],
) -> (Vec<&'c OldVersion>, Vec<(&'c OldVersion, &'c str)>) {
    let go = cands.iter().zip(verdicts).filter(|(_, v)| **v == Decision::Retire).map(|(c, _)| c).collect();
    let kept = cands
        .iter()
        .zip(verdicts)
        .filter_map(|(c, v)| match v {
            Decision::Keep(r) => Some((c, r.as_str())),
            Decision::Retire => None,
        })
        .collect();
    (go, kept)
}

/// The plan as apt shows it, before asking.
fn show_plan(say: &dyn Fn(&str), go: &[&OldVersion], kept: &[(&OldVersion, &str)], now: i64) {
    if !go.is_empty() {
        say("The following images will be retired:");
        for c in go {
            say(&format!("  {}", describe(c, now)));
        }
    }
    if !kept.is_empty() {
        say("These images are kept:");
        for (c, reason) in kept {
            say(&format!("  {}: {reason}", c.name));
        }
    }
    say(&format!("{} to retire, {} kept.", go.len(), kept.len()));
}

/// The images removed, and those the engine refused to remove, in the
/// report.
fn report_removed(report: &mut ChangeReport, go: &[&OldVersion], done: &Retired) {
    for c in go.iter().filter(|c| done.removed.contains(&c.image_id)) {
        report.retired.push(report_json::Retired { image_id: c.image_id.clone(), name: c.name.clone() });
    }
    for (name, reason) in &done.refused {
        if let Some(c) = go.iter().find(|c| &c.name == name) {
            report.kept.push(report_json::Kept {
                image_id: c.image_id.clone(),
                name: name.clone(),
                reason: reason.clone(),
            });
        }
    }
}

fn forget_and_save(state: &mut State, host: &Snapshot, dir: &std::path::Path, lock: &Lock) -> Result<()> {
    let before = (state.superseded.len(), state.seen.len());
    forget_gone(state, host);
    if (state.superseded.len(), state.seen.len()) != before {
        state.save(dir, lock)?;
    }
    Ok(())
}

fn describe(c: &OldVersion, now: i64) -> String {
    match c.origin {
        retire::Origin::Superseded if c.failed.is_some() => {
            format!("{} (failed here, put back {})", c.name, crate::core::time::age(now - c.since))
        }
        retire::Origin::Superseded => {
            format!("{} (replaced {})", c.name, crate::core::time::age(now - c.since))
        }
        retire::Origin::PreviousVersion => {
            format!("{} (earlier version, created {})", c.name, crate::core::time::age(now - c.since))
        }
        retire::Origin::Dangling => {
            format!("{} (dangling, created {})", c.name, crate::core::time::age(now - c.since))
        }
    }
}

/// What `--budget`, `--min-free` and `--unused-for` ask, and of what.
struct Budget<'a> {
    request: CacheRequest,
    selection: &'a Selection,
    holds: &'a Holds,
}

/// `autoremove` with a budget: retire, then evict by use (see
/// `core::cache`), showing what goes, when each was last used and by what
/// evidence, what it frees, and the store's free space before and after.
#[allow(clippy::too_many_arguments)]
async fn by_budget(
    settings: &Settings,
    args: &AutoremoveArgs,
    engine: &Engine,
    (host, layers): (&Snapshot, &HashMap<String, ImageLayers>),
    (state, lock): (&mut State, &Lock),
    go: &[&OldVersion],
    kept: &[(&OldVersion, &str)],
    budget: Budget<'_>,
    p: &Printer,
) -> Result<ExitStatus> {
    use crate::core::cache::Why;
    let dry_run = args.change.dry_run;
    let json = args.format == crate::cli::SummaryFormat::Json;
    let say = |text: &str| {
        if !json {
            p.line(text)
        }
    };
    let now = settings.now();
    let save = (!dry_run).then_some(lock);
    let usage = crate::services::usage::refresh(settings, engine, &host.images, state, save).await?;
    let retiring: HashSet<String> = go.iter().map(|c| c.image_id.clone()).collect();
    let planned = crate::services::cache::plan(
        engine,
        host,
        layers,
        state,
        budget.holds,
        budget.selection,
        &usage,
        &retiring,
        &budget.request,
        now,
    )
    .await?;
    let df_before = engine.disk_usage().await.ok();
    let plan = &planned.plan;
    let mut report = ChangeReport::new(dry_run);
    report.kept.extend(kept.iter().map(|(c, reason)| report_json::Kept {
        image_id: c.image_id.clone(),
        name: c.name.clone(),
        reason: reason.to_string(),
    }));
    report.kept.extend(plan.spared.iter().map(|s| report_json::Kept {
        image_id: s.image_id.clone(),
        name: s.name.clone(),
        reason: s.reason.clone(),
    }));
    if !go.is_empty() {
        say("The following images will be retired:");
        for c in go {
            say(&format!("  {}", describe(c, now)));
        }
    }
    if !plan.evict.is_empty() {
        say("The following images will be evicted, least recently used first:");
        for e in &plan.evict {
            let why = match e.why {
                Why::Unused => "unused too long",
                Why::Budget => "over the budget",
            };
            let lost = match e.gap {
                Some(g) => format!(
                    "; events lost since {} (the daemon restarted)",
                    crate::core::time::format_rfc3339(g.from).unwrap_or_default()
                ),
                None => String::new(),
            };
            say(&format!(
                "  {} ({why}): last used {} ({}{lost}), frees {}",
                e.name,
                crate::core::time::age(now - e.last_use),
                e.evidence,
                space::human_bytes(e.frees)
            ));
        }
    }
    if !kept.is_empty() || !plan.spared.is_empty() {
        say("These images are kept:");
        for (c, reason) in kept {
            say(&format!("  {}: {reason}", c.name));
        }
        for s in &plan.spared {
            say(&format!("  {}: {}", s.name, s.reason));
        }
    }
    say(&format!(
        "{} to retire, {} to evict, {} kept.",
        go.len(),
        plan.evict.len(),
        kept.len() + plan.spared.len()
    ));
    let limits = budget_words(&budget.request, planned.disk.as_ref().map(|d| d.total));
    say(&format!(
        "Images: {} now, {} after{limits} (unique layer bytes, shared layers once).",
        space::human_bytes(plan.bytes_before),
        space::human_bytes(plan.bytes_after)
    ));
    if let Some(d) = &planned.disk {
        say(&format!(
            "Free space on {}: {} now, {} after.",
            d.data_root,
            space::human_bytes(d.free),
            space::human_bytes(plan.free_after.unwrap_or(d.free))
        ));
    }
    if let Some(df) = df_before.as_ref().filter(|d| d.build_cache_entries > 0) {
        say(&format!(
            "Build cache: {} ({} reclaimable by 'docker builder prune'); freshen never removes it.",
            space::human_bytes(df.build_cache_size),
            space::human_bytes(df.build_cache_reclaimable)
        ));
    }
    let mut summary = report_json::CacheSummary {
        budget_bytes: budget.request.budget.and_then(|b| b.bytes(planned.disk.as_ref().map(|d| d.total))),
        min_free_bytes: budget.request.min_free.and_then(|b| b.bytes(planned.disk.as_ref().map(|d| d.total))),
        unused_for_seconds: budget.request.unused_for,
        images_bytes_before: plan.bytes_before,
        images_bytes_after: plan.bytes_after,
        data_root: planned.disk.as_ref().map(|d| d.data_root.clone()),
        free_bytes_before: planned.disk.as_ref().map(|d| d.free),
        free_bytes_planned: plan.free_after,
        free_bytes_after: None,
        engine_layers_bytes_before: df_before.as_ref().and_then(|d| d.layers_size),
        engine_layers_bytes_after: None,
        build_cache_bytes: df_before.as_ref().map(|d| d.build_cache_size),
        build_cache_reclaimable_bytes: df_before.as_ref().map(|d| d.build_cache_reclaimable),
        unmet: plan.unmet.clone(),
    };
    let evicted_json = |e: &crate::core::cache::Eviction| report_json::Evicted {
        image_id: e.image_id.clone(),
        name: e.name.clone(),
        why: e.why.as_str(),
        last_used: crate::core::time::format_rfc3339(e.last_use),
        evidence: e.evidence.clone(),
        events_lost: e.gap.is_some(),
        frees_bytes: e.frees,
    };
    let unmet = |say: &dyn Fn(&str)| {
        if let Some(why) = &plan.unmet {
            say(&format!("The budget cannot be met: {why}."));
        }
    };
    let status = if plan.unmet.is_some() { ExitStatus::BudgetNotMet } else { ExitStatus::Ok };
    if go.is_empty() && plan.evict.is_empty() {
        unmet(&say);
        if json {
            report.cache = Some(summary);
            report.print();
        }
        return Ok(status);
    }
    say(&format!("After this operation, {} of disk space will be freed.", bytes(plan.frees())));
    if dry_run {
        unmet(&say);
        if json {
            report.retired.extend(
                go.iter()
                    .map(|c| report_json::Retired { image_id: c.image_id.clone(), name: c.name.clone() }),
            );
            report.evicted.extend(plan.evict.iter().map(evicted_json));
            report.cache = Some(summary);
            report.print();
        }
        return Ok(status);
    }
    if !confirm(args.change.yes, "remove these images")? {
        say("Abort.");
        return Ok(ExitStatus::Failed);
    }
    let done = remove_all(engine, go, p).await?;
    let evicted = crate::services::cache::evict(engine, &plan.evict, p).await?;
    let after = engine.snapshot().await?;
    forget_and_save(state, &after, &settings.state_dir, lock)?;
    report_removed(&mut report, go, &done);
    // What really went, counted again: a refusal changes what the next frees.
    let real = crate::core::cache::frees_in_order(&host.images, layers, &done.deleted_ids, &evicted.removed);
    let really: HashMap<&str, u64> =
        evicted.removed.iter().map(String::as_str).zip(real.iter().copied()).collect();
    for e in plan.evict.iter() {
        if let Some(frees) = really.get(e.image_id.as_str()) {
            report.evicted.push(report_json::Evicted { frees_bytes: *frees, ..evicted_json(e) });
        }
    }
    let freed_now = deleted_bytes(host, layers, &done) + real.iter().sum::<u64>();
    for (id, name, reason) in &evicted.refused {
        report.kept.push(report_json::Kept {
            image_id: id.clone(),
            name: name.clone(),
            reason: reason.clone(),
        });
    }
    let disk_after = engine.store_disk().await;
    let df_after = engine.disk_usage().await.ok();
    summary.free_bytes_after = disk_after.as_ref().map(|d| d.free);
    summary.engine_layers_bytes_after = df_after.as_ref().and_then(|d| d.layers_size);
    say(&format!(
        "Retired {}, evicted {}, freed {}.",
        count(done.removed.len(), "image", "images"),
        count(evicted.removed.len(), "image", "images"),
        bytes(freed_now)
    ));
    if let (Some(before), Some(after)) = (&planned.disk, &disk_after) {
        say(&format!(
            "Free space on {}: {} before, {} after ({} freed).",
            after.data_root,
            space::human_bytes(before.free),
            space::human_bytes(after.free),
            space::human_bytes(after.free.saturating_sub(before.free))
        ));
    }
    let refused = done.refused.len() + evicted.refused.len();
    if refused > 0 {
        say(&format!("{} kept after all (see the warnings above).", count(refused, "image", "images")));
    }
    unmet(&say);
    if json {
        report.cache = Some(summary);
        report.print();
    }
    if let Some(signal) = evicted.interrupted {
        return Ok(ExitStatus::Interrupted(signal));
    }
    // Refusals leave more than planned: the budget may not hold after all.
    if refused > 0 && (budget.request.budget.is_some() || budget.request.min_free.is_some()) {
        return Ok(ExitStatus::BudgetNotMet);
    }
    Ok(status)
}

/// `, budget 20.0 GB (20%)`, as the limits were given.
fn budget_words(request: &CacheRequest, total: Option<u64>) -> String {
    let mut out = String::new();
    if let Some(b) = request.budget {
        let share = match b {
            crate::core::cache::Amount::Percent(p) => format!(" ({p}% of the disk)"),
            crate::core::cache::Amount::Bytes(_) => String::new(),
        };
        if let Some(bytes) = b.bytes(total) {
            out.push_str(&format!(", budget {}{share}", space::human_bytes(bytes)));
        }
    }
    if let Some(m) = request.min_free.and_then(|m| m.bytes(total)) {
        out.push_str(&format!(", {} to stay free", space::human_bytes(m)));
    }
    if let Some(u) = request.unused_for {
        out.push_str(&format!(", unused for {} goes", crate::core::time::age(u).trim_end_matches(" ago")));
    }
    out
}
