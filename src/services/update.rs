//! `update`'s workflow, shared by `freshen update` and `freshen check`: ask
//! the registries about every selected local tag, refresh the tag listings,
//! and record the answers. It returns what it found; the command prints it.

use std::collections::BTreeMap;

use crate::core::controls::Age;
use crate::core::report::{self, Row, Selection};
use crate::core::skips::{Controls, HoldBack, Skips};
use crate::core::state::{Entry, RegistryInfo, State};
use crate::core::tagcache::{RemoteImage, TagCache};
use crate::core::update::merge_update;
use crate::core::verdict::Status;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::registry::Registries;
use crate::services::{announce, check, tag_refresh};
use crate::settings::Settings;
use crate::store::Lock;

pub struct UpdateResult {
    pub upgradable: usize,
    pub failed: usize,
}

/// A finished update whose lock is still held, so that what follows
/// (notifications, unattended upgrades) sees and records a consistent state.
pub struct Ran {
    pub result: UpdateResult,
    pub state: State,
    pub selection: Selection,
    pub lock: Lock,
    /// Per upgradable reference, the versions on both sides, for the
    /// notifications.
    pub versions: announce::Versions,
    /// The rows of the selected tags, held and annotated, for the JSON summary.
    pub rows: Vec<Row>,
    /// What this run learnt about each registry.
    pub registries: BTreeMap<String, RegistryInfo>,
    /// Tag listing problems, for the summary.
    pub warnings: Vec<String>,
    /// The entries that could not be checked.
    pub failures: Vec<Entry>,
    /// How many entries this run checked.
    pub checked: usize,
    /// Skips and the clock: which upgradable tags are offered now.
    pub controls: Controls,
    /// How many upgradable tags wait out their minimum age.
    pub waiting: usize,
}

impl Ran {
    /// Announces what this update found to the notification targets, under
    /// the lock it still holds. False if a target failed.
    pub async fn announce(&self, settings: &Settings, p: &Printer) -> Result<bool> {
        announce::announce(
            settings,
            &self.state,
            &self.selection,
            &self.versions,
            &self.controls,
            &self.lock,
            p,
        )
        .await
    }
}

/// Checks every selected local tag, refreshes the tag listings, records the
/// new state and returns it with the lock still held. Notes go to stderr;
/// the summary is the caller's to print.
pub async fn run(settings: &Settings, patterns: &[String], p: &Printer) -> Result<Ran> {
    let selection = Selection::new(patterns, settings.exclude.clone())?;
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
    // The engine lists the local images while the registry clients load
    // their TLS roots (tens of milliseconds) and the prefetch starts.
    let docker_host = settings.docker_host.clone();
    // No version handshake first: the listing is the first request, and
    // the engine's model (`/version`, `/info`), which only some verdicts
    // need, is read beside it.
    let listing = tokio::spawn(async move {
        let engine = Engine::open(docker_host.as_deref())?;
        tokio::spawn({
            let engine = engine.clone();
            async move {
                let _ = engine.model().await;
            }
        });
        let (images, containers) = tokio::join!(engine.images(), engine.containers());
        // An unreachable daemon fails the image listing with the one line
        // that says so; report that before the containers' error.
        let (images, containers) = (images?, containers?);
        Ok::<_, Error>((engine, images, containers))
    });
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
    let (engine, images, containers) =
        listing.await.map_err(|e| Error::Internal(format!("listing the local images failed: {e}")))??;
    if p.verbose() {
        crate::services::say_engine(&engine, p).await;
    }
    let targets = report::targets(&images, &selection);
    if targets.is_empty()
        && !patterns.is_empty()
        && report::pinned(&images, &containers, &selection).is_empty()
    {
        // A typo in a pattern must not read as "all up to date" to a script;
        // a pattern that matches a pinned image (no tag) is no typo.
        p.warn(&format!("no local tag matches {}", patterns.join(" ")));
    }
    let registry_count = targets
        .iter()
        .map(|t| t.reference.registry.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !p.quiet();
    let checking = format!(
        "Checking {} {} on {} {}…",
        targets.len(),
        if targets.len() == 1 { "image" } else { "images" },
        registry_count,
        if registry_count == 1 { "registry" } else { "registries" }
    );
    if terminal && !targets.is_empty() {
        p.info(&checking);
    }
    // A registry silent for a while gets a line saying so, on a terminal.
    let activity = registries.activity();
    let waiting = output::waiting::Waiting::start(
        terminal && !targets.is_empty(),
        String::new(),
        std::sync::Arc::new(move || activity.silent(output::waiting::QUIET_FOR)),
    );
    let checked_at = output::now_rfc3339();
    let mut cache = TagCache::load(dir);
    let known = check::Known::new(&old.registries, &old.entries, cache.images.keys().map(String::as_str));
    let mut outcome = check::check_all(&engine, &registries, &targets, &known, &checked_at, prefetch).await;
    let now = output::now_unix();
    // Labels read right after a verdict, so the pass below skips them.
    for (remote, config) in &outcome.configs {
        cache.images.insert(remote.clone(), RemoteImage::from_config(config, now));
    }
    let mut pass =
        tag_refresh::refresh(&registries, settings, &targets, &outcome, &old.registries, &mut cache, now)
            .await;
    pass.configs += outcome.configs.len();
    // The newer tags' ages, for the minimum age and skipped newer tags.
    let skips = Skips::load(dir)?;
    let aged = crate::services::tag_age::age_newer_tags(
        &registries,
        settings,
        &outcome.entries,
        &old,
        &old.registries,
        &skips,
        &mut cache,
        &checked_at,
        now,
    )
    .await;
    pass.configs += aged.configs;
    pass.warnings.extend(aged.warnings);
    waiting.finish();
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

    record_ages(settings, &old, &mut outcome.entries, &cache, &checked_at, now);
    let mut controls = Controls { holds: super::holds(settings)?, skips, now, min_age: None };
    if controls.skips.prune(&outcome.entries, &aged.picks) {
        controls.skips.save(dir, &lock)?;
    }

    let mut new = merge_update(&old, &outcome.entries, &outcome.registries, &selection, &checked_at);
    new.tag_ages = merge_tag_ages(&old, &new, &outcome.entries, aged.tag_ages);
    new.save(dir, &lock)?;

    // What can be upgraded now: neither skipped nor waiting out its minimum
    // age. `check`'s 100, Nagios and the notifications count the same.
    let upgradable = outcome.entries.iter().filter(|e| controls.offered(e)).count();
    let waiting = outcome
        .entries
        .iter()
        .filter(|e| matches!(controls.hold_back(e), Some(HoldBack::Cooldown(_))))
        .count();
    let failures: Vec<_> = outcome.entries.iter().filter(|e| e.status == Status::Unknown).collect();
    let mut rows = report::rows(&new, &images, &containers, &selection);
    report::mark_held(&mut rows, &controls.holds);
    report::annotate(&mut rows, &images, &cache, |r| settings.image_policy(r));
    report::mark_controls(&mut rows, &new, &controls);
    report::link_release_notes(&mut rows, &images, &cache, &new, |r| settings.image_policy(r));
    let versions: announce::Versions = rows
        .iter()
        .filter(|r| r.status == Status::Upgradable)
        .map(|r| {
            let v = &r.version;
            (r.reference.to_string(), (v.current.clone(), v.remote.clone(), v.release_notes.clone()))
        })
        .collect();
    let result = UpdateResult { upgradable, failed: failures.len() };
    Ok(Ran {
        result,
        state: new,
        selection,
        lock,
        versions,
        rows,
        registries: outcome.registries,
        warnings: pass.warnings,
        failures: failures.into_iter().cloned().collect(),
        checked: outcome.entries.len(),
        controls,
        waiting,
    })
}

/// How old each new image is, for the minimum age: from its creation time
/// when plausible, else from when an update first saw the digest here (kept
/// from the previous state for the same digest, and across a failed check).
fn record_ages(
    settings: &Settings,
    old: &State,
    entries: &mut [Entry],
    cache: &TagCache,
    checked_at: &str,
    now: i64,
) {
    let previous: std::collections::HashMap<&str, &Entry> =
        old.entries.iter().map(|e| (e.reference.as_str(), e)).collect();
    for e in entries.iter_mut() {
        let before = previous.get(e.reference.as_str()).and_then(|o| o.age.as_ref());
        if e.status == Status::Unknown {
            e.age = before.cloned();
            continue;
        }
        if e.status != Status::Upgradable {
            continue;
        }
        let created =
            e.remote_digest.as_deref().and_then(|d| cache.images.get(d)).and_then(|i| i.created.clone());
        let min_age = crate::core::reference::Reference::parse(&e.reference)
            .map(|r| settings.min_age_for(&r))
            .unwrap_or(0);
        e.age = Some(Age::record(
            e.remote_digest.as_deref(),
            before,
            created.as_deref(),
            checked_at,
            now,
            min_age,
        ));
    }
}

/// The newer tags' ages after an update: this run's for the tags it
/// checked, the last ones for the tags it left alone, none for tags gone.
fn merge_tag_ages(
    old: &State,
    new: &State,
    checked: &[Entry],
    fresh: BTreeMap<String, BTreeMap<String, Age>>,
) -> BTreeMap<String, BTreeMap<String, Age>> {
    let checked: std::collections::HashSet<&str> = checked.iter().map(|e| e.reference.as_str()).collect();
    let kept: std::collections::HashSet<&str> = new.entries.iter().map(|e| e.reference.as_str()).collect();
    let mut out: BTreeMap<String, BTreeMap<String, Age>> = old
        .tag_ages
        .iter()
        .filter(|(r, _)| kept.contains(r.as_str()) && !checked.contains(r.as_str()))
        .map(|(r, a)| (r.clone(), a.clone()))
        .collect();
    out.extend(fresh);
    out
}
