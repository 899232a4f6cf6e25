//! The command line, as clap types only. Turning these into settings (with
//! the environment and the config file) happens in `settings`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit status:
  0    success; for 'check': nothing is upgradable and every check succeeded
  1    an error, or (update, check) at least one image could not be checked
  2    the command line was wrong
  100  (check) at least one image can be upgraded";

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

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Directory for freshen's state (default: $XDG_STATE_HOME/freshen)
    #[arg(long, global = true, value_name = "DIR", env = "FRESHEN_STATE_DIR", hide_env_values = true)]
    pub state_dir: Option<PathBuf>,

    /// Config file (default: $XDG_CONFIG_HOME/freshen/config.toml)
    #[arg(long, global = true, value_name = "FILE", env = "FRESHEN_CONFIG", hide_env_values = true)]
    pub config: Option<PathBuf>,

    /// Docker daemon socket (default: $DOCKER_HOST, else unix:///var/run/docker.sock)
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

    /// Show an image's installed version, its candidate and the newer tags, like 'apt-cache policy'
    #[command(
        long_about = "Shows the installed version of one image (tag, digest, version, created, \
revision and source labels), the candidate an upgrade would bring within the image's policy, \
and a table of the newer version tags within and beyond the policy. Unlike 'list', this asks \
the registry: it lists the repository's tags and reads the candidate's config.",
        after_help = EXIT_CODES
    )]
    Policy(PolicyArgs),
}

#[derive(Debug, Args, Clone)]
pub struct CheckOptions {
    /// Only images matching these patterns (`nginx`, `nginx:*`, `ghcr.io/org/*`)
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
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub check: CheckOptions,

    /// Print the result as JSON (the schema of 'list --format json')
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub check: CheckOptions,

    /// Print the result as JSON (the schema of 'list --format json')
    #[arg(long, value_enum, default_value_t = SummaryFormat::Text)]
    pub format: SummaryFormat,
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

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The image's tag: `postgres:16.2`, `ghcr.io/org/app:1.4` (installed or not)
    #[arg(value_name = "IMAGE")]
    pub image: String,
}
