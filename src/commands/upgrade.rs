//! `freshen upgrade`: the arguments become a request for the upgrade
//! service, which plans, asks, pulls, retags and retires.

use crate::cli::UpgradeArgs;
use crate::core::exit::ExitStatus;
use crate::error::Result;
use crate::output::Printer;
use crate::services::upgrade::{self, Request};
use crate::settings::Settings;

pub async fn upgrade(settings: &Settings, args: &UpgradeArgs, p: &Printer) -> Result<ExitStatus> {
    let request = Request {
        patterns: args.patterns.clone(),
        yes: args.change.yes,
        dry_run: args.change.dry_run,
        keep: args.change.keep,
        keep_previous: args.keep_previous,
        tags: args.tags,
        no_recreate: args.recreate.no_recreate,
        wait: std::time::Duration::from_secs(args.recreate.wait),
        json: args.format == crate::cli::SummaryFormat::Json,
        pin: None,
    };
    upgrade::upgrade(settings, &request, p).await
}
