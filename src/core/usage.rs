//! When each image was last used, and how freshen knows: the record that
//! lets `autoremove --budget` evict by use instead of by build date. No
//! engine keeps an image's last use (no API version gives it, the events
//! are few and forgotten on a restart), so freshen keeps its own
//! (`usage.json`), per engine and image id, refreshed by every `update`
//! from what the engine can prove: containers of any state, `LastTagTime`,
//! events, freshen's own upgrades. An image with no evidence counts as
//! first seen when freshen first saw it, never as its creation date. Pure
//! data and the merge rule here; `store::usage` reads and writes the file.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::core::image::LocalImage;

pub const USAGE_FILE: &str = "usage.json";
pub const SCHEMA_VERSION: u32 = 1;
/// Gaps kept per engine: enough to explain any image's evidence.
const GAPS_KEPT: usize = 8;

/// The whole file: one record per engine (keyed by how it is reached).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Usage {
    pub schema_version: u32,
    #[serde(default)]
    pub engines: BTreeMap<String, EngineUsage>,
}

impl Usage {
    pub fn new() -> Usage {
        Usage { schema_version: SCHEMA_VERSION, engines: BTreeMap::new() }
    }
}

/// What freshen knows about one engine's images.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EngineUsage {
    /// Unix seconds of the last refresh.
    pub recorded_at: i64,
    /// When the daemon started, as last seen (local engines only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_started: Option<i64>,
    /// Events were read up to this time (the next read starts there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_through: Option<i64>,
    /// Spans whose events are lost: the daemon restarted in between and
    /// keeps its events in memory only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<Gap>,
    /// By image id.
    #[serde(default)]
    pub images: BTreeMap<String, ImageUse>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Gap {
    pub from: i64,
    pub to: i64,
}

/// One image's record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageUse {
    /// Its tags and registry digests when last seen (a change of tags is
    /// what makes the next refresh read its `LastTagTime`).
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub digests: Vec<String>,
    /// Unix seconds when freshen first saw it.
    pub first_seen: i64,
    /// The latest use proven, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<Use>,
}

impl ImageUse {
    /// When it was last used, for the order: the latest evidence, else
    /// when it was first seen.
    pub fn last_use(&self) -> i64 {
        self.last_used.as_ref().map_or(self.first_seen, |u| u.at)
    }

    /// The evidence, in words (`container web (running)`, `first seen`).
    pub fn evidence(&self) -> String {
        self.last_used
            .as_ref()
            .map_or_else(|| "first seen by freshen".to_string(), |u| u.evidence.to_string())
    }
}

/// A use at a time, with its evidence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Use {
    pub at: i64,
    pub evidence: Evidence,
}

/// What proves a use.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// A container of this image runs (the refresh time is the use).
    Running { container: String },
    /// A stopped container's last start, finish or creation.
    Container { container: String, what: String },
    /// The engine's `LastTagTime`: a tag, build or commit (classic store),
    /// any update (containerd store).
    Tagged,
    /// An engine event (`pull`, `tag`, `load`, `import`, `create`, `start`).
    Event { action: String },
    /// freshen's upgrade installed it.
    Upgrade { reference: String },
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Evidence::Running { container } => write!(f, "container {container} running"),
            Evidence::Container { container, what } => write!(f, "container {container} {what}"),
            Evidence::Tagged => write!(f, "tagged or built (LastTagTime)"),
            Evidence::Event { action } => write!(f, "engine event '{action}'"),
            Evidence::Upgrade { reference } => write!(f, "installed by freshen upgrade of {reference}"),
        }
    }
}

/// One piece of evidence the engine (or freshen's state) gave this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub image_id: String,
    pub at: i64,
    pub evidence: Evidence,
}

/// The record after a refresh: images gone from the engine are dropped,
/// new ones are first seen `now`, and each keeps the latest use of its old
/// record and the observations. `daemon_started` later than the last
/// record means events between were lost (`events_kept`: the engine keeps
/// them across restarts, as podman does; then nothing was lost).
pub fn refresh(
    old: Option<&EngineUsage>,
    images: &[LocalImage],
    observations: &[Observation],
    now: i64,
    daemon_started: Option<i64>,
    events_kept: bool,
) -> EngineUsage {
    let mut latest: HashMap<&str, &Observation> = HashMap::new();
    for o in observations {
        let slot = latest.entry(o.image_id.as_str()).or_insert(o);
        if o.at > slot.at {
            *slot = o;
        }
    }
    let mut out = EngineUsage {
        recorded_at: now,
        daemon_started,
        events_through: Some(now),
        gaps: old.map(|o| o.gaps.clone()).unwrap_or_default(),
        images: BTreeMap::new(),
    };
    if let Some(o) = old {
        let restarted = match (o.daemon_started, daemon_started) {
            (Some(before), Some(now_started)) => now_started > before,
            _ => false,
        };
        if restarted && !events_kept {
            out.gaps.push(Gap { from: o.recorded_at, to: daemon_started.unwrap_or(now) });
            let excess = out.gaps.len().saturating_sub(GAPS_KEPT);
            out.gaps.drain(..excess);
        }
    }
    for image in images {
        let before = old.and_then(|o| o.images.get(&image.id));
        let mut record = before.cloned().unwrap_or(ImageUse {
            tags: Vec::new(),
            digests: Vec::new(),
            first_seen: now,
            last_used: None,
        });
        record.tags = image.tags.iter().map(|t| t.to_string()).collect();
        record.digests = image.digests.iter().map(|d| d.to_string()).collect();
        if let Some(o) = latest.get(image.id.as_str()) {
            // Evidence from the future (a skewed clock) counts as now.
            let at = o.at.min(now);
            if record.last_used.as_ref().is_none_or(|u| at >= u.at) {
                record.last_used = Some(Use { at, evidence: o.evidence.clone() });
            }
        }
        out.images.insert(image.id.clone(), record);
    }
    out
}

/// The images whose `LastTagTime` is worth an inspect: new to the record,
/// or with other tags than last time (a tag, build or pull happened).
/// Everything else costs nothing, so a refresh at thousands of images makes
/// no request per image.
pub fn tags_changed<'a>(old: Option<&EngineUsage>, images: &'a [LocalImage]) -> Vec<&'a LocalImage> {
    images
        .iter()
        .filter(|i| !i.tags.is_empty())
        .filter(|i| {
            let Some(record) = old.and_then(|o| o.images.get(&i.id)) else { return true };
            let now: Vec<String> = i.tags.iter().map(|t| t.to_string()).collect();
            record.tags != now
        })
        .collect()
}

/// The gap that hides evidence older than `at`, if any: the latest span of
/// lost events that ended after it.
pub fn gap_after(usage: &EngineUsage, at: i64) -> Option<Gap> {
    usage.gaps.iter().filter(|g| g.to >= at).max_by_key(|g| g.to).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reference::Reference;

    fn image(id: &str, tags: &[&str]) -> LocalImage {
        LocalImage {
            id: id.into(),
            tags: tags.iter().map(|t| Reference::parse(t).unwrap()).collect(),
            digests: Vec::new(),
            created: 1,
            created_ns: None,
            size: 0,
            labels: Default::default(),
        }
    }

    fn obs(id: &str, at: i64, container: &str) -> Observation {
        Observation {
            image_id: id.into(),
            at,
            evidence: Evidence::Container { container: container.into(), what: "finished".into() },
        }
    }

    #[test]
    fn new_images_are_first_seen_now_never_at_their_build_date() {
        let r = refresh(None, &[image("a", &["a:1"])], &[], 1000, None, false);
        let a = &r.images["a"];
        assert_eq!(a.first_seen, 1000);
        assert_eq!(a.last_use(), 1000);
        assert_eq!(a.evidence(), "first seen by freshen");
    }

    #[test]
    fn the_latest_evidence_wins_and_survives_the_next_refresh() {
        let imgs = [image("a", &["a:1"]), image("b", &["b:1"])];
        let r1 = refresh(None, &imgs, &[obs("a", 500, "x"), obs("a", 700, "y")], 1000, None, false);
        assert_eq!(r1.images["a"].last_use(), 700);
        assert_eq!(r1.images["a"].evidence(), "container y finished");
        // Later, the container is gone: the record remembers.
        let r2 = refresh(Some(&r1), &imgs, &[], 2000, None, false);
        assert_eq!(r2.images["a"].last_use(), 700);
        assert_eq!(r2.images["a"].first_seen, 1000);
        // Older evidence does not move it back.
        let r3 = refresh(Some(&r2), &imgs, &[obs("a", 600, "z")], 3000, None, false);
        assert_eq!(r3.images["a"].last_use(), 700);
        // An image gone from the engine leaves the record.
        let r4 = refresh(Some(&r3), &imgs[1..], &[], 4000, None, false);
        assert!(!r4.images.contains_key("a"));
        // Evidence from a clock ahead counts as now.
        let r5 = refresh(Some(&r4), &imgs[1..], &[obs("b", 9999, "w")], 5000, None, false);
        assert_eq!(r5.images["b"].last_use(), 5000);
    }

    #[test]
    fn a_daemon_restart_is_a_gap_unless_the_engine_keeps_its_events() {
        let imgs = [image("a", &["a:1"])];
        let r1 = refresh(None, &imgs, &[], 1000, Some(900), false);
        assert!(r1.gaps.is_empty());
        let same = refresh(Some(&r1), &imgs, &[], 2000, Some(900), false);
        assert!(same.gaps.is_empty());
        let restarted = refresh(Some(&r1), &imgs, &[], 2000, Some(1500), false);
        assert_eq!(restarted.gaps, vec![Gap { from: 1000, to: 1500 }]);
        assert_eq!(gap_after(&restarted, 1000), Some(Gap { from: 1000, to: 1500 }));
        assert_eq!(gap_after(&restarted, 1600), None);
        let podman = refresh(Some(&r1), &imgs, &[], 2000, Some(1500), true);
        assert!(podman.gaps.is_empty());
    }

    #[test]
    fn only_new_or_retagged_images_are_inspected() {
        let imgs = [image("a", &["a:1"]), image("b", &["b:1"]), image("c", &[])];
        let r = refresh(None, &imgs, &[], 1000, None, false);
        assert_eq!(tags_changed(None, &imgs).len(), 2);
        assert!(tags_changed(Some(&r), &imgs).is_empty());
        let retagged = [image("a", &["a:1", "a:2"]), image("b", &["b:1"])];
        let ids: Vec<&str> = tags_changed(Some(&r), &retagged).iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, vec!["a"]);
    }
}
