//! TLS per registry: the client for one host (its CA and client certificate
//! from certs.d, or plain HTTP where allowed), and certificate failures
//! worded so the user knows which file to fix.

use super::*;

/// The client for one registry and what its TLS setup allows.
pub(super) struct TlsSetup {
    pub(super) client: reqwest::Client,
    /// Plain HTTP (and unverified HTTPS) is allowed: an insecure registry
    /// for which the user did not install a CA.
    pub(super) may_use_http: bool,
    pub(super) client_identity: bool,
}

pub(super) fn client_builder(settings: &RegistrySettings) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(settings.concurrency)
        .pool_idle_timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::limited(5))
        .tcp_nodelay(true)
}

/// A client that trusts what Docker would trust for this registry: the
/// system roots plus `certs.d/<registry>/*.crt`, presenting
/// `client.cert`/`client.key` when present. Insecure registries (loopback,
/// `insecure-registries`) accept any certificate over HTTPS and may be
/// reached over plain HTTP, as the daemon does, unless `certs.d` holds a
/// CA for them: then the user has said how to verify the registry, and a
/// certificate that does not verify is an error rather than ignored.
pub(super) fn host_client(
    settings: &RegistrySettings,
    registry: &str,
    insecure: bool,
) -> Result<TlsSetup, RegistryError> {
    let mut builder = client_builder(settings);
    let dir = settings.certs_dir.join(registry);
    let bad = |what: String| err(ErrorKind::BadResponse, what);
    let mut has_ca = false;
    let mut client_identity = false;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        let mut roots = Vec::new();
        for f in &files {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".crt") {
                let pem = std::fs::read(f).map_err(|e| bad(format!("cannot read {}: {e}", f.display())))?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| bad(format!("{} is not a PEM certificate ({e})", f.display())))?;
                if certs.is_empty() {
                    return Err(bad(format!("{} holds no PEM certificate", f.display())));
                }
                roots.extend(certs);
            }
        }
        if !roots.is_empty() {
            has_ca = true;
            builder = builder.tls_certs_merge(roots);
        }
        for f in &files {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(stem) = name.strip_suffix(".cert") {
                let key = dir.join(format!("{stem}.key"));
                let mut pem =
                    std::fs::read(f).map_err(|e| bad(format!("cannot read {}: {e}", f.display())))?;
                let key_pem = std::fs::read(&key).map_err(|e| {
                    bad(format!("client certificate {} has no key {} ({e})", f.display(), key.display()))
                })?;
                pem.push(b'\n');
                pem.extend_from_slice(&key_pem);
                let identity = reqwest::Identity::from_pem(&pem)
                    .map_err(|e| bad(format!("cannot use client certificate {} ({e})", f.display())))?;
                builder = builder.identity(identity);
                client_identity = true;
                break;
            }
        }
    }
    let may_use_http = insecure && !has_ca;
    if may_use_http {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    let client = builder.build().map_err(|e| bad(format!("cannot set up TLS for {registry}: {e}")))?;
    Ok(TlsSetup { client, may_use_http, client_identity })
}

/// The rustls error somewhere down a reqwest error's sources (rustls
/// errors travel wrapped in one or more `std::io::Error`s, whose `source()`
/// skips the wrapped error itself).
pub(super) fn rustls_error(e: &reqwest::Error) -> Option<&rustls::Error> {
    fn within<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        let io = e.downcast_ref::<std::io::Error>()?;
        within(io.get_ref()?)
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(t) = within(s) {
            return Some(t);
        }
        src = s.source();
    }
    None
}

impl Host {
    /// A failed TLS handshake about certificates, in words that say which
    /// file to fix; None for any other failure.
    pub(super) fn tls_problem(&self, e: &reqwest::Error) -> Option<String> {
        let tls = rustls_error(e)?;
        let dir = self.certs_dir.display();
        match tls {
            rustls::Error::InvalidCertificate(_) => Some(format!(
                "cannot verify the TLS certificate of {} ({tls}): put the CA that signed it in {dir}/ca.crt",
                self.registry
            )),
            rustls::Error::AlertReceived(
                rustls::AlertDescription::CertificateRequired
                | rustls::AlertDescription::BadCertificate
                | rustls::AlertDescription::UnknownCA
                | rustls::AlertDescription::CertificateUnknown
                | rustls::AlertDescription::UnsupportedCertificate
                | rustls::AlertDescription::CertificateExpired
                | rustls::AlertDescription::CertificateRevoked,
            ) => Some(if self.client_identity {
                format!(
                    "registry {} refused our TLS client certificate ({tls}): replace client.cert and client.key in {dir}",
                    self.registry
                )
            } else {
                format!(
                    "registry {} requires a TLS client certificate ({tls}): put client.cert and client.key in {dir}",
                    self.registry
                )
            }),
            _ => None,
        }
    }

    /// Over TLS 1.3 a server checks the client certificate after the
    /// handshake, so its refusal reaches us as a connection closed before
    /// any answer (or an alert that only survives as text): say what the
    /// likely cause is.
    pub(super) fn closed_tls_hint(&self, scheme: Scheme, e: &reqwest::Error) -> Option<String> {
        if scheme != Scheme::Https {
            return None;
        }
        let text = describe_reqwest(e);
        let lower = text.to_ascii_lowercase();
        let cert_alert = [
            "badcertificate",
            "certificaterequired",
            "unknownca",
            "certificateunknown",
            "unsupportedcertificate",
            "certificateexpired",
            "certificaterevoked",
        ]
        .iter()
        .any(|a| lower.contains(a));
        // "connection was not ready": hyper's word for a connection the
        // server closed before the request could go out (a TLS 1.3 server
        // that wanted a client certificate closes right after the handshake).
        let closed = ["channel closed", "connection closed", "broken pipe", "connection was not ready"]
            .iter()
            .any(|c| lower.contains(c));
        let dir = self.certs_dir.display();
        if self.client_identity {
            cert_alert.then(|| {
                format!(
                    "registry {} refused our TLS client certificate ({text}): replace client.cert and client.key in {dir}",
                    self.registry
                )
            })
        } else {
            (cert_alert || closed).then(|| {
                format!(
                    "registry {} closed the TLS connection without answering ({text}): if it requires a client \
                     certificate, put client.cert and client.key in {dir}",
                    self.registry
                )
            })
        }
    }
}
