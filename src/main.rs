//! freshen: apt for container images. `main` only parses the command line
//! and hands over to `run`.

mod announce;
mod checker;
mod cli;
mod commands;
mod docker;
mod error;
mod holds;
mod monitor;
mod notify;
mod reference;
mod registry;
mod render;
mod report;
mod retire;
mod run;
mod schedule;
mod settings;
mod space;
mod state;
mod tagcache;
mod tagcheck;
mod unattended;
mod verdict;
mod versions;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // rustls needs one process-wide crypto provider; ring keeps the build free of C toolchains beyond cc.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    std::process::ExitCode::from(run::run(cli))
}
