//! Home Assistant's MQTT `update` entity, from freshen's view of a host:
//! one entity per tag, grouped as one device per host; the topics, the
//! discovery message, the state message, and what an install command
//! means. The install payload is the digest the entity offers, so the
//! command carries the version Home Assistant showed and the upgrade is
//! pinned to it. Pure; `services::homeassistant` publishes.

use serde_json::{json, Value};
use sha2::Digest as _;

use crate::core::reference::short_digest;
use crate::core::status::TagView;

/// Where the messages go.
#[derive(Debug, Clone)]
pub struct Topics {
    pub discovery_prefix: String,
    pub topic_prefix: String,
    /// The host, as a topic segment.
    pub node: String,
}

pub const ONLINE: &str = "online";
pub const OFFLINE: &str = "offline";

impl Topics {
    pub fn new(discovery_prefix: &str, topic_prefix: &str, host: &str) -> Topics {
        Topics {
            discovery_prefix: discovery_prefix.to_string(),
            topic_prefix: topic_prefix.to_string(),
            node: segment(host),
        }
    }

    pub fn availability(&self) -> String {
        format!("{}/{}/availability", self.topic_prefix, self.node)
    }

    pub fn discovery(&self, object: &str) -> String {
        format!("{}/update/{}/{object}/config", self.discovery_prefix, self.node)
    }

    pub fn state(&self, object: &str) -> String {
        format!("{}/{}/{object}/state", self.topic_prefix, self.node)
    }

    pub fn command(&self, object: &str) -> String {
        format!("{}/{}/{object}/install", self.topic_prefix, self.node)
    }

    /// Every command topic of this host, for one subscription.
    pub fn command_filter(&self) -> String {
        format!("{}/{}/+/install", self.topic_prefix, self.node)
    }

    /// The object id of a command topic of this host.
    pub fn object_of_command<'t>(&self, topic: &'t str) -> Option<&'t str> {
        let rest = topic.strip_prefix(&format!("{}/{}/", self.topic_prefix, self.node))?;
        rest.strip_suffix("/install").filter(|o| !o.contains('/'))
    }
}

/// A topic segment: letters, digits, `_` and `-` only (MQTT wildcards and
/// separators, and what Home Assistant refuses in ids, become `_`).
fn segment(s: &str) -> String {
    let out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    if out.is_empty() {
        "host".to_string()
    } else {
        out
    }
}

/// A tag's object id: readable, and unique by a short hash of the full
/// reference (two references may read the same once cleaned).
pub fn object_id(reference: &str) -> String {
    let hash = hex::encode(&sha2::Sha256::digest(reference.as_bytes())[..4]);
    let name: String = segment(reference.rsplit('/').next().unwrap_or(reference)).chars().take(40).collect();
    format!("{name}_{hash}")
}

/// The digest an install of this tag would bring: the registry's, while
/// an update is offered.
pub fn offered_digest(v: &TagView) -> Option<String> {
    v.offered().then(|| v.row.remote_digest.clone()).flatten()
}

/// The discovery message of one tag. With `install`, a command topic (and
/// so an Install button) whose payload is the offered digest.
pub fn discovery(topics: &Topics, host: &str, v: &TagView, install: bool) -> Value {
    let reference = v.row.reference.to_string();
    let object = object_id(&reference);
    let mut config = json!({
        "name": v.row.reference.familiar(),
        "unique_id": format!("freshen_{}_{object}", topics.node),
        "object_id": format!("freshen_{}_{object}", topics.node),
        "state_topic": topics.state(&object),
        "availability_topic": topics.availability(),
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "device_class": "firmware",
        "device": {
            "identifiers": [format!("freshen_{}", topics.node)],
            "name": format!("freshen on {host}"),
            "manufacturer": "freshen",
        },
    });
    if install {
        config["command_topic"] = json!(topics.command(&object));
        config["payload_install"] = json!(offered_digest(v).unwrap_or_default());
    }
    config
}

/// The state message of one tag. `in_progress` while the server upgrades it.
pub fn state(v: &TagView, in_progress: bool) -> Value {
    let r = v.row;
    let digest_name = |d: &Option<String>| d.as_deref().map(|d| format!("sha256:{}", short_digest(d)));
    let installed = r
        .version
        .current
        .clone()
        .or_else(|| digest_name(&r.local_digest))
        .unwrap_or_else(|| format!("sha256:{}", short_digest(&r.image_id)));
    let latest = if v.offered() {
        match (r.candidate_version(), &r.version.current) {
            (Some(new), Some(old)) if new != old => new.to_string(),
            _ => digest_name(&r.remote_digest).unwrap_or_else(|| installed.clone()),
        }
    } else {
        installed.clone()
    };
    let summary = if v.offered() {
        format!(
            "{} can be upgraded ({})",
            r.reference.familiar(),
            r.update_level().map_or("digest", |l| l.as_str())
        )
    } else if r.held {
        "held".to_string()
    } else if r.skipped.is_some() {
        "the offered version is skipped".to_string()
    } else {
        r.status.as_str().to_string()
    };
    let mut state = json!({
        "installed_version": installed,
        "latest_version": latest,
        "title": r.reference.familiar(),
        "release_summary": summary,
        "in_progress": in_progress,
    });
    if let Some(url) = &r.version.release_notes {
        state["release_url"] = json!(url);
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reference::Reference;
    use crate::core::report::{Row, VersionView};
    use crate::core::verdict::Status;

    fn row(status: Status) -> Row {
        Row {
            reference: Reference::parse("127.0.0.1:5000/shop/web:1.2").unwrap(),
            status,
            image_id: format!("sha256:{}", "1".repeat(64)),
            local_digest: Some(format!("sha256:{}", "2".repeat(64))),
            remote_digest: Some(format!("sha256:{}", "3".repeat(64))),
            checked_at: None,
            error: None,
            created: 0,
            size: 0,
            held: false,
            version: VersionView { current: Some("1.2".into()), ..VersionView::default() },
            cooldown: None,
            skipped: None,
            stale: None,
            deferred: None,
        }
    }

    #[test]
    fn an_offered_update_gets_an_install_button_pinned_to_its_digest() {
        let r = row(Status::Upgradable);
        let v = TagView { row: &r, containers: vec![], last_upgrade: None };
        let t = Topics::new("homeassistant", "freshen", "box.lan");
        let d = discovery(&t, "box.lan", &v, true);
        let object = object_id("127.0.0.1:5000/shop/web:1.2");
        assert_eq!(d["payload_install"], format!("sha256:{}", "3".repeat(64)));
        assert_eq!(d["command_topic"], format!("freshen/box_lan/{object}/install"));
        assert_eq!(t.object_of_command(d["command_topic"].as_str().unwrap()), Some(object.as_str()));
        assert_eq!(t.discovery(&object), format!("homeassistant/update/box_lan/{object}/config"));
        assert!(discovery(&t, "box.lan", &v, false).get("command_topic").is_none());
        let s = state(&v, true);
        assert_eq!(s["installed_version"], "1.2");
        assert_eq!(s["latest_version"], "sha256:333333333333");
        assert_eq!(s["in_progress"], true);
    }

    #[test]
    fn a_held_tag_shows_no_update() {
        let mut r = row(Status::Upgradable);
        r.held = true;
        let v = TagView { row: &r, containers: vec![], last_upgrade: None };
        let s = state(&v, false);
        assert_eq!(s["installed_version"], s["latest_version"]);
        assert_eq!(discovery(&Topics::new("h", "f", "x"), "x", &v, true)["payload_install"], "");
    }

    #[test]
    fn ids_are_topic_safe_and_distinct() {
        let a = object_id("docker.io/library/nginx:1");
        let b = object_id("ghcr.io/library/nginx:1");
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "{a}");
        assert_eq!(Topics::new("h", "f", "a/b+#").node, "a_b__");
    }
}
