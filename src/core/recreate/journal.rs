//! The journal's entries: how far each container's recreation got, as
//! names, ids and steps only, and what a later run does about an entry.

use serde::{Deserialize, Serialize};

use super::ComposeService;

/// How far one container's recreation got: written to the journal before
/// each step is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The pre-upgrade hooks run in the old container; nothing is stopped
    /// yet (only the tag points at the new image).
    Hooking,
    /// About to stop the old container.
    Stopping,
    /// About to rename the stopped old container to its parked name.
    Parking,
    /// About to create (and start) the new one; `new_id` is set once created.
    Creating,
    /// The new one runs; the gate is being waited for.
    Gating,
    /// Passed: the old one is to be removed, dependents recreated.
    Passed,
    /// Failed: being rolled back.
    RollingBack,
}

impl Step {
    /// Where the container stood, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Step::Hooking => "its pre-upgrade hook was running",
            Step::Stopping => "the old container was being stopped",
            Step::Parking => "the old container was stopped",
            Step::Creating => "the new container was being created",
            Step::Gating => "the new container was waiting for its health gate",
            Step::Passed => "the new container had passed its health gate",
            Step::RollingBack => "it was being rolled back",
        }
    }
}

/// One container in flight. Names, ids and steps only: never a container's
/// environment, command or other configuration values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub name: String,
    pub old_id: String,
    #[serde(default)]
    pub new_id: Option<String>,
    /// The upgraded tag, and the images it moved between.
    pub reference: String,
    pub old_image: String,
    pub new_image: String,
    pub was_running: bool,
    pub step: Step,
    /// For a Compose service: the project as its labels described it
    /// (names and file paths, to run Compose again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose: Option<ComposeService>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependents: Vec<String>,
    /// The old container's restart policy (`always`, `on-failure:3`, …)
    /// while it is parked with none: a daemon restarted mid-upgrade must
    /// not bring the parked container back to claim the new one's ports.
    /// Put back when the old container comes back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
}

/// A restart policy that brings a stopped container back when the daemon
/// starts (`always`; `unless-stopped` and `on-failure` do not after a stop,
/// but the parked container gets none either way, so nothing depends on
/// the daemon's reading of "stopped by hand").
pub fn restarts(policy: &str) -> bool {
    !matches!(policy, "" | "no")
}

/// `Name` and `MaximumRetryCount` of a container's `HostConfig.RestartPolicy`
/// as one word (`on-failure:3`), and back.
pub fn restart_word(name: &str, max_retries: i64) -> String {
    if name == "on-failure" && max_retries > 0 {
        format!("{name}:{max_retries}")
    } else {
        name.to_string()
    }
}

pub fn restart_parts(word: &str) -> (String, Option<i64>) {
    match word.split_once(':') {
        Some((name, n)) => (name.to_string(), n.parse().ok()),
        None => (word.to_string(), None),
    }
}

/// What a later run does about an entry it finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// The new container passed: remove the parked one (and recreate the
    /// dependents).
    Finish,
    /// Not passed: remove the new container if any, give the old one its
    /// name back, start it if it ran, point the tag back.
    Undo,
}

pub fn repair(entry: &JournalEntry) -> Repair {
    match entry.step {
        Step::Passed => Repair::Finish,
        _ => Repair::Undo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_entries_hold_no_configuration() {
        let e = JournalEntry {
            name: "web".into(),
            old_id: "a".into(),
            new_id: None,
            reference: "reg/app:1".into(),
            old_image: "sha256:1".into(),
            new_image: "sha256:2".into(),
            was_running: true,
            step: Step::Creating,
            compose: None,
            dependents: vec![],
            restart: None,
        };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"name":"web","old_id":"a","new_id":null,"reference":"reg/app:1","old_image":"sha256:1","new_image":"sha256:2","was_running":true,"step":"creating"}"#
        );
        assert_eq!(repair(&e), Repair::Undo);
        assert_eq!(repair(&JournalEntry { step: Step::Passed, ..e }), Repair::Finish);
    }

    #[test]
    fn restart_policies_round_trip_as_one_word() {
        assert_eq!(restart_word("on-failure", 3), "on-failure:3");
        assert_eq!(restart_word("on-failure", 0), "on-failure");
        assert_eq!(restart_word("always", 0), "always");
        assert_eq!(restart_parts("on-failure:3"), ("on-failure".to_string(), Some(3)));
        assert_eq!(restart_parts("unless-stopped"), ("unless-stopped".to_string(), None));
        assert!(restarts("always") && restarts("unless-stopped") && restarts("on-failure:2"));
        assert!(!restarts("no") && !restarts(""));
    }
}
