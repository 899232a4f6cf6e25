//! `freshen fleet COMMAND`: the command run by each host's own freshen
//! over ssh, merged into one view with the host in every row.

use crate::cli::{FleetArgs, FleetFormat};
use crate::core::exit::ExitStatus;
use crate::core::fleet::{self, FleetCommand};
use crate::error::{Error, Result};
use crate::output::Printer;
use crate::services::fleet as service;
use crate::settings::Settings;

pub async fn fleet(settings: &Settings, args: &FleetArgs, p: &Printer) -> Result<ExitStatus> {
    let hosts = if args.hosts.is_empty() { &settings.fleet_hosts } else { &args.hosts };
    if hosts.is_empty() {
        return Err(Error::Usage(
            "freshen fleet needs hosts: --hosts user@host,... or hosts = [...] in the config file's [fleet] section"
                .into(),
        ));
    }
    if let Some(h) = hosts.iter().find(|h| h.is_empty() || h.starts_with('-')) {
        return Err(Error::Usage(format!("'{h}' is not a host: give user@host or an ssh alias")));
    }
    let name = &args.command[0];
    let command = FleetCommand::of(name).map_err(Error::Usage)?;
    if args.command.iter().any(|a| a == "--format" || a.starts_with("--format=")) {
        return Err(Error::Usage("give --format to 'freshen fleet' itself, before the command".into()));
    }
    let mut remote = vec!["freshen".to_string()];
    remote.extend(args.command.iter().cloned());
    remote.extend(["--format".to_string(), "json".to_string()]);
    let plan = service::Plan {
        hosts,
        remote,
        jobs: args.jobs,
        one_by_one: command == FleetCommand::Upgrade,
        keep_going: args.keep_going,
    };
    let runs = service::run(&plan).await;
    if runs.len() < hosts.len() {
        let left: Vec<&str> = hosts[runs.len()..].iter().map(String::as_str).collect();
        p.warn(&format!(
            "the upgrade failed on {}: not run on {} (--keep-going goes on after a failure)",
            runs.last().map_or("", |r| r.host.as_str()),
            left.join(", ")
        ));
    }
    let merged = fleet::merge(command, &runs);
    match args.format {
        FleetFormat::Json => p.json_value(&serde_json::Value::Array(merged.json.clone())),
        FleetFormat::Table => p.fleet_table(&merged.rows),
    }
    for r in merged.rows.iter().filter(|r| r.status == "unreachable") {
        p.warn(&format!("{}: unreachable: {}", r.host, r.note));
    }
    Ok(merged.exit(name == "check"))
}
