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
use crate::settings::Settings;
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
    let (verdicts, layers) = decide(&engine, &mut host, &cands, &holds, &rules).await?;
    let (go, kept) = split(&cands, &verdicts);
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
