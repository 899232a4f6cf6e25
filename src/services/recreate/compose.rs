//! Recreation through Compose: whether it can be done, and the Compose
//! command that does it with the project's own files.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::core::recreate::{self, ComposeService, How, Skip};
use crate::engine::Engine;
use crate::error::{Error, Result};

/// Whether Compose can recreate `service`; the reason if not.
pub fn compose_problem(service: &ComposeService, compose: Option<&ComposeCli>) -> Option<Skip> {
    let Some(_) = compose else {
        return Some(Skip::Compose(format!(
            "compose project {}: neither the 'docker compose' plugin nor docker-compose v2 is installed",
            service.project
        )));
    };
    if service.config_files.is_empty() {
        return Some(Skip::Compose(format!(
            "compose project {}: its containers do not say which files define it",
            service.project
        )));
    }
    for file in service.config_files.iter().chain(&service.env_files) {
        if !Path::new(file).exists() {
            return Some(Skip::Compose(format!("compose project {}: {file} is missing", service.project)));
        }
    }
    if let Some(dir) = &service.working_dir {
        if !Path::new(dir).is_dir() {
            return Some(Skip::Compose(format!("compose project {}: {dir} is missing", service.project)));
        }
    }
    None
}

/// Moves the Compose services that cannot be recreated (no Compose, or a
/// file of the project gone) from `plan.recreate` to `plan.skipped`;
/// returns the Compose command when one is needed and found.
pub async fn check_compose(plan: &mut recreate::Plan, docker_host: Option<&str>) -> Option<ComposeCli> {
    let needed = plan.recreate.iter().any(|c| matches!(c.how, How::Compose(_)));
    let compose = if needed { ComposeCli::find(docker_host).await } else { None };
    // An engine over ssh: the project's files are on that host, and a
    // Compose recreation from here would read ours.
    let remote = docker_host.filter(|h| h.starts_with("ssh://"));
    let mut keep = Vec::new();
    for c in std::mem::take(&mut plan.recreate) {
        let problem = match &c.how {
            How::Compose(s) if remote.is_some() => Some(Skip::Remote(format!(
                "compose project {} runs on {}, and recreating it needs the project's files there: \
                 run freshen on that host",
                s.project,
                remote.unwrap_or_default()
            ))),
            How::Compose(s) => compose_problem(s, compose.as_ref()),
            How::Container => None,
        };
        match problem {
            Some(skip) => plan.skipped.push((c.name.clone(), c.reference.clone(), skip)),
            None => keep.push(c),
        }
    }
    plan.recreate = keep;
    compose
}

/// The Compose command line found on this host.
#[derive(Debug, Clone)]
pub struct ComposeCli {
    program: PathBuf,
    prefix: Vec<String>,
}

impl ComposeCli {
    /// `docker compose` (the v2 plugin), else `docker-compose` if it is v2.
    pub async fn find(docker_host: Option<&str>) -> Option<ComposeCli> {
        let candidates = [
            ComposeCli { program: "docker".into(), prefix: vec!["compose".into()] },
            ComposeCli { program: "docker-compose".into(), prefix: vec![] },
        ];
        for c in candidates {
            let mut cmd = c.command(docker_host);
            cmd.args(["version", "--short"]);
            if let Ok(out) = cmd.output().await {
                let text = String::from_utf8_lossy(&out.stdout);
                let v = text.trim().trim_start_matches('v');
                if out.status.success()
                    && v.split('.').next().and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| m >= 2)
                {
                    return Some(c);
                }
            }
        }
        None
    }

    fn command(&self, docker_host: Option<&str>) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.prefix).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // A process group of its own: Ctrl-C on the terminal signals the
        // whole foreground group, and Compose cut short midway leaves a
        // service between its containers. freshen takes the signal, lets
        // Compose finish, and puts things back itself.
        cmd.process_group(0);
        if let Some(h) = docker_host {
            cmd.env("DOCKER_HOST", h);
        }
        cmd
    }

    /// `up -d --pull never SERVICE` with the project's name, directory,
    /// files and env files, as the labels recorded them; `--no-deps` only
    /// for a service without dependencies. With it, Compose leaves
    /// `depends_on` out of the service's config hash, and the next plain
    /// `docker compose up -d` would recreate the service once more. Without
    /// it, dependencies already running as configured are left alone.
    pub(super) async fn up(&self, s: &ComposeService, docker_host: Option<&str>) -> Result<()> {
        let mut cmd = self.command(docker_host);
        cmd.args(["-p", &s.project]);
        if let Some(dir) = &s.working_dir {
            cmd.args(["--project-directory", dir]);
            cmd.current_dir(dir);
        }
        for f in &s.config_files {
            cmd.args(["-f", f]);
        }
        for e in &s.env_files {
            cmd.args(["--env-file", e]);
        }
        cmd.args(["up", "-d", "--pull", "never"]);
        if s.depends_on.is_empty() {
            cmd.arg("--no-deps");
        }
        cmd.arg(&s.service);
        let out = cmd.output().await.map_err(|e| Error::Daemon {
            action: format!("run compose for project {}", s.project),
            detail: e.to_string(),
        })?;
        if out.status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        Err(Error::Daemon {
            action: format!("docker compose up {} (project {})", s.service, s.project),
            detail: last.to_string(),
        })
    }
}

/// The containers Compose runs for one service.
pub(super) async fn compose_containers(engine: &Engine, s: &ComposeService) -> Result<Vec<String>> {
    Ok(engine
        .recreate_candidates()
        .await?
        .into_iter()
        .filter(|c| {
            c.labels.get("com.docker.compose.project") == Some(&s.project)
                && c.labels.get("com.docker.compose.service") == Some(&s.service)
                && c.labels.get("com.docker.compose.oneoff").is_none_or(|v| v != "True")
        })
        .map(|c| c.id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_problems_are_named_not_guessed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("compose.yaml");
        std::fs::write(&file, "services: {}\n").unwrap();
        let service = ComposeService {
            project: "shop".into(),
            service: "web".into(),
            working_dir: Some(dir.path().display().to_string()),
            config_files: vec![file.display().to_string()],
            env_files: vec![],
            depends_on: vec![],
        };
        let cli = ComposeCli { program: "docker".into(), prefix: vec!["compose".into()] };
        let why = |s: &ComposeService, c: Option<&ComposeCli>| compose_problem(s, c).map(|s| s.to_string());
        assert_eq!(why(&service, Some(&cli)), None);
        let none = why(&service, None).unwrap();
        assert!(
            none.contains("neither the 'docker compose' plugin nor docker-compose v2 is installed"),
            "{none}"
        );
        let gone =
            ComposeService { env_files: vec![format!("{}/.env", dir.path().display())], ..service.clone() };
        assert_eq!(
            why(&gone, Some(&cli)),
            Some(format!("compose project shop: {}/.env is missing", dir.path().display()))
        );
        let unnamed = ComposeService { config_files: vec![], ..service.clone() };
        assert!(why(&unnamed, Some(&cli)).unwrap().contains("do not say which files define it"));
        let moved = ComposeService { working_dir: Some("/nonexistent/shop".into()), ..service };
        assert_eq!(
            why(&moved, Some(&cli)),
            Some("compose project shop: /nonexistent/shop is missing".into())
        );
        assert!(compose_problem(&moved, Some(&cli)).unwrap().is_failure());
    }
}
