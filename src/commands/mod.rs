//! One module per subcommand; each returns the process's exit status
//! (`core::exit::ExitStatus`). A command never calls another command: what
//! two of them share lives in `services`.

pub mod autoremove;
pub mod fleet;
pub mod generate;
pub mod hold;
pub mod list;
pub mod motd;
pub mod notify;
pub mod policy;
pub mod rollback;
pub mod schedule;
pub mod serve;
pub mod skip;
pub mod update;
pub mod upgrade;
