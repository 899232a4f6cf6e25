//! `freshen generate` (hidden): shell completions and man pages, made from
//! the clap definitions so they never drift from the real command line,
//! freshen.conf(5) and the package's default config from the table of
//! config keys, and the package's systemd units from `schedule`'s. The
//! generated files are committed; `--check` tells when they are stale.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, GenerateArgs};
use crate::core::exit::ExitStatus;
use crate::error::{Error, Result};
use crate::output::Printer;

mod command_pages;
mod conf_page;
mod man_sections;
mod packaging;

fn render_failed(e: std::io::Error) -> Error {
    Error::Internal(format!("cannot render the man page: {e}"))
}

/// The sections every page takes from clap: title, name, synopsis,
/// description and options.
fn clap_sections(man: &clap_mangen::Man) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    man.render_title(&mut buf).map_err(render_failed)?;
    man.render_name_section(&mut buf).map_err(render_failed)?;
    man.render_synopsis_section(&mut buf).map_err(render_failed)?;
    man.render_description_section(&mut buf).map_err(render_failed)?;
    man.render_options_section(&mut buf).map_err(render_failed)?;
    Ok(buf)
}

/// freshen(1): clap's sections, then configuration, environment, files,
/// exit status and examples (in place of clap's EXTRA, the exit codes of
/// `--help`), then the version.
fn main_page(cmd: &clap::Command) -> Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut buf = clap_sections(&man)?;
    man.render_subcommands_section(&mut buf).map_err(render_failed)?;
    buf.extend_from_slice(man_sections::SECTIONS.as_bytes());
    man.render_version_section(&mut buf).map_err(render_failed)?;
    Ok(buf)
}

/// A command's page: clap's sections, the hand-written ones, the version.
fn command_page(sub: &clap::Command, name: &str) -> Result<Vec<u8>> {
    let man = clap_mangen::Man::new(sub.clone());
    let mut buf = clap_sections(&man)?;
    buf.extend_from_slice(command_pages::sections(name).as_bytes());
    if sub.get_version().is_some() {
        man.render_version_section(&mut buf).map_err(render_failed)?;
    }
    Ok(buf)
}

/// The default of one of `schedule`'s options, as clap has it.
fn schedule_default(cmd: &clap::Command, id: &str) -> Result<String> {
    cmd.find_subcommand("schedule")
        .and_then(|s| s.get_arguments().find(|a| a.get_id() == id))
        .and_then(|a| a.get_default_values().first())
        .map(|v| v.to_string_lossy().into_owned())
        .ok_or_else(|| Error::Internal(format!("schedule has no default for {id}")))
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
        let page_name = sub.get_name().to_string();
        let sub = sub.clone().name(name.clone()).bin_name(name.replace('-', " "));
        out.push((PathBuf::from(format!("man/{name}.1")), command_page(&sub, &page_name)?));
    }
    let version = cmd.get_version().unwrap_or_default().to_string();
    out.push((PathBuf::from("man/freshen.conf.5"), conf_page::conf_page(&version)));
    out.push((PathBuf::from("packaging/config.toml"), conf_page::default_config().into_bytes()));
    let delay = crate::core::time::duration_secs(&schedule_default(&cmd, "randomized_delay")?)
        .map_err(Error::Internal)?;
    for (name, text) in packaging::units(&schedule_default(&cmd, "on_calendar")?, delay.max(0) as u64) {
        out.push((Path::new("packaging").join(name), text.into_bytes()));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command that has a man page has its hand-written sections.
    #[test]
    fn every_command_page_has_examples_exit_status_and_files() {
        for sub in Cli::command().get_subcommands().filter(|s| !s.is_hide_set()) {
            let text = command_pages::sections(sub.get_name());
            for section in [".SH EXAMPLES", ".SH \"EXIT STATUS\"", ".SH FILES"] {
                assert!(text.contains(section), "freshen-{} lacks {section}", sub.get_name());
            }
        }
    }

    /// Every key of the table is in freshen.conf(5) and, commented, in the
    /// package's default config, with its default.
    #[test]
    fn every_config_key_is_in_the_page_and_the_default_config() {
        let page = String::from_utf8(conf_page::conf_page("0")).unwrap();
        let config = conf_page::default_config();
        for k in crate::settings::keys::CONFIG_KEYS {
            let entry = format!("\\fB{}\\fR = ", conf_page::roff(k.key));
            assert!(page.contains(&entry), "freshen.conf(5) lacks {}", k.key);
            assert!(
                page.contains(&conf_page::roff(k.default)),
                "freshen.conf(5) lacks the default of {}",
                k.key
            );
            assert!(config.contains(&format!("\n#{} = ", k.key)), "the default config lacks {}", k.key);
        }
        assert!(config.lines().all(|l| l.is_empty() || l.starts_with('#')), "everything is commented out");
        // Uncommented, the default config parses.
        let text: String = config
            .lines()
            .filter(|l| !l.starts_with("# ") && *l != "#" && !l.starts_with("#command"))
            .map(|l| format!("{}\n", l.trim_start_matches('#')))
            .collect();
        assert!(toml::from_str::<toml::Table>(&text).is_ok(), "{text}");
    }
}
