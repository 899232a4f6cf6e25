//! Sending one request to a registry: scheme fallback, authorization,
//! retries with backoff on 429, 5xx and network errors (Retry-After
//! honoured up to a minute), and the rate-limit headers noted on the way.

use super::*;

/// `Retry-After` as seconds or an HTTP date.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let now = time::OffsetDateTime::now_utc();
    Some(Duration::from_secs((when - now).whole_seconds().max(0) as u64))
}

pub(super) fn rate_text(headers: &HeaderMap) -> String {
    match headers.get("ratelimit-remaining").and_then(|v| v.to_str().ok()) {
        Some(r) => format!(" [rate limit remaining {r}]"),
        None => String::new(),
    }
}

pub(super) fn status_text(s: StatusCode) -> String {
    match s.canonical_reason() {
        Some(r) => format!("{} {r}", s.as_u16()),
        None => s.as_u16().to_string(),
    }
}

/// A reqwest error on one line: what kind of failure, and the innermost
/// distinct part of its cause (connection refused, certificate unknown).
pub(super) fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for t in net::causes(e) {
        if !t.is_empty() && !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
    }
    let inner = parts.last().cloned();
    let base = match net::failure(e) {
        Failure::Timeout => "timed out",
        Failure::Connect => "connection failed",
        Failure::Body => "connection broke while reading the answer",
        Failure::Other => "request failed",
    };
    match inner {
        Some(i) if !i.contains("operation timed out") || !e.is_timeout() => {
            format!("{base} ({})", printable(&i))
        }
        _ => base.to_string(),
    }
}

/// Keeps registry-controlled text short and on one line.
pub(super) fn printable(s: &str) -> String {
    let clean: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if clean.chars().count() > 120 {
        format!("{}…", clean.chars().take(120).collect::<String>())
    } else {
        clean
    }
}

/// Reads a manifest or token answer of at most `limit` bytes.
pub(super) async fn read_limited(resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, RegistryError> {
    net::read_capped(resp, limit).await.map_err(|e| match e {
        CapError::TooBig { announced: Some(n) } => err(
            ErrorKind::BadResponse,
            format!("registry sent a {n} byte answer, more than the {limit} bytes a manifest may have"),
        ),
        CapError::TooBig { announced: None } => err(
            ErrorKind::BadResponse,
            format!("registry sent more than the {limit} bytes a manifest may have"),
        ),
        CapError::CutOff(e) => {
            err(ErrorKind::BadResponse, format!("the answer was cut off: {}", describe_reqwest(&e)))
        }
    })
}

impl Host {
    /// Sends one request with authentication, retries and scheme fallback.
    /// Returns any response that is not 401, 429 or 5xx (after retries).
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        repository: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut attempt: u32 = 0;
        let mut auth_retries = 0;
        // `--timeout` bounds the whole request, retries, backoff and scheme
        // fallback included: a registry that never answers costs that long.
        let deadline = Instant::now() + self.timeout;
        let out_of_time = || {
            err(
                ErrorKind::Unreachable,
                format!("no answer from {} within {}s", self.registry, self.timeout.as_secs_f64()),
            )
        };
        // One scheme fallback per request: a registry that is down must not
        // make us alternate between HTTPS and HTTP forever.
        let mut switched = false;
        loop {
            if let Some(e) = self.unreachable.get() {
                return Err(e.clone());
            }
            if deadline <= Instant::now() {
                return Err(out_of_time());
            }
            let (auth, generation) = self.authorization(repository).await?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(out_of_time());
            }
            let scheme = self.scheme();
            let url = format!("{}://{}{}", scheme.as_str(), self.api, path);
            let mut req =
                self.client.request(method.clone(), &url).header(ACCEPT, MANIFEST_ACCEPT).timeout(left);
            if let Some(a) = &auth {
                req = req.header(AUTHORIZATION, a.expose());
            }
            let started = Instant::now();
            self.requests.fetch_add(1, Ordering::Relaxed);
            let in_flight = self.activity.begin(&self.registry);
            let result = req.send().await;
            drop(in_flight);
            match result {
                Err(e) => {
                    let first_contact = !self.contacted.load(Ordering::Relaxed);
                    if self.verbose {
                        eprintln!(
                            "{method} {url} -> {} ({} ms)",
                            describe_reqwest(&e),
                            started.elapsed().as_millis()
                        );
                    }
                    if e.is_timeout() {
                        // The time is spent: neither a retry nor the other
                        // scheme could answer within it.
                        return Err(out_of_time());
                    }
                    if first_contact
                        && !switched
                        && self.may_switch_scheme
                        && !self.scheme_settled.load(Ordering::Relaxed)
                        && (e.is_connect() || e.is_request())
                        && self.switch_scheme(scheme)
                    {
                        switched = true;
                        continue;
                    }
                    if let Some(problem) = self.tls_problem(&e) {
                        // Retrying cannot change a certificate.
                        return Err(err(ErrorKind::Unreachable, problem));
                    }
                    if attempt < self.retries {
                        attempt += 1;
                        tokio::time::sleep(
                            backoff(attempt, REGISTRY_BACKOFF_MS)
                                .min(deadline.saturating_duration_since(Instant::now())),
                        )
                        .await;
                        continue;
                    }
                    let what = if e.is_timeout() {
                        format!("no answer from {} within {}s", self.registry, self.timeout.as_secs_f64())
                    } else if let Some(hint) = self.closed_tls_hint(scheme, &e) {
                        hint
                    } else {
                        format!("cannot reach {}: {}", self.registry, describe_reqwest(&e))
                    };
                    let failure = err(ErrorKind::Unreachable, what);
                    if e.is_connect() {
                        let _ = self.unreachable.set(failure.clone());
                    }
                    return Err(failure);
                }
                Ok(resp) => {
                    let status = resp.status();
                    if self.verbose {
                        eprintln!(
                            "{method} {url} -> {} ({} ms){}",
                            status_text(status),
                            started.elapsed().as_millis(),
                            rate_text(resp.headers())
                        );
                    }
                    self.note_rate_limit(resp.headers());
                    // A TLS registry on a loopback port answers plain HTTP with 400.
                    if status == StatusCode::BAD_REQUEST
                        && scheme == Scheme::Http
                        && !self.contacted.load(Ordering::Relaxed)
                        && !switched
                        && self.may_switch_scheme
                        && !self.scheme_settled.load(Ordering::Relaxed)
                        && self.switch_scheme(scheme)
                    {
                        switched = true;
                        continue;
                    }
                    self.contacted.store(true, Ordering::Relaxed);
                    if status == StatusCode::UNAUTHORIZED {
                        if auth_retries >= 2 {
                            return Err(self.refused(auth.is_some()).await);
                        }
                        auth_retries += 1;
                        let challenge = resp
                            .headers()
                            .get(WWW_AUTHENTICATE)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        self.learn(challenge.as_deref(), repository, generation, auth.is_some()).await?;
                        continue;
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.slow_down();
                        let wait = retry_after(resp.headers());
                        let fits = |w: Duration| w <= MAX_RETRY_WAIT && Instant::now() + w < deadline;
                        if attempt < self.retries && wait.is_none_or(fits) {
                            attempt += 1;
                            tokio::time::sleep(
                                wait.unwrap_or_else(|| backoff(attempt + 2, REGISTRY_BACKOFF_MS))
                                    .min(deadline.saturating_duration_since(Instant::now())),
                            )
                            .await;
                            continue;
                        }
                        let when = wait
                            .map(|w| format!("; the registry asks to wait {}s", w.as_secs()))
                            .unwrap_or_default();
                        return Err(err(
                            ErrorKind::RateLimited,
                            format!(
                                "registry {} answered 429 Too Many Requests{when}: try again later",
                                self.registry
                            ),
                        ));
                    }
                    if status.is_server_error() {
                        if attempt < self.retries {
                            attempt += 1;
                            tokio::time::sleep(
                                backoff(attempt, REGISTRY_BACKOFF_MS)
                                    .min(deadline.saturating_duration_since(Instant::now())),
                            )
                            .await;
                            continue;
                        }
                        return Err(err(
                            ErrorKind::BadResponse,
                            format!("registry {} answered {}", self.registry, status_text(status)),
                        ));
                    }
                    return Ok(resp);
                }
            }
        }
    }

    pub(super) fn switch_scheme(&self, from: Scheme) -> bool {
        let to = match from {
            Scheme::Https => Scheme::Http,
            Scheme::Http => Scheme::Https,
        };
        self.scheme.compare_exchange(from as u8, to as u8, Ordering::Relaxed, Ordering::Relaxed).is_ok()
            || self.scheme() == to
    }

    /// On 429, halve the requests in flight to this registry (to at least 1).
    pub(super) fn slow_down(&self) {
        let now = self.limit_now.load(Ordering::Relaxed);
        if now > 1 {
            let target = now / 2;
            if self.limit_now.compare_exchange(now, target, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                let limit = self.limit.clone();
                let drop_n = (now - target) as u32;
                // Permits held right now are retired as they come back.
                tokio::spawn(async move {
                    if let Ok(p) = limit.acquire_many(drop_n).await {
                        p.forget();
                    }
                });
            }
        }
    }

    pub(super) fn note_rate_limit(&self, headers: &HeaderMap) {
        let parse = |name: &str| -> (Option<u64>, Option<u64>) {
            let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) else { return (None, None) };
            let mut parts = v.split(';');
            let n = parts.next().and_then(|n| n.trim().parse().ok());
            let w = parts.find_map(|p| p.trim().strip_prefix("w=").and_then(|w| w.parse().ok()));
            (n, w)
        };
        let (limit, w1) = parse("ratelimit-limit");
        let (remaining, w2) = parse("ratelimit-remaining");
        if limit.is_some() || remaining.is_some() {
            *self.rate.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(RateLimit { limit, remaining, window_seconds: w1.or(w2) });
        }
    }
}
