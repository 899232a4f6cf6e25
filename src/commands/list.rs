//! `freshen list`: the last update's verdicts joined with the images on the
//! host now. No registry traffic, so it works offline.

use crate::cli::{ListArgs, ListFormat};
use crate::commands::EXIT_OK;
use crate::docker::Engine;
use crate::error::Result;
use crate::render::{self, Printer};
use crate::report::{self, Selection};
use crate::settings::Settings;
use crate::state::State;
use crate::tagcache::TagCache;
use crate::verdict::Status;

pub async fn list(settings: &Settings, args: &ListArgs, p: &Printer) -> Result<u8> {
    let selection = Selection::new(&args.patterns, settings.exclude.clone())?;
    let state = State::load(&settings.state_dir)?;
    let engine = Engine::connect(settings.docker_host.as_deref()).await?;
    let (images, containers) = tokio::try_join!(engine.images(), engine.containers())?;
    let mut rows = report::rows(&state, &images, &containers, &selection);
    let cache = TagCache::load(&settings.state_dir);
    report::annotate(&mut rows, &images, &cache, |r| settings.image_policy(r));
    if args.upgradable {
        rows.retain(|r| r.status == Status::Upgradable);
    }
    match args.format {
        ListFormat::Json => p.json(state.updated_at.as_deref(), &rows),
        ListFormat::Apt => p.apt(&rows),
        ListFormat::Table => p.table(&rows, render::now_unix()),
    }
    Ok(EXIT_OK)
}
