//! `freshen upgrade`: pull exactly what the registry lists for each
//! upgradable tag (re-checked right before, pulled by digest, then tagged),
//! retire the versions it replaced when nothing needs them, and say which
//! containers still run an old version. A failed pull changes nothing; the
//! others go on and the exit status says so at the end. `freshen upgrade`
//! and `update --unattended` both run it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::core::exit::ExitStatus;
use crate::core::holds::Holds;
use crate::core::image::{LocalImage, Snapshot};
use crate::core::recreate::{How, Plan as RecreatePlan, Skip};
use crate::core::reference::{short_digest, Reference};
use crate::core::report::{self, LocalTag, Selection};
use crate::core::retire::{self, Decision, Inventory, OldVersion, Origin, Rules};
use crate::core::state::{Entry, RolledBack, State, Superseded};
use crate::core::tagcache::TagCache;
use crate::core::verdict::Status;
use crate::core::versions::{self, Level, TagRules};
use crate::engine::{Engine, PullEvent};
use crate::error::{Error, Result};
use crate::output::confirm;
use crate::output::upgrade_report::{self as report_json, ChangeReport};
use crate::output::{self, Printer};
use crate::registry::Registries;
use crate::services::check;
use crate::services::recreate::{self, ComposeCli, Group};
use crate::services::retire as retire_service;
use crate::settings::Settings;
use crate::store::journal::Journal;

/// One tag to upgrade: from which image to which digest. With `to`, a
/// move to a newer tag (`--tags`): `digest` is that tag's, pulled and
/// tagged as `to`, and `reference` is the tag it makes obsolete.
struct Planned {
    reference: Reference,
    old_id: String,
    old_digest: Option<String>,
    digest: String,
    to: Option<(Reference, Level)>,
}

impl Planned {
    /// The tag the pulled image gets.
    fn target(&self) -> &Reference {
        self.to.as_ref().map_or(&self.reference, |(to, _)| to)
    }
}

/// What to upgrade and how: `freshen upgrade`'s arguments, or what
/// `update --unattended` derives from its policy.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Patterns choosing the tags; none means every upgradable tag.
    pub patterns: Vec<String>,
    /// Go ahead without asking.
    pub yes: bool,
    /// Show the plan and change nothing.
    pub dry_run: bool,
    /// Previous versions to keep per tag, for rollback.
    pub keep: Option<usize>,
    /// Retire nothing.
    pub keep_previous: bool,
    /// Also move version tags to newer tags.
    pub tags: bool,
    /// Leave the containers of upgraded tags as they are.
    pub no_recreate: bool,
    /// The health gate for recreated containers.
    pub wait: Duration,
    /// Print the JSON report instead of text.
    pub json: bool,
}

pub async fn upgrade(settings: &Settings, args: &Request, p: &Printer) -> Result<ExitStatus> {
    let rules_cfg = settings.retire(args.keep, None, &[])?;
    let selection = Selection::new(&args.patterns, settings.exclude.clone())?;
    let dir = &settings.state_dir;
    if !args.dry_run {
        recreate::repair_interrupted(settings, p).await?;
    }
    let lock = crate::services::lock_state(dir, p)?;
    let mut state = State::load(dir)?;
    let holds = Holds::load(dir)?;
    let registries = Registries::new(settings.registry.clone()).map_err(Error::Registry)?;
    for w in registries.warnings() {
        p.warn(&w);
    }
    let engine = Engine::connect(settings.docker_host.as_deref()).await?;
    let json = args.json;
    // With --format json the report is the only thing on stdout.
    let say = |text: &str| {
        if !json {
            p.line(text)
        }
    };
    let mut out = ChangeReport::new(args.dry_run);
    let opts = recreate::Options { wait: args.wait, docker_host: settings.docker_host.clone() };
    let host = engine.snapshot().await?;
    let rows = report::rows(&state, &host.images, &host.containers, &selection);
    let mut kept_back: Vec<(Reference, &str)> = Vec::new();
    let mut wanted = Vec::new();
    for r in rows.iter().filter(|r| r.status == Status::Upgradable) {
        if holds.is_held(&r.reference) {
            kept_back.push((r.reference.clone(), "held"));
        } else if r.remote_digest.is_some()
            && rolled_back_digest(&state, &r.reference) == r.remote_digest.as_deref()
        {
            kept_back.push((r.reference.clone(), "failed, rolled back"));
        } else {
            wanted.push(r);
        }
    }
    if state.updated_at.is_none() {
        p.warn("freshen has not checked the registries yet: run 'freshen update' first");
    }
    if rows.is_empty() && !args.patterns.is_empty() {
        p.warn(&format!("no local tag matches {}", args.patterns.join(" ")));
    }

    // Re-check right before pulling: the digest pulled is the one checked now.
    let by_id: HashMap<&str, &LocalImage> = host.images.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut failed = 0usize;
    let mut plan: Vec<Planned> = Vec::new();
    let mut repos: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in &wanted {
        repos.entry(r.reference.registry.as_str()).or_default().push(r.reference.repository.clone());
    }
    let checks = wanted.iter().filter_map(|r| {
        let image = by_id.get(r.image_id.as_str())?;
        let registry = r.reference.registry.as_str();
        let hint = state.registries.get(registry).and_then(|i| i.scheme.as_deref());
        let host = registries.host(registry, repos.get(registry).cloned().unwrap_or_default(), hint);
        let engine = &engine;
        Some(async move {
            let target = LocalTag { reference: r.reference.clone(), image };
            let checked = match host {
                Ok(h) => check::check_now(engine, &h, &target).await,
                Err(e) => Err(e),
            };
            (*r, checked)
        })
    });
    for (r, checked) in futures_util::future::join_all(checks).await {
        match checked {
            Ok((Status::Upgradable, digest))
                if rolled_back_digest(&state, &r.reference) == Some(digest.as_str()) =>
            {
                kept_back.push((r.reference.clone(), "failed, rolled back"))
            }
            Ok((Status::Upgradable, digest)) => plan.push(Planned {
                reference: r.reference.clone(),
                old_id: r.image_id.clone(),
                old_digest: r.local_digest.clone(),
                digest,
                to: None,
            }),
            Ok((status, _)) => {
                p.info(&format!("{} is {status} now; nothing to pull.", r.reference.familiar()))
            }
            Err(e) => {
                failed += 1;
                p.warn(&format!("{}: cannot check it before pulling: {e}", r.reference.familiar()));
                out.failed
                    .push(report_json::Failed { reference: r.reference.to_string(), error: e.to_string() });
            }
        }
    }

    if args.tags {
        failed += plan_tag_moves(settings, &state, &rows, &holds, &registries, &mut plan, p).await;
    }

    // The containers that run what is upgraded (not tag moves: their
    // containers keep the old tag).
    let upgraded_ids: BTreeMap<String, String> = plan
        .iter()
        .filter(|pl| pl.to.is_none())
        .map(|pl| (pl.old_id.clone(), pl.reference.to_string()))
        .collect();
    let (rplan, compose) = recreation_plan(settings, args, &engine, &upgraded_ids).await?;

    // The versions this would retire, as if the tags had already moved.
    let now = output::now_rfc3339();
    let rules = Rules { keep: rules_cfg.keep, older_than: None, now: output::now_unix() };
    let mut simulated = state.clone();
    let mut images_after = host.images.clone();
    for pl in &plan {
        simulated.superseded.push(record(pl, &now, "(new)"));
        // A moved tag stays until its version is retired.
        for i in images_after.iter_mut().filter(|i| i.id == pl.old_id && pl.to.is_none()) {
            i.tags.retain(|t| t != &pl.reference);
        }
        // A newer tag whose image is already here lands on that image.
        if let Some((to, _)) = &pl.to {
            for i in images_after.iter_mut().filter(|i| i.digests_in(to).any(|d| d == pl.digest)) {
                i.tags.push(to.clone());
            }
        }
    }
    let groups: HashSet<String> = plan.iter().map(|pl| pl.reference.to_string()).collect();
    // Recreated containers will run the new version.
    let mut host_after = host.clone();
    for c in host_after.containers.iter_mut() {
        if rplan.recreate.iter().any(|r| r.name == c.name) {
            c.image_id = "(new)".into();
        }
    }
    let to_retire = if args.keep_previous {
        Vec::new()
    } else {
        retire_plan(&simulated, &images_after, &host_after, &holds, &rules, &groups)
            .into_iter()
            .filter(|(_, v)| *v == Decision::Retire)
            .map(|(c, _)| c)
            .collect()
    };

    if plan.iter().any(|pl| pl.to.is_none()) {
        say("The following images will be upgraded:");
        for pl in plan.iter().filter(|pl| pl.to.is_none()) {
            say(&format!(
                "  {} ({} => {})",
                pl.reference.familiar(),
                short_digest(pl.old_digest.as_deref().unwrap_or(&pl.old_id)),
                short_digest(&pl.digest)
            ));
        }
    }
    if plan.iter().any(|pl| pl.to.is_some()) {
        say("The following tags will be moved to newer versions:");
        for pl in &plan {
            if let Some((to, level)) = &pl.to {
                say(&format!("  {} => {} ({level})", pl.reference.familiar(), to.familiar()));
            }
        }
    }
    if !kept_back.is_empty() {
        say("The following images have been kept back:");
        for (r, why) in &kept_back {
            say(&format!("  {} ({why})", r.familiar()));
        }
    }
    let familiar =
        |reference: &str| Reference::parse(reference).map(|r| r.familiar()).unwrap_or(reference.to_string());
    if !rplan.recreate.is_empty() {
        say("The following containers will be recreated:");
        for c in &rplan.recreate {
            let how = match &c.how {
                How::Container => "container".to_string(),
                How::Compose(s) => format!("compose project {}, service {}", s.project, s.service),
            };
            say(&format!("  {} ({}): {how}", c.name, familiar(&c.reference)));
            for d in &c.dependents {
                say(&format!("  {d}: container, it shares the network of {}", c.name));
            }
        }
    }
    let shown_skips: Vec<&(String, String, Skip)> =
        rplan.skipped.iter().filter(|(_, _, s)| *s != Skip::NoRecreate).collect();
    if !shown_skips.is_empty() {
        say("The following containers will not be recreated:");
        for (name, reference, why) in &shown_skips {
            say(&format!("  {name} ({}): {why}", familiar(reference)));
        }
    }
    if !to_retire.is_empty() {
        say("The following images will be retired:");
        for c in &to_retire {
            say(&format!("  {}", c.name));
        }
    }
    say(&format!(
        "{} upgraded, {}{} to retire, {} kept back.",
        plan.len(),
        if rplan.recreate.is_empty() {
            String::new()
        } else {
            format!("{} to recreate, ", rplan.recreate.len())
        },
        to_retire.len(),
        kept_back.len()
    ));
    for (r, why) in &kept_back {
        out.kept_back.push(report_json::KeptBack { reference: r.to_string(), reason: why.to_string() });
    }
    for (name, reference, why) in &rplan.skipped {
        out.not_recreated.push(report_json::NotRecreated {
            name: name.clone(),
            reference: reference.clone(),
            reason: why.to_string(),
        });
        if why.is_failure() {
            failed += 1;
            p.warn(&format!("{name}: not recreated: {why}"));
        }
    }
    if plan.is_empty() || args.dry_run {
        if json {
            for pl in &plan {
                out.upgraded.push(upgraded_json(pl, None));
            }
            for c in &rplan.recreate {
                out.recreated.push(recreated_json(c, None));
            }
            for c in &to_retire {
                out.retired.push(report_json::Retired { image_id: c.image_id.clone(), name: c.name.clone() });
            }
            out.print();
        }
        return Ok(ExitStatus::failed_if(failed > 0));
    }
    if !confirm(args.yes, "upgrade these images")? {
        say("Abort.");
        return Ok(ExitStatus::Failed);
    }

    let progress = Progress::new(p);
    let mut rollbacks: Vec<recreate::Announced> = Vec::new();
    let mut upgraded: Vec<(&Planned, String)> = Vec::new();
    for pl in &plan {
        let source = format!("{}@{}", pl.target().name(), pl.digest);
        let name = pl.target().familiar();
        let auth = match registries.pull_auth(&pl.reference.registry).await {
            Ok(a) => a,
            Err(e) => {
                failed += 1;
                p.warn(&format!("{name}: not upgraded, cannot read the credentials: {e}"));
                continue;
            }
        };
        let mut bar = progress.start(&name, &pl.digest);
        let pulled = engine.pull(&source, auth, |ev| bar.event(&ev)).await;
        let result = match pulled {
            Ok(()) => match engine.image_id(&source).await {
                Ok(Some(id)) => engine.tag(&id, pl.target()).await.map(|()| id),
                Ok(None) => Err(Error::Daemon {
                    action: format!("pull {source}"),
                    detail: "the image is not there after the pull".into(),
                }),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match result {
            Ok(new_id) => {
                bar.finish(true);
                upgrade_entry(&mut state, pl, &new_id, &now);
                state.superseded.push(record(pl, &now, &new_id));
                state.save(dir, &lock)?;
                upgraded.push((pl, new_id));
            }
            Err(e) => {
                bar.finish(false);
                failed += 1;
                p.warn(&format!("{name}: not upgraded, it stays as it was: {e}"));
                out.failed
                    .push(report_json::Failed { reference: pl.reference.to_string(), error: e.to_string() });
            }
        }
    }

    progress.done();

    // Recreate the containers of each upgraded tag; a tag whose containers
    // fail the gate goes back, containers and tag.
    let mut recreated = 0usize;
    let mut rolled_back = 0usize;
    if !rplan.recreate.is_empty() {
        let journal = Journal::load(dir)?;
        let mut kept: Vec<(&Planned, String)> = Vec::new();
        for (pl, new_id) in std::mem::take(&mut upgraded) {
            let members: Vec<_> = rplan
                .recreate
                .iter()
                .filter(|c| c.reference == pl.reference.to_string() && pl.to.is_none())
                .cloned()
                .collect();
            if members.is_empty() {
                kept.push((pl, new_id));
                continue;
            }
            let group = Group {
                reference: pl.reference.clone(),
                old_image: pl.old_id.clone(),
                new_image: new_id.clone(),
                members,
            };
            let info = |text: &str| p.info(text);
            let o = recreate::recreate_group(&engine, &journal, compose.as_ref(), &group, &opts, &info).await;
            for e in &o.errors {
                failed += 1;
                p.warn(e);
            }
            for r in &o.recreated {
                recreated += 1;
                out.recreated.push(report_json::Recreated {
                    name: r.name.clone(),
                    id: Some(r.id.clone()),
                    previous_id: r.previous_id.clone(),
                    reference: r.reference.clone(),
                    how: if r.compose.is_some() { "compose" } else { "container" },
                    compose_project: r.compose.as_ref().map(|c| c.project.clone()),
                    compose_service: r.compose.as_ref().map(|c| c.service.clone()),
                    downtime_seconds: Some((r.downtime.as_millis() as f64) / 1000.0),
                });
            }
            match &o.failure {
                None => {
                    state.rolled_back.remove(&pl.reference.to_string());
                    kept.push((pl, new_id));
                }
                Some(reason) => {
                    rolled_back += 1;
                    let names: Vec<&str> = o.rolled_back.iter().map(|r| r.name.as_str()).collect();
                    p.warn(&format!(
                        "{}: the new version ({}) did not pass the health gate: {reason}; rolled back: {} \
                         run{} {} again and the tag points at it. Later upgrades skip this version until \
                         the registry's tag moves.",
                        pl.reference.familiar(),
                        short_digest(&pl.digest),
                        names.join(", "),
                        if names.len() == 1 { "s" } else { "" },
                        short_digest(pl.old_digest.as_deref().unwrap_or(&pl.old_id)),
                    ));
                    for r in &o.rolled_back {
                        for line in &r.logs {
                            p.info(&format!("  {}| {line}", r.name));
                        }
                        out.rolled_back.push(report_json::RolledBack {
                            name: r.name.clone(),
                            reference: r.reference.clone(),
                            digest: pl.digest.clone(),
                            reason: r.reason.clone(),
                        });
                    }
                    rollbacks.push(recreate::Announced {
                        reference: pl.reference.to_string(),
                        image: pl.reference.familiar(),
                        digest: pl.digest.clone(),
                        reason: reason.clone(),
                        containers: o.rolled_back.iter().map(|r| (r.name.clone(), r.logs.clone())).collect(),
                    });
                    undo_upgrade_entry(&mut state, pl, &new_id, &now, reason);
                }
            }
            state.save(dir, &lock)?;
        }
        upgraded = kept;
    }

    // Retire what the successful upgrades replaced.
    let after = engine.snapshot().await?;
    let groups: HashSet<String> = upgraded.iter().map(|(pl, _)| pl.reference.to_string()).collect();
    let mut retired = 0;
    if !args.keep_previous && !groups.is_empty() {
        let decided = retire_plan(&state, &after.images, &after, &holds, &rules, &groups);
        let go: Vec<&OldVersion> =
            decided.iter().filter(|(_, v)| *v == Decision::Retire).map(|(c, _)| c).collect();
        let done = retire_service::remove_all(&engine, &go, p).await?;
        retired = done.removed.len();
        for c in go.iter().filter(|c| done.removed.contains(&c.name)) {
            out.retired.push(report_json::Retired { image_id: c.image_id.clone(), name: c.name.clone() });
        }
        for (c, v) in &decided {
            if let Decision::Keep(reason) = v {
                out.kept.push(report_json::Kept {
                    image_id: c.image_id.clone(),
                    name: c.name.clone(),
                    reason: reason.clone(),
                });
            }
        }
        for (name, reason) in &done.refused {
            if let Some(c) = go.iter().find(|c| &c.name == name) {
                out.kept.push(report_json::Kept {
                    image_id: c.image_id.clone(),
                    name: name.clone(),
                    reason: reason.clone(),
                });
            }
        }
        let now_host = engine.snapshot().await?;
        retire_service::forget_gone(&mut state, &now_host);
        state.save(dir, &lock)?;
    }
    drop(lock);

    let after = if rplan.recreate.is_empty() { after } else { engine.snapshot().await? };
    let old_ids: HashMap<&str, &Reference> =
        upgraded.iter().map(|(pl, _)| (pl.old_id.as_str(), &pl.reference)).collect();
    if !json {
        still_running(p, &after, &old_ids);
    }
    say(&format!(
        "{} upgraded, {}{} retired, {} kept back{}{}.",
        upgraded.len(),
        if rplan.recreate.is_empty() { String::new() } else { format!("{recreated} recreated, ") },
        retired,
        kept_back.len(),
        if rolled_back > 0 { format!(", {rolled_back} rolled back") } else { String::new() },
        if failed > 0 { format!(", {} failed", failed) } else { String::new() }
    ));
    if json {
        for (pl, new_id) in &upgraded {
            out.upgraded.push(upgraded_json(pl, Some(new_id)));
        }
        out.print();
    }
    if !rollbacks.is_empty() {
        crate::services::announce::rollbacks(settings, &rollbacks, p).await;
    }
    Ok(ExitStatus::failed_if(failed > 0 || rolled_back > 0))
}

/// The digest of `reference` whose containers were rolled back, if any.
fn rolled_back_digest<'a>(state: &'a State, reference: &Reference) -> Option<&'a str> {
    state.rolled_back.get(&reference.to_string()).map(|r| r.digest.as_str())
}

/// Which containers to recreate, and the Compose command if any needs it.
async fn recreation_plan(
    settings: &Settings,
    args: &Request,
    engine: &Engine,
    upgraded: &BTreeMap<String, String>,
) -> Result<(RecreatePlan, Option<ComposeCli>)> {
    if upgraded.is_empty() {
        return Ok((RecreatePlan::default(), None));
    }
    let containers = engine.recreate_candidates().await?;
    let mut plan = crate::core::recreate::plan(&containers, upgraded, |reference| {
        if args.no_recreate {
            return Some(Skip::NoRecreate);
        }
        let r = Reference::parse(reference).ok()?;
        settings.recreate_off(&r).map(|_| Skip::ConfigFalse)
    });
    let compose = recreate::check_compose(&mut plan, settings.docker_host.as_deref()).await;
    Ok((plan, compose))
}

fn upgraded_json(pl: &Planned, new_id: Option<&String>) -> report_json::Upgraded {
    report_json::Upgraded {
        reference: pl.target().to_string(),
        from_image_id: pl.old_id.clone(),
        from_digest: pl.old_digest.clone(),
        to_image_id: new_id.cloned(),
        to_digest: pl.digest.clone(),
    }
}

fn recreated_json(c: &crate::core::recreate::Planned, downtime: Option<f64>) -> report_json::Recreated {
    let compose = match &c.how {
        How::Compose(s) => Some(s),
        How::Container => None,
    };
    report_json::Recreated {
        name: c.name.clone(),
        id: None,
        previous_id: c.id.clone(),
        reference: c.reference.clone(),
        how: if compose.is_some() { "compose" } else { "container" },
        compose_project: compose.map(|s| s.project.clone()),
        compose_service: compose.map(|s| s.service.clone()),
        downtime_seconds: downtime,
    }
}

/// The tag went back to the old image: the entry says upgradable again,
/// the old version is no longer superseded, the new one is (so autoremove
/// can retire it), and the digest is recorded as rolled back.
fn undo_upgrade_entry(state: &mut State, pl: &Planned, new_id: &str, now: &str, reason: &str) {
    let key = pl.reference.to_string();
    state.entries.retain(|e| e.reference != key);
    state.entries.push(Entry {
        reference: key.clone(),
        status: Status::Upgradable,
        image_id: pl.old_id.clone(),
        local_digest: pl.old_digest.clone(),
        remote_digest: Some(pl.digest.clone()),
        checked_at: now.to_string(),
        error: None,
    });
    state.entries.sort_by(|a, b| a.reference.cmp(&b.reference));
    state.superseded.retain(|s| !(s.image_id == pl.old_id && s.reference == key));
    state.superseded.push(Superseded {
        image_id: new_id.to_string(),
        reference: key.clone(),
        digest: Some(pl.digest.clone()),
        replaced_at: now.to_string(),
        replaced_by: pl.old_id.clone(),
        tag_moved: false,
    });
    state.rolled_back.insert(
        key,
        RolledBack { digest: pl.digest.clone(), at: now.to_string(), reason: reason.to_string() },
    );
}

fn record(pl: &Planned, now: &str, replaced_by: &str) -> Superseded {
    Superseded {
        image_id: pl.old_id.clone(),
        reference: pl.reference.to_string(),
        digest: pl.old_digest.clone(),
        replaced_at: now.to_string(),
        replaced_by: replaced_by.to_string(),
        tag_moved: pl.to.is_some(),
    }
}

/// After the upgrade the tag is current: record it so `list` agrees
/// without another `update`.
fn upgrade_entry(state: &mut State, pl: &Planned, new_id: &str, now: &str) {
    let key = pl.target().to_string();
    state.entries.retain(|e| e.reference != key);
    state.entries.push(Entry {
        reference: key,
        status: Status::UpToDate,
        image_id: new_id.to_string(),
        local_digest: Some(pl.digest.clone()),
        remote_digest: Some(pl.digest.clone()),
        checked_at: now.to_string(),
        error: None,
    });
    state.entries.sort_by(|a, b| a.reference.cmp(&b.reference));
}

/// `--tags`: for each selected tag that is a version, the newest newer tag
/// its policy allows (from the listings the last update cached), unless
/// the tag is held, already upgraded by digest in this run, or the newer
/// tag is already here. Each move's digest is asked of the registry now, so
/// what is pulled is what was checked. Returns how many could not be asked.
async fn plan_tag_moves(
    settings: &Settings,
    state: &State,
    rows: &[report::Row],
    holds: &Holds,
    registries: &Registries,
    plan: &mut Vec<Planned>,
    p: &Printer,
) -> usize {
    let cache = TagCache::load(&settings.state_dir);
    let by_digest: HashSet<&Reference> = plan.iter().map(|pl| &pl.reference).collect();
    let candidates: Vec<(&report::Row, Vec<String>, TagRules, bool)> = rows
        .iter()
        .filter(|r| {
            r.reference.tag.is_some() && r.status != Status::Pinned && !by_digest.contains(&r.reference)
        })
        .map(|r| {
            let policy = settings.image_policy(&r.reference);
            let tags = cache.tags(&r.reference.name()).map(<[String]>::to_vec).unwrap_or_default();
            (r, tags, policy.rules, policy.hold || holds.is_held(&r.reference))
        })
        .collect();
    let input: Vec<(Reference, &[String], &TagRules, bool)> = candidates
        .iter()
        .map(|(r, tags, rules, held)| (r.reference.clone(), tags.as_slice(), rules, *held))
        .collect();
    let moves = versions::tag_upgrades(&input);
    let mut failed = 0;
    for m in moves {
        let Some((row, ..)) = candidates.iter().find(|(r, ..)| r.reference == m.from) else { continue };
        let hint = state.registries.get(&m.to.registry).and_then(|i| i.scheme.as_deref());
        let digest = match registries.host(&m.to.registry, vec![m.to.repository.clone()], hint) {
            Ok(h) => h.tag_digest(&m.to.repository, m.to.tag.as_deref().unwrap_or_default()).await,
            Err(e) => Err(e),
        };
        match digest {
            Ok(digest) => plan.push(Planned {
                reference: m.from.clone(),
                old_id: row.image_id.clone(),
                old_digest: row.local_digest.clone(),
                digest,
                to: Some((m.to.clone(), m.level)),
            }),
            Err(e) => {
                failed += 1;
                p.warn(&format!(
                    "{}: cannot check {} before pulling: {e}",
                    m.from.familiar(),
                    m.to.familiar()
                ));
            }
        }
    }
    failed
}

/// The superseded versions of the upgraded tags, with their verdicts.
fn retire_plan(
    state: &State,
    images: &[LocalImage],
    host: &Snapshot,
    holds: &Holds,
    rules: &Rules,
    groups: &HashSet<String>,
) -> Vec<(OldVersion, Decision)> {
    let cands: Vec<OldVersion> = retire::candidates(state, images, &Selection::default(), false)
        .into_iter()
        .filter(|c| c.origin == Origin::Superseded && c.group.as_ref().is_some_and(|g| groups.contains(g)))
        .collect();
    let inv = Inventory { images, parents: &host.parents, containers: &host.containers, holds };
    let verdicts = retire::decide(&cands, &inv, rules);
    cands.into_iter().zip(verdicts).collect()
}

/// Containers created from a version that is now superseded.
fn still_running(p: &Printer, host: &Snapshot, old: &HashMap<&str, &Reference>) {
    let mut users: Vec<_> =
        host.containers.iter().filter(|c| old.contains_key(c.image_id.as_str())).collect();
    // Running ones first: they are the ones serving the old version now.
    users.sort_by(|a, b| b.running.cmp(&a.running).then_with(|| a.name.cmp(&b.name)));
    if users.is_empty() {
        return;
    }
    let list: Vec<String> = users
        .iter()
        .map(|c| {
            let r = old[c.image_id.as_str()].familiar();
            if c.running {
                format!("{} ({r})", c.name)
            } else {
                format!("{} ({r}, stopped)", c.name)
            }
        })
        .collect();
    p.line(&format!(
        "These containers still run the previous version: {}. Recreate them to finish the upgrade.",
        list.join(", ")
    ));
    let mut projects: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for c in &users {
        if let Some(project) = c.labels.get("com.docker.compose.project") {
            let wd = c.labels.get("com.docker.compose.project.working_dir").map(String::as_str);
            projects.insert(project.as_str(), wd);
        }
    }
    for (project, wd) in projects {
        match wd {
            Some(wd) => p.line(&format!("Compose project {project}: run 'docker compose up -d' in {wd}.")),
            None => p.line(&format!("Compose project {project}: run 'docker compose -p {project} up -d'.")),
        }
    }
}

/// Pull progress: a bar per image on a terminal (bytes, like `docker
/// pull`), a line per image otherwise, nothing with --quiet.
struct Progress {
    multi: Option<MultiProgress>,
    plain: bool,
    printer: Printer,
}

impl Progress {
    fn new(p: &Printer) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        Progress {
            multi: (terminal && !p.quiet()).then(MultiProgress::new),
            plain: !terminal && !p.quiet(),
            printer: *p,
        }
    }

    fn start(&self, name: &str, digest: &str) -> Bar {
        let bar = self.multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new(0));
            // Until the engine knows the sizes there is nothing to measure.
            b.set_style(
                ProgressStyle::with_template("{msg:40} {spinner} waiting")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.set_message(name.to_string());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        if self.plain {
            self.printer.info(&format!("Pulling {name} ({})…", short_digest(digest)));
        }
        Bar {
            bar,
            sized: false,
            layers: HashMap::new(),
            name: name.to_string(),
            plain: self.plain,
            printer: self.printer,
        }
    }

    /// Leaves the cursor on a fresh line after the bars.
    fn done(&self) {
        if self.multi.is_some() {
            eprintln!();
        }
    }
}

struct Bar {
    bar: Option<ProgressBar>,
    /// Whether the bar shows bytes yet.
    sized: bool,
    /// Per layer: (downloaded, total) bytes.
    layers: HashMap<String, (u64, u64)>,
    name: String,
    plain: bool,
    printer: Printer,
}

impl Bar {
    fn event(&mut self, ev: &PullEvent) {
        let Some(layer) = &ev.layer else { return };
        let entry = self.layers.entry(layer.clone()).or_default();
        match ev.status.as_str() {
            "Downloading" => {
                if let Some(t) = ev.total {
                    entry.1 = t;
                }
                if let Some(c) = ev.current {
                    entry.0 = c;
                }
            }
            "Download complete" | "Pull complete" | "Already exists" => entry.0 = entry.1,
            _ => {}
        }
        let total: u64 = self.layers.values().map(|l| l.1).sum();
        if let (Some(b), true) = (&self.bar, total > 0) {
            if !self.sized {
                self.sized = true;
                b.disable_steady_tick();
                b.set_style(
                    ProgressStyle::with_template(
                        "{msg:40} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
            }
            b.set_length(total);
            b.set_position(self.layers.values().map(|l| l.0).sum());
        }
    }

    fn finish(&self, ok: bool) {
        if let Some(b) = &self.bar {
            b.disable_steady_tick();
            match (ok, self.sized) {
                (true, true) => b.finish(),
                (true, false) => {
                    b.set_style(
                        ProgressStyle::with_template("{msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    b.finish_with_message(format!("{} (all layers already here)", self.name));
                }
                (false, _) => {
                    b.set_style(
                        ProgressStyle::with_template("{msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    b.abandon_with_message(format!("{} (failed)", self.name));
                }
            }
        }
        if self.plain && ok {
            let total: u64 = self.layers.values().map(|l| l.1).sum();
            self.printer.info(&format!(
                "Pulled {} ({} downloaded)",
                self.name,
                crate::core::space::human_bytes(total)
            ));
        }
    }
}
