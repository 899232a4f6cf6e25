//! From parsed arguments to an exit status: resolve settings, start the
//! runtime, dispatch to the subcommand, and print a failure as one line.

use crate::cli::{Cli, Command};
use crate::commands::{self, EXIT_FAILED};
use crate::error::Result;
use crate::render::Printer;
use crate::settings::Settings;

pub fn run(cli: Cli) -> u8 {
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("freshen: {e}");
            EXIT_FAILED
        }
    }
}

fn dispatch(cli: Cli) -> Result<u8> {
    let check_opts = match &cli.command {
        Command::Update(a) => Some(&a.check),
        Command::Check(a) => Some(&a.check),
        _ => None,
    };
    let settings = Settings::resolve(&cli.global, check_opts)?;
    let printer = Printer::new(settings.output);
    if let Command::Generate(args) = &cli.command {
        return commands::generate::generate(args, &printer);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::Usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        match &cli.command {
            Command::Update(a) => commands::update::update(&settings, &a.check, a.format, &printer).await,
            Command::Check(a) => commands::update::check(&settings, &a.check, a.format, &printer).await,
            Command::List(a) => commands::list::list(&settings, a, &printer).await,
            Command::Generate(_) => unreachable!("handled above"),
            Command::Policy(a) => commands::policy::policy(&settings, a, &printer).await,
        }
    })
}
