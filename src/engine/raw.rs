//! A plain `GET` to the engine for the one listing whose typed form breaks on
//! an engine that speaks the API loosely: podman 4.3 reports container states
//! (`stopped`, `configured`) that the Docker API's enum does not have, and the
//! typed client then rejects the whole list. HTTP/1.0 keeps the reply simple
//! (no chunked body, the server closes the connection).

use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How an error that means "no daemon there" begins.
const CANNOT_CONNECT: &str = "cannot connect";

/// Whether an error of this module says the daemon could not be reached.
pub fn cannot_connect(detail: &str) -> bool {
    detail.starts_with(CANNOT_CONNECT)
}

/// The largest reply read: a listing of tens of thousands of containers.
const MAX_REPLY: u64 = 256 * 1024 * 1024;

/// `GET path` on the engine at `host` (`unix:///…`, `/…`, `tcp://…`,
/// `http://…`), its JSON body parsed as `T`. Errors are one line.
pub async fn get_json<T: DeserializeOwned>(
    host: &str,
    path: &str,
    timeout: std::time::Duration,
) -> Result<T, String> {
    get_json_if_found(host, path, timeout).await?.ok_or_else(|| format!("GET {path} answered 404"))
}

/// As `get_json`, with None when the engine answers 404 (no such object).
pub async fn get_json_if_found<T: DeserializeOwned>(
    host: &str,
    path: &str,
    timeout: std::time::Duration,
) -> Result<Option<T>, String> {
    let work = async {
        let body = if let Some(addr) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://")) {
            let addr = addr.trim_end_matches('/');
            let stream =
                tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("{CANNOT_CONNECT}: {e}"))?;
            exchange(stream, path).await?
        } else {
            let socket = host.strip_prefix("unix://").unwrap_or(host);
            let stream = tokio::net::UnixStream::connect(socket)
                .await
                .map_err(|e| format!("{CANNOT_CONNECT}: {e}"))?;
            exchange(stream, path).await?
        };
        let Some(body) = body else { return Ok(None) };
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| format!("the reply to GET {path} is not the expected JSON: {e}"))
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| format!("no reply to GET {path} within {timeout:?}"))?
}

/// `GET path`, the body as bytes (for the event stream, which is one JSON
/// object after another rather than one document).
pub async fn get_bytes(host: &str, path: &str, timeout: std::time::Duration) -> Result<Vec<u8>, String> {
    let work = async {
        if let Some(addr) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://")) {
            let stream = tokio::net::TcpStream::connect(addr.trim_end_matches('/'))
                .await
                .map_err(|e| format!("{CANNOT_CONNECT}: {e}"))?;
            exchange(stream, path).await
        } else {
            let socket = host.strip_prefix("unix://").unwrap_or(host);
            let stream = tokio::net::UnixStream::connect(socket)
                .await
                .map_err(|e| format!("{CANNOT_CONNECT}: {e}"))?;
            exchange(stream, path).await
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| format!("no reply to GET {path} within {timeout:?}"))??
        .ok_or_else(|| format!("GET {path} answered 404"))
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    path: &str,
) -> Result<Option<Vec<u8>>, String> {
    let request = format!("GET {path} HTTP/1.0\r\nHost: docker\r\nAccept: application/json\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("cannot send GET {path}: {e}"))?;
    let mut reply = Vec::new();
    (&mut stream)
        .take(MAX_REPLY)
        .read_to_end(&mut reply)
        .await
        .map_err(|e| format!("cannot read the reply: {e}"))?;
    split_reply(&reply, path)
}

/// The body of an HTTP/1.x reply with status 200; None for a 404.
fn split_reply(reply: &[u8], path: &str) -> Result<Option<Vec<u8>>, String> {
    let end = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("GET {path}: no HTTP reply"))?;
    let head = String::from_utf8_lossy(&reply[..end]);
    let status = head.split_whitespace().nth(1).unwrap_or("");
    let body = &reply[end + 4..];
    if status == "404" {
        return Ok(None);
    }
    if status != "200" {
        let message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
        return Err(format!("GET {path} answered {status}: {message}"));
    }
    Ok(Some(body.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_of_a_200_and_the_message_of_an_error() {
        assert_eq!(split_reply(b"HTTP/1.0 200 OK\r\nA: b\r\n\r\n[1]", "/x").unwrap().unwrap(), b"[1]");
        assert_eq!(split_reply(b"HTTP/1.0 404 Not Found\r\n\r\n{}", "/x").unwrap(), None);
        let e = split_reply(b"HTTP/1.0 500 Internal\r\n\r\n{\"message\":\"boom\"}", "/x").unwrap_err();
        assert_eq!(e, "GET /x answered 500: boom");
        assert!(split_reply(b"garbage", "/x").is_err());
    }
}
