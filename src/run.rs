//! From parsed arguments to an exit status: resolve settings, start the
//! runtime, dispatch to the subcommand, and print a failure as one line.

use crate::cli::{Cli, Command};
use crate::commands;
use crate::core::exit::ExitStatus;
use crate::error::Result;
use crate::output::Printer;
use crate::settings::Settings;

pub fn run(cli: Cli) -> ExitStatus {
    // A Nagios plugin must answer with a status line and 3 even when it
    // cannot start (bad config, no daemon).
    let nagios = matches!(&cli.command, Command::Check(a) if a.nagios);
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) if nagios => {
            println!("{}", crate::core::monitor::nagios_failure(&e.to_string()));
            ExitStatus::Nagios(crate::core::monitor::NagiosState::Unknown)
        }
        Err(e) => {
            eprintln!("freshen: {e}");
            if e.is_command_line() {
                ExitStatus::CommandLine
            } else {
                ExitStatus::Failed
            }
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitStatus> {
    let check_opts = match &cli.command {
        Command::Update(a) => Some(&a.check),
        Command::Check(a) => Some(&a.check),
        _ => None,
    };
    let mut settings = Settings::resolve(&cli.global, check_opts)?;
    // Only the commands that may send a notification stop on a bad
    // `[[notify]]` target: `motd`, `hold` or `list` have no use for one.
    if matches!(
        &cli.command,
        Command::Update(_)
            | Command::Check(_)
            | Command::Upgrade(_)
            | Command::Rollback(_)
            | Command::Notify(_)
            | Command::Schedule(_)
    ) {
        settings = settings.notify_targets_ok()?;
    }
    match &cli.command {
        Command::Update(a) => settings = settings.with_notify_options(&a.notify)?,
        Command::Check(a) => settings = settings.with_notify_options(&a.notify)?,
        Command::Upgrade(a) => settings = settings.with_min_age(a.min_age.as_deref())?,
        _ => {}
    }
    let printer = Printer::new(settings.output);
    // A recreation a killed run left half done: the commands that repair it
    // first (update, check, upgrade, rollback, autoremove) say what they
    // did; every other one says what the next of those will do.
    let repairs = matches!(
        &cli.command,
        Command::Update(_)
            | Command::Check(_)
            | Command::Upgrade(_)
            | Command::Rollback(_)
            | Command::Autoremove(_)
    );
    if !repairs && !matches!(&cli.command, Command::Generate(_) | Command::Schedule(_)) {
        for line in crate::services::recreate::pending(&settings.state_dir).unwrap_or_default() {
            printer.warn(&line);
        }
    }
    // Commands that need neither the engine nor the network start no runtime.
    match &cli.command {
        Command::Generate(args) => return commands::generate::generate(args, &printer),
        Command::Motd(args) => return commands::motd::motd(&settings, args, &printer),
        Command::Metrics(args) => return commands::motd::metrics(&settings, args, &printer),
        Command::Schedule(args) => return commands::schedule::schedule(&settings, args, &printer),
        _ => {}
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        // Signals become events that the workflows changing containers act
        // on between steps (see services::interrupt).
        let serving = matches!(&cli.command, Command::Serve(_));
        crate::services::interrupt::install(crate::settings::test_pause(), !serving);
        let status = match &cli.command {
            Command::Update(a) => commands::update::update(&settings, a, &printer).await,
            Command::Check(a) => commands::update::check(&settings, a, &printer).await,
            Command::List(a) => commands::list::list(&settings, a, &printer).await,
            Command::Fleet(a) => commands::fleet::fleet(&settings, a, &printer).await,
            Command::Upgrade(a) => commands::upgrade::upgrade(&settings, a, &printer).await,
            Command::Autoremove(a) => commands::autoremove::autoremove(&settings, a, &printer).await,
            Command::Hold(a) => commands::hold::hold(&settings, &a.images, &printer).await,
            Command::Unhold(a) => commands::hold::unhold(&settings, &a.images, &printer).await,
            Command::Showhold => commands::hold::showhold(&settings, &printer),
            Command::Skip(a) => commands::skip::skip(&settings, &a.images, &printer).await,
            Command::Unskip(a) => commands::skip::unskip(&settings, &a.images, &printer),
            Command::Showskip => commands::skip::showskip(&settings, &printer),
            Command::Rollback(a) => commands::rollback::rollback(&settings, a, &printer).await,
            Command::Notify(_) => commands::notify::test(&settings, &printer).await,
            Command::Generate(_) | Command::Motd(_) | Command::Metrics(_) | Command::Schedule(_) => {
                unreachable!("handled above")
            }
            Command::Policy(a) => commands::policy::policy(&settings, a, &printer).await,
            Command::Serve(a) => commands::serve::serve(&settings, a, &printer).await,
        };
        match crate::services::interrupt::requested() {
            Some(signal) => {
                if let Err(e) = &status {
                    eprintln!("freshen: {e}");
                }
                eprintln!(
                    "freshen: {}; what was in flight was finished or put back.",
                    crate::services::interrupt::describe(signal)
                );
                Ok(ExitStatus::Interrupted(signal))
            }
            None => status,
        }
    })
}
