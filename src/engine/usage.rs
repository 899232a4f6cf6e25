//! What the engine can tell about the use of its images, and about the
//! space they take: containers of every state with their created, started
//! and finished times, `LastTagTime`, the events it still keeps, when the
//! daemon started (events before that are gone on Docker), where its data
//! root is and how full that filesystem is, and its own accounting
//! (`/system/df`: layers and the build cache). Each reading returns
//! freshen's own types; what they mean is decided in `core::usage` and
//! `core::cache`.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use serde::Deserialize;

use super::{raw, Engine, ENGINE_TIMEOUT_SECS};
use crate::core::image::{EngineKind, LocalImage};
use crate::core::reference::Reference;
use crate::core::usage::{Evidence, Observation};
use crate::error::{Error, Result};

/// Inspections in flight while reading evidence.
const CONCURRENCY: usize = 8;

/// The engine's own accounting of its disk (`/system/df`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// `LayersSize`: the bytes of every image layer, each once.
    pub layers_size: Option<u64>,
    /// The build cache: entries, their bytes, and what `docker builder
    /// prune` would reclaim (the entries neither in use nor shared).
    pub build_cache_entries: usize,
    pub build_cache_size: u64,
    pub build_cache_reclaimable: u64,
}

/// The filesystem the images are stored on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreDisk {
    /// As the daemon names it (`/var/lib/docker`).
    pub data_root: String,
    pub total: u64,
    pub free: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectTimes {
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    #[serde(default)]
    last_tag_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerInspect {
    #[serde(default)]
    state: Option<ContainerState>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerState {
    #[serde(default)]
    started_at: Option<String>,
    #[serde(default)]
    finished_at: Option<String>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Action", default)]
    action: String,
    #[serde(rename = "Actor", default)]
    actor: Option<Actor>,
    #[serde(default)]
    time: i64,
}

#[derive(Deserialize)]
struct Actor {
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(rename = "Attributes", default)]
    attributes: HashMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SystemDf {
    #[serde(default)]
    layers_size: Option<i64>,
    #[serde(default)]
    build_cache: Option<Vec<BuildCacheRow>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BuildCacheRow {
    #[serde(default)]
    size: i64,
    #[serde(default)]
    in_use: bool,
    #[serde(default)]
    shared: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InfoRoot {
    #[serde(default)]
    docker_root_dir: Option<String>,
}

/// A time the engine wrote (RFC 3339), if it is a real one (the engine
/// writes year 1 for "never").
fn time_of(text: Option<&str>) -> Option<i64> {
    text.and_then(crate::core::time::parse_rfc3339).filter(|t| *t > 0)
}

impl Engine {
    fn timeout(&self) -> Duration {
        Duration::from_secs(ENGINE_TIMEOUT_SECS)
    }

    /// Evidence from every container: one that runs uses its image `now`;
    /// one that does not used it when it last started, finished or was
    /// created (an inspect each: the listing gives only the creation).
    pub async fn container_evidence(&self, now: i64) -> Result<Vec<Observation>> {
        let rows = self.container_rows().await?;
        let mut out = Vec::new();
        let mut stopped = Vec::new();
        for row in rows {
            let name = row.name();
            if row.running() {
                out.push(Observation {
                    image_id: row.image_id.clone(),
                    at: now,
                    evidence: Evidence::Running { container: name },
                });
            } else {
                stopped.push(row);
            }
        }
        let found: Vec<Option<Observation>> = stream::iter(stopped)
            .map(|row| async move {
                let path = format!("/containers/{}/json", row.id);
                let state = raw::get_json_if_found::<ContainerInspect>(&self.host, &path, self.timeout())
                    .await
                    .ok()
                    .flatten()
                    .and_then(|i| i.state);
                let started = state.as_ref().and_then(|s| time_of(s.started_at.as_deref()));
                let finished = state.as_ref().and_then(|s| time_of(s.finished_at.as_deref()));
                let mut best = (row.created, "created");
                for (t, what) in [(started, "started"), (finished, "finished")] {
                    if let Some(t) = t.filter(|t| *t > best.0) {
                        best = (t, what);
                    }
                }
                (best.0 > 0).then(|| Observation {
                    image_id: row.image_id.clone(),
                    at: best.0,
                    evidence: Evidence::Container { container: row.name(), what: best.1.to_string() },
                })
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        out.extend(found.into_iter().flatten());
        Ok(out)
    }

    /// `Metadata.LastTagTime` of these images, where the engine set it.
    pub async fn tag_times(&self, ids: &[&str]) -> Vec<Observation> {
        let found: Vec<Option<Observation>> = stream::iter(ids)
            .map(|id| async move {
                let path = format!("/images/{id}/json");
                let i = raw::get_json_if_found::<InspectTimes>(&self.host, &path, self.timeout())
                    .await
                    .ok()??;
                let at = time_of(i.metadata?.last_tag_time.as_deref())?;
                Some(Observation { image_id: id.to_string(), at, evidence: Evidence::Tagged })
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        found.into_iter().flatten().collect()
    }

    /// The image and container events between `since` and `until` that the
    /// engine still keeps (Docker: the last 256, none from before a
    /// restart; podman: its event log), as uses of the images they name.
    /// One request. An engine that cannot answer gives none.
    pub async fn event_evidence(&self, images: &[LocalImage], since: i64, until: i64) -> Vec<Observation> {
        let filters = "%7B%22type%22%3A%5B%22image%22%2C%22container%22%5D%7D";
        let path = format!("/events?since={since}&until={until}&filters={filters}");
        let Ok(body) = raw::get_bytes(&self.host, &path, self.timeout()).await else { return Vec::new() };
        uses_in_events(&body, images)
    }

    /// Whether the engine keeps its events across restarts (podman's event
    /// log does; Docker keeps them in memory).
    pub async fn keeps_events(&self) -> bool {
        self.model().await.is_ok_and(|m| m.kind == EngineKind::Podman)
    }

    /// The pid of the daemon behind a local socket (the peer of a
    /// connection), for its start time and its view of the filesystem.
    async fn daemon_pid(&self) -> Option<i32> {
        let socket =
            self.host.strip_prefix("unix://").or_else(|| self.host.starts_with('/').then_some(&self.host))?;
        if self.tunnel.is_some() {
            return None;
        }
        let stream = tokio::net::UnixStream::connect(socket).await.ok()?;
        stream.peer_cred().ok()?.pid()
    }

    /// When the daemon started (unix seconds), for a local engine.
    pub async fn daemon_started(&self) -> Option<i64> {
        let pid = self.daemon_pid().await?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The fields after the command name (in parentheses); the start
        // time, in clock ticks since boot, is the 22nd field.
        let after = stat.rsplit_once(')')?.1;
        let ticks: i64 = after.split_whitespace().nth(19)?.parse().ok()?;
        let boot: i64 = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok()))?;
        // SAFETY: sysconf reads a constant of the system.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        (hz > 0).then(|| boot + ticks / hz as i64)
    }

    /// The filesystem of the daemon's data root, as the daemon sees it
    /// (through its `/proc/PID/root`, so a daemon in a chroot or its own
    /// mount namespace is measured right). None for a remote engine.
    pub async fn store_disk(&self) -> Option<StoreDisk> {
        let pid = self.daemon_pid().await?;
        let info: InfoRoot = raw::get_json(&self.host, "/info", self.timeout()).await.ok()?;
        let root = info.docker_root_dir.filter(|d| d.starts_with('/'))?;
        let seen = format!("/proc/{pid}/root{root}");
        let (total, free) = statvfs(&seen)?;
        Some(StoreDisk { data_root: root, total, free })
    }

    /// `/system/df`: the engine's own count of layers and build cache.
    pub async fn disk_usage(&self) -> Result<DiskUsage> {
        let df: SystemDf = raw::get_json(&self.host, "/system/df", self.timeout())
            .await
            .map_err(|detail| Error::Daemon { action: "read its disk usage".into(), detail })?;
        let cache = df.build_cache.unwrap_or_default();
        Ok(DiskUsage {
            layers_size: df.layers_size.filter(|s| *s >= 0).map(|s| s as u64),
            build_cache_entries: cache.len(),
            build_cache_size: cache.iter().map(|c| c.size.max(0) as u64).sum(),
            build_cache_reclaimable: cache
                .iter()
                .filter(|c| !c.in_use && !c.shared)
                .map(|c| c.size.max(0) as u64)
                .sum(),
        })
    }

    /// Whether any container (of any state) uses the image now: asked right
    /// before each eviction, so a container created since the plan saves it.
    pub async fn image_in_use(&self, id: &str) -> Result<Option<String>> {
        let rows = self.container_rows().await?;
        Ok(rows.into_iter().find(|r| r.image_id == id).map(|r| r.name()))
    }
}

/// The uses of `images` that an event stream (one JSON object after
/// another) tells: pulls, tags, loads, imports and builds of an image, and
/// containers created, started, stopped or exec'd into from it, named by
/// tag or id.
fn uses_in_events(body: &[u8], images: &[LocalImage]) -> Vec<Observation> {
    let mut by_name: HashMap<String, &str> = HashMap::new();
    for i in images {
        by_name.insert(i.id.clone(), i.id.as_str());
        for t in &i.tags {
            by_name.insert(t.to_string(), i.id.as_str());
        }
    }
    let resolve = |name: &str| -> Option<String> {
        if let Some(id) = by_name.get(name) {
            return Some(id.to_string());
        }
        let r = Reference::parse(name).ok()?;
        by_name.get(&r.to_string()).map(|id| id.to_string())
    };
    let mut out = Vec::new();
    for event in serde_json::Deserializer::from_slice(body).into_iter::<Event>().map_while(|e| e.ok()) {
        let Some(actor) = event.actor else { continue };
        let action = event.action.split(':').next().unwrap_or("").trim().to_string();
        let subject = match (event.kind.as_str(), action.as_str()) {
            ("image", "pull" | "tag" | "load" | "import" | "build") => {
                resolve(&actor.id).or_else(|| actor.attributes.get("name").and_then(|n| resolve(n)))
            }
            ("container", "create" | "start" | "die" | "exec_start" | "attach") => {
                actor.attributes.get("image").and_then(|n| resolve(n))
            }
            _ => None,
        };
        if let Some(image_id) = subject {
            let what = if event.kind == "container" { format!("container {action}") } else { action };
            out.push(Observation { image_id, at: event.time, evidence: Evidence::Event { action: what } });
        }
    }
    out
}

/// (total, available to unprivileged users) bytes of the filesystem at
/// `path`, as `df` counts them.
fn statvfs(path: &str) -> Option<(u64, u64)> {
    let c = std::ffi::CString::new(path).ok()?;
    // SAFETY: `c` is a valid C string and `s` a zeroed out-parameter.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let frsize = s.f_frsize as u64;
    Some((s.f_blocks as u64 * frsize, s.f_bavail as u64 * frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_name_images_by_tag_or_id() {
        let image = LocalImage {
            id: "sha256:aaa".into(),
            tags: vec![Reference::parse("nginx:1.27").unwrap()],
            digests: Vec::new(),
            created: 0,
            created_ns: None,
            size: 0,
            labels: Default::default(),
        };
        let body = br#"{"Type":"image","Action":"pull","Actor":{"ID":"nginx:1.27","Attributes":{}},"time":100}
{"Type":"container","Action":"start","Actor":{"ID":"c1","Attributes":{"image":"docker.io/library/nginx:1.27"}},"time":200}
{"Type":"image","Action":"tag","Actor":{"ID":"sha256:aaa","Attributes":{"name":"nginx:1.27"}},"time":300}
{"Type":"container","Action":"exec_start: sh -c true","Actor":{"ID":"c1","Attributes":{"image":"sha256:aaa"}},"time":400}
{"Type":"image","Action":"delete","Actor":{"ID":"sha256:aaa","Attributes":{}},"time":500}
{"Type":"container","Action":"start","Actor":{"ID":"c2","Attributes":{"image":"redis:7"}},"time":600}
"#;
        let found = uses_in_events(body, std::slice::from_ref(&image));
        let seen: Vec<(i64, String)> = found
            .iter()
            .map(|o| {
                assert_eq!(o.image_id, "sha256:aaa");
                (o.at, o.evidence.to_string())
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (100, "engine event 'pull'".to_string()),
                (200, "engine event 'container start'".to_string()),
                (300, "engine event 'tag'".to_string()),
                (400, "engine event 'container exec_start'".to_string()),
            ]
        );
    }
}
