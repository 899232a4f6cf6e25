//! A line on the terminal while freshen waits for a registry that has not
//! answered for a while: `Checking 3 images on 2 registries… waiting for
//! registry.example.org (7s)`. Nothing when stderr is not a terminal or
//! with `--quiet`; the line is cleared when the wait ends.

use std::sync::Arc;
use std::time::Duration;

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
                let waits = silent();
                if waits.is_empty() {
                    if !shown.message().is_empty() {
                        shown.set_message("");
                    }
                    continue;
                }
                let what = describe(&waits);
                shown.set_message(if label.is_empty() { what } else { format!("{label} {what}") });
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
}
