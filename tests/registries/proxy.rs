//! A fault-injecting HTTP proxy on loopback, in front of a real registry.
//! Requests for a repository with a [`Fault`] get that fault; everything
//! else is passed through untouched. Every request is recorded (method,
//! path, headers) so tests can assert what freshen sent: only HEADs for
//! current images, no `Authorization` on a redirect to another host.
//!
//! One request per connection (`Connection: close`), which keeps the
//! proxy simple and is something every HTTP client must handle.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What a repository's requests get.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Every request answered with this status and headers, never passed on.
    Status(u16, Vec<(String, String)>),
    /// The first `n` requests get the inner fault, the rest pass.
    First(u32, Box<Fault>),
    /// The connection is reset (RST) after the request is read.
    Reset,
    /// No answer for this long (past freshen's timeout).
    Hang(Duration),
    /// HEAD without the digest header; GET announces the whole manifest
    /// but sends half of it and closes.
    Truncate,
    /// HEAD without the digest header; GET answers HTML instead of JSON.
    NotJson,
    /// HEAD and GET carry a digest header that is not `sha256:` + 64 hex.
    MalformedDigest,
    /// HEAD without the digest header; GET carries a well-formed digest
    /// header that is not the body's.
    WrongDigest,
    /// HEAD without the digest header; GET streams 100 MB of JSON-ish
    /// bytes, chunked, without a length.
    Huge,
    /// HEAD without the digest header; GET is redirected (307) to the same
    /// path on another host.
    Redirect(String),
    /// A request without `Authorization` gets 401 with this
    /// `WWW-Authenticate` challenge; one with it is passed on (a registry
    /// that has started to want credentials).
    RequireAuth(String),
}

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Rules {
    /// (repository, fault, requests so far)
    faults: Vec<(String, Fault, u32)>,
    /// Added to every answer that comes from the registry.
    extra_headers: Vec<(String, String)>,
    /// Waited before every request is passed on.
    delay: Duration,
    /// `Authorization` to send upstream, replacing the client's (a host
    /// that serves what it is asked without credentials, like object
    /// storage behind a signed URL).
    upstream_auth: Option<String>,
}

pub struct Proxy {
    pub host: String,
    rules: Arc<Mutex<Rules>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Proxy {
    /// A proxy on a free loopback port in front of `upstream` (`host:port`).
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let host = listener.local_addr().unwrap().to_string();
        let rules = Arc::new(Mutex::new(Rules::default()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r, s, up) = (rules.clone(), seen.clone(), upstream.to_string());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, s, up) = (r.clone(), s.clone(), up.clone());
                thread::spawn(move || serve(stream, &up, &r, &s));
            }
        });
        Proxy { host, rules, seen }
    }

    pub fn fault(&self, repository: &str, fault: Fault) {
        self.rules.lock().unwrap().faults.push((repository.to_string(), fault, 0));
    }

    pub fn add_header(&self, name: &str, value: &str) {
        self.rules.lock().unwrap().extra_headers.push((name.to_string(), value.to_string()));
    }

    pub fn delay(&self, delay: Duration) {
        self.rules.lock().unwrap().delay = delay;
    }

    pub fn upstream_auth(&self, value: &str) {
        self.rules.lock().unwrap().upstream_auth = Some(value.to_string());
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests so far whose path contains `/REPOSITORY/`.
    pub fn seen_for(&self, repository: &str) -> Vec<Seen> {
        let marker = format!("/{repository}/");
        self.seen().into_iter().filter(|s| s.path.contains(&marker)).collect()
    }

    pub fn forget(&self) {
        self.seen.lock().unwrap().clear();
    }
}

fn read_head(stream: &mut TcpStream) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        // A TLS handshake (the daemon tries HTTPS first): hang up, so it
        // falls back to plain HTTP at once.
        if data.first() == Some(&0x16) {
            return None;
        }
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = data.split_off(end + 4);
            return Some((data, rest));
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

fn parse_head(head: &[u8]) -> (String, Vec<(String, String)>) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (first, headers)
}

fn reset(stream: &TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid socket and a correctly sized linger struct.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

fn answer(status: u16, headers: &[(String, String)], body: &[u8], head_only: bool) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        307 => "Temporary Redirect",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Whatever",
    }
}

/// The upstream's answer, headers and (de-chunked) body.
struct Upstream {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Upstream {
    fn without(&self, names: &[&str]) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|(k, _)| !names.iter().any(|n| k.eq_ignore_ascii_case(n)))
            .filter(|(k, _)| {
                !["content-length", "connection", "transfer-encoding"]
                    .contains(&k.to_ascii_lowercase().as_str())
            })
            .cloned()
            .collect()
    }
}

fn call_upstream(upstream: &str, method: &str, path: &str, headers: &[(String, String)]) -> Option<Upstream> {
    let mut up = TcpStream::connect(upstream).ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        if !k.eq_ignore_ascii_case("connection") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes()).ok()?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw).ok()?;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let (first, headers) = parse_head(&raw[..end]);
    let status = first.split(' ').nth(1)?.parse().ok()?;
    let rest = &raw[end + 4..];
    let chunked =
        headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if method == "HEAD" {
        Vec::new()
    } else if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Some(Upstream { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..end]).split(';').next().unwrap().trim(),
            16,
        )
        .unwrap_or(0);
        data = &data[end + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        body.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
    body
}

fn serve(mut stream: TcpStream, upstream: &str, rules: &Mutex<Rules>, seen: &Mutex<Vec<Seen>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Some((head, _)) = read_head(&mut stream) else { return };
    let (first, mut headers) = parse_head(&head);
    let mut words = first.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or_default().to_string();
    seen.lock().unwrap().push(Seen { method: method.clone(), path: path.clone(), headers: headers.clone() });
    if method == "CONNECT" {
        // An HTTPS proxy that has no way out: it only records the attempt.
        let _ = stream.write_all(&answer(502, &[], b"", false));
        return;
    }
    let (fault, extra, delay, upstream_auth) = {
        let mut r = rules.lock().unwrap();
        let fault = r.faults.iter_mut().find(|(repo, _, _)| path.contains(&format!("/{repo}/"))).and_then(
            |(_, fault, count)| {
                *count += 1;
                match fault {
                    Fault::First(n, inner) if *count <= *n => Some((**inner).clone()),
                    Fault::First(..) => None,
                    other => Some(other.clone()),
                }
            },
        );
        (fault, r.extra_headers.clone(), r.delay, r.upstream_auth.clone())
    };
    thread::sleep(delay);
    if let Some(auth) = upstream_auth {
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
        headers.push(("Authorization".into(), auth));
    }
    let head_only = method == "HEAD";
    let is_manifest = path.contains("/manifests/");
    let reply = |stream: &mut TcpStream, status: u16, hs: Vec<(String, String)>, body: &[u8]| {
        let mut hs = hs;
        hs.extend(extra.iter().cloned());
        let _ = stream.write_all(&answer(status, &hs, body, head_only));
    };
    // Passes the request on; the answer loses the `strip` headers and
    // gains `add` (and the proxy's extra headers).
    let pass = |stream: &mut TcpStream, strip: &[&str], add: &[(String, String)]| {
        let Some(up) = call_upstream(upstream, &method, &path, &headers) else {
            reset(stream);
            return;
        };
        let mut hs = up.without(strip);
        hs.extend(add.iter().cloned());
        hs.extend(extra.iter().cloned());
        // A HEAD answer announces the length a GET would have.
        let length = if head_only {
            up.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| "0".into())
        } else {
            up.body.len().to_string()
        };
        let mut out = format!("HTTP/1.1 {} {}\r\n", up.status, reason(up.status));
        for (k, v) in &hs {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!("Content-Length: {length}\r\nConnection: close\r\n\r\n"));
        let mut bytes = out.into_bytes();
        if !head_only {
            bytes.extend_from_slice(&up.body);
        }
        let _ = stream.write_all(&bytes);
    };
    const DIGEST: &str = "docker-content-digest";
    let bad_digest = ("Docker-Content-Digest".to_string(), "sha256:0123456789abcdef".to_string());
    match fault {
        None => pass(&mut stream, &[], &[]),
        Some(Fault::Status(status, hs)) => {
            let body = format!(r#"{{"errors":[{{"code":"UNKNOWN","message":"injected {status}"}}]}}"#);
            let mut hs = hs.clone();
            hs.push(("Content-Type".into(), "application/json".into()));
            reply(&mut stream, status, hs, body.as_bytes());
        }
        Some(Fault::RequireAuth(challenge)) => {
            if headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization")) {
                pass(&mut stream, &[], &[]);
            } else {
                let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
                let hs = vec![
                    ("WWW-Authenticate".to_string(), challenge),
                    ("Content-Type".to_string(), "application/json".to_string()),
                ];
                reply(&mut stream, 401, hs, body);
            }
        }
        Some(Fault::First(..)) => unreachable!("resolved above"),
        Some(Fault::Reset) => reset(&stream),
        Some(Fault::Hang(d)) => thread::sleep(d),
        Some(Fault::MalformedDigest) => pass(&mut stream, &[DIGEST], &[bad_digest]),
        // Only a GET of a manifest has a body to spoil; the HEAD before it
        // leaves out the digest so that freshen has to GET.
        Some(_) if head_only || !is_manifest => pass(&mut stream, &[DIGEST], &[]),
        Some(Fault::Truncate) => {
            if let Some(up) = call_upstream(upstream, &method, &path, &headers) {
                let mut out = format!("HTTP/1.1 {} {}\r\n", up.status, reason(up.status));
                for (k, v) in up.without(&[DIGEST]) {
                    out.push_str(&format!("{k}: {v}\r\n"));
                }
                out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", up.body.len()));
                let mut bytes = out.into_bytes();
                bytes.extend_from_slice(&up.body[..up.body.len() / 2]);
                let _ = stream.write_all(&bytes);
                let _ = stream.flush();
                thread::sleep(Duration::from_millis(50));
            }
        }
        Some(Fault::NotJson) => {
            let hs =
                vec![("Content-Type".to_string(), "application/vnd.oci.image.manifest.v1+json".to_string())];
            reply(&mut stream, 200, hs, b"<html><body>502 Bad Gateway</body></html>\n");
        }
        Some(Fault::WrongDigest) => pass(
            &mut stream,
            &[DIGEST],
            &[("Docker-Content-Digest".into(), format!("sha256:{}", "0".repeat(64)))],
        ),
        Some(Fault::Huge) => {
            let mut out = String::from("HTTP/1.1 200 OK\r\n");
            out.push_str("Content-Type: application/vnd.oci.image.manifest.v1+json\r\n");
            out.push_str("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
            if stream.write_all(out.as_bytes()).is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(&chunk);
            framed.extend_from_slice(b"\r\n");
            // 100 MB unless the client hangs up first.
            for _ in 0..1600 {
                if stream.write_all(&framed).is_err() {
                    return;
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n");
        }
        Some(Fault::Redirect(to)) => {
            let hs = vec![("Location".to_string(), format!("http://{to}{path}"))];
            reply(&mut stream, 307, hs, b"");
        }
    }
}
