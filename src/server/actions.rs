//! The actions (off unless `[serve] actions = true`, and only with the
//! apply token): an upgrade pinned to the digest the person approved, run
//! as a job one at a time; skip, hold and unhold of one tag. Each calls
//! the same service as the CLI, under the same state lock.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::Shared;
use super::{error, BODY_LIMIT};
use crate::core::serve::{check_digest, TagRequest, UpgradeRequest};
use crate::core::status::{LastUpgrade, Outcome};
use crate::services::pinned::{self, Refusal};

/// How many finished jobs are kept to be read back.
const KEPT: usize = 50;

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: u64,
    pub reference: String,
    pub expected_digest: String,
    /// `api` or `mqtt`.
    pub source: &'static str,
    /// `running`, `upgraded`, `rolled-back`, `not-upgraded` or `failed`.
    pub state: &'static str,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub message: Option<String>,
}

/// The upgrade jobs: at most one running, the last few kept.
#[derive(Debug, Clone, Default)]
pub struct Jobs {
    next: u64,
    /// Set from the moment an upgrade is accepted for checking.
    busy: Option<String>,
    pub all: VecDeque<Job>,
}

impl Jobs {
    pub fn running(&self) -> Option<&Job> {
        self.all.iter().find(|j| j.state == "running")
    }

    /// The finished upgrades and rollbacks, for the status's `last_upgrade`.
    pub fn outcomes(&self) -> Vec<(String, LastUpgrade)> {
        self.all
            .iter()
            .filter_map(|j| {
                let outcome = match j.state {
                    "upgraded" => Outcome::Upgraded,
                    "rolled-back" => Outcome::RolledBack,
                    _ => return None,
                };
                let at = j.finished_at.clone()?;
                Some((j.reference.clone(), LastUpgrade { outcome, at, detail: j.message.clone() }))
            })
            .collect()
    }
}

/// Why an upgrade was not started, as the HTTP answer.
pub struct Refused(pub StatusCode, pub String);

/// Checks the request with the registry and starts the job: the path the
/// API and Home Assistant share.
pub async fn start_upgrade(
    s: &Arc<Shared>,
    reference: &str,
    expected: &str,
    source: &'static str,
) -> Result<Job, Refused> {
    check_digest(expected).map_err(|e| Refused(StatusCode::BAD_REQUEST, e))?;
    {
        let mut jobs = s.jobs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(busy) = &jobs.busy {
            let what = jobs
                .running()
                .map(|j| format!(" (job {}: GET /api/v1/upgrades/{})", j.id, j.id))
                .unwrap_or_default();
            return Err(Refused(
                StatusCode::CONFLICT,
                format!("an upgrade of {busy} is running{what}: wait for it to finish"),
            ));
        }
        jobs.busy = Some(crate::core::serve::short(reference));
    }
    let release = || s.jobs.lock().unwrap_or_else(|e| e.into_inner()).busy = None;
    let r = match pinned::precheck(&s.settings, reference, expected).await {
        Ok(r) => r,
        Err(refusal) => {
            release();
            let code = match refusal {
                Refusal::Moved { .. } => StatusCode::PRECONDITION_FAILED,
                Refusal::NotUpgradable(_) => StatusCode::UNPROCESSABLE_ENTITY,
                Refusal::Unreachable(_) => StatusCode::BAD_GATEWAY,
            };
            return Err(Refused(code, refusal.to_string()));
        }
    };
    let job = {
        let mut jobs = s.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.next += 1;
        let job = Job {
            id: jobs.next,
            reference: r.to_string(),
            expected_digest: expected.to_string(),
            source,
            state: "running",
            started_at: crate::output::now_rfc3339(),
            finished_at: None,
            message: None,
        };
        jobs.all.push_back(job.clone());
        while jobs.all.len() > KEPT {
            jobs.all.pop_front();
        }
        job
    };
    s.printer.info(&format!("Upgrading {} to {} (job {}, from {source})…", r.familiar(), expected, job.id));
    // A new look carries `in_progress` to Home Assistant.
    s.refresh.notify_one();
    let (shared, id, digest) = (s.clone(), job.id, expected.to_string());
    let handle = tokio::runtime::Handle::current();
    tokio::spawn(async move {
        let (settings, p, wait) = (shared.settings.clone(), shared.printer, shared.settings.serve.wait);
        // The upgrade may wait for the state lock: on a thread of its own.
        let result = tokio::task::spawn_blocking(move || {
            handle.block_on(pinned::upgrade(&settings, &r, &digest, wait, &p))
        })
        .await;
        let (state, message) = match result {
            Ok(Ok(pinned::Outcome::Upgraded(note))) => ("upgraded", note),
            Ok(Ok(pinned::Outcome::RolledBack(why))) => ("rolled-back", Some(why)),
            Ok(Ok(pinned::Outcome::NotUpgraded(why))) => ("not-upgraded", Some(why)),
            Ok(Err(e)) => ("failed", Some(e.to_string())),
            Err(e) => ("failed", Some(format!("the upgrade stopped: {e}"))),
        };
        {
            let mut jobs = shared.jobs.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(j) = jobs.all.iter_mut().find(|j| j.id == id) {
                j.state = state;
                j.finished_at = Some(crate::output::now_rfc3339());
                j.message = message.clone();
            }
            jobs.busy = None;
        }
        shared
            .printer
            .info(&format!("Job {id}: {state}{}", message.map(|m| format!(": {m}")).unwrap_or_default()));
        shared.refresh.notify_one();
        shared.bump();
    });
    Ok(job)
}

/// Waits for a running upgrade to end (on stop: never leave one half done).
pub async fn wait_for_job(s: &Arc<Shared>) {
    let mut said = false;
    while s.jobs.lock().unwrap_or_else(|e| e.into_inner()).busy.is_some() {
        if !said {
            s.printer.info("Waiting for the running upgrade to finish…");
            said = true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The body as JSON of type T, or the one-line answer to what is wrong.
fn parse<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    shape: &str,
) -> Result<T, Refused> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {BODY_LIMIT} bytes: send {shape} only"),
            )
        } else {
            Refused(StatusCode::BAD_REQUEST, format!("cannot read the body: send {shape}"))
        }
    })?;
    serde_json::from_slice(&body).map_err(|e| {
        let detail = crate::core::serve::short(&e.to_string());
        Refused(StatusCode::BAD_REQUEST, format!("the body is not {shape} ({detail})"))
    })
}

fn job_response(code: StatusCode, job: &Job) -> Response {
    let location = format!("/api/v1/upgrades/{}", job.id);
    (code, [(header::LOCATION, location)], axum::Json(job)).into_response()
}

pub async fn upgrade(State(s): State<Arc<Shared>>, body: Result<Bytes, BytesRejection>) -> Response {
    let req: UpgradeRequest =
        match parse(body, "a JSON object {\"reference\": TAG, \"expected_digest\": DIGEST}") {
            Ok(r) => r,
            Err(Refused(code, why)) => return error(code, &why),
        };
    match start_upgrade(&s, &req.reference, &req.expected_digest, "api").await {
        Ok(job) => job_response(StatusCode::ACCEPTED, &job),
        Err(Refused(code, why)) => error(code, &why),
    }
}

pub async fn job(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::BAD_REQUEST, "a job id is a number, as POST /api/v1/upgrades answered");
    };
    let jobs = s.jobs.lock().unwrap_or_else(|e| e.into_inner());
    match jobs.all.iter().find(|j| j.id == id) {
        Some(j) => job_response(StatusCode::OK, j),
        None => error(StatusCode::NOT_FOUND, &format!("no job {id} (the server keeps the last {KEPT})")),
    }
}

pub async fn list_jobs(State(s): State<Arc<Shared>>) -> Response {
    let jobs = s.jobs.lock().unwrap_or_else(|e| e.into_inner());
    axum::Json(jobs.all.iter().rev().cloned().collect::<Vec<_>>()).into_response()
}

/// Skip, hold or unhold: the service runs on a thread of its own (it may
/// wait a few seconds for the state lock).
async fn mark(
    s: Arc<Shared>,
    body: Result<Bytes, BytesRejection>,
    what: fn(&crate::settings::Settings, &str) -> crate::error::Result<String>,
) -> Response {
    let req: TagRequest = match parse(body, "a JSON object {\"reference\": TAG}") {
        Ok(r) => r,
        Err(Refused(code, why)) => return error(code, &why),
    };
    let settings = s.settings.clone();
    let result = tokio::task::spawn_blocking(move || what(&settings, &req.reference)).await;
    answer(&s, result)
}

/// The response to a mark: its message, or the error as one line.
fn answer(
    s: &Shared,
    result: std::result::Result<crate::error::Result<String>, tokio::task::JoinError>,
) -> Response {
    match result {
        Ok(Ok(message)) => {
            s.refresh.notify_one();
            axum::Json(serde_json::json!({ "message": message })).into_response()
        }
        Ok(Err(crate::error::Error::Locked { .. })) => {
            error(StatusCode::CONFLICT, "another freshen is changing the state: try again when it is done")
        }
        Ok(Err(e @ (crate::error::Error::Usage(_) | crate::error::Error::BadReference { .. }))) => {
            error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string())
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("the action stopped: {e}")),
    }
}

/// A skip may ask the registry for a newer tag's digest: it runs on the
/// runtime, not as a blocking mark.
pub async fn skip(State(s): State<Arc<Shared>>, body: Result<Bytes, BytesRejection>) -> Response {
    let req: TagRequest = match parse(body, "a JSON object {\"reference\": TAG}") {
        Ok(r) => r,
        Err(Refused(code, why)) => return error(code, &why),
    };
    let settings = s.settings.clone();
    let result =
        tokio::spawn(async move { crate::services::marks::skip(&settings, &req.reference).await }).await;
    answer(&s, result)
}

pub async fn hold(State(s): State<Arc<Shared>>, body: Result<Bytes, BytesRejection>) -> Response {
    mark(s, body, crate::services::marks::hold).await
}

pub async fn unhold(State(s): State<Arc<Shared>>, body: Result<Bytes, BytesRejection>) -> Response {
    mark(s, body, crate::services::marks::unhold).await
}
