//! The JSON report of `upgrade --format json` and `autoremove --format
//! json` (schema in docs/json.md). Fields are only ever added
//! within a schema version.

use serde::Serialize;

pub const REPORT_SCHEMA: u32 = 1;

#[derive(Debug, Default, Serialize)]
pub struct ChangeReport {
    pub schema_version: u32,
    pub dry_run: bool,
    pub upgraded: Vec<Upgraded>,
    pub failed: Vec<Failed>,
    pub kept_back: Vec<KeptBack>,
    pub recreated: Vec<Recreated>,
    pub rolled_back: Vec<RolledBack>,
    pub not_recreated: Vec<NotRecreated>,
    pub retired: Vec<Retired>,
    pub kept: Vec<Kept>,
    /// Tags a pre-upgrade hook deferred (exit 75): nothing changed, the
    /// next upgrade tries again.
    pub deferred: Vec<Deferred>,
    /// The hooks that ran (and, in a dry run or an empty plan, those that
    /// would run, with `exit_status` and `decision` null).
    pub hooks: Vec<HookReport>,
    /// `autoremove` with a budget only: the images evicted by use.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evicted: Vec<Evicted>,
    /// `autoremove` with a budget only: the store before and after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheSummary>,
}

#[derive(Debug, Serialize)]
pub struct Deferred {
    pub reference: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct HookReport {
    pub container: String,
    pub reference: String,
    /// `pre-upgrade`, `post-upgrade`, `pre-rollback`, `post-rollback`.
    pub phase: &'static str,
    /// `container` or `host`.
    pub runs_in: &'static str,
    /// Null when it timed out or could not run.
    pub exit_status: Option<i64>,
    /// `exited 0`, `exited 75 (defer)`, `timed out`, `could not run: …`.
    pub result: Option<String>,
    /// `go-on`, `defer`, `abort`, `roll-back`, `report`.
    pub decision: Option<&'static str>,
    /// Its last lines of output (at most 10).
    pub output: Vec<String>,
    pub seconds: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Evicted {
    pub image_id: String,
    pub name: String,
    /// `unused` (past `--unused-for`) or `budget` (least recently used).
    pub why: &'static str,
    /// RFC 3339.
    pub last_used: Option<String>,
    pub evidence: String,
    /// Events were lost after the last use (the daemon restarted).
    pub events_lost: bool,
    /// Unique bytes this removal frees after the ones before it.
    pub frees_bytes: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct CacheSummary {
    pub budget_bytes: Option<u64>,
    pub min_free_bytes: Option<u64>,
    pub unused_for_seconds: Option<i64>,
    /// Unique bytes of all images (shared layers once).
    pub images_bytes_before: u64,
    pub images_bytes_after: u64,
    pub data_root: Option<String>,
    /// Free bytes on the data root's filesystem: before, as planned, and
    /// as measured after the run (null in a dry run).
    pub free_bytes_before: Option<u64>,
    pub free_bytes_planned: Option<u64>,
    pub free_bytes_after: Option<u64>,
    /// The engine's `/system/df` `LayersSize` before and after.
    pub engine_layers_bytes_before: Option<u64>,
    pub engine_layers_bytes_after: Option<u64>,
    pub build_cache_bytes: Option<u64>,
    pub build_cache_reclaimable_bytes: Option<u64>,
    /// Why the budget cannot be met; null when it is.
    pub unmet: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Upgraded {
    pub reference: String,
    pub from_image_id: String,
    pub from_digest: Option<String>,
    pub to_image_id: Option<String>,
    pub to_digest: String,
}

#[derive(Debug, Serialize)]
pub struct Failed {
    pub reference: String,
    pub error: String,
}

#[derive(Debug, Serialize)]
pub struct KeptBack {
    pub reference: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct Recreated {
    pub name: String,
    pub id: Option<String>,
    pub previous_id: String,
    pub reference: String,
    /// `container` (Engine API) or `compose`.
    pub how: &'static str,
    pub compose_project: Option<String>,
    pub compose_service: Option<String>,
    /// From the stop of the old container to the new one passing the gate;
    /// null in a dry run.
    pub downtime_seconds: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct RolledBack {
    pub name: String,
    pub reference: String,
    pub digest: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct NotRecreated {
    pub name: String,
    pub reference: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct Retired {
    pub image_id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct Kept {
    pub image_id: String,
    pub name: String,
    pub reason: String,
}

impl ChangeReport {
    pub fn new(dry_run: bool) -> ChangeReport {
        ChangeReport { schema_version: REPORT_SCHEMA, dry_run, ..ChangeReport::default() }
    }

    pub fn print(&self) {
        let mut text = serde_json::to_string_pretty(self).expect("the report serialises");
        text.push('\n');
        let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    }
}
