//! The Docker Engine, seen through bollard and turned into freshen's own
//! types: the local images (one `images/json` call) and the containers that
//! use them. Nothing here decides anything; it only reports what is there.

use bollard::query_parameters::{ListContainersOptionsBuilder, ListImagesOptionsBuilder};
use bollard::Docker;

use crate::error::{Error, Result};
use crate::reference::Reference;

const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
const ENGINE_TIMEOUT_SECS: u64 = 120;

pub struct Engine {
    docker: Docker,
    host: String,
}

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
#[derive(Debug, Clone)]
pub struct Container {
    /// The image as the container was created with it (`nginx:latest`).
    pub image: String,
    pub image_id: String,
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

impl Engine {
    /// Connects and agrees on an API version. Fails with one line that names
    /// the socket when the daemon is not there.
    pub async fn connect(host: Option<&str>) -> Result<Engine> {
        let host = host
            .map(str::to_string)
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let unreachable = |detail: String| Error::DaemonUnreachable { host: host.clone(), detail };
        let docker = if host.starts_with("unix://") {
            Docker::connect_with_unix(&host, ENGINE_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            Docker::connect_with_http(&host, ENGINE_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
        } else if host.starts_with('/') {
            Docker::connect_with_unix(&host, ENGINE_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
        } else {
            return Err(Error::Usage(format!(
                "unsupported Docker host '{host}': use unix:///path/to/docker.sock or tcp://HOST:PORT"
            )));
        }
        .map_err(|e| unreachable(e.to_string()))?;
        let docker = docker.negotiate_version().await.map_err(|e| unreachable(engine_detail(&e)))?;
        Ok(Engine { docker, host })
    }

    /// Every image with its tags and digests, in one call.
    pub async fn images(&self) -> Result<Vec<LocalImage>> {
        let opts = ListImagesOptionsBuilder::default().all(false).build();
        let list = self.docker.list_images(Some(opts)).await.map_err(|e| self.failed("list images", e))?;
        Ok(list
            .into_iter()
            .map(|s| LocalImage {
                id: s.id,
                tags: s.repo_tags.iter().filter_map(|t| parse_engine_ref(t)).collect(),
                digests: s
                    .repo_digests
                    .iter()
                    .filter_map(|d| parse_engine_ref(d))
                    .filter(|r| r.digest.is_some())
                    .collect(),
                created: s.created,
                size: s.size,
                labels: s.labels.into_iter().collect(),
            })
            .collect())
    }

    /// Every container, running or stopped.
    pub async fn containers(&self) -> Result<Vec<Container>> {
        let opts = ListContainersOptionsBuilder::default().all(true).build();
        let list =
            self.docker.list_containers(Some(opts)).await.map_err(|e| self.failed("list containers", e))?;
        Ok(list
            .into_iter()
            .map(|c| Container {
                image: c.image.unwrap_or_default(),
                image_id: c.image_id.unwrap_or_default(),
            })
            .collect())
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
            B::DockerResponseServerError { .. } | B::JsonDataError { .. } => {
                Error::Daemon { action: action.to_string(), detail: engine_detail(&e) }
            }
            other => Error::DaemonUnreachable { host: self.host.clone(), detail: engine_detail(&other) },
        }
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
    fn engine_placeholders_are_not_references() {
        assert!(parse_engine_ref("<none>:<none>").is_none());
        assert!(parse_engine_ref("<none>@<none>").is_none());
        let r = parse_engine_ref("nginx:latest").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/nginx:latest");
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
            size: 0,
            labels: Default::default(),
        };
        let hub = Reference::parse("docker.io/library/nginx:1").unwrap();
        assert_eq!(img.digests_in(&hub).collect::<Vec<_>>(), vec![d1.as_str()]);
        let local = Reference::parse("127.0.0.1:5000/nginx:1").unwrap();
        assert_eq!(img.digests_in(&local).collect::<Vec<_>>(), vec![d2.as_str()]);
    }
}
