//! The health gate: whether a started container has a health check, what
//! the engine says about it, the verdict at one moment, and the schedule of
//! checks freshen runs where the engine runs none (podman without systemd).

use std::time::Duration;

use serde_json::Value;

use super::create::get;

/// Whether a container has a health check: its own, or its image's (a
/// `NONE` test switches it off).
pub fn has_healthcheck(container: &Value, image: &Value) -> bool {
    let test = |v: &Value| -> Option<bool> {
        let t = get(v, &["Config", "Healthcheck", "Test"]).as_array()?;
        Some(!(t.is_empty() || t[0].as_str() == Some("NONE")))
    };
    test(container).or_else(|| test(image)).unwrap_or(false)
}

/// What the engine says about a started container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    pub running: bool,
    pub restarting: bool,
    pub exit_code: i64,
    pub restart_count: i64,
    /// `starting`, `healthy`, `unhealthy`; None without a health check.
    pub health: Option<String>,
    /// The code of its last exit as the engine's events tell it, for a
    /// container its restart policy started again (inspect then shows the
    /// new run's state, exit code 0). None: not asked, or not known.
    pub last_exit: Option<i64>,
}

impl Observed {
    pub fn from_inspect(v: &Value) -> Observed {
        let s = get(v, &["State"]);
        Observed {
            running: s.get("Running").and_then(Value::as_bool).unwrap_or(false),
            restarting: s.get("Restarting").and_then(Value::as_bool).unwrap_or(false),
            exit_code: s.get("ExitCode").and_then(Value::as_i64).unwrap_or(0),
            restart_count: get(v, &["RestartCount"]).as_i64().unwrap_or(0),
            health: get(s, &["Health", "Status"]).as_str().filter(|h| !h.is_empty()).map(str::to_string),
            last_exit: None,
        }
    }

    /// Whether it exited and its restart policy started it again (or is
    /// about to): the gate fails it, and the message wants `last_exit`.
    pub fn restarted(&self) -> bool {
        self.restart_count > 0 || self.restarting
    }
}

/// Docker's and podman's health check interval when the image sets none.
const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(30);

/// Runs a container's health check on the engine's behalf when the engine
/// does not: podman leaves the schedule to systemd timers, so where there
/// is no systemd nothing ever runs the check and the container stays
/// `starting`. Keeps the container's own schedule (a check one `Interval`
/// after the start, then one per `Interval`), so a check the image runs
/// rarely is not run early; a check the engine ran itself (the last entry
/// of the health log changed) resets the clock, so with working timers
/// the engine's schedule is the only one.
#[derive(Debug, Clone)]
pub struct HealthClock {
    interval: Duration,
    since: Duration,
    last_check: Option<String>,
}

impl HealthClock {
    /// For a container just started, as inspected then; `now` counts from
    /// any fixed origin (the gate's start).
    pub fn new(container: &Value, now: Duration) -> HealthClock {
        let interval = get(container, &["Config", "Healthcheck", "Interval"])
            .as_u64()
            .filter(|ns| *ns > 0)
            .map(Duration::from_nanos)
            .unwrap_or(DEFAULT_HEALTH_INTERVAL);
        HealthClock { interval, since: now, last_check: last_check(container) }
    }

    /// Whether the check is due at `now`, given the container as inspected
    /// then. When it says yes, the caller runs the check and calls [`ran`].
    ///
    /// [`ran`]: HealthClock::ran
    pub fn due(&mut self, container: &Value, now: Duration) -> bool {
        let last = last_check(container);
        if last != self.last_check {
            self.last_check = last;
            self.since = now;
        }
        now.saturating_sub(self.since) >= self.interval
    }

    /// The check was run at `now`; `container` is as inspected after it.
    pub fn ran(&mut self, container: &Value, now: Duration) {
        self.last_check = last_check(container);
        self.since = now;
    }
}

/// When the last health check the engine recorded began.
fn last_check(container: &Value) -> Option<String> {
    let log = get(container, &["State", "Health", "Log"]).as_array()?;
    log.last()?.get("Start")?.as_str().map(str::to_string)
}

/// The health gate's verdict at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Wait,
    Pass,
    Fail(String),
}

/// With a health check the container passes once `healthy`; without one it
/// passes when it has run the whole `wait`. It fails when it exits, restarts,
/// turns `unhealthy`, or is still not healthy when the wait is over.
pub fn gate(o: &Observed, checked: bool, elapsed: Duration, wait: Duration) -> Gate {
    if o.restarted() {
        // While restarting, inspect still holds the exit's code; once
        // running again it holds the new run's 0, which is no exit at all.
        let code = o.last_exit.or(o.restarting.then_some(o.exit_code));
        return Gate::Fail(match code {
            Some(code) => format!("it restarted (exit code {code})"),
            None => "it restarted".into(),
        });
    }
    if !o.running {
        return Gate::Fail(format!("it exited with code {}", o.exit_code));
    }
    match (checked, o.health.as_deref()) {
        (true, Some("healthy")) => Gate::Pass,
        (true, Some("unhealthy")) => Gate::Fail("it is unhealthy".into()),
        (true, _) if elapsed >= wait => Gate::Fail(format!("it was not healthy within {}s", wait.as_secs())),
        (false, _) if elapsed >= wait => Gate::Pass,
        _ => Gate::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gate_verdicts() {
        let s = Duration::from_secs;
        let up = Observed { running: true, ..Default::default() };
        assert_eq!(gate(&up, false, s(1), s(5)), Gate::Wait);
        assert_eq!(gate(&up, false, s(5), s(5)), Gate::Pass);
        let starting = Observed { health: Some("starting".into()), ..up.clone() };
        assert_eq!(gate(&starting, true, s(1), s(5)), Gate::Wait);
        assert_eq!(gate(&starting, true, s(5), s(5)), Gate::Fail("it was not healthy within 5s".into()));
        let healthy = Observed { health: Some("healthy".into()), ..up.clone() };
        assert_eq!(gate(&healthy, true, s(0), s(5)), Gate::Pass);
        let sick = Observed { health: Some("unhealthy".into()), ..up.clone() };
        assert_eq!(gate(&sick, true, s(1), s(5)), Gate::Fail("it is unhealthy".into()));
        let exited = Observed { running: false, exit_code: 3, ..Default::default() };
        assert_eq!(gate(&exited, false, s(0), s(5)), Gate::Fail("it exited with code 3".into()));
        let restarting = Observed { restarting: true, exit_code: 3, restart_count: 1, ..up.clone() };
        assert_eq!(gate(&restarting, false, s(0), s(5)), Gate::Fail("it restarted (exit code 3)".into()));
        // Running again after a restart: inspect says exit code 0, which is
        // the new run's, not the exit's. The events' code, or none.
        let restarted = Observed { restart_count: 1, ..up };
        assert_eq!(gate(&restarted, false, s(0), s(5)), Gate::Fail("it restarted".into()));
        let told = Observed { last_exit: Some(3), ..restarted };
        assert_eq!(gate(&told, false, s(0), s(5)), Gate::Fail("it restarted (exit code 3)".into()));
    }

    #[test]
    fn the_health_clock_keeps_the_containers_schedule() {
        let s = Duration::from_secs;
        let started = json!({"Config": {"Healthcheck": {"Test": ["CMD", "/prog", "ok"], "Interval": 2_000_000_000u64}},
            "State": {"Health": {"Status": "starting", "Log": null}}});
        let mut clock = HealthClock::new(&started, s(0));
        assert!(!clock.due(&started, s(1)), "the first check comes one interval after the start");
        assert!(clock.due(&started, s(2)));
        let checked = |at: &str| {
            let mut v = started.clone();
            v["State"]["Health"]["Log"] = json!([{"Start": "t0"}, {"Start": at}]);
            v
        };
        clock.ran(&checked("t1"), s(2));
        assert!(!clock.due(&checked("t1"), s(3)));
        assert!(clock.due(&checked("t1"), s(4)));
        clock.ran(&checked("t2"), s(4));
        // The engine ran one by itself at 5 s (its timers work): the next
        // is due an interval after that, not after ours.
        assert!(!clock.due(&checked("t3"), s(5)));
        assert!(!clock.due(&checked("t3"), s(6)));
        assert!(clock.due(&checked("t3"), s(7)));
        // A rare check (no interval given: 30 s) is not run early.
        let rare = json!({"Config": {"Healthcheck": {"Test": ["CMD", "/prog", "ok"]}}});
        let mut clock = HealthClock::new(&rare, s(0));
        assert!(!clock.due(&rare, s(29)));
        assert!(clock.due(&rare, s(30)));
    }

    #[test]
    fn healthcheck_from_the_container_or_the_image() {
        let image = || json!({"Config": {"Healthcheck": {"Test": ["CMD", "/prog", "ok"], "Interval": 1_000_000_000}}});
        assert!(has_healthcheck(&json!({}), &image()));
        let off = json!({"Config": {"Healthcheck": {"Test": ["NONE"]}}});
        assert!(!has_healthcheck(&off, &image()));
        assert!(!has_healthcheck(&json!({}), &json!({"Config": {}})));
    }
}
