//! What freshen learnt about versions between runs, in its own file
//! (`tags.json` in the state directory) so the record of verdicts stays
//! small: each repository's tag listing with the time it was listed, and
//! the labels of remote images by digest (a manifest digest names its
//! config for ever, so those never go stale). Written atomically under the
//! state lock; an unreadable file is treated as empty (it is only a cache).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::image::ImageConfig;

pub const TAGS_FILE: &str = "tags.json";
/// Entries not refreshed for this long are dropped when the file is written.
pub const FORGET_AFTER_SECS: i64 = 30 * 86_400;

pub const LABEL_VERSION: &str = "org.opencontainers.image.version";
pub const LABEL_REVISION: &str = "org.opencontainers.image.revision";
pub const LABEL_SOURCE: &str = "org.opencontainers.image.source";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TagCache {
    /// `registry/repository` → its tags.
    #[serde(default)]
    pub repositories: BTreeMap<String, Listing>,
    /// Remote manifest (or index) digest → what its config says.
    #[serde(default)]
    pub images: BTreeMap<String, RemoteImage>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Listing {
    /// Seconds since the epoch.
    pub listed_at: i64,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Listing {
    /// Keeps only the tags that are versions: the others never become
    /// candidates, and large repositories list thousands of them.
    pub fn new(listed_at: i64, tags: Vec<String>) -> Listing {
        let tags = tags.into_iter().filter(|t| crate::core::versions::Version::parse(t).is_some()).collect();
        Listing { listed_at, tags }
    }
}

/// The parts of a remote image's config that people read.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RemoteImage {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub revision: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    /// Seconds since the epoch, for forgetting old entries.
    #[serde(default)]
    pub fetched_at: i64,
}

impl RemoteImage {
    pub fn from_config(c: &ImageConfig, now: i64) -> RemoteImage {
        let label = |k: &str| c.labels.get(k).filter(|v| !v.trim().is_empty()).cloned();
        RemoteImage {
            version: label(LABEL_VERSION),
            created: c.created.as_deref().map(whole_seconds),
            revision: label(LABEL_REVISION),
            source: label(LABEL_SOURCE),
            fetched_at: now,
        }
    }
}

/// Whether the config of a tag's new image is worth a request: it is
/// read for its version, revision and source labels and its creation
/// time, and only where those can be shown or decide something. An image
/// whose local version carries none of the labels was built without them,
/// and so, most likely, was its successor: its row shows the new digest.
/// A minimum age needs the creation time; a changelog template needs the
/// version. The config is the costliest request of a check (a blob: on
/// registry 2.8 three times the CPU of a manifest HEAD, on Docker Hub a
/// redirect to another host), so a first update of many label-less images
/// skips it rather than pay for an age nobody asked for.
pub fn labels_worth_reading(local_labels: &BTreeMap<String, String>, min_age: u64, changelog: bool) -> bool {
    min_age > 0
        || changelog
        || [LABEL_VERSION, LABEL_REVISION, LABEL_SOURCE]
            .iter()
            .any(|k| local_labels.get(*k).is_some_and(|v| !v.trim().is_empty()))
}

/// `2026-01-02T03:04:05.123456789Z` → `2026-01-02T03:04:05Z`, the form the
/// local side has (the engine reports whole seconds). Left alone if unparsable.
fn whole_seconds(text: &str) -> String {
    crate::core::time::parse_rfc3339(text)
        .and_then(crate::core::time::format_rfc3339)
        .unwrap_or_else(|| text.to_string())
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(TAGS_FILE)
}

impl TagCache {
    /// A listing younger than `ttl` seconds.
    pub fn fresh(&self, name: &str, now: i64, ttl: u64) -> Option<&Listing> {
        self.repositories.get(name).filter(|l| now - l.listed_at < ttl as i64 && now >= l.listed_at)
    }

    pub fn tags(&self, name: &str) -> Option<&[String]> {
        self.repositories.get(name).map(|l| l.tags.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_creation_time_loses_its_fraction_and_offset() {
        assert_eq!(whole_seconds("2026-01-02T03:04:05.123456789Z"), "2026-01-02T03:04:05Z");
        assert_eq!(whole_seconds("2026-01-02T05:04:05+02:00"), "2026-01-02T03:04:05Z");
        assert_eq!(whole_seconds("yesterday"), "yesterday");
    }

    #[test]
    fn labels_are_read_where_they_can_be_shown_or_decide() {
        let none = BTreeMap::new();
        let other: BTreeMap<String, String> = [("maintainer".to_string(), "x".to_string())].into();
        assert!(!labels_worth_reading(&none, 0, false), "no labels, no minimum age, no changelog");
        assert!(!labels_worth_reading(&other, 0, false), "labels freshen does not read");
        for key in [LABEL_VERSION, LABEL_REVISION, LABEL_SOURCE] {
            let one: BTreeMap<String, String> = [(key.to_string(), "1.2.3".to_string())].into();
            assert!(labels_worth_reading(&one, 0, false), "{key}");
            let blank: BTreeMap<String, String> = [(key.to_string(), " ".to_string())].into();
            assert!(!labels_worth_reading(&blank, 0, false), "blank {key}");
        }
        assert!(labels_worth_reading(&none, 3600, false), "a minimum age needs the creation time");
        assert!(labels_worth_reading(&none, 0, true), "a changelog template needs the version");
    }
}
