//! Engines on other hosts, reached the way the docker CLI reaches them
//! (`DOCKER_HOST=ssh://user@host`): through the user's own `ssh`, with its
//! config, agent and known_hosts, running `docker system dial-stdio` on the
//! far side and speaking the Engine API over its standard input and output.
//! No port is opened on either host.
//!
//! freshen's engine clients speak to a unix socket, so the tunnel is one:
//! a socket in a private directory (mode 0700) whose every connection is
//! carried by its own `ssh` process. The directory goes when the tunnel is
//! dropped. What ssh said on its standard error when it failed is kept, so
//! an unreachable host is reported with ssh's own reason.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

/// Where `ssh://[user@]host[:port][/socket]` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// The engine's socket on the far side, when not its default.
    pub socket: Option<String>,
}

impl Destination {
    pub fn parse(url: &str) -> Result<Destination, String> {
        let bad = |why: &str| {
            format!("bad ssh address '{url}': {why} (expected ssh://[USER@]HOST[:PORT][/SOCKET])")
        };
        let rest = url.strip_prefix("ssh://").ok_or_else(|| bad("it does not start with ssh://"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
            Some(_) => return Err(bad("the user before '@' is empty")),
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.starts_with('[') => {
                let port = p.parse::<u16>().map_err(|_| bad(&format!("'{p}' is not a port")))?;
                (h.trim_start_matches('[').trim_end_matches(']').to_string(), Some(port))
            }
            _ => (hostport.to_string(), None),
        };
        if host.is_empty() || host.starts_with('-') {
            return Err(bad("no host"));
        }
        let socket = path.filter(|p| *p != "/").map(str::to_string);
        Ok(Destination { user, host, port, socket })
    }

    /// The arguments of `ssh` that reach the engine. `-T`: no terminal;
    /// `--`: the host can never be read as an option.
    pub fn ssh_args(&self) -> Vec<String> {
        let mut args = vec!["-o".to_string(), "ConnectTimeout=30".to_string(), "-T".to_string()];
        if let Some(user) = &self.user {
            args.extend(["-l".to_string(), user.clone()]);
        }
        if let Some(port) = self.port {
            args.extend(["-p".to_string(), port.to_string()]);
        }
        args.extend(["--".to_string(), self.host.clone(), "docker".to_string()]);
        if let Some(socket) = &self.socket {
            args.extend(["--host".to_string(), format!("unix://{socket}")]);
        }
        args.extend(["system".to_string(), "dial-stdio".to_string()]);
        args
    }
}

/// A local socket that leads to a remote engine; closed when dropped.
pub struct Tunnel {
    dir: PathBuf,
    socket: PathBuf,
    task: tokio::task::JoinHandle<()>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl Tunnel {
    /// Opens the local end; no ssh runs until the first connection.
    pub fn open(url: &str) -> Result<Tunnel, String> {
        let dest = Destination::parse(url)?;
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| "an ssh engine needs freshen's runtime (internal error)".to_string())?;
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .filter(|d| d.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        let dir =
            base.join(format!("freshen-ssh-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&dir);
        std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
            .create(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let socket = dir.join("docker.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
        let _guard = handle.enter();
        let listener = tokio::net::UnixListener::from_std(listener)
            .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
        let args = Arc::new(dest.ssh_args());
        let last_error = Arc::new(Mutex::new(None));
        let errors = last_error.clone();
        let task = handle.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(carry(stream, args.clone(), errors.clone()));
            }
        });
        Ok(Tunnel { dir, socket, task, last_error })
    }

    /// The local socket, as an engine address.
    pub fn address(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// What ssh said when it last failed, in one line.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Carries one connection over its own `ssh … docker system dial-stdio`.
async fn carry(
    mut local: tokio::net::UnixStream,
    args: Arc<Vec<String>>,
    errors: Arc<Mutex<Option<String>>>,
) {
    let spawned = Command::new("ssh")
        .args(args.iter())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            *errors.lock().unwrap() = Some(format!("cannot run ssh: {e}"));
            return;
        }
    };
    let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return;
    };
    let said = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let (mut from_local, mut to_local) = local.split();
    // Up: until the client closes, then EOF to ssh (which ends
    // dial-stdio). Down: until the far side closes. The client's end is
    // closed only after ssh's reason for failing is recorded, so the
    // error the client sees can name it.
    let up = async {
        let _ = tokio::io::copy(&mut from_local, &mut stdin).await;
        let _ = stdin.shutdown().await;
        drop(stdin);
        std::future::pending::<()>().await
    };
    tokio::select! {
        () = up => {}
        _ = tokio::io::copy(&mut stdout, &mut to_local) => {}
    }
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait()).await;
    let text = said.await.unwrap_or_default();
    if !matches!(status, Ok(Ok(s)) if s.success()) {
        let line = text.lines().map(str::trim).rfind(|l| !l.is_empty()).map(str::to_string);
        if let Some(line) = line {
            *errors.lock().unwrap() = Some(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_addresses_parse_like_the_docker_cli() {
        let d = Destination::parse("ssh://deploy@edge.example:2222").unwrap();
        assert_eq!(
            d,
            Destination {
                user: Some("deploy".into()),
                host: "edge.example".into(),
                port: Some(2222),
                socket: None
            }
        );
        assert_eq!(
            d.ssh_args(),
            [
                "-o",
                "ConnectTimeout=30",
                "-T",
                "-l",
                "deploy",
                "-p",
                "2222",
                "--",
                "edge.example",
                "docker",
                "system",
                "dial-stdio"
            ]
        );
        let d = Destination::parse("ssh://edge/run/user/1000/docker.sock").unwrap();
        assert_eq!((d.user.as_deref(), d.host.as_str(), d.port), (None, "edge", None));
        assert!(d
            .ssh_args()
            .join(" ")
            .ends_with("-- edge docker --host unix:///run/user/1000/docker.sock system dial-stdio"));
        assert_eq!(Destination::parse("ssh://[::1]:22").unwrap().host, "::1");
        for bad in ["ssh://", "ssh://@h", "ssh://h:port", "ssh://-oProxyCommand=x", "tcp://h"] {
            let err = Destination::parse(bad).unwrap_err();
            assert!(err.starts_with(&format!("bad ssh address '{bad}'")), "{err}");
        }
    }
}
