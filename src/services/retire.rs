//! Retiring images: the removals themselves and the space they free, shared
//! by `autoremove` and `upgrade`. Which images may go is decided in
//! `core::retire`; this carries the decision out on the engine.

use std::collections::{HashMap, HashSet};

use futures_util::stream::{self, StreamExt};

use crate::core::image::{ImageLayers, Snapshot};
use crate::core::reference::Reference;
use crate::core::retire::OldVersion;
use crate::core::space;
use crate::core::state::State;
use crate::engine::{Engine, Removal};
use crate::error::Result;
use crate::output::Printer;

/// Inspections in flight when reading every image's layers.
const INSPECT_CONCURRENCY: usize = 8;

/// The layers of every image (intermediates included), for the space count.
pub async fn all_layers(engine: &Engine, snapshot: &Snapshot) -> Result<HashMap<String, ImageLayers>> {
    let ids: Vec<&String> = snapshot.parents.keys().collect();
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

/// On engines that record no parents: which images others build on, told
/// by the layers `all_layers` read (the space count reuses them).
pub async fn find_layer_parents(
    engine: &Engine,
    snapshot: &mut Snapshot,
    layers: &HashMap<String, ImageLayers>,
) -> Result<()> {
    if !engine.model().await?.records_parents() {
        snapshot.layer_parents = crate::core::retire::layer_parents(layers.values());
    }
    Ok(())
}

/// Images the engine deletes along with `removed`: untagged parents left
/// with no other child and no container (it prunes them as `docker rmi`
/// does). They add no layers of their own, but must not count as remaining.
fn pruned_parents(snapshot: &Snapshot, removed: &HashSet<String>) -> HashSet<String> {
    let named: HashSet<&str> = snapshot
        .images
        .iter()
        .filter(|i| !i.tags.is_empty() || !i.digests.is_empty())
        .map(|i| i.id.as_str())
        .collect();
    let used: HashSet<&str> = snapshot.containers.iter().map(|c| c.image_id.as_str()).collect();
    let mut children: HashMap<&str, usize> = HashMap::new();
    for p in snapshot.parents.values().filter(|p| !p.is_empty()) {
        *children.entry(p.as_str()).or_default() += 1;
    }
    let mut out = HashSet::new();
    for id in removed {
        let mut cur = id.as_str();
        while let Some(parent) = snapshot.parents.get(cur).filter(|p| !p.is_empty()) {
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
pub fn freed(snapshot: &Snapshot, layers: &HashMap<String, ImageLayers>, removed: &HashSet<String>) -> u64 {
    let mut gone = removed.clone();
    gone.extend(pruned_parents(snapshot, removed));
    let (out, stay): (Vec<&ImageLayers>, Vec<&ImageLayers>) =
        layers.values().partition(|l| gone.contains(&l.id));
    space::freed_bytes(out, stay)
}

/// What happened to the images we tried to retire.
#[derive(Default)]
pub struct Retired {
    /// The ids of the images removed (not their names: a report that
    /// looked them up by name listed none).
    pub removed: Vec<String>,
    /// (name, reason) of the images the engine refused to remove.
    pub refused: Vec<(String, String)>,
    /// Every id the engine deleted, untagged parents included.
    pub deleted_ids: HashSet<String>,
}

/// Removes an image without force: by each of its `tags` (removing by tag
/// untags, and the last tag's removal deletes the image; by ID the engine
/// refuses an image with several tags unless forced), or by `id` when it
/// has none. Stops at the first refusal.
pub async fn remove_by_tags(engine: &Engine, tags: &[String], id: &str) -> Result<Removal> {
    if tags.is_empty() {
        return engine.remove(id).await;
    }
    let mut outcome = Removal::Missing;
    for name in tags {
        outcome = engine.remove(name).await?;
        if matches!(outcome, Removal::Refused(_)) {
            break;
        }
    }
    Ok(outcome)
}

/// Removes each candidate without force; a refusal is reported, not fatal.
pub async fn remove_all(engine: &Engine, cands: &[&OldVersion], p: &Printer) -> Result<Retired> {
    let mut r = Retired::default();
    for c in cands {
        let obsolete = |t: &String| Reference::parse(t).is_ok_and(|r| c.untag.contains(&r));
        // Removing by id would also untag it: if someone tagged it since
        // the plan (say, during the prompt), it is theirs again. Only tags
        // that `upgrade --tags` made obsolete may go with it.
        let names = match engine.tags_of(&c.image_id).await? {
            None => continue,
            Some(tags) if tags.iter().any(|t| !obsolete(t)) => {
                let reason = format!("tagged as {} since the plan", tags.join(", "));
                p.warn(&format!("{}: kept, {reason}", c.name));
                r.refused.push((c.name.clone(), reason));
                continue;
            }
            Some(tags) => tags,
        };
        match remove_by_tags(engine, &names, &c.image_id).await? {
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
pub fn deleted_bytes(snapshot: &Snapshot, layers: &HashMap<String, ImageLayers>, done: &Retired) -> u64 {
    let by_chain = space::sizes_by_chain(layers.values());
    let named: Vec<i64> = done.deleted_ids.iter().filter_map(|id| by_chain.get(id).copied()).collect();
    if named.is_empty() {
        freed(snapshot, layers, &done.deleted_ids)
    } else {
        named.into_iter().map(|s| s.max(0) as u64).sum()
    }
}

/// Drops the records of superseded versions that are no longer on the snapshot.
/// The hook directories of the versions gone from the host go with them
/// (see `services::hooks::forget_gone`).
pub fn forget_hook_dirs(dir: &std::path::Path, snapshot: &Snapshot) {
    super::hooks::forget_gone(dir, snapshot.parents.keys().map(String::as_str));
}

pub fn forget_gone(state: &mut State, snapshot: &Snapshot) {
    let present: HashSet<&str> = snapshot.parents.keys().map(String::as_str).collect();
    state.superseded.retain(|s| present.contains(s.image_id.as_str()));
    state.seen.retain(|s| present.contains(s.image_id.as_str()));
}
