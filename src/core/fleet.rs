//! `freshen fleet`: one view over what freshen said on several hosts. Each
//! host ran `freshen COMMAND --format json` over ssh; this merges their
//! answers into rows that carry the host, and decides the exit status. A
//! host that could not be reached (or whose answer is not freshen's JSON)
//! is a row of its own with the reason: it never drops out of the view.
//! Pure: the answers come in as text.

use serde_json::Value;

use crate::core::exit::ExitStatus;

/// The commands `fleet` runs, and how it reads their answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetCommand {
    /// `update`, `check`, `list`: the `list --format json` document.
    Listing,
    /// `upgrade`: the change report.
    Upgrade,
}

impl FleetCommand {
    pub fn of(name: &str) -> Result<FleetCommand, String> {
        match name {
            "update" | "check" | "list" => Ok(FleetCommand::Listing),
            "upgrade" => Ok(FleetCommand::Upgrade),
            other => Err(format!(
                "freshen fleet runs update, check, list or upgrade, not '{other}': run other commands with ssh"
            )),
        }
    }
}

/// What one host's run came to.
#[derive(Debug, Clone)]
pub struct HostRun {
    pub host: String,
    /// The remote freshen's exit status; None when ssh could not run it
    /// (255 is ssh's own failure).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// One row of the merged view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub host: String,
    /// The image tag, or empty for a row about the host itself.
    pub image: String,
    /// `upgradable`, `up-to-date`, … ; `upgraded`, `rolled-back`, `failed`;
    /// `unreachable`, `error`.
    pub status: String,
    pub current: String,
    pub available: String,
    /// The reason for an unreachable host or a failure.
    pub note: String,
}

/// The merged view and the JSON rows (each the host's own object, with
/// `host` added).
pub struct Merged {
    pub rows: Vec<Row>,
    pub json: Vec<Value>,
    pub unreachable: usize,
    pub failed_hosts: usize,
    /// `check`: some host has an upgradable image.
    pub upgradable: bool,
}

fn last_line(text: &str) -> String {
    text.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("no output").to_string()
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

pub fn merge(command: FleetCommand, runs: &[HostRun]) -> Merged {
    let mut m =
        Merged { rows: Vec::new(), json: Vec::new(), unreachable: 0, failed_hosts: 0, upgradable: false };
    for run in runs {
        let doc: Option<Value> = serde_json::from_str(&run.stdout).ok();
        let (Some(doc), Some(code)) = (doc, run.code.filter(|c| *c != 255)) else {
            let (status, why) = match run.code {
                None | Some(255) => ("unreachable", last_line(&run.stderr)),
                Some(code) => ("error", format!("exit {code}: {}", last_line(&run.stderr))),
            };
            if status == "unreachable" {
                m.unreachable += 1;
            } else {
                m.failed_hosts += 1;
            }
            m.rows.push(Row {
                host: run.host.clone(),
                image: String::new(),
                status: status.into(),
                current: String::new(),
                available: String::new(),
                note: why.clone(),
            });
            m.json.push(serde_json::json!({"host": run.host, "status": status, "error": why}));
            continue;
        };
        if code != 0 && code != 100 {
            m.failed_hosts += 1;
        }
        match command {
            FleetCommand::Listing => {
                for image in doc.get("images").and_then(Value::as_array).into_iter().flatten() {
                    let status = text(image, "status");
                    m.upgradable |= status == "upgradable";
                    let reference = text(image, "reference");
                    m.rows.push(Row {
                        host: run.host.clone(),
                        image: reference,
                        current: text(image, "current_version"),
                        available: image
                            .get("candidate_version")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or_default(),
                        note: text(image, "error"),
                        status,
                    });
                    let mut row = image.clone();
                    if let Some(o) = row.as_object_mut() {
                        o.insert("host".into(), Value::String(run.host.clone()));
                    }
                    m.json.push(row);
                }
            }
            FleetCommand::Upgrade => {
                let mut push = |status: &str, item: &Value, note: String| {
                    m.rows.push(Row {
                        host: run.host.clone(),
                        image: text(item, "reference"),
                        status: status.into(),
                        current: String::new(),
                        available: String::new(),
                        note,
                    });
                };
                let list = |key: &str| doc.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
                for u in list("upgraded") {
                    push("upgraded", &u, String::new());
                }
                for r in list("rolled_back") {
                    push("rolled-back", &r, text(&r, "reason"));
                }
                for f in list("failed") {
                    push("failed", &f, text(&f, "error"));
                }
                let mut report = doc.clone();
                if let Some(o) = report.as_object_mut() {
                    o.insert("host".into(), Value::String(run.host.clone()));
                    o.insert("exit_status".into(), Value::from(code));
                }
                m.json.push(report);
            }
        }
    }
    m
}

impl Merged {
    /// 1 when a host was unreachable or failed; for `check`, 100 when
    /// every host answered and one has an update; else 0.
    pub fn exit(&self, check: bool) -> ExitStatus {
        if self.unreachable + self.failed_hosts > 0 {
            ExitStatus::Failed
        } else if check && self.upgradable {
            ExitStatus::Upgradable
        } else {
            ExitStatus::Ok
        }
    }
}

/// An argument as one word for the remote shell that ssh hands the
/// command to.
pub fn shell_word(arg: &str) -> String {
    if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+".contains(&b)) {
        return arg.to_string();
    }
    format!("'{}'", arg.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(host: &str, code: Option<i32>, stdout: &str, stderr: &str) -> HostRun {
        HostRun { host: host.into(), code, stdout: stdout.into(), stderr: stderr.into() }
    }

    #[test]
    fn hosts_merge_into_one_view_and_a_silent_host_stays_in_it() {
        let doc = r#"{"schema_version":1,"images":[
            {"reference":"docker.io/library/nginx:1.25","status":"upgradable","current_version":"1.25.0","candidate_version":"1.25.1"},
            {"reference":"docker.io/library/redis:7","status":"up-to-date","current_version":"7.2"}]}"#;
        let runs = [
            run("a", Some(0), doc, ""),
            run("b", Some(0), r#"{"images":[]}"#, ""),
            run("down", Some(255), "", "ssh: connect to host down port 22: Connection refused\n"),
        ];
        let m = merge(FleetCommand::Listing, &runs);
        assert_eq!(m.rows.len(), 3);
        assert_eq!(
            m.rows[0],
            Row {
                host: "a".into(),
                image: "docker.io/library/nginx:1.25".into(),
                status: "upgradable".into(),
                current: "1.25.0".into(),
                available: "1.25.1".into(),
                note: String::new()
            }
        );
        assert_eq!(m.rows[2].status, "unreachable");
        assert_eq!(m.rows[2].note, "ssh: connect to host down port 22: Connection refused");
        assert_eq!(m.json[0]["host"], "a");
        assert_eq!(m.json[2]["status"], "unreachable");
        assert_eq!(m.exit(true), ExitStatus::Failed, "an unreachable host fails the run");
        let m = merge(FleetCommand::Listing, &runs[..2]);
        assert_eq!(m.exit(true), ExitStatus::Upgradable);
        assert_eq!(m.exit(false), ExitStatus::Ok);
        let garbled = merge(FleetCommand::Listing, &[run("x", Some(127), "", "freshen: not found")]);
        assert_eq!((garbled.rows[0].status.as_str(), garbled.exit(false)), ("error", ExitStatus::Failed));
    }

    #[test]
    fn upgrade_reports_become_rows() {
        let doc = r#"{"upgraded":[{"reference":"r/a:1"}],"rolled_back":[{"reference":"r/b:1","reason":"unhealthy"}],"failed":[]}"#;
        let m = merge(FleetCommand::Upgrade, &[run("h", Some(1), doc, "")]);
        let st: Vec<&str> = m.rows.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(st, ["upgraded", "rolled-back"]);
        assert_eq!(m.json[0]["exit_status"], 1);
        assert_eq!(m.exit(false), ExitStatus::Failed);
        assert!(FleetCommand::of("autoremove").unwrap_err().contains("not 'autoremove'"));
    }

    #[test]
    fn arguments_reach_the_remote_shell_as_words() {
        assert_eq!(shell_word("--upgradable"), "--upgradable");
        assert_eq!(shell_word("ghcr.io/org/*"), "'ghcr.io/org/*'");
        assert_eq!(shell_word("a b'c"), "'a b'\\''c'");
        assert_eq!(shell_word(""), "''");
    }
}
