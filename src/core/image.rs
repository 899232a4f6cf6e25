//! What freshen knows about images and containers, whichever engine or
//! registry told it: plain data, no I/O.

use std::collections::{BTreeMap, HashMap};

use crate::core::reference::Reference;
use crate::core::secret::Secret;

/// One image in the local store.
#[derive(Debug, Clone)]
pub struct LocalImage {
    /// `sha256:…`: the config digest on the classic store, the manifest or
    /// index digest on the containerd store.
    pub id: String,
    /// Tags, parsed and normalised; `<none>:<none>` placeholders dropped.
    pub tags: Vec<Reference>,
    /// `repo@sha256:…` records of what was pulled or pushed, normalised.
    pub digests: Vec<Reference>,
    /// Seconds since the epoch.
    pub created: i64,
    pub size: i64,
    /// The image's labels (`org.opencontainers.image.version`, …).
    pub labels: std::collections::BTreeMap<String, String>,
}

impl LocalImage {
    /// The digests this image is known by in one repository.
    pub fn digests_in<'a>(&'a self, name: &'a Reference) -> impl Iterator<Item = &'a str> + 'a {
        self.digests
            .iter()
            .filter(move |d| d.registry == name.registry && d.repository == name.repository)
            .filter_map(|d| d.digest.as_deref())
    }
}

/// One container, running or stopped.
#[derive(Debug, Clone, Default)]
pub struct Container {
    /// Without the leading `/`.
    pub name: String,
    /// The image as the container was created with it (`nginx:latest`).
    pub image: String,
    pub image_id: String,
    pub running: bool,
    pub labels: HashMap<String, String>,
}

/// What `inspect` and `history` tell about one image's filesystem.
#[derive(Debug, Clone, Default)]
pub struct ImageLayers {
    pub id: String,
    /// Diff ids of its layers, bottom first (`RootFS.Layers`).
    pub diff_ids: Vec<String>,
    /// Size of each layer, bottom first, one per diff id (from `history`,
    /// see `space::layer_sizes`).
    pub sizes: Vec<i64>,
}

/// os/architecture/variant of a local image, from `inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Credentials handed to the engine for a pull (`X-Registry-Auth`).
pub struct PullAuth {
    pub server: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub identity_token: Option<Secret>,
    pub registry_token: Option<Secret>,
}

/// What an image's config blob says about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    /// RFC 3339, as the builder wrote it.
    pub created: Option<String>,
    pub labels: BTreeMap<String, String>,
}

/// The engine at one moment: every image, every container, and each image's
/// parent. What the retire protections and the space count are decided on.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub images: Vec<LocalImage>,
    pub containers: Vec<Container>,
    pub parents: HashMap<String, String>,
}
