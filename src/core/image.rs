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
    /// The creation time in nanoseconds since the epoch, where a tie in
    /// whole seconds had to be broken (the engine's listing gives seconds
    /// only; an inspect gives the rest). None elsewhere.
    pub created_ns: Option<i128>,
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

impl Platform {
    /// The Linux platform of a machine whose Rust target architecture is
    /// `arch` (`std::env::consts::ARCH`), in the registry's words
    /// (`linux/amd64`): the guess for an image that is not installed, as
    /// the engine there would pull it.
    pub fn linux_on(arch: &str) -> Platform {
        Platform { os: "linux".into(), architecture: normalise_arch(arch).into(), variant: None }
    }
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

/// Which engine freshen talks to and how it stores images: the Docker
/// classic store, Docker's containerd image store and podman describe the
/// same image differently (`Id`, `RepoDigests`, `RepoTags`, sizes, pull
/// progress), so rules that depend on those facts ask this model instead of
/// guessing from one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineModel {
    pub kind: EngineKind,
    pub store: ImageStore,
    /// The engine's own version (`26.1.5`, `5.4.2`).
    pub version: String,
    /// The API version agreed on for this connection.
    pub api_version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Docker,
    Podman,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageStore {
    /// Docker's graph drivers (overlay2): `Id` is the config digest.
    Classic,
    /// Docker with `containerd-snapshotter`: `Id` is the manifest or index
    /// digest; sizes are snapshot usage.
    Containerd,
    /// podman's containers/storage.
    ContainersStorage,
}

impl EngineModel {
    /// From what `/version` (component names, `Version`) and `/info`
    /// (`DriverStatus` pairs) say. podman names its component `Podman
    /// Engine`; the containerd store reports `driver-type
    /// io.containerd.snapshotter.v1`.
    pub fn detect(
        component_names: &[&str],
        version: &str,
        api_version: &str,
        driver_status: &[(String, String)],
    ) -> EngineModel {
        let podman = component_names.iter().any(|name| name.eq_ignore_ascii_case("Podman Engine"));
        let snapshotter = driver_status
            .iter()
            .any(|(key, value)| key == "driver-type" && value.starts_with("io.containerd.snapshotter"));
        let (kind, store) = match (podman, snapshotter) {
            (true, _) => (EngineKind::Podman, ImageStore::ContainersStorage),
            (false, true) => (EngineKind::Docker, ImageStore::Containerd),
            (false, false) => (EngineKind::Docker, ImageStore::Classic),
        };
        EngineModel { kind, store, version: version.to_string(), api_version: api_version.to_string() }
    }
}

impl EngineModel {
    /// Whether a `RepoDigests` entry proves that the image came from (or
    /// went to) that registry. The containerd store and podman give every
    /// local build a RepoDigest of its own, which no registry may have.
    pub fn repo_digests_prove_a_pull(&self) -> bool {
        self.store == ImageStore::Classic
    }

    /// Whether an image built on another records it as its parent. The
    /// containerd store has no parents; podman records none for a `FROM`
    /// of a pulled image.
    pub fn records_parents(&self) -> bool {
        self.store == ImageStore::Classic
    }
}

impl std::fmt::Display for EngineModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let engine = match self.kind {
            EngineKind::Docker => "Docker",
            EngineKind::Podman => "podman",
        };
        let store = match self.store {
            ImageStore::Classic => "classic image store",
            ImageStore::Containerd => "containerd image store",
            ImageStore::ContainersStorage => "containers/storage",
        };
        write!(f, "{engine} {} (API {}, {store})", self.version, self.api_version)
    }
}

/// The engine at one moment: every image, every container, and each image's
/// parent. What the retire protections and the space count are decided on.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub images: Vec<LocalImage>,
    pub containers: Vec<Container>,
    pub parents: HashMap<String, String>,
    /// Images another image builds on, told by layer chains: filled in only
    /// where the engine records no parent (containerd store, podman) and
    /// only when something is about to be retired.
    pub layer_parents: std::collections::HashSet<String>,
    /// Images only the full listing (`all`) shows: build steps, and on
    /// podman 4 an untagged image another builds on (an earlier version a
    /// child was built from).
    pub hidden: Vec<LocalImage>,
}

/// An architecture as registries name it (`amd64`, `arm64`), from the
/// names kernels, distributions and Rust use (`x86_64`, `aarch64`).
pub fn normalise_arch(arch: &str) -> &str {
    match arch {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "armhf" | "armel" => "arm",
        "i386" | "i686" | "x86" => "386",
        a => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn engine_model_tells_the_stores_apart() {
        let classic = EngineModel::detect(
            &["Engine", "containerd", "runc"],
            "26.1.5",
            "1.45",
            &status(&[("Backing Filesystem", "extfs"), ("Supports d_type", "true")]),
        );
        assert_eq!((classic.kind, classic.store), (EngineKind::Docker, ImageStore::Classic));
        assert!(classic.repo_digests_prove_a_pull());
        let snapshotter = EngineModel::detect(
            &["Engine"],
            "26.1.5",
            "1.45",
            &status(&[("driver-type", "io.containerd.snapshotter.v1")]),
        );
        assert_eq!((snapshotter.kind, snapshotter.store), (EngineKind::Docker, ImageStore::Containerd));
        assert_eq!(snapshotter.to_string(), "Docker 26.1.5 (API 1.45, containerd image store)");
        let podman =
            EngineModel::detect(&["Podman Engine", "Conmon", "OCI Runtime (runc)"], "5.4.2", "1.41", &[]);
        assert_eq!((podman.kind, podman.store), (EngineKind::Podman, ImageStore::ContainersStorage));
        assert_eq!(podman.to_string(), "podman 5.4.2 (API 1.41, containers/storage)");
        assert!(!podman.repo_digests_prove_a_pull() && !snapshotter.repo_digests_prove_a_pull());
    }
}
