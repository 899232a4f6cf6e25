//! A token server for the registry's `auth.token` setting: the
//! authentication service of the distribution token spec, not a registry.
//! It checks Basic credentials, issues ES256 JWTs granting what was asked on every
//! requested repository (signed with a key whose certificate the registry
//! trusts through `rootcertbundle`), and records each request's scopes.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use base64::Engine as _;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

use super::pki::Signer;

pub const SERVICE: &str = "freshen-test-registry";
pub const ISSUER: &str = "freshen-test-issuer";

/// One request to the token server.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    pub scopes: Vec<String>,
    pub service: Option<String>,
    pub had_credentials: bool,
}

pub struct TokenServer {
    pub host: String,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
    issued: Arc<Mutex<Vec<String>>>,
}

impl TokenServer {
    /// Serves tokens to `user`:`password` only.
    pub fn start(signer: &Signer, user: &str, password: &str) -> TokenServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let issued = Arc::new(Mutex::new(Vec::new()));
        let rng = ring::rand::SystemRandom::new();
        let key = Arc::new(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &signer.key_pkcs8, &rng)
                .expect("signer key is PKCS#8 P-256"),
        );
        let x5c = base64::engine::general_purpose::STANDARD.encode(&signer.cert_der);
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let (r, i) = (requests.clone(), issued.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, i, key, x5c, expected) =
                    (r.clone(), i.clone(), key.clone(), x5c.clone(), expected.clone());
                thread::spawn(move || serve(stream, &key, &x5c, &expected, &r, &i));
            }
        });
        TokenServer { host, requests, issued }
    }

    pub fn realm(&self) -> String {
        format!("http://{}/token", self.host)
    }

    pub fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().unwrap().clone()
    }

    pub fn forget(&self) {
        self.requests.lock().unwrap().clear();
    }

    /// Every token handed out so far.
    pub fn issued(&self) -> Vec<String> {
        self.issued.lock().unwrap().clone()
    }

    /// The registry's `auth:` section for this server.
    pub fn registry_config(&self, signer: &Signer) -> String {
        format!(
            "auth:\n  token:\n    realm: {}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
            self.realm(),
            signer.cert_pem.display()
        )
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn serve(
    mut stream: TcpStream,
    key: &EcdsaKeyPair,
    x5c: &str,
    expected: &str,
    requests: &Mutex<Vec<TokenRequest>>,
    issued: &Mutex<Vec<String>>,
) {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    while !data.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&data).into_owned();
    let mut lines = text.split("\r\n");
    let target = lines.next().unwrap_or_default().split_whitespace().nth(1).unwrap_or_default().to_string();
    let auth = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim().to_string());
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut scopes = Vec::new();
    let mut service = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "scope" => scopes.push(percent_decode(v)),
            "service" => service = Some(percent_decode(v)),
            _ => {}
        }
    }
    requests.lock().unwrap().push(TokenRequest {
        scopes: scopes.clone(),
        service,
        had_credentials: auth.is_some(),
    });
    let reply = |stream: &mut TcpStream, status: &str, body: &str| {
        let _ = stream.write_all(
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    };
    if auth.as_deref() != Some(expected) {
        reply(&mut stream, "401 Unauthorized", r#"{"details":"incorrect username or password"}"#);
        return;
    }
    let access: Vec<serde_json::Value> = scopes
        .iter()
        .filter_map(|s| {
            let mut parts = s.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            let actions: Vec<&str> = actions.split(',').collect();
            Some(serde_json::json!({ "type": kind, "name": name, "actions": actions }))
        })
        .collect();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let header = serde_json::json!({ "typ": "JWT", "alg": "ES256", "x5c": [x5c] });
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": "freshen-test-user",
        "aud": SERVICE,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": format!("{now}-{}", scopes.len()),
        "access": access,
    });
    let signing_input =
        format!("{}.{}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()));
    let rng = ring::rand::SystemRandom::new();
    let signature = key.sign(&rng, signing_input.as_bytes()).expect("sign");
    let token = format!("{signing_input}.{}", b64url(signature.as_ref()));
    issued.lock().unwrap().push(token.clone());
    let body = serde_json::json!({ "token": token, "expires_in": 300 }).to_string();
    reply(&mut stream, "200 OK", &body);
}
