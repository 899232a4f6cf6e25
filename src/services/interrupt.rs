//! SIGINT, SIGTERM and SIGHUP as events between steps, dpkg's way: while a
//! workflow is in a critical section (a [`Guard`] is alive: containers are
//! being stopped, parked, created, started, gated or put back), a signal is
//! noted and the workflow finishes or undoes the step under way at its next
//! safe point, then the process exits 128 + the signal's number. Outside a
//! critical section a signal ends the process at once, as it would without
//! freshen's handler: nothing is half done there (state files are written
//! atomically, pulls and checks change nothing until they land).
//!
//! A second signal during the wind-down changes nothing but a line on
//! stderr: putting things back is the one thing that must not be cut short.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// The signals a person or a service manager sends to stop a program.
const HANDLED: [(SignalKind, i32, &str); 3] = [
    (SignalKind::interrupt(), 2, "SIGINT"),
    (SignalKind::terminate(), 15, "SIGTERM"),
    (SignalKind::hangup(), 1, "SIGHUP"),
];

struct Shared {
    /// The first signal received (its number), 0 before any.
    received: watch::Sender<i32>,
    /// Critical sections alive.
    guards: AtomicUsize,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| Shared { received: watch::channel(0).0, guards: AtomicUsize::new(0) })
}

/// `FRESHEN_TEST_PAUSE`: the step where a run stops to let a test send
/// its signal at a known point (see [`checkpoint`]).
static PAUSE_AT: OnceLock<Option<String>> = OnceLock::new();

/// Whether a signal outside a critical section ends the process.
static EXIT_WHEN_IDLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Takes over SIGINT, SIGTERM and SIGHUP for the rest of the process. Call
/// once, inside the runtime, before anything changes the engine.
/// `pause_at` is `FRESHEN_TEST_PAUSE`, read by the settings.
///
/// `exit_when_idle` false is for a command that stops itself on a signal
/// (`serve`, which finishes its requests and waits for its upgrade job):
/// outside a critical section the signal is then left to it.
pub fn install(pause_at: Option<String>, exit_when_idle: bool) {
    let _ = PAUSE_AT.set(pause_at);
    EXIT_WHEN_IDLE.store(exit_when_idle, Ordering::SeqCst);
    for (kind, number, name) in HANDLED {
        let Ok(mut stream) = signal(kind) else { continue };
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                received(number, name);
            }
        });
    }
}

fn received(number: i32, name: &str) {
    let s = shared();
    if s.guards.load(Ordering::SeqCst) == 0 {
        if !EXIT_WHEN_IDLE.load(Ordering::SeqCst) {
            return;
        }
        // Nothing is in flight: stop now, as the default action would.
        eprintln!();
        std::process::exit(128 + number);
    }
    let first = *s.received.borrow() == 0;
    if first {
        s.received.send_replace(number);
        eprintln!(
            "\nfreshen: {name} received: finishing the step under way and putting back what is in \
             flight before exiting; please wait."
        );
    } else {
        eprintln!("freshen: still putting things back ({name} again); please wait.");
    }
}

/// A critical section: while it lives, a signal is an event for the
/// workflow to act on, not the end of the process.
#[must_use = "the section ends when the guard is dropped"]
pub struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        shared().guards.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Enters a critical section (they nest).
pub fn guard() -> Guard {
    shared().guards.fetch_add(1, Ordering::SeqCst);
    Guard(())
}

/// The signal received during a critical section, if any: the workflow
/// starts nothing new and winds down.
pub fn requested() -> Option<i32> {
    match *shared().received.borrow() {
        0 => None,
        n => Some(n),
    }
}

/// Resolves once a signal was received during a critical section: the
/// other arm of a `select!` around a wait that may be cut short (a pull,
/// the health gate), never around a step that changes the engine.
pub async fn wait() {
    let mut rx = shared().received.subscribe();
    // The sender lives in a static: it is never dropped.
    let _ = rx.wait_for(|n| *n != 0).await;
}

/// A named point between two steps of a workflow (`pulled`, `stopped`,
/// `created`, `gating`, `retiring`). With `FRESHEN_TEST_PAUSE` naming it,
/// the run says so on stderr and waits there (for a signal, or a minute),
/// so that the tests of interrupted runs signal it at exactly that step
/// instead of guessing from the outside. Costs nothing otherwise.
///
/// `STEP:FILE` also goes on once FILE exists: a test that changes the host
/// at that point (a container created between a plan and its removal)
/// lets the run carry on instead of stopping it.
pub async fn checkpoint(step: &str) {
    let Some(Some(at)) = PAUSE_AT.get() else { return };
    let (at, resume) = match at.split_once(':') {
        Some((at, file)) => (at, Some(std::path::PathBuf::from(file))),
        None => (at.as_str(), None),
    };
    if at != step || requested().is_some() {
        return;
    }
    eprintln!("freshen: paused at {step} (FRESHEN_TEST_PAUSE)");
    let resumed = async {
        match resume {
            Some(file) => {
                while !file.exists() {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = wait() => {}
        () = resumed => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
    }
}

/// What an interrupted command says and how it exits.
pub fn describe(number: i32) -> &'static str {
    match number {
        2 => "interrupted (SIGINT)",
        15 => "terminated (SIGTERM)",
        1 => "hung up (SIGHUP)",
        _ => "stopped by a signal",
    }
}
