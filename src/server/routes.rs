//! The routes, the token check in front of all of them, the reading
//! endpoints, and the one-line answers to bad requests (unknown path 404,
//! wrong method 405, a request that takes too long 408).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::{actions, error, Shared, BODY_LIMIT};
use crate::core::serve::{Access, Need};

/// A request (headers and body) must be answered within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status))
        .route("/api/v3/json", get(cup))
        .route("/api/containers", get(wud))
        .route("/api/v1/upgrades", post(actions::upgrade).get(actions::list_jobs))
        .route("/api/v1/upgrades/{id}", get(actions::job))
        .route("/api/v1/skips", post(actions::skip))
        .route("/api/v1/holds", post(actions::hold))
        .route("/api/v1/unholds", post(actions::unhold))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(shared.clone(), authorize))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(shared)
}

/// What a path needs: nothing for the probe, the apply token for an
/// action, the read token (if one is set) for everything else.
fn need(method: &Method, path: &str) -> Need {
    const ACTIONS: &[&str] = &["/api/v1/upgrades", "/api/v1/skips", "/api/v1/holds", "/api/v1/unholds"];
    if path == "/healthz" {
        Need::Nothing
    } else if method == Method::POST && ACTIONS.contains(&path) {
        Need::Apply
    } else {
        Need::Read
    }
}

async fn authorize(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match s.tokens.decide(need(req.method(), req.uri().path()), authorization) {
        Access::Allowed => {
            let mut res = next.run(req).await;
            // Nothing here may be framed or cached by a proxy for others.
            let h = res.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            res
        }
        Access::Unauthorized(why) => {
            let mut res = error(StatusCode::UNAUTHORIZED, why);
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            res
        }
        Access::Forbidden(why) => error(StatusCode::FORBIDDEN, why),
    }
}

async fn not_found(req: Request) -> Response {
    let path = crate::core::serve::short(req.uri().path());
    error(
        StatusCode::NOT_FOUND,
        &format!("no such page: {path} (try /, /api/v1/status, /api/v3/json, /api/containers or /metrics)"),
    )
}

async fn wrong_method(req: Request) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("{} is not allowed on {}", req.method(), crate::core::serve::short(req.uri().path())),
    )
}

fn json(body: axum::body::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn status(State(s): State<Arc<Shared>>) -> Response {
    json(s.views().status.clone())
}

async fn cup(State(s): State<Arc<Shared>>) -> Response {
    json(s.views().cup.clone())
}

async fn wud(State(s): State<Arc<Shared>>) -> Response {
    json(s.views().wud.clone())
}

async fn page(State(s): State<Arc<Shared>>, uri: axum::http::Uri) -> Response {
    // `?updates=only`: the filter for browsers without script.
    let only = uri.query().is_some_and(|q| q.split('&').any(|kv| kv == "updates=only"));
    let views = s.views();
    let html = if only { views.page_updates.clone() } else { views.page.clone() };
    let csp =
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; \
               img-src 'self'; form-action 'self'; base-uri 'none'";
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CONTENT_SECURITY_POLICY, csp)], html)
        .into_response()
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    // The state file only, as `freshen metrics`: milliseconds.
    match crate::services::status::metrics_text(&s.settings, &[]) {
        Ok(text) => {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    }
}
