//! `freshen fleet`: runs freshen on each host over ssh and collects what
//! each said. Never reaches into another host's engine itself: each host's
//! own freshen does the work, with its own state and lock. Reads and checks
//! run on several hosts at once (a bound); an upgrade goes host by host and
//! stops at the first host whose upgrade fails, unless told to go on.

use futures_util::StreamExt;
use tokio::process::Command;

use crate::core::fleet::{shell_word, HostRun};

/// What to run where.
pub struct Plan<'a> {
    pub hosts: &'a [String],
    /// `freshen` and its arguments on the far side.
    pub remote: Vec<String>,
    /// Hosts asked at once.
    pub jobs: usize,
    /// One host after another, stopping after a host that failed.
    pub one_by_one: bool,
    pub keep_going: bool,
}

/// Each host's run, in the order of `hosts`; hosts left out after a
/// failed upgrade are not in it.
pub async fn run(plan: &Plan<'_>) -> Vec<HostRun> {
    let command = plan.remote.iter().map(|a| shell_word(a)).collect::<Vec<_>>().join(" ");
    if plan.one_by_one {
        let mut runs = Vec::new();
        for host in plan.hosts {
            let r = on_host(host, &command).await;
            let failed = r.code != Some(0);
            runs.push(r);
            if failed && !plan.keep_going {
                break;
            }
        }
        return runs;
    }
    futures_util::stream::iter(plan.hosts.iter().map(|h| on_host(h, &command)))
        .buffered(plan.jobs.max(1))
        .collect()
        .await
}

/// `ssh -T -- HOST COMMAND`, batch mode (a prompt would hang a fleet).
async fn on_host(host: &str, command: &str) -> HostRun {
    let out = Command::new("ssh")
        .args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=30", "-T", "--", host, command])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await;
    match out {
        Ok(o) => HostRun {
            host: host.to_string(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        },
        Err(e) => HostRun {
            host: host.to_string(),
            code: None,
            stdout: String::new(),
            stderr: format!("cannot run ssh: {e}"),
        },
    }
}
