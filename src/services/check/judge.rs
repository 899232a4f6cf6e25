//! The multi-arch rule for a tag whose registry digest is not ours: the
//! manifest behind it (and for an index our platform's entry) decides, and
//! on engines whose RepoDigests may be their own, what is installed.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::OnceCell;

use super::{absent, Ctx};
use crate::core::image::Platform;
use crate::core::report::LocalTag;
use crate::core::verdict::{self, judge_config, judge_manifest, Local, Manifest, Next, Status};
use crate::engine::Engine;
use crate::registry::{ErrorKind, Host, RegistryError};

/// What a check learnt about the installed image's digest beyond what its
/// RepoDigests say (which, on the containerd store and podman, may name a
/// manifest no registry has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Installed {
    /// Take it from the image's RepoDigests, as the engine recorded them.
    FromEngine,
    /// The registry's manifest with this digest carries the local image's
    /// config: that is what is installed (podman keeps a local digest of
    /// its own after `push`).
    Is(String),
    /// None of the image's RepoDigests is in the registry: a local build.
    Unknown,
}

/// Platforms of local images, inspected at most once each and only when an
/// index has to be matched.
#[derive(Default)]
pub(super) struct Platforms {
    cells: std::sync::Mutex<HashMap<String, Arc<OnceCell<Platform>>>>,
}

impl Platforms {
    pub(super) async fn get(&self, engine: &Engine, id: &str) -> Result<Platform, RegistryError> {
        let cell =
            self.cells.lock().unwrap_or_else(|e| e.into_inner()).entry(id.to_string()).or_default().clone();
        cell.get_or_try_init(|| engine.platform(id)).await.cloned().map_err(|e| RegistryError {
            kind: ErrorKind::BadResponse,
            message: format!("cannot tell the local image's platform: {e}"),
        })
    }
}

/// What the registry's manifest for a digest other than ours says.
pub(super) struct Judged {
    pub(super) manifest: Manifest,
    /// The local image's platform (default unless the manifest is an index).
    pub(super) platform: Platform,
    pub(super) status: Status,
    /// The remote image's config digest for our platform, when learnt.
    pub(super) config: Option<String>,
    pub(super) installed: Installed,
    pub(super) note: Option<String>,
}

/// The multi-arch rule: the manifest behind the remote digest, and for an
/// index the entry for the local image's platform, decide the verdict.
pub(super) async fn judge_remote(
    ctx: Ctx<'_>,
    host: &Host,
    t: &LocalTag<'_>,
    local: Local<'_>,
    remote: &str,
    probe: bool,
) -> Result<Judged, RegistryError> {
    let repo = &t.reference.repository;
    let manifest = host.manifest(repo, remote).await?;
    let platform = match manifest {
        Manifest::Index(_) => ctx.platforms.get(ctx.engine, &t.image.id).await?,
        Manifest::Image { .. } => Platform::default(),
    };
    let mut config = None;
    let mut installed = Installed::FromEngine;
    let mut note = None;
    let status = match judge_manifest(local, &manifest, &platform) {
        Next::Done(s) => {
            if let Manifest::Image { config_digest } = &manifest {
                config = Some(config_digest.clone());
                if probe && s == Status::UpToDate {
                    installed = Installed::Is(remote.to_string());
                }
            }
            s
        }
        Next::NoPlatform => {
            return Err(RegistryError {
                kind: ErrorKind::NotFound,
                message: format!("the registry's index for this tag has no {platform} image"),
            })
        }
        Next::FetchPlatformManifest(digest) => {
            let (s, c, n) = judge_platform_entry(host, repo, local, &digest, &platform).await?;
            config = c;
            note = n;
            s
        }
    };
    Ok(Judged { manifest, platform, status, config, installed, note })
}

/// An index whose entry for our platform is `digest`: that entry's config
/// decides, or (containerd store, where the id is the index the image was
/// pulled by) the old index's entry for the same platform. Returns the
/// verdict, the entry's config digest and a note on how it was reached.
pub(super) async fn judge_platform_entry(
    host: &Host,
    repo: &str,
    local: Local<'_>,
    digest: &str,
    platform: &Platform,
) -> Result<(Status, Option<String>, Option<String>), RegistryError> {
    let mut note = None;
    let old = match local.id_is_a_manifest() {
        true => Some(host.manifest(repo, local.id).await),
        false => None,
    };
    let decided = match old {
        None => None,
        Some(Ok(old)) => Some(verdict::judge_old_manifest(&old, digest, platform)),
        Some(Err(e)) => {
            note = Some(format!(
                "upgradable because the index this image was pulled by cannot be read to compare \
                 its {platform} entry ({e})"
            ));
            Some(Status::Upgradable)
        }
    };
    if decided == Some(Status::UpToDate) {
        return Ok((Status::UpToDate, None, note));
    }
    match host.manifest(repo, digest).await? {
        Manifest::Image { config_digest } => {
            let s = decided.unwrap_or_else(|| judge_config(local, &config_digest));
            Ok((s, Some(config_digest), note))
        }
        Manifest::Index(_) => Err(RegistryError {
            kind: ErrorKind::BadResponse,
            message: "the index entry for this platform is itself an index".into(),
        }),
    }
}

/// For an upgradable tag on an engine whose RepoDigests may be its own
/// (`probe`): what an earlier update learnt of the installed digest, else
/// whether any of the image's digests was ever pushed (none: a local build).
pub(super) async fn installed_digest(
    ctx: Ctx<'_>,
    host: &Host,
    t: &LocalTag<'_>,
    reference: &str,
    (status, probe): (Status, bool),
    installed: Installed,
) -> Installed {
    if !probe || status != Status::Upgradable {
        return installed;
    }
    let digests: Vec<&str> = t.image.digests_in(&t.reference).collect();
    if digests.is_empty() {
        return installed;
    }
    let earlier =
        ctx.known.verdicts.get(reference).filter(|e| {
            e.image_id == t.image.id && e.remote_digest.is_some() && e.status != Status::LocalOnly
        });
    if let Some(e) = earlier {
        // An earlier update already learnt what this image's installed
        // digest is (or that there is none): no need to ask again.
        return e.local_digest.clone().map_or(Installed::Unknown, Installed::Is);
    }
    // Upgradable, and the image's own digests: were any ever pushed?
    for d in &digests {
        match host.tag_digest(&t.reference.repository, d).await {
            Err(x) if absent(&x) => continue,
            _ => return installed,
        }
    }
    Installed::Unknown
}

/// podman records the platform manifest beside the index the tag named:
/// the index is what is installed under the tag.
pub(super) async fn index_installed(
    host: &Host,
    repo: &str,
    (manifest, platform): (&Manifest, &Platform),
    digests: &[&str],
    installed: Installed,
) -> Installed {
    let (Manifest::Index(entries), Installed::FromEngine, true) = (manifest, &installed, digests.len() > 1)
    else {
        return installed;
    };
    let ours = verdict::pick_platform(entries, platform).map(|e| e.digest.as_str());
    if let Some(index) = ours.and_then(|e| verdict::index_beside(digests, e)) {
        return Installed::Is(index.to_string());
    }
    for d in digests {
        if let Ok(Manifest::Index(_)) = host.manifest(repo, d).await {
            return Installed::Is(d.to_string());
        }
    }
    installed
}
