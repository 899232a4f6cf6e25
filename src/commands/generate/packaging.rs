//! The files of the Debian package that freshen can write itself: the
//! systemd service and timer (the very units `freshen schedule` writes,
//! for the packaged binary and a system-wide state directory) and the
//! commented default config. Generated and committed like the man pages,
//! so they cannot drift from the code.

use crate::core::schedule;

/// Where the package puts the binary.
pub const PACKAGED_BINARY: &str = "/usr/bin/freshen";
/// The state directory of the packaged service (`/var/lib`: system state).
pub const PACKAGED_STATE_DIR: &str = "/var/lib/freshen";
/// What `freshen schedule` run as root would hand the unit: root's
/// registry credentials, which a system service (no `HOME`) cannot find.
pub const PACKAGED_DOCKER_CONFIG: &str = "/root/.docker";

/// The first line of each unit, which says who wrote it.
pub const PACKAGED_HEADER: &str =
    "# Installed by the freshen package, disabled: 'systemctl enable --now freshen.timer' starts it.";

/// `freshen.service` and `freshen.timer` as the package installs them:
/// `schedule`'s units with its default calendar and delay.
pub fn units(on_calendar: &str, delay_secs: u64) -> Vec<(&'static str, String)> {
    let command: Vec<String> =
        [PACKAGED_BINARY, "--state-dir", PACKAGED_STATE_DIR, "update", "--notify"].map(String::from).to_vec();
    let env = [("DOCKER_CONFIG", PACKAGED_DOCKER_CONFIG.to_string())];
    schedule::systemd_units(&command, &env, on_calendar, delay_secs)
        .into_iter()
        .map(|(name, text)| {
            let body = text.split_once('\n').map_or("", |(_, rest)| rest);
            (name, format!("{PACKAGED_HEADER}\n{body}"))
        })
        .collect()
}
