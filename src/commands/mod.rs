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
