//! How old the newer version tags are, for the minimum age (`min_age`) and
//! for skips of a newer tag: after the tag listings are fresh, `update`
//! asks the registry for the digest of each candidate tag, newest first,
//! and reads its config's creation time once per digest, until one has
//! waited out the minimum age. Each tag's age follows the rules of a new
//! digest (`controls::Age`): its creation time when plausible, else when an
//! update first saw that digest under that tag, kept in the state.
//!
//! Nothing is asked when an image has no minimum age and no skipped newer
//! tag, so the usual update costs no extra request.

use std::collections::BTreeMap;

use crate::core::controls::Age;
use crate::core::image::Platform;
use crate::core::reference::Reference;
use crate::core::skips::{Picks, Skips};
use crate::core::state::{Entry, RegistryInfo, State};
use crate::core::tagcache::{RemoteImage, TagCache};
use crate::core::verdict::{Manifest, Status};
use crate::core::versions;
use crate::registry::{Host, Registries};
use crate::settings::Settings;

/// How many newer tags of one image are aged at most per update: enough to
/// step back past a few fresh releases.
pub const MAX_AGED: usize = 4;

/// What the pass learnt.
#[derive(Debug, Default)]
pub struct Aged {
    /// Per local tag, the newer tags looked at, by tag.
    pub tag_ages: BTreeMap<String, BTreeMap<String, Age>>,
    /// Per local tag, the newer tag on offer now (skips aside), for
    /// dropping stale skips.
    pub picks: Picks,
    pub warnings: Vec<String>,
    /// How many image configs were read.
    pub configs: usize,
}

/// One local tag whose newer tags are to be aged.
struct Job {
    reference: String,
    registry: String,
    repository: String,
    candidates: Vec<String>,
    min_age: u64,
    before: BTreeMap<String, Age>,
}

#[allow(clippy::too_many_arguments)]
pub async fn age_newer_tags(
    registries: &Registries,
    settings: &Settings,
    entries: &[Entry],
    old: &State,
    known: &BTreeMap<String, RegistryInfo>,
    skips: &Skips,
    cache: &mut TagCache,
    checked_at: &str,
    now: i64,
) -> Aged {
    let (mut aged, jobs) = plan(settings, entries, old, skips, cache);
    if jobs.is_empty() {
        return aged;
    }
    let hint = |registry: &str| known.get(registry).and_then(|i| i.scheme.clone());
    let snapshot = cache.images.clone();
    let runs = jobs.iter().map(|job| {
        let host =
            registries.host(&job.registry, vec![job.repository.clone()], hint(&job.registry).as_deref());
        let snapshot = &snapshot;
        async move {
            match host {
                Ok(h) => age_one(&h, job, snapshot, checked_at, now).await,
                Err(e) => Outcome {
                    warning: Some(format!("cannot age the newer tags of {}: {e}", job.reference)),
                    ..Outcome::default()
                },
            }
        }
    });
    let outcomes = futures_util::future::join_all(runs).await;
    for (job, o) in jobs.iter().zip(outcomes) {
        merge(&mut aged, cache, job, o);
    }
    aged
}

/// Which local tags need their newer tags aged (a minimum age, or a
/// skipped newer tag), and what is decided without asking: failed checks
/// keep what was known, tags with no newer tag or nothing to wait for get
/// their pick at once.
fn plan(
    settings: &Settings,
    entries: &[Entry],
    old: &State,
    skips: &Skips,
    cache: &TagCache,
) -> (Aged, Vec<Job>) {
    let mut aged = Aged::default();
    let mut jobs = Vec::new();
    for e in entries {
        let before = old.tag_ages.get(&e.reference).cloned().unwrap_or_default();
        if e.status == Status::Unknown {
            // A failed check keeps what was known.
            if !before.is_empty() {
                aged.tag_ages.insert(e.reference.clone(), before);
            }
            continue;
        }
        let Ok(r) = Reference::parse(&e.reference) else { continue };
        let Some(tag) = r.tag.as_deref() else { continue };
        let Some(tags) = cache.tags(&r.name()) else { continue };
        let policy = settings.image_policy(&r);
        let Some(newer) = versions::newer_tags(tag, tags, &policy.rules) else { continue };
        let candidates: Vec<String> =
            newer.table.iter().filter(|c| c.within_policy).map(|c| c.tag().to_string()).collect();
        let min_age = settings.min_age_for(&r);
        let tag_skipped = skips.skips.iter().any(|s| s.reference == e.reference && s.tag.is_some());
        match candidates.first() {
            None => {
                aged.picks.insert(e.reference.clone(), (None, None));
            }
            Some(first) if min_age == 0 && !tag_skipped => {
                aged.picks.insert(e.reference.clone(), (Some(first.clone()), None));
            }
            Some(_) => jobs.push(Job {
                reference: e.reference.clone(),
                registry: r.registry.clone(),
                repository: r.repository.clone(),
                candidates,
                min_age,
                before,
            }),
        }
    }
    (aged, jobs)
}

/// One job's outcome into the result: the configs it read into the cache,
/// its ages (tags not reached after a failure keep what was known), its pick.
fn merge(aged: &mut Aged, cache: &mut TagCache, job: &Job, o: Outcome) {
    for (digest, image) in o.configs {
        aged.configs += 1;
        cache.images.insert(digest, image);
    }
    let mut ages = o.ages;
    for (tag, age) in &job.before {
        if job.candidates.contains(tag) && !ages.contains_key(tag) && o.warning.is_some() {
            ages.insert(tag.clone(), age.clone());
        }
    }
    if !ages.is_empty() {
        aged.tag_ages.insert(job.reference.clone(), ages);
    }
    if let Some(pick) = o.pick {
        aged.picks.insert(job.reference.clone(), pick);
    }
    aged.warnings.extend(o.warning);
}

#[derive(Default)]
struct Outcome {
    ages: BTreeMap<String, Age>,
    configs: Vec<(String, RemoteImage)>,
    pick: Option<(Option<String>, Option<String>)>,
    warning: Option<String>,
}

/// Ages one local tag's candidates, newest first, until one has waited out
/// the minimum age (or, without one, just the newest, for its digest).
async fn age_one(
    host: &Host,
    job: &Job,
    cache: &BTreeMap<String, RemoteImage>,
    checked_at: &str,
    now: i64,
) -> Outcome {
    let mut out = Outcome::default();
    for tag in job.candidates.iter().take(MAX_AGED) {
        let digest = match host.tag_digest(&job.repository, tag).await {
            Ok(d) => d,
            Err(e) => {
                out.warning = Some(format!("cannot age {}:{tag}: {e}", job.repository));
                return out;
            }
        };
        let created = match cache.get(&digest) {
            Some(image) => image.created.clone(),
            // Without a minimum age only the digest matters (for a skip).
            None if job.min_age == 0 => None,
            None => match read_config(host, &job.repository, &digest, now).await {
                Ok(image) => {
                    let created = image.created.clone();
                    out.configs.push((digest.clone(), image));
                    created
                }
                // The first sighting still counts.
                Err(e) => {
                    out.warning =
                        Some(format!("cannot read the creation time of {}:{tag}: {e}", job.repository));
                    None
                }
            },
        };
        let age =
            Age::record(Some(&digest), job.before.get(tag), created.as_deref(), checked_at, now, job.min_age);
        let passes = age.cooldown(now, None).is_none();
        out.ages.insert(tag.clone(), age);
        if passes {
            out.pick = Some((Some(tag.clone()), Some(digest)));
            return out;
        }
    }
    if job.candidates.len() <= MAX_AGED {
        // Every candidate is still waiting: none is on offer now.
        out.pick = Some((None, None));
    }
    out
}

/// The config behind a digest: for an index, the image for this machine's
/// platform (else the first image in it).
async fn read_config(host: &Host, repository: &str, digest: &str, now: i64) -> Result<RemoteImage, String> {
    let mut manifest = host.manifest(repository, digest).await.map_err(|e| e.to_string())?;
    if let Manifest::Index(entries) = &manifest {
        let here = Platform::linux_on(std::env::consts::ARCH);
        let images: Vec<_> =
            entries.iter().filter(|e| e.platform.as_ref().is_none_or(|p| p.os != "unknown")).collect();
        let chosen = images
            .iter()
            .find(|e| {
                e.platform.as_ref().is_some_and(|p| p.os == here.os && p.architecture == here.architecture)
            })
            .or(images.first())
            .ok_or_else(|| "the index holds no image".to_string())?;
        manifest = host.manifest(repository, &chosen.digest).await.map_err(|e| e.to_string())?;
    }
    match manifest {
        Manifest::Image { config_digest } => {
            let config = host.image_config(repository, &config_digest).await.map_err(|e| e.to_string())?;
            Ok(RemoteImage::from_config(&config, now))
        }
        Manifest::Index(_) => Err("an index inside an index".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::controls::AgeSource;

    fn age(digest: &str) -> Age {
        Age {
            digest: Some(digest.into()),
            first_seen: "2026-01-01T00:00:00Z".into(),
            since: "2026-01-01T00:00:00Z".into(),
            source: AgeSource::FirstSeen,
            min_age_seconds: 86400,
        }
    }

    fn job() -> Job {
        Job {
            reference: "r.example/app:1.0".into(),
            registry: "r.example".into(),
            repository: "app".into(),
            candidates: vec!["1.2".into(), "1.1".into()],
            min_age: 86400,
            before: [("1.1".to_string(), age("sha256:old11")), ("0.9".to_string(), age("sha256:gone"))]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn a_failed_job_keeps_what_was_known_of_the_candidates_it_did_not_reach() {
        let mut aged = Aged::default();
        let mut cache = TagCache::default();
        let o = Outcome {
            ages: [("1.2".to_string(), age("sha256:new12"))].into_iter().collect(),
            configs: vec![("sha256:new12".into(), RemoteImage::default())],
            pick: None,
            warning: Some("cannot age app:1.1: unreachable".into()),
        };
        merge(&mut aged, &mut cache, &job(), o);
        let ages = &aged.tag_ages["r.example/app:1.0"];
        assert_eq!(ages["1.2"].digest.as_deref(), Some("sha256:new12"));
        // 1.1 was not reached this time: last run's age stays; 0.9 is no
        // candidate any more and is dropped.
        assert_eq!(ages["1.1"].digest.as_deref(), Some("sha256:old11"));
        assert!(!ages.contains_key("0.9"));
        assert_eq!(aged.configs, 1);
        assert!(cache.images.contains_key("sha256:new12"));
        assert_eq!(aged.warnings.len(), 1);
        assert!(!aged.picks.contains_key("r.example/app:1.0"));
    }

    #[test]
    fn a_job_that_finished_records_only_this_runs_ages_and_its_pick() {
        let mut aged = Aged::default();
        let mut cache = TagCache::default();
        let o = Outcome {
            ages: [("1.2".to_string(), age("sha256:new12"))].into_iter().collect(),
            configs: Vec::new(),
            pick: Some((Some("1.2".into()), Some("sha256:new12".into()))),
            warning: None,
        };
        merge(&mut aged, &mut cache, &job(), o);
        let ages = &aged.tag_ages["r.example/app:1.0"];
        assert_eq!(ages.keys().collect::<Vec<_>>(), ["1.2"]);
        assert_eq!(aged.picks["r.example/app:1.0"], (Some("1.2".into()), Some("sha256:new12".into())));
        assert_eq!(aged.configs, 0);
        assert!(aged.warnings.is_empty());
    }

    #[test]
    fn nothing_learnt_leaves_no_empty_entry() {
        let mut aged = Aged::default();
        let mut cache = TagCache::default();
        let mut j = job();
        j.before.clear();
        merge(&mut aged, &mut cache, &j, Outcome { warning: Some("x".into()), ..Outcome::default() });
        assert!(aged.tag_ages.is_empty());
    }
}
