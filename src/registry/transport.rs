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

/// Where one request stands across its attempts.
struct Tries {
    /// Retries spent (network errors, 429, 5xx).
    attempt: u32,
    /// Fresh credentials fetched after a 401.
    auth_retries: u32,
    /// One scheme fallback per request: a registry that is down must not
    /// make us alternate between HTTPS and HTTP forever.
    switched: bool,
    /// `--timeout` bounds the whole request, retries, backoff and scheme
    /// fallback included: a registry that never answers costs that long.
    deadline: Instant,
}

/// What one attempt sent, for reading its answer.
#[derive(Clone, Copy)]
struct Sent<'a> {
    scheme: Scheme,
    repository: &'a str,
    /// The credentials' generation the attempt used.
    generation: u64,
    with_auth: bool,
}

/// What to do after one attempt.
enum Next {
    /// Send again: the other scheme, new credentials, or after a wait.
    Again,
    Done(Result<reqwest::Response, RegistryError>),
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
        let mut tries =
            Tries { attempt: 0, auth_retries: 0, switched: false, deadline: Instant::now() + self.timeout };
        loop {
            if let Some(e) = self.unreachable.get() {
                return Err(e.clone());
            }
            if tries.deadline <= Instant::now() {
                return Err(self.out_of_time());
            }
            let (auth, generation) = self.authorization(repository).await?;
            let left = tries.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.out_of_time());
            }
            let scheme = self.scheme();
            let url = format!("{}://{}{}", scheme.as_str(), self.api, path);
            let next = match self.send_once(&method, &url, auth.as_ref(), left).await {
                Err(e) => self.after_failure(&e, scheme, &mut tries).await,
                Ok(resp) => {
                    let sent = Sent { scheme, repository, generation, with_auth: auth.is_some() };
                    self.after_answer(resp, sent, &mut tries).await?
                }
            };
            match next {
                Next::Again => continue,
                Next::Done(result) => return result,
            }
        }
    }

    fn out_of_time(&self) -> RegistryError {
        err(
            ErrorKind::Unreachable,
            format!("no answer from {} within {}s", self.registry, self.timeout.as_secs_f64()),
        )
    }

    /// One attempt on the wire, counted, and logged with `--verbose`.
    async fn send_once(
        &self,
        method: &Method,
        url: &str,
        auth: Option<&Secret>,
        left: Duration,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut req = self.client.request(method.clone(), url).header(ACCEPT, MANIFEST_ACCEPT).timeout(left);
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a.expose());
        }
        let started = Instant::now();
        self.requests.fetch_add(1, Ordering::Relaxed);
        let in_flight = self.activity.begin(&self.registry);
        let result = req.send().await;
        drop(in_flight);
        if self.verbose {
            let ms = started.elapsed().as_millis();
            match &result {
                Err(e) => eprintln!("{method} {url} -> {} ({ms} ms)", describe_reqwest(e)),
                Ok(resp) => eprintln!(
                    "{method} {url} -> {} ({ms} ms){}",
                    status_text(resp.status()),
                    rate_text(resp.headers())
                ),
            }
        }
        result
    }

    /// Sleeps before the next attempt, never past the deadline.
    async fn wait_then_again(&self, wait: Duration, tries: &Tries) -> Next {
        tokio::time::sleep(wait.min(tries.deadline.saturating_duration_since(Instant::now()))).await;
        Next::Again
    }

    /// Whether the first contact may still try the other scheme.
    fn may_fall_back(&self, tries: &Tries) -> bool {
        !self.contacted.load(Ordering::Relaxed)
            && !tries.switched
            && self.may_switch_scheme
            && !self.scheme_settled.load(Ordering::Relaxed)
    }

    /// No answer: the other scheme on first contact, a retry after a
    /// backoff, or the failure in words.
    async fn after_failure(&self, e: &reqwest::Error, scheme: Scheme, tries: &mut Tries) -> Next {
        if e.is_timeout() {
            // The time is spent: neither a retry nor the other scheme
            // could answer within it.
            return Next::Done(Err(self.out_of_time()));
        }
        if self.may_fall_back(tries) && (e.is_connect() || e.is_request()) && self.switch_scheme(scheme) {
            tries.switched = true;
            return Next::Again;
        }
        if let Some(problem) = self.tls_problem(e) {
            // Retrying cannot change a certificate.
            return Next::Done(Err(err(ErrorKind::Unreachable, problem)));
        }
        if tries.attempt < self.retries {
            tries.attempt += 1;
            return self.wait_then_again(backoff(tries.attempt, REGISTRY_BACKOFF_MS), tries).await;
        }
        let what = match self.closed_tls_hint(scheme, e) {
            Some(hint) => hint,
            None => format!("cannot reach {}: {}", self.registry, describe_reqwest(e)),
        };
        let failure = err(ErrorKind::Unreachable, what);
        if e.is_connect() {
            let _ = self.unreachable.set(failure.clone());
        }
        Next::Done(Err(failure))
    }

    /// An answer: the other scheme (a TLS port answering plain HTTP with
    /// 400), credentials after a 401, a wait after a 429 or a 5xx, or the
    /// response itself. A failure to learn credentials ends the request.
    async fn after_answer(
        &self,
        resp: reqwest::Response,
        sent: Sent<'_>,
        tries: &mut Tries,
    ) -> Result<Next, RegistryError> {
        let status = resp.status();
        self.note_rate_limit(resp.headers());
        // A TLS registry on a loopback port answers plain HTTP with 400.
        if status == StatusCode::BAD_REQUEST
            && sent.scheme == Scheme::Http
            && self.may_fall_back(tries)
            && self.switch_scheme(sent.scheme)
        {
            tries.switched = true;
            return Ok(Next::Again);
        }
        self.contacted.store(true, Ordering::Relaxed);
        if status == StatusCode::UNAUTHORIZED {
            if tries.auth_retries >= 2 {
                return Ok(Next::Done(Err(self.refused(sent.with_auth).await)));
            }
            tries.auth_retries += 1;
            let challenge =
                resp.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).map(str::to_string);
            self.learn(challenge.as_deref(), sent.repository, sent.generation, sent.with_auth).await?;
            return Ok(Next::Again);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Ok(self.after_too_many(resp.headers(), tries).await);
        }
        if status.is_server_error() {
            if tries.attempt < self.retries {
                tries.attempt += 1;
                return Ok(self.wait_then_again(backoff(tries.attempt, REGISTRY_BACKOFF_MS), tries).await);
            }
            return Ok(Next::Done(Err(err(
                ErrorKind::BadResponse,
                format!("registry {} answered {}", self.registry, status_text(status)),
            ))));
        }
        Ok(Next::Done(Ok(resp)))
    }

    /// A 429: fewer requests in flight from now on, and this one again
    /// after the wait the registry asks for (if it fits the deadline).
    async fn after_too_many(&self, headers: &HeaderMap, tries: &mut Tries) -> Next {
        self.slow_down();
        let wait = retry_after(headers);
        let fits = |w: Duration| w <= MAX_RETRY_WAIT && Instant::now() + w < tries.deadline;
        if tries.attempt < self.retries && wait.is_none_or(fits) {
            tries.attempt += 1;
            let wait = wait.unwrap_or_else(|| backoff(tries.attempt + 2, REGISTRY_BACKOFF_MS));
            return self.wait_then_again(wait, tries).await;
        }
        let when = wait.map(|w| format!("; the registry asks to wait {}s", w.as_secs())).unwrap_or_default();
        Next::Done(Err(err(
            ErrorKind::RateLimited,
            format!("registry {} answered 429 Too Many Requests{when}: try again later", self.registry),
        )))
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
