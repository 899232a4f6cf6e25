//! The record of the last update (`state.json`): what each local tag's
//! check found, what freshen learnt about each registry, and the versions
//! upgrades replaced. Reading and writing it is `store`'s job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::verdict::Status;

pub const STATE_FILE: &str = "state.json";

/// Where `state.json` lives in a state directory. Here beside its name
/// rather than in `store::state`, so `store::skips` (which migrates what
/// older releases kept in that file) needs nothing from `store::state`,
/// which calls it: no circle.
pub fn state_path(dir: &Path) -> PathBuf {
    dir.join(STATE_FILE)
}
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub schema_version: u32,
    #[serde(default)]
    pub freshen_version: String,
    /// When the last update finished (RFC 3339), None before the first.
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub entries: Vec<Entry>,
    /// What freshen learnt about each registry: the scheme that worked and
    /// the last rate-limit headers. Never credentials or tokens.
    #[serde(default)]
    pub registries: BTreeMap<String, RegistryInfo>,
    /// Versions an upgrade replaced and that may still be on the host: what
    /// `rollback` returns to and `autoremove` retires.
    #[serde(default)]
    pub superseded: Vec<Superseded>,
    // Older releases also wrote `rolled_back` (per tag, a version whose
    // containers failed the health gate): such versions are skips now, and
    // `store` moves the field into `skips.json` (see `RolledBack`).
    /// Every image an update found under a tag with a registry digest, kept
    /// while the image is on the host: an image that has since lost every
    /// name (podman after `docker pull` over its tag) is still known as an
    /// earlier version of that tag.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<Seen>,
    /// Per local tag (fully qualified), the newer version tags `update`
    /// looked at for the minimum age or a skip: by tag, its digest and how
    /// old it is. Kept across runs so a first sighting lasts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tag_ages: BTreeMap<String, BTreeMap<String, crate::core::controls::Age>>,
}

/// One image an update saw under a tag.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Seen {
    /// The tag, fully qualified.
    pub reference: String,
    pub image_id: String,
    /// Its digest in the tag's repository, as the update recorded it.
    pub digest: String,
    /// The first update that saw it there.
    pub at: String,
}

/// A version an upgrade tried and took back, as older releases recorded it
/// in `state.json` (`rolled_back`, keyed by tag). Read only to move it into
/// `skips.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RolledBack {
    pub digest: String,
    pub at: String,
    pub reason: String,
}

/// One version of a tag that an upgrade (or a rollback) replaced.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Superseded {
    pub image_id: String,
    /// The tag it was, fully qualified.
    pub reference: String,
    /// Its digest in the tag's repository, if it had one.
    #[serde(default)]
    pub digest: Option<String>,
    pub replaced_at: String,
    /// The image id the tag points at since.
    pub replaced_by: String,
    /// `upgrade --tags` moved on to a newer tag: the old tag itself is
    /// obsolete, and retiring this version may remove it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tag_moved: bool,
    /// Why this version never ran healthily here: its containers failed the
    /// health gate (and were rolled back), or the upgrade to it was
    /// interrupted before they passed. Such a version is never a rollback
    /// target, never counts toward `--keep`, and is the first to retire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// The verdict for one local tag (or one pinned image) at one check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Fully qualified: `docker.io/library/nginx:latest`.
    pub reference: String,
    pub status: Status,
    /// The local image the check was about.
    pub image_id: String,
    pub local_digest: Option<String>,
    pub remote_digest: Option<String>,
    pub checked_at: String,
    #[serde(default)]
    pub error: Option<String>,
    /// For an upgradable tag: how old the registry's new image is, for the
    /// minimum age (`min_age`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<crate::core::controls::Age>,
    /// When the latest check of this tag failed (`error` says how) while
    /// the verdict above is the one an earlier check found (`checked_at`),
    /// kept as apt keeps its old lists when an index fails to download: an
    /// outage never turns an outdated tag into an unknown one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegistryInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// The registry answered the last update without asking for any
    /// credentials: the next one need not learn its authentication with a
    /// first request alone before sending the others.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
    /// How the registry asked for credentials at the last update, so the
    /// next one sends them (or fetches its tokens) before its first request
    /// instead of learning it from a 401. No secret: the scheme, and for
    /// tokens the token server's public address and service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<KnownAuth>,
}

/// A registry's way of asking for credentials, as its 401 said.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "scheme", rename_all = "lowercase")]
pub enum KnownAuth {
    /// `WWW-Authenticate: Basic`: the credentials go with every request.
    Basic,
    /// `WWW-Authenticate: Bearer realm=…,service=…`: tokens from `realm`.
    Bearer {
        realm: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
}

impl Default for State {
    fn default() -> State {
        State {
            schema_version: SCHEMA_VERSION,
            freshen_version: env!("CARGO_PKG_VERSION").to_string(),
            updated_at: None,
            entries: Vec::new(),
            registries: BTreeMap::new(),
            superseded: Vec::new(),
            seen: Vec::new(),
            tag_ages: BTreeMap::new(),
        }
    }
}

/// The last rate-limit headers a registry sent (Docker Hub's
/// `ratelimit-limit: 100;w=21600`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RateLimit {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub window_seconds: Option<u64>,
}
