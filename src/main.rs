//! freshen: apt for container images. `main` only parses the command line
//! and hands over to `run`.

mod checker;
mod cli;
mod commands;
mod docker;
mod error;
mod reference;
mod registry;
mod render;
mod report;
mod run;
mod settings;
mod state;
mod tagcache;
mod tagcheck;
mod verdict;
mod versions;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // rustls needs one process-wide crypto provider; ring keeps the build free of C toolchains beyond cc.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    std::process::ExitCode::from(run::run(cli))
}
