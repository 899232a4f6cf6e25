//! Which old versions may go. A candidate is a version an upgrade replaced
//! (recorded in the state), an untagged earlier version of a repository
//! that still has a tagged image here, or (on request) any dangling image.
//! The protections are absolute: an image a container uses, a held one, one
//! with dependent child images, one that carries a tag again, or one the
//! user's `--keep`/`--older-than` spare is kept, with the reason. Pure
//! logic; the command gathers the inventory and asks the engine.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::core::holds::Holds;
use crate::core::image::{Container, ImageLayers, LocalImage};
use crate::core::reference::Reference;
use crate::core::report::Selection;
use crate::core::state::State;

/// Seconds a dangling image is spared by default (docker-gc's grace period).
pub const DANGLING_GRACE: i64 = 3600;

/// Why an image is a candidate at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An upgrade replaced it (a record in the state).
    Superseded,
    /// Untagged, but its digests name a repository with a tagged image here.
    PreviousVersion,
    /// No tag, no digest (`--dangling`).
    Dangling,
}

#[derive(Debug, Clone)]
pub struct OldVersion {
    pub image_id: String,
    /// What to call it: the tag it was, or its digest reference.
    pub name: String,
    /// The tag it was (superseded) or a digest reference; None if dangling.
    pub reference: Option<Reference>,
    /// `--keep N` counts per group: the tag, or the repository.
    pub group: Option<String>,
    /// When it stopped being current (superseded) or was created, unix time.
    pub since: i64,
    pub origin: Origin,
    /// Tags it still carries that `upgrade --tags` made obsolete: retiring
    /// it removes them. Any other tag keeps it.
    pub untag: Vec<Reference>,
    /// Why this version never ran healthily here (see `Superseded::failed`):
    /// it is no rollback target, so `--keep` does not count it.
    pub failed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Retire,
    Keep(String),
}

/// Where `keep` came from, to name it as the user wrote it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeepFrom {
    /// `--keep N` (or nothing: then it is 0 and keeps nothing).
    #[default]
    Flag,
    /// `keep = N` in the config file.
    Config,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// Versions kept per tag, most recent first.
    pub keep: usize,
    pub keep_from: KeepFrom,
    /// Only versions at least this many seconds old go.
    pub older_than: Option<i64>,
    pub now: i64,
}

/// The host as the protections see it.
pub struct Inventory<'a> {
    pub images: &'a [LocalImage],
    /// Every image id (intermediates included) with its parent id.
    pub parents: &'a HashMap<String, String>,
    /// Images with a child told by layer chains (engines without parents).
    pub layer_parents: &'a HashSet<String>,
    pub containers: &'a [Container],
    pub holds: &'a Holds,
}

/// Every candidate on the host that the selection covers, each image once.
pub fn candidates(
    state: &State,
    images: &[LocalImage],
    selection: &Selection,
    dangling: bool,
) -> Vec<OldVersion> {
    let mut out = superseded(state, images, selection);
    let seen: HashSet<&str> = out.iter().map(|c| c.image_id.as_str()).collect();
    let mut untagged = untagged(state, images, selection, dangling, &seen);
    out.append(&mut untagged);
    // A version that failed here goes first: nothing can want it back.
    out.sort_by_key(|c| c.failed.is_none());
    out
}

/// The versions upgrades replaced (`state.superseded`) that no tag needs
/// any more, each once, named after its latest role.
fn superseded(state: &State, images: &[LocalImage], selection: &Selection) -> Vec<OldVersion> {
    let by_id: HashMap<&str, &LocalImage> = images.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    let mut records: Vec<_> = state.superseded.iter().collect();
    // Most recent record first, so an image replaced twice is named after
    // its latest role.
    records.sort_by(|a, b| b.replaced_at.cmp(&a.replaced_at));
    // Tags that a newer tag replaced, per image.
    let mut obsolete: HashMap<&str, Vec<Reference>> = HashMap::new();
    for rec in state.superseded.iter().filter(|r| r.tag_moved) {
        if let Ok(r) = Reference::parse(&rec.reference) {
            obsolete.entry(rec.image_id.as_str()).or_default().push(r);
        }
    }
    for rec in records {
        let Some(image) = by_id.get(rec.image_id.as_str()) else { continue };
        let Ok(reference) = Reference::parse(&rec.reference) else { continue };
        let moved = obsolete.get(image.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        if image.tags.iter().any(|t| !moved.contains(t)) || seen.contains(&image.id) {
            continue;
        }
        let selected = selection.matches(&reference) || image.digests.iter().any(|d| selection.matches(d));
        if !selected {
            continue;
        }
        seen.insert(image.id.clone());
        out.push(OldVersion {
            image_id: image.id.clone(),
            name: format!("{} ({})", reference.familiar(), crate::core::reference::short_digest(&image.id)),
            group: Some(reference.to_string()),
            reference: Some(reference),
            since: crate::core::time::parse_rfc3339(&rec.replaced_at).unwrap_or(image.created),
            origin: Origin::Superseded,
            untag: image.tags.clone(),
            failed: rec.failed.clone(),
        });
    }
    out
}

/// The untagged images not already among the superseded (`seen`): earlier
/// versions of a tracked repository, and with `dangling` the images with no
/// name at all.
fn untagged(
    state: &State,
    images: &[LocalImage],
    selection: &Selection,
    dangling: bool,
    seen: &HashSet<&str>,
) -> Vec<OldVersion> {
    let mut out = Vec::new();
    let evidence = crate::core::report::Evidence::new(state, images);
    for image in images.iter().filter(|i| i.tags.is_empty() && !seen.contains(i.id.as_str())) {
        let previous = image.digests.iter().find(|d| evidence.is_earlier(image, d) && selection.matches(d));
        let (name, group, reference, origin) = if let Some(d) = previous {
            (d.familiar(), Some(d.name()), Some(d.clone()), Origin::PreviousVersion)
        } else if let Some((tag, d)) = seen_under_a_tag(state, image, selection) {
            // No name left at all (podman after a pull over its tag), but
            // an update saw it under that tag.
            (d.familiar(), Some(tag.name()), Some(d), Origin::PreviousVersion)
        } else if dangling && image.digests.is_empty() && selection.include.is_empty() {
            let name = format!("<none> ({})", crate::core::reference::short_digest(&image.id));
            (name, None, None, Origin::Dangling)
        } else {
            continue;
        };
        out.push(OldVersion {
            image_id: image.id.clone(),
            name,
            group,
            reference,
            since: image.created,
            origin,
            untag: Vec::new(),
            failed: None,
        });
    }
    out
}

/// The hidden images (see `Snapshot::hidden`) that freshen knows as earlier
/// versions: replaced by an upgrade, or seen under a tag by an update. A
/// version stays one when the engine's listing leaves it out because
/// another image was built on it.
pub fn recorded_versions(state: &State, hidden: &[LocalImage]) -> Vec<LocalImage> {
    let known: HashSet<&str> = state
        .superseded
        .iter()
        .map(|r| r.image_id.as_str())
        .chain(state.seen.iter().map(|s| s.image_id.as_str()))
        .collect();
    hidden.iter().filter(|i| known.contains(i.id.as_str())).cloned().collect()
}

/// For an image with no name at all: the tag an update saw it under (and
/// its digest there), if the selection covers that tag.
fn seen_under_a_tag(
    state: &State,
    image: &LocalImage,
    selection: &Selection,
) -> Option<(Reference, Reference)> {
    if !image.digests.is_empty() {
        return None;
    }
    let mut records: Vec<_> = state.seen.iter().filter(|s| s.image_id == image.id).collect();
    records.sort_by(|a, b| b.at.cmp(&a.at));
    records.into_iter().find_map(|s| {
        let tag = Reference::parse(&s.reference).ok()?;
        let d = Reference::parse(&format!("{}@{}", tag.name(), s.digest)).ok()?;
        (selection.matches(&tag) || selection.matches(&d)).then_some((tag, d))
    })
}

/// The images another image builds on, told by layers alone: an image whose
/// layers (bottom first) start with all of another's, and has more, is its
/// child. For the containerd store and podman, which record no parent for a
/// `FROM` build of a pulled image; the engine's 409 stays the last guard.
pub fn layer_parents<'a>(layers: impl IntoIterator<Item = &'a ImageLayers>) -> HashSet<String> {
    let all: Vec<&ImageLayers> = layers.into_iter().filter(|l| !l.diff_ids.is_empty()).collect();
    // Every proper prefix of every chain, so each image is one lookup.
    let mut prefixes: HashSet<&[String]> = HashSet::new();
    for l in &all {
        for n in 1..l.diff_ids.len() {
            prefixes.insert(&l.diff_ids[..n]);
        }
    }
    all.iter().filter(|l| prefixes.contains(l.diff_ids.as_slice())).map(|l| l.id.clone()).collect()
}

/// The verdict for each candidate, in the same order.
pub fn decide(cands: &[OldVersion], inv: &Inventory<'_>, rules: &Rules) -> Vec<Decision> {
    let mut users: HashMap<&str, Vec<&Container>> = HashMap::new();
    for c in inv.containers {
        users.entry(c.image_id.as_str()).or_default().push(c);
    }
    let with_children: HashSet<&str> = inv.parents.values().map(String::as_str).collect();
    let tags: HashMap<&str, &LocalImage> = inv.images.iter().map(|i| (i.id.as_str(), i)).collect();
    // --keep: the N most recent candidates of each group stay, of those
    // that ran healthily (a failed version is no rollback target).
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in cands.iter().enumerate().filter(|(_, c)| c.failed.is_none()) {
        if let Some(g) = &c.group {
            groups.entry(g.as_str()).or_default().push(i);
        }
    }
    let mut kept_for_rollback: HashSet<usize> = HashSet::new();
    for members in groups.values_mut() {
        members.sort_by(|&a, &b| cands[b].since.cmp(&cands[a].since));
        kept_for_rollback.extend(members.iter().take(rules.keep).copied());
    }
    cands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if let Some(users) = users.get(c.image_id.as_str()) {
                let mut names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
                names.sort_unstable();
                let what = if names.len() == 1 { "container" } else { "containers" };
                return Decision::Keep(format!("used by {what} {}", names.join(", ")));
            }
            if c.reference.as_ref().is_some_and(|r| inv.holds.is_held(r)) {
                return Decision::Keep("held".into());
            }
            if with_children.contains(c.image_id.as_str()) || inv.layer_parents.contains(&c.image_id) {
                return Decision::Keep("has dependent child images".into());
            }
            if let Some(t) =
                tags.get(c.image_id.as_str()).and_then(|i| i.tags.iter().find(|t| !c.untag.contains(t)))
            {
                return Decision::Keep(format!("tagged as {}", t.familiar()));
            }
            if kept_for_rollback.contains(&i) {
                return Decision::Keep(match rules.keep_from {
                    KeepFrom::Flag => format!("kept for rollback (--keep {})", rules.keep),
                    KeepFrom::Config => {
                        format!("kept for rollback (keep = {} in the config file)", rules.keep)
                    }
                });
            }
            // A dangling image may be a build's intermediate that the build
            // is about to tag: an hour's grace unless --older-than says otherwise.
            if c.origin == Origin::Dangling
                && rules.older_than.is_none()
                && rules.now - c.since < DANGLING_GRACE
            {
                return Decision::Keep(format!(
                    "dangling for less than an hour (created {}); --older-than overrides",
                    crate::core::time::age(rules.now - c.since)
                ));
            }
            if let Some(min) = rules.older_than {
                if rules.now - c.since < min {
                    return Decision::Keep(format!(
                        "newer than --older-than ({})",
                        crate::core::time::age(rules.now - c.since)
                    ));
                }
            }
            Decision::Retire
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::state::Superseded;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn image(id: char, tags: &[&str], digests: &[String], created: i64) -> LocalImage {
        LocalImage {
            id: d(id),
            tags: tags.iter().map(|t| Reference::parse(t).unwrap()).collect(),
            digests: digests.iter().map(|x| Reference::parse(x).unwrap()).collect(),
            created,
            created_ns: None,
            size: 0,
            labels: Default::default(),
        }
    }

    fn record(id: char, reference: &str, at: &str) -> Superseded {
        Superseded {
            tag_moved: false,
            failed: None,
            image_id: d(id),
            reference: reference.into(),
            digest: None,
            replaced_at: at.into(),
            replaced_by: d('f'),
        }
    }

    #[test]
    fn hidden_images_count_only_when_recorded_as_versions() {
        use crate::core::state::Seen;
        let state = State {
            superseded: vec![record('1', "docker.io/library/app:1", "2026-01-01T00:00:00Z")],
            seen: vec![Seen {
                reference: "docker.io/library/app:1".into(),
                image_id: d('2'),
                digest: d('b'),
                at: "2026-01-01T00:00:00Z".into(),
            }],
            ..State::default()
        };
        // 1 replaced by an upgrade, 2 seen by an update, 3 a build step.
        let hidden = vec![image('1', &[], &[], 1), image('2', &[], &[], 2), image('3', &[], &[], 3)];
        let ids: Vec<String> = recorded_versions(&state, &hidden).into_iter().map(|i| i.id).collect();
        assert_eq!(ids, [d('1'), d('2')]);
    }

    #[test]
    fn an_image_without_names_that_an_update_saw_under_a_tag_is_an_earlier_version() {
        use crate::core::state::Seen;
        let seen = |id: char, reference: &str, digest: char| Seen {
            reference: reference.into(),
            image_id: d(id),
            digest: d(digest),
            at: "2026-01-01T00:00:00Z".into(),
        };
        let state = State {
            seen: vec![seen('1', "docker.io/library/app:1", 'a'), seen('2', "docker.io/library/app:1", 'b')],
            ..State::default()
        };
        let images = vec![
            image('1', &[], &[], 10),        // podman: every name gone after a pull over the tag
            image('2', &["app:1"], &[], 20), // the tag's image now
            image('3', &[], &[], 5),         // never seen under a tag: dangling, not a version
        ];
        let all = candidates(&state, &images, &Selection::default(), false);
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].image_id, d('1'));
        assert_eq!(all[0].origin, Origin::PreviousVersion);
        assert_eq!(all[0].name, format!("app@{}", d('a')));
        assert_eq!(all[0].group.as_deref(), Some("docker.io/library/app"));
        let other = Selection::new(&["other".to_string()], vec![]).unwrap();
        assert!(candidates(&state, &images, &other, false).is_empty());
        // With --dangling the unseen one comes too, as dangling.
        let with_dangling = candidates(&state, &images, &Selection::default(), true);
        assert_eq!(with_dangling.len(), 2);
        assert_eq!(with_dangling[1].origin, Origin::Dangling);
    }

    #[test]
    fn children_by_layer_chains() {
        let l = |id: char, diffs: &[char]| ImageLayers {
            id: d(id),
            diff_ids: diffs.iter().map(|c| d(*c)).collect(),
            sizes: vec![0; diffs.len()],
        };
        let layers = vec![
            l('1', &['a']),           // base
            l('2', &['a', 'b']),      // FROM base: a child of 1
            l('3', &['a', 'b', 'c']), // FROM 2: a child of 2 (and of 1)
            l('4', &['x', 'a']),      // contains a, but not at the bottom: no parent
            l('5', &['a', 'b']),      // same layers as 2, another config: not its child
            l('6', &[]),              // no layers: never anyone's parent
            l('7', &['y']),
        ];
        let mut got: Vec<String> = layer_parents(&layers).into_iter().collect();
        got.sort();
        assert_eq!(got, vec![d('1'), d('2'), d('5')]);
    }

    #[test]
    fn a_tag_moved_on_by_upgrade_tags_may_be_retired_with_its_version() {
        let old = d('1');
        let images = vec![
            image('1', &["postgres:16.2"], &[format!("postgres@{}", d('a'))], 10),
            image('2', &["postgres:16.4"], &[format!("postgres@{}", d('b'))], 20),
        ];
        let mut state = State::default();
        let mut rec = record('1', "docker.io/library/postgres:16.2", "2026-01-02T00:00:00Z");
        rec.tag_moved = true;
        state.superseded.push(rec);
        let c = candidates(&state, &images, &Selection::default(), false);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].image_id, old);
        assert_eq!(c[0].untag, vec![Reference::parse("postgres:16.2").unwrap()]);
        let parents = HashMap::new();
        let holds = Holds::default();
        let inv = Inventory {
            images: &images,
            parents: &parents,
            layer_parents: &HashSet::new(),
            containers: &[],
            holds: &holds,
        };
        assert_eq!(decide(&c, &inv, &Rules::default()), vec![Decision::Retire]);
        // A tag that was not moved on keeps it.
        let mut tagged = images.clone();
        tagged[0].tags.push(Reference::parse("postgres:mine").unwrap());
        assert!(candidates(&state, &tagged, &Selection::default(), false).is_empty());
        // Without the record the tag is the user's: not a candidate.
        assert!(candidates(&State::default(), &images, &Selection::default(), false).is_empty());
    }

    #[test]
    fn finds_superseded_previous_and_dangling() {
        let images = vec![
            image('1', &["nginx:latest"], &[format!("nginx@{}", d('a'))], 30),
            image('2', &[], &[format!("nginx@{}", d('b'))], 20),
            image('3', &[], &[format!("nginx@{}", d('c'))], 10),
            image('4', &[], &[format!("alpine@{}", d('d'))], 10),
            image('5', &[], &[], 10),
        ];
        let mut state = State::default();
        state.superseded.push(record('2', "docker.io/library/nginx:latest", "2026-01-02T00:00:00Z"));
        state.superseded.push(record('9', "docker.io/library/nginx:latest", "2026-01-01T00:00:00Z"));
        let all = Selection::default();
        let c = candidates(&state, &images, &all, false);
        let ids: Vec<(&str, Origin)> = c.iter().map(|c| (&c.image_id[7..8], c.origin)).collect();
        // alpine@ is pinned (no tagged alpine), so not a previous version.
        assert_eq!(ids, vec![("2", Origin::Superseded), ("3", Origin::PreviousVersion)]);
        assert_eq!(c[0].group.as_deref(), Some("docker.io/library/nginx:latest"));
        assert_eq!(c[1].group.as_deref(), Some("docker.io/library/nginx"));
        let c = candidates(&state, &images, &all, true);
        assert_eq!(c.len(), 3);
        assert_eq!(c[2].origin, Origin::Dangling);
        let only_redis = Selection::new(&["redis".into()], vec![]).unwrap();
        assert!(candidates(&state, &images, &only_redis, true).is_empty());
    }

    #[test]
    fn a_version_that_failed_here_never_counts_toward_keep_and_goes_first() {
        // 7.2.4 (good, replaced a week ago) and 7.3.1 (failed its gate and
        // rolled back just now): --keep 1 keeps the good one.
        let images = vec![
            image('1', &[], &[format!("cache@{}", d('a'))], 10),
            image('2', &[], &[format!("cache@{}", d('b'))], 30),
            image('3', &["cache:7"], &[], 20),
        ];
        let mut state = State {
            superseded: vec![
                record('1', "docker.io/library/cache:7", "2026-01-01T00:00:00Z"),
                record('2', "docker.io/library/cache:7", "2026-01-08T00:00:00Z"),
            ],
            ..State::default()
        };
        state.superseded[1].failed = Some("cache-1: exited with code 3".into());
        let cands = candidates(&state, &images, &Selection::default(), false);
        let ids: Vec<&str> = cands.iter().map(|c| c.image_id.as_str()).collect();
        assert_eq!(ids, [d('2').as_str(), d('1').as_str()], "the failed version is listed first");
        let holds = Holds::default();
        let inv = Inventory {
            images: &images,
            parents: &HashMap::new(),
            layer_parents: &HashSet::new(),
            containers: &[],
            holds: &holds,
        };
        let v = decide(&cands, &inv, &Rules { keep: 1, older_than: None, now: 100, ..Rules::default() });
        assert_eq!(v, vec![Decision::Retire, Decision::Keep("kept for rollback (--keep 1)".into())]);
        // The same value from the config file is named as the file spells it.
        let from_file = Rules { keep: 1, keep_from: KeepFrom::Config, now: 100, ..Rules::default() };
        assert_eq!(
            decide(&cands, &inv, &from_file)[1],
            Decision::Keep("kept for rollback (keep = 1 in the config file)".into())
        );
    }

    #[test]
    fn protections_win_and_keep_counts_per_group() {
        let images = vec![
            image('1', &[], &[format!("app@{}", d('a'))], 10),
            image('2', &[], &[format!("app@{}", d('b'))], 20),
            image('3', &[], &[format!("app@{}", d('c'))], 30),
            image('4', &[], &[format!("app@{}", d('e'))], 40),
            image('5', &["app:1"], &[], 50),
        ];
        let cand = |id: char, since: i64| OldVersion {
            image_id: d(id),
            name: id.to_string(),
            reference: Some(Reference::parse("app:1").unwrap()),
            group: Some("docker.io/library/app:1".into()),
            since,
            origin: Origin::Superseded,
            untag: Vec::new(),
            failed: None,
        };
        let cands = vec![cand('1', 10), cand('2', 20), cand('3', 30), cand('4', 40), cand('5', 5)];
        let mut parents = HashMap::new();
        parents.insert(d('8'), d('2'));
        let containers = vec![Container { name: "web".into(), image_id: d('1'), ..Default::default() }];
        let holds = Holds::default();
        let inv = Inventory {
            images: &images,
            parents: &parents,
            layer_parents: &HashSet::new(),
            containers: &containers,
            holds: &holds,
        };
        let v = decide(&cands, &inv, &Rules { keep: 1, older_than: Some(15), now: 45, ..Rules::default() });
        assert_eq!(
            v,
            vec![
                Decision::Keep("used by container web".into()),
                Decision::Keep("has dependent child images".into()),
                Decision::Retire,
                Decision::Keep("kept for rollback (--keep 1)".into()),
                Decision::Keep("tagged as app:1".into()),
            ]
        );
        let v =
            decide(&cands[2..3], &inv, &Rules { keep: 0, older_than: Some(60), now: 45, ..Rules::default() });
        assert!(matches!(&v[0], Decision::Keep(r) if r.starts_with("newer than")));
        let mut holds = Holds::default();
        holds.add("app:*".into());
        let inv = Inventory {
            images: &images,
            parents: &parents,
            layer_parents: &HashSet::new(),
            containers: &[],
            holds: &holds,
        };
        assert_eq!(decide(&cands[2..3], &inv, &Rules::default()), vec![Decision::Keep("held".into())]);
        // A fresh dangling image may be a build in progress: spared for an hour.
        let mut dangling = cands[2].clone();
        dangling.origin = Origin::Dangling;
        dangling.reference = None;
        let holds = Holds::default();
        let inv = Inventory {
            images: &images,
            parents: &parents,
            layer_parents: &HashSet::new(),
            containers: &[],
            holds: &holds,
        };
        let young = Rules { keep: 0, older_than: None, now: dangling.since + 60, ..Rules::default() };
        assert!(
            matches!(&decide(&[dangling.clone()], &inv, &young)[0], Decision::Keep(r) if r.starts_with("dangling for less"))
        );
        let old =
            Rules { keep: 0, older_than: None, now: dangling.since + DANGLING_GRACE, ..Rules::default() };
        assert_eq!(decide(&[dangling.clone()], &inv, &old), vec![Decision::Retire]);
        let explicit = Rules { keep: 0, older_than: Some(0), now: dangling.since + 60, ..Rules::default() };
        assert_eq!(decide(&[dangling], &inv, &explicit), vec![Decision::Retire]);
        // No parent recorded (containerd store, podman), a child by layers.
        let no_parents = HashMap::new();
        let layered: HashSet<String> = [d('3')].into_iter().collect();
        let inv = Inventory {
            images: &images,
            parents: &no_parents,
            layer_parents: &layered,
            containers: &[],
            holds: &holds,
        };
        assert_eq!(
            decide(&cands[2..3], &inv, &Rules::default()),
            vec![Decision::Keep("has dependent child images".into())]
        );
    }
}
