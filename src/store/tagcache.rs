//! `tags.json`: listings and registry-image facts cached between updates.
//! Only a cache: a missing or unreadable file is an empty one.

use std::path::Path;

use super::{save_cache_json, Lock};
use crate::core::tagcache::{path, TagCache, FORGET_AFTER_SECS};
use crate::error::Result;

impl TagCache {
    pub fn load(dir: &Path) -> TagCache {
        std::fs::read(path(dir)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Writes the cache atomically, dropping what was not refreshed for a month.
    pub fn save(&mut self, dir: &Path, lock: &Lock, now: i64) -> Result<()> {
        self.repositories.retain(|_, l| now - l.listed_at < FORGET_AFTER_SECS);
        self.images.retain(|_, i| now - i.fetched_at < FORGET_AFTER_SECS);
        save_cache_json(&path(dir), self, "the tag cache", lock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::image::ImageConfig;
    use crate::core::tagcache::{Listing, RemoteImage, FORGET_AFTER_SECS};

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
