//! Flags, environment and the config file, resolved into one `Settings`
//! value in one place. Commands never read the environment themselves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod config_file;
mod context;
mod env;
pub mod keys;

/// `FRESHEN_TEST_PAUSE` (see `services::interrupt::checkpoint`).
pub fn test_pause() -> Option<String> {
    env::test_pause()
}
pub mod serve;

use config_file::load_config;
pub use config_file::{parse_min_age, CacheSection, ConfigFile, ImageSection};
use env::{default_config_path, default_state_dir, env_path, table_width, Environment};

use crate::cli::{CheckOptions, ColorChoice, GlobalArgs, NotifyOptions};
use crate::core::policy::ImagePolicy;
use crate::core::reference::{Pattern, Reference};
use crate::core::unattended::Policy;
use crate::core::versions::{Level, TagRules};
use crate::error::{Error, Result};
use crate::notify::Target;
use crate::output::OutputSettings;
use crate::registry::RegistrySettings;

pub const DEFAULT_CONCURRENCY: usize = 64;
pub const DEFAULT_TIMEOUT_SECS: f64 = 20.0;
pub const DEFAULT_RETRIES: u32 = 3;
/// How long a repository's tag listing is reused before it is asked for again.
pub const DEFAULT_TAG_CACHE_TTL_SECS: u64 = 6 * 3600;
/// The system-wide config file, read when the user has none (the package
/// installs a commented one; a system service has no `HOME` to find
/// another).
pub const SYSTEM_CONFIG: &str = "/etc/freshen/config.toml";

/// The config file when neither `--config` nor `FRESHEN_CONFIG` names one:
/// the user's when it exists, else the system-wide one when it exists,
/// else the user's path (absent; `schedule` hands it to the timer so a file
/// written there later is read).
fn pick_config(user: Option<PathBuf>, system: &Path, exists: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    match user {
        Some(u) if exists(&u) => Some(u),
        _ if exists(system) => Some(system.to_path_buf()),
        user => user,
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub state_dir: PathBuf,
    /// The daemon: `--host`, else `$DOCKER_HOST`; None for the engine's
    /// default socket.
    pub docker_host: Option<String>,
    /// The `FRESHEN_*` variables of this run that change what freshen does,
    /// besides the state directory and config file (which `schedule`
    /// passes as flags): a scheduled run gets them too.
    pub behaviour_env: Vec<(&'static str, String)>,
    pub registry: RegistrySettings,
    pub output: OutputSettings,
    pub exclude: Vec<Pattern>,
    /// `[images."…"]` sections, most specific first.
    pub images: Vec<(Pattern, ImageSection)>,
    pub tag_cache_ttl: Duration,
    /// `[fleet] hosts`: where `freshen fleet` runs without `--hosts`.
    pub fleet_hosts: Vec<String>,
    /// The config file in effect (it need not exist), for messages and for
    /// the units `schedule` writes.
    pub config_path: Option<PathBuf>,
    /// What is wrong with the `[[notify]]` targets, if anything.
    notify_error: Option<String>,
    /// Notification targets, in the order of the config file.
    pub notify: Vec<Target>,
    /// `--renotify-after`, else `renotify_after` from the config file.
    pub renotify_after: Option<Duration>,
    /// The `[unattended]` section, if there is one.
    pub unattended: Option<Policy>,
    /// From the config file; flags beat it (see [`Settings::retire`]).
    keep: Option<usize>,
    older_than: Option<String>,
    /// The global `min_age` of the config file, in seconds.
    min_age: u64,
    /// `--min-age` of `update`, `check` or `upgrade`, in seconds.
    pub min_age_flag: Option<u64>,
    /// `[serve]`: what `freshen serve` listens on and allows.
    pub serve: serve::ServeSettings,
    /// `[mqtt]`: Home Assistant's broker, if any.
    pub mqtt: Option<serve::MqttSettings>,
    /// `hook_timeout`: a hook's timeout when it sets none.
    pub hook_timeout: Duration,
    /// `[cache]` as written (see [`Settings::cache`]).
    cache: CacheSection,
    /// `FRESHEN_TEST_NOW`, the tests' clock.
    now_override: Option<i64>,
}

/// The budget of `autoremove`, flags merged over `[cache]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CacheRequest {
    pub budget: Option<crate::core::cache::Amount>,
    pub min_free: Option<crate::core::cache::Amount>,
    /// Seconds.
    pub unused_for: Option<i64>,
    /// Seconds.
    pub min_age: i64,
}

impl CacheRequest {
    /// Whether anything asks for eviction.
    pub fn any(&self) -> bool {
        self.budget.is_some() || self.min_free.is_some() || self.unused_for.is_some()
    }
}

/// What upgrade and autoremove may retire, flags merged over the config.
#[derive(Debug, Clone)]
pub struct RetireSettings {
    pub keep: usize,
    pub keep_from: crate::core::retire::KeepFrom,
    /// Seconds.
    pub older_than: Option<i64>,
    pub exclude: Vec<Pattern>,
}

impl Settings {
    pub fn resolve(global: &GlobalArgs, check: Option<&CheckOptions>) -> Result<Settings> {
        // `--config FILE` must exist; FRESHEN_CONFIG and the default path
        // may be absent (packagers and tests point at files not written yet).
        if let Some(p) = &global.config {
            if !p.exists() {
                return Err(Error::CommandLine(format!("config file {} does not exist", p.display())));
            }
        }
        let config_path = match &global.config {
            Some(p) => Some(p.clone()),
            None => env_path("FRESHEN_CONFIG")
                .or_else(|| pick_config(default_config_path(), Path::new(SYSTEM_CONFIG), |p| p.exists())),
        };
        let mut config = match &config_path {
            Some(p) => load_config(p)?,
            None => ConfigFile::default(),
        };
        let (serve, mqtt) = (config.serve.take(), config.mqtt.take());
        let mut settings = Settings::from_parts(global, check, config)?;
        settings.serve = serve::serve(serve.as_ref(), config_path.as_deref())?;
        settings.mqtt = serve::mqtt(mqtt.as_ref(), config_path.as_deref())?;
        settings.config_path = config_path;
        Ok(settings)
    }

    /// `upgrade --min-age`.
    pub fn with_min_age(mut self, text: Option<&str>) -> Result<Settings> {
        if let Some(text) = text {
            self.min_age_flag =
                Some(parse_min_age(text).map_err(|e| Error::Usage(format!("--min-age: {e}")))?);
        }
        Ok(self)
    }

    /// The minimum age `update` applies to a tag: `--min-age`, else the
    /// image's `min_age`, else the global one.
    pub fn min_age_for(&self, reference: &Reference) -> u64 {
        self.min_age_flag.unwrap_or_else(|| self.image_policy(reference).min_age)
    }

    /// For the commands that may notify: a mistake in a `[[notify]]` target
    /// stops them, with the line and key to fix. Other commands ignore it.
    pub fn notify_targets_ok(self) -> Result<Settings> {
        match &self.notify_error {
            Some(message) => Err(Error::Usage(message.clone())),
            None => Ok(self),
        }
    }

    /// Adds the flags of `update`/`check` that concern notifications.
    pub fn with_notify_options(mut self, opts: &NotifyOptions) -> Result<Settings> {
        if let Some(text) = &opts.renotify_after {
            let d = crate::core::time::positive_duration(text)
                .map_err(|e| Error::CommandLine(format!("--renotify-after: {e}")))?;
            self.renotify_after = Some(d);
        }
        Ok(self)
    }

    fn from_parts(global: &GlobalArgs, check: Option<&CheckOptions>, config: ConfigFile) -> Result<Settings> {
        let state_dir = match &global.state_dir {
            Some(dir) => dir.clone(),
            None => default_state_dir()?,
        };
        if state_dir.exists() && !state_dir.is_dir() {
            return Err(Error::StateDirIsFile(state_dir));
        }
        let env = Environment::read();
        let registry = registry_settings(global, check, &config, &env)?;
        let exclude = config
            .exclude
            .iter()
            .map(|p| {
                Pattern::new(p).map_err(|e| Error::ConfigValue(format!("bad exclude pattern '{p}': {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !env.no_color && std::io::IsTerminal::is_terminal(&std::io::stdout()),
        };
        Ok(Settings {
            state_dir,
            // As the docker CLI: -H, then DOCKER_HOST, then the context
            // (DOCKER_CONTEXT, else `docker context use`'s).
            docker_host: match global.docker_host.clone().or(env.docker_host.clone()) {
                Some(host) => Some(host),
                None => context::docker_host(&env.docker_config_dir, env.docker_context.as_deref())?,
            },
            behaviour_env: env.behaviour,
            registry,
            output: OutputSettings {
                quiet: global.quiet,
                verbose: global.verbose,
                color,
                width: table_width(),
            },
            exclude,
            keep: config.keep,
            min_age_flag: match check.and_then(|c| c.min_age.as_deref()) {
                Some(text) => Some(parse_min_age(text).map_err(|e| Error::Usage(format!("--min-age: {e}")))?),
                None => None,
            },
            min_age: match &config.min_age {
                Some(text) => parse_min_age(text).map_err(Error::ConfigValue)?,
                None => 0,
            },
            older_than: config.older_than,
            config_path: None,
            notify: config.validated.notify,
            notify_error: config.validated.notify_error,
            renotify_after: config.validated.renotify_after,
            unattended: config.validated.unattended,
            images: image_sections(&config.images),
            // `--refresh-tags`: no listing is young enough to reuse.
            tag_cache_ttl: if check.is_some_and(|c| c.refresh_tags) {
                Duration::ZERO
            } else {
                Duration::from_secs(config.tag_cache_ttl.unwrap_or(DEFAULT_TAG_CACHE_TTL_SECS))
            },
            fleet_hosts: config.fleet.hosts.clone(),
            serve: serve::ServeSettings::default(),
            mqtt: None,
            hook_timeout: config
                .hook_timeout
                .as_deref()
                .and_then(|t| crate::core::hooks::parse_timeout(t).ok())
                .unwrap_or(crate::core::hooks::DEFAULT_TIMEOUT),
            cache: config.cache.clone(),
            now_override: env::test_now(),
        })
    }

    /// The time now: the clock, or `FRESHEN_TEST_NOW` in tests.
    pub fn now(&self) -> i64 {
        self.now_override.unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp())
    }

    /// The cache limits: `--budget`, `--min-free` and `--unused-for` beat
    /// `[cache]`. A bad flag exits 2, a bad key 1, each naming itself.
    pub fn cache(
        &self,
        budget: Option<&str>,
        min_free: Option<&str>,
        unused_for: Option<&str>,
    ) -> Result<CacheRequest> {
        use crate::core::cache::Amount;
        let c = &self.cache;
        let amount = |flag: Option<&str>, name: &str, key: &Option<String>| -> Result<Option<Amount>> {
            match (flag, key) {
                (Some(v), _) => {
                    Amount::parse(v).map(Some).map_err(|e| Error::CommandLine(format!("--{name}: {e}")))
                }
                (None, Some(v)) => Amount::parse(v)
                    .map(Some)
                    .map_err(|e| Error::ConfigValue(format!("[cache] {}: {e}", name.replace('-', "_")))),
                (None, None) => Ok(None),
            }
        };
        let unused_for = match (unused_for, &c.unused_for) {
            (Some(v), _) => Some(
                crate::core::time::duration_secs(v)
                    .map_err(|e| Error::CommandLine(format!("--unused-for: {e}")))?,
            ),
            (None, Some(v)) => Some(
                crate::core::time::duration_secs(v)
                    .map_err(|e| Error::ConfigValue(format!("[cache] unused_for: {e}")))?,
            ),
            (None, None) => None,
        };
        let min_age = match &c.min_age {
            Some(v) => {
                parse_min_age(v).map_err(|e| Error::ConfigValue(format!("[cache] min_age: {e}")))? as i64
            }
            None => crate::core::cache::DEFAULT_MIN_AGE,
        };
        Ok(CacheRequest {
            budget: amount(budget, "budget", &c.budget)?,
            min_free: amount(min_free, "min-free", &c.min_free)?,
            unused_for,
            min_age,
        })
    }

    /// The retirement rules: `--keep`, `--older-than` and `--exclude` beat
    /// (or, for exclude, add to) the config file.
    pub fn retire(
        &self,
        keep: Option<usize>,
        older_than: Option<&str>,
        exclude: &[String],
    ) -> Result<RetireSettings> {
        // A bad value on the command line exits 2; one from the config file 1.
        let from_flag = older_than.is_some();
        let older_than = match older_than.or(self.older_than.as_deref()) {
            Some(d) => Some(crate::core::time::duration_secs(d).map_err(|e| {
                if from_flag {
                    Error::CommandLine(e)
                } else {
                    Error::ConfigValue(e)
                }
            })?),
            None => None,
        };
        let mut patterns = self.exclude.clone();
        for p in exclude {
            patterns.push(
                Pattern::new(p).map_err(|e| Error::CommandLine(format!("bad exclude pattern '{p}': {e}")))?,
            );
        }
        let keep_from = match (keep, self.keep) {
            (None, Some(_)) => crate::core::retire::KeepFrom::Config,
            _ => crate::core::retire::KeepFrom::Flag,
        };
        Ok(RetireSettings { keep: keep.or(self.keep).unwrap_or(0), keep_from, older_than, exclude: patterns })
    }

    /// The policy for an image: the most specific matching
    /// `[images."PATTERN"]` section (the pattern with the most characters
    /// that are not `*` or `?`; on a tie, the one that sorts first), else
    /// the default (every level, every tag, not held).
    /// Whether an upgrade may recreate the containers of this tag: not
    /// when its `[images."…"]` section says `recreate = false`. The section
    /// that names it says so, as in the message.
    pub fn recreate_off(&self, reference: &Reference) -> Option<String> {
        self.images
            .iter()
            .find(|(p, s)| s.recreate.is_some() && p.matches(reference))
            .filter(|(_, s)| s.recreate == Some(false))
            .map(|(p, _)| p.to_string())
    }

    /// The hooks of the most specific `[images."…"]` section with any, for
    /// the containers of `reference`.
    pub fn config_hooks(&self, reference: &Reference) -> Option<crate::core::hooks::ConfigHooks> {
        use crate::core::hooks::{parse_timeout, ConfigHooks, Phase, Place};
        let (pattern, s) = self.images.iter().find(|(p, s)| {
            let any = [&s.pre_upgrade, &s.post_upgrade, &s.pre_rollback, &s.post_rollback];
            any.iter().any(|c| c.is_some()) && p.matches(reference)
        })?;
        let commands = [
            (Phase::PreUpgrade, &s.pre_upgrade),
            (Phase::PostUpgrade, &s.post_upgrade),
            (Phase::PreRollback, &s.pre_rollback),
            (Phase::PostRollback, &s.post_rollback),
        ]
        .into_iter()
        .filter_map(|(phase, c)| Some((phase, c.clone()?)))
        .collect();
        Some(ConfigHooks {
            pattern: pattern.to_string(),
            commands,
            timeout: s.hook_timeout.as_deref().and_then(|t| parse_timeout(t).ok()),
            // Checked when the file was read: "host" only with host_hooks.
            place: match s.hooks_on.as_deref() {
                Some("host") => Some(Place::Host),
                _ => Some(Place::Container),
            },
        })
    }

    /// The patterns of the `[images."…"]` sections with `hold = true`.
    pub fn held_sections(&self) -> Vec<String> {
        self.images.iter().filter(|(_, s)| s.hold).map(|(p, _)| p.to_string()).collect()
    }

    pub fn image_policy(&self, reference: &Reference) -> ImagePolicy {
        match self.images.iter().find(|(p, _)| p.matches(reference)) {
            None => ImagePolicy { min_age: self.min_age, ..ImagePolicy::default() },
            Some((pattern, section)) => ImagePolicy {
                rules: TagRules {
                    max_level: section.policy.unwrap_or(Level::Major),
                    include: section.include.clone(),
                    exclude: section.exclude.clone(),
                },
                hold: section.hold,
                section: Some(pattern.to_string()),
                min_age: section
                    .min_age
                    .as_deref()
                    .and_then(|t| parse_min_age(t).ok())
                    .unwrap_or(self.min_age),
                changelog: section.changelog.clone(),
            },
        }
    }
}

fn specificity(pattern: &str) -> usize {
    pattern.chars().filter(|c| *c != '*' && *c != '?').count()
}

/// How the registry client behaves: limits from the flags of `update` and
/// `check`, else the config file, else the defaults (each checked), and the
/// registries that may be plain HTTP from the config file, the flags and
/// the environment.
fn registry_settings(
    global: &GlobalArgs,
    check: Option<&CheckOptions>,
    config: &ConfigFile,
    env: &Environment,
) -> Result<RegistrySettings> {
    let concurrency = check.and_then(|c| c.concurrency).or(config.concurrency).unwrap_or(DEFAULT_CONCURRENCY);
    if concurrency == 0 || concurrency > 1024 {
        return Err(Error::CommandLine(format!("concurrency must be between 1 and 1024, not {concurrency}")));
    }
    let timeout = check.and_then(|c| c.timeout).or(config.timeout).unwrap_or(DEFAULT_TIMEOUT_SECS);
    if !(timeout.is_finite() && (1.0..=3600.0).contains(&timeout)) {
        return Err(Error::CommandLine(format!(
            "timeout must be a number of seconds between 1 and 3600, not {timeout}"
        )));
    }
    let retries = check.and_then(|c| c.retries).or(config.retries).unwrap_or(DEFAULT_RETRIES);
    if retries > 10 {
        return Err(Error::CommandLine(format!("retries must be at most 10, not {retries}")));
    }
    let mut insecure = config.insecure_registries.clone();
    insecure.extend(global.insecure_registries.iter().cloned());
    insecure.extend(env.insecure.iter().cloned());
    Ok(RegistrySettings {
        insecure,
        concurrency,
        timeout: Duration::from_secs_f64(timeout),
        retries,
        docker_config_dir: env.docker_config_dir.clone(),
        certs_dir: env.certs_dir.clone(),
        daemon_json: env.daemon_json.clone(),
        verbose: global.verbose,
    })
}

/// The image sections in the order `image_policy` tries them.
fn image_sections(config: &BTreeMap<String, ImageSection>) -> Vec<(Pattern, ImageSection)> {
    let mut out: Vec<(Pattern, ImageSection)> =
        config.iter().filter_map(|(k, v)| Pattern::new(k).ok().map(|p| (p, v.clone()))).collect();
    // Stable sort: among equally specific patterns the map's order (sorted) stays.
    out.sort_by_key(|(p, _)| std::cmp::Reverse(specificity(&p.to_string())));
    out
}

#[cfg(test)]
mod tests {
    use super::config_file::parse_config;
    use super::*;
    use std::path::Path;

    #[test]
    fn config_errors_name_line_and_key() {
        let p = Path::new("/etc/freshen.toml");
        let e = parse_config(p, "retries = 2\nconcurrency = \"many\"\n").unwrap_err().to_string();
        assert!(e.starts_with("config file /etc/freshen.toml: line 2, key 'concurrency': "), "{e}");
        let e = parse_config(p, "concurrencyy = 3\n").unwrap_err().to_string();
        assert!(e.contains("line 1, key 'concurrencyy'") && e.contains("unknown field"), "{e}");
        let e = parse_config(p, "exclude = [\n").unwrap_err().to_string();
        assert!(e.contains("line "), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn notify_and_unattended_errors_point_at_the_key() {
        let p = Path::new("/etc/freshen.toml");
        let text = "retries = 2\n\n[[notify]]\nkind = \"webhook\"\nurl = \"https://a.example/\"\n\n\
                    [[notify]]\nkind = \"exec\"\ncommand = []\n";
        assert_eq!(
            parse_config(p, text).unwrap().validated.notify_error.unwrap(),
            "config file /etc/freshen.toml: line 9, key 'notify.command': an exec target needs a command: \
             [\"program\", \"arg\", …] (in [[notify]] number 2)"
        );
        let e = parse_config(p, "renotify_after = \"soon\"\n").unwrap_err().to_string();
        assert!(
            e.starts_with("config file /etc/freshen.toml: line 1, key 'renotify_after': 'soon' is not"),
            "{e}"
        );
        let e = parse_config(p, "[unattended]\nupgrade = true\nallowed = [\"ok\", \"\"]\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "config file /etc/freshen.toml: line 3, key 'unattended.allowed': '': empty pattern");
        let e = parse_config(p, "[unattended]\nupgrade = \"yes\"\n").unwrap_err().to_string();
        assert!(e.contains("line 2, key 'upgrade'"), "{e}");

        let c = parse_config(
            p,
            "renotify_after = \"1d\"\n[unattended]\nupgrade = true\nallowed = [\"nginx\"]\n\
             [[notify]]\nkind = \"ntfy\"\nurl = \"https://ntfy.sh/x\"\n",
        )
        .unwrap();
        assert_eq!(c.validated.renotify_after, Some(Duration::from_secs(86_400)));
        assert_eq!(c.validated.notify.len(), 1);
        let u = c.validated.unattended.unwrap();
        assert!(u.upgrade && !u.retire && u.allowed.len() == 1);
    }

    #[test]
    fn the_system_config_is_read_when_the_user_has_none() {
        let user = PathBuf::from("/home/u/.config/freshen/config.toml");
        let system = Path::new(SYSTEM_CONFIG);
        let only =
            |present: &'static [&'static str]| move |p: &Path| present.iter().any(|x| Path::new(x) == p);
        let both = only(&["/home/u/.config/freshen/config.toml", "/etc/freshen/config.toml"]);
        assert_eq!(pick_config(Some(user.clone()), system, both), Some(user.clone()), "the user's wins");
        let sys = only(&["/etc/freshen/config.toml"]);
        assert_eq!(pick_config(Some(user.clone()), system, sys), Some(system.to_path_buf()));
        assert_eq!(pick_config(None, system, sys), Some(system.to_path_buf()), "no HOME: a system service");
        assert_eq!(
            pick_config(Some(user.clone()), system, only(&[])),
            Some(user),
            "neither: the user's path"
        );
        assert_eq!(pick_config(None, system, only(&[])), None);
    }

    #[test]
    fn config_errors_are_in_the_files_words() {
        let p = Path::new("/c.toml");
        let e = parse_config(p, "keep = -1\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "config file /c.toml: line 1, key 'keep': invalid value: integer `-1`, expected a whole number (0 or more)"
        );
        let e = parse_config(p, "timeout = \"soon\"\n").unwrap_err().to_string();
        assert!(e.ends_with("expected a number"), "{e}");
        // A global key below [[notify]] is read as the target's: say where it goes.
        let e = parse_config(p, "[[notify]]\nkind = \"ntfy\"\nurl = \"https://ntfy.sh/x\"\nkeep = 2\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "config file /c.toml: line 4, key 'keep': belongs before the first table: below '[[notify]]' it is \
             read as part of that table; move it to the top of the file"
        );
    }

    #[test]
    fn config_parses() {
        let c = parse_config(Path::new("x"), "concurrency = 8\ntimeout = 2.5\nexclude = [\"*/test/*\"]\n")
            .unwrap();
        assert_eq!(c.concurrency, Some(8));
        assert_eq!(c.timeout, Some(2.5));
        assert_eq!(c.exclude, vec!["*/test/*"]);
        let c = parse_config(Path::new("x"), "keep = 2\nolder_than = \"7d\"\n").unwrap();
        assert_eq!((c.keep, c.older_than.as_deref()), (Some(2), Some("7d")));
    }

    fn settings_with(text: &str) -> Settings {
        let config = parse_config(Path::new("c.toml"), text).unwrap();
        // A directory of the test's own: a fixed path such as /tmp/x may be
        // a file on some machine, and the state directory must not be one.
        let dir = tempfile::tempdir().unwrap();
        let global = GlobalArgs {
            state_dir: Some(dir.path().join("state")),
            config: None,
            docker_host: None,
            insecure_registries: vec![],
            quiet: false,
            verbose: false,
            color: ColorChoice::Never,
        };
        Settings::from_parts(&global, None, config).unwrap()
    }

    #[test]
    fn image_policies_most_specific_first() {
        let s = settings_with(
            "tag_cache_ttl = 60\n\
             [images.\"*\"]\npolicy = \"major\"\n\
             [images.\"postgres\"]\npolicy = \"minor\"\ninclude = [\"16.*\"]\nexclude = [\"*-rc*\"]\n\
             [images.\"ghcr.io/org/*\"]\nhold = true\npolicy = \"patch\"\n",
        );
        assert_eq!(s.tag_cache_ttl, Duration::from_secs(60));
        let r = |x: &str| Reference::parse(x).unwrap();
        let pg = s.image_policy(&r("postgres:16.2"));
        assert_eq!(pg.rules.max_level, Level::Minor);
        assert_eq!(pg.rules.include, vec!["16.*"]);
        assert_eq!(pg.rules.exclude, vec!["*-rc*"]);
        assert_eq!(pg.section.as_deref(), Some("postgres"));
        assert!(!pg.hold);
        let app = s.image_policy(&r("ghcr.io/org/app:1.2"));
        assert!(app.hold);
        assert_eq!(app.rules.max_level, Level::Patch);
        assert_eq!(s.image_policy(&r("redis:7")).section.as_deref(), Some("*"));
        let none = settings_with("").image_policy(&r("redis:7"));
        assert_eq!(none, ImagePolicy::default());
        assert_eq!(none.rules.max_level, Level::Major);
    }

    #[test]
    fn minimum_ages_and_changelog_templates() {
        let s = settings_with(
            "min_age = \"2d\"\n\
             [images.\"postgres\"]\nmin_age = \"12h\"\nchangelog = \"https://x.example/{version}\"\n\
             [images.\"redis\"]\nmin_age = \"0\"\n\
             [images.\"nginx\"]\npolicy = \"minor\"\n",
        );
        let r = |x: &str| Reference::parse(x).unwrap();
        let pg = s.image_policy(&r("postgres:16.2"));
        assert_eq!((pg.min_age, pg.changelog.as_deref()), (12 * 3600, Some("https://x.example/{version}")));
        assert_eq!(s.image_policy(&r("redis:7")).min_age, 0, "0 turns it off for the section");
        assert_eq!(s.image_policy(&r("nginx:1")).min_age, 2 * 86_400, "a section without one: the global");
        assert_eq!(s.image_policy(&r("alpine:3")).min_age, 2 * 86_400);
        assert_eq!(s.min_age_for(&r("postgres:16.2")), 12 * 3600);
        let flagged = s.clone().with_min_age(Some("1h")).unwrap();
        assert_eq!(flagged.min_age_for(&r("postgres:16.2")), 3600, "--min-age beats the config");
        assert!(s.with_min_age(Some("soon")).unwrap_err().to_string().contains("--min-age: 'soon'"));
        assert_eq!(parse_min_age("1d12h"), Ok(36 * 3600));
        let p = Path::new("/c.toml");
        let e = parse_config(p, "keep = 1\nmin_age = \"3 days\"\n").unwrap_err().to_string();
        assert!(
            e.starts_with("config file /c.toml: line 2, key 'min_age': '3 days' is not a duration"),
            "{e}"
        );
        let e = parse_config(p, "[images.\"pg\"]\nmin_age = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("key 'images.\"pg\".min_age'"), "{e}");
        let e =
            parse_config(p, "[images.\"pg\"]\nchangelog = \"ftp://x/{version}\"\n").unwrap_err().to_string();
        assert!(e.contains("key 'images.\"pg\".changelog': 'ftp://x/{version}' is not an http"), "{e}");
    }

    #[test]
    fn image_section_errors_name_line_and_key() {
        let p = Path::new("/c.toml");
        let e = parse_config(p, "[images.\"postgres\"]\npolicy = \"minorr\"\n").unwrap_err().to_string();
        assert!(e.starts_with("config file /c.toml: line 2, key 'policy': unknown variant"), "{e}");
        let e = parse_config(p, "[images.\"postgres\"]\nhold = true\npolcy = \"minor\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("config file /c.toml: line 3, key 'polcy': unknown field"), "{e}");
        let e = parse_config(p, "\n[images.\"a b\"]\nhold = true\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "config file /c.toml: line 2, key 'images.\"a b\"': not an image pattern (contains whitespace)"
        );
        let e = parse_config(p, "[images.\"x\"]\ninclude = [\"\"]\n").unwrap_err().to_string();
        assert!(
            e.starts_with("config file /c.toml: line 1, key 'images.\"x\".include': '' is not a tag pattern"),
            "{e}"
        );
    }
}
