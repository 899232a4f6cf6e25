//! freshen: apt for container images. `main` only parses the command line
//! and hands over to `run`.

mod cli;
mod commands;
mod core;
mod engine;
mod error;
mod notify;
mod output;
mod registry;
mod run;
mod services;
mod settings;

// Temporary paths from before the move into layer folders.
use crate::core::notified as announce;
use crate::core::{
    holds, monitor, reference, report, retire, schedule, space, state, tagcache, unattended, verdict,
    versions,
};
use engine as docker;
use output as render;
use services::check as checker;
use services::tag_refresh as tagcheck;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // rustls needs one process-wide crypto provider; ring keeps the build free of C toolchains beyond cc.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    std::process::ExitCode::from(run::run(cli))
}
