//! The Docker Engine, seen through bollard and turned into freshen's own
//! types: the local images (one `images/json` call) and the containers that
//! use them. Nothing here decides anything; it only reports what is there.

mod containers;
mod exec;
mod raw;
mod ssh;
mod usage;

pub use usage::StoreDisk;

use std::collections::HashMap;
use std::sync::Arc;

use bollard::auth::DockerCredentials;
use bollard::models::SystemVersion;
use bollard::query_parameters::{
    CreateImageOptionsBuilder, ListImagesOptionsBuilder, RemoveImageOptionsBuilder, TagImageOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use crate::core::image::{Container, EngineModel, ImageLayers, LocalImage, Platform, PullAuth, Snapshot};
use crate::core::reference::Reference;
use crate::error::{Error, Result};

const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
const ENGINE_TIMEOUT_SECS: u64 = 120;
/// Tries of a pull that podman fails with "layer not known" (see `pull`).
const PULL_ATTEMPTS: u32 = 3;

/// A handle on the engine. Cheap to clone; clones share what was learnt
/// about the engine (its version and model), which is asked at most once.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    /// Where connections go: the socket or address, or a tunnel's socket.
    host: String,
    /// The engine as the user named it, for messages (`ssh://…`).
    shown: String,
    /// For an `ssh://` engine, the tunnel the connections go through.
    tunnel: Option<Arc<ssh::Tunnel>>,
    /// `GET /version`, once: by `connect`, or on first use after `open`.
    version: Arc<OnceCell<SystemVersion>>,
    model: Arc<OnceCell<EngineModel>>,
}

/// One event of a pull, from the engine's progress stream.
#[derive(Debug, Clone)]
pub struct PullEvent {
    /// The layer the event is about (short id), if any.
    pub layer: Option<String>,
    /// `Downloading`, `Extracting`, `Pull complete`, `Digest: …`.
    pub status: String,
    pub current: Option<u64>,
    pub total: Option<u64>,
}

/// The outcome of asking the engine to remove one image without force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Gone; what the engine reports deleted: image ids (this one and any
    /// untagged parents it pruned) and layer chain ids.
    Deleted(Vec<String>),
    /// The engine refused (409): in use, has children, or several names.
    Refused(String),
    /// Already gone before we asked.
    Missing,
}

impl Engine {
    /// Images, containers and parents read together: one consistent view
    /// for the decisions that need all three.
    pub async fn snapshot(&self) -> Result<Snapshot> {
        let every = async {
            let opts = ListImagesOptionsBuilder::default().all(true).build();
            self.list_images(opts).await
        };
        let (images, containers, every) = tokio::try_join!(self.images(), self.containers(), every)?;
        let listed: std::collections::HashSet<&str> = images.iter().map(|i| i.id.as_str()).collect();
        let mut parents = HashMap::new();
        let mut hidden = Vec::new();
        for s in every {
            if !listed.contains(s.id.as_str()) {
                hidden.push(local_image(s.clone()));
            }
            parents.insert(s.id, s.parent_id);
        }
        Ok(Snapshot { images, containers, parents, layer_parents: Default::default(), hidden })
    }

    /// Connects and reads the engine's version. Fails with one line that
    /// names the socket when the daemon is not there.
    pub async fn connect(host: Option<&str>) -> Result<Engine> {
        let engine = Engine::open(host)?;
        engine.version().await.map_err(|e| Error::unreachable(&engine.shown, engine.detail(&e)))?;
        Ok(engine)
    }

    /// A handle without a round trip: the first request tells whether the
    /// daemon is there (an unreachable one fails it with the same one line
    /// as `connect`). For commands where that first request is the one that
    /// matters for speed. bollard sends unversioned paths, so the daemon
    /// answers in its own API version whether or not the version was read.
    pub fn open(host: Option<&str>) -> Result<Engine> {
        let shown = host.map_or_else(|| DEFAULT_HOST.to_string(), str::to_string);
        let unreachable = |detail: String| Error::unreachable(&shown, detail);
        let tunnel = if shown.starts_with("ssh://") {
            Some(Arc::new(ssh::Tunnel::open(&shown).map_err(Error::Usage)?))
        } else {
            None
        };
        let host = tunnel.as_ref().map_or_else(|| shown.clone(), |t| t.address());
        let docker = if host.starts_with("unix://") {
            Docker::connect_with_unix(&host, ENGINE_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            Docker::connect_with_http(&host, ENGINE_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
        } else if host.starts_with('/') {
            Docker::connect_with_unix(&host, ENGINE_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
        } else {
            return Err(Error::Usage(format!(
                "unsupported Docker host '{host}': use unix:///path/to/docker.sock, tcp://HOST:PORT \
                 or ssh://[USER@]HOST[:PORT]"
            )));
        }
        .map_err(|e| unreachable(e.to_string()))?;
        Ok(Engine { docker, host, shown, tunnel, version: Arc::default(), model: Arc::default() })
    }

    /// An error's detail, with ssh's own reason first for an engine
    /// reached over ssh (the connection only says it was closed).
    fn detail(&self, e: &bollard::errors::Error) -> String {
        self.ssh_said(engine_detail(e))
    }

    fn ssh_said(&self, detail: String) -> String {
        match self.tunnel.as_ref().and_then(|t| t.last_error()) {
            Some(said) => format!("ssh: {}", said.strip_prefix("ssh: ").unwrap_or(&said)),
            None => detail,
        }
    }

    pub(crate) async fn version(&self) -> Result<&SystemVersion, bollard::errors::Error> {
        self.version.get_or_try_init(|| self.docker.version()).await
    }

    /// Which engine and image store answer, from `/version` and `/info`
    /// (asked together, once per run).
    pub async fn model(&self) -> Result<EngineModel> {
        self.model.get_or_try_init(|| self.read_model()).await.cloned()
    }

    async fn read_model(&self) -> Result<EngineModel> {
        let (version, info) = tokio::try_join!(
            async { self.version().await.map_err(|e| self.failed("read its version", e)) },
            async { self.docker.info().await.map_err(|e| self.failed("read its configuration", e)) },
        )?;
        let components = version.components.clone().unwrap_or_default();
        let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
        let driver_status: Vec<(String, String)> = info
            .driver_status
            .unwrap_or_default()
            .into_iter()
            .filter_map(|pair| match pair.as_slice() {
                [key, value] => Some((key.clone(), value.clone())),
                _ => None,
            })
            .collect();
        let api = agreed_api(version.api_version.as_deref());
        Ok(EngineModel::detect(&names, version.version.as_deref().unwrap_or("?"), &api, &driver_status))
    }

    /// Every image with its tags and digests, in one call.
    pub async fn images(&self) -> Result<Vec<LocalImage>> {
        let opts = ListImagesOptionsBuilder::default().all(false).build();
        let list = self.list_images(opts).await?;
        let mut images: Vec<LocalImage> = list.into_iter().map(local_image).collect();
        self.break_creation_ties(&mut images).await;
        Ok(images)
    }

    /// The listing gives creation times in whole seconds; where an untagged
    /// image and the newest tagged image of its repository share a second,
    /// their inspects give the rest (see `report::creation_ties`), so that
    /// a pin built a moment after the tag is not taken for an earlier
    /// version. Rare, and a failed inspect only leaves the tie (kept).
    async fn break_creation_ties(&self, images: &mut [LocalImage]) {
        let ids = crate::core::report::creation_ties(images);
        let timeout = std::time::Duration::from_secs(ENGINE_TIMEOUT_SECS);
        for id in ids {
            let path = format!("/images/{id}/json");
            if let Ok(Some(row)) = raw::get_json_if_found::<InspectRow>(&self.host, &path, timeout).await {
                let nanos = row.created.as_deref().and_then(crate::core::time::parse_rfc3339_nanos);
                for i in images.iter_mut().filter(|i| i.id == id) {
                    i.created_ns = nanos;
                }
            }
        }
    }

    /// `GET /images/json`, tried again when it failed only because another
    /// client deleted an image while the engine described it: the containerd
    /// store (404 "content digest …: not found") and podman (500 "image not
    /// known") fail the whole listing then.
    async fn list_images(
        &self,
        opts: bollard::query_parameters::ListImagesOptions,
    ) -> Result<Vec<bollard::models::ImageSummary>> {
        let mut attempt = 0;
        loop {
            match self.docker.list_images(Some(opts.clone())).await {
                Ok(list) => return Ok(list),
                // podman 4 also fails it with "layer not known" while an
                // image's layers are being deleted, and with "size is not
                // known" for an image whose pull is still being committed.
                Err(e) if attempt < LISTING_RETRIES && image_in_flux(&e) => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
                Err(e) => return Err(self.failed("list images", e)),
            }
        }
    }

    /// One tag's image, by inspect (a millisecond, whatever the number of
    /// images), or None if the tag is gone. Only that tag is listed in
    /// `tags`, so several tags of one image give separate entries.
    ///
    /// A plain GET read into just the fields used: `list --upgradable`
    /// makes one per upgradable tag, and the typed client's full parse of
    /// each reply cost more CPU than the engine's answer.
    pub async fn image_by_tag(&self, tag: &Reference) -> Result<Option<LocalImage>> {
        let path = format!("/images/{}/json", tag.familiar());
        let timeout = std::time::Duration::from_secs(ENGINE_TIMEOUT_SECS);
        let i: InspectRow = match raw::get_json_if_found(&self.host, &path, timeout).await {
            Ok(Some(i)) => i,
            Ok(None) => return Ok(None),
            Err(detail) if raw::cannot_connect(&detail) => {
                return Err(Error::DaemonUnreachable {
                    host: self.shown.clone(),
                    detail: self.ssh_said(detail),
                })
            }
            Err(detail) => return Err(Error::Daemon { action: "inspect an image".into(), detail }),
        };
        let created = i.created.as_deref().and_then(crate::core::time::parse_rfc3339).unwrap_or(0);
        Ok(Some(LocalImage {
            id: i.id,
            tags: vec![tag.clone()],
            digests: i
                .repo_digests
                .unwrap_or_default()
                .iter()
                .filter_map(|d| parse_engine_ref(d))
                .filter(|r| r.digest.is_some())
                .collect(),
            created,
            created_ns: None,
            size: i.size,
            labels: i.config.and_then(|c| c.labels).unwrap_or_default(),
        }))
    }

    /// Every container, running or stopped. The list names a container's
    /// image by ID once the tag it was created from has moved; such a
    /// container is asked for its `Config.Image` (what it was created
    /// from), so that it is told apart from one created from the ID and
    /// never attributed to another tag of the same image.
    pub async fn containers(&self) -> Result<Vec<Container>> {
        let mut out = Vec::new();
        for c in self.container_rows().await? {
            let mut image = c.image.clone();
            if crate::core::recreate::names_the_id(&image, &c.image_id) {
                if let Some(v) = self.inspect_container_json(&c.id).await? {
                    if let Some(given) = v["Config"]["Image"].as_str().filter(|i| !i.is_empty()) {
                        image = given.to_string();
                    }
                }
            }
            out.push(Container {
                running: c.running(),
                name: c.name(),
                image,
                image_id: c.image_id,
                labels: c.labels.unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// `GET /containers/json?all=1`, read loosely (see `raw`): every
    /// container's id, name, image, state, labels and network mode.
    async fn container_rows(&self) -> Result<Vec<ContainerRow>> {
        let timeout = std::time::Duration::from_secs(ENGINE_TIMEOUT_SECS);
        raw::get_json(&self.host, "/containers/json?all=1", timeout)
            .await
            .map_err(|detail| Error::Daemon { action: "list containers".into(), detail })
    }

    /// The layers of one image and their sizes. `None` if it is gone.
    pub async fn layers(&self, id: &str) -> Result<Option<ImageLayers>> {
        let inspect = match self.docker.inspect_image(id).await {
            Ok(i) => i,
            // podman answers 500 "image not known" for an image deleted
            // meanwhile, and "layer not known" for one whose layers are
            // incomplete, or (podman 4.3) "size is not known" (see the
            // history below).
            Err(e) if no_such_image(&e) || image_in_flux(&e) => return Ok(None),
            Err(e) => return Err(self.failed("inspect an image", e)),
        };
        let mut attempt = 0;
        let history = loop {
            match self.docker.image_history(id).await {
                Ok(h) => break h,
                // podman 4.3 answers 500 "size is not known" about a blob of
                // another image while that one is being pulled: try again.
                Err(e) if size_unknown(&e) && attempt < LISTING_RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
                // podman answers 500 "layer not known" for an image whose
                // layers a failed pull left incomplete: its layers cannot be
                // counted, and nothing decided from them removes it (the
                // engine's 409 still guards what it carries). The same for
                // a size that stays unknown.
                Err(e) if is_status(&e, 404) || image_in_flux(&e) => return Ok(None),
                Err(e) => return Err(self.failed("read an image's history", e)),
            }
        };
        let diff_ids = inspect.root_fs.and_then(|r| r.layers).unwrap_or_default();
        // history is newest first; layers are bottom first.
        let entries: Vec<i64> = history.iter().rev().map(|h| h.size).collect();
        Ok(Some(ImageLayers {
            id: inspect.id.unwrap_or_else(|| id.to_string()),
            sizes: crate::core::space::layer_sizes(&entries, diff_ids.len()),
            diff_ids,
        }))
    }

    /// Pulls `reference` (`repo@sha256:…`), reporting progress as it goes.
    /// An error in the stream (a missing blob, a dropped connection) fails
    /// the pull; the engine then has changed no tag.
    pub async fn pull(
        &self,
        reference: &str,
        auth: Option<PullAuth>,
        mut progress: impl FnMut(PullEvent),
    ) -> Result<()> {
        let opts = CreateImageOptionsBuilder::default().from_image(reference).build();
        let creds = auth.map(|a| DockerCredentials {
            username: a.username,
            password: a.password.map(|s| s.expose().to_string()),
            identitytoken: a.identity_token.map(|s| s.expose().to_string()),
            registrytoken: a.registry_token.map(|s| s.expose().to_string()),
            serveraddress: Some(a.server),
            ..Default::default()
        });
        // podman reuses a layer it has, and fails with "layer not known"
        // when the last image holding that layer is removed meanwhile (an
        // `rmi` or prune beside the pull): the pull then succeeds when
        // tried again, fetching the layer.
        let mut attempt = 1;
        loop {
            let mut stream = self.docker.create_image(Some(opts.clone()), None, creds.clone());
            let mut failed = None;
            while let Some(item) = stream.next().await {
                let info = match item {
                    Ok(info) => info,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                };
                if let Some(status) = info.status {
                    let detail = info.progress_detail.unwrap_or_default();
                    progress(PullEvent {
                        layer: info.id,
                        status,
                        current: detail.current.and_then(|n| u64::try_from(n).ok()),
                        total: detail.total.and_then(|n| u64::try_from(n).ok()),
                    });
                }
            }
            match failed {
                None => return Ok(()),
                Some(e) if attempt < PULL_ATTEMPTS && e.to_string().contains("layer not known") => {
                    attempt += 1
                }
                Some(e) => return Err(self.failed(&format!("pull {reference}"), e)),
            }
        }
    }

    /// The local id of an image by any of its names; `None` if absent.
    pub async fn image_id(&self, name: &str) -> Result<Option<String>> {
        match self.docker.inspect_image(name).await {
            Ok(i) => Ok(i.id),
            Err(e) if no_such_image(&e) => Ok(None),
            Err(e) => Err(self.failed("inspect an image", e)),
        }
    }

    /// The tags an image carries now; `None` if it is gone.
    pub async fn tags_of(&self, id: &str) -> Result<Option<Vec<String>>> {
        match self.docker.inspect_image(id).await {
            Ok(i) => Ok(Some(
                i.repo_tags.unwrap_or_default().into_iter().filter(|t| !t.starts_with("<none>")).collect(),
            )),
            Err(e) if no_such_image(&e) => Ok(None),
            Err(e) => Err(self.failed("inspect an image", e)),
        }
    }

    /// Points `repo:tag` at the image `id` (moving the tag if it exists).
    pub async fn tag(&self, id: &str, target: &Reference) -> Result<()> {
        let tag = target.tag.as_deref().unwrap_or("latest");
        let opts = TagImageOptionsBuilder::default().repo(&target.name()).tag(tag).build();
        self.docker.tag_image(id, Some(opts)).await.map_err(|e| self.failed(&format!("tag {target}"), e))
    }

    /// Removes an image the way `docker rmi` without `-f` does. A conflict
    /// is an answer, not an error: the caller reports the image as kept.
    pub async fn remove(&self, name: &str) -> Result<Removal> {
        let opts = RemoveImageOptionsBuilder::default().force(false).noprune(false).build();
        match self.docker.remove_image(name, Some(opts), None).await {
            Ok(items) => Ok(Removal::Deleted(items.into_iter().filter_map(|i| i.deleted).collect())),
            Err(e) if is_status(&e, 404) => Ok(Removal::Missing),
            Err(e) if is_status(&e, 409) => Ok(Removal::Refused(conflict_reason(&e))),
            Err(e) => Err(self.failed("remove an image", e)),
        }
    }

    /// The platform an image was built for.
    pub async fn platform(&self, id: &str) -> Result<Platform> {
        let i = self.docker.inspect_image(id).await.map_err(|e| self.failed("inspect an image", e))?;
        Ok(Platform {
            os: i.os.unwrap_or_else(|| "linux".into()),
            architecture: i.architecture.unwrap_or_default(),
            variant: i.variant.filter(|v| !v.is_empty()),
        })
    }

    fn failed(&self, action: &str, e: bollard::errors::Error) -> Error {
        use bollard::errors::Error as B;
        match e {
            B::DockerResponseServerError { .. } | B::JsonDataError { .. } | B::DockerStreamError { .. } => {
                Error::Daemon { action: action.to_string(), detail: engine_detail(&e) }
            }
            other => Error::unreachable(&self.shown, self.detail(&other)),
        }
    }
}

/// The API version both sides speak: the engine's, or bollard's own when
/// the engine is newer (what bollard's version negotiation agrees on).
fn agreed_api(engine: Option<&str>) -> String {
    let ours = bollard::API_DEFAULT_VERSION;
    let parse = |v: &str| {
        let (major, minor) = v.split_once('.')?;
        Some((major.parse::<usize>().ok()?, minor.parse::<usize>().ok()?))
    };
    match engine.and_then(parse) {
        Some(theirs) if theirs < (ours.major_version, ours.minor_version) => {
            format!("{}.{}", theirs.0, theirs.1)
        }
        _ => ours.to_string(),
    }
}

fn is_status(e: &bollard::errors::Error, code: u16) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code, .. } if *status_code == code)
}

/// The engine's 409 message, shortened to the reason a person needs.
fn conflict_reason(e: &bollard::errors::Error) -> String {
    let msg = match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    };
    if msg.contains("being used by") || msg.contains("is using its referenced image") {
        "used by a container".into()
    } else if msg.contains("dependent child images") {
        "has dependent child images".into()
    } else if msg.contains("referenced in multiple repositories") {
        "has several names".into()
    } else {
        msg.replace('\n', " ")
    }
}

/// bollard's messages can span lines and repeat themselves; keep one line.
fn engine_detail(e: &bollard::errors::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s.replace('\n', " ")
}

/// How often a listing that lost a race with a deletion is tried again.
const LISTING_RETRIES: u64 = 4;

/// Whether an engine error says an image vanished while it was being listed.
/// podman 4.3 also says it as a missing file of the image's record
/// (`locating item named "manifest" for image with ID …: file does not
/// exist`), seen while another client removed an image.
fn lost_a_race(e: &bollard::errors::Error) -> bool {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code: 404 | 500, message } => {
            message.contains("not found")
                || message.contains("image not known")
                || (message.contains("locating item named") && message.contains("file does not exist"))
        }
        _ => false,
    }
}

/// Whether an engine error is about an image another client is removing
/// or still committing (see `lost_a_race`, `missing_layer`, `size_unknown`):
/// a listing tries again, a look at one image takes it as gone.
fn image_in_flux(e: &bollard::errors::Error) -> bool {
    lost_a_race(e) || missing_layer(e) || size_unknown(e)
}

/// No such image. podman 5 answers a bare 64-hex image ID it does not
/// have with 500 "cannot specify 64-byte hexadecimal strings": having found
/// no image by that ID it parses it as a name, which may not be 64 hex
/// digits. The image is gone, as a 404 would say.
fn no_such_image(e: &bollard::errors::Error) -> bool {
    is_status(e, 404)
        || matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 500, message }
            if message.contains("cannot specify 64-byte hexadecimal strings"))
}

fn size_unknown(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 500, message }
        if message.contains("size is not known"))
}

fn missing_layer(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 500, message }
        if message.contains("layer not known"))
}

fn local_image(s: bollard::models::ImageSummary) -> LocalImage {
    let (tags, digests) = names(&s.repo_tags, &s.repo_digests);
    LocalImage {
        id: s.id,
        tags,
        digests,
        created: s.created,
        created_ns: None,
        size: s.size,
        labels: s.labels.into_iter().collect(),
    }
}

/// An image's tags and digest names from `RepoTags` and `RepoDigests`. The
/// containerd store and podman list `repo@sha256:…` in `RepoTags` after a
/// pull by digest: that is a digest name, not a tag, so an image named only
/// that way is untagged (a pin, or a version a newer one replaced).
fn names(repo_tags: &[String], repo_digests: &[String]) -> (Vec<Reference>, Vec<Reference>) {
    let (digest_names, tags): (Vec<Reference>, Vec<Reference>) =
        repo_tags.iter().filter_map(|t| parse_engine_ref(t)).partition(|r| r.digest.is_some());
    let mut digests: Vec<Reference> =
        repo_digests.iter().filter_map(|d| parse_engine_ref(d)).filter(|r| r.digest.is_some()).collect();
    for name in digest_names {
        if !digests.contains(&name) {
            digests.push(name);
        }
    }
    (tags, digests)
}

/// The engine lists `<none>:<none>` and `<none>@<none>` for untagged images
/// on some versions; those are not references.
fn parse_engine_ref(s: &str) -> Option<Reference> {
    if s.starts_with("<none>") {
        return None;
    }
    Reference::parse(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agreed_api_is_the_older_of_the_two() {
        assert_eq!(agreed_api(Some("1.41")), "1.41");
        assert_eq!(agreed_api(Some("1.45")), "1.45");
        let ours = bollard::API_DEFAULT_VERSION.to_string();
        assert_eq!(agreed_api(Some("1.99")), ours);
        assert_eq!(agreed_api(Some("2.0")), ours);
        assert_eq!(agreed_api(None), ours);
        assert_eq!(agreed_api(Some("garbage")), ours);
    }

    #[test]
    fn engine_placeholders_are_not_references() {
        assert!(parse_engine_ref("<none>:<none>").is_none());
        assert!(parse_engine_ref("<none>@<none>").is_none());
        let r = parse_engine_ref("nginx:latest").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/nginx:latest");
    }

    #[test]
    fn digest_names_in_repo_tags_are_digests() {
        let d = format!("sha256:{}", "3".repeat(64));
        let tags = vec!["127.0.0.1:5000/app:1".to_string(), format!("127.0.0.1:5000/app@{d}")];
        let digests = vec![format!("127.0.0.1:5000/app@{d}")];
        let (t, ds) = names(&tags, &digests);
        assert_eq!(t.iter().map(|r| r.to_string()).collect::<Vec<_>>(), vec!["127.0.0.1:5000/app:1"]);
        assert_eq!(ds.len(), 1, "the same digest named twice counts once: {ds:?}");
        // Only a digest name: untagged, known by that digest.
        let (t, ds) = names(&[format!("127.0.0.1:5000/pin@{d}")], &[]);
        assert!(t.is_empty());
        assert_eq!(ds[0].digest.as_deref(), Some(d.as_str()));
    }

    #[test]
    fn only_vanished_images_make_a_listing_worth_retrying() {
        let err = |status_code: u16, message: &str| bollard::errors::Error::DockerResponseServerError {
            status_code,
            message: message.to_string(),
        };
        assert!(lost_a_race(&err(
            404,
            "failed to calculate size of image x: content digest sha256:1: not found"
        )));
        assert!(lost_a_race(&err(500, "checking if image \"ab\" is dangling: image not known")));
        assert!(lost_a_race(&err(
            500,
            "checking if image \"b8\" is dangling: locating item named \"manifest\" for image with ID \"6d\" \
             (consider removing the image to resolve the issue): file does not exist"
        )));
        assert!(!lost_a_race(&err(500, "layer store is corrupt")));
        assert!(!lost_a_race(&err(403, "not found")));
    }

    #[test]
    fn podman_s_answer_for_an_unknown_bare_id_is_no_such_image() {
        let err = |status_code: u16, message: &str| bollard::errors::Error::DockerResponseServerError {
            status_code,
            message: message.to_string(),
        };
        let podman5 =
            "normalizing image: normalizing name for compat API: parsing named reference \"e751\": \
                       invalid repository name (e751), cannot specify 64-byte hexadecimal strings";
        assert!(no_such_image(&err(500, podman5)));
        assert!(no_such_image(&err(404, "No such image: e751")));
        assert!(!no_such_image(&err(500, "layer not known")));
    }

    #[test]
    fn digests_are_matched_per_repository() {
        let d1 = format!("sha256:{}", "1".repeat(64));
        let d2 = format!("sha256:{}", "2".repeat(64));
        let img = LocalImage {
            id: "sha256:x".into(),
            tags: vec![],
            digests: vec![
                Reference::parse(&format!("nginx@{d1}")).unwrap(),
                Reference::parse(&format!("127.0.0.1:5000/nginx@{d2}")).unwrap(),
            ],
            created: 0,
            created_ns: None,
            size: 0,
            labels: Default::default(),
        };
        let hub = Reference::parse("docker.io/library/nginx:1").unwrap();
        assert_eq!(img.digests_in(&hub).collect::<Vec<_>>(), vec![d1.as_str()]);
        let local = Reference::parse("127.0.0.1:5000/nginx:1").unwrap();
        assert_eq!(img.digests_in(&local).collect::<Vec<_>>(), vec![d2.as_str()]);
    }
}

/// What `image_by_tag` reads of `GET /images/{name}/json`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectRow {
    #[serde(default)]
    id: String,
    #[serde(default)]
    repo_digests: Option<Vec<String>>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    config: Option<InspectConfig>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectConfig {
    #[serde(default)]
    labels: Option<std::collections::BTreeMap<String, String>>,
}

/// One row of `GET /containers/json`, with the state as the engine spelt it.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerRow {
    #[serde(default)]
    id: String,
    #[serde(default)]
    names: Option<Vec<String>>,
    #[serde(default)]
    image: String,
    #[serde(rename = "ImageID", default)]
    image_id: String,
    #[serde(default)]
    state: String,
    /// Unix seconds.
    #[serde(default)]
    created: i64,
    #[serde(default)]
    labels: Option<HashMap<String, String>>,
    #[serde(default)]
    host_config: Option<RowHostConfig>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RowHostConfig {
    #[serde(default)]
    network_mode: Option<String>,
}

impl ContainerRow {
    fn name(&self) -> String {
        self.names
            .as_ref()
            .and_then(|n| n.first())
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default()
    }

    /// Its process exists: running, paused or restarting.
    fn running(&self) -> bool {
        matches!(self.state.as_str(), "running" | "paused" | "restarting")
    }
}
