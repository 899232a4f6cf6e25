//! freshen: apt for container images. `main` only parses the command line
//! and hands over to `run`.

mod cli;
mod commands;
mod core;
mod engine;
mod error;
mod mqtt;
mod net;
mod notify;
mod output;
mod registry;
mod run;
mod server;
mod services;
mod settings;
mod store;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // rustls needs one process-wide crypto provider; ring keeps the build free of C toolchains beyond cc.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    std::process::ExitCode::from(run::run(cli).code())
}
