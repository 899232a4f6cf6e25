//! `freshen generate` (hidden): shell completions and man pages, made from
//! the clap definitions so they never drift from the real command line.
//! The generated files are committed; `--check` tells when they are stale.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, GenerateArgs};
use crate::core::exit::ExitStatus;
use crate::error::{Error, Result};
use crate::output::Printer;

mod man_sections;

/// freshen(1): clap's sections, then configuration, environment, files,
/// exit status and examples (in place of clap's EXTRA, the exit codes of
/// `--help`), then the version.
fn main_page(cmd: &clap::Command) -> Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut buf = Vec::new();
    let fail = |e: std::io::Error| Error::Internal(format!("cannot render the man page: {e}"));
    man.render_title(&mut buf).map_err(fail)?;
    man.render_name_section(&mut buf).map_err(fail)?;
    man.render_synopsis_section(&mut buf).map_err(fail)?;
    man.render_description_section(&mut buf).map_err(fail)?;
    man.render_options_section(&mut buf).map_err(fail)?;
    man.render_subcommands_section(&mut buf).map_err(fail)?;
    buf.extend_from_slice(man_sections::SECTIONS.as_bytes());
    man.render_version_section(&mut buf).map_err(fail)?;
    Ok(buf)
}

/// Every generated file, relative to the repository root, with its content.
pub fn files() -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    for (shell, name) in
        [(Shell::Bash, "freshen.bash"), (Shell::Zsh, "_freshen"), (Shell::Fish, "freshen.fish")]
    {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "freshen", &mut buf);
        out.push((Path::new("completions").join(name), buf));
    }
    let cmd = Cli::command();
    out.push((PathBuf::from("man/freshen.1"), main_page(&cmd)?));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("freshen-{}", sub.get_name());
        let sub = sub.clone().name(name.clone()).bin_name(name.replace('-', " "));
        let mut buf = Vec::new();
        clap_mangen::Man::new(sub)
            .render(&mut buf)
            .map_err(|e| Error::Internal(format!("cannot render the man page: {e}")))?;
        out.push((PathBuf::from(format!("man/{name}.1")), buf));
    }
    Ok(out)
}

pub fn generate(args: &GenerateArgs, p: &Printer) -> Result<ExitStatus> {
    let mut stale = Vec::new();
    for (rel, content) in files()? {
        let path = args.dir.join(&rel);
        let current = std::fs::read(&path).ok();
        if current.as_deref() == Some(content.as_slice()) {
            continue;
        }
        if args.check {
            stale.push(rel.display().to_string());
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        }
        std::fs::write(&path, &content).map_err(|e| Error::io("write", &path, e))?;
        p.info(&format!("wrote {}", path.display()));
    }
    if !stale.is_empty() {
        p.warn(&format!(
            "generated files are stale: {}; run 'cargo run -- generate' and commit them",
            stale.join(", ")
        ));
        return Ok(ExitStatus::Failed);
    }
    Ok(ExitStatus::Ok)
}
