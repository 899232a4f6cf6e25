//! What a target receives: the payload document (`schema_version` 1) and
//! its text for people.

use serde::{Deserialize, Serialize};

use crate::core::reference::short_digest;

/// The version of the payload document; fields are only ever added.
pub const PAYLOAD_SCHEMA_VERSION: u32 = 1;

/// What a target receives: the JSON document documented in docs/notifications.md.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Payload {
    pub schema_version: u32,
    /// `updates`, or `test` for `freshen notify --test`.
    pub event: String,
    /// The host name of the machine whose images these are.
    pub host: String,
    /// When the message was made (RFC 3339).
    pub time: String,
    pub updates: Vec<Update>,
    /// `rollback` events: the versions an upgrade took back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollbacks: Vec<Rollback>,
    /// `deferred` events: the tags an upgrade hook asked to wait (exit 75).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<Deferral>,
    /// `budget` events: the image store cannot be kept under its budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetNotice>,
}

/// One tag whose upgrade a pre-upgrade hook deferred: nothing changed, the
/// next upgrade tries again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Deferral {
    pub reference: String,
    pub image: String,
    pub reason: String,
}

/// Why the scheduled run could not keep the image store under `[cache]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BudgetNotice {
    /// What is over and what keeps the rest (the line `autoremove` prints).
    pub reason: String,
    /// Images evicted by this run, and the bytes they freed.
    pub evicted: usize,
    pub freed_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Update {
    /// Fully qualified: `docker.io/library/nginx:latest`.
    pub reference: String,
    /// As `docker images` shows it: `nginx:latest`.
    pub image: String,
    pub tag: Option<String>,
    /// The local image's digest in that repository (its id if it has none).
    pub old_digest: String,
    /// What the registry's tag points at now.
    pub new_digest: String,
    pub image_id: String,
    /// When the registry reported `new_digest`.
    pub checked_at: String,
    /// The local image's version (`org.opencontainers.image.version`, else
    /// the tag when it is a version), if known.
    pub old_version: Option<String>,
    /// The version label of the registry's new image for the tag, if any.
    pub new_version: Option<String>,
    /// A link to what changed in the new version (its release page on
    /// GitHub or GitLab, or the image's `changelog` template), if known.
    #[serde(default)]
    pub release_notes: Option<String>,
    /// True when this update was announced before and `--renotify-after`
    /// says to announce it again.
    pub repeat: bool,
}

/// One tag whose new version did not pass the health gate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Rollback {
    pub reference: String,
    pub image: String,
    /// The digest that was tried and taken back.
    pub digest: String,
    pub reason: String,
    pub containers: Vec<RolledBackContainer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RolledBackContainer {
    pub name: String,
    /// Its last few log lines (empty when the target has `logs = false`).
    pub logs: Vec<String>,
}

impl Payload {
    /// The same message without container log lines (a target's `logs = false`).
    pub fn without_logs(&self) -> Payload {
        let mut p = self.clone();
        for r in &mut p.rollbacks {
            for c in &mut r.containers {
                c.logs.clear();
            }
        }
        p
    }

    /// The one-line title for ntfy-style targets.
    pub fn title(&self) -> String {
        match (self.event.as_str(), self.updates.len()) {
            ("test", _) => format!("freshen on {}: test notification", self.host),
            ("deferred", _) => match self.deferred.len() {
                1 => format!("freshen on {}: 1 upgrade deferred by a hook", self.host),
                n => format!("freshen on {}: {n} upgrades deferred by hooks", self.host),
            },
            ("budget", _) => format!("freshen on {}: the image store is over its budget", self.host),
            ("rollback", _) => match self.rollbacks.len() {
                1 => format!("freshen on {}: 1 upgrade rolled back", self.host),
                n => format!("freshen on {}: {n} upgrades rolled back", self.host),
            },
            (_, 1) => format!("freshen on {}: 1 image update", self.host),
            (_, n) => format!("freshen on {}: {n} image updates", self.host),
        }
    }

    /// The plain-text body for ntfy-style targets: one line per update.
    pub fn text(&self) -> String {
        if self.event == "rollback" {
            let mut s = String::new();
            for r in &self.rollbacks {
                s.push_str(&format!(
                    "{}: the new version ({}) was rolled back: {}\n",
                    r.image,
                    short_digest(&r.digest),
                    r.reason
                ));
                for c in &r.containers {
                    for line in &c.logs {
                        s.push_str(&format!("  {}| {line}\n", c.name));
                    }
                }
            }
            return s;
        }
        if self.event == "deferred" {
            return self
                .deferred
                .iter()
                .map(|d| format!("{}: not upgraded yet, {}\n", d.image, d.reason))
                .collect();
        }
        if let Some(b) = self.budget.as_ref().filter(|_| self.event == "budget") {
            return format!(
                "The image budget cannot be met: {}.\nEvicted {} images this run ({} bytes freed).\n",
                b.reason, b.evicted, b.freed_bytes
            );
        }
        if self.event == "test" {
            return format!(
                "This is a test notification from freshen on {}. Notifications reach this target.\n",
                self.host
            );
        }
        let mut s = String::new();
        for u in &self.updates {
            // Versions say more than digests, when both sides have one.
            let (old, new) = match (&u.old_version, &u.new_version) {
                (Some(o), Some(n)) if o != n => (o.as_str(), n.as_str()),
                _ => (short_digest(&u.old_digest), short_digest(&u.new_digest)),
            };
            s.push_str(&format!(
                "{} can be upgraded: {old} -> {new}{}\n",
                u.image,
                if u.repeat { " (reminder)" } else { "" }
            ));
            if let Some(link) = &u.release_notes {
                s.push_str(&format!("  release notes: {link}\n"));
            }
        }
        s
    }
}

/// The machine's name for payloads: the kernel's host name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "localhost".into())
}
