//! `freshen update` and `freshen check`: ask the registries, record the
//! answers, print the apt summary.

use std::collections::BTreeMap;

use crate::cli::{CheckArgs, CheckOptions, SummaryFormat, UpdateArgs};
use crate::core::exit::ExitStatus;
use crate::core::monitor;
use crate::core::state::Entry;
use crate::core::unattended;
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::services::update::{self as update_service, Ran};
use crate::services::upgrade;
use crate::settings::Settings;

/// How the summary is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Summary {
    Text,
    Json,
    /// Nothing: the caller prints its own line (`check --nagios`).
    Silent,
}

impl From<SummaryFormat> for Summary {
    fn from(f: SummaryFormat) -> Summary {
        match f {
            SummaryFormat::Text => Summary::Text,
            SummaryFormat::Json => Summary::Json,
        }
    }
}

pub async fn update(settings: &Settings, args: &UpdateArgs, p: &Printer) -> Result<ExitStatus> {
    // Refuse before any registry traffic if the policy is missing.
    let policy = match (args.unattended, &settings.unattended) {
        (false, _) => None,
        (true, Some(policy)) => Some(policy),
        (true, None) => return Err(Error::Usage(no_policy(settings))),
    };
    let ran = run_and_summarise(settings, &args.check, args.format.into(), p).await?;
    let mut code = if ran.result.failed > 0 { ExitStatus::Failed } else { ExitStatus::Ok };
    let plan = policy.map(|policy| {
        let selected = monitor::selected(&ran.state, &ran.selection);
        let mut plan = policy.plan(&selected);
        // Skipped versions and images younger than their minimum age stay
        // back, with the reason, as in 'freshen upgrade'.
        let mut kept = Vec::new();
        plan.upgrade.retain(|r| {
            let why = selected
                .iter()
                .find(|e| &e.reference == r)
                .and_then(|e| ran.controls.hold_back(e))
                .map(|h| h.reason(ran.controls.now));
            match why {
                Some(why) => {
                    kept.push((r.clone(), why));
                    false
                }
                None => true,
            }
        });
        plan.kept_back.extend(kept);
        plan.kept_back.sort();
        plan
    });
    if let Some(plan) = &plan {
        log_unattended_plan(plan, args.format, p);
    }
    // --unattended notifies when there is somewhere to notify; only an
    // explicit --notify warns that there is not.
    let notify = args.notify.notify || (args.unattended && !settings.notify.is_empty());
    if notify && !ran.announce(settings, p).await? {
        code = ExitStatus::Failed;
    }
    drop(ran.lock);
    // The upgrade takes the lock itself, re-checks each tag right before it
    // pulls, and keeps held tags back, exactly as 'freshen upgrade -y' does.
    if let Some(plan) = plan.filter(|plan| !plan.upgrade.is_empty()) {
        let request = upgrade::Request {
            patterns: plan.upgrade.clone(),
            yes: true,
            dry_run: false,
            keep: None,
            keep_previous: !plan.retire,
            tags: false,
            no_recreate: !plan.recreate,
            wait: std::time::Duration::from_secs(plan.wait.unwrap_or(crate::cli::DEFAULT_WAIT)),
            json: false,
            pin: None,
        };
        if upgrade::upgrade(settings, &request, p).await? != ExitStatus::Ok {
            code = ExitStatus::Failed;
        }
    }
    // `[unattended] autoremove`: keep the store under the `[cache]` budget,
    // and say so (to the targets too) when it cannot be kept.
    if policy.is_some_and(|policy| policy.autoremove) {
        let request = settings.cache(None, None, None)?;
        if !request.any() {
            p.warn("[unattended] autoremove is on, but [cache] sets no budget, min_free or unused_for: nothing to keep");
        } else {
            let done = crate::services::cache::unattended(settings, &request, p).await?;
            p.info(&format!(
                "unattended: evicted {} images, {} freed",
                done.evicted.len(),
                crate::core::space::human_bytes(done.freed)
            ));
            if let Some(reason) = done.unmet {
                p.warn(&format!("the image budget cannot be met: {reason}"));
                let notice = crate::notify::BudgetNotice {
                    reason,
                    evicted: done.evicted.len(),
                    freed_bytes: done.freed,
                };
                crate::services::announce::budget(settings, notice, p).await;
                if code == ExitStatus::Ok {
                    code = ExitStatus::BudgetNotMet;
                }
            }
        }
    }
    Ok(code)
}

fn no_policy(settings: &Settings) -> String {
    let file =
        settings.config_path.as_ref().map_or("the config file".to_string(), |p| p.display().to_string());
    format!(
        "--unattended needs an [unattended] section in {file} saying what may be done \
         (upgrade = true, retire = true, allowed = [\"PATTERN\", …])"
    )
}

/// What `--unattended` is about to do, where the journal or cron sees it
/// (stderr when stdout is JSON).
fn log_unattended_plan(plan: &unattended::Plan, format: SummaryFormat, p: &Printer) {
    let say = |line: &str| match format {
        SummaryFormat::Json => p.info(line),
        SummaryFormat::Text => p.line(line),
    };
    let name = |r: &str| {
        crate::core::reference::Reference::parse(r).map(|r| r.familiar()).unwrap_or_else(|_| r.into())
    };
    for r in &plan.upgrade {
        say(&format!(
            "Unattended: upgrading {}{}.",
            name(r),
            if plan.retire { " and retiring its old image" } else { "" }
        ));
    }
    for (r, why) in &plan.kept_back {
        say(&format!("Unattended: kept back {} ({why}).", name(r)));
    }
}

/// dnf's convention: 100 when something can be upgraded, 1 when nothing
/// can but a check failed, 0 otherwise. With `--nagios`, one status line
/// and the plugin's exit codes instead.
pub async fn check(settings: &Settings, args: &CheckArgs, p: &Printer) -> Result<ExitStatus> {
    if args.nagios {
        return Ok(nagios(settings, args, p).await);
    }
    let ran = run_and_summarise(settings, &args.check, args.format.into(), p).await?;
    let r = &ran.result;
    let mut code = if r.upgradable > 0 {
        ExitStatus::Upgradable
    } else if r.failed > 0 {
        ExitStatus::Failed
    } else {
        ExitStatus::Ok
    };
    if args.notify.notify && !ran.announce(settings, p).await? {
        code = ExitStatus::Failed;
    }
    Ok(code)
}

async fn nagios(settings: &Settings, args: &CheckArgs, p: &Printer) -> ExitStatus {
    let ran = match run_and_summarise(settings, &args.check, Summary::Silent, p).await {
        Ok(ran) => ran,
        Err(e) => {
            p.line(&monitor::nagios_failure(&e.to_string()));
            return ExitStatus::Nagios(monitor::NagiosState::Unknown);
        }
    };
    let entries = monitor::selected(&ran.state, &ran.selection);
    let upgradable: Vec<String> = entries
        .iter()
        .filter(|e| ran.controls.offered(e))
        .map(|e| {
            crate::core::reference::Reference::parse(&e.reference)
                .map(|r| r.familiar())
                .unwrap_or(e.reference.clone())
        })
        .collect();
    let names: Vec<&str> = upgradable.iter().map(String::as_str).collect();
    let (state, line) = monitor::nagios(
        monitor::counts(&entries, &ran.controls),
        &names,
        args.warning as usize,
        args.critical.map(|n| n as usize),
    );
    p.line(&line);
    if args.notify.notify {
        // A monitoring check reports the images; a failed target is a warning.
        if let Err(e) = ran.announce(settings, p).await {
            p.warn(&e.to_string());
        }
    }
    ExitStatus::Nagios(state)
}

/// The summary after an update, in the asked format.
fn print_summary(ran: &Ran, format: Summary, p: &Printer) {
    let failures: Vec<&Entry> = ran.failures.iter().collect();
    match format {
        Summary::Silent => {}
        Summary::Json => {
            p.json(ran.state.updated_at.as_deref(), &ran.rows, &ran.registries);
            for w in &ran.warnings {
                p.warn(w);
            }
        }
        Summary::Text => {
            for w in &ran.warnings {
                p.warn(w);
            }
            for line in failure_lines(&failures) {
                p.warn(&line);
            }
            for line in
                output::summary_lines(ran.result.upgradable, ran.failures.len(), ran.checked, &ran.kept_back)
            {
                p.line(&line);
            }
            match ran.kept_verdicts {
                0 => {}
                1 => p.info(
                    "1 image keeps the verdict of an earlier check, since this one failed; 'freshen list' marks it.",
                ),
                n => p.info(&format!(
                    "{n} images keep the verdicts of an earlier check, since this one failed; 'freshen list' marks them."
                )),
            }
            match ran.waiting {
                0 => {}
                1 => p.info("1 more update waits out its minimum age. Run 'freshen list --upgradable' to see when."),
                n => p.info(&format!(
                    "{n} more updates wait out their minimum age. Run 'freshen list --upgradable' to see when."
                )),
            }
        }
    }
}

async fn run_and_summarise(
    settings: &Settings,
    opts: &CheckOptions,
    format: Summary,
    p: &Printer,
) -> Result<Ran> {
    let ran = update_service::run(settings, &opts.patterns, p).await.inspect_err(|e| {
        // The watchers must see a host whose checks stopped working.
        if crate::services::outcomes::is_failed_check(e) {
            crate::services::outcomes::record_failed_check(&settings.state_dir, p);
        }
    })?;
    print_summary(&ran, format, p);
    Ok(ran)
}

/// One warning per distinct failure: a registry that is down gives one
/// line for all its images, not one line each. The line names the first
/// image in sorted order, not the first whose request finished, so the same
/// failure reads the same in every run.
fn failure_lines(failures: &[&Entry]) -> Vec<String> {
    let name = |r: &str| {
        crate::core::reference::Reference::parse(r).map(|r| r.familiar()).unwrap_or_else(|_| r.to_string())
    };
    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in failures {
        groups.entry(f.error.as_deref().unwrap_or("unknown error")).or_default().push(name(&f.reference));
    }
    groups
        .into_iter()
        .map(|(error, mut names)| {
            names.sort();
            names.dedup();
            match names.as_slice() {
                [one] => format!("{one}: {error}"),
                [first, rest @ ..] => format!("{first} and {} more: {error}", rest.len()),
                [] => error.to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(reference: &str, error: &str) -> Entry {
        serde_json::from_value(serde_json::json!({
            "reference": reference, "status": "unknown", "image_id": "sha256:1",
            "local_digest": null, "remote_digest": null, "checked_at": "2026-01-01T00:00:00Z", "error": error,
        }))
        .unwrap()
    }

    #[test]
    fn a_shared_failure_names_the_first_image_in_sorted_order() {
        let (db, app, web) = (
            failed("127.0.0.1:5000/ns/db:1", "unauthorized"),
            failed("127.0.0.1:5000/ns/app:1", "unauthorized"),
            failed("127.0.0.1:5000/ns/web:1", "timed out"),
        );
        // Whichever request finished first, the line is the same.
        for order in [vec![&db, &app, &web], vec![&web, &app, &db]] {
            assert_eq!(
                failure_lines(&order),
                vec![
                    "127.0.0.1:5000/ns/web:1: timed out",
                    "127.0.0.1:5000/ns/app:1 and 1 more: unauthorized"
                ]
            );
        }
    }
}
