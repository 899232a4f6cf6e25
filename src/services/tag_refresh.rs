//! The version half of an update: which repositories' tags to list (those
//! whose local tag is a version, when the cached listing is older than the
//! TTL; the checks list them beside their HEADs), taking those listings in,
//! and reading the config labels of images that can be upgraded (once per
//! remote digest; they never change) where the check itself could not read
//! them right after its verdict. Failures here never change a verdict; they
//! become warnings and the old listing stays.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::report::LocalTag;
use crate::core::state::{Entry, State};
use crate::core::tagcache::{Listing, RemoteImage, TagCache};
use crate::core::verdict::Status;
use crate::core::versions::{Level, Version};
use crate::registry::Registries;
use crate::services::check::Outcome;
use crate::settings::Settings;

/// What the pass did, for `-v` and the tests' request accounting.
#[derive(Debug, Default)]
pub struct Pass {
    pub listed: usize,
    pub configs: usize,
    pub warnings: Vec<String>,
}

/// Repositories (`(registry, repository)`) whose tags a target may need,
/// to be listed beside the checks: a version tag, a policy that allows tag
/// moves, and no cached listing younger than the TTL. Which of the listings
/// count is [`wanted_listings`]' to say once the verdicts are in.
pub fn listings_to_read(
    settings: &Settings,
    targets: &[LocalTag<'_>],
    cache: &TagCache,
    now: i64,
) -> BTreeSet<(String, String)> {
    let ttl = settings.tag_cache_ttl.as_secs();
    targets
        .iter()
        .filter(|t| follows_versions(settings, t))
        .map(|t| (t.reference.registry.clone(), t.reference.repository.clone()))
        .filter(|(reg, repo)| cache.fresh(&format!("{reg}/{repo}"), now, ttl).is_none())
        .collect()
}

/// A version tag whose policy allows moving to another tag: its
/// repository's tags are worth listing.
fn follows_versions(settings: &Settings, t: &LocalTag<'_>) -> bool {
    t.reference.tag.as_deref().and_then(Version::parse).is_some()
        && settings.image_policy(&t.reference).rules.max_level > Level::Digest
}

/// Repositories (`(registry, repository)`) whose tags a target needs:
/// checked without error, a version tag, a policy that allows tag moves.
pub fn wanted_listings(
    settings: &Settings,
    targets: &[LocalTag<'_>],
    outcome: &Outcome,
) -> BTreeSet<(String, String)> {
    let ok: BTreeSet<&str> = outcome
        .entries
        .iter()
        .filter(|e| matches!(e.status, Status::UpToDate | Status::Upgradable))
        .map(|e| e.reference.as_str())
        .collect();
    targets
        .iter()
        .filter(|t| ok.contains(t.reference.to_string().as_str()))
        .filter(|t| follows_versions(settings, t))
        .map(|t| (t.reference.registry.clone(), t.reference.repository.clone()))
        .collect()
}

/// The repositories whose listing is worth having (`wanted`) and was not
/// read this run (`read`), where a tag moved since the last update (it is
/// upgradable to a digest the `previous` entries did not record). A tag
/// that stays upgradable to the same image costs no listing on each run.
fn moved_repositories(
    targets: &[LocalTag<'_>],
    outcome: &Outcome,
    previous: &[Entry],
    wanted: &BTreeSet<(String, String)>,
    read: &BTreeSet<(String, String)>,
) -> BTreeSet<(String, String)> {
    let before: BTreeMap<&str, Option<&str>> =
        previous.iter().map(|e| (e.reference.as_str(), e.remote_digest.as_deref())).collect();
    let moved: BTreeSet<&str> = outcome
        .entries
        .iter()
        .filter(|e| e.status == Status::Upgradable)
        .filter(|e| before.get(e.reference.as_str()).copied().flatten() != e.remote_digest.as_deref())
        .map(|e| e.reference.as_str())
        .collect();
    targets
        .iter()
        .filter(|t| moved.contains(t.reference.to_string().as_str()))
        .map(|t| (t.reference.registry.clone(), t.reference.repository.clone()))
        .filter(|key| wanted.contains(key) && !read.contains(key))
        .collect()
}

/// Takes in the listings read beside the checks (those of repositories
/// with a tag checked without error; a listing of a repository whose every
/// check failed says nothing new and warns of nothing), and reads the labels
/// the checks could not.
pub async fn refresh(
    registries: &Registries,
    settings: &Settings,
    targets: &[LocalTag<'_>],
    outcome: &Outcome,
    old: &State,
    cache: &mut TagCache,
    now: i64,
) -> Pass {
    let mut pass = Pass::default();
    let (known, previous) = (&old.registries, &old.entries);
    let wanted = wanted_listings(settings, targets, outcome);
    let hint = |registry: &str| {
        outcome.registries.get(registry).or_else(|| known.get(registry)).and_then(|i| i.scheme.clone())
    };
    // A tag that moved says the repository changed: its cached listing,
    // however young, may lack the tags pushed with it. List it again now
    // rather than hide new versions until the TTL runs out.
    let read: BTreeSet<(String, String)> = outcome.listings.iter().map(|(key, _)| key.clone()).collect();
    let stale = moved_repositories(targets, outcome, previous, &wanted, &read);
    let jobs = stale.iter().map(|(reg, repo)| {
        let host = registries.host(reg, vec![repo.clone()], hint(reg).as_deref());
        async move {
            match host {
                Ok(h) => h.tags(repo).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
    });
    let relisted = futures_util::future::join_all(jobs).await;
    let listings = outcome
        .listings
        .iter()
        .map(|(key, result)| (key.clone(), result.clone().map_err(|e| e.to_string())))
        .chain(stale.iter().cloned().zip(relisted));
    for ((reg, repo), result) in listings {
        if !wanted.contains(&(reg.clone(), repo.clone())) {
            continue;
        }
        match result {
            Ok(tags) => {
                pass.listed += 1;
                cache.repositories.insert(format!("{reg}/{repo}"), Listing::new(now, tags));
            }
            Err(e) => pass.warnings.push(format!("cannot list the tags of {reg}/{repo}: {e}")),
        }
    }
    let configs: Vec<(String, String, String, String)> = outcome
        .entries
        .iter()
        .filter_map(|e| {
            let config = outcome.config_digests.get(&e.reference)?;
            let remote = e.remote_digest.clone()?;
            if cache.images.contains_key(&remote) {
                return None;
            }
            let r = crate::core::reference::Reference::parse(&e.reference).ok()?;
            Some((r.registry, r.repository, remote, config.clone()))
        })
        .collect();
    let config_jobs = configs.iter().map(|(reg, repo, _, config)| {
        let host = registries.host(reg, vec![repo.clone()], hint(reg).as_deref());
        async move {
            match host {
                Ok(h) => h.image_config(repo, config).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
    });
    let fetched = futures_util::future::join_all(config_jobs).await;
    for ((reg, repo, remote, _), result) in configs.iter().zip(fetched) {
        match result {
            Ok(c) => {
                pass.configs += 1;
                cache.images.insert(remote.clone(), RemoteImage::from_config(&c, now));
            }
            Err(e) => pass.warnings.push(format!("cannot read the labels of {reg}/{repo}@{remote}: {e}")),
        }
    }
    pass
}
