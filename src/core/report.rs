//! What to check and what to show: the local tags selected by the user's
//! patterns, and the state of the last update joined with a fresh look at
//! the local images. Pure functions over the inventory; no I/O.

use std::collections::{HashMap, HashSet};

use crate::core::image::{Container, LocalImage};
use crate::core::policy::ImagePolicy;
use crate::core::reference::{Forms, Pattern, Reference};
use crate::core::state::State;
use crate::core::tagcache::{TagCache, LABEL_SOURCE, LABEL_VERSION};
use crate::core::verdict::Status;
use crate::core::versions::{self, Level, Version};

/// The user's selection: patterns to include (all when empty) and
/// patterns from the config file to leave alone.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub include: Vec<Pattern>,
    pub exclude: Vec<Pattern>,
}

impl Selection {
    pub fn new(patterns: &[String], exclude: Vec<Pattern>) -> Result<Selection, crate::error::Error> {
        let include = patterns
            .iter()
            .map(|p| {
                Pattern::new(p).map_err(|e| crate::error::Error::BadReference { input: p.clone(), detail: e })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Selection { include, exclude })
    }

    pub fn is_everything(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    pub fn matches(&self, r: &Reference) -> bool {
        if self.is_everything() {
            return true;
        }
        let forms = Forms::of(r);
        (self.include.is_empty() || self.include.iter().any(|p| p.matches_forms(&forms)))
            && !self.exclude.iter().any(|p| p.matches_forms(&forms))
    }
}

/// One local tag to check against its registry.
#[derive(Debug, Clone)]
pub struct LocalTag<'a> {
    pub reference: Reference,
    pub image: &'a LocalImage,
}

/// Every selected local tag, sorted so runs are reproducible.
pub fn targets<'a>(images: &'a [LocalImage], selection: &Selection) -> Vec<LocalTag<'a>> {
    let mut out: Vec<LocalTag<'a>> = images
        .iter()
        .flat_map(|image| {
            image
                .tags
                .iter()
                .filter(|t| t.tag.is_some() && selection.matches(t))
                .map(move |t| LocalTag { reference: t.clone(), image })
        })
        .collect();
    out.sort_by(|a, b| a.reference.cmp(&b.reference));
    out.dedup_by(|a, b| a.reference == b.reference);
    out
}

/// The patterns of a command line that match none of the `known` local
/// references, as one line that says what to do, or None when each matches
/// something. Like `apt-get install nosuch`, a typo is an error, not an empty
/// run that reads as "nothing to do". A short name that is the end of a known
/// repository elsewhere (`app` for `127.0.0.1:5000/ns/app`) gets "did you mean".
pub fn unmatched_patterns<'a>(
    patterns: &[String],
    known: impl IntoIterator<Item = &'a Reference> + Clone,
) -> Option<String> {
    let missing: Vec<&String> = patterns
        .iter()
        .filter(|p| Pattern::new(p).is_ok_and(|pat| !known.clone().into_iter().any(|r| pat.matches(r))))
        .collect();
    missing.first()?;
    let quoted = missing.iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", ");
    let mut meant: Vec<String> = Vec::new();
    for p in &missing {
        // `name` or `name:tag`; a colon before the last slash is a port.
        let (name, tag) = match p.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, Some(tag)),
            _ => (p.as_str(), None),
        };
        let suffix = format!("/{name}");
        for r in known.clone() {
            if r.repository == name || r.repository.ends_with(&suffix) || r.name().ends_with(&suffix) {
                let mut guess = r.familiar_name();
                if let Some(tag) = tag {
                    guess.push(':');
                    guess.push_str(tag);
                }
                if guess != **p && !meant.contains(&guess) {
                    meant.push(guess);
                }
            }
        }
    }
    meant.sort();
    Some(match meant.as_slice() {
        [] => format!("no local tag matches {quoted}: run 'freshen list' to see the local tags"),
        [one] => format!(
            "no local tag matches {quoted}: did you mean '{one}'? (a name without a registry is on Docker Hub)"
        ),
        more => format!(
            "no local tag matches {quoted}: did you mean {}? (a name without a registry is on Docker Hub)",
            more.iter().take(3).map(|m| format!("'{m}'")).collect::<Vec<_>>().join(" or ")
        ),
    })
}

/// Untagged images that were pulled by digest on purpose: a container
/// names them by digest, or nothing proves them an earlier version of a
/// tag here (see [`Evidence::is_earlier`]).
pub fn pinned<'a>(
    state: &State,
    images: &'a [LocalImage],
    containers: &[Container],
    selection: &Selection,
) -> Vec<(Reference, &'a LocalImage)> {
    let evidence = Evidence::new(state, images);
    let by_digest: HashSet<&str> = containers
        .iter()
        .filter(|c| c.image.contains("@sha256:") || c.image.contains("@sha512:"))
        .map(|c| c.image_id.as_str())
        .collect();
    let mut out = Vec::new();
    for image in images.iter().filter(|i| i.tags.is_empty()) {
        for d in &image.digests {
            if (by_digest.contains(image.id.as_str()) || !evidence.is_earlier(image, d))
                && selection.matches(d)
            {
                out.push((d.clone(), image));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The newest tagged image of one repository: its creation time in
/// seconds and, where the engine gave it, in nanoseconds.
#[derive(Debug, Clone, Copy)]
struct Newest {
    secs: i64,
    /// None if any tagged image of that second lacks a precise time.
    nanos: Option<i128>,
}

/// What proves an untagged image an earlier version of a repository that
/// has a tagged image here. Removal needs proof; a tie or a lack of
/// evidence keeps the image (it may be a pin the user pulled on purpose).
pub struct Evidence {
    newest: HashMap<(String, String), Newest>,
    /// (image id, registry, repository): freshen's own record that an
    /// update saw the image under a tag of that repository.
    seen: HashSet<(String, String, String)>,
}

impl Evidence {
    pub fn new(state: &State, images: &[LocalImage]) -> Evidence {
        let mut newest: HashMap<(String, String), Newest> = HashMap::new();
        for i in images {
            for t in &i.tags {
                let here = Newest { secs: i.created, nanos: i.created_ns };
                let at = newest.entry((t.registry.clone(), t.repository.clone())).or_insert(here);
                if i.created > at.secs {
                    *at = here;
                } else if i.created == at.secs {
                    at.nanos = match (at.nanos, i.created_ns) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    };
                }
            }
        }
        let seen = state
            .seen
            .iter()
            .filter_map(|s| {
                let r = Reference::parse(&s.reference).ok()?;
                Some((s.image_id.clone(), r.registry, r.repository))
            })
            .collect();
        Evidence { newest, seen }
    }

    /// Whether the untagged `image`, known by digest `d`, is an earlier
    /// version of its repository: an update saw it under a tag there, or it
    /// was created strictly before the newest tagged image of it (to the
    /// nanosecond when the seconds are equal). A build newer than what is
    /// tagged, or one of the same instant, was pulled by digest on purpose.
    pub fn is_earlier(&self, image: &LocalImage, d: &Reference) -> bool {
        let key = (d.registry.clone(), d.repository.clone());
        if self.seen.contains(&(image.id.clone(), key.0.clone(), key.1.clone())) {
            return true;
        }
        let Some(n) = self.newest.get(&key) else { return false };
        match image.created.cmp(&n.secs) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal => matches!((image.created_ns, n.nanos), (Some(a), Some(b)) if a < b),
        }
    }
}

/// For the engine: the untagged images with a digest whose creation second
/// equals that of the newest tagged image of their repository, and those
/// tagged images: only a precise creation time tells them apart.
pub fn creation_ties(images: &[LocalImage]) -> Vec<String> {
    let mut newest: HashMap<(&str, &str), i64> = HashMap::new();
    for i in images {
        for t in &i.tags {
            let at = newest.entry((&t.registry, &t.repository)).or_insert(i.created);
            *at = (*at).max(i.created);
        }
    }
    let mut tied: HashSet<(&str, &str)> = HashSet::new();
    let mut ids: Vec<String> = Vec::new();
    for i in images.iter().filter(|i| i.tags.is_empty()) {
        for d in &i.digests {
            let key = (d.registry.as_str(), d.repository.as_str());
            if newest.get(&key) == Some(&i.created) {
                tied.insert(key);
                ids.push(i.id.clone());
            }
        }
    }
    for i in images.iter().filter(|i| !i.tags.is_empty()) {
        let ties = i.tags.iter().any(|t| {
            let key = (t.registry.as_str(), t.repository.as_str());
            tied.contains(&key) && newest.get(&key) == Some(&i.created)
        });
        if ties {
            ids.push(i.id.clone());
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

/// One line of `freshen list`.
#[derive(Debug, Clone)]
pub struct Row {
    pub reference: Reference,
    pub status: Status,
    pub image_id: String,
    pub local_digest: Option<String>,
    pub remote_digest: Option<String>,
    pub checked_at: Option<String>,
    pub error: Option<String>,
    pub created: i64,
    pub size: i64,
    /// On hold (`freshen hold`): never upgraded, shown as kept back.
    pub held: bool,
    pub version: VersionView,
    /// The registry's new image must wait out its minimum age.
    pub cooldown: Option<crate::core::controls::Cooldown>,
    /// The registry's new image is a version the user skipped.
    pub skipped: Option<crate::core::skips::Skip>,
    /// When the latest check failed while this row shows an earlier
    /// check's verdict (see `core::update::keep_verdict`).
    pub stale: Option<String>,
    /// A pre-upgrade hook deferred the registry's version (the reason);
    /// the next upgrade tries again.
    pub deferred: Option<String>,
}

impl Row {
    /// The registry's version was tried by an upgrade and rolled back: the
    /// skip that keeps it back (until the tag moves or `unskip`).
    pub fn rolled_back(&self) -> Option<&crate::core::skips::Skip> {
        self.skipped.as_ref().filter(|s| self.status == Status::Upgradable && s.rolled_back().is_some())
    }

    /// A row about `image` with nothing learnt from a registry yet.
    fn new(reference: Reference, status: Status, image: &LocalImage) -> Row {
        Row {
            reference,
            status,
            image_id: image.id.clone(),
            local_digest: None,
            remote_digest: None,
            checked_at: None,
            error: None,
            created: image.created,
            size: image.size,
            held: false,
            version: VersionView::default(),
            cooldown: None,
            skipped: None,
            stale: None,
            deferred: None,
        }
    }
}

/// Marks the rows whose update is skipped or waits out its minimum age.
pub fn mark_controls(rows: &mut [Row], state: &State, controls: &crate::core::skips::Controls) {
    use crate::core::skips::HoldBack;
    let entries: HashMap<&str, &crate::core::state::Entry> =
        state.entries.iter().map(|e| (e.reference.as_str(), e)).collect();
    for r in rows.iter_mut() {
        let key = r.reference.to_string();
        let ages = state.tag_ages.get(&key);
        // The newer tag on offer: the newest that has waited out its
        // minimum age; a newer one still waiting shows when it comes.
        if !r.version.candidates.is_empty() {
            let (pick, waiting) = crate::core::controls::pick_tag(
                &r.version.candidates,
                |c| c.tag.as_str(),
                ages,
                controls.now,
                controls.min_age,
            );
            r.version.tag_cooldown = waiting.map(|(c, wait)| (c.clone(), wait));
            r.version.candidate = pick.cloned();
        }
        // A skipped newer tag is not a candidate any more.
        let tag_skip = r
            .version
            .candidate
            .as_ref()
            .and_then(|c| {
                let digest = ages.and_then(|a| a.get(&c.tag)).and_then(|a| a.digest.as_deref());
                controls.skips.tag_skipped(&key, &c.tag, digest)
            })
            .cloned();
        if let Some(s) = tag_skip {
            r.version.candidate = None;
            if r.status != Status::Upgradable {
                r.skipped = Some(s);
            }
        }
        if r.status != Status::Upgradable {
            continue;
        }
        r.deferred = state
            .superseded
            .iter()
            .filter(|s| s.reference == key && s.digest.is_some() && s.digest == r.remote_digest)
            .filter_map(|s| s.failed.clone())
            .find(|f| f.starts_with(crate::core::hooks::DEFERRED));
        let Some(e) = entries.get(key.as_str()).filter(|e| e.image_id == r.image_id) else { continue };
        match controls.hold_back(e) {
            Some(HoldBack::Skipped(s)) => r.skipped = Some(s.clone()),
            Some(HoldBack::Cooldown(c)) => r.cooldown = Some(c),
            // `mark_held` marks held rows, from the holds themselves.
            Some(HoldBack::Held) | None => {}
        }
    }
}

/// Marks the rows a hold covers.
pub fn mark_held(rows: &mut [Row], holds: &crate::core::holds::Holds) {
    for r in rows {
        r.held = holds.is_held(&r.reference);
    }
}

/// The versions side of a row, from the tag cache and the labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionView {
    /// The local image's `org.opencontainers.image.version`, else the tag
    /// if it is a version.
    pub current: Option<String>,
    /// The registry's image for the same tag, when it is newer: its version
    /// label and creation time, from its config.
    pub remote: Option<String>,
    pub remote_created: Option<String>,
    /// The newer tag an upgrade moves to (the newest within the image's
    /// policy that is neither skipped nor waiting out its minimum age),
    /// and the newest of all.
    pub candidate: Option<NewerTag>,
    /// Every newer tag within the policy, newest first.
    pub candidates: Vec<NewerTag>,
    /// The newest of those while it waits out its minimum age, if it is
    /// newer than the candidate.
    pub tag_cooldown: Option<(NewerTag, crate::core::controls::Cooldown)>,
    pub newest: Option<NewerTag>,
    /// The newest newer tag at each level (patch, minor, major), and
    /// whether the policy allows it.
    pub by_level: Vec<(NewerTag, bool)>,
    /// A link to what changed in the candidate version.
    pub release_notes: Option<String>,
}

/// A newer tag as a row shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewerTag {
    pub tag: String,
    pub version: String,
    pub level: Level,
}

impl From<&versions::NewerVersion> for NewerTag {
    fn from(c: &versions::NewerVersion) -> NewerTag {
        NewerTag { tag: c.tag().to_string(), version: c.version.display(), level: c.level }
    }
}

impl Row {
    /// `patch`/`minor`/`major` for a newer tag within policy, `digest` when
    /// only the tag's image changed, None when there is nothing to do.
    pub fn update_level(&self) -> Option<Level> {
        match &self.version.candidate {
            Some(c) => Some(c.level),
            None if self.status == Status::Upgradable => Some(Level::Digest),
            None => None,
        }
    }

    /// The version an upgrade would bring: the candidate tag's, else the
    /// registry's image label for the same tag.
    pub fn candidate_version(&self) -> Option<&str> {
        match &self.version.candidate {
            Some(c) => Some(&c.version),
            None if self.status == Status::Upgradable => self.version.remote.as_deref(),
            None => None,
        }
    }
}

/// Fills in each row's versions from the local labels, the cached tag
/// listings and remote labels, and the image policies. No I/O.
pub fn annotate(
    rows: &mut [Row],
    images: &[LocalImage],
    cache: &TagCache,
    policy: impl Fn(&Reference) -> ImagePolicy,
) {
    let by_id: HashMap<&str, &LocalImage> = images.iter().map(|i| (i.id.as_str(), i)).collect();
    for row in rows.iter_mut() {
        let Some(tag) = row.reference.tag.clone() else { continue };
        let label = by_id
            .get(row.image_id.as_str())
            .and_then(|i| i.labels.get(LABEL_VERSION))
            .filter(|v| !v.trim().is_empty())
            .cloned();
        let parsed = Version::parse(&tag);
        let mut view = VersionView {
            current: label.or_else(|| parsed.as_ref().map(Version::display)),
            ..VersionView::default()
        };
        if row.status == Status::Upgradable {
            if let Some(remote) = row.remote_digest.as_deref().and_then(|d| cache.images.get(d)) {
                view.remote = remote.version.clone();
                view.remote_created = remote.created.clone();
            }
        }
        if let Some(tags) = cache.tags(&row.reference.name()) {
            let rules = policy(&row.reference).rules;
            if let Some(newer) = versions::newer_tags(&tag, tags, &rules) {
                view.candidate = newer.candidate().map(NewerTag::from);
                view.candidates =
                    newer.table.iter().filter(|c| c.within_policy).map(NewerTag::from).collect();
                view.newest = newer.newest().map(NewerTag::from);
                for level in [Level::Patch, Level::Minor, Level::Major] {
                    if let Some(c) = newer.table.iter().find(|c| c.level == level) {
                        view.by_level.push((NewerTag::from(c), c.within_policy));
                    }
                }
            }
        }
        row.version = view;
    }
}

/// Links each row's new version to its release notes (see
/// `controls::release_notes`): the candidate tag's image (its labels read
/// by `update` when it aged the tag) or the registry's new image for the
/// same tag. After `mark_controls`, which settles the candidate.
pub fn link_release_notes(
    rows: &mut [Row],
    images: &[LocalImage],
    cache: &TagCache,
    state: &State,
    policy: impl Fn(&Reference) -> ImagePolicy,
) {
    let by_id: HashMap<&str, &LocalImage> = images.iter().map(|i| (i.id.as_str(), i)).collect();
    for row in rows.iter_mut() {
        let Some(tag) = row.reference.tag.clone() else { continue };
        let (new_tag, digest) = match &row.version.candidate {
            Some(c) => {
                let ages = state.tag_ages.get(&row.reference.to_string());
                (c.tag.clone(), ages.and_then(|a| a.get(&c.tag)).and_then(|a| a.digest.clone()))
            }
            None if row.status == Status::Upgradable => (tag, row.remote_digest.clone()),
            None => continue,
        };
        let remote = digest.as_deref().and_then(|d| cache.images.get(d));
        let label = remote.and_then(|i| i.version.clone());
        let source = remote
            .and_then(|i| i.source.clone())
            .or_else(|| by_id.get(row.image_id.as_str()).and_then(|i| i.labels.get(LABEL_SOURCE)).cloned());
        row.version.release_notes = crate::core::controls::release_notes(
            policy(&row.reference).changelog.as_deref(),
            source.as_deref(),
            crate::core::controls::Spelling { label: label.as_deref(), tag: Some(&new_tag) },
        );
    }
}

/// The local digest to show for a tag: the one matching the registry if
/// there is one, else the first in sorted order.
pub fn local_digest(image: &LocalImage, reference: &Reference, remote: Option<&str>) -> Option<String> {
    let mut digests: Vec<&str> = image.digests_in(reference).collect();
    if let Some(r) = remote.filter(|r| digests.contains(r)) {
        return Some(r.to_string());
    }
    digests.sort_unstable();
    digests.first().map(|d| d.to_string())
}

/// Joins the last update with what is on the host now. A tag whose image
/// changed since the update is current if the new image is the one the
/// registry reported; otherwise it needs a new update, and says so.
pub fn rows(
    state: &State,
    images: &[LocalImage],
    containers: &[Container],
    selection: &Selection,
) -> Vec<Row> {
    // One lookup per tag: thousands of tags must not cost a scan each.
    let entries: HashMap<&str, &crate::core::state::Entry> =
        state.entries.iter().map(|e| (e.reference.as_str(), e)).collect();
    let mut out = Vec::new();
    for t in targets(images, selection) {
        let image = t.image;
        let key = t.reference.to_string();
        let mut row = Row::new(t.reference, Status::Unknown, image);
        // What the last update found installed, while the image is the same.
        let mut recorded: Option<Option<String>> = None;
        match entries.get(key.as_str()).copied() {
            None => row.error = Some("not checked yet: run 'freshen update'".into()),
            Some(e) if e.image_id == image.id => {
                row.status = e.status;
                recorded = Some(e.local_digest.clone());
                row.remote_digest = e.remote_digest.clone();
                row.checked_at = Some(e.checked_at.clone());
                row.error = e.error.clone();
                // The error stays the failure's own words (the JSON's
                // `error`); `stale` says the verdict is an earlier one.
                row.stale = e.stale.clone();
            }
            Some(e) => {
                row.remote_digest = e.remote_digest.clone();
                row.checked_at = Some(e.checked_at.clone());
                let pulled_since = e
                    .remote_digest
                    .as_deref()
                    .is_some_and(|r| image.id == r || image.digests_in(&row.reference).any(|d| d == r));
                if pulled_since {
                    row.status = Status::UpToDate;
                } else {
                    row.error =
                        Some("the local image changed since the last update: run 'freshen update'".into());
                }
            }
        }
        // A local-only image's own RepoDigest (containerd store, podman)
        // names no registry's manifest: it is no digest to show.
        row.local_digest = match recorded {
            // The update's record: on the containerd store and podman it
            // knows better than RepoDigests (a pushed digest podman did not
            // record, a local build's own digest that no registry has).
            Some(digest) => digest,
            None => local_digest(image, &row.reference, row.remote_digest.as_deref()),
        };
        out.push(row);
    }
    // A version an upgrade (or a rollback) replaced is an old version, not a pin.
    let replaced: HashSet<&str> = state.superseded.iter().map(|r| r.image_id.as_str()).collect();
    for (reference, image) in pinned(state, images, containers, selection) {
        if replaced.contains(image.id.as_str()) {
            continue;
        }
        let mut row = Row::new(reference, Status::Pinned, image);
        row.local_digest = row.reference.digest.clone();
        out.push(row);
    }
    out.sort_by(|a, b| a.reference.cmp(&b.reference));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::state::Entry;

    #[test]
    fn a_pattern_that_matches_nothing_is_named_with_what_it_may_mean() {
        let known: Vec<Reference> = ["127.0.0.1:5000/ns/app:1", "nginx:1.27", "ghcr.io/org/tool:2"]
            .iter()
            .map(|r| Reference::parse(r).unwrap())
            .collect();
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            unmatched_patterns(&p(&["nginx", "127.0.0.1:5000/*", "ghcr.io/org/tool:*"]), &known),
            None
        );
        assert_eq!(unmatched_patterns(&p(&[]), &known), None);
        assert_eq!(
            unmatched_patterns(&p(&["nosuch"]), &known).unwrap(),
            "no local tag matches 'nosuch': run 'freshen list' to see the local tags"
        );
        assert_eq!(
            unmatched_patterns(&p(&["app:1"]), &known).unwrap(),
            "no local tag matches 'app:1': did you mean '127.0.0.1:5000/ns/app:1'? \
             (a name without a registry is on Docker Hub)"
        );
        assert_eq!(
            unmatched_patterns(&p(&["nginx", "ns/app", "nosuch:2"]), &known).unwrap(),
            "no local tag matches 'ns/app', 'nosuch:2': did you mean '127.0.0.1:5000/ns/app'? \
             (a name without a registry is on Docker Hub)"
        );
    }

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn image(id: char, tags: &[&str], digests: &[String]) -> LocalImage {
        LocalImage {
            id: d(id),
            tags: tags.iter().map(|t| Reference::parse(t).unwrap()).collect(),
            digests: digests.iter().map(|x| Reference::parse(x).unwrap()).collect(),
            created: 0,
            created_ns: None,
            size: 0,
            labels: Default::default(),
        }
    }

    fn entry(reference: &str, id: char, status: Status, remote: Option<String>) -> Entry {
        Entry {
            reference: reference.into(),
            status,
            image_id: d(id),
            local_digest: None,
            remote_digest: remote,
            checked_at: "2026-01-01T00:00:00Z".into(),
            error: None,
            age: None,
            stale: None,
        }
    }

    #[test]
    fn selection_and_targets() {
        let images = vec![image('1', &["nginx:1", "nginx:latest"], &[]), image('2', &["ghcr.io/o/a:2"], &[])];
        let all = targets(&images, &Selection::default());
        assert_eq!(all.len(), 3);
        let sel = Selection::new(&["nginx:*".into()], vec![]).unwrap();
        assert_eq!(targets(&images, &sel).len(), 2);
        let sel = Selection::new(&[], vec![Pattern::new("ghcr.io/*").unwrap()]).unwrap();
        assert!(targets(&images, &sel).iter().all(|t| t.reference.registry == "docker.io"));
    }

    #[test]
    fn pulled_since_update_is_not_upgradable() {
        let new = d('9');
        let images = vec![image('2', &["nginx:latest"], &[format!("nginx@{new}")])];
        let mut state = State::default();
        state.entries.push(entry(
            "docker.io/library/nginx:latest",
            '1',
            Status::Upgradable,
            Some(new.clone()),
        ));
        let rows = rows(&state, &images, &[], &Selection::default());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, Status::UpToDate);
        assert_eq!(rows[0].local_digest.as_deref(), Some(new.as_str()));
    }

    #[test]
    fn changed_or_unchecked_images_are_unknown() {
        let images = vec![image('2', &["nginx:latest", "redis:7"], &[])];
        let mut state = State::default();
        state.entries.push(entry("docker.io/library/nginx:latest", '1', Status::UpToDate, Some(d('5'))));
        let rows = rows(&state, &images, &[], &Selection::default());
        assert_eq!(rows[0].status, Status::Unknown);
        assert!(rows[0].error.as_deref().unwrap().contains("changed since"));
        assert_eq!(rows[1].status, Status::Unknown);
        assert!(rows[1].error.as_deref().unwrap().contains("not checked yet"));
    }

    #[test]
    fn pinned_images_are_those_pulled_by_digest() {
        let (a, b) = (d('a'), d('b'));
        let mut tagged = image('2', &["nginx:latest"], &[]);
        tagged.created = 10;
        let images =
            vec![image('1', &[], &[format!("alpine@{a}")]), tagged, image('3', &[], &[format!("nginx@{b}")])];
        let state = State::default();
        let p = pinned(&state, &images, &[], &Selection::default());
        assert_eq!(p.len(), 1, "an untagged older nginx is a previous version, not pinned");
        assert_eq!(p[0].0.to_string(), format!("docker.io/library/alpine@{a}"));
        let c = Container { image: format!("nginx@{b}"), image_id: d('3'), ..Default::default() };
        assert_eq!(pinned(&state, &images, &[c], &Selection::default()).len(), 2);
    }

    #[test]
    fn ties_and_missing_evidence_keep_a_pin() {
        let b = d('b');
        let pin = |created: i64, ns: Option<i128>| {
            let mut i = image('3', &[], &[format!("nginx@{b}")]);
            i.created = created;
            i.created_ns = ns;
            i
        };
        let tagged = |ns: Option<i128>| {
            let mut i = image('2', &["nginx:1.26"], &[]);
            i.created = 100;
            i.created_ns = ns;
            i
        };
        let state = State::default();
        let earlier = |images: &[LocalImage]| {
            let e = Evidence::new(&state, images);
            e.is_earlier(&images[1], &images[1].digests[0])
        };
        // The same second, nothing finer known: kept (a pin), never removed.
        assert!(!earlier(&[tagged(None), pin(100, None)]));
        assert!(!earlier(&[tagged(Some(100_000_000_100)), pin(100, None)]));
        // The same second, and the pin was built later within it: a pin.
        assert!(!earlier(&[tagged(Some(100_100_000_000)), pin(100, Some(100_900_000_000))]));
        // The same instant: kept.
        assert!(!earlier(&[tagged(Some(100_500_000_000)), pin(100, Some(100_500_000_000))]));
        // Strictly earlier, to the nanosecond or by seconds: an old version.
        assert!(earlier(&[tagged(Some(100_900_000_000)), pin(100, Some(100_100_000_000))]));
        assert!(earlier(&[tagged(None), pin(99, None)]));
        // Newer, but an update saw it under the tag: an old version.
        let seen = State {
            seen: vec![crate::core::state::Seen {
                reference: "docker.io/library/nginx:1.26".into(),
                image_id: d('3'),
                digest: b.clone(),
                at: "2026-01-01T00:00:00Z".into(),
            }],
            ..State::default()
        };
        let images = [tagged(None), pin(200, None)];
        assert!(Evidence::new(&seen, &images).is_earlier(&images[1], &images[1].digests[0]));
        // The engine inspects exactly the tied images and their tagged rival.
        let mut other = image('4', &["redis:7"], &[]);
        other.created = 100;
        assert_eq!(creation_ties(&[tagged(None), pin(100, None), other.clone()]), vec![d('2'), d('3')]);
        assert!(creation_ties(&[tagged(None), pin(99, None), other]).is_empty());
    }

    /// A version a pre-upgrade hook deferred shows as deferred while the
    /// registry offers that digest, and no longer once it offers another.
    #[test]
    fn a_deferred_version_is_marked_until_the_registry_moves() {
        let images = vec![image('b', &["web:1.27"], &[])];
        let mut state = State::default();
        state.entries.push(entry("docker.io/library/web:1.27", 'b', Status::Upgradable, Some(d('c'))));
        let why = format!("{} (web: the pre-upgrade hook exited 75 (defer))", crate::core::hooks::DEFERRED);
        state.superseded.push(crate::core::state::Superseded {
            image_id: d('9'),
            reference: "docker.io/library/web:1.27".into(),
            digest: Some(d('c')),
            replaced_at: "2026-01-01T00:00:00Z".into(),
            replaced_by: d('b'),
            tag_moved: false,
            failed: Some(why.clone()),
        });
        let controls = crate::core::skips::Controls::default();
        let mut marked = rows(&state, &images, &[], &Selection::default());
        mark_controls(&mut marked, &state, &controls);
        assert_eq!(marked[0].deferred.as_deref(), Some(why.as_str()));
        state.entries[0].remote_digest = Some(d('e'));
        let mut moved = rows(&state, &images, &[], &Selection::default());
        mark_controls(&mut moved, &state, &controls);
        assert_eq!(moved[0].deferred, None, "the registry moved on: a new version, not deferred");
        // A version that failed otherwise is no deferral.
        state.entries[0].remote_digest = Some(d('c'));
        state.superseded[0].failed = Some("the upgrade to it was interrupted".into());
        let mut other = rows(&state, &images, &[], &Selection::default());
        mark_controls(&mut other, &state, &controls);
        assert_eq!(other[0].deferred, None);
    }

    #[test]
    fn versions_from_labels_listings_and_policy() {
        use crate::core::tagcache::{Listing, RemoteImage};
        let mut pg = image('a', &["postgres:16.2"], &[]);
        pg.labels.insert(LABEL_VERSION.into(), "16.2.0".into());
        let web = image('b', &["web:1.27", "web:latest"], &[]);
        let images = vec![pg, web];
        let mut state = State::default();
        state.entries.push(entry("docker.io/library/postgres:16.2", 'a', Status::UpToDate, Some(d('a'))));
        state.entries.push(entry("docker.io/library/web:1.27", 'b', Status::Upgradable, Some(d('c'))));
        state.entries.push(entry("docker.io/library/web:latest", 'b', Status::UpToDate, Some(d('b'))));
        let mut cache = TagCache::default();
        let tags = |l: &str| Listing { listed_at: 0, tags: l.split(' ').map(String::from).collect() };
        cache.repositories.insert("docker.io/library/postgres".into(), tags("16.2 16.3 16.4 17.0 latest"));
        cache.repositories.insert("docker.io/library/web".into(), tags("1.27 latest"));
        cache.images.insert(
            d('c'),
            RemoteImage {
                version: Some("1.27.4".into()),
                created: Some("2026-01-02T00:00:00Z".into()),
                ..Default::default()
            },
        );
        let mut rows = rows(&state, &images, &[], &Selection::default());
        let minor = |r: &Reference| ImagePolicy {
            rules: versions::TagRules {
                max_level: if r.repository == "library/postgres" { Level::Minor } else { Level::Major },
                ..Default::default()
            },
            ..Default::default()
        };
        annotate(&mut rows, &images, &cache, minor);
        let pg = &rows[0];
        assert_eq!(pg.version.current.as_deref(), Some("16.2.0"), "the label wins over the tag");
        assert_eq!(pg.version.candidate.as_ref().map(|c| c.tag.as_str()), Some("16.4"));
        assert_eq!(pg.version.newest.as_ref().map(|c| c.tag.as_str()), Some("17.0"));
        assert_eq!(pg.update_level(), Some(Level::Minor));
        assert_eq!(pg.candidate_version(), Some("16.4"));
        let levels: Vec<(&str, bool)> =
            pg.version.by_level.iter().map(|(c, ok)| (c.tag.as_str(), *ok)).collect();
        assert_eq!(levels, vec![("16.4", true), ("17.0", false)]);
        let web = &rows[1];
        assert_eq!(web.version.current.as_deref(), Some("1.27"));
        assert_eq!(web.version.remote.as_deref(), Some("1.27.4"));
        assert_eq!(web.update_level(), Some(Level::Digest));
        assert_eq!(web.candidate_version(), Some("1.27.4"));
        assert_eq!(web.version.candidate, None);
        let latest = &rows[2];
        assert_eq!(latest.version, VersionView::default(), "latest is not a version and has no label");
        assert_eq!(latest.update_level(), None);

        // Skipping the newer tag 16.4 of postgres:16.2, and web's new digest.
        use crate::core::skips::{Controls, Skip};
        let mut controls = Controls::default();
        let skip = |reference: &str, digest: Option<String>, tag: Option<&str>| Skip {
            reference: reference.into(),
            digest,
            tag: tag.map(String::from),
            tag_digest: None,
            version: None,
            reason: "test".into(),
            at: "2026-01-01T00:00:00Z".into(),
        };
        controls.skips.record(skip("docker.io/library/postgres:16.2", None, Some("16.4")));
        controls.skips.record(skip("docker.io/library/web:1.27", Some(d('c')), None));
        mark_controls(&mut rows, &state, &controls);
        assert_eq!(rows[0].version.candidate, None, "a skipped newer tag is no candidate");
        assert_eq!(rows[0].update_level(), None);
        assert!(rows[0].skipped.is_some());
        assert_eq!(rows[1].skipped.as_ref().and_then(|s| s.digest.clone()), Some(d('c')));
        assert!(rows[2].skipped.is_none());

        // The minimum age: 16.4 a day old under 3 days waits, 16.3 (ten
        // days old) is offered meanwhile; the skip of 16.4 no longer
        // matters.
        use crate::core::controls::{Age, AgeSource};
        let now = 1_795_000_000;
        let aged = |tag: &str, days_old: i64| {
            let at = crate::core::time::format_rfc3339(now - days_old * 86_400).unwrap();
            let age = Age {
                digest: Some(d('e')),
                first_seen: at.clone(),
                since: at,
                source: AgeSource::Created,
                min_age_seconds: 3 * 86_400,
            };
            (tag.to_string(), age)
        };
        state
            .tag_ages
            .insert("docker.io/library/postgres:16.2".into(), [aged("16.4", 1), aged("16.3", 10)].into());
        let mut again = super::rows(&state, &images, &[], &Selection::default());
        annotate(&mut again, &images, &cache, minor);
        let controls = Controls { now, ..controls };
        mark_controls(&mut again, &state, &controls);
        let pg = &again[0];
        assert_eq!(pg.version.candidate.as_ref().map(|c| c.tag.as_str()), Some("16.3"));
        let (waiting, wait) = pg.version.tag_cooldown.as_ref().unwrap();
        assert_eq!((waiting.tag.as_str(), wait.available_at), ("16.4", now + 2 * 86_400));
        assert!(pg.skipped.is_none());
        assert_eq!(pg.update_level(), Some(Level::Minor));
    }
}
