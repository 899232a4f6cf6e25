//! The journal's entries: how far each container's recreation got, as
//! names, ids and steps only, and what a later run does about an entry.

use serde::{Deserialize, Serialize};

use super::ComposeService;

/// How far one container's recreation got: written to the journal before
/// each step is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
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
        };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"name":"web","old_id":"a","new_id":null,"reference":"reg/app:1","old_image":"sha256:1","new_image":"sha256:2","was_running":true,"step":"creating"}"#
        );
        assert_eq!(repair(&e), Repair::Undo);
        assert_eq!(repair(&JournalEntry { step: Step::Passed, ..e }), Repair::Finish);
    }
}
