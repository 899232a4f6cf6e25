//! `freshen serve`'s server: what every handler shares, the views rendered
//! once per look at the host (so a request costs a copy, not an engine
//! call), the loops that keep them fresh and run the scheduled update, and
//! a clean stop on SIGTERM or SIGINT. Handlers are thin (request → service →
//! response): `routes` for reading, `actions` for changing, `homeassistant`
//! for MQTT, `http` for connections and their limits.

mod actions;
mod homeassistant;
mod http;
mod routes;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use tokio::sync::{watch, Notify};

use crate::core::serve::Tokens;
use crate::core::status::{self, Counts};
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::services::status::Gathered;
use crate::settings::Settings;

pub use actions::Jobs;

/// Everything the handlers and loops share.
pub struct Shared {
    pub settings: Settings,
    pub printer: Printer,
    pub tokens: Tokens,
    views: RwLock<Arc<Rendered>>,
    /// Asks the refresher for a new look at once (after an action).
    refresh: Notify,
    /// Bumped whenever what Home Assistant sees may have changed.
    changed: watch::Sender<u64>,
    jobs: Mutex<Jobs>,
    /// The last scheduled update's failure, if it failed as a whole.
    update_error: Mutex<Option<String>>,
}

/// One look at the host, rendered.
pub struct Rendered {
    pub status: Bytes,
    pub cup: Bytes,
    pub wud: Bytes,
    pub page: String,
    pub page_updates: String,
    pub ha: Vec<homeassistant::Entity>,
    /// Made from a look at the host (not the empty start).
    pub gathered: bool,
}

impl Shared {
    fn views(&self) -> Arc<Rendered> {
        self.views.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn bump(&self) {
        self.changed.send_modify(|g| *g += 1);
    }
}

/// How often the refresher looks at the state files' times.
const POLL: Duration = Duration::from_secs(2);
/// The longest a look at the engine is reused (containers come and go
/// without touching freshen's files).
const STALE: Duration = Duration::from_secs(60);

/// Serves until SIGTERM or SIGINT.
pub async fn run(settings: Settings, addr: SocketAddr, printer: Printer) -> Result<()> {
    // Listen for the signals before anything answers: a SIGTERM right
    // after the first answer must stop the server, not kill it.
    use tokio::signal::unix::{signal, SignalKind};
    let listen = |k| signal(k).map_err(|e| Error::Internal(format!("cannot listen for signals: {e}")));
    let (mut term, mut int) = (listen(SignalKind::terminate())?, listen(SignalKind::interrupt())?);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        Error::Usage(format!("cannot listen on {addr}: {e}: pick another address with --listen"))
    })?;
    let tokens = Tokens {
        read: settings.serve.read_token.clone(),
        apply: settings.serve.apply_token.clone(),
        actions: settings.serve.actions,
    };
    let (changed, _) = watch::channel(0u64);
    let shared = Arc::new(Shared {
        tokens,
        printer,
        views: RwLock::new(Arc::new(render(&settings, None, None, &actions::Jobs::default()))),
        refresh: Notify::new(),
        changed,
        jobs: Mutex::new(Jobs::default()),
        update_error: Mutex::new(None),
        settings,
    });
    refresh_now(&shared).await;
    let (stop_tx, stop) = watch::channel(false);
    let refresher = tokio::spawn(refresher(shared.clone(), stop.clone()));
    let updater = tokio::spawn(updater(shared.clone(), stop.clone()));
    let ha = shared
        .settings
        .mqtt
        .clone()
        .map(|m| tokio::spawn(homeassistant::run(shared.clone(), m, stop.clone())));
    printer.info(&format!("freshen serves on http://{addr}/"));
    let server = tokio::spawn(http::serve(listener, routes::router(shared.clone()), stop.clone()));
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    printer.info("Stopping: finishing the requests in flight…");
    let _ = stop_tx.send(true);
    let _ = server.await;
    if let Some(ha) = ha {
        let _ = ha.await;
    }
    refresher.abort();
    updater.abort();
    actions::wait_for_job(&shared).await;
    Ok(())
}

/// The modification times of the files a CLI run changes.
fn fingerprint(dir: &Path) -> Vec<Option<SystemTime>> {
    ["state.json", "holds.json", "skips.json", "tags.json"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).and_then(|m| m.modified()).ok())
        .collect()
}

/// Looks at the host again when freshen's files change, when an action
/// asks, and at least every minute.
async fn refresher(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut seen = fingerprint(&shared.settings.state_dir);
    let mut last = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = shared.refresh.notified() => { last = Instant::now() - STALE; }
            _ = stop.changed() => return,
        }
        let now = fingerprint(&shared.settings.state_dir);
        if now != seen || last.elapsed() >= STALE {
            seen = now;
            last = Instant::now();
            refresh_now(&shared).await;
        }
    }
}

async fn refresh_now(shared: &Arc<Shared>) {
    let gathered = crate::services::status::gather(&shared.settings).await;
    let error = match &gathered {
        Ok(_) => None,
        Err(e) => {
            shared.printer.warn(&format!("cannot read the host's images: {e}"));
            Some(e.to_string())
        }
    };
    let update_error = shared.update_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let error = update_error.or(error);
    let jobs = shared.jobs.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let rendered = match &gathered {
        Ok(g) => render(&shared.settings, Some(g), error.as_deref(), &jobs),
        // The engine is away: keep showing the last look, with the error.
        Err(_) if shared.views().gathered => return,
        Err(_) => render(&shared.settings, None, error.as_deref(), &jobs),
    };
    *shared.views.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(rendered);
    drop(gathered);
    // A look at 2000 tags allocates several times what its views keep;
    // glibc holds freed pages for reuse, so a server that is idle between
    // looks would sit on them: give them back to the system.
    // SAFETY: malloc_trim only releases free memory; no pointer is touched.
    unsafe {
        libc::malloc_trim(0);
    }
    shared.bump();
}

/// Every view of one look.
fn render(settings: &Settings, g: Option<&Gathered>, error: Option<&str>, jobs: &Jobs) -> Rendered {
    let recent = jobs.outcomes();
    let views = g.map(|g| g.views(&recent)).unwrap_or_default();
    let counts: Counts = status::counts(&views);
    let host = g.map(|g| g.host.clone()).unwrap_or_else(crate::services::status::host_name);
    let updated_at = g.and_then(|g| g.state.updated_at.as_deref());
    let failed = g.map(|g| status::last_check_failures(&g.state)).unwrap_or(0);
    let now = output::now_rfc3339();
    let input = output::status::StatusInput {
        host: &host,
        engine: g.and_then(|g| g.engine.as_ref()),
        updated_at,
        failed,
        update_error: error,
        views: &views,
        counts: &counts,
        actions: settings.serve.actions,
        now: &now,
    };
    let json = |v: serde_json::Value| Bytes::from(serde_json::to_vec(&v).unwrap_or_default());
    let page = |updates_only| {
        output::page::render(&output::page::Page {
            host: &host,
            updated_at,
            failed,
            views: &views,
            counts: &counts,
            actions: settings.serve.actions,
            updates_only,
        })
    };
    Rendered {
        status: json(output::status::status_json(&input)),
        cup: json(output::status::cup_json(&views)),
        wud: json(output::status::wud_json(&views, &host)),
        page: page(false),
        page_updates: page(true),
        ha: homeassistant::entities(settings, &host, &views, jobs),
        gathered: g.is_some(),
    }
}

/// Runs `freshen update` (with `--notify` when targets are configured, as
/// the scheduled unit does) on the `[serve]` interval, counted from the
/// last update whoever ran it. The update takes the state lock itself.
async fn updater(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let Some(every) = shared.settings.serve.interval else { return };
    loop {
        let state = crate::core::state::State::load(&shared.settings.state_dir).ok();
        let last = state.and_then(|s| s.updated_at).and_then(|t| crate::core::time::parse_rfc3339(&t));
        let wait = match last {
            Some(at) => {
                let due = at + every.as_secs() as i64;
                Duration::from_secs((due - output::now_unix()).max(0) as u64)
            }
            None => Duration::ZERO,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        let (settings, p) = (shared.settings.clone(), shared.printer);
        let handle = tokio::runtime::Handle::current();
        // The update may wait for the state lock: on a thread of its own,
        // never on one of the runtime's two workers.
        let result = tokio::task::spawn_blocking(move || {
            handle.block_on(async {
                let ran = crate::services::update::run(&settings, &[], &p).await?;
                if !settings.notify.is_empty() {
                    ran.announce(&settings, &p).await?;
                }
                Ok::<_, Error>(ran.result.failed)
            })
        })
        .await;
        let error = match result {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(format!("the update stopped: {e}")),
        };
        if let Some(e) = &error {
            shared.printer.warn(&format!("scheduled update failed: {e}"));
        }
        *shared.update_error.lock().unwrap_or_else(|e| e.into_inner()) = error.clone();
        refresh_now(&shared).await;
        if error.is_some() {
            // Try again after a pause rather than at once.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(300).min(every)) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// Action bodies are a reference and a digest; anything bigger is a mistake.
pub const BODY_LIMIT: usize = 16 * 1024;

/// A JSON error: `{"error": "one line"}`.
pub fn error(status: axum::http::StatusCode, message: &str) -> axum::response::Response {
    let body = serde_json::json!({ "error": message }).to_string();
    let typed = [(axum::http::header::CONTENT_TYPE, "application/json")];
    axum::response::IntoResponse::into_response((status, typed, body))
}
