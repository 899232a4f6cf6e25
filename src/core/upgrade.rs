//! The planning steps of an upgrade, pure: which upgradable tags are held
//! back, what the plan would retire (as if the tags had already moved),
//! the plan as apt words it, and the state after one tag was pulled. The
//! upgrade service (`services::upgrade`) runs them against the engine and
//! the registries; here they are driven by a `Snapshot` alone.

use std::collections::{BTreeMap, HashSet};

use crate::core::controls::{in_words, pick_tag};
use crate::core::holds::Holds;
use crate::core::image::{LocalImage, Snapshot};
use crate::core::policy::ImagePolicy;
use crate::core::recreate::{self, How, Skip};
use crate::core::reference::{short_digest, Reference};
use crate::core::report::{Row, Selection};
use crate::core::retire::{self, Decision, Inventory, OldVersion, Origin, Rules};
use crate::core::skips::Controls;
use crate::core::state::{Entry, State, Superseded};
use crate::core::tagcache::TagCache;
use crate::core::verdict::Status;
use crate::core::versions::{self, Level};

/// One tag to upgrade: from which image to which digest. With `to`, a
/// move to a newer tag (`--tags`): `digest` is that tag's, pulled and
/// tagged as `to`, and `reference` is the tag it makes obsolete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub reference: Reference,
    pub old_id: String,
    pub old_digest: Option<String>,
    pub digest: String,
    pub to: Option<(Reference, Level)>,
    /// The local and the new version, when both are known and differ
    /// (`1.27.3`, `1.27.4`): the plan then names versions, not images.
    pub versions: Option<(String, String)>,
}

impl Planned {
    /// The tag the pulled image gets.
    pub fn target(&self) -> &Reference {
        self.to.as_ref().map_or(&self.reference, |(to, _)| to)
    }
}

/// The upgradable rows to re-check and pull, and those kept back with the
/// reason: held, a skipped version, or a new image younger than its
/// minimum age (the rows marked by `report::mark_controls`; `now` words
/// the wait).
/// A version an upgrade tried and rolled back is such a skip, kept back as
/// `failed, rolled back` until the registry's tag moves.
pub fn split_held<'r>(rows: &'r [Row], holds: &Holds, now: i64) -> (Vec<&'r Row>, Vec<(Reference, String)>) {
    let mut wanted = Vec::new();
    let mut kept_back = Vec::new();
    for r in rows.iter().filter(|r| r.status == Status::Upgradable) {
        if holds.is_held(&r.reference) {
            kept_back.push((r.reference.clone(), "held".to_string()));
        } else if let Some(s) = &r.skipped {
            kept_back.push((r.reference.clone(), skip_reason(s)));
        } else if let Some(c) = &r.cooldown {
            let when = crate::core::controls::in_words(c.available_at - now);
            kept_back.push((r.reference.clone(), format!("cooldown: available {when}")));
        } else {
            wanted.push(r);
        }
    }
    (wanted, kept_back)
}

/// Why a tag is kept back after a rollback, as the plan says it.
pub const FAILED: &str = crate::core::skips::REASON_ROLLED_BACK;

/// Why a skipped version is kept back, as the plan says it: `skipped`, or
/// `failed, rolled back` for a version an upgrade rolled back.
pub fn skip_reason(s: &crate::core::skips::Skip) -> String {
    if s.rolled_back().is_some() {
        FAILED.to_string()
    } else {
        "skipped".to_string()
    }
}

/// What `--tags` chose: the moves to ask the registry about, the tags kept
/// back with the reason, and notes for stderr (a newer tag still in its
/// cooldown passed over for an older one).
#[derive(Debug, Default)]
pub struct TagMoves<'r> {
    pub chosen: Vec<(&'r Row, Reference, Level)>,
    pub kept_back: Vec<(Reference, String)>,
    pub notes: Vec<String>,
}

/// `--tags`: for each selected tag that is a version, the newest newer tag
/// its policy allows (from the listings the last update cached) that has
/// waited out its minimum age and is not skipped, unless the tag is held,
/// already upgraded by digest in this run (`by_digest`), or the newer tag
/// is already here. A newer tag still in its cooldown with nothing older to
/// offer, and a skipped one, are kept back with the reason.
pub fn choose_tag_moves<'r>(
    rows: &'r [Row],
    policy_of: impl Fn(&Reference) -> ImagePolicy,
    cache: &TagCache,
    state: &State,
    controls: &Controls,
    by_digest: &HashSet<&Reference>,
) -> TagMoves<'r> {
    let present: HashSet<&Reference> = rows.iter().map(|r| &r.reference).collect();
    let mut moves = TagMoves::default();
    for r in rows {
        let Some(tag) = r.reference.tag.as_deref() else { continue };
        if r.status == Status::Pinned || by_digest.contains(&r.reference) {
            continue;
        }
        let policy = policy_of(&r.reference);
        if policy.hold || controls.holds.is_held(&r.reference) {
            continue;
        }
        let Some(tags) = cache.tags(&r.reference.name()) else { continue };
        let Some(newer) = versions::newer_tags(tag, tags, &policy.rules) else { continue };
        let within: Vec<&versions::NewerVersion> = newer.table.iter().filter(|c| c.within_policy).collect();
        let key = r.reference.to_string();
        let ages = state.tag_ages.get(&key);
        // A skipped tag is passed over, not a reason to offer nothing: with
        // 17.0 skipped, 16.3 within the policy is still offered.
        let is_skipped = |c: &versions::NewerVersion| {
            let digest = ages.and_then(|a| a.get(c.tag())).and_then(|a| a.digest.as_deref());
            controls.skips.tag_skipped(&key, c.tag(), digest).is_some()
        };
        let (skipped, offered): (Vec<&versions::NewerVersion>, Vec<&versions::NewerVersion>) =
            within.iter().partition(|c| is_skipped(c));
        let (pick, waiting) = pick_tag(&offered, |c| c.tag(), ages, controls.now, controls.min_age);
        let Some(pick) = pick else {
            if let Some((c, wait)) = waiting {
                let when = in_words(wait.available_at - controls.now);
                moves
                    .kept_back
                    .push((r.reference.clone(), format!("cooldown: {} available {when}", c.tag())));
            } else if let (Some(c), _) = pick_tag(&skipped, |c| c.tag(), ages, controls.now, Some(0)) {
                moves.kept_back.push((r.reference.clone(), format!("skipped: {}", c.tag())));
            }
            continue;
        };
        let to = Reference { tag: Some(pick.tag().to_string()), digest: None, ..r.reference.clone() };
        if present.contains(&to) {
            continue;
        }
        if let Some((c, wait)) = waiting {
            let when = in_words(wait.available_at - controls.now);
            moves.notes.push(format!(
                "{}: {} is in its cooldown (available {when}); moving to {} instead.",
                r.reference.familiar(),
                c.tag(),
                pick.tag()
            ));
        }
        moves.chosen.push((r, to, pick.level));
    }
    moves
}

/// The containers of a pulled tag did not pass the health gate and the tag
/// points at the old image again: the entry says upgradable again, the old
/// version is no longer superseded, the new one is (so autoremove can
/// retire it). The caller records the digest as skipped (reason
/// `failed, rolled back`) so later upgrades leave it.
pub fn merge_rollback(state: &mut State, pl: &Planned, new_id: &str, now: &str, why: &str) {
    let key = pl.reference.to_string();
    let age = state.entries.iter().find(|e| e.reference == key).and_then(|e| e.age.clone());
    state.entries.retain(|e| e.reference != key);
    state.entries.push(Entry {
        reference: key.clone(),
        status: Status::Upgradable,
        image_id: pl.old_id.clone(),
        local_digest: pl.old_digest.clone(),
        remote_digest: Some(pl.digest.clone()),
        checked_at: now.to_string(),
        error: None,
        age,
        stale: None,
    });
    state.entries.sort_by(|a, b| a.reference.cmp(&b.reference));
    state.superseded.retain(|s| !(s.image_id == pl.old_id && s.reference == key));
    state.superseded.retain(|s| !(s.image_id == new_id && s.reference == key));
    state.superseded.push(Superseded {
        image_id: new_id.to_string(),
        reference: key.clone(),
        digest: Some(pl.digest.clone()),
        replaced_at: now.to_string(),
        replaced_by: pl.old_id.clone(),
        tag_moved: false,
        failed: Some(why.to_string()),
    });
}

/// A signal stopped the upgrade of a pulled tag before its containers ran
/// the new version healthily, and the tag points at the old image again:
/// the tag is upgradable as before (an interruption is no verdict, so no
/// skip), and the new image is recorded as a version that never ran, so
/// that no rollback goes to it, `--keep` does not count it and the next
/// upgrade, which pulls it again, finds it at once.
pub fn merge_interrupted(state: &mut State, pl: &Planned, new_id: &str, now: &str) {
    merge_rollback(
        state,
        pl,
        new_id,
        now,
        "the upgrade to it was interrupted before it passed its health gate",
    );
}

/// The record of the version a planned upgrade replaces.
pub fn record(pl: &Planned, now: &str, replaced_by: &str) -> Superseded {
    Superseded {
        image_id: pl.old_id.clone(),
        reference: pl.reference.to_string(),
        digest: pl.old_digest.clone(),
        replaced_at: now.to_string(),
        replaced_by: replaced_by.to_string(),
        tag_moved: pl.to.is_some(),
        failed: None,
    }
}

/// After one tag was pulled and tagged: the tag is current (so `list`
/// agrees without another `update`) and the version it replaced is
/// superseded.
pub fn merge_upgrade(state: &mut State, pl: &Planned, new_id: &str, now: &str) {
    let key = pl.target().to_string();
    state.entries.retain(|e| e.reference != key);
    state.entries.push(Entry {
        reference: key,
        status: Status::UpToDate,
        image_id: new_id.to_string(),
        local_digest: Some(pl.digest.clone()),
        remote_digest: Some(pl.digest.clone()),
        checked_at: now.to_string(),
        error: None,
        age: None,
        stale: None,
    });
    state.entries.sort_by(|a, b| a.reference.cmp(&b.reference));
    // The new image may be a version recorded as replaced before (an
    // interrupted or rolled-back upgrade to the same digest): it is current
    // now, not an old version.
    let target = pl.target().to_string();
    state.superseded.retain(|s| !(s.image_id == new_id && s.reference == target));
    state.superseded.push(record(pl, now, new_id));
}

/// The superseded versions of the upgraded tags (`groups`), with their
/// decisions.
pub fn retire_plan(
    state: &State,
    images: &[LocalImage],
    snapshot: &Snapshot,
    holds: &Holds,
    rules: &Rules,
    groups: &HashSet<String>,
) -> Vec<(OldVersion, Decision)> {
    let cands: Vec<OldVersion> = retire::candidates(state, images, &Selection::default(), false)
        .into_iter()
        .filter(|c| c.origin == Origin::Superseded && c.group.as_ref().is_some_and(|g| groups.contains(g)))
        .collect();
    let inv = Inventory {
        images,
        parents: &snapshot.parents,
        layer_parents: &snapshot.layer_parents,
        containers: &snapshot.containers,
        holds,
    };
    let decisions = retire::decide(&cands, &inv, rules);
    cands.into_iter().zip(decisions).collect()
}

/// The versions the plan would retire, decided as if the tags had already
/// moved: each planned tag's old version superseded, the tag gone from it
/// (unless it moves to a newer tag, which keeps the old tag until its
/// version is retired), and a newer tag already here landing on its image.
#[cfg(test)]
pub fn retirement_preview(
    state: &State,
    snapshot: &Snapshot,
    plan: &[Planned],
    holds: &Holds,
    rules: &Rules,
    now: &str,
) -> Vec<OldVersion> {
    retirement_preview_all(state, snapshot, plan, holds, rules, now)
        .into_iter()
        .filter(|(_, d)| *d == Decision::Retire)
        .map(|(c, _)| c)
        .collect()
}

/// Every old version the upgrade replaces, with what would become of it:
/// retired, or kept and why (for the plan's `These images are kept:`).
pub fn retirement_preview_all(
    state: &State,
    snapshot: &Snapshot,
    plan: &[Planned],
    holds: &Holds,
    rules: &Rules,
    now: &str,
) -> Vec<(OldVersion, Decision)> {
    let mut simulated = state.clone();
    let mut images_after = snapshot.images.clone();
    for pl in plan {
        simulated.superseded.push(record(pl, now, "(new)"));
        for i in images_after.iter_mut().filter(|i| i.id == pl.old_id && pl.to.is_none()) {
            i.tags.retain(|t| t != &pl.reference);
        }
        // The image to pull may be here already (an earlier upgrade to it
        // was interrupted or rolled back): the tag will carry it, so it is
        // the upgrade's target, never a version it retires.
        let target = pl.target();
        let known: HashSet<&str> = state
            .superseded
            .iter()
            .filter(|s| s.reference == target.to_string() && s.digest.as_deref() == Some(pl.digest.as_str()))
            .map(|s| s.image_id.as_str())
            .collect();
        for i in images_after.iter_mut().filter(|i| {
            i.id != pl.old_id
                && (known.contains(i.id.as_str()) || i.digests_in(target).any(|d| d == pl.digest))
        }) {
            if !i.tags.contains(target) {
                i.tags.push(target.clone());
            }
        }
        if let Some((to, _)) = &pl.to {
            for i in images_after.iter_mut().filter(|i| i.digests_in(to).any(|d| d == pl.digest)) {
                i.tags.push(to.clone());
            }
        }
    }
    let groups: HashSet<String> = plan.iter().map(|pl| pl.reference.to_string()).collect();
    retire_plan(&simulated, &images_after, snapshot, holds, rules, &groups)
}

/// The plan as apt shows it, before asking, with the containers to
/// recreate (and how) and those left as they are (and why; `--no-recreate`
/// goes without saying).
///
/// One kind of identifier: the versions when both are known, else the
/// image ID `docker images` shows and the digest to pull, labelled as one.
pub fn plan_lines(
    plan: &[Planned],
    kept_back: &[(Reference, String)],
    containers: &recreate::Plan,
    to_retire: &[OldVersion],
    kept: &[(OldVersion, String)],
    failed: usize,
) -> Vec<String> {
    let mut lines = Vec::new();
    if plan.iter().any(|pl| pl.to.is_none()) {
        lines.push("The following images will be upgraded:".to_string());
        for pl in plan.iter().filter(|pl| pl.to.is_none()) {
            lines.push(match &pl.versions {
                Some((old, new)) => format!("  {} ({old} => {new})", pl.reference.familiar()),
                None => format!(
                    "  {} ({} => sha256:{})",
                    pl.reference.familiar(),
                    short_digest(&pl.old_id),
                    short_digest(&pl.digest)
                ),
            });
        }
    }
    if plan.iter().any(|pl| pl.to.is_some()) {
        lines.push("The following tags will be moved to newer versions:".to_string());
        for pl in plan {
            if let Some((to, level)) = &pl.to {
                lines.push(format!("  {} => {} ({level})", pl.reference.familiar(), to.familiar()));
            }
        }
    }
    if !kept_back.is_empty() {
        lines.push("The following images have been kept back:".to_string());
        for (r, why) in kept_back {
            lines.push(format!("  {} ({why})", r.familiar()));
        }
    }
    let familiar =
        |reference: &str| Reference::parse(reference).map_or(reference.to_string(), |r| r.familiar());
    if !containers.recreate.is_empty() {
        lines.push("The following containers will be recreated:".to_string());
        for c in &containers.recreate {
            let how = match &c.how {
                How::Container => "container".to_string(),
                How::Compose(s) => format!("compose project {}, service {}", s.project, s.service),
            };
            lines.push(format!("  {} ({}): {how}", c.name, familiar(&c.reference)));
            for d in &c.dependents {
                lines.push(format!("  {d}: container, it shares the network of {}", c.name));
            }
        }
    }
    let skipped: Vec<_> = containers.skipped.iter().filter(|(_, _, s)| *s != Skip::NoRecreate).collect();
    if !skipped.is_empty() {
        lines.push("The following containers will not be recreated:".to_string());
        for (name, reference, why) in skipped {
            lines.push(format!("  {name} ({}): {why}", familiar(reference)));
        }
    }
    if !to_retire.is_empty() {
        lines.push("The following images will be retired:".to_string());
        for c in to_retire {
            lines.push(format!("  {}", c.name));
        }
    }
    if !kept.is_empty() {
        lines.push("These images are kept:".to_string());
        for (c, why) in kept {
            lines.push(format!("  {}: {why}", c.name));
        }
    }
    let recreating = match containers.recreate.len() {
        0 => String::new(),
        n => format!("{n} to recreate, "),
    };
    lines.push(format!(
        "{} upgraded, {recreating}{} to retire, {} kept back{}.",
        plan.len(),
        to_retire.len(),
        kept_back.len(),
        if failed > 0 { format!(", {failed} failed") } else { String::new() }
    ));
    lines
}

/// The images whose tags the plan upgrades by digest, each with those
/// tags: their containers are the ones to recreate. An image may carry
/// several upgraded tags (each container stays on its own); tag moves are
/// left out, their containers keep the old tag.
pub fn upgraded_images(plan: &[Planned]) -> BTreeMap<String, Vec<String>> {
    let mut images: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pl in plan.iter().filter(|pl| pl.to.is_none()) {
        images.entry(pl.old_id.clone()).or_default().push(pl.reference.to_string());
    }
    images
}

/// What the plan would retire and what it keeps (with the reason), as if
/// the tags had already moved and the containers it recreates already ran
/// the new version.
pub fn retirement_split(
    state: &State,
    snapshot: &Snapshot,
    plan: &[Planned],
    containers: &recreate::Plan,
    holds: &Holds,
    rules: &Rules,
    now: &str,
) -> (Vec<OldVersion>, Vec<(OldVersion, String)>) {
    let mut after = snapshot.clone();
    for c in after.containers.iter_mut() {
        if containers.recreate.iter().any(|r| r.name == c.name) {
            c.image_id = "(new)".into();
        }
    }
    let mut go = Vec::new();
    let mut stay = Vec::new();
    for (c, d) in retirement_preview_all(state, &after, plan, holds, rules, now) {
        match d {
            Decision::Retire => go.push(c),
            Decision::Keep(why) => stay.push((c, why)),
        }
    }
    (go, stay)
}

/// What an upgrade did, counted for its last line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub upgraded: usize,
    /// None when the plan had no container to recreate.
    pub recreated: Option<usize>,
    pub retired: usize,
    pub kept_back: usize,
    pub rolled_back: usize,
    pub failed: usize,
}

impl Summary {
    /// `2 upgraded, 1 recreated, 1 retired, 0 kept back, 1 failed.`: the
    /// counts that are not zero by nature only when there are some.
    pub fn line(&self) -> String {
        format!(
            "{} upgraded, {}{} retired, {} kept back{}{}.",
            self.upgraded,
            self.recreated.map(|n| format!("{n} recreated, ")).unwrap_or_default(),
            self.retired,
            self.kept_back,
            if self.rolled_back == 0 { String::new() } else { format!(", {} rolled back", self.rolled_back) },
            if self.failed > 0 { format!(", {} failed", self.failed) } else { String::new() }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::image::Container;
    use crate::core::report::rows;

    const NOW: &str = "2026-03-01T00:00:00Z";

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    fn image(id: char, tags: &[&str], digest: Option<(&str, char)>) -> LocalImage {
        LocalImage {
            id: d(id),
            tags: tags.iter().map(|t| r(t)).collect(),
            digests: digest.map(|(repo, c)| r(&format!("{repo}@{}", d(c)))).into_iter().collect(),
            created: 1_700_000_000,
            created_ns: None,
            size: 10,
            labels: Default::default(),
        }
    }

    fn entry(reference: &str, status: Status, id: char, local: char, remote: char) -> Entry {
        Entry {
            reference: r(reference).to_string(),
            status,
            image_id: d(id),
            local_digest: Some(d(local)),
            remote_digest: Some(d(remote)),
            checked_at: "2026-02-28T00:00:00Z".into(),
            error: None,
            age: None,
            stale: None,
        }
    }

    /// nginx:latest (image a, upgradable to digest b) and redis:7 (image c,
    /// up to date), with a stopped container on nothing of theirs.
    fn snapshot() -> (State, Snapshot) {
        let state = State {
            entries: vec![
                entry("nginx:latest", Status::Upgradable, 'a', '1', 'b'),
                entry("redis:7", Status::UpToDate, 'c', '2', '2'),
            ],
            ..State::default()
        };
        let snapshot = Snapshot {
            images: vec![
                image('a', &["nginx:latest"], Some(("nginx", '1'))),
                image('c', &["redis:7"], Some(("redis", '2'))),
            ],
            containers: vec![],
            parents: [(d('a'), String::new()), (d('c'), String::new())].into_iter().collect(),
            layer_parents: Default::default(),
            hidden: vec![],
        };
        (state, snapshot)
    }

    fn planned(reference: &str, old: char, old_digest: char, digest: char) -> Planned {
        Planned {
            reference: r(reference),
            old_id: d(old),
            old_digest: Some(d(old_digest)),
            digest: d(digest),
            to: None,
            versions: None,
        }
    }

    fn rules(keep: usize) -> Rules {
        Rules { keep, older_than: None, now: 1_800_000_000, ..Rules::default() }
    }

    #[test]
    fn held_tags_are_kept_back_and_the_rest_wanted() {
        let (state, snap) = snapshot();
        let rows = rows(&state, &snap.images, &snap.containers, &Selection::default());
        let (wanted, kept) = split_held(&rows, &Holds::default_new(), 0);
        assert_eq!(wanted.iter().map(|w| w.reference.familiar()).collect::<Vec<_>>(), ["nginx:latest"]);
        assert!(kept.is_empty());

        let mut holds = Holds::default_new();
        holds.add(r("nginx:latest").to_string());
        let (wanted, kept) = split_held(&rows, &holds, 0);
        assert!(wanted.is_empty());
        assert_eq!(kept, vec![(r("nginx:latest"), "held".to_string())]);

        // A skipped version, and one still in its cooldown, stay back too.
        let mut marked = rows.clone();
        marked[0].cooldown = Some(crate::core::controls::Cooldown {
            available_at: 2 * 86_400,
            source: crate::core::controls::AgeSource::Created,
            min_age_seconds: 3 * 86_400,
        });
        let (wanted, kept) = split_held(&marked, &Holds::default_new(), 0);
        assert!(wanted.is_empty());
        assert_eq!(kept, vec![(r("nginx:latest"), "cooldown: available in 2 days".to_string())]);
    }

    #[test]
    fn the_replaced_version_is_retired_unless_something_needs_it() {
        let (state, mut snap) = snapshot();
        let plan = vec![planned("nginx:latest", 'a', '1', 'b')];
        let go = retirement_preview(&state, &snap, &plan, &Holds::default_new(), &rules(0), NOW);
        assert_eq!(go.iter().map(|c| c.image_id.clone()).collect::<Vec<_>>(), vec![d('a')]);
        assert_eq!(go[0].name, format!("nginx:latest ({})", short_digest(&d('a'))));

        // --keep 1 keeps it for rollback.
        assert!(retirement_preview(&state, &snap, &plan, &Holds::default_new(), &rules(1), NOW).is_empty());

        // A container on the old version keeps it too.
        snap.containers.push(Container { name: "web".into(), image_id: d('a'), ..Container::default() });
        assert!(retirement_preview(&state, &snap, &plan, &Holds::default_new(), &rules(0), NOW).is_empty());

        // The preview leaves the state alone.
        assert!(state.superseded.is_empty());
    }

    #[test]
    fn a_tag_move_keeps_the_old_tag_until_its_version_goes() {
        let (state, snap) = snapshot();
        let mut pl = planned("redis:7", 'c', '2', 'e');
        pl.to = Some((r("redis:8"), Level::Major));
        assert_eq!(pl.target(), &r("redis:8"));
        let go = retirement_preview(&state, &snap, &[pl.clone()], &Holds::default_new(), &rules(0), NOW);
        assert_eq!(go.iter().map(|c| c.image_id.clone()).collect::<Vec<_>>(), vec![d('c')]);
        assert_eq!(go[0].untag, vec![r("redis:7")], "retiring it removes the obsolete tag");
    }

    #[test]
    fn tag_moves_pick_the_newest_allowed_tag_unless_held_or_already_done() {
        let (state, snap) = snapshot();
        let rows = rows(&state, &snap.images, &snap.containers, &Selection::default());
        let mut cache = TagCache::default();
        let listing = ["6", "7", "8", "9"].map(String::from).to_vec();
        cache.repositories.insert(r("redis:7").name(), crate::core::tagcache::Listing::new(0, listing));
        let controls = Controls { holds: Holds::default_new(), ..Controls::default() };
        let none = HashSet::new();
        let open = |_: &Reference| ImagePolicy::default();
        let moves = choose_tag_moves(&rows, open, &cache, &state, &controls, &none);
        let chosen: Vec<_> =
            moves.chosen.iter().map(|(row, to, l)| (row.reference.clone(), to.clone(), *l)).collect();
        assert_eq!(chosen, vec![(r("redis:7"), r("redis:9"), Level::Major)]);
        assert!(moves.kept_back.is_empty() && moves.notes.is_empty());

        // Up to minor: 7 has no newer minor tag, nothing moves.
        let minor = |_: &Reference| ImagePolicy {
            rules: crate::core::versions::TagRules { max_level: Level::Minor, ..Default::default() },
            ..ImagePolicy::default()
        };
        assert!(choose_tag_moves(&rows, minor, &cache, &state, &controls, &none).chosen.is_empty());

        // Held (by `freshen hold` or the config), or already upgraded by
        // digest in this run: left alone.
        let mut held = controls.clone();
        held.holds.add(r("redis:7").to_string());
        assert!(choose_tag_moves(&rows, open, &cache, &state, &held, &none).chosen.is_empty());
        let config_hold = |_: &Reference| ImagePolicy { hold: true, ..ImagePolicy::default() };
        assert!(choose_tag_moves(&rows, config_hold, &cache, &state, &controls, &none).chosen.is_empty());
        let redis = r("redis:7");
        let by_digest: HashSet<&Reference> = [&redis].into_iter().collect();
        assert!(choose_tag_moves(&rows, open, &cache, &state, &controls, &by_digest).chosen.is_empty());

        // The newest is skipped: the next newest within the policy is
        // offered, not nothing; with every one skipped, kept back.
        let skip = |tag: &str| crate::core::skips::Skip {
            reference: r("redis:7").to_string(),
            digest: None,
            tag: Some(tag.into()),
            tag_digest: None,
            version: None,
            reason: "skipped with 'freshen skip'".into(),
            at: NOW.into(),
        };
        let mut skipping = controls.clone();
        skipping.skips.record(skip("9"));
        let moves = choose_tag_moves(&rows, open, &cache, &state, &skipping, &none);
        let chosen: Vec<_> =
            moves.chosen.iter().map(|(row, to, _)| (row.reference.clone(), to.clone())).collect();
        assert_eq!(chosen, vec![(r("redis:7"), r("redis:8"))]);
        assert!(moves.kept_back.is_empty());
        skipping.skips.record(skip("8"));
        let moves = choose_tag_moves(&rows, open, &cache, &state, &skipping, &none);
        assert!(moves.chosen.is_empty());
        assert_eq!(moves.kept_back, vec![(r("redis:7"), "skipped: 9".to_string())]);
    }

    #[test]
    fn the_containers_to_recreate_are_those_of_tags_upgraded_by_digest() {
        let mut moved = planned("redis:7", 'c', '2', 'e');
        moved.to = Some((r("redis:8"), Level::Major));
        let plan = vec![planned("nginx:latest", 'a', '1', 'b'), planned("nginx:1.27", 'a', '1', 'b'), moved];
        let images = upgraded_images(&plan);
        assert_eq!(images.len(), 1, "a tag move recreates nothing: {images:?}");
        assert_eq!(images[&d('a')], vec![r("nginx:latest").to_string(), r("nginx:1.27").to_string()]);
    }

    #[test]
    fn a_recreated_container_no_longer_keeps_the_old_version() {
        let (state, mut snap) = snapshot();
        snap.containers.push(Container {
            name: "web".into(),
            image: "nginx:latest".into(),
            image_id: d('a'),
            ..Container::default()
        });
        let plan = vec![planned("nginx:latest", 'a', '1', 'b')];
        let holds = Holds::default_new();
        let none = recreate::Plan::default();
        let (go, kept) = retirement_split(&state, &snap, &plan, &none, &holds, &rules(0), NOW);
        assert!(go.is_empty());
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].0.image_id, d('a'));
        assert!(kept[0].1.contains("web"), "the reason names the container: {}", kept[0].1);

        let web = recreate::Planned {
            name: "web".into(),
            id: "c1".into(),
            reference: r("nginx:latest").to_string(),
            how: How::Container,
            dependents: vec![],
            joins: None,
        };
        let recreating = recreate::Plan { recreate: vec![web], skipped: vec![] };
        let (go, kept) = retirement_split(&state, &snap, &plan, &recreating, &holds, &rules(0), NOW);
        assert_eq!(go.iter().map(|c| c.image_id.clone()).collect::<Vec<_>>(), vec![d('a')]);
        assert!(kept.is_empty());
        assert_eq!(snap.containers[0].image_id, d('a'), "the snapshot is left alone");
    }

    #[test]
    fn the_summary_names_recreations_rollbacks_and_failures_only_when_they_apply() {
        let mut s = Summary { upgraded: 2, retired: 1, kept_back: 3, ..Summary::default() };
        assert_eq!(s.line(), "2 upgraded, 1 retired, 3 kept back.");
        s.recreated = Some(0);
        assert_eq!(s.line(), "2 upgraded, 0 recreated, 1 retired, 3 kept back.");
        s.rolled_back = 1;
        s.failed = 2;
        assert_eq!(s.line(), "2 upgraded, 0 recreated, 1 retired, 3 kept back, 1 rolled back, 2 failed.");
    }

    #[test]
    fn merging_a_pulled_tag_makes_it_current_and_supersedes_the_old_version() {
        let (mut state, _) = snapshot();
        let pl = planned("nginx:latest", 'a', '1', 'b');
        merge_upgrade(&mut state, &pl, &d('n'), NOW);
        let e = state.entries.iter().find(|e| e.reference == r("nginx:latest").to_string()).unwrap();
        assert_eq!(e.status, Status::UpToDate);
        assert_eq!(
            (e.image_id.as_str(), e.local_digest.as_deref()),
            (d('n').as_str(), Some(d('b').as_str()))
        );
        assert_eq!(e.remote_digest, e.local_digest);
        assert_eq!(e.checked_at, NOW);
        assert_eq!(state.entries.len(), 2, "replaced, not added");
        let refs: Vec<&str> = state.entries.iter().map(|e| e.reference.as_str()).collect();
        let mut sorted = refs.clone();
        sorted.sort();
        assert_eq!(refs, sorted);
        assert_eq!(state.superseded, vec![record(&pl, NOW, &d('n'))]);
        assert_eq!(state.superseded[0].image_id, d('a'));
        assert!(!state.superseded[0].tag_moved);

        // A move records under the new tag and marks the old one obsolete.
        let mut mv = planned("redis:7", 'c', '2', 'e');
        mv.to = Some((r("redis:8"), Level::Major));
        merge_upgrade(&mut state, &mv, &d('m'), NOW);
        assert!(state
            .entries
            .iter()
            .any(|e| e.reference == r("redis:8").to_string() && e.image_id == d('m')));
        assert!(state
            .entries
            .iter()
            .any(|e| e.reference == r("redis:7").to_string() && e.image_id == d('c')));
        assert!(state.superseded[1].tag_moved);
    }

    #[test]
    fn the_plan_reads_like_apt() {
        let mut mv = planned("redis:7", 'c', '2', 'e');
        mv.to = Some((r("redis:8"), Level::Major));
        let (state, snap) = snapshot();
        let plan = vec![planned("nginx:latest", 'a', '1', 'b'), mv];
        let go = retirement_preview(&state, &snap, &plan[..1], &Holds::default_new(), &rules(0), NOW);
        let lines = plan_lines(
            &plan,
            &[(r("postgres:16"), "held".to_string())],
            &recreate::Plan::default(),
            &go,
            &[],
            0,
        );
        assert_eq!(
            lines,
            vec![
                "The following images will be upgraded:".to_string(),
                format!("  nginx:latest ({} => sha256:{})", short_digest(&d('a')), short_digest(&d('b'))),
                "The following tags will be moved to newer versions:".to_string(),
                "  redis:7 => redis:8 (major)".to_string(),
                "The following images have been kept back:".to_string(),
                "  postgres:16 (held)".to_string(),
                "The following images will be retired:".to_string(),
                format!("  nginx:latest ({})", short_digest(&d('a'))),
                "2 upgraded, 1 to retire, 1 kept back.".to_string(),
            ]
        );
        assert_eq!(
            plan_lines(&[], &[], &recreate::Plan::default(), &[], &[], 0),
            vec!["0 upgraded, 0 to retire, 0 kept back.".to_string()]
        );
        assert_eq!(
            plan_lines(&[], &[], &recreate::Plan::default(), &[], &[], 1),
            vec!["0 upgraded, 0 to retire, 0 kept back, 1 failed.".to_string()]
        );
    }

    #[test]
    fn the_plan_names_the_containers_and_why_some_stay() {
        let containers = recreate::Plan {
            recreate: vec![recreate::Planned {
                name: "web".into(),
                id: "1".into(),
                reference: r("nginx:latest").to_string(),
                how: How::Container,
                dependents: vec!["side".into()],
                joins: None,
            }],
            skipped: vec![
                ("idle".into(), r("nginx:latest").to_string(), Skip::Stopped),
                ("quiet".into(), r("nginx:latest").to_string(), Skip::NoRecreate),
            ],
        };
        let plan = vec![planned("nginx:latest", 'a', '1', 'b')];
        let lines = plan_lines(&plan, &[(r("redis:7"), FAILED.to_string())], &containers, &[], &[], 0);
        assert_eq!(
            lines[2..],
            [
                "The following images have been kept back:".to_string(),
                "  redis:7 (failed, rolled back)".to_string(),
                "The following containers will be recreated:".to_string(),
                "  web (nginx:latest): container".to_string(),
                "  side: container, it shares the network of web".to_string(),
                "The following containers will not be recreated:".to_string(),
                "  idle (nginx:latest): stopped".to_string(),
                "1 upgraded, 1 to recreate, 0 to retire, 1 kept back.".to_string(),
            ]
        );
    }

    #[test]
    fn the_image_an_interrupted_upgrade_pulled_is_its_next_target_never_retired() {
        let (mut state, mut snap) = snapshot();
        let pl = planned("nginx:latest", 'a', '1', 'b');
        merge_upgrade(&mut state, &pl, &d('n'), NOW);
        merge_interrupted(&mut state, &pl, &d('n'), NOW);
        let key = r("nginx:latest").to_string();
        let e = state.entries.iter().find(|e| e.reference == key).unwrap();
        assert_eq!((e.status, e.image_id.as_str()), (Status::Upgradable, d('a').as_str()));
        let rec = state.superseded.iter().find(|s| s.image_id == d('n')).unwrap();
        assert!(rec.failed.as_deref().unwrap().contains("interrupted"));
        assert!(
            !state.superseded.iter().any(|s| s.image_id == d('a')),
            "the version the containers run is no old version"
        );
        // The pulled image stays, untagged, with its digest (classic store)
        // or with no name at all (containerd store, podman).
        for digests in [Some(("nginx", 'b')), None] {
            snap.images.retain(|i| i.id != d('n'));
            snap.images.push(image('n', &[], digests));
            let plan = vec![pl.clone()];
            let (go, kept) = retirement_split(
                &state,
                &snap,
                &plan,
                &Default::default(),
                &Holds::default_new(),
                &rules(0),
                NOW,
            );
            assert!(go.iter().all(|c| c.image_id != d('n')), "target listed as retired: {go:?}");
            assert!(kept.iter().all(|(c, _)| c.image_id != d('n')), "target listed as kept: {kept:?}");
        }
    }

    #[test]
    fn a_rollback_makes_the_tag_upgradable_again_and_remembers_the_digest() {
        let (mut state, snap) = snapshot();
        let pl = planned("nginx:latest", 'a', '1', 'b');
        merge_upgrade(&mut state, &pl, &d('n'), NOW);
        merge_rollback(&mut state, &pl, &d('n'), NOW, "web: it is unhealthy");
        let key = r("nginx:latest").to_string();
        let e = state.entries.iter().find(|e| e.reference == key).unwrap();
        assert_eq!((e.status, e.image_id.as_str()), (Status::Upgradable, d('a').as_str()));
        assert_eq!(e.remote_digest.as_deref(), Some(d('b').as_str()));
        assert_eq!(state.superseded.len(), 1);
        assert_eq!(
            (state.superseded[0].image_id.as_str(), state.superseded[0].replaced_by.as_str()),
            (d('n').as_str(), d('a').as_str())
        );
        assert_eq!(state.superseded[0].failed.as_deref(), Some("web: it is unhealthy"));
        // Upgrading to it again later makes it current, no longer a version
        // replaced (nor one an upgrade could retire).
        let mut again = state.clone();
        merge_upgrade(&mut again, &pl, &d('n'), NOW);
        assert!(again.superseded.iter().all(|s| s.image_id != d('n')));
        // Recorded as a skip, the next plan keeps it back while the
        // registry has that digest.
        let mut skips = crate::core::skips::Skips::default();
        skips.record(crate::core::skips::Skip {
            reference: key.clone(),
            digest: Some(d('b')),
            tag: None,
            tag_digest: None,
            version: None,
            reason: crate::core::skips::rolled_back_reason("web: it is unhealthy"),
            at: NOW.into(),
        });
        let controls = crate::core::skips::Controls { skips, ..Default::default() };
        let mut rows = rows(&state, &snap.images, &snap.containers, &Selection::default());
        crate::core::report::mark_controls(&mut rows, &state, &controls);
        let (_, kept) = split_held(&rows, &Holds::default_new(), 0);
        assert_eq!(kept, vec![(r("nginx:latest"), FAILED.to_string())]);
    }
}
