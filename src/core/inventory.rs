//! What the last update saw of the host besides the verdicts
//! (`inventory.json`): the engine that answered, the containers and the
//! tag each was created from, and each tag's versions on both sides. It
//! lets `freshen metrics` (and anything else that prints the metrics) say
//! what runs where without asking the engine, so it stays offline and
//! takes milliseconds. Taken whole at each update; pure data here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::image::{Container, EngineKind, EngineModel, ImageStore};
use crate::core::reference::Reference;
use crate::core::report::Row;

pub const INVENTORY_FILE: &str = "inventory.json";
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Inventory {
    pub schema_version: u32,
    /// When the update that took it ran (RFC 3339).
    #[serde(default)]
    pub taken_at: Option<String>,
    /// None when the engine would not say (the update went on without it).
    #[serde(default)]
    pub engine: Option<EngineFacts>,
    #[serde(default)]
    pub containers: Vec<ContainerFacts>,
    /// Per local tag (fully qualified), its versions.
    #[serde(default)]
    pub versions: BTreeMap<String, Versions>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EngineFacts {
    /// `docker` or `podman`.
    pub engine: String,
    pub version: String,
    pub api_version: String,
    /// `classic`, `containerd` or `containers-storage`.
    pub image_store: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContainerFacts {
    pub name: String,
    /// The tag it was created from, fully qualified; None when it was
    /// created from an image id or a digest.
    #[serde(default)]
    pub reference: Option<String>,
    pub image_id: String,
    pub running: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose_project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose_service: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Versions {
    /// The local image's version label, else the tag if it is a version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// The registry's new image under the same tag (its version label), or
    /// the newer tag an upgrade would move to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<String>,
    /// When the registry's new image was built (RFC 3339), from its config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_created: Option<String>,
}

impl EngineFacts {
    pub fn of(model: &EngineModel) -> EngineFacts {
        EngineFacts {
            engine: match model.kind {
                EngineKind::Docker => "docker",
                EngineKind::Podman => "podman",
            }
            .into(),
            version: model.version.clone(),
            api_version: model.api_version.clone(),
            image_store: match model.store {
                ImageStore::Classic => "classic",
                ImageStore::Containerd => "containerd",
                ImageStore::ContainersStorage => "containers-storage",
            }
            .into(),
        }
    }
}

impl Inventory {
    /// Keeps the versions `old` knew of tags this one did not look at but
    /// the state still records (an update of some tags only).
    pub fn carry_over(&mut self, old: Inventory, state: &crate::core::state::State) {
        let recorded: std::collections::HashSet<&str> =
            state.entries.iter().map(|e| e.reference.as_str()).collect();
        for (reference, v) in old.versions {
            if !self.versions.contains_key(&reference) && recorded.contains(reference.as_str()) {
                self.versions.insert(reference, v);
            }
        }
    }
}

/// The inventory of one update: the annotated rows it showed, the
/// containers the engine listed and the engine's model if it was read.
pub fn take(rows: &[Row], containers: &[Container], model: Option<&EngineModel>, at: &str) -> Inventory {
    let versions = rows
        .iter()
        .map(|r| {
            let v = &r.version;
            let available = v.remote.clone().or_else(|| v.candidate.as_ref().map(|c| c.version.clone()));
            let facts = Versions {
                current: v.current.clone(),
                available,
                available_created: v.remote_created.clone(),
            };
            (r.reference.to_string(), facts)
        })
        .collect();
    let mut containers: Vec<ContainerFacts> = containers
        .iter()
        .map(|c| ContainerFacts {
            name: c.name.clone(),
            reference: created_from(&c.image),
            image_id: c.image_id.clone(),
            running: c.running,
            compose_project: c.labels.get("com.docker.compose.project").cloned(),
            compose_service: c.labels.get("com.docker.compose.service").cloned(),
        })
        .collect();
    containers.sort_by(|a, b| a.name.cmp(&b.name));
    Inventory {
        schema_version: SCHEMA_VERSION,
        taken_at: Some(at.to_string()),
        engine: model.map(EngineFacts::of),
        containers,
        versions,
    }
}

/// The tag a container was created from, fully qualified: None for an
/// image id (`sha256:…` or a bare hex prefix) or a reference by digest.
fn created_from(image: &str) -> Option<String> {
    if image.starts_with("sha256:") || (image.len() >= 12 && image.bytes().all(|b| b.is_ascii_hexdigit())) {
        return None;
    }
    let mut r = Reference::parse(image).ok()?;
    if r.digest.is_some() {
        return None;
    }
    // `docker run nginx` means nginx:latest.
    r.tag.get_or_insert_with(|| "latest".to_string());
    Some(r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn containers_name_the_tag_they_were_created_from() {
        let c = |name: &str, image: &str, labels: &[(&str, &str)]| Container {
            name: name.into(),
            image: image.into(),
            image_id: "sha256:1".into(),
            running: true,
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>(),
        };
        let inv = take(
            &[],
            &[
                c(
                    "web",
                    "nginx",
                    &[("com.docker.compose.project", "shop"), ("com.docker.compose.service", "web")],
                ),
                c("byid", "sha256:0123456789abcdef", &[]),
                c("bydigest", &format!("redis@sha256:{}", "a".repeat(64)), &[]),
                c("abc", "0123456789ab", &[]),
            ],
            None,
            "2026-01-01T00:00:00Z",
        );
        let names: Vec<(&str, Option<&str>)> =
            inv.containers.iter().map(|c| (c.name.as_str(), c.reference.as_deref())).collect();
        assert_eq!(
            names,
            vec![
                ("abc", None),
                ("bydigest", None),
                ("byid", None),
                ("web", Some("docker.io/library/nginx:latest"))
            ]
        );
        assert_eq!(inv.containers[3].compose_project.as_deref(), Some("shop"));
        assert_eq!(inv.containers[3].compose_service.as_deref(), Some("web"));
        assert!(inv.engine.is_none());
    }

    #[test]
    fn engine_facts_name_engine_and_store() {
        let m = EngineModel {
            kind: EngineKind::Podman,
            store: ImageStore::ContainersStorage,
            version: "5.4.2".into(),
            api_version: "1.41".into(),
        };
        let f = EngineFacts::of(&m);
        assert_eq!((f.engine.as_str(), f.image_store.as_str()), ("podman", "containers-storage"));
    }
}
