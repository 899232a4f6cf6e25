//! Recreating a container on a new image, as rules without I/O: which
//! containers an upgrade recreates (and why the others are left), what the
//! new container is created with (the user's settings, not the old image's
//! defaults), whether a started container passed the health gate, and what
//! an interrupted recreation left to finish or undo.
//!
//! Containers and images are read in the Engine API's own JSON shape
//! (`GET /containers/{id}/json`, `GET /images/{id}/json`), which every
//! engine freshen supports speaks; `HostConfig` passes through whole, so
//! settings newer than freshen survive a recreation.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::core::reference::Reference;

/// The labels that keep a container on its version: Watchtower's, so its
/// users need not relabel, and freshen's own.
pub const OPT_OUT_LABELS: [&str; 2] = ["com.centurylinklabs.watchtower.enable", "freshen.recreate"];

/// The name an old container waits under until its successor passes.
pub fn parked_name(name: &str) -> String {
    format!("{name}-freshen-old")
}

/// One container as the planner sees it.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    pub name: String,
    pub id: String,
    pub image_id: String,
    /// `Config.Image`: what it was created from (`app:1`, `sha256:…`,
    /// `3f2a…`, `app@sha256:…`).
    pub image: String,
    pub running: bool,
    pub labels: BTreeMap<String, String>,
    /// `HostConfig.NetworkMode`.
    pub network_mode: String,
}

/// How a container is recreated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "how", rename_all = "lowercase")]
pub enum How {
    /// Through the Engine API, with its whole configuration.
    Container,
    /// Through Compose, so its bookkeeping stays right.
    Compose(ComposeService),
}

/// What Compose's labels say about the project a container belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposeService {
    pub project: String,
    pub service: String,
    pub working_dir: Option<String>,
    pub config_files: Vec<String>,
    pub env_files: Vec<String>,
    /// The services this one depends on (`com.docker.compose.depends_on`,
    /// `NAME:CONDITION:RESTART` each), as Compose recorded them.
    pub depends_on: Vec<String>,
}

impl ComposeService {
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Option<ComposeService> {
        let list = |key: &str| -> Vec<String> {
            labels
                .get(key)
                .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
                .unwrap_or_default()
        };
        Some(ComposeService {
            project: labels.get("com.docker.compose.project")?.clone(),
            service: labels.get("com.docker.compose.service")?.clone(),
            working_dir: labels.get("com.docker.compose.project.working_dir").cloned(),
            config_files: list("com.docker.compose.project.config_files"),
            env_files: list("com.docker.compose.project.environment_file"),
            depends_on: list("com.docker.compose.depends_on")
                .into_iter()
                .filter_map(|d| d.split(':').next().filter(|n| !n.is_empty()).map(str::to_string))
                .collect(),
        })
    }
}

/// Why a container that runs an upgraded version is not recreated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    Stopped,
    OptOut(String),
    NoRecreate,
    ConfigFalse,
    /// Created from `repo@sha256:…`: the user pinned that version.
    Pinned,
    /// Created from the image's ID (`docker run 3f2a…`): it runs that
    /// image, not a tag.
    ImageId,
    /// Compose or the project's files are missing: not guessed.
    Compose(String),
    /// Started with `--rm`: stopping it removes it, so the stopped old
    /// container that a rollback returns to would not exist.
    AutoRemove,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Stopped => write!(f, "stopped"),
            Skip::OptOut(label) => write!(f, "label {label}=false"),
            Skip::NoRecreate => write!(f, "--no-recreate"),
            Skip::ConfigFalse => write!(f, "recreate = false in the config file"),
            Skip::Pinned => write!(f, "created from a digest"),
            Skip::ImageId => write!(f, "created from an image ID: it runs that image, not a tag"),
            Skip::Compose(why) => write!(f, "{why}"),
            Skip::AutoRemove => {
                write!(f, "started with --rm: stopping it would remove it, leaving nothing to roll back to")
            }
        }
    }
}

impl Skip {
    /// A skip that makes the run fail: the user asked for recreation and it
    /// could not be done safely.
    pub fn is_failure(&self) -> bool {
        matches!(self, Skip::Compose(_))
    }
}

/// One container the upgrade recreates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub name: String,
    pub id: String,
    /// The upgraded tag it runs (`registry/repo:tag`).
    pub reference: String,
    pub how: How,
    /// Containers that share its network namespace (`container:NAME`):
    /// recreated after it, on their own image.
    pub dependents: Vec<String>,
    /// The recreated container whose namespace it joins, if that one is
    /// recreated too (it goes first).
    pub joins: Option<String>,
}

/// Containers to recreate and containers left, per upgraded tag.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub recreate: Vec<Planned>,
    pub skipped: Vec<(String, String, Skip)>,
}

/// The upgraded tag a container follows, of those its image carried. An
/// image often has several tags (`app:1.2.3` and `app:latest`): a container
/// created from one that is not upgraded runs the current version of its
/// own tag and follows none (`None`), and one created from an upgraded tag
/// stays on that tag. A container listed by digest or image id (created
/// from it, or its tag has already moved) follows the first.
/// `image` is the container's image as the engine lists it, `image_id` the
/// image it runs.
pub fn followed<'a>(image: &str, image_id: &str, references: &'a [String]) -> Option<&'a String> {
    if names_the_id(image, image_id) || image.contains('@') {
        return references.first();
    }
    let with_tag = |mut r: Reference| {
        if r.tag.is_none() {
            r.tag = Some("latest".to_string());
        }
        r
    };
    let Ok(name) = Reference::parse(image).map(with_tag) else { return references.first() };
    references.iter().find(|r| Reference::parse(r).map(with_tag).is_ok_and(|r| r == name))
}

/// Whether `image` names the image `image_id` by its ID (`sha256:…` or a
/// prefix of its hex digits) rather than by a tag. The engine's container
/// list shows the ID too when the tag a container was created from has
/// moved since; its `Config.Image` shows what the user gave.
pub fn names_the_id(image: &str, image_id: &str) -> bool {
    let id = image_id.strip_prefix("sha256:").unwrap_or(image_id);
    let shown = image.strip_prefix("sha256:").unwrap_or(image);
    !shown.is_empty() && shown.bytes().all(|b| b.is_ascii_hexdigit()) && id.starts_with(shown)
}

/// Which containers to recreate. `upgraded` maps each old image id to the
/// tags it is upgraded from; `no_recreate(reference)` says whether recreation
/// is off for that tag (flag or config).
pub fn plan(
    containers: &[Candidate],
    upgraded: &BTreeMap<String, Vec<String>>,
    no_recreate: impl Fn(&str) -> Option<Skip>,
) -> Plan {
    let mut out = Plan::default();
    for c in containers {
        let Some(references) = upgraded.get(&c.image_id) else { continue };
        let Some(reference) = followed(&c.image, &c.image_id, references) else { continue };
        let skip = if let Some(skip) = no_recreate(reference) {
            Some(skip)
        } else if let Some(label) = OPT_OUT_LABELS
            .iter()
            .find(|l| c.labels.get(**l).is_some_and(|v| v.trim().eq_ignore_ascii_case("false")))
        {
            Some(Skip::OptOut(label.to_string()))
        } else if c.image.contains("@sha256:") {
            Some(Skip::Pinned)
        } else if names_the_id(&c.image, &c.image_id) {
            Some(Skip::ImageId)
        } else if !c.running {
            Some(Skip::Stopped)
        } else {
            None
        };
        if let Some(skip) = skip {
            out.skipped.push((c.name.clone(), reference.clone(), skip));
            continue;
        }
        let how = match ComposeService::from_labels(&c.labels) {
            Some(s) => How::Compose(s),
            // Compose made it, but the labels do not say enough to ask
            // Compose again: recreating it behind Compose's back would make
            // Compose's next `up` recreate it once more.
            None if c.labels.contains_key("com.docker.compose.project") => {
                let project = &c.labels["com.docker.compose.project"];
                out.skipped.push((
                    c.name.clone(),
                    reference.clone(),
                    Skip::Compose(format!("compose project {project}: its labels do not name the service")),
                ));
                continue;
            }
            None => How::Container,
        };
        let dependents = if how == How::Container {
            containers
                .iter()
                .filter(|d| {
                    d.running
                        && d.name != c.name
                        && (d.network_mode == format!("container:{}", c.id)
                            || d.network_mode == format!("container:{}", c.name))
                })
                .map(|d| d.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        out.recreate.push(Planned {
            name: c.name.clone(),
            id: c.id.clone(),
            reference: reference.clone(),
            how,
            dependents,
            joins: None,
        });
    }
    out.recreate.sort_by(|a, b| a.name.cmp(&b.name));
    out.skipped.sort_by(|a, b| a.0.cmp(&b.0));
    // A container that joins another's network (`container:X`) comes after
    // X: it must be created into X's new namespace.
    let parent_of = |p: &Planned| -> Option<String> {
        let c = containers.iter().find(|c| c.name == p.name)?;
        let target = c.network_mode.strip_prefix("container:")?;
        containers.iter().find(|x| x.id == target || x.name == target).map(|x| x.name.clone())
    };
    // A Compose service comes after the services it depends on.
    let mut ordered: Vec<Planned> = Vec::new();
    let mut rest = std::mem::take(&mut out.recreate);
    while !rest.is_empty() {
        let ready = rest
            .iter()
            .position(|p| {
                !rest.iter().any(|r| {
                    r.name != p.name
                        && (parent_of(p).is_some_and(|parent| parent == r.name) || compose_after(p, r))
                })
            })
            // A cycle cannot be created by the engine; keep going anyway.
            .unwrap_or(0);
        ordered.push(rest.remove(ready));
    }
    let planned: BTreeSet<String> = ordered.iter().map(|p| p.name.clone()).collect();
    let joins: Vec<Option<String>> =
        ordered.iter().map(|p| parent_of(p).filter(|parent| planned.contains(parent))).collect();
    for (p, j) in ordered.iter_mut().zip(joins) {
        p.joins = j;
    }
    out.recreate = ordered;
    // A dependent that is itself recreated (it runs an upgraded version too)
    // is recreated once, as itself, pointed at its parent's new container.
    let own: BTreeSet<String> = out.recreate.iter().map(|p| p.name.clone()).collect();
    for p in &mut out.recreate {
        p.dependents.retain(|d| !own.contains(d));
    }
    out
}

/// Whether `a` is a Compose service that depends on `b`'s service, in the
/// same project: Compose's `up` of `a` brings `b` up too, so `b` is
/// recreated (and gated) first.
pub fn compose_after(a: &Planned, b: &Planned) -> bool {
    match (&a.how, &b.how) {
        (How::Compose(a), How::Compose(b)) => a.project == b.project && a.depends_on.contains(&b.service),
        _ => false,
    }
}

/// Whether `a` is recreated after `b` is done: it joins `b`'s network
/// namespace, or it is a Compose service that depends on `b`'s.
pub fn must_follow(a: &Planned, b: &Planned) -> bool {
    a.joins.as_deref() == Some(b.name.as_str()) || compose_after(a, b)
}

/// The order in which the upgraded tags `references` have their containers
/// recreated (indexes into `references`): a tag whose containers others
/// depend on (a Compose service's `depends_on`) goes before theirs, so
/// Compose's `up` of the dependent finds its dependency already on its new
/// version and does not recreate it out of band. Otherwise the order given.
#[allow(dead_code)] // See services::recreate::in_dependency_order.
pub fn tag_order(references: &[String], plan: &Plan) -> Vec<usize> {
    let members: Vec<Vec<&Planned>> =
        references.iter().map(|r| plan.recreate.iter().filter(|p| &p.reference == r).collect()).collect();
    let depends = |a: usize, b: usize| {
        a != b && members[a].iter().any(|x| members[b].iter().any(|y| must_follow(x, y)))
    };
    let mut rest: Vec<usize> = (0..references.len()).collect();
    let mut out = Vec::with_capacity(rest.len());
    while !rest.is_empty() {
        let ready = rest.iter().position(|&a| !rest.iter().any(|&b| depends(a, b))).unwrap_or(0);
        out.push(rest.remove(ready));
    }
    out
}

/// What `POST /containers/create` gets, and the networks to connect before
/// the start.
#[derive(Debug, Clone, PartialEq)]
pub struct Creation {
    /// The create body: `Config` fields plus `HostConfig` and
    /// `NetworkingConfig`.
    pub body: Value,
    /// Networks beyond the first (API 1.41 accepts one at create), with
    /// their endpoint settings.
    pub connect: Vec<(String, Value)>,
}

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| v.get(k).unwrap_or(&Value::Null))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// `Config` keys copied when the user set them (they differ from the old
/// image's); equal to the image's, they are left out so the new image's
/// default applies.
const DEFAULTABLE: [&str; 6] = ["Cmd", "Entrypoint", "WorkingDir", "User", "StopSignal", "Healthcheck"];
/// `Config` keys that belong to the container alone.
const OWN: [&str; 9] = [
    "Domainname",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "StopTimeout",
    "MacAddress",
];

/// The create body for a successor of `container` (its inspect JSON) on
/// `image` (the tag or id to create from). `old_image` is the inspect JSON of
/// the image it ran: its `Config` tells what the user did not set. A
/// `network_container` rewrites `container:…` network modes to the parent's
/// new container. `keep_addresses`: the engine does not report which
/// addresses were configured (podman's `IPAMConfig` is always empty), so
/// the current address on each user-defined network is kept, a configured
/// one among them. Not on the engine's default network, where no address
/// can be configured in Docker's API: there a kept address could have been
/// handed to another container between the stop and the start.
pub fn creation(
    container: &Value,
    old_image: &Value,
    image: &str,
    network_container: Option<&str>,
    keep_addresses: bool,
) -> Creation {
    let c = get(container, &["Config"]);
    let i = get(old_image, &["Config"]);
    let id = get(container, &["Id"]).as_str().unwrap_or_default();
    let mut body = Map::new();
    body.insert("Image".into(), Value::String(image.to_string()));

    // Env: the variables the image does not set to the same value.
    let image_env: BTreeSet<&str> =
        get(i, &["Env"]).as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let env: Vec<Value> = get(c, &["Env"])
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e.as_str().is_some_and(|e| !image_env.contains(e)))
        .cloned()
        .collect();
    if !env.is_empty() {
        body.insert("Env".into(), Value::Array(env));
    }
    // Labels: those the image does not carry with the same value.
    let image_labels = get(i, &["Labels"]);
    let labels: Map<String, Value> = get(c, &["Labels"])
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| image_labels.get(k.as_str()) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !labels.is_empty() {
        body.insert("Labels".into(), Value::Object(labels));
    }
    for key in DEFAULTABLE {
        let mine = get(c, &[key]);
        if !is_empty(mine) && mine != get(i, &[key]) {
            body.insert(key.into(), mine.clone());
        }
    }
    // A user entrypoint makes the engine drop the image's Cmd: keep exactly
    // the container's Cmd then, even when it happens to equal the image's.
    if body.contains_key("Entrypoint") && !body.contains_key("Cmd") {
        body.insert("Cmd".into(), get(c, &["Cmd"]).clone());
    }
    for key in OWN {
        let mine = get(c, &[key]);
        if !is_empty(mine) && mine != &Value::Bool(false) {
            body.insert(key.into(), mine.clone());
        }
    }
    // The engine names an unnamed host after the short id. A container in
    // another's network namespace has that one's host name and MAC, and may
    // not set its own.
    let joined =
        get(container, &["HostConfig", "NetworkMode"]).as_str().is_some_and(|m| m.starts_with("container:"));
    if !joined {
        if let Some(h) = get(c, &["Hostname"]).as_str() {
            if !h.is_empty() && !id.starts_with(h) {
                body.insert("Hostname".into(), Value::String(h.to_string()));
            }
        }
    }
    for key in ["ExposedPorts", "Volumes"] {
        let image_keys = get(i, &[key]);
        let own: Map<String, Value> = get(c, &[key])
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| image_keys.get(k.as_str()).is_none())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !own.is_empty() {
            body.insert(key.into(), Value::Object(own));
        }
    }

    if joined {
        for key in ["Domainname", "MacAddress", "ExposedPorts"] {
            body.remove(key);
        }
    }

    let mut host = get(container, &["HostConfig"]).clone();
    if !host.is_object() {
        host = Value::Object(Map::new());
    }
    if let (Some(parent), Some(mode)) = (network_container, host.get("NetworkMode").and_then(Value::as_str)) {
        if mode.starts_with("container:") {
            host["NetworkMode"] = Value::String(format!("container:{parent}"));
        }
    }
    // podman 4 reports ulimits by their kernel names (`RLIMIT_NOFILE`) and
    // refuses those names at create; the API's names are `nofile`.
    if let Some(limits) = host.get_mut("Ulimits").and_then(Value::as_array_mut) {
        for limit in limits.iter_mut() {
            if let Some(name) = limit.get("Name").and_then(Value::as_str) {
                let short = name.strip_prefix("RLIMIT_").map(str::to_ascii_lowercase);
                if let Some(short) = short {
                    limit["Name"] = Value::String(short);
                }
            }
        }
    }
    // The old container's anonymous volumes, mounted again by name at the
    // same paths: their data is the container's state.
    let anonymous = anonymous_volumes(container);
    if !anonymous.is_empty() {
        let mut binds: Vec<Value> = host.get("Binds").and_then(Value::as_array).cloned().unwrap_or_default();
        for (name, dest, rw) in anonymous {
            binds.push(Value::String(if rw {
                format!("{name}:{dest}")
            } else {
                format!("{name}:{dest}:ro")
            }));
        }
        host["Binds"] = Value::Array(binds);
    }
    let mode = host.get("NetworkMode").and_then(Value::as_str).unwrap_or("default").to_string();
    body.insert("HostConfig".into(), host);

    // Networks: the one NetworkMode names at create, the others connected.
    let mut connect = Vec::new();
    let mut first: Option<(String, Value)> = None;
    if !mode.starts_with("container:") && mode != "host" && mode != "none" {
        let primary = if mode == "default" { "bridge" } else { mode.as_str() };
        for (net, ep) in get(container, &["NetworkSettings", "Networks"]).as_object().into_iter().flatten() {
            let settings = endpoint(ep, id, net, keep_addresses);
            if net == primary {
                first = Some((net.clone(), settings));
            } else {
                connect.push((net.clone(), settings));
            }
        }
    }
    connect.sort_by(|a, b| a.0.cmp(&b.0));
    // podman reports `bridge` as the mode of a container on user networks:
    // no network has that name, and a create without one would join the
    // engine's default network besides. One of the container's networks
    // is named at create instead.
    if first.is_none() && !connect.is_empty() {
        let (net, settings) = connect.remove(0);
        if let Some(h) = body.get_mut("HostConfig") {
            h["NetworkMode"] = Value::String(net.clone());
        }
        first = Some((net, settings));
    }
    if let Some((net, settings)) = first {
        let mut eps = Map::new();
        eps.insert(net, settings);
        body.insert("NetworkingConfig".into(), serde_json::json!({ "EndpointsConfig": eps }));
    }
    Creation { body: Value::Object(body), connect }
}

/// The settings of one network attachment that the user configured:
/// aliases (without the ones the engine adds: the short id), static
/// addresses (`IPAMConfig`, not the assigned `IPAddress`), links, driver
/// options.
/// The engines' default networks: Docker's and podman's.
const DEFAULT_NETWORKS: [&str; 2] = ["bridge", "podman"];

fn endpoint(ep: &Value, id: &str, network: &str, keep_addresses: bool) -> Value {
    let mut out = Map::new();
    // The default bridge has no aliases.
    if network != "bridge" {
        let aliases: Vec<Value> = get(ep, &["Aliases"])
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a.as_str().is_some_and(|a| !a.is_empty() && !id.starts_with(a)))
            .cloned()
            .collect();
        if !aliases.is_empty() {
            out.insert("Aliases".into(), Value::Array(aliases));
        }
    }
    for key in ["IPAMConfig", "Links", "DriverOpts"] {
        let v = get(ep, &[key]);
        if !is_empty(v) {
            out.insert(key.into(), v.clone());
        }
    }
    if keep_addresses && !DEFAULT_NETWORKS.contains(&network) && !out.contains_key("IPAMConfig") {
        let mut ipam = Map::new();
        for (from, to) in [("IPAddress", "IPv4Address"), ("GlobalIPv6Address", "IPv6Address")] {
            if let Some(a) = get(ep, &[from]).as_str().filter(|a| !a.is_empty()) {
                ipam.insert(to.into(), Value::String(a.to_string()));
            }
        }
        if !ipam.is_empty() {
            out.insert("IPAMConfig".into(), Value::Object(ipam));
        }
    }
    Value::Object(out)
}

/// `(volume name, destination, writable)` of each anonymous volume: a volume
/// mount whose name the engine generated (64 hex digits) and that no bind or
/// mount of the user names.
pub fn anonymous_volumes(container: &Value) -> Vec<(String, String, bool)> {
    let host = get(container, &["HostConfig"]);
    let mut named: BTreeSet<String> = BTreeSet::new();
    for b in get(host, &["Binds"]).as_array().into_iter().flatten().filter_map(Value::as_str) {
        if let Some(dest) = b.split(':').nth(1) {
            named.insert(dest.to_string());
        }
    }
    for m in get(host, &["Mounts"]).as_array().into_iter().flatten() {
        if let Some(t) = m.get("Target").and_then(Value::as_str) {
            named.insert(t.to_string());
        }
    }
    let mut out = Vec::new();
    for m in get(container, &["Mounts"]).as_array().into_iter().flatten() {
        let (Some(kind), Some(name), Some(dest)) = (
            m.get("Type").and_then(Value::as_str),
            m.get("Name").and_then(Value::as_str),
            m.get("Destination").and_then(Value::as_str),
        ) else {
            continue;
        };
        let generated = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
        if kind == "volume" && generated && !named.contains(dest) {
            let rw = m.get("RW").and_then(Value::as_bool).unwrap_or(true);
            out.push((name.to_string(), dest.to_string(), rw));
        }
    }
    out
}

/// Whether a container has a health check: its own, or its image's (a
/// `NONE` test switches it off).
pub fn has_healthcheck(container: &Value, image: &Value) -> bool {
    let test = |v: &Value| -> Option<bool> {
        let t = get(v, &["Config", "Healthcheck", "Test"]).as_array()?;
        Some(!(t.is_empty() || t[0].as_str() == Some("NONE")))
    };
    test(container).or_else(|| test(image)).unwrap_or(false)
}

/// What the engine says about a started container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    pub running: bool,
    pub restarting: bool,
    pub exit_code: i64,
    pub restart_count: i64,
    /// `starting`, `healthy`, `unhealthy`; None without a health check.
    pub health: Option<String>,
}

impl Observed {
    pub fn from_inspect(v: &Value) -> Observed {
        let s = get(v, &["State"]);
        Observed {
            running: s.get("Running").and_then(Value::as_bool).unwrap_or(false),
            restarting: s.get("Restarting").and_then(Value::as_bool).unwrap_or(false),
            exit_code: s.get("ExitCode").and_then(Value::as_i64).unwrap_or(0),
            restart_count: get(v, &["RestartCount"]).as_i64().unwrap_or(0),
            health: get(s, &["Health", "Status"]).as_str().filter(|h| !h.is_empty()).map(str::to_string),
        }
    }
}

/// Docker's and podman's health check interval when the image sets none.
const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(30);

/// Runs a container's health check on the engine's behalf when the engine
/// does not: podman leaves the schedule to systemd timers, so where there
/// is no systemd nothing ever runs the check and the container stays
/// `starting`. Keeps the container's own schedule (a check one `Interval`
/// after the start, then one per `Interval`), so a check the image runs
/// rarely is not run early; a check the engine ran itself (the last entry
/// of the health log changed) resets the clock, so with working timers
/// the engine's schedule is the only one.
#[derive(Debug, Clone)]
pub struct HealthClock {
    interval: Duration,
    since: Duration,
    last_check: Option<String>,
}

impl HealthClock {
    /// For a container just started, as inspected then; `now` counts from
    /// any fixed origin (the gate's start).
    pub fn new(container: &Value, now: Duration) -> HealthClock {
        let interval = get(container, &["Config", "Healthcheck", "Interval"])
            .as_u64()
            .filter(|ns| *ns > 0)
            .map(Duration::from_nanos)
            .unwrap_or(DEFAULT_HEALTH_INTERVAL);
        HealthClock { interval, since: now, last_check: last_check(container) }
    }

    /// Whether the check is due at `now`, given the container as inspected
    /// then. When it says yes, the caller runs the check and calls [`ran`].
    ///
    /// [`ran`]: HealthClock::ran
    pub fn due(&mut self, container: &Value, now: Duration) -> bool {
        let last = last_check(container);
        if last != self.last_check {
            self.last_check = last;
            self.since = now;
        }
        now.saturating_sub(self.since) >= self.interval
    }

    /// The check was run at `now`; `container` is as inspected after it.
    pub fn ran(&mut self, container: &Value, now: Duration) {
        self.last_check = last_check(container);
        self.since = now;
    }
}

/// When the last health check the engine recorded began.
fn last_check(container: &Value) -> Option<String> {
    let log = get(container, &["State", "Health", "Log"]).as_array()?;
    log.last()?.get("Start")?.as_str().map(str::to_string)
}

/// The health gate's verdict at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Wait,
    Pass,
    Fail(String),
}

/// With a health check the container passes once `healthy`; without one it
/// passes when it has run the whole `wait`. It fails when it exits, restarts,
/// turns `unhealthy`, or is still not healthy when the wait is over.
pub fn gate(o: &Observed, checked: bool, elapsed: Duration, wait: Duration) -> Gate {
    if o.restart_count > 0 || o.restarting {
        return Gate::Fail(format!("it restarted (exit code {})", o.exit_code));
    }
    if !o.running {
        return Gate::Fail(format!("it exited with code {}", o.exit_code));
    }
    match (checked, o.health.as_deref()) {
        (true, Some("healthy")) => Gate::Pass,
        (true, Some("unhealthy")) => Gate::Fail("it is unhealthy".into()),
        (true, _) if elapsed >= wait => Gate::Fail(format!("it was not healthy within {}s", wait.as_secs())),
        (false, _) if elapsed >= wait => Gate::Pass,
        _ => Gate::Wait,
    }
}

/// How far one container's recreation got: written to the journal before
/// each step is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// About to stop the old container.
    Stopping,
    /// About to rename the stopped old container to its parked name.
    Parking,
    /// About to create (and start) the new one; `new_id` is set once created.
    Creating,
    /// The new one runs; the gate is being waited for.
    Gating,
    /// Passed: the old one is to be removed, dependents recreated.
    Passed,
    /// Failed: being rolled back.
    RollingBack,
}

/// One container in flight. Names, ids and steps only: never a container's
/// environment, command or other configuration values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub name: String,
    pub old_id: String,
    #[serde(default)]
    pub new_id: Option<String>,
    /// The upgraded tag, and the images it moved between.
    pub reference: String,
    pub old_image: String,
    pub new_image: String,
    pub was_running: bool,
    pub step: Step,
    /// For a Compose service: the project as its labels described it
    /// (names and file paths, to run Compose again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose: Option<ComposeService>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependents: Vec<String>,
}

/// What a later run does about an entry it finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// The new container passed: remove the parked one (and recreate the
    /// dependents).
    Finish,
    /// Not passed: remove the new container if any, give the old one its
    /// name back, start it if it ran, point the tag back.
    Undo,
}

pub fn repair(entry: &JournalEntry) -> Repair {
    match entry.step {
        Step::Passed => Repair::Finish,
        _ => Repair::Undo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compose_dependencies_are_read_from_their_label() {
        let mut labels: BTreeMap<String, String> = [
            ("com.docker.compose.project", "shop"),
            ("com.docker.compose.service", "web"),
            ("com.docker.compose.depends_on", "db:service_healthy:false,cache:service_started:true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = ComposeService::from_labels(&labels).unwrap();
        assert_eq!(s.depends_on, vec!["db", "cache"]);
        labels.insert("com.docker.compose.depends_on".into(), String::new());
        assert!(ComposeService::from_labels(&labels).unwrap().depends_on.is_empty());
        labels.remove("com.docker.compose.depends_on");
        assert!(ComposeService::from_labels(&labels).unwrap().depends_on.is_empty());
    }

    fn candidate(name: &str, image_id: &str, running: bool) -> Candidate {
        Candidate {
            name: name.into(),
            id: format!("{name}-id"),
            image_id: image_id.into(),
            image: "reg/app:1".into(),
            running,
            labels: BTreeMap::new(),
            network_mode: "default".into(),
        }
    }

    fn upgraded() -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([("sha256:old".to_string(), vec!["reg/app:1".to_string()])])
    }

    #[test]
    fn plan_recreates_running_containers_and_says_why_not_the_others() {
        let mut tower = candidate("tower", "sha256:old", true);
        tower.labels.insert("com.centurylinklabs.watchtower.enable".into(), "false".into());
        let mut own = candidate("own", "sha256:old", true);
        own.labels.insert("freshen.recreate".into(), "FALSE".into());
        let mut pinned = candidate("pinned", "sha256:old", true);
        pinned.image = "reg/app@sha256:abc".into();
        let mut side = candidate("side", "sha256:other", true);
        side.network_mode = "container:web-id".into();
        let mut shop = candidate("shop-web-1", "sha256:old", true);
        for (k, v) in [
            ("com.docker.compose.project", "shop"),
            ("com.docker.compose.service", "web"),
            ("com.docker.compose.project.config_files", "/srv/shop/compose.yaml,/srv/shop/override.yaml"),
            ("com.docker.compose.project.working_dir", "/srv/shop"),
        ] {
            shop.labels.insert(k.into(), v.into());
        }
        let all = vec![
            candidate("web", "sha256:old", true),
            candidate("idle", "sha256:old", false),
            candidate("unrelated", "sha256:else", true),
            tower,
            own,
            pinned,
            side,
            shop,
        ];
        let p = plan(&all, &upgraded(), |_| None);
        let names: Vec<&str> = p.recreate.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["shop-web-1", "web"]);
        // A dependent on the same version comes after its parent.
        let mut first = candidate("a-first", "sha256:old", true);
        first.network_mode = "container:web-id".into();
        let both = plan(&[first, candidate("web", "sha256:old", true)], &upgraded(), |_| None);
        let names: Vec<&str> = both.recreate.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["web", "a-first"]);
        assert!(both.recreate[0].dependents.is_empty(), "recreated as itself, not as a dependent");
        assert_eq!(both.recreate[1].joins.as_deref(), Some("web"));
        assert_eq!(p.recreate[1].how, How::Container);
        assert_eq!(p.recreate[1].dependents, ["side"]);
        match &p.recreate[0].how {
            How::Compose(s) => {
                assert_eq!((s.project.as_str(), s.service.as_str()), ("shop", "web"));
                assert_eq!(s.config_files, ["/srv/shop/compose.yaml", "/srv/shop/override.yaml"]);
                assert_eq!(s.working_dir.as_deref(), Some("/srv/shop"));
            }
            other => panic!("{other:?}"),
        }
        let skipped: Vec<(String, String)> =
            p.skipped.iter().map(|(n, _, s)| (n.clone(), s.to_string())).collect();
        assert_eq!(
            skipped,
            [
                ("idle".to_string(), "stopped".to_string()),
                ("own".to_string(), "label freshen.recreate=false".to_string()),
                ("pinned".to_string(), "created from a digest".to_string()),
                ("tower".to_string(), "label com.centurylinklabs.watchtower.enable=false".to_string()),
            ]
        );
    }

    #[test]
    fn plan_keeps_each_container_on_its_own_tag() {
        let id = "sha256:0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd";
        let on = |name: &str, image: &str| Candidate { image: image.into(), ..candidate(name, id, true) };
        let all = vec![
            on("latest", "reg/app"),
            on("stable", "docker.io/reg/app:stable"),
            on("fixed", "reg/app:1.2.3"),
            on("by-id", "0123abcd0123"),
            on("by-full-id", id),
            on("pinned", "reg/app@sha256:0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd0123abcd"),
        ];
        let upgraded =
            BTreeMap::from([(id.to_string(), vec!["reg/app:stable".into(), "reg/app:latest".into()])]);
        let p = plan(&all, &upgraded, |_| None);
        let planned: Vec<(&str, &str)> =
            p.recreate.iter().map(|p| (p.name.as_str(), p.reference.as_str())).collect();
        // `fixed` runs the current version of reg/app:1.2.3, which did not
        // move; `by-id` and `by-full-id` run an image, not a tag
        // (`Config.Image` is what they were created from).
        assert_eq!(planned, [("latest", "reg/app:latest"), ("stable", "reg/app:stable")]);
        assert_eq!(
            p.skipped,
            [
                ("by-full-id".into(), "reg/app:stable".into(), Skip::ImageId),
                ("by-id".into(), "reg/app:stable".into(), Skip::ImageId),
                ("pinned".into(), "reg/app:stable".into(), Skip::Pinned),
            ]
        );
    }

    fn compose(name: &str, image_id: &str, service: &str, depends_on: &str) -> Candidate {
        let mut c = candidate(name, image_id, true);
        for (k, v) in [
            ("com.docker.compose.project", "shop"),
            ("com.docker.compose.service", service),
            ("com.docker.compose.depends_on", depends_on),
        ] {
            c.labels.insert(k.into(), v.into());
        }
        c
    }

    #[test]
    fn compose_dependencies_are_recreated_first() {
        // One tag: the dependency first within the group.
        let all = vec![
            compose("shop-app-1", "sha256:old", "app", "zdb:service_healthy:false"),
            compose("shop-zdb-1", "sha256:old", "zdb", ""),
        ];
        let p = plan(&all, &upgraded(), |_| None);
        let names: Vec<&str> = p.recreate.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["shop-zdb-1", "shop-app-1"]);
        assert!(must_follow(&p.recreate[1], &p.recreate[0]));
        assert!(!must_follow(&p.recreate[0], &p.recreate[1]));
        // Two tags: the dependency's tag first; a third, unrelated, keeps its place.
        let mut all = vec![
            Candidate {
                image: "reg/app:1".into(),
                ..compose("shop-app-1", "sha256:a", "app", "zdb:service_started:false")
            },
            Candidate { image: "reg/zdb:1".into(), ..compose("shop-zdb-1", "sha256:z", "zdb", "") },
            Candidate { image: "reg/b:1".into(), ..candidate("b", "sha256:b", true) },
        ];
        let upgraded = BTreeMap::from([
            ("sha256:a".to_string(), vec!["reg/app:1".to_string()]),
            ("sha256:z".to_string(), vec!["reg/zdb:1".to_string()]),
            ("sha256:b".to_string(), vec!["reg/b:1".to_string()]),
        ]);
        let p = plan(&all, &upgraded, |_| None);
        let tags = ["reg/app:1".to_string(), "reg/b:1".to_string(), "reg/zdb:1".to_string()];
        assert_eq!(tag_order(&tags, &p), [1, 2, 0]);
        // Another project's service of that name is not a dependency.
        all[1].labels.insert("com.docker.compose.project".into(), "other".into());
        let p = plan(&all, &upgraded, |_| None);
        assert_eq!(tag_order(&tags, &p), [0, 1, 2]);
    }

    #[test]
    fn plan_honours_no_recreate() {
        let all = vec![candidate("web", "sha256:old", true)];
        let p = plan(&all, &upgraded(), |_| Some(Skip::NoRecreate));
        assert!(p.recreate.is_empty());
        assert_eq!(p.skipped, [("web".into(), "reg/app:1".into(), Skip::NoRecreate)]);
    }

    fn image() -> Value {
        json!({"Config": {
            "Env": ["PATH=/usr/bin", "VERSION=1"],
            "Cmd": ["/prog"],
            "Entrypoint": null,
            "WorkingDir": "/",
            "Labels": {"org.opencontainers.image.version": "1"},
            "Volumes": {"/data": {}},
            "ExposedPorts": {"80/tcp": {}},
            "Healthcheck": {"Test": ["CMD", "/prog", "ok"]}
        }})
    }

    fn container() -> Value {
        json!({
            "Id": "0123456789abcdef0123",
            "Config": {
                "Hostname": "0123456789ab",
                "Env": ["PATH=/usr/bin", "VERSION=1", "GREETING=hi"],
                "Cmd": ["/prog"],
                "Entrypoint": null,
                "WorkingDir": "/",
                "Labels": {"org.opencontainers.image.version": "1", "tier": "web"},
                "Volumes": {"/data": {}},
                "ExposedPorts": {"80/tcp": {}, "8080/tcp": {}},
                "Healthcheck": {"Test": ["CMD", "/prog", "ok"]},
                "Tty": false,
                "Image": "reg/app:1"
            },
            "HostConfig": {
                "NetworkMode": "front",
                "Binds": ["named:/named"],
                "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
                "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}
            },
            "Mounts": [
                {"Type": "volume", "Name": "named", "Destination": "/named", "RW": true},
                {"Type": "volume", "Name": "a".repeat(64), "Destination": "/data", "RW": true}
            ],
            "NetworkSettings": {"Networks": {
                "front": {"Aliases": ["www", "0123456789ab"], "IPAMConfig": {"IPv4Address": "10.1.2.3"},
                          "IPAddress": "10.1.2.3"},
                "back": {"Aliases": ["api", "0123456789ab"], "IPAMConfig": null, "IPAddress": "10.9.0.2"}
            }}
        })
    }

    #[test]
    fn creation_keeps_what_the_user_set_and_lets_the_new_image_default_the_rest() {
        let c = creation(&container(), &image(), "reg/app:1", None, false);
        let b = &c.body;
        assert_eq!(b["Image"], "reg/app:1");
        assert_eq!(b["Env"], json!(["GREETING=hi"]), "image env left to the new image");
        assert_eq!(b["Labels"], json!({"tier": "web"}));
        for key in ["Cmd", "Entrypoint", "WorkingDir", "Healthcheck", "Hostname", "Volumes", "Tty"] {
            assert!(b.get(key).is_none(), "{key} should default: {b:#}");
        }
        assert_eq!(b["ExposedPorts"], json!({"8080/tcp": {}}));
        assert_eq!(b["HostConfig"]["RestartPolicy"]["Name"], "unless-stopped");
        assert_eq!(b["HostConfig"]["Binds"], json!(["named:/named", format!("{}:/data", "a".repeat(64))]));
        assert_eq!(
            b["NetworkingConfig"]["EndpointsConfig"]["front"],
            json!({"Aliases": ["www"], "IPAMConfig": {"IPv4Address": "10.1.2.3"}})
        );
        assert_eq!(c.connect, [("back".to_string(), json!({"Aliases": ["api"]}))]);
    }

    #[test]
    fn creation_names_a_network_at_create_when_the_mode_names_none() {
        // podman: user networks, mode `bridge`.
        let mut v = container();
        v["HostConfig"]["NetworkMode"] = json!("bridge");
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert_eq!(c.body["HostConfig"]["NetworkMode"], "back");
        assert_eq!(c.body["NetworkingConfig"]["EndpointsConfig"]["back"], json!({"Aliases": ["api"]}));
        assert_eq!(c.connect.len(), 1);
        assert_eq!(c.connect[0].0, "front");
        // Docker's default bridge stays as it was.
        let mut v = container();
        v["HostConfig"]["NetworkMode"] = json!("bridge");
        v["NetworkSettings"]["Networks"] = json!({"bridge": {"Aliases": null, "IPAddress": "172.17.0.2"}});
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert_eq!(c.body["HostConfig"]["NetworkMode"], "bridge");
        assert!(c.connect.is_empty());
    }

    #[test]
    fn creation_keeps_the_addresses_an_engine_does_not_say_were_configured() {
        // podman: no IPAMConfig even for a configured address.
        let mut v = container();
        v["NetworkSettings"]["Networks"]["front"]["IPAMConfig"] = Value::Null;
        let c = creation(&v, &image(), "reg/app:1", None, true);
        assert_eq!(
            c.body["NetworkingConfig"]["EndpointsConfig"]["front"]["IPAMConfig"],
            json!({"IPv4Address": "10.1.2.3"})
        );
        assert_eq!(c.connect[0].1["IPAMConfig"], json!({"IPv4Address": "10.9.0.2"}));
        // Not on the default network.
        let mut d = v.clone();
        d["NetworkSettings"]["Networks"]["podman"] = json!({"IPAMConfig": null, "IPAddress": "10.88.0.7"});
        let c = creation(&d, &image(), "reg/app:1", None, true);
        let default = c.connect.iter().find(|(n, _)| n == "podman").unwrap();
        assert!(default.1.get("IPAMConfig").is_none(), "{c:?}");
        // Where the engine reports them, only the configured ones are kept.
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert!(c.body["NetworkingConfig"]["EndpointsConfig"]["front"].get("IPAMConfig").is_none());
        assert!(c.connect[0].1.get("IPAMConfig").is_none());
    }

    #[test]
    fn creation_gives_ulimits_the_apis_names() {
        let mut v = container();
        v["HostConfig"]["Ulimits"] = json!([
            {"Name": "RLIMIT_NOFILE", "Soft": 20000, "Hard": 20000},
            {"Name": "nproc", "Soft": 100, "Hard": 200}
        ]);
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert_eq!(
            c.body["HostConfig"]["Ulimits"],
            json!([{"Name": "nofile", "Soft": 20000, "Hard": 20000}, {"Name": "nproc", "Soft": 100, "Hard": 200}])
        );
    }

    #[test]
    fn creation_keeps_a_user_command_hostname_and_entrypoint() {
        let mut v = container();
        v["Config"]["Cmd"] = json!(["/prog", "serve"]);
        v["Config"]["Hostname"] = json!("web");
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert_eq!(c.body["Cmd"], json!(["/prog", "serve"]));
        assert_eq!(c.body["Hostname"], "web");
        let mut v = container();
        v["Config"]["Entrypoint"] = json!(["/prog"]);
        let c = creation(&v, &image(), "reg/app:1", None, false);
        assert_eq!(c.body["Entrypoint"], json!(["/prog"]));
        assert_eq!(c.body["Cmd"], json!(["/prog"]), "with a user entrypoint the Cmd is the container's");
    }

    #[test]
    fn creation_points_a_dependent_at_the_new_parent() {
        let mut v = container();
        v["HostConfig"]["NetworkMode"] = json!("container:oldparentid");
        v["Config"]["Hostname"] = json!("parenthost");
        let c = creation(&v, &image(), "reg/other:1", Some("newparentid"), false);
        assert_eq!(c.body["HostConfig"]["NetworkMode"], "container:newparentid");
        assert!(c.body.get("Hostname").is_none(), "the engine refuses a host name in another's namespace");
        assert!(c.body.get("NetworkingConfig").is_none());
        assert!(c.connect.is_empty());
    }

    #[test]
    fn anonymous_volumes_are_the_generated_names_not_the_users() {
        let mut v = container();
        v["HostConfig"]["Binds"] = json!([format!("{}:/data", "a".repeat(64))]);
        assert!(anonymous_volumes(&v).is_empty(), "a bind the user wrote is not anonymous");
        assert_eq!(anonymous_volumes(&container()), [("a".repeat(64), "/data".to_string(), true)]);
    }

    #[test]
    fn gate_verdicts() {
        let s = Duration::from_secs;
        let up = Observed { running: true, ..Default::default() };
        assert_eq!(gate(&up, false, s(1), s(5)), Gate::Wait);
        assert_eq!(gate(&up, false, s(5), s(5)), Gate::Pass);
        let starting = Observed { health: Some("starting".into()), ..up.clone() };
        assert_eq!(gate(&starting, true, s(1), s(5)), Gate::Wait);
        assert_eq!(gate(&starting, true, s(5), s(5)), Gate::Fail("it was not healthy within 5s".into()));
        let healthy = Observed { health: Some("healthy".into()), ..up.clone() };
        assert_eq!(gate(&healthy, true, s(0), s(5)), Gate::Pass);
        let sick = Observed { health: Some("unhealthy".into()), ..up.clone() };
        assert_eq!(gate(&sick, true, s(1), s(5)), Gate::Fail("it is unhealthy".into()));
        let exited = Observed { running: false, exit_code: 3, ..Default::default() };
        assert_eq!(gate(&exited, false, s(0), s(5)), Gate::Fail("it exited with code 3".into()));
        let restarted = Observed { restart_count: 1, ..up };
        assert!(matches!(gate(&restarted, false, s(0), s(5)), Gate::Fail(_)));
    }

    #[test]
    fn the_health_clock_keeps_the_containers_schedule() {
        let s = Duration::from_secs;
        let started = json!({"Config": {"Healthcheck": {"Test": ["CMD", "/prog", "ok"], "Interval": 2_000_000_000u64}},
            "State": {"Health": {"Status": "starting", "Log": null}}});
        let mut clock = HealthClock::new(&started, s(0));
        assert!(!clock.due(&started, s(1)), "the first check comes one interval after the start");
        assert!(clock.due(&started, s(2)));
        let checked = |at: &str| {
            let mut v = started.clone();
            v["State"]["Health"]["Log"] = json!([{"Start": "t0"}, {"Start": at}]);
            v
        };
        clock.ran(&checked("t1"), s(2));
        assert!(!clock.due(&checked("t1"), s(3)));
        assert!(clock.due(&checked("t1"), s(4)));
        clock.ran(&checked("t2"), s(4));
        // The engine ran one by itself at 5 s (its timers work): the next
        // is due an interval after that, not after ours.
        assert!(!clock.due(&checked("t3"), s(5)));
        assert!(!clock.due(&checked("t3"), s(6)));
        assert!(clock.due(&checked("t3"), s(7)));
        // A rare check (no interval given: 30 s) is not run early.
        let rare = json!({"Config": {"Healthcheck": {"Test": ["CMD", "/prog", "ok"]}}});
        let mut clock = HealthClock::new(&rare, s(0));
        assert!(!clock.due(&rare, s(29)));
        assert!(clock.due(&rare, s(30)));
    }

    #[test]
    fn healthcheck_from_the_container_or_the_image() {
        assert!(has_healthcheck(&json!({}), &image()));
        let off = json!({"Config": {"Healthcheck": {"Test": ["NONE"]}}});
        assert!(!has_healthcheck(&off, &image()));
        assert!(!has_healthcheck(&json!({}), &json!({"Config": {}})));
    }

    #[test]
    fn journal_entries_hold_no_configuration() {
        let e = JournalEntry {
            name: "web".into(),
            old_id: "a".into(),
            new_id: None,
            reference: "reg/app:1".into(),
            old_image: "sha256:1".into(),
            new_image: "sha256:2".into(),
            was_running: true,
            step: Step::Creating,
            compose: None,
            dependents: vec![],
        };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"name":"web","old_id":"a","new_id":null,"reference":"reg/app:1","old_image":"sha256:1","new_image":"sha256:2","was_running":true,"step":"creating"}"#
        );
        assert_eq!(repair(&e), Repair::Undo);
        assert_eq!(repair(&JournalEntry { step: Step::Passed, ..e }), Repair::Finish);
    }
}
