//! The process's exit statuses, documented in the man pages and `--help`.

use crate::core::monitor::NagiosState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done, and nothing failed.
    Ok,
    /// 1: something failed, or the user answered no.
    Failed,
    /// 2: the command line was wrong (a bad value, a malformed reference).
    CommandLine,
    /// 4: `autoremove --budget`/`--min-free` removed what it could, and the
    /// budget still does not hold (what is left is protected).
    BudgetNotMet,
    /// 100: `check` found images that can be upgraded (dnf's convention).
    Upgradable,
    /// `check --nagios`: the plugin's own statuses, 0 to 3.
    Nagios(NagiosState),
    /// 128 + the signal's number (130 for SIGINT, 143 for SIGTERM, 129 for
    /// SIGHUP): a signal stopped the run after it put back what was in flight.
    Interrupted(i32),
}

impl ExitStatus {
    /// `Failed` when anything failed, else `Ok`.
    pub fn failed_if(failed: bool) -> ExitStatus {
        if failed {
            ExitStatus::Failed
        } else {
            ExitStatus::Ok
        }
    }

    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Failed => 1,
            ExitStatus::CommandLine => 2,
            ExitStatus::BudgetNotMet => 4,
            ExitStatus::Upgradable => 100,
            ExitStatus::Nagios(state) => state as u8,
            ExitStatus::Interrupted(signal) => (128 + signal.clamp(1, 127)) as u8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        assert_eq!(ExitStatus::Ok.code(), 0);
        assert_eq!(ExitStatus::Failed.code(), 1);
        assert_eq!(ExitStatus::Upgradable.code(), 100);
        assert_eq!(ExitStatus::BudgetNotMet.code(), 4);
        assert_eq!(ExitStatus::Nagios(NagiosState::Warning).code(), 1);
        assert_eq!(ExitStatus::Nagios(NagiosState::Unknown).code(), 3);
        assert_eq!(ExitStatus::failed_if(true), ExitStatus::Failed);
        assert_eq!(ExitStatus::failed_if(false), ExitStatus::Ok);
        assert_eq!(ExitStatus::Interrupted(2).code(), 130);
        assert_eq!(ExitStatus::Interrupted(15).code(), 143);
        assert_eq!(ExitStatus::Interrupted(1).code(), 129);
    }
}
