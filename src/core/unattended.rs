//! Unattended mode, like unattended-upgrades: the `[unattended]` section of
//! the config says whether `update --unattended` may upgrade and retire,
//! and which images it may touch (`allowed` patterns; nothing when empty).
//! This module decides what is allowed; it touches nothing itself.

use crate::core::reference::{Pattern, Reference};
use crate::core::state::Entry;
use crate::core::verdict::Status;

/// The validated `[unattended]` section.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Pull the new image for each allowed upgradable tag.
    pub upgrade: bool,
    /// Remove the images that upgrades replaced and nothing uses.
    pub retire: bool,
    /// Recreate the containers that run what it upgrades.
    pub recreate: bool,
    /// The health gate for those containers, in seconds (None: the default).
    pub wait: Option<u64>,
    /// Keep the image store under the `[cache]` budget (evict by use).
    pub autoremove: bool,
    /// Only tags matching one of these; none means nothing is allowed.
    pub allowed: Vec<Pattern>,
}

/// What an unattended run will do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Upgradable tags the policy allows, fully qualified, sorted.
    pub upgrade: Vec<String>,
    /// Upgradable tags left alone, with the reason, sorted.
    pub kept_back: Vec<(String, String)>,
    /// Whether to retire what the upgrades replaced.
    pub retire: bool,
    /// Whether to recreate the containers of what it upgrades.
    pub recreate: bool,
    /// Their health gate in seconds (None: the default).
    pub wait: Option<u64>,
}

impl Policy {
    pub fn allows(&self, r: &Reference) -> bool {
        self.allowed.iter().any(|p| p.matches(r))
    }

    /// Splits the upgradable entries into what may be upgraded and what is
    /// kept back. `entries` are already restricted to the user's selection.
    pub fn plan(&self, entries: &[&Entry]) -> Plan {
        let mut plan =
            Plan { retire: self.retire, recreate: self.recreate, wait: self.wait, ..Plan::default() };
        for e in entries.iter().filter(|e| e.status == Status::Upgradable) {
            let Ok(r) = Reference::parse(&e.reference) else { continue };
            let reason = if !self.upgrade {
                Some("[unattended] upgrade is off")
            } else if !self.allows(&r) {
                Some("not matched by [unattended] allowed")
            } else {
                None
            };
            match reason {
                None => plan.upgrade.push(e.reference.clone()),
                Some(why) => plan.kept_back.push((e.reference.clone(), why.to_string())),
            }
        }
        plan.upgrade.sort();
        plan.kept_back.sort();
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reference: &str, status: Status) -> Entry {
        Entry {
            reference: reference.into(),
            status,
            image_id: "sha256:1".into(),
            local_digest: None,
            remote_digest: Some("sha256:2".into()),
            checked_at: "2026-01-01T00:00:00Z".into(),
            error: None,
            age: None,
            stale: None,
        }
    }

    fn policy(upgrade: bool, retire: bool, allowed: &[&str]) -> Policy {
        Policy {
            upgrade,
            retire,
            recreate: false,
            wait: None,
            autoremove: false,
            allowed: allowed.iter().map(|p| Pattern::new(p).unwrap()).collect(),
        }
    }

    #[test]
    fn only_allowed_upgradable_tags_are_planned() {
        let entries = [
            entry("docker.io/library/nginx:latest", Status::Upgradable),
            entry("docker.io/library/redis:7", Status::Upgradable),
            entry("ghcr.io/org/app:1", Status::Upgradable),
            entry("ghcr.io/org/db:1", Status::UpToDate),
            entry("docker.io/library/nginx:1.27", Status::Unknown),
        ];
        let entries: Vec<&Entry> = entries.iter().collect();
        let plan = policy(true, true, &["nginx", "ghcr.io/org/*"]).plan(&entries);
        assert_eq!(plan.upgrade, vec!["docker.io/library/nginx:latest", "ghcr.io/org/app:1"]);
        assert_eq!(
            plan.kept_back,
            vec![(
                "docker.io/library/redis:7".to_string(),
                "not matched by [unattended] allowed".to_string()
            )]
        );
        assert!(plan.retire);
    }

    #[test]
    fn nothing_without_upgrade_or_patterns() {
        let e = entry("docker.io/library/nginx:latest", Status::Upgradable);
        let entries = vec![&e];
        let plan = policy(false, false, &["*"]).plan(&entries);
        assert!(plan.upgrade.is_empty());
        assert_eq!(plan.kept_back[0].1, "[unattended] upgrade is off");
        let plan = policy(true, false, &[]).plan(&entries);
        assert!(plan.upgrade.is_empty() && plan.kept_back.len() == 1);
    }
}
