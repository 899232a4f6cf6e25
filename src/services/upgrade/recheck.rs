//! The registry steps of an upgrade's plan: each upgradable tag's digest
//! asked again right before pulling, and with `--tags` each chosen newer
//! tag's digest, so what is pulled is what was checked.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::core::image::{LocalImage, Snapshot};
use crate::core::reference::Reference;
use crate::core::report::{LocalTag, Row};
use crate::core::skips::Controls;
use crate::core::state::State;
use crate::core::tagcache::TagCache;
use crate::core::upgrade::{self as plan, Planned};
use crate::core::verdict::Status;
use crate::engine::Engine;
use crate::output::upgrade_report::{self as report_json, ChangeReport};
use crate::output::Printer;
use crate::registry::Registries;
use crate::services::check;
use crate::settings::Settings;

/// Asks each registry for the tag's digest again, right before pulling:
/// the tags still upgradable become the plan. Returns it and how many
/// could not be asked.
pub(super) async fn recheck(
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

/// `--tags`: the moves `core::upgrade::choose_tag_moves` picks from the
/// listings the last update cached, each with its digest asked of the
/// registry now, added to the plan. Returns how many could not be asked,
/// and the tags it keeps back with the reason.
pub(super) async fn tag_moves(
    settings: &Settings,
    state: &State,
    rows: &[Row],
    controls: &Controls,
    registries: &Registries,
    plan: &mut Vec<Planned>,
    p: &Printer,
) -> (usize, Vec<(Reference, String)>) {
    let cache = TagCache::load(&settings.state_dir);
    let by_digest: HashSet<&Reference> = plan.iter().map(|pl| &pl.reference).collect();
    let moves =
        plan::choose_tag_moves(rows, |r| settings.image_policy(r), &cache, state, controls, &by_digest);
    for note in &moves.notes {
        p.info(note);
    }
    let mut failed = 0;
    for (row, to, level) in moves.chosen {
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
    (failed, moves.kept_back)
}
