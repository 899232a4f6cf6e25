//! Periodic runs: the systemd service and timer pair (or the cron.d file)
//! that `freshen schedule` prints or installs. The timer waits a random
//! delay so a fleet does not reach the registries at once, and catches up
//! after downtime (`Persistent=true`); the cron job gets a minute and hour
//! picked from the host name for the same reason. Pure text generation.

use sha2::Digest as _;

pub const SERVICE: &str = "freshen.service";
pub const TIMER: &str = "freshen.timer";
pub const CRON_FILE: &str = "freshen";
pub const SYSTEMD_DIR: &str = "/etc/systemd/system";
pub const CRON_DIR: &str = "/etc/cron.d";

/// How often cron can run us: the calendar words that have a crontab form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronEvery {
    Hourly,
    Daily,
    Weekly,
}

impl CronEvery {
    pub fn parse(word: &str) -> Result<CronEvery, String> {
        match word {
            "hourly" => Ok(CronEvery::Hourly),
            "daily" => Ok(CronEvery::Daily),
            "weekly" => Ok(CronEvery::Weekly),
            other => Err(format!(
                "--cron runs hourly, daily or weekly, not '{other}': use one of those, \
                 or a systemd timer for calendar expressions"
            )),
        }
    }
}

/// An argument as systemd's `ExecStart=` reads it: quoted when it holds
/// anything but plain characters, with `%` and `$` escaped.
pub fn systemd_arg(arg: &str) -> String {
    let escaped = arg.replace('%', "%%").replace('$', "$$");
    let plain = !escaped.is_empty()
        && escaped.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%$".contains(c));
    if plain {
        escaped
    } else {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// An argument for `/bin/sh` in a crontab: single-quoted when needed, and
/// with `%` escaped (cron turns a bare `%` into a newline).
pub fn cron_arg(arg: &str) -> String {
    let plain = !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    let quoted = if plain { arg.to_string() } else { format!("'{}'", arg.replace('\'', "'\\''")) };
    quoted.replace('%', "\\%")
}

/// A value going into a unit or crontab must stay on its line.
pub fn check_one_line(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(format!("{what} must be one non-empty line"));
    }
    Ok(())
}

/// The service and the timer, named `freshen.service` and `freshen.timer`.
/// `env` is set for the run: a system service starts without `HOME`, so
/// what freshen would otherwise find from it is passed explicitly.
pub fn systemd_units(
    command: &[String],
    env: &[(&str, String)],
    on_calendar: &str,
    delay_secs: u64,
) -> Vec<(&'static str, String)> {
    let exec = command.iter().map(|a| systemd_arg(a)).collect::<Vec<_>>().join(" ");
    let environment: String =
        env.iter().map(|(k, v)| format!("Environment={}\n", systemd_arg(&format!("{k}={v}")))).collect();
    let service = format!(
        "# Written by 'freshen schedule --install'; 'freshen schedule --uninstall' removes it.\n\
         [Unit]\n\
         Description=Check Docker images for updates and announce new ones (freshen)\n\
         Wants=network-online.target\n\
         After=network-online.target docker.service\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         {environment}\
         ExecStart={exec}\n\
         Nice=10\n\
         IOSchedulingClass=idle\n"
    );
    let timer = format!(
        "# Written by 'freshen schedule --install'; 'freshen schedule --uninstall' removes it.\n\
         [Unit]\n\
         Description=Run freshen regularly to check Docker images for updates\n\
         \n\
         [Timer]\n\
         OnCalendar={on_calendar}\n\
         RandomizedDelaySec={delay_secs}\n\
         Persistent=true\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n"
    );
    vec![(SERVICE, service), (TIMER, timer)]
}

/// Minute and hour from the host name: stable for one host, spread over
/// a fleet. Daily and weekly runs fall between 00:00 and 05:59.
pub fn cron_time(host: &str) -> (u32, u32) {
    let h = sha2::Sha256::digest(host.as_bytes());
    let n = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    (n % 60, (n / 60) % 6)
}

/// The `/etc/cron.d/freshen` file.
pub fn cron_file(command: &[String], env: &[(&str, String)], every: CronEvery, host: &str) -> String {
    let (minute, hour) = cron_time(host);
    let when = match every {
        CronEvery::Hourly => format!("{minute} * * * *"),
        CronEvery::Daily => format!("{minute} {hour} * * *"),
        CronEvery::Weekly => format!("{minute} {hour} * * 0"),
    };
    let cmd = command.iter().map(|a| cron_arg(a)).collect::<Vec<_>>().join(" ");
    // cron.d assignments are taken literally (no quotes, no expansion).
    let environment: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    format!(
        "# Written by 'freshen schedule --cron --install'; 'freshen schedule --cron --uninstall' removes it.\n\
         # Checks Docker images for updates and announces new ones; errors go to cron's mail.\n\
         SHELL=/bin/sh\n\
         PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
         {environment}\
         {when} root {cmd} --quiet >/dev/null\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> Vec<String> {
        ["/usr/local/bin/freshen", "--state-dir", "/var/lib/my state", "update", "--notify"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn units() {
        let units = systemd_units(&cmd(), &[("DOCKER_CONFIG", "/root/.docker".into())], "daily", 3600);
        assert_eq!(units[0].0, "freshen.service");
        assert!(units[0].1.contains(
            "\nExecStart=/usr/local/bin/freshen --state-dir \"/var/lib/my state\" update --notify\n"
        ));
        assert!(units[0].1.contains("\nType=oneshot\nEnvironment=DOCKER_CONFIG=/root/.docker\nExecStart="));
        let timer = &units[1].1;
        for line in
            ["OnCalendar=daily", "RandomizedDelaySec=3600", "Persistent=true", "WantedBy=timers.target"]
        {
            assert!(timer.lines().any(|l| l == line), "{line} missing in\n{timer}");
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(systemd_arg("/usr/bin/freshen"), "/usr/bin/freshen");
        assert_eq!(systemd_arg("50%"), "50%%");
        assert_eq!(systemd_arg("a \"b\" $X"), "\"a \\\"b\\\" $$X\"");
        assert_eq!(cron_arg("/opt/my dir/freshen"), "'/opt/my dir/freshen'");
        assert_eq!(cron_arg("it's"), "'it'\\''s'");
        assert_eq!(cron_arg("50%"), "'50\\%'");
        assert!(check_one_line("x", "daily\nExecStart=/bin/evil").is_err());
        assert!(check_one_line("x", "").is_err());
        assert!(check_one_line("x", "Mon *-*-* 04:00").is_ok());
    }

    #[test]
    fn cron_lines() {
        let (m, h) = cron_time("web-1");
        assert!(m < 60 && h < 6);
        assert_eq!(cron_time("web-1"), (m, h), "stable per host");
        let file = cron_file(&cmd(), &[("DOCKER_CONFIG", "/root/.docker".into())], CronEvery::Daily, "web-1");
        assert!(file.contains("\nDOCKER_CONFIG=/root/.docker\n"), "{file}");
        let line = file.lines().last().unwrap();
        assert_eq!(
            line,
            format!(
                "{m} {h} * * * root /usr/local/bin/freshen --state-dir '/var/lib/my state' update --notify \
                 --quiet >/dev/null"
            )
        );
        assert!(cron_file(&cmd(), &[], CronEvery::Hourly, "web-1").contains(&format!("\n{m} * * * * root ")));
        assert!(
            cron_file(&cmd(), &[], CronEvery::Weekly, "web-1").contains(&format!("\n{m} {h} * * 0 root "))
        );
        assert!(CronEvery::parse("Mon 04:00").unwrap_err().contains("hourly, daily or weekly"));
    }
}
