//! Running upgrade hooks (see `core::hooks` for which apply and what their
//! exit status means): a container hook through the engine's exec API, the
//! version's hook directory copied in before and back out after; a host
//! hook with `sh -c` in a process group of its own, the directory handed
//! as a path. Each with its timeout; what it printed is kept, capped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;

use crate::core::hooks::{self, Context, Decision, Ended, Hook, Phase, Place};
use crate::core::recreate::{How, Planned};
use crate::core::reference::Reference;
use crate::engine::Engine;
use crate::settings::Settings;

/// The hooks of one tag's containers, and what they are told.
#[derive(Debug, Clone, Default)]
pub struct GroupHooks {
    /// By container name (the containers without hooks are absent).
    pub per_container: BTreeMap<String, Vec<Hook>>,
    /// What every hook of the tag is told (the container filled in per hook).
    pub context: Context,
    /// `<state>/hooks/<version>`: the directory of the version a rollback
    /// returns to, one subdirectory per container.
    pub dir: PathBuf,
    /// `freshen rollback`'s move (rather than an upgrade): its gate is
    /// followed by the post-rollback hooks.
    pub rollback: bool,
}

impl GroupHooks {
    fn of(&self, container: &str, phase: Phase) -> Vec<&Hook> {
        self.per_container
            .get(container)
            .map_or_else(Vec::new, |hs| hs.iter().filter(|h| h.phase == phase).collect())
    }

    /// Whether any container of the tag has a hook for `phase`.
    pub fn has(&self, phase: Phase) -> bool {
        self.per_container.values().flatten().any(|h| h.phase == phase)
    }

    /// Runs `container`'s hooks of `phase` (in container `target`, an id or
    /// a name), one after the other; stops at the first that does not say
    /// go on. What each did, and the decision of the last.
    pub async fn run(
        &self,
        engine: &Engine,
        container: &str,
        target: &str,
        phase: Phase,
        automatic: bool,
        info: &dyn Fn(&str),
    ) -> (Vec<HookRun>, Decision) {
        let mut runs = Vec::new();
        let mut decision = Decision::GoOn;
        for hook in self.of(container, phase) {
            info(&format!("Running the {} hook of {container}…", phase.word()));
            let mut ctx = self.context.clone();
            ctx.container = container.to_string();
            let dir = self.dir.join(hooks::container_dir(container));
            let ended = run_one(engine, hook, target, &ctx, &dir).await;
            decision = hooks::decide(phase, &ended.0, automatic);
            runs.push(HookRun {
                container: container.to_string(),
                reference: self.context.reference.clone(),
                phase,
                place: hook.place,
                ended: ended.0,
                decision,
                output: ended.1,
                seconds: ended.2,
            });
            if decision != Decision::GoOn {
                break;
            }
        }
        (runs, decision)
    }
}

/// What one hook did.
#[derive(Debug, Clone)]
pub struct HookRun {
    pub container: String,
    pub reference: String,
    pub phase: Phase,
    pub place: Place,
    pub ended: Ended,
    pub decision: Decision,
    /// Its last lines (see `core::hooks::tail`).
    pub output: Vec<String>,
    pub seconds: f64,
}

impl HookRun {
    /// `db: the pre-upgrade hook exited 75 (defer)`, for warnings and reasons.
    pub fn summary(&self) -> String {
        format!("{}: the {} hook {}", self.container, self.phase.word(), hooks::describe(&self.ended))
    }
}

/// The hooks of each container of `members` (the containers of one tag):
/// their declared labels (not their image's) and the config section of the
/// tag. A container whose labels are wrong is an error naming it.
pub async fn for_group(
    engine: &Engine,
    settings: &Settings,
    reference: &Reference,
    members: &[Planned],
) -> std::result::Result<BTreeMap<String, Vec<Hook>>, String> {
    let config = settings.config_hooks(reference);
    let mut out = BTreeMap::new();
    for m in members {
        let c = engine.inspect_container_json(&m.id).await.map_err(|e| e.to_string())?.unwrap_or(Value::Null);
        let image_id = c["Image"].as_str().unwrap_or_default();
        let image =
            engine.inspect_image_json(image_id).await.map_err(|e| e.to_string())?.unwrap_or(Value::Null);
        let hs = hooks::applicable(
            &labels(&c["Config"]["Labels"]),
            &labels(&image["Config"]["Labels"]),
            config.as_ref(),
            settings.hook_timeout,
        )
        .map_err(|e| format!("{}: {e}", m.name))?;
        if !hs.is_empty() {
            out.insert(m.name.clone(), hs);
        }
    }
    Ok(out)
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

/// The context of a tag's hooks; `compose` from one of its members.
pub fn context(
    reference: &Reference,
    old_image: &str,
    new_image: &str,
    digests: (Option<String>, Option<String>),
    versions: Option<(String, String)>,
    members: &[Planned],
) -> Context {
    let compose = members.iter().find_map(|m| match &m.how {
        How::Compose(s) => Some(s.clone()),
        How::Container => None,
    });
    let (old_version, new_version) = versions.map_or((None, None), |(o, n)| (Some(o), Some(n)));
    Context {
        reference: reference.to_string(),
        image: reference.familiar_name(),
        tag: reference.tag.clone().unwrap_or_else(|| "latest".into()),
        old_digest: digests.0,
        new_digest: digests.1,
        old_version,
        new_version,
        old_image_id: old_image.to_string(),
        new_image_id: new_image.to_string(),
        container: String::new(),
        compose_project: compose.as_ref().map(|s| s.project.clone()),
        compose_service: compose.map(|s| s.service),
    }
}

/// The directory of the version `image_id` under the state directory.
pub fn version_dir(state_dir: &Path, image_id: &str) -> PathBuf {
    state_dir.join("hooks").join(hooks::dir_name(image_id))
}

/// Removes the hook directories of versions no longer on the host (retired
/// by an upgrade or `autoremove`, or removed by hand): a backup goes with
/// the rollback point it belongs to. `present` are the image ids there.
pub fn forget_gone<'a>(state_dir: &Path, present: impl Iterator<Item = &'a str>) {
    let root = state_dir.join("hooks");
    let Ok(dirs) = std::fs::read_dir(&root) else { return };
    let present: std::collections::HashSet<String> = present.map(hooks::dir_name).collect();
    for d in dirs.flatten() {
        let name = d.file_name().to_string_lossy().into_owned();
        if !present.contains(&name) {
            let _ = std::fs::remove_dir_all(d.path());
        }
    }
}

/// Runs one hook to its end or its timeout: how it ended, its last lines,
/// how long it took.
async fn run_one(
    engine: &Engine,
    hook: &Hook,
    target: &str,
    ctx: &Context,
    dir: &Path,
) -> (Ended, Vec<String>, f64) {
    let begun = Instant::now();
    if let Err(e) = make_dir(dir) {
        return (Ended::NotRun(e), Vec::new(), 0.0);
    }
    let (ended, output) = match hook.place {
        Place::Container => in_container(engine, hook, target, ctx, dir).await,
        Place::Host => on_host(hook, ctx, dir).await,
    };
    (ended, hooks::tail(&output, hooks::TAIL_LINES), begun.elapsed().as_secs_f64())
}

/// Owner-only, like the rest of the state directory: a backup may hold
/// anything.
fn make_dir(dir: &Path) -> std::result::Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

async fn in_container(
    engine: &Engine,
    hook: &Hook,
    target: &str,
    ctx: &Context,
    dir: &Path,
) -> (Ended, String) {
    if let Err(e) = engine.copy_dir_in(target, dir, hooks::CONTAINER_DIR).await {
        return (Ended::NotRun(e.to_string()), String::new());
    }
    let env = hooks::environment(hook.phase, ctx, hooks::CONTAINER_DIR);
    let argv = vec!["sh".to_string(), "-c".to_string(), hook.command.clone()];
    let ran = tokio::time::timeout(hook.timeout, engine.exec(target, &argv, &env)).await;
    let (ended, output) = match ran {
        Err(_) => return (Ended::TimedOut, String::new()),
        Ok(Err(e)) => return (Ended::NotRun(e.to_string()), String::new()),
        Ok(Ok(x)) => match x.exit_code {
            Some(code) => (Ended::Exited(code), x.output),
            None => (Ended::NotRun("the engine did not say how it ended".into()), x.output),
        },
    };
    // What the hook left there (a backup) goes with the version; a hook
    // whose directory cannot be brought back did not do its job.
    if let Err(e) = engine.copy_dir_out(target, hooks::CONTAINER_DIR, dir).await {
        if ended == Ended::Exited(0) {
            return (Ended::NotRun(e.to_string()), output);
        }
    }
    (ended, output)
}

async fn on_host(hook: &Hook, ctx: &Context, dir: &Path) -> (Ended, String) {
    use tokio::io::AsyncReadExt;
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c").arg(&hook.command);
    // Only what the hook needs: none of freshen's own environment (tokens,
    // passwords in FRESHEN_* variables) reaches it.
    cmd.env_clear();
    for key in ["PATH", "HOME", "USER", "LANG", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG"] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    cmd.envs(hooks::environment(hook.phase, ctx, &dir.to_string_lossy()));
    cmd.current_dir(dir);
    cmd.stdin(std::process::Stdio::null());
    cmd.stdout(std::process::Stdio::piped());
    cmd.stderr(std::process::Stdio::piped());
    // Its own process group, so a timeout ends whatever it started too.
    cmd.process_group(0);
    cmd.kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return (Ended::NotRun(format!("cannot start sh: {e}")), String::new()),
    };
    let pid = child.id();
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    let work = async {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let read_out = async {
            if let Some(o) = out.as_mut() {
                let _ = o.read_to_end(&mut a).await;
            }
        };
        let read_err = async {
            if let Some(e) = err.as_mut() {
                let _ = e.read_to_end(&mut b).await;
            }
        };
        tokio::join!(read_out, read_err);
        let status = child.wait().await;
        (status, a, b)
    };
    match tokio::time::timeout(hook.timeout, work).await {
        Err(_) => {
            if let Some(pid) = pid {
                // SAFETY: kill(2) on the process group this hook leads.
                unsafe {
                    libc::kill(-(pid as i32), libc::SIGKILL);
                }
            }
            (Ended::TimedOut, String::new())
        }
        Ok((status, a, b)) => {
            let mut text = String::from_utf8_lossy(&a).into_owned();
            text.push_str(&String::from_utf8_lossy(&b));
            match status {
                Ok(s) => match s.code() {
                    Some(c) => (Ended::Exited(i64::from(c)), text),
                    None => (Ended::NotRun("killed by a signal".into()), text),
                },
                Err(e) => (Ended::NotRun(e.to_string()), text),
            }
        }
    }
}

impl HookRun {
    /// The report's record of it.
    pub fn json(&self) -> crate::output::upgrade_report::HookReport {
        crate::output::upgrade_report::HookReport {
            container: self.container.clone(),
            reference: self.reference.clone(),
            phase: self.phase.word(),
            runs_in: place_word(self.place),
            exit_status: hooks::exit_code(&self.ended),
            result: Some(hooks::describe(&self.ended)),
            decision: Some(decision_word(self.decision)),
            output: self.output.clone(),
            seconds: Some((self.seconds * 1000.0).round() / 1000.0),
        }
    }
}

/// A hook the plan would run, for the report of a dry run.
pub fn planned_json(
    container: &str,
    reference: &str,
    hook: &Hook,
) -> crate::output::upgrade_report::HookReport {
    crate::output::upgrade_report::HookReport {
        container: container.to_string(),
        reference: reference.to_string(),
        phase: hook.phase.word(),
        runs_in: place_word(hook.place),
        exit_status: None,
        result: None,
        decision: None,
        output: Vec::new(),
        seconds: None,
    }
}

fn place_word(p: Place) -> &'static str {
    match p {
        Place::Container => "container",
        Place::Host => "host",
    }
}

fn decision_word(d: Decision) -> &'static str {
    match d {
        Decision::GoOn => "go-on",
        Decision::Defer => "defer",
        Decision::Abort => "abort",
        Decision::RollBack => "roll-back",
        Decision::Report => "report",
    }
}
