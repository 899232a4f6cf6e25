//! The sections of freshen(1) that clap does not know about: the config
//! file, the environment, the files, the exit statuses and examples, in
//! roff. README.md is the long form of each; keep the two in step.

/// Sections written after OPTIONS and SUBCOMMANDS, before VERSION.
pub const SECTIONS: &str = r#".SH CONFIGURATION
The config file is TOML, read from \fB\-\-config\fR \fIFILE\fR (which must exist),
else \fB$FRESHEN_CONFIG\fR, else \fI$XDG_CONFIG_HOME/freshen/config.toml\fR
(these two may be absent). Unknown keys are errors, named with their line.
.TP
\fBconcurrency = N\fR, \fBtimeout = SECONDS\fR, \fBretries = N\fR
Defaults for the options of \fBupdate\fR and \fBcheck\fR.
.TP
\fBinsecure_registries = ["HOST[:PORT]", ...]\fR
As \fB\-\-insecure\-registry\fR.
.TP
\fBexclude = ["PATTERN", ...]\fR
Images that \fBautoremove\fR and \fBupgrade\fR never retire.
.TP
\fBkeep = N\fR
Previous versions kept per tag, as \fB\-\-keep\fR.
.TP
\fBolder_than = "DURATION"\fR
As \fBautoremove \-\-older\-than\fR.
.TP
\fBtag_cache_ttl = SECONDS\fR
How long a repository's tag listing is reused (default 21600).
.TP
\fBmin_age = "DURATION"\fR
The cooldown: a new image, or a newer version tag, becomes an upgrade
candidate only once it is this old (\fB3d\fR, \fB12h\fR; default \fB0\fR, at
once), counted from its creation time when plausible, else from when
\fBupdate\fR first saw its digest. Of several newer tags, the newest that is old
enough is offered. \fB\-\-min\-age\fR on \fBupdate\fR, \fBcheck\fR and
\fBupgrade\fR beats it.
.TP
\fB[images."PATTERN"]\fR
Per\-image policy: \fBpolicy = "digest"|"patch"|"minor"|"major"\fR,
\fBinclude\fR and \fBexclude\fR globs for candidate tags, and \fBhold = true\fR,
which holds the matching tags exactly as \fBfreshen hold\fR does (shown by
\fBshowhold\fR, marked in \fBlist\fR, never upgraded, their versions never retired);
\fBmin_age\fR for these images; \fBchangelog = "URL"\fR, a release\-notes link
template with \fB{version}\fR, \fB{tag}\fR and \fB{source}\fR, instead of the
GitHub or GitLab release page built from the image's source and version labels
(\fIreleases/tag/v1.2.3\fR when the image's label or tag is spelt with a \fBv\fR,
else the forge's search for the version).
.TP
\fB[[notify]]\fR
A notification target: \fBkind = "webhook"|"ntfy"|"exec"\fR, \fBurl\fR,
\fBheaders\fR (values literal, or \fB{ env = "VAR" }\fR or \fB{ file = "/path" }\fR),
\fBtitle\fR, \fBcommand\fR, \fBname\fR, \fBtimeout\fR, \fBretries\fR;
\fBrenotify_after = "DURATION"\fR at the top level.
.TP
\fB[unattended]\fR
\fBupgrade\fR, \fBretire\fR and \fBallowed = ["PATTERN", ...]\fR for
\fBupdate \-\-unattended\fR.
.TP
\fB[serve]\fR
For \fBfreshen serve\fR: \fBlisten = "ADDR:PORT"\fR (default
\fB127.0.0.1:8675\fR; an address beyond loopback needs a read token);
\fBread_token\fR and \fBapply_token\fR (or \fBread_token_file\fR and
\fBapply_token_file\fR, first line), sent as \fBAuthorization: Bearer\fR only;
once a read token is set every endpoint but \fB/healthz\fR needs it (the apply
token reads too); \fBactions = true\fR (needs an apply token) accepts upgrades
pinned to an approved digest, skips and holds; \fBinterval = "DURATION"\fR, how
often the server runs an update itself (default \fB1d\fR, \fB0\fR never);
\fBwait = SECONDS\fR, the health gate of its upgrades (default 30).
See \fIdocs/serve.md\fR for the endpoints and their JSON.
.TP
\fB[mqtt]\fR
Home Assistant over MQTT for \fBfreshen serve\fR: \fBbroker = "HOST:PORT"\fR,
\fBusername\fR, \fBpassword\fR or \fBpassword_file\fR,
\fBdiscovery_prefix\fR (default \fBhomeassistant\fR), \fBtopic_prefix\fR
(default \fBfreshen\fR), \fBinstall = true\fR to publish an Install button
(with \fB[serve] actions = true\fR).
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
\fI/etc/systemd/system/freshen.service\fR, \fIfreshen.timer\fR, \fI/etc/cron.d/freshen\fR
Written by \fBfreshen schedule \-\-install\fR.
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
"#;
