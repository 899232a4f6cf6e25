//! What an upgrade tells: each recreation's outcome taken into the report,
//! the JSON records of the change report, and the containers that still
//! run a replaced version.

use std::collections::{BTreeMap, HashMap};

use crate::core::image::{Container, Snapshot};
use crate::core::recreate::{self as recreate_core, How};
use crate::core::reference::{short_digest, Reference};
use crate::core::retire::{Decision, OldVersion};
use crate::core::upgrade::Planned;
use crate::output::upgrade_report::{self as report_json, ChangeReport};
use crate::output::Printer;
use crate::services::recreate;
use crate::services::retire as retire_service;

/// What the recreations of one upgrade did, for the summary, the report and
/// the rollback notices.
#[derive(Default)]
pub(super) struct Recreation {
    pub(super) recreated: usize,
    pub(super) rolled_back: Vec<recreate::Announced>,
    pub(super) errors: usize,
}

impl Recreation {
    /// Takes in one group's outcome: reports it, and returns the reason if
    /// the group was rolled back.
    pub(super) fn absorb(
        &mut self,
        pl: &Planned,
        o: &recreate::Outcome,
        out: &mut ChangeReport,
        p: &Printer,
    ) -> Option<String> {
        for e in &o.errors {
            self.errors += 1;
            p.warn(e);
        }
        for r in &o.recreated {
            self.recreated += 1;
            out.recreated.push(report_json::Recreated {
                name: r.name.clone(),
                id: Some(r.id.clone()),
                previous_id: r.previous_id.clone(),
                reference: r.reference.clone(),
                how: if r.compose.is_some() { "compose" } else { "container" },
                compose_project: r.compose.as_ref().map(|c| c.project.clone()),
                compose_service: r.compose.as_ref().map(|c| c.service.clone()),
                downtime_seconds: Some(r.downtime.as_millis() as f64 / 1000.0),
            });
        }
        let reason = o.failure.clone()?;
        let names: Vec<&str> = o.rolled_back.iter().map(|r| r.name.as_str()).collect();
        p.warn(&format!(
            "{}: the new version ({}) did not pass the health gate: {reason}; rolled back: {} run{} {} \
             again and the tag points at it. Later upgrades skip this version until the registry's tag moves.",
            pl.reference.familiar(),
            // As the plan named them: versions where known, else the
            // image ID `docker images` shows and the digest pulled.
            pl.versions.as_ref().map_or_else(|| format!("sha256:{}", short_digest(&pl.digest)), |v| v.1.clone()),
            names.join(", "),
            if names.len() == 1 { "s" } else { "" },
            pl.versions.as_ref().map_or_else(|| short_digest(&pl.old_id).to_string(), |v| v.0.clone()),
        ));
        for r in &o.rolled_back {
            for line in &r.logs {
                p.info(&format!("  {}| {line}", r.name));
            }
            out.rolled_back.push(report_json::RolledBack {
                name: r.name.clone(),
                reference: r.reference.clone(),
                digest: pl.digest.clone(),
                reason: r.reason.clone(),
            });
        }
        self.rolled_back.push(recreate::Announced {
            reference: pl.reference.to_string(),
            image: pl.reference.familiar(),
            digest: pl.digest.clone(),
            reason: reason.clone(),
            containers: o.rolled_back.iter().map(|r| (r.name.clone(), r.logs.clone())).collect(),
        });
        Some(reason)
    }
}

impl Recreation {
    /// Takes in a group a signal put back: its containers run the previous
    /// version again, the tag points at it, and no skip is recorded.
    pub(super) fn absorb_interrupted(
        &mut self,
        pl: &Planned,
        o: &recreate::Outcome,
        out: &mut ChangeReport,
        p: &Printer,
    ) {
        for e in &o.errors {
            self.errors += 1;
            p.warn(e);
        }
        let names: Vec<&str> = o.rolled_back.iter().map(|r| r.name.as_str()).collect();
        let error = if names.is_empty() {
            "interrupted before its containers were recreated".to_string()
        } else {
            format!(
                "interrupted before the new version passed its health gate; {} run{} the previous version again",
                names.join(", "),
                if names.len() == 1 { "s" } else { "" }
            )
        };
        p.warn(&format!("{}: not upgraded: {error}; the tag points at it.", pl.reference.familiar()));
        self.errors += 1;
        out.failed.push(report_json::Failed { reference: pl.reference.to_string(), error });
    }
}

/// After a signal: where each container the plan meant to recreate stands
/// now, read from the engine (not from what the run believes it did).
pub(super) async fn container_states(
    p: &Printer,
    engine: &crate::engine::Engine,
    plan: &super::Plan,
    after: &Snapshot,
) {
    for c in &plan.containers.recreate {
        let Some(up) = plan.planned.iter().find(|pl| pl.reference.to_string() == c.reference) else {
            continue;
        };
        let line = match engine.inspect_container_json(&c.name).await {
            Ok(Some(v)) => {
                let running = v["State"]["Running"].as_bool() == Some(true);
                let image = v["Image"].as_str().unwrap_or_default();
                let version = if image == up.old_id {
                    "the previous version"
                } else if after.images.iter().any(|i| i.id == image && i.tags.contains(&up.reference)) {
                    "the new version"
                } else {
                    "another version"
                };
                let state =
                    if running { "running" } else { v["State"]["Status"].as_str().unwrap_or("stopped") };
                format!("{}: {state}, on {version} of {}.", c.name, up.reference.familiar())
            }
            Ok(None) => format!("{}: no container of that name; look at 'docker ps -a'.", c.name),
            Err(e) => format!("{}: cannot tell ({e}).", c.name),
        };
        p.info(&line);
    }
}

pub(super) fn upgraded_json(pl: &Planned, new_id: Option<&String>) -> report_json::Upgraded {
    report_json::Upgraded {
        reference: pl.target().to_string(),
        from_image_id: pl.old_id.clone(),
        from_digest: pl.old_digest.clone(),
        to_image_id: new_id.cloned(),
        to_digest: pl.digest.clone(),
    }
}

/// A container the plan would recreate, in the dry run's report.
pub(super) fn planned_json(c: &recreate_core::Planned) -> report_json::Recreated {
    let compose = match &c.how {
        How::Compose(s) => Some(s),
        How::Container => None,
    };
    report_json::Recreated {
        name: c.name.clone(),
        id: None,
        previous_id: c.id.clone(),
        reference: c.reference.clone(),
        how: if compose.is_some() { "compose" } else { "container" },
        compose_project: compose.map(|s| s.project.clone()),
        compose_service: compose.map(|s| s.service.clone()),
        downtime_seconds: None,
    }
}

/// The retired images, and those kept with the reason, in the report.
pub(super) fn report_retired(
    out: &mut ChangeReport,
    go: &[&OldVersion],
    decided: &[(OldVersion, Decision)],
    removed: &retire_service::Retired,
) {
    for c in go.iter().filter(|c| removed.removed.contains(&c.image_id)) {
        out.retired.push(report_json::Retired { image_id: c.image_id.clone(), name: c.name.clone() });
    }
    for (c, d) in decided {
        if let Decision::Keep(reason) = d {
            out.kept.push(report_json::Kept {
                image_id: c.image_id.clone(),
                name: c.name.clone(),
                reason: reason.clone(),
            });
        }
    }
    for (name, reason) in &removed.refused {
        if let Some(c) = go.iter().find(|c| &c.name == name) {
            out.kept.push(report_json::Kept {
                image_id: c.image_id.clone(),
                name: name.clone(),
                reason: reason.clone(),
            });
        }
    }
}

/// Containers created from a version that is now superseded.
/// `by_id` names containers created from an image ID, which run that image
/// rather than a tag and are left out.
/// `moved` maps a tag that `upgrade --tags` left behind to the tag it moved
/// to (`…/db:16.2` → `db:16.3`).
pub(super) fn still_running(
    p: &Printer,
    host: &Snapshot,
    old: &HashMap<&str, Vec<String>>,
    moved: &HashMap<String, String>,
    by_id: &[&str],
) {
    // A container created from another tag of that image, one that did not
    // move, runs the current version of its own tag.
    let followed = |c: &&Container| {
        let refs = old.get(c.image_id.as_str())?;
        let r = recreate_core::followed(&c.image, &c.image_id, refs)?;
        Reference::parse(r).ok()
    };
    let mut users: Vec<_> = host
        .containers
        .iter()
        .filter(|c| !by_id.contains(&c.name.as_str()) && followed(c).is_some())
        .collect();
    // Running ones first: they are the ones serving the old version now.
    users.sort_by(|a, b| b.running.cmp(&a.running).then_with(|| a.name.cmp(&b.name)));
    if users.is_empty() {
        return;
    }
    let list: Vec<String> = users
        .iter()
        .map(|c| {
            let r = followed(c).map(|r| r.familiar()).unwrap_or_default();
            if c.running {
                format!("{} ({r})", c.name)
            } else {
                format!("{} ({r}, stopped)", c.name)
            }
        })
        .collect();
    p.line(&format!(
        "These containers still run the previous version: {}. Recreate them to finish the upgrade.",
        list.join(", ")
    ));
    let mut projects: BTreeMap<&str, (Option<&str>, Vec<String>)> = BTreeMap::new();
    for c in &users {
        if let Some(project) = c.labels.get("com.docker.compose.project") {
            let wd = c.labels.get("com.docker.compose.project.working_dir").map(String::as_str);
            let entry = projects.entry(project.as_str()).or_insert((wd, Vec::new()));
            // The file names the tag that was left behind: `up -d` alone
            // would recreate nothing.
            if let Some((from, to)) =
                followed(c).and_then(|r| Some((r.familiar(), moved.get(&r.to_string())?)))
            {
                let change = format!("{from} to {to}");
                if !entry.1.contains(&change) {
                    entry.1.push(change);
                }
            }
        }
    }
    for (project, (wd, changes)) in projects {
        let up = match wd {
            Some(wd) => format!("run 'docker compose up -d' in {wd}"),
            None => format!("run 'docker compose -p {project} up -d'"),
        };
        if changes.is_empty() {
            p.line(&format!("Compose project {project}: {up}."));
        } else {
            p.line(&format!(
                "Compose project {project}: change the image in its compose file from {}, then {up}.",
                changes.join(", ")
            ));
        }
    }
}
