//! A line on the terminal while freshen waits for a registry that has not
//! answered for a while: `Checking 3 images on 2 registries… waiting for
//! registry.example.org (7s)`, and while the health gate watches new
//! containers: `Health gate: waiting for web (52s left), db (40s left)`.
//! Nothing when stderr is not a terminal or with `--quiet`; the line is
//! cleared when the wait ends.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a registry may be silent before the line appears.
pub const QUIET_FOR: Duration = Duration::from_secs(2);

/// Registries with requests in flight that have been silent for at least
/// [`QUIET_FOR`], and for how long.
pub type Silent = Arc<dyn Fn() -> Vec<(String, Duration)> + Send + Sync>;

pub struct Waiting {
    bar: Option<ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Waiting {
    /// Starts watching `silent` when `enabled` (a terminal, not quiet).
    pub fn start(enabled: bool, label: String, silent: Silent) -> Waiting {
        Waiting::showing(
            enabled,
            Arc::new(move || {
                let waits = silent();
                match (waits.is_empty(), label.is_empty()) {
                    (true, _) => String::new(),
                    (false, true) => describe(&waits),
                    (false, false) => format!("{label} {}", describe(&waits)),
                }
            }),
        )
    }

    /// Shows what `line` says, four times a second, while it says
    /// something (an empty line clears it).
    fn showing(enabled: bool, line: Arc<dyn Fn() -> String + Send + Sync>) -> Waiting {
        if !enabled {
            return Waiting { bar: None, task: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let shown = bar.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let text = line();
                if text != shown.message() {
                    shown.set_message(text);
                }
            }
        });
        Waiting { bar: Some(bar), task: Some(task) }
    }

    /// Stops and clears the line.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `waiting for a.example (7s), b.example (3s)`: the longest waits first,
/// at most three named.
pub fn describe(waits: &[(String, Duration)]) -> String {
    let mut waits: Vec<&(String, Duration)> = waits.iter().collect();
    waits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut parts: Vec<String> =
        waits.iter().take(3).map(|(host, d)| format!("{host} ({}s)", d.as_secs())).collect();
    if waits.len() > 3 {
        parts.push(format!("and {} more", waits.len() - 3));
    }
    format!("waiting for {}", parts.join(", "))
}

/// `--quiet` for the lines drawn here without a Printer at hand (the
/// health gate's); set once by `Printer::new`.
static QUIET: AtomicBool = AtomicBool::new(false);

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// The containers the health gates wait for, with their deadlines: gates
/// run side by side, and one line names them all.
struct Board {
    waits: BTreeMap<String, Instant>,
    line: Option<Waiting>,
}

static BOARD: Mutex<Board> = Mutex::new(Board { waits: BTreeMap::new(), line: None });

/// A container on the health gate's line while this lives.
pub struct GateWait {
    name: String,
}

/// Puts `name` on the line `Health gate: waiting for …` until `deadline`
/// or until the returned value is dropped. On a terminal only, and not
/// with `--quiet`: a log or a pipe gets nothing.
pub fn gate_waits_for(name: &str, deadline: Instant) -> GateWait {
    let enabled = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !QUIET.load(Ordering::Relaxed);
    let mut board = BOARD.lock().unwrap_or_else(|e| e.into_inner());
    board.waits.insert(name.to_string(), deadline);
    if enabled && board.line.is_none() {
        board.line = Some(Waiting::showing(
            true,
            Arc::new(|| {
                let board = BOARD.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let left: Vec<(String, Duration)> =
                    board.waits.iter().map(|(n, d)| (n.clone(), d.saturating_duration_since(now))).collect();
                describe_gate(&left)
            }),
        ));
    }
    GateWait { name: name.to_string() }
}

impl Drop for GateWait {
    fn drop(&mut self) {
        let line = {
            let mut board = BOARD.lock().unwrap_or_else(|e| e.into_inner());
            board.waits.remove(&self.name);
            if board.waits.is_empty() {
                board.line.take()
            } else {
                None
            }
        };
        // Cleared outside the lock: the line's own task takes it too.
        if let Some(line) = line {
            line.finish();
        }
    }
}

/// `Health gate: waiting for web (52s left), db (40s left)`: the soonest
/// deadlines first, at most three named.
pub fn describe_gate(left: &[(String, Duration)]) -> String {
    if left.is_empty() {
        return String::new();
    }
    let mut left: Vec<&(String, Duration)> = left.iter().collect();
    left.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let mut parts: Vec<String> =
        left.iter().take(3).map(|(name, d)| format!("{name} ({}s left)", d.as_secs())).collect();
    if left.len() > 3 {
        parts.push(format!("and {} more", left.len() - 3));
    }
    format!("Health gate: waiting for {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_longest_waits() {
        let w = |h: &str, s: u64| (h.to_string(), Duration::from_secs(s));
        assert_eq!(describe(&[w("a", 3), w("b", 7)]), "waiting for b (7s), a (3s)");
        assert_eq!(
            describe(&[w("a", 3), w("b", 7), w("c", 4), w("d", 2)]),
            "waiting for b (7s), c (4s), a (3s), and 1 more"
        );
    }

    #[test]
    fn the_gate_line_names_the_containers_and_the_time_left() {
        let w = |h: &str, s: u64| (h.to_string(), Duration::from_secs(s));
        assert_eq!(describe_gate(&[]), "");
        assert_eq!(
            describe_gate(&[w("web", 52), w("db", 40)]),
            "Health gate: waiting for db (40s left), web (52s left)"
        );
        assert_eq!(
            describe_gate(&[w("a", 5), w("b", 6), w("c", 7), w("d", 8), w("e", 9)]),
            "Health gate: waiting for a (5s left), b (6s left), c (7s left), and 2 more"
        );
    }
}
