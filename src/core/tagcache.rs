//! What freshen learnt about versions between runs, in its own file
//! (`tags.json` in the state directory) so the record of verdicts stays
//! small: each repository's tag listing with the time it was listed, and
//! the labels of remote images by digest (a manifest digest names its
//! config for ever, so those never go stale). Written atomically under the
//! state lock; an unreadable file is treated as empty (it is only a cache).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::state::{write_atomic, Lock};
use crate::error::Result;
use crate::registry::tags::ImageConfig;

pub const TAGS_FILE: &str = "tags.json";
/// Entries not refreshed for this long are dropped when the file is written.
const FORGET_AFTER_SECS: i64 = 30 * 86_400;

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

/// `2026-01-02T03:04:05.123456789Z` → `2026-01-02T03:04:05Z`, the form the
/// local side has (the engine reports whole seconds). Left alone if unparsable.
fn whole_seconds(text: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .and_then(|t| t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| text.to_string())
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(TAGS_FILE)
}

impl TagCache {
    pub fn load(dir: &Path) -> TagCache {
        std::fs::read(path(dir)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Writes the cache atomically, dropping what was not refreshed for a month.
    pub fn save(&mut self, dir: &Path, _lock: &Lock, now: i64) -> Result<()> {
        self.repositories.retain(|_, l| now - l.listed_at < FORGET_AFTER_SECS);
        self.images.retain(|_, i| now - i.fetched_at < FORGET_AFTER_SECS);
        let mut json = serde_json::to_vec(self)
            .map_err(|e| crate::error::Error::Usage(format!("cannot encode the tag cache: {e}")))?;
        json.push(b'\n');
        write_atomic(&path(dir), &json)
    }

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
    fn round_trip_freshness_and_forgetting() {
        let dir = tempfile::tempdir().unwrap();
        assert!(TagCache::load(dir.path()).repositories.is_empty());
        std::fs::write(path(dir.path()), "not json").unwrap();
        assert!(TagCache::load(dir.path()).repositories.is_empty(), "a bad cache is empty");
        let lock = Lock::acquire(dir.path(), std::time::Duration::ZERO, |_| {}).unwrap();
        let mut c = TagCache::default();
        c.repositories.insert("r/a".into(), Listing { listed_at: 1000, tags: vec!["1".into()] });
        c.repositories.insert("r/old".into(), Listing { listed_at: 1000 - FORGET_AFTER_SECS, tags: vec![] });
        c.images.insert(
            "sha256:x".into(),
            RemoteImage { version: Some("1.2".into()), fetched_at: 900, ..Default::default() },
        );
        c.save(dir.path(), &lock, 1000).unwrap();
        let back = TagCache::load(dir.path());
        assert_eq!(back.repositories.keys().collect::<Vec<_>>(), vec!["r/a"]);
        assert_eq!(back.images["sha256:x"].version.as_deref(), Some("1.2"));
        assert!(back.fresh("r/a", 1500, 600).is_some());
        assert!(back.fresh("r/a", 1600, 600).is_none());
        assert!(back.fresh("r/a", 1500, 0).is_none(), "ttl 0 lists every time");
        let c = ImageConfig { created: Some("2026-01-02T04:04:05.5+01:00".into()), ..Default::default() };
        assert_eq!(RemoteImage::from_config(&c, 0).created.as_deref(), Some("2026-01-02T03:04:05Z"));
        let l = Listing::new(5, vec!["latest".into(), "16.2".into(), "sha-1a2b3c4".into(), "v1".into()]);
        assert_eq!(l.tags, vec!["16.2", "v1"]);
        // Older files without these keys load.
        let old: TagCache = serde_json::from_str("{}").unwrap();
        assert!(old.images.is_empty());
    }
}
