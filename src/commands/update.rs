//! `freshen update` and `freshen check`: ask the registries, record the
//! answers, print the apt summary.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::checker;
use crate::cli::{CheckOptions, SummaryFormat};
use crate::commands::{EXIT_FAILED, EXIT_OK, EXIT_UPGRADABLE};
use crate::docker::Engine;
use crate::error::{Error, Result};
use crate::registry::Registries;
use crate::render::{self, Printer};
use crate::report::{self, Selection};
use crate::settings::Settings;
use crate::state::{self, Lock, State};
use crate::tagcache::TagCache;
use crate::tagcheck;
use crate::verdict::Status;

/// How long a second freshen waits for the first to finish.
const LOCK_WAIT: Duration = Duration::from_secs(600);

pub struct UpdateResult {
    pub upgradable: usize,
    pub failed: usize,
}

pub async fn update(
    settings: &Settings,
    opts: &CheckOptions,
    format: SummaryFormat,
    p: &Printer,
) -> Result<u8> {
    let r = run(settings, opts, format, p).await?;
    Ok(if r.failed > 0 { EXIT_FAILED } else { EXIT_OK })
}

/// dnf's convention: 100 when something can be upgraded, 1 when nothing
/// can but a check failed, 0 otherwise.
pub async fn check(
    settings: &Settings,
    opts: &CheckOptions,
    format: SummaryFormat,
    p: &Printer,
) -> Result<u8> {
    let r = run(settings, opts, format, p).await?;
    Ok(if r.upgradable > 0 {
        EXIT_UPGRADABLE
    } else if r.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

async fn run(
    settings: &Settings,
    opts: &CheckOptions,
    format: SummaryFormat,
    p: &Printer,
) -> Result<UpdateResult> {
    let selection = Selection::new(&opts.patterns, settings.exclude.clone())?;
    let dir = &settings.state_dir;
    let lock = Lock::acquire(dir, LOCK_WAIT, |holder| {
        p.info(&format!("Waiting for another freshen ({holder}) to finish…"));
    })?;
    let old = match State::load(dir) {
        Ok(s) => s,
        Err(Error::StateCorrupt { path, detail }) => {
            let aside = path.with_extension("json.corrupt");
            let _ = std::fs::rename(&path, &aside);
            p.warn(&format!(
                "state file {} was unreadable ({detail}); kept it as {} and starting afresh",
                path.display(),
                aside.display()
            ));
            State::default()
        }
        Err(e) => return Err(e),
    };
    let registries = Registries::new(settings.registry.clone()).map_err(Error::Usage)?;
    for w in registries.warnings() {
        p.warn(&w);
    }
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
    let checked_at = render::now_rfc3339();
    let outcome = checker::check_all(&engine, &registries, &targets, &old.registries, &checked_at).await;
    let now = render::now_unix();
    let mut cache = TagCache::load(dir);
    let pass =
        tagcheck::refresh(&registries, settings, &targets, &outcome, &old.registries, &mut cache, now).await;
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

    let mut new = State { updated_at: Some(checked_at.clone()), ..State::default() };
    let checked: std::collections::HashSet<&str> =
        outcome.entries.iter().map(|e| e.reference.as_str()).collect();
    if !selection.is_everything() {
        // A partial update keeps what it did not look at.
        new.entries = old
            .entries
            .iter()
            .filter(|e| {
                !checked.contains(e.reference.as_str())
                    && crate::reference::Reference::parse(&e.reference).is_ok_and(|r| !selection.matches(&r))
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
    drop(lock);

    let upgradable = outcome.entries.iter().filter(|e| e.status == Status::Upgradable).count();
    let failures: Vec<_> = outcome.entries.iter().filter(|e| e.status == Status::Unknown).collect();
    match format {
        SummaryFormat::Json => {
            let mut rows = report::rows(&new, &images, &containers, &selection);
            report::annotate(&mut rows, &images, &cache, |r| settings.image_policy(r));
            p.json(new.updated_at.as_deref(), &rows);
            for w in &pass.warnings {
                p.warn(w);
            }
        }
        SummaryFormat::Text => {
            for w in &pass.warnings {
                p.warn(w);
            }
            for line in failure_lines(&failures) {
                p.warn(&line);
            }
            for line in render::summary_lines(upgradable, failures.len(), outcome.entries.len()) {
                p.line(&line);
            }
        }
    }
    Ok(UpdateResult { upgradable, failed: failures.len() })
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
                crate::reference::Reference::parse(r).map(|r| r.familiar()).unwrap_or_else(|_| r.to_string())
            };
            match refs.as_slice() {
                [one] => format!("{}: {error}", name(one)),
                [first, rest @ ..] => format!("{} and {} more: {error}", name(first), rest.len()),
                [] => error.to_string(),
            }
        })
        .collect()
}
