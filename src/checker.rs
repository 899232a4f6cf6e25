//! Checks many tags at once: groups them by registry, lets the first
//! request to each registry learn its authentication alone, then runs the
//! rest concurrently (bounded per registry inside `registry::Host`). One
//! tag's failure becomes that tag's `unknown` verdict; the others go on.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::OnceCell;

use crate::docker::{Engine, Platform};
use crate::registry::{ErrorKind, Host, Registries, RegistryError};
use crate::report::{local_digest, Target};
use crate::state::{Entry, RegistryInfo};
use crate::verdict::{self, judge_config, judge_manifest, Local, Manifest, Next, Status};

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
type Checked = (Status, String, Option<String>);

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

pub async fn check_all(
    engine: &Engine,
    registries: &Registries,
    targets: &[Target<'_>],
    known: &BTreeMap<String, RegistryInfo>,
    checked_at: &str,
) -> Outcome {
    let mut by_registry: BTreeMap<&str, Vec<&Target<'_>>> = BTreeMap::new();
    for t in targets {
        by_registry.entry(t.reference.registry.as_str()).or_default().push(t);
    }
    let platforms = Platforms::default();
    let mut hosts = Vec::new();
    let groups = by_registry.into_iter().map(|(registry, group)| {
        let mut repos: Vec<String> = group.iter().map(|t| t.reference.repository.clone()).collect();
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
                Err(e) => {
                    group.iter().map(|t| (entry_for(t, Err(e.clone()), checked_at), None)).collect::<Vec<_>>()
                }
                Ok(host) => check_group(engine, &host, &group, platforms, checked_at).await,
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
    group: &[&Target<'_>],
    platforms: &Platforms,
    checked_at: &str,
) -> Vec<(Entry, Option<String>)> {
    let Some((first, rest)) = group.split_first() else { return Vec::new() };
    // The first request learns the scheme and the authentication; the
    // others then start with a token instead of a 401 each.
    let mut out = Vec::with_capacity(group.len());
    out.push(with_config(first, check_one(engine, host, first, platforms).await, checked_at));
    let mut pending: FuturesUnordered<_> = rest
        .iter()
        .map(|t| async move { with_config(t, check_one(engine, host, t, platforms).await, checked_at) })
        .collect();
    while let Some(e) = pending.next().await {
        out.push(e);
    }
    out
}

fn with_config(
    t: &Target<'_>,
    result: Result<Checked, RegistryError>,
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
    t: &Target<'_>,
    platforms: &Platforms,
) -> Result<Checked, RegistryError> {
    let repo = &t.reference.repository;
    let tag = t.reference.tag.as_deref().unwrap_or("latest");
    let remote = host.tag_digest(repo, tag).await?;
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

fn entry_for(t: &Target<'_>, result: Result<(Status, String), RegistryError>, checked_at: &str) -> Entry {
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
    }
}
