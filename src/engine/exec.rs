//! Commands run inside a container (the engine's exec API: create, start
//! attached, inspect for the exit code) and a directory copied into and out
//! of one (the archive API), for upgrade hooks. Both go through the engine,
//! so they work the same on a local socket, over ssh and on podman.

use std::path::Path;

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::query_parameters::{DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder};
use futures_util::StreamExt;

use super::Engine;
use crate::error::{Error, Result};

/// What one command inside a container did.
#[derive(Debug, Clone, Default)]
pub struct Executed {
    /// None when the engine did not say (the process still ran).
    pub exit_code: Option<i64>,
    /// stdout and stderr, interleaved as written; at most `OUTPUT_CAP`
    /// bytes, the latest kept.
    pub output: String,
}

/// The most output kept from one command (the report shows its last lines).
const OUTPUT_CAP: usize = 64 * 1024;

impl Engine {
    /// Runs `argv` in container `id` with the variables in `env` (added to
    /// the container's own) and waits for it to end. The caller bounds the
    /// wait: a command cut short keeps running in its container (the API
    /// has no way to stop it), so its timeout is the caller's verdict.
    pub async fn exec(&self, id: &str, argv: &[String], env: &[(String, String)]) -> Result<Executed> {
        let action = || format!("run a hook in container {id}");
        let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let opts = CreateExecOptions {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(argv.to_vec()),
            env: Some(env),
            ..Default::default()
        };
        let created = self.docker.create_exec(id, opts).await.map_err(|e| self.failed(&action(), e))?;
        let started =
            self.docker.start_exec(&created.id, None).await.map_err(|e| self.failed(&action(), e))?;
        let mut out = Executed::default();
        if let StartExecResults::Attached { mut output, .. } = started {
            while let Some(chunk) = output.next().await {
                match chunk {
                    Ok(c) => {
                        out.output.push_str(&String::from_utf8_lossy(&c.into_bytes()));
                        if out.output.len() > OUTPUT_CAP {
                            let mut cut = out.output.len() - OUTPUT_CAP / 2;
                            while !out.output.is_char_boundary(cut) {
                                cut += 1;
                            }
                            out.output.drain(..cut);
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        // The stream ends with the process; the exit code may lag a moment
        // behind on some engines.
        for _ in 0..50 {
            let inspected =
                self.docker.inspect_exec(&created.id).await.map_err(|e| self.failed(&action(), e))?;
            if inspected.running != Some(true) {
                out.exit_code = inspected.exit_code;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(out)
    }

    /// Copies the host directory `from` into container `id` as `to` (an
    /// absolute path whose parent exists, `/.freshen-hook`), creating it.
    pub async fn copy_dir_in(&self, id: &str, from: &Path, to: &str) -> Result<()> {
        let action = format!("copy the hook directory into container {id}");
        let (parent, name) = split(to);
        let mut tar = tar::Builder::new(Vec::new());
        pack(&mut tar, from, Path::new(name)).map_err(|e| Error::io("read", from, e))?;
        let bytes = tar.into_inner().map_err(|e| Error::io("read", from, e))?;
        let opts = UploadToContainerOptionsBuilder::default().path(parent).build();
        self.docker
            .upload_to_container(id, Some(opts), bollard::body_full(bytes.into()))
            .await
            .map_err(|e| self.failed(&action, e))
    }

    /// Copies `from` (a directory in container `id`) back over the host
    /// directory `to`, which then holds exactly what the container's does.
    /// Unpacked beside it first, so a failure leaves `to` as it was; the
    /// unpacker refuses paths that climb out of the directory.
    pub async fn copy_dir_out(&self, id: &str, from: &str, to: &Path) -> Result<()> {
        let action = format!("copy the hook directory out of container {id}");
        let opts = DownloadFromContainerOptionsBuilder::default().path(from).build();
        let mut stream = self.docker.download_from_container(id, Some(opts));
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk.map_err(|e| self.failed(&action, e))?);
        }
        let parent = to.parent().unwrap_or(Path::new("."));
        let staging = parent.join(format!(".incoming-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&staging)
                .map_err(|e| Error::io("create", &staging, e))?;
        }
        let unpacked = tar::Archive::new(bytes.as_slice()).unpack(&staging);
        let (_, name) = split(from);
        let result = unpacked.map_err(|e| Error::io("unpack into", &staging, e)).and_then(|()| {
            let _ = std::fs::remove_dir_all(to);
            std::fs::rename(staging.join(name), to).map_err(|e| Error::io("replace", to, e))?;
            // Owner-only on the host, whatever it was in the container.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io("restrict", to, e))
        });
        let _ = std::fs::remove_dir_all(&staging);
        result
    }
}

/// Packs the host directory `dir` as `name` for a container whose hook may
/// run as any user: directories writable by all (the engine makes them
/// root's), files readable and writable by all. On the host the directory
/// stays owner-only. Symbolic links are left out.
fn pack(tar: &mut tar::Builder<Vec<u8>>, dir: &Path, name: &Path) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o777);
    header.set_size(0);
    tar.append_data(&mut header, name, std::io::empty())?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = name.join(entry.file_name());
        if kind.is_dir() {
            pack(tar, &entry.path(), &path)?;
        } else if kind.is_file() {
            let file = std::fs::File::open(entry.path())?;
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(0o666);
            header.set_size(file.metadata()?.len());
            tar.append_data(&mut header, &path, file)?;
        }
    }
    Ok(())
}

/// `/.freshen-hook` → (`/`, `.freshen-hook`).
fn split(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((parent, name)) => (parent, name),
        None => ("/", path),
    }
}
