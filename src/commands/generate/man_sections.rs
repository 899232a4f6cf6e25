//! The sections of freshen(1) that clap does not know about: the config
//! file, the environment, the files, the exit statuses and examples, in
//! roff. The config keys are in freshen.conf(5), generated from
//! `settings::keys`; docs/ holds the long form of the rest.

/// Sections written after OPTIONS and SUBCOMMANDS, before VERSION.
pub const SECTIONS: &str = r#".SH CONFIGURATION
The config file is TOML, read from \fB\-\-config\fR \fIFILE\fR (which must exist),
else \fB$FRESHEN_CONFIG\fR, else \fI$XDG_CONFIG_HOME/freshen/config.toml\fR when it
exists, else the system\-wide \fI/etc/freshen/config.toml\fR (any of the last three
may be absent). Unknown keys are errors, named with their line. Every key, its type,
its default and what it does: \fBfreshen.conf\fR(5).
.SH ENVIRONMENT
.TP
\fBDOCKER_HOST\fR
The Docker daemon (\fBunix://...\fR or \fBtcp://...\fR).
.TP
\fBDOCKER_CONFIG\fR
The directory holding the registry credentials, \fIconfig.json\fR.
.TP
\fBFRESHEN_STATE_DIR\fR
Where the state lives (default \fI$XDG_STATE_HOME/freshen\fR).
.TP
\fBFRESHEN_CONFIG\fR
The config file.
.TP
\fBFRESHEN_INSECURE_REGISTRIES\fR
Comma\-separated extra registries that may be reached over plain HTTP.
.TP
\fBFRESHEN_DAEMON_JSON\fR, \fBFRESHEN_CERTS_DIR\fR
The daemon config to read (default \fI/etc/docker/daemon.json\fR) and the
per\-registry certificates (default \fI/etc/docker/certs.d\fR).
.TP
\fBHTTPS_PROXY\fR, \fBHTTP_PROXY\fR, \fBNO_PROXY\fR
A proxy for registry traffic, and the hosts that bypass it.
.TP
\fBCOLUMNS\fR
The width \fBlist\fR fits its table to (default: the terminal's).
.TP
\fBNO_COLOR\fR
No colour, ever.
.SH FILES
.TP
\fI$FRESHEN_STATE_DIR/state.json\fR
The last update's verdicts and the versions upgrades replaced.
.TP
\fI$FRESHEN_STATE_DIR/holds.json\fR
The holds set with \fBfreshen hold\fR.
.TP
\fI$FRESHEN_STATE_DIR/skips.json\fR
The versions skipped with \fBfreshen skip\fR or rolled back by a failed upgrade.
.TP
\fI$FRESHEN_STATE_DIR/tags.json\fR
Cached tag listings and remote labels.
.TP
\fI$FRESHEN_STATE_DIR/notified.json\fR
What each notification target was told.
.TP
\fI$FRESHEN_STATE_DIR/lock\fR
Taken by every command that writes the state.
.TP
\fI~/.config/freshen/config.toml\fR, \fI/etc/freshen/config.toml\fR
The config file, the user's first (see \fBfreshen.conf\fR(5)).
.TP
\fI/etc/systemd/system/freshen.service\fR, \fIfreshen.timer\fR, \fI/etc/cron.d/freshen\fR
Written by \fBfreshen schedule \-\-install\fR.
.TP
\fI/usr/lib/systemd/system/freshen.service\fR, \fIfreshen.timer\fR
The Debian package's units (state in \fI/var/lib/freshen\fR), disabled until
\fBsystemctl enable \-\-now freshen.timer\fR.
.SH "EXIT STATUS"
.TP
\fB0\fR
Success; for \fBcheck\fR: nothing can be upgraded and every check succeeded.
.TP
\fB1\fR
An error (one line on stderr saying what to do), an image that could not be
checked or upgraded, a prompt that could not be answered or was answered no,
or (with \fB\-\-notify\fR) a notification target that failed.
.TP
\fB2\fR
The command line was wrong: an unknown option, a bad value, a malformed image
reference or pattern, or a \fB\-\-config\fR file that does not exist.
.TP
\fB4\fR
\fBautoremove\fR with \fB\-\-budget\fR or \fB\-\-min\-free\fR: the budget cannot be met;
what could go went, and the reason for what is left is said.
.TP
\fB100\fR
\fBcheck\fR: at least one image can be upgraded. It wins over 1, as in
\fBdnf check\-update\fR: a failed check is still reported (a \fBW:\fR line,
\fBunknown\fR in \fB\-\-format json\fR, \fBerrors=\fR with \fB\-\-nagios\fR).
.SH EXAMPLES
.TP
\fBfreshen update; freshen list \-\-upgradable\fR
Check every local tag, then show what can be upgraded (\fBupdate\fR exits 1
when an image could not be checked, so do not chain with \fB&&\fR).
.TP
\fBfreshen upgrade \-s\fR
Show what an upgrade would pull, retire and keep, and change nothing.
.TP
\fBfreshen hold 'postgres:*'\fR
Never upgrade any postgres tag.
.TP
\fBfreshen autoremove \-\-older\-than 7d \-\-keep 1\fR
Retire replaced versions older than a week, keeping one per tag.
.TP
\fBsudo freshen schedule \-\-install\fR
Check daily from a systemd timer and notify the configured targets.
.SH "SEE ALSO"
\fBfreshen.conf\fR(5), and a page per command: \fBfreshen\-update\fR(1),
\fBfreshen\-list\fR(1), \fBfreshen\-upgrade\fR(1), \fBfreshen\-check\fR(1) and so on.
The guides, the JSON schema and the engines' differences: \fI/usr/share/doc/freshen/\fR
(the package) or \fIdocs/\fR in the source.
"#;
