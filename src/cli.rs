//! The command line, as clap types only. Turning these into settings (with
//! the environment and the config file) happens in `settings`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit status:
  0    success; for 'check': nothing is upgradable and every check succeeded
  1    an error, or (update, check) at least one image could not be checked
       or (with --notify) a notification target failed
  2    the command line was wrong (also a bad value or a missing --config file)
  4    (autoremove with a budget) the budget cannot be met: what may not go is
       said, and the rest was done
  100  (check) at least one image can be upgraded; wins over 1, as in dnf";

#[derive(Debug, Parser)]
#[command(
    name = "freshen",
    version,
    about = "Keep a Docker host's images fresh, the way apt keeps packages fresh",
    long_about = "freshen asks each image's registry whether the local tags are still current \
(a HEAD request, never a pull), records the answer, and lists what is outdated, \
like 'apt update' and 'apt list --upgradable'.",
    after_help = EXIT_CODES,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes; `--help` lists them after the
/// subcommand's own.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Directory for freshen's state (default: $XDG_STATE_HOME/freshen)
    #[arg(long, global = true, value_name = "DIR", env = "FRESHEN_STATE_DIR", hide_env_values = true)]
    pub state_dir: Option<PathBuf>,

    /// Config file, which must exist (default: $FRESHEN_CONFIG, else
    /// $XDG_CONFIG_HOME/freshen/config.toml, else /etc/freshen/config.toml; see freshen.conf(5))
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Docker daemon: unix:///PATH, tcp://HOST:PORT or ssh://[USER@]HOST[:PORT] (default:
    /// $DOCKER_HOST, else $DOCKER_CONTEXT or the docker CLI's current context, else
    /// unix:///var/run/docker.sock)
    #[arg(short = 'H', long = "host", global = true, value_name = "URL")]
    pub docker_host: Option<String>,

    /// Talk to this registry over plain HTTP if HTTPS fails (repeatable); loopback
    /// registries and daemon.json's insecure-registries are always allowed
    #[arg(long = "insecure-registry", global = true, value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,

    /// Print only errors and the final summary
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print each registry request's outcome and rate-limit headers
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask the registries for the current digest of every local tag and record it
    #[command(after_help = EXIT_CODES)]
    Update(UpdateArgs),

    /// Show local tags and whether they are current, from the last update (offline)
    #[command(after_help = EXIT_CODES)]
    List(ListArgs),

    /// Update, then exit 100 if an image can be upgraded (for cron and monitoring)
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),

    /// Write shell completions and the man page (for packagers)
    #[command(hide = true)]
    Generate(GenerateArgs),

    /// Pull the new version of every upgradable tag (or those named) and retire the old one
    #[command(after_help = CHANGE_EXIT_CODES)]
    Upgrade(UpgradeArgs),

    /// Retire old versions: images an upgrade replaced and earlier untagged versions
    #[command(
        long_about = "Retires old versions: the images an upgrade replaced and the untagged earlier \
versions of tracked repositories (with --dangling, images with no name at all), keeping what a \
container uses, what is held, excluded or kept for rollback (--keep), and what has child images.

With --budget, --min-free or --unused-for (or the [cache] section of the config file), the image \
store is kept as a cache: after retiring, it evicts tagged images by use, first those unused for \
longer than --unused-for, then the least recently used until the images' unique bytes fit the budget \
and the data root's filesystem has --min-free free, children before parents. Last use comes from \
usage.json, which every update refreshes from the containers (any state, with their created, started \
and finished times), LastTagTime, the engine's events and freshen's own upgrades; an image with no \
evidence counts from when freshen first saw it, never from its build date. Never evicted: an image a \
container uses (checked again right before each removal), held, excluded or labelled freshen.keep \
images, the version kept for rollback, images first seen or used within [cache] min_age (1 day), and \
images no registry can give back (local builds) unless a PATTERN names them. Each line says when the \
image was last used and by what evidence, and what it frees with shared layers counted once; the \
total says the free space before and after. The build cache is reported, never removed. The engine \
is never asked to force; a refusal keeps the image and the run goes on. See docs/cache.md.",
        after_help = AUTOREMOVE_EXIT_CODES
    )]
    Autoremove(AutoremoveArgs),

    /// Hold tags: never upgrade them, never retire their versions
    Hold(HoldArgs),

    /// Cancel holds
    Unhold(HoldArgs),

    /// List the held tags and patterns, one per line
    Showhold,

    /// Skip the version the registry offers now for these tags, until it offers another
    #[command(long_about = "Skips the version the registry offers now for the matching tags: \
the new digest the last update found, and the newer tag the image's policy offers (with that \
tag's digest, asked of the registry if the last update did not record it). A skipped version is \
not listed as upgradable, not upgraded (nor moved to by 'upgrade --tags'), not announced and not \
counted by 'check', until the registry moves on: the tag to another digest, or the skipped newer \
tag to another digest, or another newer tag is offered. 'update' then drops the skip. Skips are \
kept in skips.json in the state directory; a new version that an upgrade rolled back is recorded \
there too.")]
    Skip(SkipArgs),

    /// Offer skipped versions again
    #[command(long_about = "Offers the skipped versions of the matching tags again, \
including a new version that an upgrade rolled back (shown as 'failed, rolled back').")]
    Unskip(SkipArgs),

    /// List the skipped versions, one per line
    #[command(long_about = "Lists the skipped versions, one per line, with the reason and when: \
'skipped with 'freshen skip'', or 'failed, rolled back: ...' for a new version that an upgrade \
rolled back.")]
    Showskip,

    /// Point a tag back at the version an upgrade replaced, if it is still here
    Rollback(RollbackArgs),

    /// Send a test message to every notification target
    Notify(NotifyArgs),

    /// Print or install a systemd timer (or cron job) that runs 'freshen update --notify'
    Schedule(ScheduleArgs),

    /// Print the login message: how many image updates can be applied (offline, from the state)
    Motd(MotdArgs),

    /// Print or write Prometheus metrics for node_exporter's textfile collector (offline)
    Metrics(MetricsArgs),

    /// Run update, check, list or upgrade on several hosts over ssh and show one view
    #[command(after_help = FLEET_HELP)]
    Fleet(FleetArgs),
    /// Show an image's installed version, its candidate and the newer tags, like 'apt-cache policy'
    #[command(
        long_about = "Shows the installed version of one image (tag, digest, version, created, \
revision and source labels), the candidate an upgrade would bring within the image's policy, \
and a table of the newer version tags within and beyond the policy, with a link to the \
candidate's release notes (from its org.opencontainers.image.source label on GitHub or GitLab, \
or the image's changelog template in the config). Unlike 'list', this asks the registry: it \
lists the repository's tags and reads the candidate's config.",
        after_help = EXIT_CODES
    )]
    Policy(PolicyArgs),

    /// Serve a status page, an HTTP API and Home Assistant over MQTT, and keep the state fresh
    #[command(
        long_about = "Runs until SIGTERM or SIGINT: serves the status page at /, the JSON API \
(/api/v1/status, cup's /api/v3/json, WUD's /api/containers), /metrics and /healthz; runs an \
update on the [serve] interval under the same lock as the CLI; with [serve] actions = true \
accepts upgrades pinned to the digest a person approved, skips and holds; with an [mqtt] \
section publishes one Home Assistant update entity per tag. Listens on 127.0.0.1:8675 unless \
told otherwise, and refuses an address beyond loopback without a read token.",
        after_help = CHANGE_EXIT_CODES
    )]
    Serve(ServeArgs),
}

const CHANGE_EXIT_CODES: &str = "\
Exit status:
  0    success (also when nothing needed doing)
  1    an error (a pattern that matches no local tag is one), at least one image failed, or the
       prompt could not be answered
  2    the command line was wrong
  129, 130, 143
       SIGHUP, SIGINT (Ctrl-C) or SIGTERM: the step under way was finished and
       what was in flight put back (containers and tag on the previous version)";

const AUTOREMOVE_EXIT_CODES: &str = "\
Exit status:
  0    success (also when nothing needed doing)
  1    an error, or the prompt could not be answered
  2    the command line was wrong
  4    (--budget, --min-free) the budget cannot be met: what could go went, and the
       reason for the rest is said (in use, held, too new, ...)
  129, 130, 143
       SIGHUP, SIGINT (Ctrl-C) or SIGTERM: the removal under way was finished";

#[derive(Debug, Args, Clone)]
pub struct CheckOptions {
    /// Only images matching these patterns (`nginx`, `nginx:*`, `ghcr.io/org/*`); a pattern that
    /// matches no local tag is an error
    #[arg(value_name = "PATTERN")]
    pub patterns: Vec<String>,

    /// Requests in flight per registry
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Seconds before one registry request is abandoned
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,

    /// Retries of a request that failed with 429, 5xx or a network error
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,

    /// Offer a new image or newer tag only once it is this old (3d, 12h, 0 for at once); beats min_age in the config
    #[arg(long, value_name = "DURATION")]
    pub min_age: Option<String>,

    /// List the tags of every repository with a version tag now, instead of reusing listings younger than
    /// tag_cache_ttl (6 hours by default). Costs one more GET per such repository (one per page of tags
    /// where the registry pages them), beside the HEAD per tag that every update makes. Without it, a
    /// repository is listed again when one of its tags moved, or when its listing is older than the TTL
    #[arg(long)]
    pub refresh_tags: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub check: CheckOptions,

    /// Print the result as JSON (the schema of 'list --format json')
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,

    #[command(flatten)]
    pub notify: NotifyOptions,

    /// Apply the config file's [unattended] policy: upgrade and retire only what it
    /// allows, log it, and announce new updates to the [[notify]] targets
    #[arg(long)]
    pub unattended: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub check: CheckOptions,

    /// Print the result as JSON (the schema of 'list --format json')
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,

    #[command(flatten)]
    pub notify: NotifyOptions,

    /// Print one Nagios status line and exit 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN)
    #[arg(long, conflicts_with = "format")]
    pub nagios: bool,

    /// With --nagios: WARNING from this many upgradable images on
    #[arg(long, value_name = "N", default_value_t = 1, requires = "nagios",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub warning: u32,

    /// With --nagios: CRITICAL from this many upgradable images on (default: never)
    #[arg(long, value_name = "N", requires = "nagios", value_parser = clap::value_parser!(u32).range(1..))]
    pub critical: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only images matching these patterns
    #[arg(value_name = "PATTERN")]
    pub patterns: Vec<String>,

    /// Only images that can be upgraded
    #[arg(long)]
    pub upgradable: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns for people
    Table,
    /// One line per image, like 'apt list'
    Apt,
    /// The documented, stable JSON schema
    Json,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Repository root to write completions/ and man/ under
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,

    /// Do not write; exit 1 if the files on disk differ from what would be written
    #[arg(long)]
    pub check: bool,
}

/// The apt conventions shared by the commands that change the host.
#[derive(Debug, Args, Clone)]
pub struct ChangeOptions {
    /// Answer yes to the prompt (without a terminal, the answer is otherwise one line of standard input)
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,

    /// Show what would happen and change nothing
    #[arg(short = 's', long = "dry-run", visible_alias = "simulate")]
    pub dry_run: bool,

    /// Keep the N most recent previous versions of each tag, for rollback
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Only these images (patterns as for 'list'); default: every upgradable tag
    #[arg(value_name = "IMAGE")]
    pub patterns: Vec<String>,

    #[command(flatten)]
    pub change: ChangeOptions,

    /// Do not retire the versions this upgrade replaces
    #[arg(long)]
    pub keep_previous: bool,

    /// Also move version tags to the newest newer tag the image's policy allows
    /// (pull postgres:16.4 for postgres:16.2) that has waited out its minimum
    /// age and is not skipped; the older tag's version is then retired like
    /// any replaced version, when nothing uses it
    #[arg(long)]
    pub tags: bool,

    /// Upgrade only to images at least this old (3d, 12h, 0 for any); default: the minimum age the last update applied
    #[arg(long, value_name = "DURATION")]
    pub min_age: Option<String>,

    #[command(flatten)]
    pub recreate: RecreateOptions,

    /// Print a JSON report of what was upgraded, recreated, rolled back, retired and kept
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

#[derive(Debug, Args, Clone)]
pub struct RecreateOptions {
    /// Only pull and retag: leave the containers that run the replaced version as they are
    #[arg(long)]
    pub no_recreate: bool,

    /// Seconds a recreated container has to become healthy (with a HEALTHCHECK) or to keep
    /// running (without one) before it counts as upgraded; otherwise it is rolled back
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_WAIT)]
    pub wait: u64,
}

/// The default health gate, in seconds: Docker runs a HEALTHCHECK first one
/// interval (30 s by default) after the start and gives it up to its
/// timeout (30 s by default), so a shorter wait would fail every image that
/// keeps Docker's defaults.
pub const DEFAULT_WAIT: u64 = 60;

#[derive(Debug, Args)]
pub struct AutoremoveArgs {
    /// Only images matching these patterns
    #[arg(value_name = "PATTERN")]
    pub patterns: Vec<String>,

    #[command(flatten)]
    pub change: ChangeOptions,

    /// Spare versions that were replaced (or, untracked, created) more recently than this (7d, 12h, 30m)
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,

    /// Never retire images matching this pattern (repeatable; adds to the config's exclude)
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,

    /// Also remove dangling images (no tag, no digest), like 'docker image prune'; only without PATTERNs
    #[arg(long)]
    pub dangling: bool,

    /// Then evict the least recently used images until their unique bytes fit (20G, 500M, 30% of the disk)
    #[arg(long, value_name = "SIZE|PERCENT")]
    pub budget: Option<String>,

    /// Then evict the least recently used images until the store's disk has this much free (10G, 15%)
    #[arg(long, value_name = "SIZE|PERCENT")]
    pub min_free: Option<String>,

    /// Also evict images unused for this long (90d, 12w), budget or not
    #[arg(long, value_name = "DURATION")]
    pub unused_for: Option<String>,

    /// Print a JSON report of what was retired and kept
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

#[derive(Debug, Args)]
pub struct HoldArgs {
    /// Tags (nginx:latest) or patterns (postgres:*)
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SkipArgs {
    /// Tags (nginx:latest) or patterns (postgres:*), matched against the local tags
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The tag to point back at its previous version
    #[arg(value_name = "IMAGE")]
    pub image: String,

    /// Show what would happen and change nothing
    #[arg(short = 's', long = "dry-run")]
    pub dry_run: bool,

    #[command(flatten)]
    pub recreate: RecreateOptions,
}

#[derive(Debug, Args, Clone, Default)]
pub struct NotifyOptions {
    /// Announce new updates to the config file's [[notify]] targets, each update once
    #[arg(long)]
    pub notify: bool,

    /// With --notify: announce an update again after this long (12h, 7d, 1w)
    #[arg(long, value_name = "DURATION")]
    pub renotify_after: Option<String>,
}

#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Send a test message to every target and report each result
    #[arg(long, required = true)]
    pub test: bool,
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Write the files (to /etc/systemd/system, or /etc/cron.d with --cron)
    #[arg(long, conflicts_with = "uninstall")]
    pub install: bool,

    /// Remove the files that --install wrote
    #[arg(long)]
    pub uninstall: bool,

    /// A crontab line in /etc/cron.d instead of a systemd timer
    #[arg(long)]
    pub cron: bool,

    /// When to run: a systemd calendar expression; with --cron: hourly, daily or weekly
    #[arg(long, value_name = "WHEN", default_value = "daily")]
    pub on_calendar: String,

    /// Random delay before each run, so a fleet does not reach the registries at once
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub randomized_delay: String,

    /// Directory to install into or uninstall from (for packagers and tests)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MotdArgs {
    /// Only images matching these patterns
    #[arg(value_name = "PATTERN")]
    pub patterns: Vec<String>,
}

const FLEET_HELP: &str = "Each host runs its own freshen ('freshen COMMAND ... --format json' over \
'ssh -T', batch mode): freshen must be on the PATH there, and ssh must reach the host without a prompt. \
update, check and list run on several hosts at once; upgrade goes host by host and stops after the \
first host whose upgrade fails (--keep-going goes on). A host that cannot be reached is listed with \
ssh's reason.\n\nExit status: 0 every host answered (and nothing failed); 1 a host could not be \
reached or its command failed; 100 (check) every host answered and one has an update.";

#[derive(Debug, Args)]
pub struct FleetArgs {
    /// The hosts, as ssh reaches them (user@host, an alias of ~/.ssh/config), comma-separated
    /// (default: hosts = [...] in the config file's [fleet] section)
    #[arg(long, value_delimiter = ',', value_name = "HOST,...")]
    pub hosts: Vec<String>,

    /// Hosts asked at once (update, check, list)
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub jobs: usize,

    /// upgrade: go on to the next host after a host whose upgrade failed
    #[arg(long)]
    pub keep_going: bool,

    /// Output format: one table with a HOST column, or JSON with the host in each row
    #[arg(long, value_enum, default_value_t = FleetFormat::Table)]
    pub format: FleetFormat,

    /// The command to run on each host and its arguments: update, check, list, upgrade
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FleetFormat {
    /// Aligned columns with a HOST column
    Table,
    /// A JSON array: each host's rows with `host` added
    Json,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Only images matching these patterns
    #[arg(value_name = "PATTERN")]
    pub patterns: Vec<String>,

    /// Write the metrics to this file atomically (a .prom file in the collector's directory),
    /// readable as the umask allows (0644 under umask 022), for node_exporter's own user
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (default: [serve] listen, else 127.0.0.1:8675)
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The image's tag: `postgres:16.2`, `ghcr.io/org/app:1.4` (installed or not)
    #[arg(value_name = "IMAGE")]
    pub image: String,
}
