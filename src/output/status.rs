//! The documents `freshen serve` answers with: its own status
//! (`/api/v1/status`, schema `docs/serve-status.schema.json`), and the
//! shapes of the widgets people already have: cup's `/api/v3/json` and
//! WUD's `/api/containers`. Fields of the v1 status are only ever added
//! within a schema version.

use serde::Serialize;
use serde_json::{json, Value};

use crate::core::image::{EngineKind, EngineModel, ImageStore};
use crate::core::status::{Counts, TagView};
use crate::core::verdict::Status;
use crate::core::versions::Level;

/// The version of `/api/v1/status`.
pub const STATUS_SCHEMA_VERSION: u32 = 1;

/// What the status documents are made of.
pub struct StatusInput<'a> {
    pub host: &'a str,
    pub engine: Option<&'a EngineModel>,
    /// When the last update finished, from the state.
    pub updated_at: Option<&'a str>,
    /// Tags the last update could not check.
    pub failed: usize,
    /// The server's own last update, if it failed as a whole.
    pub update_error: Option<&'a str>,
    pub views: &'a [TagView<'a>],
    pub counts: &'a Counts,
    pub actions: bool,
    /// The time of this answer (RFC 3339).
    pub now: &'a str,
}

#[derive(Serialize)]
struct StatusDoc<'a> {
    schema_version: u32,
    freshen_version: &'static str,
    generated_at: &'a str,
    host: HostDoc<'a>,
    last_check: LastCheckDoc<'a>,
    counts: CountsDoc,
    actions: bool,
    tags: Vec<TagDoc<'a>>,
}

#[derive(Serialize)]
struct HostDoc<'a> {
    name: &'a str,
    engine: Option<EngineDoc<'a>>,
}

#[derive(Serialize)]
struct EngineDoc<'a> {
    kind: &'static str,
    version: &'a str,
    api_version: &'a str,
    image_store: &'static str,
}

#[derive(Serialize)]
struct LastCheckDoc<'a> {
    at: Option<&'a str>,
    ok: bool,
    failed: usize,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct CountsDoc {
    tags: usize,
    updates: usize,
    up_to_date: usize,
    held: usize,
    skipped: usize,
    waiting: usize,
    unknown: usize,
    local_only: usize,
    pinned: usize,
}

#[derive(Serialize)]
struct TagDoc<'a> {
    reference: String,
    name: String,
    registry: &'a str,
    repository: &'a str,
    tag: Option<&'a str>,
    status: Status,
    /// Upgradable and not held back: what an upgrade would take.
    update_offered: bool,
    update_level: Option<Level>,
    image_id: &'a str,
    current: VersionDoc<'a>,
    available: Option<VersionDoc<'a>>,
    newer_tags: Vec<NewerDoc<'a>>,
    release_notes: Option<&'a str>,
    containers: Vec<ContainerDoc<'a>>,
    held: bool,
    skipped: Option<SkippedDoc<'a>>,
    cooldown: Option<CooldownDoc>,
    last_upgrade: Option<LastUpgradeDoc<'a>>,
    checked_at: Option<&'a str>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct VersionDoc<'a> {
    version: Option<&'a str>,
    digest: Option<&'a str>,
}

#[derive(Serialize)]
struct NewerDoc<'a> {
    tag: &'a str,
    version: &'a str,
    level: Level,
    within_policy: bool,
}

#[derive(Serialize)]
struct ContainerDoc<'a> {
    name: &'a str,
    running: bool,
    compose_project: Option<&'a str>,
    compose_service: Option<&'a str>,
}

#[derive(Serialize)]
struct SkippedDoc<'a> {
    digest: Option<&'a str>,
    tag: Option<&'a str>,
    reason: &'a str,
    at: &'a str,
}

#[derive(Serialize)]
struct CooldownDoc {
    available_at: Option<String>,
    min_age_seconds: u64,
}

#[derive(Serialize)]
struct LastUpgradeDoc<'a> {
    outcome: &'static str,
    at: &'a str,
    detail: Option<&'a str>,
}

fn engine_doc(m: &EngineModel) -> EngineDoc<'_> {
    EngineDoc {
        kind: match m.kind {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
        },
        version: &m.version,
        api_version: &m.api_version,
        image_store: match m.store {
            ImageStore::Classic => "classic",
            ImageStore::Containerd => "containerd",
            ImageStore::ContainersStorage => "containers-storage",
        },
    }
}

fn tag_doc<'a>(v: &'a TagView<'a>) -> TagDoc<'a> {
    let r = v.row;
    let within: Vec<NewerDoc> = r
        .version
        .candidates
        .iter()
        .map(|c| NewerDoc { tag: &c.tag, version: &c.version, level: c.level, within_policy: true })
        .collect();
    let beyond = r
        .version
        .by_level
        .iter()
        .filter(|(c, ok)| !ok && !within.iter().any(|w| w.tag == c.tag))
        .map(|(c, _)| NewerDoc { tag: &c.tag, version: &c.version, level: c.level, within_policy: false })
        .collect::<Vec<_>>();
    let newer_tags: Vec<NewerDoc> = within.into_iter().chain(beyond).collect();
    TagDoc {
        reference: r.reference.to_string(),
        name: r.reference.familiar(),
        registry: &r.reference.registry,
        repository: &r.reference.repository,
        tag: r.reference.tag.as_deref(),
        status: r.status,
        update_offered: v.offered(),
        update_level: r.update_level(),
        image_id: &r.image_id,
        current: VersionDoc { version: r.version.current.as_deref(), digest: r.local_digest.as_deref() },
        available: (r.status == Status::Upgradable)
            .then(|| VersionDoc { version: r.candidate_version(), digest: r.remote_digest.as_deref() }),
        newer_tags,
        release_notes: r.version.release_notes.as_deref(),
        containers: v
            .containers
            .iter()
            .map(|c| ContainerDoc {
                name: &c.name,
                running: c.running,
                compose_project: c.project.as_deref(),
                compose_service: c.service.as_deref(),
            })
            .collect(),
        held: r.held,
        skipped: r.skipped.as_ref().map(|s| SkippedDoc {
            digest: s.digest.as_deref(),
            tag: s.tag.as_deref(),
            reason: &s.reason,
            at: &s.at,
        }),
        cooldown: r.cooldown.as_ref().map(|c| CooldownDoc {
            available_at: crate::core::time::format_rfc3339(c.available_at),
            min_age_seconds: c.min_age_seconds,
        }),
        last_upgrade: v.last_upgrade.as_ref().map(|l| LastUpgradeDoc {
            outcome: l.outcome.as_str(),
            at: &l.at,
            detail: l.detail.as_deref(),
        }),
        checked_at: r.checked_at.as_deref(),
        error: r.error.as_deref(),
    }
}

/// `GET /api/v1/status`.
pub fn status_json(s: &StatusInput) -> Value {
    let c = s.counts;
    let doc = StatusDoc {
        schema_version: STATUS_SCHEMA_VERSION,
        freshen_version: env!("CARGO_PKG_VERSION"),
        generated_at: s.now,
        host: HostDoc { name: s.host, engine: s.engine.map(engine_doc) },
        last_check: LastCheckDoc {
            at: s.updated_at,
            ok: s.updated_at.is_some() && s.failed == 0 && s.update_error.is_none(),
            failed: s.failed,
            error: s.update_error,
        },
        counts: CountsDoc {
            tags: c.tags,
            updates: c.updates,
            up_to_date: c.up_to_date,
            held: c.held,
            skipped: c.skipped,
            waiting: c.waiting,
            unknown: c.unknown,
            local_only: c.local_only,
            pinned: c.pinned,
        },
        actions: s.actions,
        tags: s.views.iter().map(tag_doc).collect(),
    };
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

/// cup's answer for one tag: `has_update` true for an offered update,
/// false when current (or held back: cup has no word for that), null with
/// the error when unknown.
fn cup_image(v: &TagView, checked_ms: u64) -> Value {
    let r = v.row;
    let has_update = match r.status {
        Status::Upgradable => Some(v.offered()),
        Status::UpToDate => Some(false),
        _ => None,
    };
    let info = match (has_update, r.update_level(), &r.version.candidate) {
        (Some(true), Some(level), Some(c)) if level != Level::Digest => json!({
            "type": "version",
            "version_update_type": level.as_str(),
            "new_tag": c.tag,
            "current_version": r.version.current.clone().unwrap_or_default(),
            "new_version": c.version,
        }),
        (Some(true), _, _) => json!({
            "type": "digest",
            "local_digests": r.local_digest.iter().collect::<Vec<_>>(),
            "remote_digest": r.remote_digest,
        }),
        _ => Value::Null,
    };
    let error = match has_update {
        None => Some(r.error.clone().unwrap_or_else(|| format!("not checked ({})", r.status.as_str()))),
        Some(_) => None,
    };
    json!({
        "reference": r.reference.familiar(),
        "parts": {
            "registry": r.reference.registry,
            "repository": r.reference.repository,
            "tag": r.reference.tag.clone().unwrap_or_default(),
        },
        "url": r.version.release_notes,
        "result": { "has_update": has_update, "info": info, "error": error },
        "time": checked_ms,
        "server": Value::Null,
        "in_use": !v.containers.is_empty(),
    })
}

/// `GET /api/v3/json`, cup's full JSON: its `metrics` and `images`.
pub fn cup_json(views: &[TagView]) -> Value {
    let (mut major, mut minor, mut patch, mut other, mut current, mut unknown) = (0, 0, 0, 0, 0, 0);
    // Only tags (not pinned digests or local builds): what cup monitors.
    let monitored: Vec<&TagView> = views
        .iter()
        .filter(|v| matches!(v.row.status, Status::UpToDate | Status::Upgradable | Status::Unknown))
        .collect();
    let images: Vec<Value> = monitored
        .iter()
        .map(|v| {
            match (v.row.status, v.offered(), v.row.update_level()) {
                (Status::Upgradable, true, Some(Level::Major)) => major += 1,
                (Status::Upgradable, true, Some(Level::Minor)) => minor += 1,
                (Status::Upgradable, true, Some(Level::Patch)) => patch += 1,
                (Status::Upgradable, true, _) => other += 1,
                (Status::Upgradable | Status::UpToDate, _, _) => current += 1,
                _ => unknown += 1,
            }
            cup_image(v, 0)
        })
        .collect();
    json!({
        "metrics": {
            "monitored_images": monitored.len(),
            "up_to_date": current,
            "updates_available": major + minor + patch + other,
            "major_updates": major,
            "minor_updates": minor,
            "patch_updates": patch,
            "other_updates": other,
            "unknown": unknown,
        },
        "images": images,
    })
}

/// `GET /api/containers`, the part of WUD's answer that Homepage's
/// `whatsupdocker` widget and WUD's own clients read: one entry per
/// container, `updateAvailable`, `image`, `result` and `updateKind`.
pub fn wud_json(views: &[TagView], host: &str) -> Value {
    let mut out = Vec::new();
    for v in views {
        let r = v.row;
        for c in &v.containers {
            let offered = v.offered();
            let kind = match (offered, &r.version.candidate) {
                (true, Some(cand)) => json!({
                    "kind": "tag",
                    "localValue": r.reference.tag,
                    "remoteValue": cand.tag,
                    "semverDiff": cand.level.as_str(),
                }),
                (true, None) => json!({
                    "kind": "digest",
                    "localValue": r.local_digest,
                    "remoteValue": r.remote_digest,
                }),
                _ => json!({ "kind": "unknown" }),
            };
            out.push(json!({
                "id": c.name,
                "name": c.name,
                "watcher": host,
                "status": if c.running { "running" } else { "exited" },
                "image": {
                    "id": r.image_id,
                    "registry": { "name": r.reference.registry, "url": format!("https://{}/v2", r.reference.registry) },
                    "name": r.reference.repository,
                    "tag": { "value": r.reference.tag, "semver": r.version.current.is_some() },
                    "digest": { "watch": true, "value": r.local_digest, "repo": r.local_digest },
                    "created": crate::core::time::format_rfc3339(r.created),
                },
                "result": {
                    "tag": r.version.candidate.as_ref().map(|c| c.tag.clone()).or_else(|| r.reference.tag.clone()),
                    "digest": r.remote_digest,
                },
                "updateAvailable": offered,
                "updateKind": kind,
                "error": r.error.as_ref().map(|e| json!({ "message": e })),
            }));
        }
    }
    Value::Array(out)
}
