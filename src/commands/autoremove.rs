//! `freshen autoremove`: retire the versions that upgrades replaced and the
//! untagged earlier versions of tracked repositories, with the protections
//! of `retire` and the space each removal really frees. `upgrade` retires
//! through the same functions.

use std::collections::{HashMap, HashSet};

use futures_util::stream::{self, StreamExt};

use crate::cli::AutoremoveArgs;
use crate::commands::{confirm, count, EXIT_OK};
use crate::core::holds::Holds;
use crate::core::reference::Reference;
use crate::core::report::Selection;
use crate::core::retire::{self, Candidate, Inventory, Rules, Verdict};
use crate::core::space;
use crate::core::state::{Lock, State};
use crate::engine::{Container, Engine, ImageLayers, LocalImage, Removal};
use crate::error::Result;
use crate::output::upgrade_report::{self as report_json, ChangeReport};
use crate::output::{self, Printer};
use crate::settings::Settings;

/// Inspections in flight when reading every image's layers.
const INSPECT_CONCURRENCY: usize = 8;

/// The host at one moment: what the protections and the space count need.
pub struct Host {
    pub images: Vec<LocalImage>,
    pub containers: Vec<Container>,
    pub parents: HashMap<String, String>,
}

impl Host {
    pub async fn read(engine: &Engine) -> Result<Host> {
        let (images, containers, parents) =
            tokio::try_join!(engine.images(), engine.containers(), engine.parents())?;
        Ok(Host { images, containers, parents })
    }
}

/// The layers of every image (intermediates included), for the space count.
pub async fn all_layers(engine: &Engine, host: &Host) -> Result<HashMap<String, ImageLayers>> {
    let ids: Vec<&String> = host.parents.keys().collect();
    let found: Vec<Result<Option<ImageLayers>>> =
        stream::iter(ids).map(|id| engine.layers(id)).buffer_unordered(INSPECT_CONCURRENCY).collect().await;
    let mut out = HashMap::new();
    for l in found {
        if let Some(l) = l? {
            out.insert(l.id.clone(), l);
        }
    }
    Ok(out)
}

/// Images the engine deletes along with `removed`: untagged parents left
/// with no other child and no container (it prunes them as `docker rmi`
/// does). They add no layers of their own, but must not count as remaining.
fn pruned_parents(host: &Host, removed: &HashSet<String>) -> HashSet<String> {
    let named: HashSet<&str> = host
        .images
        .iter()
        .filter(|i| !i.tags.is_empty() || !i.digests.is_empty())
        .map(|i| i.id.as_str())
        .collect();
    let used: HashSet<&str> = host.containers.iter().map(|c| c.image_id.as_str()).collect();
    let mut children: HashMap<&str, usize> = HashMap::new();
    for p in host.parents.values().filter(|p| !p.is_empty()) {
        *children.entry(p.as_str()).or_default() += 1;
    }
    let mut out = HashSet::new();
    for id in removed {
        let mut cur = id.as_str();
        while let Some(parent) = host.parents.get(cur).filter(|p| !p.is_empty()) {
            let p = parent.as_str();
            if named.contains(p) || used.contains(p) || children.get(p).copied().unwrap_or(0) != 1 {
                break;
            }
            out.insert(p.to_string());
            cur = p;
        }
    }
    out
}

/// Bytes freed if `removed` go and everything else stays.
pub fn freed(host: &Host, layers: &HashMap<String, ImageLayers>, removed: &HashSet<String>) -> u64 {
    let mut gone = removed.clone();
    gone.extend(pruned_parents(host, removed));
    let (out, stay): (Vec<&ImageLayers>, Vec<&ImageLayers>) =
        layers.values().partition(|l| gone.contains(&l.id));
    space::freed_bytes(out, stay)
}

/// What happened to the images we tried to retire.
#[derive(Default)]
pub struct Retired {
    pub removed: Vec<String>,
    /// (name, reason) of the images the engine refused to remove.
    pub refused: Vec<(String, String)>,
    /// Every id the engine deleted, untagged parents included.
    pub deleted_ids: HashSet<String>,
}

/// Removes each candidate without force; a refusal is reported, not fatal.
pub async fn remove_all(engine: &Engine, cands: &[&Candidate], p: &Printer) -> Result<Retired> {
    let mut r = Retired::default();
    for c in cands {
        let obsolete = |t: &String| Reference::parse(t).is_ok_and(|r| c.untag.contains(&r));
        // Removing by id would also untag it: if someone tagged it since
        // the plan (say, during the prompt), it is theirs again. Only tags
        // that `upgrade --tags` made obsolete may go with it.
        let mut names = match engine.tags_of(&c.image_id).await? {
            None => continue,
            Some(tags) if tags.iter().any(|t| !obsolete(t)) => {
                let reason = format!("tagged as {} since the plan", tags.join(", "));
                p.warn(&format!("{}: kept, {reason}", c.name));
                r.refused.push((c.name.clone(), reason));
                continue;
            }
            Some(tags) => tags,
        };
        // Removing by tag untags; the last tag's removal deletes the image.
        if names.is_empty() {
            names.push(c.image_id.clone());
        }
        let mut outcome = Removal::Missing;
        for name in &names {
            outcome = engine.remove(name).await?;
            if matches!(outcome, Removal::Refused(_)) {
                break;
            }
        }
        match outcome {
            Removal::Deleted(ids) => {
                p.info(&format!("Retired {}", c.name));
                r.deleted_ids.extend(ids);
                r.deleted_ids.insert(c.image_id.clone());
                r.removed.push(c.image_id.clone());
            }
            Removal::Refused(reason) => {
                p.warn(&format!("{}: kept, the engine refused to remove it ({reason})", c.name));
                r.refused.push((c.name.clone(), reason));
            }
            Removal::Missing => {}
        }
    }
    Ok(r)
}

/// What the removals freed. The engine names the layers it deleted (by
/// chain id); when it does, their sizes are the real figure.
pub fn deleted_bytes(host: &Host, layers: &HashMap<String, ImageLayers>, done: &Retired) -> u64 {
    let by_chain = space::sizes_by_chain(layers.values());
    let named: Vec<i64> = done.deleted_ids.iter().filter_map(|id| by_chain.get(id).copied()).collect();
    if named.is_empty() {
        freed(host, layers, &done.deleted_ids)
    } else {
        named.into_iter().map(|s| s.max(0) as u64).sum()
    }
}

/// Drops the records of superseded versions that are no longer on the host.
pub fn forget_gone(state: &mut State, host: &Host) {
    let present: HashSet<&str> = host.parents.keys().map(String::as_str).collect();
    state.superseded.retain(|s| present.contains(s.image_id.as_str()));
}

pub fn bytes(n: u64) -> String {
    format!("{} ({n} bytes)", space::human_bytes(n))
}

pub async fn autoremove(settings: &Settings, args: &AutoremoveArgs, p: &Printer) -> Result<u8> {
    let rules_cfg = settings.retire(args.change.keep, args.older_than.as_deref(), &args.exclude)?;
    let selection = Selection::new(&args.patterns, rules_cfg.exclude.clone())?;
    if args.dangling && !args.patterns.is_empty() {
        p.warn("dangling images have no name for a pattern to match: --dangling is ignored with patterns");
    }
    let dir = &settings.state_dir;
    if !args.change.dry_run {
        crate::commands::repair_interrupted(settings, p).await?;
    }
    let lock = crate::commands::lock_state(dir, p)?;
    let mut state = State::load(dir)?;
    let holds = Holds::load(dir)?;
    let engine = Engine::connect(settings.docker_host.as_deref()).await?;
    let host = Host::read(&engine).await?;
    let cands = retire::candidates(&state, &host.images, &selection, args.dangling);
    let inv = Inventory {
        images: &host.images,
        parents: &host.parents,
        containers: &host.containers,
        holds: &holds,
    };
    let rules = Rules { keep: rules_cfg.keep, older_than: rules_cfg.older_than, now: output::now_unix() };
    let verdicts = retire::decide(&cands, &inv, &rules);
    let go: Vec<&Candidate> =
        cands.iter().zip(&verdicts).filter(|(_, v)| **v == Verdict::Retire).map(|(c, _)| c).collect();
    let kept: Vec<(&Candidate, &str)> = cands
        .iter()
        .zip(&verdicts)
        .filter_map(|(c, v)| match v {
            Verdict::Keep(r) => Some((c, r.as_str())),
            Verdict::Retire => None,
        })
        .collect();
    let layers = if go.is_empty() { HashMap::new() } else { all_layers(&engine, &host).await? };
    let planned: HashSet<String> = go.iter().map(|c| c.image_id.clone()).collect();
    let expected = freed(&host, &layers, &planned);
    let json = args.format == crate::cli::SummaryFormat::Json;
    // With --format json the report is the only thing on stdout.
    let p_text = *p;
    let say = |text: &str| {
        if !json {
            p_text.line(text)
        }
    };
    let mut report = ChangeReport::new(args.change.dry_run);
    for (c, reason) in &kept {
        report.kept.push(report_json::Kept {
            image_id: c.image_id.clone(),
            name: c.name.clone(),
            reason: reason.to_string(),
        });
    }

    if !go.is_empty() {
        say("The following images will be retired:");
        for c in &go {
            say(&format!("  {}", describe(c, rules.now)));
        }
    }
    if !kept.is_empty() {
        say("These images are kept:");
        for (c, reason) in &kept {
            say(&format!("  {}: {reason}", c.name));
        }
    }
    say(&format!("{} to retire, {} kept.", go.len(), kept.len()));
    if go.is_empty() {
        if !args.change.dry_run {
            forget_and_save(&mut state, &host, dir, &lock)?;
        }
        if json {
            report.print();
        }
        return Ok(EXIT_OK);
    }
    say(&format!("After this operation, {} of disk space will be freed.", bytes(expected)));
    if args.change.dry_run {
        if json {
            for c in &go {
                report
                    .retired
                    .push(report_json::Retired { image_id: c.image_id.clone(), name: c.name.clone() });
            }
            report.print();
        }
        return Ok(EXIT_OK);
    }
    if !confirm(args.change.yes, "retire these images")? {
        say("Abort.");
        return Ok(crate::commands::EXIT_FAILED);
    }
    let done = remove_all(&engine, &go, p).await?;
    let real = deleted_bytes(&host, &layers, &done);
    let after = Host::read(&engine).await?;
    forget_and_save(&mut state, &after, dir, &lock)?;
    say(&format!("Retired {}, freed {}.", count(done.removed.len(), "image", "images"), bytes(real)));
    for c in go.iter().filter(|c| done.removed.contains(&c.name)) {
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
    if json {
        report.print();
    }
    if !done.refused.is_empty() {
        say(&format!(
            "{} kept after all (see the warnings above).",
            count(done.refused.len(), "image", "images")
        ));
    }
    Ok(EXIT_OK)
}

fn forget_and_save(state: &mut State, host: &Host, dir: &std::path::Path, lock: &Lock) -> Result<()> {
    let before = state.superseded.len();
    forget_gone(state, host);
    if state.superseded.len() != before {
        state.save(dir, lock)?;
    }
    Ok(())
}

fn describe(c: &Candidate, now: i64) -> String {
    match c.origin {
        retire::Origin::Superseded => format!("{} (replaced {})", c.name, output::age(now - c.since)),
        retire::Origin::PreviousVersion => {
            format!("{} (earlier version, created {})", c.name, output::age(now - c.since))
        }
        retire::Origin::Dangling => format!("{} (dangling, created {})", c.name, output::age(now - c.since)),
    }
}
