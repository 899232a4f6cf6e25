//! The container calls a recreation needs: inspect (as the Engine API's own
//! JSON, which `core::recreate` reads), create, connect, rename, start,
//! stop, remove and the last log lines. Removal never asks for the
//! container's volumes to go (`v`), so an anonymous volume handed to a new
//! container survives the old one.

use bollard::models::{ContainerCreateBody, EndpointSettings, NetworkConnectRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, EventsOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    RenameContainerOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;
use serde_json::Value;

use super::{is_status, Engine};
use crate::core::recreate::{self, Candidate, Creation};
use crate::error::{Error, Result};

/// Docker's stop timeout when the container sets none, in seconds.
const DEFAULT_STOP_TIMEOUT: i32 = 10;

impl Engine {
    /// Every container (running or not) with what the planner needs.
    pub async fn recreate_candidates(&self) -> Result<Vec<Candidate>> {
        let mut out: Vec<Candidate> = self
            .container_rows()
            .await?
            .into_iter()
            .map(|c| Candidate {
                name: c.name(),
                running: c.state == "running",
                network_mode: c.host_config.and_then(|h| h.network_mode).unwrap_or_default(),
                id: c.id,
                image_id: c.image_id,
                image: c.image,
                labels: c.labels.unwrap_or_default().into_iter().collect(),
            })
            .collect();
        // podman's list has no HostConfig: ask each container, so that a
        // `container:` dependent is known as one. The list shows an image
        // ID both for a container created from the ID and for one whose
        // tag has moved since: `Config.Image` tells them apart.
        for c in out
            .iter_mut()
            .filter(|c| c.network_mode.is_empty() || recreate::names_the_id(&c.image, &c.image_id))
        {
            if let Some(v) = self.inspect_container_json(&c.id).await? {
                if c.network_mode.is_empty() {
                    c.network_mode = v["HostConfig"]["NetworkMode"].as_str().unwrap_or_default().to_string();
                }
                if let Some(image) = v["Config"]["Image"].as_str().filter(|i| !i.is_empty()) {
                    c.image = image.to_string();
                }
            }
        }
        Ok(out)
    }

    /// `GET /containers/{id}/json`; None when there is no such container.
    /// Read as plain JSON (see `raw`): podman 4.3 reports states, such as
    /// `stopped`, that the typed client rejects.
    pub async fn inspect_container_json(&self, id: &str) -> Result<Option<Value>> {
        let timeout = std::time::Duration::from_secs(super::ENGINE_TIMEOUT_SECS);
        match super::raw::get_json_if_found(&self.host, &format!("/containers/{id}/json"), timeout).await {
            Ok(found) => Ok(found),
            // podman answers 500 "no such container" for one removed since
            // it was listed: gone, as a 404 would say.
            Err(detail) if detail.contains("no such container") => Ok(None),
            Err(detail) => Err(Error::Daemon { action: format!("inspect container {id}"), detail }),
        }
    }

    /// `GET /images/{id}/json`; None when there is no such image.
    pub async fn inspect_image_json(&self, id: &str) -> Result<Option<Value>> {
        let mut image = match self.docker.inspect_image(id).await {
            Ok(i) => serde_json::to_value(i).map_err(|e| Error::Daemon {
                action: format!("inspect image {id}"),
                detail: e.to_string(),
            })?,
            Err(e) if super::no_such_image(&e) => return Ok(None),
            Err(e) => return Err(self.failed(&format!("inspect image {id}"), e)),
        };
        // podman's Docker-compatible inspect leaves the image's HEALTHCHECK
        // out of `Config`; its own API has it (top-level `Healthcheck`).
        // Without it a container's health check, copied from the image,
        // would look like the user's and be carried over to the new image.
        if image["Config"]["Healthcheck"].is_null() && self.is_podman().await {
            let timeout = std::time::Duration::from_secs(super::ENGINE_TIMEOUT_SECS);
            let path = format!("/v1.41/libpod/images/{id}/json");
            match super::raw::get_json_if_found::<Value>(&self.host, &path, timeout).await {
                Ok(Some(own)) => {
                    let check = own.get("Healthcheck").cloned().unwrap_or(Value::Null);
                    if !check.is_null() && image["Config"].is_object() {
                        image["Config"]["Healthcheck"] = check;
                    }
                }
                Ok(None) => {}
                Err(detail) => return Err(Error::Daemon { action: format!("inspect image {id}"), detail }),
            }
        }
        Ok(Some(image))
    }

    /// Creates `name` from a [`Creation`] and connects its other networks.
    /// Returns the new container's id. A container that was created but
    /// could not be connected is removed again.
    pub async fn create_container(&self, name: &str, creation: &Creation) -> Result<String> {
        let action = format!("create container {name}");
        let body: ContainerCreateBody = serde_json::from_value(creation.body.clone())
            .map_err(|e| Error::Daemon { action: action.clone(), detail: e.to_string() })?;
        let opts = CreateContainerOptionsBuilder::default().name(name).build();
        let id =
            self.docker.create_container(Some(opts), body).await.map_err(|e| self.failed(&action, e))?.id;
        for (network, settings) in &creation.connect {
            let endpoint: EndpointSettings = serde_json::from_value(settings.clone()).unwrap_or_default();
            let req = NetworkConnectRequest { container: id.clone(), endpoint_config: Some(endpoint) };
            if let Err(e) = self.docker.connect_network(network, req).await {
                let err = self.failed(&format!("connect {name} to network {network}"), e);
                let _ = self.remove_container(&id).await;
                return Err(err);
            }
        }
        Ok(id)
    }

    pub async fn start_container(&self, id: &str) -> Result<()> {
        match self.docker.start_container(id, None::<StartContainerOptions>).await {
            // 304: already running.
            Ok(()) => Ok(()),
            Err(e) if is_status(&e, 304) => Ok(()),
            Err(e) => Err(self.failed(&format!("start container {id}"), e)),
        }
    }

    /// Stops with the container's own timeout unless one is given.
    pub async fn stop_container(&self, id: &str, timeout: Option<i32>) -> Result<()> {
        let mut b = StopContainerOptionsBuilder::default();
        let mut timeout = timeout;
        // podman before 4.7 gives a container created through the Docker
        // API a stop timeout of 0 (podman issue 19139): its own timeout
        // would kill it at once, with no chance to shut down. Docker's
        // default grace period instead.
        if timeout.is_none() && self.is_podman().await {
            if let Ok(Some(c)) = self.inspect_container_json(id).await {
                if c["Config"]["StopTimeout"].as_i64() == Some(0) {
                    timeout = Some(DEFAULT_STOP_TIMEOUT);
                }
            }
        }
        if let Some(t) = timeout {
            b = b.t(t);
        }
        match self.docker.stop_container(id, Some(b.build())).await {
            // 304: not running; 404: not there (a step that was undone).
            Ok(()) => Ok(()),
            Err(e) if is_status(&e, 304) || is_status(&e, 404) => Ok(()),
            Err(e) => Err(self.failed(&format!("stop container {id}"), e)),
        }
    }

    /// Sets a container's restart policy (`no` to park it; the recorded one
    /// to bring it back), through `POST /containers/{id}/update`.
    pub async fn set_restart_policy(&self, id: &str, name: &str, max_retries: Option<i64>) -> Result<()> {
        let mut policy = serde_json::json!({ "Name": name });
        if let Some(n) = max_retries {
            policy["MaximumRetryCount"] = serde_json::json!(n);
        }
        let action = format!("set the restart policy of container {id} to '{name}'");
        let body: bollard::models::ContainerUpdateBody =
            serde_json::from_value(serde_json::json!({ "RestartPolicy": policy }))
                .map_err(|e| Error::Daemon { action: action.clone(), detail: e.to_string() })?;
        self.docker.update_container(id, body).await.map_err(|e| self.failed(&action, e))
    }

    pub async fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        let opts = RenameContainerOptionsBuilder::default().name(name).build();
        self.docker
            .rename_container(id, opts)
            .await
            .map_err(|e| self.failed(&format!("rename container {id} to {name}"), e))
    }

    /// Removes a stopped container, keeping its volumes. Gone already is fine.
    pub async fn remove_container(&self, id: &str) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::default().v(false).force(false).build();
        match self.docker.remove_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            Err(e) => Err(self.failed(&format!("remove container {id}"), e)),
        }
    }

    /// The last `n` lines the container wrote (stdout and stderr).
    pub async fn log_tail(&self, id: &str, n: usize) -> Vec<String> {
        let opts = LogsOptionsBuilder::default().stdout(true).stderr(true).tail(&n.to_string()).build();
        let mut stream = self.docker.logs(id, Some(opts));
        let mut text = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&chunk.to_string());
        }
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines[lines.len().saturating_sub(n)..].to_vec()
    }

    /// The exit code of the container's last exit since `since` (unix
    /// seconds), from the engine's `die` events; None when the engine has
    /// none to tell. Inspect cannot say it once a restart policy has started
    /// the container again: its state is then a running one, exit code 0.
    pub async fn last_exit_code(&self, id: &str, since: i64) -> Option<i64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let filters = std::collections::HashMap::from([("container", vec![id]), ("event", vec!["die"])]);
        let opts = EventsOptionsBuilder::default()
            .since(&since.to_string())
            .until(&(now + 1).to_string())
            .filters(&filters)
            .build();
        let read = async {
            let mut stream = self.docker.events(Some(opts));
            let mut last = None;
            while let Some(Ok(event)) = stream.next().await {
                let code = event.actor.and_then(|a| a.attributes).and_then(|a| a.get("exitCode").cloned());
                if let Some(code) = code.and_then(|c| c.parse().ok()) {
                    last = Some(code);
                }
            }
            last
        };
        // `until` ends the stream; the timeout guards an engine that does not.
        tokio::time::timeout(std::time::Duration::from_secs(10), read).await.ok().flatten()
    }

    /// Whether the engine is podman (its `/version` names a Podman component;
    /// read once per run).
    pub async fn is_podman(&self) -> bool {
        match self.version().await {
            Ok(v) => v.components.iter().flatten().any(|c| c.name.to_ascii_lowercase().contains("podman")),
            Err(_) => false,
        }
    }

    /// Runs a container's health check now, through podman's own API
    /// (`/libpod/containers/{id}/healthcheck`): podman schedules health
    /// checks with systemd timers, so without systemd they never run and a
    /// container stays `starting`. Only over a unix socket; best effort.
    pub async fn run_healthcheck(&self, id: &str) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Some(path) = self
            .host
            .strip_prefix("unix://")
            .or_else(|| self.host.starts_with('/').then_some(self.host.as_str()))
        else {
            return;
        };
        let Ok(mut stream) = tokio::net::UnixStream::connect(path).await else { return };
        let request =
            format!("GET /v1.41/libpod/containers/{id}/healthcheck HTTP/1.0\r\nHost: podman\r\n\r\n");
        if stream.write_all(request.as_bytes()).await.is_err() {
            return;
        }
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), stream.read_to_end(&mut sink)).await;
    }
}
