//! The hand-written sections of each command's man page (examples, exit
//! status, files), written after clap's NAME, SYNOPSIS, DESCRIPTION and
//! OPTIONS, before VERSION. One entry per command; a command without one
//! fails the test below, so a new command gets its sections too.

use super::conf_page::roff;

/// What one command's page adds to clap's sections.
pub struct CommandPage {
    pub name: &'static str,
    /// (command line, what it does)
    pub examples: &'static [(&'static str, &'static str)],
    /// (status, when)
    pub exit: &'static [(&'static str, &'static str)],
    /// (path, what freshen does with it)
    pub files: &'static [(&'static str, &'static str)],
    /// Sections of its own before EXAMPLES: (title, paragraphs).
    pub extra: &'static [(&'static str, &'static [&'static str])],
}

const OK: (&str, &str) = ("0", "Success, also when there was nothing to do.");
const ERROR: (&str, &str) = ("1", "An error: one line on stderr says what went wrong and what to do.");
const USAGE: (&str, &str) = (
    "2",
    "The command line was wrong: an unknown option, a bad value, a malformed image reference or pattern, \
     or a `--config` file that does not exist.",
);
const SIGNALS: (&str, &str) = (
    "129, 130, 143",
    "SIGHUP, SIGINT (Ctrl-C) or SIGTERM came: the step under way was finished, what was in flight put back \
     (each container on the previous version and running, the tag pointing at it, nothing parked), and each \
     container's state printed. A second signal changes nothing.",
);
/// The upgrade hooks, as `upgrade` runs them (docs/hooks.md has the rest).
const HOOKS_UPGRADE: &[&str] = &[
    "Commands of your own run around the recreation of each container: `pre-upgrade` in the old \
     container after the pull, before anything stops; `post-upgrade` in the new one after it passed \
     its health gate; `pre-rollback` in the new one and `post-rollback` in the old one when the group \
     is rolled back. Each runs with `sh -c` inside the container (through the engine's exec API), or \
     on the host for config-file hooks with `hooks_on = \"host\"` (which needs `host_hooks = true`).",
    "Declared by labels you set on the container (`docker run --label`, or the Compose file): \
     `freshen.hook.pre-upgrade`, `freshen.hook.post-upgrade`, `freshen.hook.pre-rollback`, \
     `freshen.hook.post-rollback`, with `freshen.hook.timeout` or `freshen.hook.PHASE.timeout` in \
     seconds (or `2m`). A label with the same key and value as the image's own label is the image's \
     and never runs. The `[images.\"PATTERN\"]` keys `pre_upgrade`, `post_upgrade`, `pre_rollback`, \
     `post_rollback`, `hook_timeout` and `hooks_on` declare hooks for the phases the labels leave \
     open (see freshen.conf(5)). The default timeout is 60 seconds (`hook_timeout`).",
    "Exit status: 0 goes on. Before the upgrade, 75 defers the tag (nothing changes, it is listed \
     as deferred, notified, and the next upgrade tries again) and anything else stops it (nothing \
     changes, a failure). After the upgrade, anything but 0 (or a timeout) rolls the tag back \
     exactly as a failed health gate does. A failing rollback hook is reported; the rollback goes on.",
    "Environment: `FRESHEN_HOOK` (the phase), `FRESHEN_HOOK_DIR`, `FRESHEN_REFERENCE`, \
     `FRESHEN_IMAGE`, `FRESHEN_TAG`, `FRESHEN_OLD_DIGEST`, `FRESHEN_NEW_DIGEST`, \
     `FRESHEN_OLD_VERSION`, `FRESHEN_NEW_VERSION`, `FRESHEN_OLD_IMAGE_ID`, `FRESHEN_NEW_IMAGE_ID`, \
     `FRESHEN_CONTAINER`, `FRESHEN_COMPOSE_PROJECT`, `FRESHEN_COMPOSE_SERVICE`.",
    "The hook directory `$FRESHEN_STATE_DIR/hooks/IMAGE-ID/CONTAINER` (owner-only) belongs to the \
     version a rollback returns to and is removed when that version is retired. A container hook \
     sees it as `/.freshen-hook`: freshen copies it into the container before the hook and back out \
     after it. The plan lists every hook before the prompt; the output shows each hook's result and \
     last 10 lines, and `--format json` reports them under `hooks` and `deferred`.",
];

/// The hooks around `freshen rollback`.
const HOOKS_ROLLBACK: &[&str] =
    &["With upgrade hooks declared (see freshen-upgrade(1) and docs/hooks.md), the `pre-rollback` \
     hooks run in the current containers before anything changes: 75 or another failure (or a \
     timeout) leaves the tag and the containers as they are and exits 1. Once a container passed its \
     gate on the older version, its `post-rollback` hooks run in it, with `FRESHEN_HOOK_DIR` holding \
     what its `pre-upgrade` hooks saved when that version was left; a failure there is reported and \
     exits 1."];

const STATE: (&str, &str) = ("$FRESHEN_STATE_DIR/state.json", "The last update's verdicts, read.");
const STATE_RW: (&str, &str) =
    ("$FRESHEN_STATE_DIR/state.json", "The last update's verdicts and the versions upgrades replaced.");
const HOLDS: (&str, &str) = ("$FRESHEN_STATE_DIR/holds.json", "The holds set with `freshen hold`.");
const SKIPS: (&str, &str) = (
    "$FRESHEN_STATE_DIR/skips.json",
    "The versions skipped with `freshen skip` or rolled back by a failed upgrade.",
);
const TAGS: (&str, &str) = ("$FRESHEN_STATE_DIR/tags.json", "Cached tag listings and remote labels.");
const NOTIFIED: (&str, &str) =
    ("$FRESHEN_STATE_DIR/notified.json", "What each notification target was told.");
const USAGE_FILE: (&str, &str) = (
    "$FRESHEN_STATE_DIR/usage.json",
    "When each image was last used and by what evidence (refreshed by `update`; see docs/cache.md).",
);
const LOCK: (&str, &str) = ("$FRESHEN_STATE_DIR/lock", "Taken while the state is written.");
const CONFIG: (&str, &str) =
    ("~/.config/freshen/config.toml, /etc/freshen/config.toml", "The config file (see freshen.conf(5)).");

pub const PAGES: &[CommandPage] = &[
    CommandPage {
        name: "serve",
        extra: &[],
        examples: &[
            ("freshen serve", "Serve the status page and the API on 127.0.0.1:8675 until SIGTERM."),
            ("curl -H 'Authorization: Bearer TOKEN' http://127.0.0.1:8675/api/v1/status", "Read the status \
              JSON (schema in docs/serve-status.schema.json)."),
            ("freshen serve --listen 0.0.0.0:8675", "Listen beyond loopback (needs `[serve] read_token`)."),
        ],
        exit: &[
            ("0", "Stopped by SIGTERM or SIGINT after finishing the requests in flight and any running upgrade."),
            ("1", "An error (the address is taken, the engine cannot be reached at the start)."),
            USAGE,
        ],
        files: &[STATE_RW, LOCK, CONFIG],
    },
    CommandPage {
        name: "fleet",
        extra: &[],
        examples: &[
            ("freshen fleet --hosts admin@web1,admin@db1 list --upgradable", "One table of what is outdated \
              where, with a HOST column; a host ssh cannot reach is a row with ssh's reason."),
            ("freshen fleet check", "Check every host of the config file's `[fleet] hosts`; exit 100 when one \
              has an update."),
            ("freshen fleet upgrade -y", "Upgrade host by host, stopping at the first host whose upgrade fails."),
        ],
        exit: &[
            ("0", "Every host answered and the command succeeded on each."),
            ("1", "A host could not be reached, or the command failed on one, or an error."),
            USAGE,
            ("100", "(`check`) every host answered and at least one has an image that can be upgraded."),
        ],
        files: &[CONFIG],
    },
    CommandPage {
        name: "update",
        extra: &[],
        examples: &[
            ("freshen update", "Check every local tag and record the verdicts."),
            ("freshen update nginx 'ghcr.io/org/*'", "Check only the matching tags."),
            ("freshen update --format json", "Print the result as the JSON document of `list --format json`."),
            ("freshen update --unattended", "Apply the config file's `[unattended]` policy (the scheduled run)."),
        ],
        exit: &[
            ("0", "Every image was checked (and, with `--notify`, every target was told)."),
            ("1", "An image could not be checked (the others are still checked and recorded), a notification \
                   target failed, or an error."),
            USAGE,
        ],
        files: &[STATE_RW, TAGS, NOTIFIED, USAGE_FILE, LOCK, CONFIG],
    },
    CommandPage {
        name: "list",
        extra: &[],
        examples: &[
            ("freshen list --upgradable", "The tags whose image changed, from the last update (offline)."),
            ("freshen list --format apt", "One line per image, like `apt list`."),
            ("freshen list --format json | jq '.images[] | select(.status == \"upgradable\")'",
             "The documented JSON (see docs/json.md)."),
        ],
        exit: &[OK, ERROR, USAGE],
        files: &[STATE, TAGS, HOLDS, SKIPS, CONFIG],
    },
    CommandPage {
        name: "check",
        extra: &[],
        examples: &[
            ("freshen check; [ $? -eq 100 ] && echo updates", "For cron and scripts, like `dnf check-update`."),
            ("freshen check --nagios --warning 1 --critical 10", "A Nagios or Icinga check."),
        ],
        exit: &[
            ("0", "Nothing can be upgraded now and every check succeeded."),
            ("1", "Nothing is upgradable and a check failed, a notification target failed, or an error."),
            USAGE,
            ("100", "At least one image can be upgraded now (held tags, skipped versions and images in \
                     their cooldown do not count). It wins over a failed check (still a `W:` line), not over a \
                     failed notification target (with `--notify`), which exits 1."),
            ("0, 1, 2, 3", "With `--nagios`: OK, WARNING, CRITICAL, UNKNOWN."),
        ],
        files: &[STATE_RW, TAGS, NOTIFIED, LOCK, CONFIG],
    },
    CommandPage {
        name: "upgrade",
        extra: &[("HOOKS", HOOKS_UPGRADE)],
        examples: &[
            ("freshen upgrade -s", "Show what would be pulled, recreated, retired and kept; change nothing."),
            ("freshen upgrade -y nginx", "Upgrade the nginx tags without asking."),
            ("freshen upgrade -y --no-recreate", "Pull and retag only; leave the containers as they are."),
            ("freshen upgrade -y --format json", "Print the upgrade report (see docs/json.md)."),
            ("docker run -d --label 'freshen.hook.pre-upgrade=pg_dump -U postgres app > $FRESHEN_HOOK_DIR/app.sql' postgres:16",
             "Declare a hook that saves the database before each upgrade of the container."),
        ],
        exit: &[
            OK,
            ("1", "An image failed to upgrade or could not be checked, a container was rolled back, the \
                   prompt could not be asked (no terminal, no `--yes`) or was answered no, or an error."),
            USAGE,
            SIGNALS,
        ],
        files: &[STATE_RW, HOLDS, SKIPS, ("$FRESHEN_STATE_DIR/journal.json",
            "The recreation journal: an interrupted upgrade is finished or undone by the next run."), LOCK, CONFIG],
    },
    CommandPage {
        name: "autoremove",
        extra: &[],
        examples: &[
            ("freshen autoremove -s", "Show what would be retired and why the rest is kept."),
            ("freshen autoremove -y --older-than 7d --keep 1", "Retire replaced versions older than a week, keeping one per tag."),
            ("freshen autoremove -s --budget 20G", "Show which least recently used images would go to keep the images under 20 GB, when each was last used and by what, and the free space before and after."),
            ("freshen autoremove -y --min-free 15% --unused-for 90d", "Evict images unused for 90 days, then the least recently used until 15 % of the disk is free."),
        ],
        exit: &[OK, ("1", "The prompt could not be asked or was answered no, or an error. An image the engine \
                           refuses to remove is reported as kept, not as an error."), USAGE,
                ("4", "With `--budget` or `--min-free`: the budget cannot be met; what could go went, and the \
                       reason for what is left is said (in use, held, too new, a local build, ...)."),
                SIGNALS],
        files: &[STATE_RW, HOLDS, USAGE_FILE, LOCK, CONFIG],
    },
    CommandPage {
        name: "hold",
        extra: &[],
        examples: &[("freshen hold nginx:latest 'postgres:*'", "Never upgrade these tags, never retire their versions.")],
        exit: &[OK, ERROR, USAGE],
        files: &[HOLDS, LOCK],
    },
    CommandPage {
        name: "unhold",
        extra: &[],
        examples: &[("freshen unhold nginx:latest", "Prints `Canceled hold on nginx:latest.`")],
        exit: &[OK, ERROR, USAGE],
        files: &[HOLDS, LOCK],
    },
    CommandPage {
        name: "showhold",
        extra: &[],
        examples: &[("freshen showhold", "The holds, one per line; those from the config file marked `(config FILE)`.")],
        exit: &[OK, ERROR],
        files: &[HOLDS, CONFIG],
    },
    CommandPage {
        name: "skip",
        extra: &[],
        examples: &[("freshen skip nginx:latest", "Skip the version the registry offers now, until it offers another.")],
        exit: &[OK, ERROR, USAGE],
        files: &[STATE, SKIPS, LOCK],
    },
    CommandPage {
        name: "unskip",
        extra: &[],
        examples: &[("freshen unskip nginx:latest", "Offer the skipped version again.")],
        exit: &[OK, ERROR, USAGE],
        files: &[SKIPS, LOCK],
    },
    CommandPage {
        name: "showskip",
        extra: &[],
        examples: &[("freshen showskip", "The skipped versions, one per line, with the reason and when.")],
        exit: &[OK, ERROR],
        files: &[STATE, SKIPS],
    },
    CommandPage {
        name: "rollback",
        extra: &[("HOOKS", HOOKS_ROLLBACK)],
        examples: &[("freshen rollback nginx:latest", "Point the tag back at the version the last upgrade replaced.")],
        exit: &[
            OK,
            ("1", "Rollback was impossible (no previous version that ran healthily here is left), its \
                   containers did not pass the health gate (they and the tag stay; that version is never \
                   offered again), or an error."),
            SIGNALS,
        ],
        files: &[STATE_RW, LOCK],
    },
    CommandPage {
        name: "notify",
        extra: &[],
        examples: &[("freshen notify --test", "Send a test message to every target: `NAME: sent` or `NAME: failed: REASON`.")],
        exit: &[("0", "Every target was told."), ("1", "A target failed, or an error.")],
        files: &[CONFIG],
    },
    CommandPage {
        name: "schedule",
        extra: &[],
        examples: &[
            ("freshen schedule", "Print the systemd service and timer it would install."),
            ("sudo freshen schedule --install", "Install and start the timer: a daily `update --notify`."),
            ("sudo freshen schedule --cron --install", "A job in /etc/cron.d instead, where systemd is absent."),
        ],
        exit: &[OK, ("1", "systemctl failed, the unit directory is missing, or an error."), USAGE],
        files: &[
            ("/etc/systemd/system/freshen.service, /etc/systemd/system/freshen.timer", "Written by `--install`, removed by `--uninstall`."),
            ("/etc/cron.d/freshen", "Written by `--cron --install`."),
            ("/usr/lib/systemd/system/freshen.service, /usr/lib/systemd/system/freshen.timer",
             "The Debian package's units (state in /var/lib/freshen), disabled until `systemctl enable --now freshen.timer`."),
        ],
    },
    CommandPage {
        name: "motd",
        extra: &[],
        examples: &[("exec /usr/bin/freshen motd", "The body of /etc/update-motd.d/90-freshen (mode 0755).")],
        exit: &[OK, ERROR],
        files: &[STATE],
    },
    CommandPage {
        name: "metrics",
        extra: &[],
        examples: &[("freshen metrics --output /var/lib/prometheus/node-exporter/freshen.prom",
                      "Write the metrics for node_exporter's textfile collector.")],
        exit: &[OK, ERROR],
        files: &[STATE],
    },
    CommandPage {
        name: "policy",
        extra: &[],
        examples: &[("freshen policy postgres:16.2", "The installed version, the candidate and the newer tags, like `apt-cache policy`.")],
        exit: &[OK, ("1", "The registry could not be asked, or an error."), USAGE],
        files: &[STATE, TAGS, CONFIG],
    },
];

/// The roff of a command's extra sections; empty for a command without a
/// page entry.
pub fn sections(name: &str) -> String {
    let Some(page) = PAGES.iter().find(|p| p.name == name) else {
        return String::new();
    };
    let mut out = String::new();
    for (title, paragraphs) in page.extra {
        out.push_str(&format!(".SH {title}\n"));
        for text in *paragraphs {
            out.push_str(&format!(".PP\n{}\n", roff(text)));
        }
    }
    let mut section = |title: &str, rows: &[(&str, &str)], bold: bool| {
        if rows.is_empty() {
            return;
        }
        out.push_str(&format!(".SH {title}\n"));
        for (term, text) in rows {
            let term = roff(term);
            let term = if bold { format!("\\fB{term}\\fR") } else { format!("\\fI{term}\\fR") };
            out.push_str(&format!(".TP\n{term}\n{}\n", roff(text)));
        }
    };
    section("EXAMPLES", page.examples, true);
    section("\"EXIT STATUS\"", page.exit, true);
    section("FILES", page.files, false);
    out.push_str(".SH \"SEE ALSO\"\n\\fBfreshen\\fR(1), \\fBfreshen.conf\\fR(5)\n");
    out
}
