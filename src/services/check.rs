//! Checks many tags at once: groups them by registry, lets the first
//! request to each registry learn its authentication alone, then runs the
//! rest concurrently (bounded per registry inside `registry::Host`). One
//! tag's failure becomes that tag's `unknown` verdict; the others go on.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

use crate::core::image::Platform;
use crate::core::reference::Reference;
use crate::core::report::{local_digest, LocalTag};
use crate::core::state::{Entry, RegistryInfo};
use crate::core::verdict::{self, judge_config, judge_manifest, Local, Manifest, Next, Status};
use crate::engine::Engine;
use crate::registry::{ErrorKind, Host, Registries, RegistryError};

/// The outcome of checking a set of targets.
pub struct Outcome {
    pub entries: Vec<Entry>,
    pub registries: BTreeMap<String, RegistryInfo>,
    /// Reference → config digest of the registry's image for the local
    /// platform, for upgradable tags (where it was learnt anyway), so its
    /// labels can be read without another manifest request.
    pub config_digests: BTreeMap<String, String>,
}

/// One check's result: the verdict, the remote digest, and the remote
/// config digest when the check had to learn it.
type Answer = (Status, String, Option<String>);

/// Platforms of local images, inspected at most once each and only when an
/// index has to be matched.
#[derive(Default)]
struct Platforms {
    cells: std::sync::Mutex<HashMap<String, Arc<OnceCell<Platform>>>>,
}

impl Platforms {
    async fn get(&self, engine: &Engine, id: &str) -> Result<Platform, RegistryError> {
        let cell =
            self.cells.lock().unwrap_or_else(|e| e.into_inner()).entry(id.to_string()).or_default().clone();
        cell.get_or_try_init(|| engine.platform(id)).await.cloned().map_err(|e| RegistryError {
            kind: ErrorKind::BadResponse,
            message: format!("cannot tell the local image's platform: {e}"),
        })
    }
}

/// HEAD requests started before the local inventory is read, for the tags
/// the last update saw: the registry round trips overlap the engine's
/// `images/json`, which on a host with thousands of images takes as long as
/// the checks themselves. A tag that is gone locally just wastes one HEAD.
#[derive(Default)]
pub struct Prefetch {
    heads: HashMap<String, JoinHandle<Result<String, RegistryError>>>,
}

impl Prefetch {
    pub fn start(
        registries: &Registries,
        references: impl IntoIterator<Item = Reference>,
        known: &BTreeMap<String, RegistryInfo>,
    ) -> Prefetch {
        let mut by_registry: BTreeMap<String, Vec<Reference>> = BTreeMap::new();
        for r in references.into_iter().filter(|r| r.tag.is_some()) {
            by_registry.entry(r.registry.clone()).or_default().push(r);
        }
        let mut heads = HashMap::new();
        for (registry, refs) in by_registry {
            let mut repos: Vec<String> = refs.iter().map(|r| r.repository.clone()).collect();
            repos.sort();
            repos.dedup();
            let hint = known.get(&registry).and_then(|i| i.scheme.as_deref());
            let Ok(host) = registries.host(&registry, repos, hint) else { continue };
            // The first request learns scheme and authentication alone; the
            // others wait for it so they start with a token, not a 401 each.
            let gate = Arc::new(tokio::sync::RwLock::new(()));
            let mut first = gate.clone().try_write_owned().ok();
            for r in refs {
                let host = host.clone();
                let (repo, tag) = (r.repository.clone(), r.tag.clone().unwrap_or_default());
                let handle = match first.take() {
                    Some(guard) => tokio::spawn(async move {
                        let result = host.tag_digest(&repo, &tag).await;
                        drop(guard);
                        result
                    }),
                    None => {
                        let gate = gate.clone();
                        tokio::spawn(async move {
                            let _open = gate.read().await;
                            host.tag_digest(&repo, &tag).await
                        })
                    }
                };
                heads.insert(r.to_string(), handle);
            }
        }
        Prefetch { heads }
    }

    fn take(&mut self, reference: &str) -> Option<JoinHandle<Result<String, RegistryError>>> {
        self.heads.remove(reference)
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        for h in self.heads.values() {
            h.abort();
        }
    }
}

type Item<'t, 'i> = (&'t LocalTag<'i>, Option<JoinHandle<Result<String, RegistryError>>>);

pub async fn check_all(
    engine: &Engine,
    registries: &Registries,
    targets: &[LocalTag<'_>],
    known: &BTreeMap<String, RegistryInfo>,
    checked_at: &str,
    mut prefetch: Prefetch,
) -> Outcome {
    let mut by_registry: BTreeMap<&str, Vec<Item<'_, '_>>> = BTreeMap::new();
    for t in targets {
        let head = prefetch.take(&t.reference.to_string());
        by_registry.entry(t.reference.registry.as_str()).or_default().push((t, head));
    }
    let platforms = Platforms::default();
    let mut hosts = Vec::new();
    let groups = by_registry.into_iter().map(|(registry, group)| {
        let mut repos: Vec<String> = group.iter().map(|(t, _)| t.reference.repository.clone()).collect();
        repos.sort();
        repos.dedup();
        let hint = known.get(registry).and_then(|i| i.scheme.as_deref());
        let host = registries.host(registry, repos, hint);
        if let Ok(h) = &host {
            hosts.push(h.clone());
        }
        let platforms = &platforms;
        async move {
            match host {
                Err(e) => group
                    .iter()
                    .map(|(t, _)| (entry_for(t, Err(e.clone()), checked_at), None))
                    .collect::<Vec<_>>(),
                Ok(host) => check_group(engine, &host, group, platforms, checked_at).await,
            }
        }
    });
    let mut config_digests = BTreeMap::new();
    let entries: Vec<Entry> = futures_util::future::join_all(groups)
        .await
        .into_iter()
        .flatten()
        .map(|(entry, config)| {
            if let Some(c) = config.filter(|_| entry.status == Status::Upgradable) {
                config_digests.insert(entry.reference.clone(), c);
            }
            entry
        })
        .collect();
    let mut infos = BTreeMap::new();
    for h in hosts {
        infos.insert(
            h.registry.clone(),
            RegistryInfo { scheme: Some(h.scheme().as_str().to_string()), rate_limit: h.rate_limit() },
        );
    }
    Outcome { entries, registries: infos, config_digests }
}

async fn check_group(
    engine: &Engine,
    host: &Host,
    group: Vec<Item<'_, '_>>,
    platforms: &Platforms,
    checked_at: &str,
) -> Vec<(Entry, Option<String>)> {
    let mut out = Vec::with_capacity(group.len());
    let prefetched = group.iter().any(|(_, h)| h.is_some());
    let mut items = group.into_iter();
    if !prefetched {
        // Nobody has talked to this registry yet: the first request learns
        // the scheme and the authentication alone.
        if let Some((t, head)) = items.next() {
            out.push(with_config(t, check_one(engine, host, t, platforms, head).await, checked_at));
        }
    }
    let mut pending: FuturesUnordered<_> = items
        .map(|(t, head)| async move {
            with_config(t, check_one(engine, host, t, platforms, head).await, checked_at)
        })
        .collect();
    while let Some(e) = pending.next().await {
        out.push(e);
    }
    out
}

/// Checks one tag now: `upgrade`'s re-check right before it pulls, with
/// the same rules as `update`.
pub async fn check_now(
    engine: &Engine,
    host: &Host,
    t: &LocalTag<'_>,
) -> Result<(Status, String), RegistryError> {
    check_one(engine, host, t, &Platforms::default(), None).await.map(|(status, remote, _)| (status, remote))
}

fn with_config(
    t: &LocalTag<'_>,
    result: Result<Answer, RegistryError>,
    checked_at: &str,
) -> (Entry, Option<String>) {
    match result {
        Ok((status, remote, config)) => (entry_for(t, Ok((status, remote)), checked_at), config),
        Err(e) => (entry_for(t, Err(e), checked_at), None),
    }
}

/// The verdict for one tag, and the digest the registry reported.
async fn check_one(
    engine: &Engine,
    host: &Host,
    t: &LocalTag<'_>,
    platforms: &Platforms,
    head: Option<JoinHandle<Result<String, RegistryError>>>,
) -> Result<Answer, RegistryError> {
    let repo = &t.reference.repository;
    let tag = t.reference.tag.as_deref().unwrap_or("latest");
    let remote = match head {
        Some(h) => h.await.unwrap_or_else(|e| {
            Err(RegistryError { kind: ErrorKind::BadResponse, message: format!("check interrupted: {e}") })
        })?,
        None => host.tag_digest(repo, tag).await?,
    };
    let digests: Vec<&str> = t.image.digests_in(&t.reference).collect();
    let local = Local { id: &t.image.id, digests: &digests };
    if verdict::digest_matches(local, &remote) {
        return Ok((Status::UpToDate, remote, None));
    }
    let manifest = host.manifest(repo, &remote).await?;
    let platform = match manifest {
        Manifest::Index(_) => platforms.get(engine, &t.image.id).await?,
        Manifest::Image { .. } => Platform::default(),
    };
    let mut config = None;
    let status = match judge_manifest(local, &manifest, &platform) {
        Next::Done(s) => {
            if let Manifest::Image { config_digest } = &manifest {
                config = Some(config_digest.clone());
            }
            s
        }
        Next::NoPlatform => {
            return Err(RegistryError {
                kind: ErrorKind::NotFound,
                message: format!("the registry's index for this tag has no {platform} image"),
            })
        }
        Next::FetchPlatformManifest(digest) => match host.manifest(repo, &digest).await? {
            Manifest::Image { config_digest } => {
                let s = judge_config(local, &config_digest);
                config = Some(config_digest);
                s
            }
            Manifest::Index(_) => {
                return Err(RegistryError {
                    kind: ErrorKind::BadResponse,
                    message: "the index entry for this platform is itself an index".into(),
                })
            }
        },
    };
    Ok((status, remote, config))
}

fn entry_for(t: &LocalTag<'_>, result: Result<(Status, String), RegistryError>, checked_at: &str) -> Entry {
    let never_pushed = t.image.digests_in(&t.reference).next().is_none();
    let (status, remote, error) = match result {
        Ok((status, remote)) => (status, Some(remote), None),
        // Built here and never pushed: nothing in the registry to compare with.
        Err(e) if never_pushed && matches!(e.kind, ErrorKind::NotFound | ErrorKind::Unauthorized) => {
            (Status::LocalOnly, None, None)
        }
        Err(e) => (Status::Unknown, None, Some(e.to_string())),
    };
    Entry {
        reference: t.reference.to_string(),
        status,
        image_id: t.image.id.clone(),
        local_digest: local_digest(t.image, &t.reference, remote.as_deref()),
        remote_digest: remote,
        checked_at: checked_at.to_string(),
        error,
        age: None,
    }
}
