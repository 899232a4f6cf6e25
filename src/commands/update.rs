//! `freshen update` and `freshen check`: ask the registries, record the
//! answers, print the apt summary.

use std::collections::BTreeMap;

use crate::cli::{CheckArgs, CheckOptions, SummaryFormat, UpdateArgs};
use crate::core::exit::ExitStatus;
use crate::core::monitor;
use crate::core::report::{self, Selection};
use crate::core::state::{self, State};
use crate::core::tagcache::TagCache;
use crate::core::unattended;
use crate::core::verdict::Status;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::registry::Registries;
use crate::services::announce;
use crate::services::check;
use crate::services::tag_refresh;
use crate::services::upgrade;
use crate::settings::Settings;
use crate::store::Lock;

pub struct UpdateResult {
    pub upgradable: usize,
    pub failed: usize,
}

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

/// A finished update whose lock is still held, so that what follows
/// (notifications, unattended upgrades) sees and records a consistent state.
struct Ran {
    result: UpdateResult,
    state: State,
    selection: Selection,
    lock: Lock,
    /// Per upgradable reference, the versions on both sides, for the
    /// notifications.
    versions: announce::Versions,
}

pub async fn update(settings: &Settings, args: &UpdateArgs, p: &Printer) -> Result<ExitStatus> {
    // Refuse before any registry traffic if the policy is missing.
    let policy = match (args.unattended, &settings.unattended) {
        (false, _) => None,
        (true, Some(policy)) => Some(policy),
        (true, None) => return Err(Error::Usage(no_policy(settings))),
    };
    let ran = run(settings, &args.check, args.format.into(), p).await?;
    let mut code = if ran.result.failed > 0 { ExitStatus::Failed } else { ExitStatus::Ok };
    let plan = policy.map(|policy| policy.plan(&monitor::selected(&ran.state, &ran.selection)));
    if let Some(plan) = &plan {
        log_unattended_plan(plan, args.format, p);
    }
    // --unattended notifies when there is somewhere to notify; only an
    // explicit --notify warns that there is not.
    let notify = args.notify.notify || (args.unattended && !settings.notify.is_empty());
    if notify
        && !announce::announce(settings, &ran.state, &ran.selection, &ran.versions, &ran.lock, p).await?
    {
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
            wait: std::time::Duration::from_secs(crate::cli::DEFAULT_WAIT),
            json: false,
        };
        if upgrade::upgrade(settings, &request, p).await? != ExitStatus::Ok {
            code = ExitStatus::Failed;
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
    let ran = run(settings, &args.check, args.format.into(), p).await?;
    let r = &ran.result;
    let mut code = if r.upgradable > 0 {
        ExitStatus::Upgradable
    } else if r.failed > 0 {
        ExitStatus::Failed
    } else {
        ExitStatus::Ok
    };
    if args.notify.notify
        && !announce::announce(settings, &ran.state, &ran.selection, &ran.versions, &ran.lock, p).await?
    {
        code = ExitStatus::Failed;
    }
    Ok(code)
}

async fn nagios(settings: &Settings, args: &CheckArgs, p: &Printer) -> ExitStatus {
    let ran = match run(settings, &args.check, Summary::Silent, p).await {
        Ok(ran) => ran,
        Err(e) => {
            p.line(&monitor::nagios_failure(&e.to_string()));
            return ExitStatus::Nagios(monitor::NagiosState::Unknown);
        }
    };
    let entries = monitor::selected(&ran.state, &ran.selection);
    let upgradable: Vec<String> = entries
        .iter()
        .filter(|e| e.status == Status::Upgradable)
        .map(|e| {
            crate::core::reference::Reference::parse(&e.reference)
                .map(|r| r.familiar())
                .unwrap_or(e.reference.clone())
        })
        .collect();
    let names: Vec<&str> = upgradable.iter().map(String::as_str).collect();
    let (state, line) = monitor::nagios(
        monitor::counts(&entries),
        &names,
        args.warning as usize,
        args.critical.map(|n| n as usize),
    );
    p.line(&line);
    if args.notify.notify {
        // A monitoring check reports the images; a failed target is a warning.
        if let Err(e) =
            announce::announce(settings, &ran.state, &ran.selection, &ran.versions, &ran.lock, p).await
        {
            p.warn(&e.to_string());
        }
    }
    ExitStatus::Nagios(state)
}

async fn run(settings: &Settings, opts: &CheckOptions, format: Summary, p: &Printer) -> Result<Ran> {
    let selection = Selection::new(&opts.patterns, settings.exclude.clone())?;
    let dir = &settings.state_dir;
    crate::services::recreate::repair_interrupted(settings, p).await?;
    let lock = crate::services::lock_state(dir, p)?;
    let old = match State::load(dir) {
        Ok(s) => s,
        Err(Error::CorruptStore { path, detail, .. }) => {
            crate::services::set_aside(&path, &detail, p);
            State::default()
        }
        Err(e) => return Err(e),
    };
    let registries = Registries::new(settings.registry.clone()).map_err(Error::Registry)?;
    for w in registries.warnings() {
        p.warn(&w);
    }
    // Ask the registries about the tags the last update saw while the
    // engine lists what is here now.
    let prefetch = check::Prefetch::start(
        &registries,
        old.entries
            .iter()
            .filter_map(|e| crate::core::reference::Reference::parse(&e.reference).ok())
            .filter(|r| selection.matches(r)),
        &old.registries,
    );
    let engine = Engine::connect(settings.docker_host.as_deref()).await?;
    let (images, containers) = tokio::try_join!(engine.images(), engine.containers())?;
    let targets = report::targets(&images, &selection);
    let registry_count = targets
        .iter()
        .map(|t| t.reference.registry.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) && !targets.is_empty() {
        p.info(&format!(
            "Checking {} {} on {} {}…",
            targets.len(),
            if targets.len() == 1 { "image" } else { "images" },
            registry_count,
            if registry_count == 1 { "registry" } else { "registries" }
        ));
    }
    let checked_at = output::now_rfc3339();
    let outcome =
        check::check_all(&engine, &registries, &targets, &old.registries, &checked_at, prefetch).await;
    let now = output::now_unix();
    let mut cache = TagCache::load(dir);
    let pass =
        tag_refresh::refresh(&registries, settings, &targets, &outcome, &old.registries, &mut cache, now)
            .await;
    if pass.listed + pass.configs > 0 {
        if let Err(e) = cache.save(dir, &lock, now) {
            p.warn(&format!("{e}; tag listings will be fetched again next time"));
        }
    }
    if p.verbose() {
        let n = targets.len();
        p.info(&format!(
            "{} registry requests for {n} {}",
            registries.request_count(),
            if n == 1 { "image" } else { "images" }
        ));
        p.info(&format!(
            "{} tag {} listed, {} image {} read",
            pass.listed,
            if pass.listed == 1 { "list" } else { "lists" },
            pass.configs,
            if pass.configs == 1 { "config" } else { "configs" }
        ));
        for (reg, info) in &outcome.registries {
            if let Some(rl) = &info.rate_limit {
                p.info(&format!(
                    "{reg}: rate limit {} remaining of {} per {}s",
                    rl.remaining.map_or("?".into(), |n| n.to_string()),
                    rl.limit.map_or("?".into(), |n| n.to_string()),
                    rl.window_seconds.map_or("?".into(), |n| n.to_string())
                ));
            }
        }
    }

    let mut new = State {
        updated_at: Some(checked_at.clone()),
        superseded: old.superseded.clone(),
        ..State::default()
    };
    let checked: std::collections::HashSet<&str> =
        outcome.entries.iter().map(|e| e.reference.as_str()).collect();
    if !selection.is_everything() {
        // A partial update keeps what it did not look at.
        new.entries = old
            .entries
            .iter()
            .filter(|e| {
                !checked.contains(e.reference.as_str())
                    && crate::core::reference::Reference::parse(&e.reference)
                        .is_ok_and(|r| !selection.matches(&r))
            })
            .cloned()
            .collect();
    }
    new.entries.extend(outcome.entries.iter().cloned());
    new.entries.sort_by(|a, b| a.reference.cmp(&b.reference));
    let mut regs: BTreeMap<_, _> = old.registries.clone();
    regs.extend(outcome.registries.clone());
    new.registries = regs;
    new.save(dir, &lock)?;

    let upgradable = outcome.entries.iter().filter(|e| e.status == Status::Upgradable).count();
    let failures: Vec<_> = outcome.entries.iter().filter(|e| e.status == Status::Unknown).collect();
    let mut rows = report::rows(&new, &images, &containers, &selection);
    report::mark_held(&mut rows, &crate::core::holds::Holds::load(dir)?);
    report::annotate(&mut rows, &images, &cache, |r| settings.image_policy(r));
    let versions: announce::Versions = rows
        .iter()
        .filter(|r| r.status == Status::Upgradable)
        .map(|r| (r.reference.to_string(), (r.version.current.clone(), r.version.remote.clone())))
        .collect();
    match format {
        Summary::Silent => {}
        Summary::Json => {
            p.json(new.updated_at.as_deref(), &rows, &outcome.registries);
            for w in &pass.warnings {
                p.warn(w);
            }
        }
        Summary::Text => {
            for w in &pass.warnings {
                p.warn(w);
            }
            for line in failure_lines(&failures) {
                p.warn(&line);
            }
            for line in output::summary_lines(upgradable, failures.len(), outcome.entries.len()) {
                p.line(&line);
            }
        }
    }
    let result = UpdateResult { upgradable, failed: failures.len() };
    Ok(Ran { result, state: new, selection, lock, versions })
}

/// One warning per distinct failure: a registry that is down gives one
/// line for all its images, not one line each.
fn failure_lines(failures: &[&state::Entry]) -> Vec<String> {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in failures {
        groups.entry(f.error.as_deref().unwrap_or("unknown error")).or_default().push(&f.reference);
    }
    groups
        .into_iter()
        .map(|(error, refs)| {
            let name = |r: &str| {
                crate::core::reference::Reference::parse(r)
                    .map(|r| r.familiar())
                    .unwrap_or_else(|_| r.to_string())
            };
            match refs.as_slice() {
                [one] => format!("{}: {error}", name(one)),
                [first, rest @ ..] => format!("{} and {} more: {error}", name(first), rest.len()),
                [] => error.to_string(),
            }
        })
        .collect()
}
