//! One module per subcommand; each returns the process's exit status.

pub mod generate;
pub mod list;
pub mod policy;
pub mod update;

/// Exit statuses, documented in README.md and `--help`.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_UPGRADABLE: u8 = 100;
