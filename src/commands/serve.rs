//! `freshen serve`: checks where to listen (an address beyond loopback
//! needs a read token), then runs the server until SIGTERM or SIGINT.

use crate::cli::ServeArgs;
use crate::core::exit::ExitStatus;
use crate::error::{Error, Result};
use crate::output::Printer;
use crate::settings::Settings;

pub async fn serve(settings: &Settings, args: &ServeArgs, p: &Printer) -> Result<ExitStatus> {
    let listen = args.listen.clone().unwrap_or_else(|| settings.serve.listen.clone());
    let addr =
        crate::core::serve::check_listen(&listen, settings.serve.read_token.is_some()).map_err(|e| {
            if args.listen.is_some() {
                Error::CommandLine(format!("--listen: {e}"))
            } else {
                Error::ConfigValue(format!("[serve] listen: {e}"))
            }
        })?;
    if settings.mqtt.as_ref().is_some_and(|m| m.install) && !settings.serve.actions {
        p.warn("[mqtt] install = true has no effect without [serve] actions = true: no install button is published");
    }
    crate::server::run(settings.clone(), addr, *p).await?;
    Ok(ExitStatus::Ok)
}
