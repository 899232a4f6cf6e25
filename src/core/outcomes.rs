//! What freshen's runs came to, kept across runs (`outcomes.json`) so the
//! metrics can count them: how the checks went (the last one, the last
//! good one, failures in a row) and, per tag, how many upgrades ended in
//! each result and when the last one did. Counters only grow; a counter
//! that starts again from zero (a removed file) is a reset, which
//! Prometheus's `increase()` handles. Pure data and rules here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const OUTCOMES_FILE: &str = "outcomes.json";
pub const SCHEMA_VERSION: u32 = 1;

/// How one tag's upgrade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpgradeResult {
    /// Pulled, and its containers (if any) run the new version.
    Success,
    /// Not upgraded: the pull (or the credentials for it) failed.
    Failed,
    /// Its containers failed the health gate and run the old version again.
    RolledBack,
    /// Offered but kept back by this upgrade (held, skipped, minimum age).
    Deferred,
}

impl UpgradeResult {
    pub const ALL: [UpgradeResult; 4] =
        [UpgradeResult::Success, UpgradeResult::Failed, UpgradeResult::RolledBack, UpgradeResult::Deferred];

    pub fn as_str(self) -> &'static str {
        match self {
            UpgradeResult::Success => "success",
            UpgradeResult::Failed => "failed",
            UpgradeResult::RolledBack => "rolled_back",
            UpgradeResult::Deferred => "deferred",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Outcomes {
    pub schema_version: u32,
    #[serde(default)]
    pub checks: Checks,
    /// Per tag (fully qualified), per result.
    #[serde(default)]
    pub upgrades: BTreeMap<String, BTreeMap<UpgradeResult, Tally>>,
}

/// The checks (`freshen update`, `freshen check`) of this host.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Checks {
    /// Unix seconds of the last check, whatever came of it.
    #[serde(default)]
    pub last_at: Option<i64>,
    /// Whether it asked every registry it had to and got answers.
    #[serde(default)]
    pub last_ok: Option<bool>,
    #[serde(default)]
    pub last_success_at: Option<i64>,
    #[serde(default)]
    pub failures_in_a_row: u64,
    #[serde(default)]
    pub failures: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tally {
    pub count: u64,
    /// Unix seconds of the last one.
    pub last_at: i64,
}

impl Outcomes {
    pub fn new() -> Outcomes {
        Outcomes { schema_version: SCHEMA_VERSION, ..Outcomes::default() }
    }

    pub fn check(&mut self, ok: bool, at: i64) {
        let c = &mut self.checks;
        c.last_at = Some(at);
        c.last_ok = Some(ok);
        if ok {
            c.last_success_at = Some(at);
            c.failures_in_a_row = 0;
        } else {
            c.failures_in_a_row += 1;
            c.failures += 1;
        }
    }

    pub fn upgrade(&mut self, reference: &str, result: UpgradeResult, at: i64) {
        let t = self.upgrades.entry(reference.to_string()).or_default().entry(result).or_default();
        t.count += 1;
        t.last_at = at;
    }

    /// Forgets tags no longer on the host, so the series (and the file)
    /// stay bounded by what is there. A tag that comes back starts from
    /// zero again, which `increase()` reads as a reset.
    pub fn forget_except(&mut self, on_host: impl Fn(&str) -> bool) {
        self.upgrades.retain(|r, _| on_host(r));
    }

    /// The tally of one tag and result; zero when it never happened.
    pub fn tally(&self, reference: &str, result: UpgradeResult) -> Option<Tally> {
        self.upgrades.get(reference).and_then(|m| m.get(&result)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_count_failures_in_a_row() {
        let mut o = Outcomes::new();
        o.check(false, 10);
        o.check(false, 20);
        assert_eq!((o.checks.failures_in_a_row, o.checks.failures, o.checks.last_success_at), (2, 2, None));
        o.check(true, 30);
        o.check(false, 40);
        assert_eq!(o.checks.failures_in_a_row, 1);
        assert_eq!(o.checks.failures, 3);
        assert_eq!(o.checks.last_success_at, Some(30));
        assert_eq!((o.checks.last_at, o.checks.last_ok), (Some(40), Some(false)));
    }

    #[test]
    fn upgrades_tally_per_tag_and_result() {
        let mut o = Outcomes::new();
        o.upgrade("r/a:1", UpgradeResult::RolledBack, 5);
        o.upgrade("r/a:1", UpgradeResult::RolledBack, 7);
        o.upgrade("r/b:1", UpgradeResult::Success, 6);
        assert_eq!(o.tally("r/a:1", UpgradeResult::RolledBack), Some(Tally { count: 2, last_at: 7 }));
        assert_eq!(o.tally("r/a:1", UpgradeResult::Success), None);
        o.forget_except(|r| r == "r/b:1");
        assert!(o.tally("r/a:1", UpgradeResult::RolledBack).is_none());
        let json = serde_json::to_string(&o).unwrap();
        assert!(json.contains("\"success\":{\"count\":1,\"last_at\":6}"), "{json}");
        assert_eq!(serde_json::from_str::<Outcomes>(&json).unwrap(), o);
    }
}
