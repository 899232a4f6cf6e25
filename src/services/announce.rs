//! The announcing step of `update --notify` and `check --notify`: each
//! target gets the updates it has not been told about, all targets at once;
//! what each target received is recorded in `notified.json` under the state
//! lock, so a target that failed gets the same updates on the next run and
//! the others get nothing twice.

use std::collections::BTreeSet;

use futures_util::future::join_all;

use crate::core::monitor;
use crate::core::notified::{Due, Record};
use crate::core::reference::Reference;
use crate::core::report::Selection;
use crate::core::skips::Controls;
use crate::core::state::{Entry, State};
use crate::error::{Error, Result};
use crate::notify::{self, Payload, Update, PAYLOAD_SCHEMA_VERSION};
use crate::output::{self, Printer};
use crate::settings::Settings;
use crate::store::Lock;

pub fn no_targets(settings: &Settings) -> String {
    let file =
        settings.config_path.as_ref().map_or("the config file".to_string(), |p| p.display().to_string());
    format!("no notification targets: add a [[notify]] table to {file} (see 'man freshen.conf')")
}

pub fn payload(event: &str, updates: Vec<Update>) -> Payload {
    Payload {
        schema_version: PAYLOAD_SCHEMA_VERSION,
        event: event.to_string(),
        host: notify::host_name(),
        time: output::now_rfc3339(),
        updates,
        rollbacks: Vec::new(),
        deferred: Vec::new(),
        budget: None,
    }
}

/// Tells every notification target that the scheduled run could not keep
/// the image store under its `[cache]` budget, and why. A target that
/// fails is warned about.
pub async fn budget(settings: &Settings, notice: notify::BudgetNotice, p: &Printer) {
    if settings.notify.is_empty() {
        return;
    }
    let mut message = payload("budget", Vec::new());
    message.budget = Some(notice);
    send_to_all(settings, &message, "the budget", "the budget notice", p).await;
}

/// Per reference: the local image's version and the registry image's, when
/// known (labels, or the tag when it is a version), and the release-notes
/// link of the new one.
pub type Versions = std::collections::HashMap<String, (Option<String>, Option<String>, Option<String>)>;

fn update_of(d: &Due<'_>, versions: &Versions) -> Update {
    let e: &Entry = d.entry;
    let parsed = Reference::parse(&e.reference).ok();
    let (old_version, new_version, release_notes) = versions.get(&e.reference).cloned().unwrap_or_default();
    Update {
        old_version,
        new_version,
        release_notes,
        reference: e.reference.clone(),
        image: parsed.as_ref().map_or_else(|| e.reference.clone(), Reference::familiar),
        tag: parsed.and_then(|r| r.tag),
        old_digest: e.local_digest.clone().unwrap_or_else(|| e.image_id.clone()),
        new_digest: e.remote_digest.clone().unwrap_or_default(),
        image_id: e.image_id.clone(),
        checked_at: e.checked_at.clone(),
        repeat: d.repeat,
    }
}

/// Announces what each target has not been told yet: the updates offered
/// now, so a skipped version is never announced and one waiting out its
/// minimum age is announced when that is over. Returns false if a target
/// failed (it is retried on the next run). The caller holds the state lock.
pub async fn announce(
    settings: &Settings,
    state: &State,
    selection: &Selection,
    versions: &Versions,
    controls: &Controls,
    lock: &Lock,
    p: &Printer,
) -> Result<bool> {
    if settings.notify.is_empty() {
        p.warn(&format!("{}; nothing was announced", no_targets(settings)));
        return Ok(true);
    }
    let dir = &settings.state_dir;
    let mut record = match Record::load(dir) {
        Ok(r) => r,
        Err(Error::CorruptStore { path, detail, .. }) => {
            // Better to announce again than to stop announcing.
            super::set_aside(&path, &detail, p);
            Record::load(dir)?
        }
        Err(e) => return Err(e),
    };
    let loaded = record.clone();
    let upgradable: Vec<&Entry> =
        monitor::selected(state, selection).into_iter().filter(|e| controls.offered(e)).collect();
    let now = output::now_unix();
    let client = notify::client().map_err(Error::Internal)?;
    let work: Vec<_> = settings
        .notify
        .iter()
        .map(|t| (t, record.due(&t.id, &upgradable, now, settings.renotify_after)))
        .filter(|(_, due)| !due.is_empty())
        .collect();
    let sends = work.iter().map(|(t, due)| {
        let client = &client;
        async move {
            let message = payload("updates", due.iter().map(|d| update_of(d, versions)).collect());
            notify::send(client, t, &message).await
        }
    });
    let results = join_all(sends).await;
    let mut all_ok = true;
    for ((target, due), result) in work.iter().zip(results) {
        let n = due.len();
        let what = if n == 1 { "1 update".to_string() } else { format!("{n} updates") };
        match result {
            Ok(()) => {
                record.mark_sent(&target.id, due, now);
                p.info(&format!("Announced {what} to {}.", target.label));
            }
            Err(e) => {
                all_ok = false;
                p.warn(&format!(
                    "cannot announce {what} to {}: {e}; will try again on the next run",
                    target.label
                ));
            }
        }
    }
    let ids: BTreeSet<&str> = settings.notify.iter().map(|t| t.id.as_str()).collect();
    record.prune(&ids, &state.entries);
    if record != loaded {
        record.save(dir, lock)?;
    }
    Ok(all_ok)
}

/// Tells every notification target which upgrades were rolled back, with
/// the containers' last log lines (unless a target has `logs = false`).
/// Sent once, when it happens; a target that fails is warned about, and the
/// run's exit status is already 1 for the rollback.
pub async fn rollbacks(settings: &Settings, done: &[crate::services::recreate::Announced], p: &Printer) {
    if settings.notify.is_empty() || done.is_empty() {
        return;
    }
    let mut message = payload("rollback", Vec::new());
    message.rollbacks = done
        .iter()
        .map(|r| notify::Rollback {
            reference: r.reference.clone(),
            image: r.image.clone(),
            digest: r.digest.clone(),
            reason: r.reason.clone(),
            containers: r
                .containers
                .iter()
                .map(|(name, logs)| notify::RolledBackContainer { name: name.clone(), logs: logs.clone() })
                .collect(),
        })
        .collect();
    send_to_all(settings, &message, "the rollback", "the rollback notice", p).await;
}

/// Tells every target which tags an upgrade hook deferred (exit 75), at
/// once: `"event": "deferred"`. A failed notice is a warning.
pub async fn deferrals(settings: &Settings, deferred: &[(String, String)], p: &Printer) {
    if settings.notify.is_empty() || deferred.is_empty() {
        return;
    }
    let mut message = payload("deferred", Vec::new());
    message.deferred = deferred
        .iter()
        .map(|(reference, reason)| notify::Deferral {
            reference: reference.clone(),
            image: Reference::parse(reference).map_or_else(|_| reference.clone(), |r| r.familiar()),
            reason: reason.clone(),
        })
        .collect();
    send_to_all(settings, &message, "the deferred upgrades", "the deferral notice", p).await;
}

/// Sends `message` to every target at once. `what` names it in the warning
/// when no client can be made, `notice` when one target fails.
async fn send_to_all(settings: &Settings, message: &notify::Payload, what: &str, notice: &str, p: &Printer) {
    let client = match notify::client() {
        Ok(c) => c,
        Err(e) => {
            p.warn(&format!("cannot announce {what}: {e}"));
            return;
        }
    };
    let results = join_all(settings.notify.iter().map(|t| notify::send(&client, t, message))).await;
    for (t, r) in settings.notify.iter().zip(results) {
        if let Err(e) = r {
            p.warn(&format!("notification target {}: {notice} failed: {e}", t.label));
        }
    }
}
