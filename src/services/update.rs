//! `update`'s workflow, shared by `freshen update` and `freshen check`: ask
//! the registries about every selected local tag, refresh the tag listings,
//! and record the answers. It returns what it found; the command prints it.

use std::collections::BTreeMap;

use crate::core::controls::Age;
use crate::core::image::{Container, LocalImage};
use crate::core::reference::Reference;
use crate::core::report::{self, LocalTag, Row, Selection};
use crate::core::skips::{Controls, HoldBack, Skips};
use crate::core::state::{Entry, RegistryInfo, State};
use crate::core::tagcache::{labels_worth_reading, RemoteImage, TagCache};
use crate::core::update::merge_update;
use crate::core::verdict::Status;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::registry::Registries;
use crate::services::{announce, check, tag_age, tag_refresh};
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
    /// Tags whose check failed this time and whose earlier verdict stands.
    pub kept_verdicts: usize,
    /// How many upgradable tags wait out their minimum age.
    pub waiting: usize,
    /// The upgradable tags kept back by a hold or a skip, counted by the
    /// reason `upgrade` gives (`held`, `skipped`, `failed, rolled back`).
    pub kept_back: Vec<(String, usize)>,
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
    let old = load_state(dir, p)?;
    // The engine lists the local images while the registry clients are set
    // up and the prefetch starts.
    let listing = list_local(settings.docker_host.clone());
    let registries = Registries::new(settings.registry.clone()).map_err(Error::Registry)?;
    for w in registries.warnings() {
        p.warn(&w);
    }
    // Ask the registries about the tags the last update saw while the
    // engine lists what is here now.
    let known_refs = old.entries.iter().filter_map(|e| Reference::parse(&e.reference).ok());
    let prefetch =
        check::Prefetch::start(&registries, known_refs.filter(|r| selection.matches(r)), &old.registries);
    let (engine, images, containers) =
        listing.await.map_err(|e| Error::Internal(format!("listing the local images failed: {e}")))??;
    if p.verbose() {
        crate::services::say_engine(&engine, p).await;
    }
    // A typo in a pattern must not read as "all up to date" to a script;
    // a pattern that matches a pinned image (no tag) is no typo.
    super::every_pattern_matches(patterns, &images, &[])?;
    let targets = report::targets(&images, &selection);
    let waiting = say_checking(&registries, &targets, p);
    let checked_at = output::now_rfc3339();
    let mut cache = TagCache::load(dir);
    let known = check::Known::new(&old.registries, &old.entries, cache.images.keys().map(String::as_str));
    let wants = check::Wants {
        labels: labels_wanted(settings, &targets),
        listings: tag_refresh::listings_to_read(settings, &targets, &cache, output::now_unix()),
    };
    let outcome =
        check::check_all(&engine, &registries, &targets, &known, &wants, &checked_at, prefetch).await;
    let now = output::now_unix();
    let found = Found { targets: &targets, outcome, checked_at, now };
    let (pass, aged, skips) = look_further(settings, &registries, &found, &old, &mut cache).await?;
    waiting.finish();
    if pass.listed + pass.configs > 0 {
        if let Err(e) = cache.save(dir, &lock, now) {
            p.warn(&format!("{e}; tag listings will be fetched again next time"));
        }
    }
    if p.verbose() {
        say_counts(&registries, &found, &pass, p);
    }
    let local = Local { images: &images, containers: &containers, selection };
    // What the metrics say of the host; usually read already by a verdict.
    let model = engine.model().await.ok();
    let ran = record(settings, found, (pass, aged, skips), &old, &cache, local, lock)?;
    record_inventory(settings, &ran, &containers, model.as_ref(), p);
    // When each image was last used, for `autoremove --budget`. A failure
    // here (an unreadable record, kept as it is) does not fail the update.
    let started = std::time::Instant::now();
    match super::usage::refresh(settings, &engine, &images, &ran.state, Some(&ran.lock)).await {
        Ok(usage) if p.verbose() => p.info(&format!(
            "usage record: {} images, refreshed in {} ms",
            usage.images.len(),
            started.elapsed().as_millis()
        )),
        Ok(_) => {}
        Err(e) => p.warn(&format!("{e}; the usage record was not refreshed")),
    }
    Ok(ran)
}

/// The tags whose new image's config is worth a request when they turn out
/// upgradable: its labels or creation time can be shown or decide something.
fn labels_wanted(settings: &Settings, targets: &[LocalTag<'_>]) -> std::collections::HashSet<String> {
    targets
        .iter()
        .filter(|t| {
            let changelog = settings.image_policy(&t.reference).changelog.is_some();
            labels_worth_reading(&t.image.labels, settings.min_age_for(&t.reference), changelog)
        })
        .map(|t| t.reference.to_string())
        .collect()
}

/// The last update's state; a corrupt file is set aside and counts as none.
fn load_state(dir: &std::path::Path, p: &Printer) -> Result<State> {
    match State::load(dir) {
        Ok(s) => Ok(s),
        Err(Error::CorruptStore { path, detail, .. }) => {
            crate::services::set_aside(&path, &detail, p);
            Ok(State::default())
        }
        Err(e) => Err(e),
    }
}

type Listing = (Engine, Vec<LocalImage>, Vec<Container>);

/// The engine's images and containers, listed in a task of their own. No
/// version handshake first: the listing is the first request, and the
/// engine's model (`/version`, `/info`), which only some verdicts need, is
/// read beside it.
fn list_local(docker_host: Option<String>) -> tokio::task::JoinHandle<Result<Listing>> {
    tokio::spawn(async move {
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
    })
}

/// "Checking N images on M registries…" on a terminal, and the line that
/// names a registry silent for a while.
fn say_checking(registries: &Registries, targets: &[LocalTag<'_>], p: &Printer) -> output::waiting::Waiting {
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
    let activity = registries.activity();
    output::waiting::Waiting::start(
        terminal && !targets.is_empty(),
        String::new(),
        std::sync::Arc::new(move || activity.silent(output::waiting::QUIET_FOR)),
    )
}

/// What the checks found, with when.
struct Found<'t, 'i> {
    targets: &'t [LocalTag<'i>],
    outcome: check::Outcome,
    checked_at: String,
    now: i64,
}

/// What is here: the engine's images and containers, and what was asked for.
struct Local<'a> {
    images: &'a [LocalImage],
    containers: &'a [Container],
    selection: Selection,
}

/// After the checks: the labels they read go to the tag cache, the tag
/// listings are refreshed, and the newer tags aged (for the minimum age and
/// skipped newer tags).
async fn look_further(
    settings: &Settings,
    registries: &Registries,
    found: &Found<'_, '_>,
    old: &State,
    cache: &mut TagCache,
) -> Result<(tag_refresh::Pass, tag_age::Aged, Skips)> {
    let (outcome, now) = (&found.outcome, found.now);
    // Labels read right after a verdict, so the pass below skips them.
    for (remote, config) in &outcome.configs {
        cache.images.insert(remote.clone(), RemoteImage::from_config(config, now));
    }
    let mut pass = tag_refresh::refresh(registries, settings, found.targets, outcome, old, cache, now).await;
    pass.configs += outcome.configs.len();
    let skips = Skips::load(&settings.state_dir)?;
    let entries = &outcome.entries;
    let aged = tag_age::age_newer_tags(
        registries,
        settings,
        entries,
        old,
        &old.registries,
        &skips,
        cache,
        &found.checked_at,
        now,
    )
    .await;
    pass.configs += aged.configs;
    pass.warnings.extend(aged.warnings.iter().cloned());
    Ok((pass, aged, skips))
}

/// `--verbose`: requests sent, listings and configs read, rate limits.
fn say_counts(registries: &Registries, found: &Found<'_, '_>, pass: &tag_refresh::Pass, p: &Printer) {
    let n = found.targets.len();
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
    for (reg, info) in &found.outcome.registries {
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

/// Records what this update found (ages, skips, the new state) and builds
/// what the command shows and announces.
fn record(
    settings: &Settings,
    found: Found<'_, '_>,
    (pass, aged, skips): (tag_refresh::Pass, tag_age::Aged, Skips),
    old: &State,
    cache: &TagCache,
    local: Local<'_>,
    lock: Lock,
) -> Result<Ran> {
    let dir = &settings.state_dir;
    let Found { mut outcome, checked_at, now, .. } = found;
    record_ages(settings, old, &mut outcome.entries, cache, &checked_at, now);
    let mut controls = Controls { holds: super::holds(settings)?, skips, now, min_age: None };
    if controls.skips.prune(&outcome.entries, &aged.picks) {
        controls.skips.save(dir, &lock)?;
    }
    let Local { images, containers, selection } = local;
    let mut new = merge_update(old, &outcome.entries, &outcome.registries, &selection, &checked_at);
    new.tag_ages = merge_tag_ages(old, &new, &outcome.entries, aged.tag_ages);
    new.save(dir, &lock)?;
    // What can be upgraded now: neither skipped nor waiting out its minimum
    // age. `check`'s 100, Nagios and the notifications count the same.
    // Counted on the merged record: a tag whose check failed keeps its
    // earlier verdict (see `core::update::keep_verdict`), and counts.
    let checked: std::collections::HashSet<&str> =
        outcome.entries.iter().map(|e| e.reference.as_str()).collect();
    let merged: Vec<&Entry> = new.entries.iter().filter(|e| checked.contains(e.reference.as_str())).collect();
    let upgradable = merged.iter().filter(|e| controls.offered(e)).count();
    let waiting =
        merged.iter().filter(|e| matches!(controls.hold_back(e), Some(HoldBack::Cooldown(_)))).count();
    let kept_verdicts = merged.iter().filter(|e| e.stale.as_deref() == Some(checked_at.as_str())).count();
    let mut kept_back: BTreeMap<String, usize> = BTreeMap::new();
    for e in &merged {
        if let Some(h @ (HoldBack::Held | HoldBack::Skipped(_))) = controls.hold_back(e) {
            *kept_back.entry(h.reason(now)).or_default() += 1;
        }
    }
    let failures: Vec<Entry> =
        outcome.entries.iter().filter(|e| e.status == Status::Unknown).cloned().collect();
    let rows = shown_rows(settings, &new, (images, containers), &selection, &controls, cache);
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
        failures,
        checked: outcome.entries.len(),
        controls,
        waiting,
        kept_verdicts,
        kept_back: kept_back.into_iter().collect(),
    })
}

/// The rows of the selected tags, held and annotated (versions, release
/// notes), for the JSON summary and the notifications.
fn shown_rows(
    settings: &Settings,
    new: &State,
    (images, containers): (&[LocalImage], &[Container]),
    selection: &Selection,
    controls: &Controls,
    cache: &TagCache,
) -> Vec<Row> {
    let mut rows = report::rows(new, images, containers, selection);
    report::mark_held(&mut rows, &controls.holds);
    report::annotate(&mut rows, images, cache, |r| settings.image_policy(r));
    report::mark_controls(&mut rows, new, controls);
    report::link_release_notes(&mut rows, images, cache, new, |r| settings.image_policy(r));
    rows
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

/// Records what this update saw of the host (`inventory.json`) and counts
/// the check: it succeeded if every tag got an answer. Versions of tags
/// this update did not look at (a pattern) are kept from the last one.
fn record_inventory(
    settings: &crate::settings::Settings,
    ran: &Ran,
    containers: &[crate::core::image::Container],
    model: Option<&crate::core::image::EngineModel>,
    p: &Printer,
) {
    use crate::core::inventory::{self, Inventory};
    let dir = &settings.state_dir;
    let at = ran.state.updated_at.clone().unwrap_or_else(crate::output::now_rfc3339);
    let mut new = inventory::take(&ran.rows, containers, model, &at);
    if let Ok(old) = Inventory::load(dir) {
        new.carry_over(old, &ran.state);
    }
    if let Err(e) = new.save(dir, &ran.lock) {
        p.warn(&format!("{e}; the metrics keep the host's previous inventory"));
    }
    super::outcomes::record_check(dir, &ran.lock, ran.failures.is_empty(), p);
}
