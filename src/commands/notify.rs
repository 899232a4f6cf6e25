//! `freshen notify --test`: one message to every target. The announcing
//! step of `update --notify` lives in `services::announce`.

use futures_util::future::join_all;

use crate::core::exit::ExitStatus;
use crate::error::{Error, Result};
use crate::notify;
use crate::output::Printer;
use crate::services::announce::{no_targets, payload};
use crate::settings::Settings;

/// `freshen notify --test`: one line per target, exit 1 if any failed.
pub async fn test(settings: &Settings, p: &Printer) -> Result<ExitStatus> {
    if settings.notify.is_empty() {
        return Err(Error::Usage(no_targets(settings)));
    }
    let client = notify::client().map_err(Error::Internal)?;
    let message = payload("test", Vec::new());
    let results = join_all(settings.notify.iter().map(|t| notify::send(&client, t, &message))).await;
    let mut code = ExitStatus::Ok;
    for (t, r) in settings.notify.iter().zip(results) {
        match r {
            Ok(()) => p.line(&format!("{}: sent", t.label)),
            Err(e) => {
                code = ExitStatus::Failed;
                p.line(&format!("{}: failed: {e}", t.label));
            }
        }
    }
    Ok(code)
}
