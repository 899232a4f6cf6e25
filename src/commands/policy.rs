//! `freshen policy IMAGE`: like `apt-cache policy`, the installed version
//! of one image, the candidate an upgrade would bring within its policy,
//! and the newer tags within and beyond it. An explicit question about one
//! image, so it asks the registry: a fresh tag listing (kept in the tag
//! cache for `list`) and the candidate's manifest and config.

use std::collections::BTreeMap;

use crate::cli::PolicyArgs;
use crate::core::controls::Cooldown;
use crate::core::exit::ExitStatus;
use crate::core::image::{LocalImage, Platform};
use crate::core::policy::ImagePolicy;
use crate::core::reference::{short_digest, Reference};
use crate::core::report::local_digest;
use crate::core::state::State;
use crate::core::tagcache::{Listing, RemoteImage, TagCache, LABEL_REVISION, LABEL_SOURCE, LABEL_VERSION};
use crate::core::verdict::{pick_platform, Manifest};
use crate::core::versions::{self, Level, Version};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::registry::{ErrorKind, Host, Registries, RegistryError};
use crate::settings::Settings;

/// One side of the comparison, as printed.
#[derive(Debug, Default)]
struct Side {
    version: Option<String>,
    tag: String,
    digest: Option<String>,
    created: Option<String>,
    revision: Option<String>,
    source: Option<String>,
}

/// What `freshen policy` found out, ready to print.
struct View {
    reference: Reference,
    tag: String,
    policy: ImagePolicy,
    /// Whether the tag is here (else the table marks the current tag).
    local: bool,
    installed: Option<Side>,
    candidate: std::result::Result<Side, RegistryError>,
    /// The newer tags, when the tag is a version.
    newer: Option<versions::Newer>,
    /// The newer tag an upgrade would move to, unless it is skipped.
    pick: Option<versions::NewerVersion>,
    skipped: bool,
    /// A newer tag still in its cooldown.
    waiting: Option<(String, Cooldown)>,
    now: i64,
}

pub async fn policy(settings: &Settings, args: &PolicyArgs, p: &Printer) -> Result<ExitStatus> {
    let reference = asked_reference(&args.image)?;
    let tag = reference.tag.clone().unwrap_or_default();
    let policy = settings.image_policy(&reference);
    let engine = Engine::connect(settings.docker_host.as_deref()).await?;
    let images = engine.images().await?;
    let local = images.iter().find(|i| i.tags.contains(&reference));

    let registries = Registries::new(settings.registry.clone()).map_err(Error::Registry)?;
    for w in registries.warnings() {
        p.warn(&w);
    }
    let state = State::load(&settings.state_dir).unwrap_or_default();
    let hint = state.registries.get(&reference.registry).and_then(|i| i.scheme.clone());
    let host = registries
        .host(&reference.registry, vec![reference.repository.clone()], hint.as_deref())
        .map_err(|e| Error::Registry(e.to_string()))?;

    let now = output::now_unix();
    let mut cache = TagCache::load(&settings.state_dir);
    let (tags, mut failed) = list_tags(&host, &reference, &mut cache, now, p).await;
    let newer = versions::newer_tags(&tag, &tags, &policy.rules);
    let platform = match local {
        Some(i) => {
            engine.platform(&i.id).await.unwrap_or_else(|_| Platform::linux_on(std::env::consts::ARCH))
        }
        None => Platform::linux_on(std::env::consts::ARCH),
    };
    let installed = local.map(|i| installed_with_recorded_digest(i, &reference, &state));
    // The newer tag an upgrade would move to: the newest within the policy
    // that has waited out its minimum age (as the last update aged it) and
    // is not skipped.
    let within: Vec<&versions::NewerVersion> =
        newer.as_ref().map(|n| n.table.iter().filter(|c| c.within_policy).collect()).unwrap_or_default();
    let key = reference.to_string();
    let ages = state.tag_ages.get(&key);
    let (pick, waiting) = crate::core::controls::pick_tag(&within, |c| c.tag(), ages, now, None);
    let skips = crate::core::skips::Skips::load(&settings.state_dir).unwrap_or_default();
    let skipped = pick.is_some_and(|c| {
        let digest = ages.and_then(|a| a.get(c.tag())).and_then(|a| a.digest.as_deref());
        skips.tag_skipped(&key, c.tag(), digest).is_some()
    });
    let candidate_tag = pick.filter(|_| !skipped).map(|c| c.tag().to_string());
    let candidate = match &candidate_tag {
        Some(t) => remote_side(&host, &reference.repository, t, &platform, &mut cache, now).await,
        None => match remote_side(&host, &reference.repository, &tag, &platform, &mut cache, now).await {
            // The tag's image is the installed one: the candidate is what is installed.
            Ok(side) if local.is_some_and(|i| same_image(i, &reference, &side)) => {
                Ok(installed.as_ref().map(clone_side).unwrap_or(side))
            }
            other => other,
        },
    };
    if let Ok(lock) = crate::services::lock_state(&settings.state_dir, p) {
        if let Err(e) = cache.save(&settings.state_dir, &lock, now) {
            p.warn(&e.to_string());
        }
    }
    failed |= candidate.is_err();
    let view = View {
        pick: pick.map(|c| (*c).clone()),
        waiting: waiting.map(|(c, wait)| (c.tag().to_string(), wait)),
        local: local.is_some(),
        reference,
        tag,
        policy,
        installed,
        candidate,
        newer,
        skipped,
        now,
    };
    print_view(p, &view);
    Ok(if failed { ExitStatus::Failed } else { ExitStatus::Ok })
}

/// The image asked about, with `latest` when it names no tag; a digest is
/// a usage error.
fn asked_reference(image: &str) -> Result<Reference> {
    let mut reference =
        Reference::parse(image).map_err(|detail| Error::BadReference { input: image.to_string(), detail })?;
    if reference.digest.is_some() {
        return Err(Error::Usage(format!(
            "'{}' names a digest, which never changes: give a tag, like {}:latest",
            image,
            reference.familiar_name()
        )));
    }
    reference.tag.get_or_insert_with(|| "latest".to_string());
    Ok(reference)
}

/// A fresh tag listing, kept in the cache; the cached one (and a failure)
/// when the registry cannot list them.
async fn list_tags(
    host: &Host,
    reference: &Reference,
    cache: &mut TagCache,
    now: i64,
    p: &Printer,
) -> (Vec<String>, bool) {
    let name = reference.name();
    match host.tags(&reference.repository).await {
        Ok(tags) => {
            cache.repositories.insert(name.clone(), Listing::new(now, tags.clone()));
            (tags, false)
        }
        Err(e) => {
            p.warn(&format!("cannot list the tags of {name}: {e}"));
            (cache.tags(&name).map(<[String]>::to_vec).unwrap_or_default(), true)
        }
    }
}

/// The installed side, with the digest the last update learnt while the
/// image is the same: podman's RepoDigest after a push names a manifest no
/// registry has.
fn installed_with_recorded_digest(image: &LocalImage, reference: &Reference, state: &State) -> Side {
    let key = reference.to_string();
    let recorded = state
        .entries
        .iter()
        .find(|e| e.reference == key && e.image_id == image.id && e.remote_digest.is_some());
    let mut side = installed_side(image, reference);
    if let Some(e) = recorded {
        side.digest = e.local_digest.clone();
    }
    side
}

/// Prints the view like `apt-cache policy`.
fn print_view(p: &Printer, v: &View) {
    p.line(&format!("{}:", v.reference.familiar()));
    match &v.installed {
        Some(side) => print_side(p, "Installed", side),
        None => p.line("  Installed: (none)"),
    }
    match &v.candidate {
        Ok(side) => {
            print_side(p, "Candidate", side);
            if let Some(link) = release_notes(v, side) {
                p.line(&format!("    Release notes: {link}"));
            }
        }
        Err(e) => p.line(&format!("  Candidate: (unknown: {e})")),
    }
    p.line(&format!("  Policy: {}", describe_policy(&v.policy)));
    let tag = &v.tag;
    let move_to = v.pick.as_ref().filter(|_| !v.skipped && !v.policy.hold);
    match move_to {
        Some(c) => p.line(&format!("  Tag upgrade: {tag} → {} ({})", c.tag(), c.level)),
        None if v.policy.hold => p.line("  Tag upgrade: none (held)"),
        None => match v.pick.as_ref().filter(|_| v.skipped) {
            Some(c) => p.line(&format!("  Tag upgrade: none ({} is skipped)", c.tag())),
            None => p.line("  Tag upgrade: none"),
        },
    }
    if let Some((t, wait)) = &v.waiting {
        let when = crate::core::controls::in_words(wait.available_at - v.now);
        p.line(&format!("  Cooldown: {t} available {when}"));
    }
    print_table(p, v);
}

/// The candidate's release notes, only when it is not what is installed.
fn release_notes(v: &View, side: &Side) -> Option<String> {
    let installed = v.installed.as_ref();
    let new = installed.is_none_or(|i| i.digest != side.digest);
    let source = side.source.as_deref().or(installed.and_then(|i| i.source.as_deref()));
    // The version label, if the image has one (not the tag's version).
    let from_tag = Version::parse(&side.tag).map(|v| v.display());
    let label = side.version.as_deref().filter(|v| from_tag.as_deref() != Some(*v));
    let spelling = crate::core::controls::Spelling { label, tag: Some(&side.tag) };
    new.then(|| crate::core::controls::release_notes(v.policy.changelog.as_deref(), source, spelling))
        .flatten()
}

/// The version table: the newer tags, within the policy or beyond it, over
/// the installed one.
fn print_table(p: &Printer, v: &View) {
    let tag = &v.tag;
    p.line("  Version table:");
    let what = if v.local { "installed" } else { "current tag" };
    // The same tag with a new image: a `digest` line above the installed one.
    let moved = match (&v.installed, &v.candidate) {
        (Some(i), Ok(c)) => &c.tag == tag && c.digest != i.digest,
        _ => false,
    };
    let table = v.newer.as_ref().map(|n| n.table.as_slice()).unwrap_or_default();
    let width = table.iter().map(|c| c.tag().len()).chain([tag.len()]).max().unwrap_or(0);
    for c in table {
        let note = if c.within_policy { "" } else { "  beyond policy" };
        p.line(&format!("     {:width$}  {}{note}", c.tag(), c.level));
    }
    if moved {
        p.line(&format!("     {tag:width$}  digest"));
    }
    match &v.newer {
        None => p.line(&format!(" *** {tag:width$}  {what} (not a version: followed by digest)")),
        Some(_) => p.line(&format!(" *** {tag:width$}  {what}")),
    }
}

fn clone_side(s: &Side) -> Side {
    Side {
        version: s.version.clone(),
        tag: s.tag.clone(),
        digest: s.digest.clone(),
        created: s.created.clone(),
        revision: s.revision.clone(),
        source: s.source.clone(),
    }
}

fn describe_policy(policy: &ImagePolicy) -> String {
    let mut s = match policy.rules.max_level {
        Level::Digest => "digest only (tags never move)".to_string(),
        Level::Major => "all levels".to_string(),
        l => format!("up to {l}"),
    };
    if !policy.rules.include.is_empty() {
        s.push_str(&format!(", include {}", policy.rules.include.join(" ")));
    }
    if !policy.rules.exclude.is_empty() {
        s.push_str(&format!(", exclude {}", policy.rules.exclude.join(" ")));
    }
    if policy.hold {
        s.push_str(", held");
    }
    match &policy.section {
        Some(pattern) => s.push_str(&format!(" (config [images.\"{pattern}\"])")),
        None => s.push_str(" (default)"),
    }
    s
}

fn print_side(p: &Printer, title: &str, side: &Side) {
    let version = side.version.clone().unwrap_or_else(|| match &side.digest {
        Some(d) => short_digest(d).to_string(),
        None => "(unknown)".to_string(),
    });
    p.line(&format!("  {title}: {version}"));
    p.line(&format!("    Tag: {}", side.tag));
    if let Some(d) = &side.digest {
        p.line(&format!("    Digest: {d}"));
    }
    if let Some(c) = &side.created {
        p.line(&format!("    Created: {c}"));
    }
    if let Some(r) = &side.revision {
        p.line(&format!("    Revision: {r}"));
    }
    if let Some(s) = &side.source {
        p.line(&format!("    Source: {s}"));
    }
}

fn label(labels: &BTreeMap<String, String>, key: &str) -> Option<String> {
    labels.get(key).filter(|v| !v.trim().is_empty()).cloned()
}

fn installed_side(image: &LocalImage, reference: &Reference) -> Side {
    let tag = reference.tag.clone().unwrap_or_default();
    Side {
        version: label(&image.labels, LABEL_VERSION).or_else(|| Version::parse(&tag).map(|v| v.display())),
        digest: local_digest(image, reference, None).or_else(|| Some(image.id.clone())),
        created: crate::core::time::format_rfc3339(image.created),
        revision: label(&image.labels, LABEL_REVISION),
        source: label(&image.labels, LABEL_SOURCE),
        tag,
    }
}

fn same_image(image: &LocalImage, reference: &Reference, side: &Side) -> bool {
    side.digest.as_deref().is_some_and(|d| image.id == d || image.digests_in(reference).any(|x| x == d))
}

/// A remote tag: its digest, and its config (for this platform) read for
/// the version, creation time, revision and source.
async fn remote_side(
    host: &Host,
    repo: &str,
    tag: &str,
    platform: &Platform,
    cache: &mut TagCache,
    now: i64,
) -> Result<Side, RegistryError> {
    let digest = host.tag_digest(repo, tag).await?;
    let info = match cache.images.get(&digest) {
        Some(info) => info.clone(),
        None => {
            let config_digest = match host.manifest(repo, &digest).await? {
                Manifest::Image { config_digest } => config_digest,
                Manifest::Index(entries) => {
                    let entry = pick_platform(&entries, platform).ok_or_else(|| RegistryError {
                        kind: ErrorKind::NotFound,
                        message: format!("the registry's index for {tag} has no {platform} image"),
                    })?;
                    match host.manifest(repo, &entry.digest).await? {
                        Manifest::Image { config_digest } => config_digest,
                        Manifest::Index(_) => {
                            return Err(RegistryError {
                                kind: ErrorKind::BadResponse,
                                message: "the index entry for this platform is itself an index".into(),
                            })
                        }
                    }
                }
            };
            let info = RemoteImage::from_config(&host.image_config(repo, &config_digest).await?, now);
            cache.images.insert(digest.clone(), info.clone());
            info
        }
    };
    Ok(Side {
        version: info.version.or_else(|| Version::parse(tag).map(|v| v.display())),
        tag: tag.to_string(),
        digest: Some(digest),
        created: info.created,
        revision: info.revision,
        source: info.source,
    })
}
