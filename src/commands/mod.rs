//! One module per subcommand; each returns the process's exit status.

pub mod autoremove;
pub mod generate;
pub mod hold;
pub mod list;
pub mod motd;
pub mod notify;
pub mod policy;
pub mod rollback;
pub mod schedule;
pub mod update;
pub mod upgrade;

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{Error, Result};

/// How long a second freshen waits for the first to finish with the state.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Takes the state lock for a command that writes the state, saying once
/// (on stderr) whose lock it waits for.
pub fn lock_state(dir: &std::path::Path, p: &crate::output::Printer) -> Result<crate::core::state::Lock> {
    crate::core::state::Lock::acquire(dir, LOCK_WAIT, |holder| {
        p.info(&format!("Waiting for another freshen ({holder}) to finish…"));
    })
}

/// Finishes or undoes a container recreation that a killed run left (see
/// `services::recreate::repair`), before a command changes anything: the
/// container of each name exists and runs, on the old or the new version.
/// Without a journal this costs one `stat`.
pub async fn repair_interrupted(
    settings: &crate::settings::Settings,
    p: &crate::output::Printer,
) -> Result<()> {
    use crate::core::state::{State, Superseded};
    let dir = &settings.state_dir;
    if !crate::store::journal::Journal::exists(dir) {
        return Ok(());
    }
    let lock = lock_state(dir, p)?;
    let engine = crate::engine::Engine::connect(settings.docker_host.as_deref()).await?;
    let opts = crate::services::recreate::Options {
        wait: std::time::Duration::from_secs(crate::cli::DEFAULT_WAIT),
        docker_host: settings.docker_host.clone(),
    };
    let repaired = crate::services::recreate::repair(&engine, dir, &opts).await?;
    for line in &repaired.lines {
        p.warn(line);
    }
    if repaired.undone.is_empty() {
        return Ok(());
    }
    // The tag is on the old image again: it is upgradable again (an
    // interruption is no verdict on the new version), and the new version
    // is the one superseded now.
    let mut state = State::load(dir)?;
    let now = crate::output::now_rfc3339();
    for (reference, old, new) in &repaired.undone {
        let old_digest = state
            .superseded
            .iter()
            .find(|s| &s.reference == reference && &s.image_id == old)
            .and_then(|s| s.digest.clone());
        state.superseded.retain(|s| !(&s.reference == reference && &s.image_id == old));
        let mut new_digest = None;
        for e in state.entries.iter_mut().filter(|e| &e.reference == reference && &e.image_id == new) {
            e.status = crate::core::verdict::Status::Upgradable;
            e.image_id = old.clone();
            new_digest = e.local_digest.take();
            e.local_digest = old_digest.clone();
        }
        state.superseded.push(Superseded {
            image_id: new.clone(),
            reference: reference.clone(),
            digest: new_digest,
            replaced_at: now.clone(),
            replaced_by: old.clone(),
            tag_moved: false,
        });
    }
    state.save(dir, &lock)
}

/// Moves an unreadable file of the state directory aside (as
/// `NAME.json.corrupt`, for a person to look at) so the run can rebuild it,
/// and says so.
pub fn set_aside(path: &std::path::Path, detail: &str, p: &crate::output::Printer) {
    let aside = path.with_extension("json.corrupt");
    let _ = std::fs::rename(path, &aside);
    p.warn(&format!(
        "state file {} was unreadable ({detail}); kept it as {} and starting afresh",
        path.display(),
        aside.display()
    ));
}

/// Exit statuses, documented in README.md and `--help`.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_UPGRADABLE: u8 = 100;

/// apt's `Do you want to continue? [Y/n]`. `--yes` answers it; without a
/// terminal to ask on, stop rather than guess.
pub fn confirm(yes: bool, what: &str) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "there is no terminal to ask whether to {what}: run again with --yes to go ahead, \
             or --dry-run to only see the plan"
        )));
    }
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "Do you want to continue? [Y/n] ");
    let _ = out.flush();
    drop(out);
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Usage(format!("cannot read the answer: {e}")))?;
    let a = answer.trim().to_ascii_lowercase();
    Ok(a.is_empty() || a == "y" || a == "yes")
}

/// `1 image`, `2 images`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
