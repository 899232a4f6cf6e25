//! `freshen rollback IMAGE`: point a tag back at the version an upgrade
//! replaced, if that version is still on the host, and record the version
//! it leaves as superseded in turn.

use crate::cli::RollbackArgs;
use crate::core::exit::ExitStatus;
use crate::core::reference::{short_digest, Reference};
use crate::core::rollback::{self, Previous};
use crate::core::state::State;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::output::{self, Printer};
use crate::services::recreate;
use crate::settings::Settings;

pub async fn rollback(settings: &Settings, args: &RollbackArgs, p: &Printer) -> Result<ExitStatus> {
    let mut target = Reference::parse(&args.image)
        .map_err(|e| Error::BadReference { input: args.image.clone(), detail: e })?;
    if target.digest.is_some() {
        return Err(Error::BadReference {
            input: args.image.clone(),
            detail: "name the tag to roll back (nginx:latest), not a digest".into(),
        });
    }
    if target.tag.is_none() {
        target.tag = Some("latest".into());
    }
    let name = target.familiar();
    let key = target.to_string();
    let dir = &settings.state_dir;
    if !args.dry_run {
        crate::services::recreate::repair_interrupted(settings, p).await?;
    }
    let lock = crate::services::lock_state(dir, p)?;
    let mut state = State::load(dir)?;
    let engine = Engine::connect(settings.docker_host.as_deref()).await?;
    let images = engine.images().await?;
    // A tag that is neither here nor in the state is a typo, not a tag
    // without a previous version.
    let remembered: Vec<Reference> =
        state.entries.iter().filter_map(|e| Reference::parse(&e.reference).ok()).collect();
    crate::services::every_pattern_matches(&[target.familiar()], &images, &remembered)?;
    let current = images.iter().find(|i| i.tags.contains(&target)).map(|i| i.id.clone());
    const KEEP_HINT: &str =
        "'freshen upgrade --keep N' or '--keep-previous' keeps previous versions for rollback";
    let present = |id: &str| images.iter().any(|i| i.id == id);
    let previous = match rollback::previous(&state, &key, current.as_deref(), present) {
        Previous::Found(previous) => previous,
        Previous::None => {
            p.line(&format!(
                "{name} cannot be rolled back: no previous version of it is on this host ({KEEP_HINT})."
            ));
            return Ok(ExitStatus::Failed);
        }
        Previous::Removed(id) => {
            p.line(&format!(
                "{name} cannot be rolled back: its previous version {} was removed from this host ({KEEP_HINT}).",
                short_digest(&id)
            ));
            return Ok(ExitStatus::Failed);
        }
    };
    // The image ID, as `docker images` shows it.
    let shown = short_digest(&previous.image_id).to_string();
    if args.dry_run {
        p.line(&format!("Would point {name} back at {shown}, replaced {}.", age_of(&previous.replaced_at)));
        return Ok(ExitStatus::Ok);
    }
    // Before anything changes: the pre-rollback hooks in the current
    // containers. One that defers (75) or fails keeps everything as it is.
    if let (Some(cur), false) = (&current, args.recreate.no_recreate) {
        let (runs, held) =
            recreate::pre_rollback(&engine, settings, &target, cur, &previous.image_id, p).await?;
        say_hooks(&runs, p);
        if let Some((decision, why)) = held {
            let how = if decision == crate::core::hooks::Decision::Defer { "deferred" } else { "stopped" };
            p.line(&format!("{name} was not rolled back: {how} by a hook ({why}); it stays as it was."));
            return Ok(ExitStatus::Failed);
        }
    }
    // From the tag's move on, a signal is acted on between steps: the
    // containers in flight go back to the current version with the tag.
    let _critical = crate::services::interrupt::guard();
    engine.tag(&previous.image_id, &target).await?;
    // The containers that run the version it leaves go back with it; if
    // they do not pass the gate, they and the tag stay where they were.
    let mut recreated: Vec<String> = Vec::new();
    if let (Some(cur), false) = (&current, args.recreate.no_recreate) {
        let wait = std::time::Duration::from_secs(args.recreate.wait);
        match move_containers(settings, &engine, &target, cur, &previous.image_id, wait, p).await? {
            Moved::Done(names) => recreated = names,
            Moved::Interrupted => return Ok(ExitStatus::Failed),
            Moved::Failed(reason) => {
                // That version does not come up here: never offered again.
                rollback::mark_failed(&mut state, &key, &previous.image_id, &reason);
                state.save(dir, &lock)?;
                return Ok(ExitStatus::Failed);
            }
        }
    }
    let now = output::now_rfc3339();
    let leaving = current.as_deref().map(|cur| {
        let image = images.iter().find(|i| i.id == cur);
        (cur, image.and_then(|i| crate::core::report::local_digest(i, &target, None)))
    });
    rollback::merge(&mut state, &key, leaving, &previous, &now);
    state.save(dir, &lock)?;
    p.line(&format!(
        "{name} points at {shown} again (the version replaced {}).",
        age_of(&previous.replaced_at)
    ));
    if recreated.is_empty() {
        p.line(&format!(
            "Run 'freshen hold {name}' to keep 'freshen upgrade' from upgrading it again, and recreate its containers."
        ));
    } else {
        p.line(&format!("Recreated {} on it.", recreated.join(", ")));
        p.line(&format!("Run 'freshen hold {name}' to keep 'freshen upgrade' from upgrading it again."));
    }
    Ok(ExitStatus::Ok)
}

/// What moving the containers did.
enum Moved {
    /// They run the version the tag went back to: their names.
    Done(Vec<String>),
    /// They did not pass the health gate there (the reason): they and the
    /// tag stay on the current version.
    Failed(String),
    /// A signal came first: they and the tag stay on the current version.
    Interrupted,
}

/// Moves the containers of the version the tag leaves (`from`) to the one
/// it goes back to.
async fn move_containers(
    settings: &Settings,
    engine: &Engine,
    target: &Reference,
    from: &str,
    to: &str,
    wait: std::time::Duration,
    p: &Printer,
) -> Result<Moved> {
    let o = recreate::move_containers(engine, settings, target, from, to, wait, p).await?;
    for e in &o.errors {
        p.warn(e);
    }
    say_hooks(&o.hooks, p);
    if o.interrupted {
        p.warn(&format!(
            "{}: interrupted before the containers passed the health gate on {}; \
             they and the tag stay on the current version.",
            target.familiar(),
            short_digest(to)
        ));
        return Ok(Moved::Interrupted);
    }
    if let Some(reason) = &o.failure {
        p.warn(&format!(
            "{}: the containers did not pass the health gate on {}: {reason}; \
             they and the tag stay on the current version, and no later rollback goes to it.",
            target.familiar(),
            short_digest(to)
        ));
        return Ok(Moved::Failed(reason.clone()));
    }
    Ok(Moved::Done(o.recreated.iter().map(|r| r.name.clone()).collect()))
}

/// What each hook did, and its last lines.
fn say_hooks(runs: &[crate::services::hooks::HookRun], p: &Printer) {
    for h in runs {
        p.info(&h.summary());
        for line in &h.output {
            p.info(&format!("  {}| {line}", h.container));
        }
    }
}

fn age_of(rfc3339: &str) -> String {
    match crate::core::time::parse_rfc3339(rfc3339) {
        Some(t) => crate::core::time::age(output::now_unix() - t),
        None => rfc3339.to_string(),
    }
}
