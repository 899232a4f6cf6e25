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

use serde::{Deserialize, Serialize};

use crate::core::reference::Reference;

mod create;
mod health;
mod journal;

pub use create::{creation, Creation};
pub use health::{gate, has_healthcheck, Gate, HealthClock, Observed};
pub use journal::{repair, restart_parts, restart_word, restarts, JournalEntry, Repair, Step};

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
    /// A Compose service on an engine reached over ssh: its files are on
    /// that host. Unlike the others this refuses the whole tag, which is
    /// not pulled: a tag moved under a service that keeps its old
    /// container is an upgrade done halfway.
    Remote(String),
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
            Skip::Compose(why) | Skip::Remote(why) => write!(f, "{why}"),
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
        matches!(self, Skip::Compose(_) | Skip::Remote(_))
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

/// Why `c`, which runs a version `reference` leaves, is not recreated, if
/// it is not. A container created from an image ID says so first, whatever
/// else applies: it runs that image, not the tag, so it is never among the
/// containers left on a previous version of the tag.
fn skip(c: &Candidate, reference: &str, no_recreate: &impl Fn(&str) -> Option<Skip>) -> Option<Skip> {
    if names_the_id(&c.image, &c.image_id) {
        Some(Skip::ImageId)
    } else if let Some(skip) = no_recreate(reference) {
        Some(skip)
    } else if let Some(label) = OPT_OUT_LABELS
        .iter()
        .find(|l| c.labels.get(**l).is_some_and(|v| v.trim().eq_ignore_ascii_case("false")))
    {
        Some(Skip::OptOut(label.to_string()))
    } else if c.image.contains("@sha256:") {
        Some(Skip::Pinned)
    } else if !c.running {
        Some(Skip::Stopped)
    } else {
        None
    }
}

/// How `c` is recreated: through Compose when its labels name the service.
fn how(c: &Candidate) -> Result<How, Skip> {
    match ComposeService::from_labels(&c.labels) {
        Some(s) => Ok(How::Compose(s)),
        // Compose made it, but the labels do not say enough to ask Compose
        // again: recreating it behind Compose's back would make Compose's
        // next `up` recreate it once more.
        None if c.labels.contains_key("com.docker.compose.project") => {
            let project = &c.labels["com.docker.compose.project"];
            Err(Skip::Compose(format!("compose project {project}: its labels do not name the service")))
        }
        None => Ok(How::Container),
    }
}

/// The running containers that share `c`'s network namespace.
fn dependents(c: &Candidate, containers: &[Candidate]) -> Vec<String> {
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
        let how = match skip(c, reference, &no_recreate).map_or_else(|| how(c), Err) {
            Ok(how) => how,
            Err(skip) => {
                out.skipped.push((c.name.clone(), reference.clone(), skip));
                continue;
            }
        };
        let dependents = if how == How::Container { dependents(c, containers) } else { Vec::new() };
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

/// The upgraded tags `references` in waves (indexes into `references`):
/// the tags of one wave have their containers recreated side by side, a
/// wave after the waves of the tags it depends on. A tag depends on another
/// when one of its containers must follow one of the other's (a Compose
/// service's `depends_on`, a `container:` network), so Compose's `up` of a
/// dependent finds its dependency already on its new version and does not
/// recreate it out of band. Tags that depend on each other (a cycle) go one
/// per wave in the order given.
pub fn tag_waves(references: &[String], plan: &Plan) -> Vec<Vec<usize>> {
    let members: Vec<Vec<&Planned>> =
        references.iter().map(|r| plan.recreate.iter().filter(|p| &p.reference == r).collect()).collect();
    let depends = |a: usize, b: usize| {
        a != b && members[a].iter().any(|x| members[b].iter().any(|y| must_follow(x, y)))
    };
    let mut rest: Vec<usize> = (0..references.len()).collect();
    let mut waves = Vec::new();
    while !rest.is_empty() {
        let ready: Vec<usize> =
            rest.iter().copied().filter(|&a| !rest.iter().any(|&b| depends(a, b))).collect();
        let wave = if ready.is_empty() { vec![rest[0]] } else { ready };
        rest.retain(|a| !wave.contains(a));
        waves.push(wave);
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // With recreation switched off, an image-ID container still says
        // what it runs (the upgrade leaves it out of "still run the
        // previous version"); the others say why they stay.
        let off = plan(&all, &upgraded, |_| Some(Skip::NoRecreate));
        let reasons: Vec<(&str, &Skip)> = off.skipped.iter().map(|(n, _, s)| (n.as_str(), s)).collect();
        assert_eq!(
            reasons,
            [
                ("by-full-id", &Skip::ImageId),
                ("by-id", &Skip::ImageId),
                ("latest", &Skip::NoRecreate),
                ("pinned", &Skip::NoRecreate),
                ("stable", &Skip::NoRecreate),
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
        assert_eq!(tag_waves(&tags, &p), [vec![1, 2], vec![0]]);
        // Another project's service of that name is not a dependency.
        all[1].labels.insert("com.docker.compose.project".into(), "other".into());
        let p = plan(&all, &upgraded, |_| None);
        assert_eq!(tag_waves(&tags, &p), [vec![0, 1, 2]]);
    }

    #[test]
    fn plan_honours_no_recreate() {
        let all = vec![candidate("web", "sha256:old", true)];
        let p = plan(&all, &upgraded(), |_| Some(Skip::NoRecreate));
        assert!(p.recreate.is_empty());
        assert_eq!(p.skipped, [("web".into(), "reg/app:1".into(), Skip::NoRecreate)]);
    }
}
