//! Checks many tags at once, registry by registry. Each tag's check is one
//! HEAD, then (only when the digest differs and no earlier verdict covers
//! it) the manifest GETs of the multi-arch rule and, where its labels are
//! worth it, the config GET, back to back. Beside them, once the registry
//! has answered, the tag listings the version half wants. A registry sees
//! at most its bound of requests in flight: checks run as a bounded stream,
//! so follow-ups never queue behind thousands of HEADs and only the checks
//! in flight hold memory. The first request to a registry the last update
//! did not learn learns its authentication alone. One tag's failure
//! becomes that tag's `unknown` verdict; the others go on.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use futures_util::stream::{self, StreamExt};
use tokio::sync::OnceCell;

use crate::core::image::ImageConfig;
use crate::core::report::{local_digest, LocalTag};
use crate::core::state::{Entry, RegistryInfo};
use crate::core::verdict::{self, Local, Status};
use crate::engine::Engine;
use crate::registry::{ErrorKind, Host, Registries, RegistryError};

mod judge;
mod prefetch;

use judge::{index_installed, installed_digest, judge_remote, Installed, Judged, Platforms};
pub use prefetch::Prefetch;
use prefetch::{Head, HeadResult};

/// The outcome of checking a set of targets.
pub struct Outcome {
    pub entries: Vec<Entry>,
    pub registries: BTreeMap<String, RegistryInfo>,
    /// Reference → config digest of the registry's image for the local
    /// platform, for upgradable tags whose labels are worth reading (where
    /// it was learnt anyway), so they can be read without another manifest
    /// request.
    pub config_digests: BTreeMap<String, String>,
    /// Remote digest → the config read right after the verdict, for
    /// upgradable tags whose labels were not known yet.
    pub configs: BTreeMap<String, ImageConfig>,
    /// `(registry, repository)` → its tags, for the listings asked for in
    /// [`Wants::listings`], read beside the checks.
    pub listings: Vec<Listed>,
}

/// One tag listing read beside the checks.
pub type Listed = ((String, String), Result<Vec<String>, String>);

/// What the version half of an update wants from the registries beside
/// the verdicts.
#[derive(Default)]
pub struct Wants {
    /// References whose new image's config is worth reading
    /// (`core::tagcache::labels_worth_reading`); the others are judged
    /// without it.
    pub labels: HashSet<String>,
    /// `(registry, repository)` whose tags to list. They are listed beside
    /// the HEADs, once the registry has answered its first request, rather
    /// than in a round of their own after every check.
    pub listings: BTreeSet<(String, String)>,
}

/// What the last update knew, so a check can skip what it already learnt.
pub struct Known<'a> {
    /// Scheme and rate limits per registry.
    pub registries: &'a BTreeMap<String, RegistryInfo>,
    /// The last update's verdicts, by reference.
    pub verdicts: HashMap<&'a str, &'a Entry>,
    /// Remote digests whose config labels are already cached.
    pub labels: BTreeSet<&'a str>,
    /// Tags an earlier update found in the registry: never local builds,
    /// whatever their RepoDigests say.
    pub seen_remotely: HashSet<&'a str>,
}

impl<'a> Known<'a> {
    pub fn new(
        registries: &'a BTreeMap<String, RegistryInfo>,
        entries: &'a [Entry],
        labels: impl IntoIterator<Item = &'a str>,
    ) -> Known<'a> {
        Known {
            registries,
            verdicts: entries.iter().map(|e| (e.reference.as_str(), e)).collect(),
            labels: labels.into_iter().collect(),
            seen_remotely: entries
                .iter()
                .filter(|e| e.remote_digest.is_some())
                .map(|e| e.reference.as_str())
                .collect(),
        }
    }

    /// The last verdict for this tag if it was about the same local image
    /// and the same remote digest: nothing that decides it has changed.
    fn verdict(&self, t: &LocalTag<'_>, reference: &str, remote: &str) -> Option<(Status, Option<&'a str>)> {
        let e = self.verdicts.get(reference)?;
        (e.image_id == t.image.id
            && e.remote_digest.as_deref() == Some(remote)
            && matches!(e.status, Status::UpToDate | Status::Upgradable))
        .then_some((e.status, e.local_digest.as_deref()))
    }
}

/// One check's result: the verdict, the remote digest, the remote config
/// digest when the check had to learn it, the config when it read it, and
/// what it learnt of the installed digest.
/// Last, a note on how an upgradable verdict was reached when it could
/// not be decided the usual way (kept in the entry's `error`).
type Answer = (Status, String, Option<String>, Option<ImageConfig>, Installed, Option<String>);

type Item<'t, 'i> = (&'t LocalTag<'i>, Head);

pub async fn check_all(
    engine: &Engine,
    registries: &Registries,
    targets: &[LocalTag<'_>],
    known: &Known<'_>,
    wants: &Wants,
    checked_at: &str,
    mut prefetch: Prefetch,
) -> Outcome {
    let mut by_registry: BTreeMap<&str, Vec<Item<'_, '_>>> = BTreeMap::new();
    for t in targets {
        let head = prefetch.take(&t.reference.to_string()).map_or(Head::Ask, Head::Prefetched);
        by_registry.entry(t.reference.registry.as_str()).or_default().push((t, head));
    }
    // Prefetched tags that are not here any more: their HEADs are skipped.
    prefetch.skip_the_rest();
    // The oldest images first: they are the likeliest to have moved, and an
    // outdated tag's follow-ups (manifest, config) then overlap the HEADs
    // still to come instead of trailing after the last one.
    for group in by_registry.values_mut() {
        group.sort_by_key(|(t, _)| t.image.created);
    }
    let platforms = Platforms::default();
    let bound = registries.concurrency();
    let probe = Probe::default();
    let mut hosts = Vec::new();
    let groups = by_registry.into_iter().map(|(registry, group)| {
        let mut repos: Vec<String> = group.iter().map(|(t, _)| t.reference.repository.clone()).collect();
        repos.sort();
        repos.dedup();
        let hint = known.registries.get(registry).and_then(|i| i.scheme.as_deref());
        let host = registries.host(registry, repos, hint);
        if let Ok(h) = &host {
            hosts.push(h.clone());
        }
        let ctx = Ctx { engine, platforms: &platforms, known, probe: &probe, labels: &wants.labels };
        let lists: Vec<String> =
            wants.listings.iter().filter(|(r, _)| r == registry).map(|(_, repo)| repo.clone()).collect();
        async move {
            match host {
                // No host, no listing: the checks' errors say why.
                Err(e) => (
                    group
                        .iter()
                        .map(|(t, _)| (entry_for(t, Err(e.clone()), checked_at), None, None))
                        .collect::<Vec<_>>(),
                    Vec::new(),
                ),
                Ok(host) => check_group(ctx, &host, group, &lists, bound, checked_at).await,
            }
        }
    });
    let mut config_digests = BTreeMap::new();
    let mut configs = BTreeMap::new();
    let mut listings = Vec::new();
    let entries: Vec<Entry> = futures_util::future::join_all(groups)
        .await
        .into_iter()
        .flat_map(|(checked, listed)| {
            listings.extend(listed);
            checked
        })
        .map(|(entry, config_digest, config)| {
            if entry.status == Status::Upgradable {
                if let Some(c) = config_digest {
                    config_digests.insert(entry.reference.clone(), c);
                }
                if let (Some(c), Some(remote)) = (config, &entry.remote_digest) {
                    configs.insert(remote.clone(), c);
                }
            }
            entry
        })
        .collect();
    drop(prefetch);
    let mut infos = BTreeMap::new();
    for h in hosts {
        infos.insert(
            h.registry.clone(),
            RegistryInfo {
                // Only a scheme the registry answered on is worth keeping:
                // the next run trusts it and asks everything at once.
                scheme: h.contacted().then(|| h.scheme().as_str().to_string()),
                rate_limit: h.rate_limit(),
                anonymous: h.anonymous().await,
                auth: if h.contacted() { h.known_auth().await } else { None },
            },
        );
    }
    Outcome { entries, registries: infos, config_digests, configs, listings }
}

type Checked = (Entry, Option<String>, Option<ImageConfig>);

/// What every check of one run shares.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    engine: &'a Engine,
    platforms: &'a Platforms,
    known: &'a Known<'a>,
    probe: &'a Probe,
    /// References whose new image's labels are worth a request.
    labels: &'a HashSet<String>,
}

/// Whether a tag the registry lacks, or an upgradable one, needs a look at
/// the image's own digests: where a local build has a RepoDigest of its own
/// (containerd store, podman). Asked of the engine's model only when a check
/// gets that far, so the engine's `/version` and `/info` are never on the
/// way of the first requests.
#[derive(Default)]
struct Probe {
    fixed: Option<bool>,
    asked: OnceCell<bool>,
}

impl Probe {
    fn never() -> Probe {
        Probe { fixed: Some(false), asked: OnceCell::new() }
    }

    async fn needed(&self, engine: &Engine) -> bool {
        if let Some(fixed) = self.fixed {
            return fixed;
        }
        *self
            .asked
            .get_or_init(|| async { matches!(engine.model().await, Ok(m) if !m.repo_digests_prove_a_pull()) })
            .await
    }
}

async fn check_group(
    ctx: Ctx<'_>,
    host: &Host,
    group: Vec<Item<'_, '_>>,
    lists: &[String],
    bound: usize,
    checked_at: &str,
) -> (Vec<Checked>, Vec<Listed>) {
    let prefetched = group.iter().any(|(_, h)| matches!(h, Head::Prefetched(_)));
    let mut items = group.into_iter();
    let mut first = None;
    if !prefetched {
        // Nobody has talked to this registry yet: the first HEAD learns the
        // scheme and the authentication alone; the rest of its check (and
        // every other check) then runs in the stream.
        if let Some((t, _)) = items.next() {
            let tag = t.reference.tag.as_deref().unwrap_or("latest");
            first = Some((t, Head::Done(host.tag_digest(&t.reference.repository, tag).await)));
        }
    }
    // The tag listings go beside the checks, under the same bound, once the
    // registry has answered a check: its scheme and authentication are
    // learnt by one request, not by every listing at once. A registry that
    // answers none of the checks is not asked for listings either (their
    // verdicts would not use them).
    let (answered, mut on_answer) = tokio::sync::watch::channel(host.contacted().then_some(true));
    let listed = async {
        if !on_answer.wait_for(Option::is_some).await.is_ok_and(|go| *go == Some(true)) {
            return Vec::new();
        }
        futures_util::future::join_all(lists.iter().map(|repo| async move {
            let tags = host.tags(repo).await.map_err(|e| e.to_string());
            ((host.registry.clone(), repo.clone()), tags)
        }))
        .await
    };
    let answered = &answered;
    let checked = async move {
        let out = stream::iter(first.into_iter().chain(items))
            .map(|(t, head)| async move {
                let reference = t.reference.to_string();
                let checked = check_one(ctx, host, t, &reference, head).await;
                if host.contacted() {
                    answered.send_if_modified(|a| a.replace(true).is_none());
                }
                match checked {
                    Ok((status, remote, digest, config, installed, note)) => {
                        let mut entry = entry_for(t, Ok((status, remote)), checked_at);
                        entry.error = note;
                        match installed {
                            Installed::FromEngine => {}
                            Installed::Is(digest) => entry.local_digest = Some(digest),
                            Installed::Unknown => entry.local_digest = None,
                        }
                        (entry, digest, config)
                    }
                    Err(e) => (entry_for(t, Err(e), checked_at), None, None),
                }
            })
            .buffer_unordered(bound)
            .collect::<Vec<_>>()
            .await;
        answered.send_if_modified(|a| a.is_none() && a.replace(false).is_none());
        out
    };
    tokio::join!(checked, listed)
}

/// Checks one tag now: `upgrade`'s re-check right before it pulls, with
/// the same rules as `update` (and no earlier verdict taken on trust).
pub async fn check_now(
    engine: &Engine,
    host: &Host,
    t: &LocalTag<'_>,
) -> Result<(Status, String), RegistryError> {
    let nothing = BTreeMap::new();
    let known = Known::new(&nothing, &[], []);
    let reference = t.reference.to_string();
    // The labels are `update`'s business: a re-check before a pull needs
    // the verdict only.
    let labels = HashSet::new();
    let ctx = Ctx {
        engine,
        platforms: &Platforms::default(),
        known: &known,
        probe: &Probe::never(),
        labels: &labels,
    };
    check_one(ctx, host, t, &reference, Head::Ask).await.map(|(status, remote, ..)| (status, remote))
}

/// The verdict for one tag, and the digest the registry reported.
async fn check_one(
    ctx: Ctx<'_>,
    host: &Host,
    t: &LocalTag<'_>,
    reference: &str,
    head: Head,
) -> Result<Answer, RegistryError> {
    let Ctx { engine, known, probe: lazy_probe, .. } = ctx;
    let repo = &t.reference.repository;
    let tag = t.reference.tag.as_deref().unwrap_or("latest");
    let answer = current_digest(host, repo, tag, head).await;
    let digests: Vec<&str> = t.image.digests_in(&t.reference).collect();
    let remote = match answer {
        Ok(remote) => remote,
        Err(e)
            if e.kind == ErrorKind::NotFound
                && !digests.is_empty()
                && !known.seen_remotely.contains(reference)
                && lazy_probe.needed(engine).await =>
        {
            // The tag is not there; were any of the image's digests ever?
            for d in &digests {
                match host.tag_digest(repo, d).await {
                    Err(x) if x.kind == ErrorKind::NotFound => continue,
                    _ => return Err(e),
                }
            }
            return Ok((Status::LocalOnly, String::new(), None, None, Installed::Unknown, None));
        }
        Err(e) => return Err(e),
    };
    let local = Local { id: &t.image.id, digests: &digests };
    if verdict::digest_matches(local, &remote) {
        return Ok((Status::UpToDate, remote, None, None, Installed::FromEngine, None));
    }
    let probe = lazy_probe.needed(engine).await;
    if let Some((status, installed)) = known.verdict(t, reference, &remote) {
        // Same image, same remote digest: the last update's answer stands,
        // including what it learnt of the installed digest.
        let installed = match (probe, installed) {
            (false, _) => Installed::FromEngine,
            (true, Some(d)) => Installed::Is(d.to_string()),
            (true, None) => Installed::Unknown,
        };
        return Ok((status, remote, None, None, installed, None));
    }
    let judged = judge_remote(ctx, host, t, local, &remote, probe).await?;
    let Judged { manifest, platform, status, mut config, installed, note } = judged;
    // Its labels (version, revision) right away rather than in a pass after
    // every check; a failure here is left to that pass, which warns. Where
    // they cannot be shown or decide anything, the config is not read at
    // all, nor left to that pass.
    if !ctx.labels.contains(reference) {
        config = None;
    }
    let labels = match &config {
        Some(c) if status == Status::Upgradable && !known.labels.contains(remote.as_str()) => {
            host.image_config(repo, c).await.ok()
        }
        _ => None,
    };
    let installed = installed_digest(ctx, host, t, reference, (status, probe), installed).await;
    let installed = index_installed(host, repo, (&manifest, &platform), &digests, installed).await;
    Ok((status, remote, config, labels, installed, note))
}

/// The tag's digest now: asked here, or taken from the prefetch.
async fn current_digest(host: &Host, repo: &str, tag: &str, head: Head) -> HeadResult {
    match head {
        Head::Done(result) => result,
        Head::Prefetched(rx) => match rx.await {
            Ok(result) => result,
            // The prefetch stopped before this tag's turn: ask now.
            Err(_) => host.tag_digest(repo, tag).await,
        },
        Head::Ask => host.tag_digest(repo, tag).await,
    }
}

/// What the registry says when it has never seen a name (or will not say).
fn absent(e: &RegistryError) -> bool {
    matches!(e.kind, ErrorKind::NotFound | ErrorKind::Unauthorized)
}

fn entry_for(t: &LocalTag<'_>, result: Result<(Status, String), RegistryError>, checked_at: &str) -> Entry {
    let never_pushed = t.image.digests_in(&t.reference).next().is_none();
    let (status, remote, error) = match result {
        // A local build whose own RepoDigest no registry has (containerd
        // store, podman): that digest says nothing about a registry.
        Ok((Status::LocalOnly, _)) => (Status::LocalOnly, None, None),
        Ok((status, remote)) => (status, Some(remote), None),
        // Built here and never pushed: nothing in the registry to compare with.
        Err(e) if never_pushed && absent(&e) => (Status::LocalOnly, None, None),
        Err(e) => (Status::Unknown, None, Some(e.to_string())),
    };
    Entry {
        reference: t.reference.to_string(),
        status,
        image_id: t.image.id.clone(),
        local_digest: match status {
            Status::LocalOnly => None,
            _ => local_digest(t.image, &t.reference, remote.as_deref()),
        },
        remote_digest: remote,
        checked_at: checked_at.to_string(),
        error,
        age: None,
        stale: None,
    }
}
