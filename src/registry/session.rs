//! Authentication against one registry, learnt once: the challenge of the
//! first 401, the credentials for the host, and bearer tokens fetched (one
//! covering many repositories where the token server allows it) and reused
//! until they expire. Credentials never go to another host.

use super::*;

pub(super) fn bearer(token: &Secret) -> Secret {
    Secret::new(format!("Bearer {}", token.expose()))
}

pub(super) fn token_url(realm: &str, query: &[(&str, String)]) -> String {
    let mut url = realm.to_string();
    let mut sep = if realm.contains('?') { '&' } else { '?' };
    for (k, v) in query {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.push_str(&urlencode(v));
        sep = '&';
    }
    url
}

pub(super) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub(super) fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?']).next().unwrap_or(rest))
}

pub(super) fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// A token request: a refresh-token POST for an identity token, else a GET
/// with Basic credentials (if any) and the scopes in the query.
fn token_request(
    client: &reqwest::Client,
    realm: &str,
    query: &[(&str, String)],
    creds: Option<&Found>,
) -> reqwest::RequestBuilder {
    match creds {
        Some(Found { credential: Credential::IdentityToken(token), .. }) => {
            let mut form = query.to_vec();
            form.push(("grant_type", "refresh_token".into()));
            form.push(("refresh_token", token.expose().to_string()));
            form.push(("client_id", "freshen".into()));
            let body =
                form.iter().map(|(k, v)| format!("{}={}", k, urlencode(v))).collect::<Vec<_>>().join("&");
            client.post(realm).header("content-type", "application/x-www-form-urlencoded").body(body)
        }
        Some(Found { credential: Credential::Basic { username, password }, .. }) => {
            client.get(token_url(realm, query)).basic_auth(username, Some(password.expose()))
        }
        _ => client.get(token_url(realm, query)),
    }
}

/// The Authorization header a Basic challenge is answered with: the
/// user's password, or the registry token `docker login` stored.
fn basic_header(found: Option<Found>) -> Option<Secret> {
    match found? {
        Found { credential: Credential::Basic { username, password }, .. } => {
            let raw = format!("{username}:{}", password.expose());
            Some(Secret::new(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))))
        }
        Found { credential: Credential::RegistryToken(t), .. } => Some(bearer(&t)),
        Found { credential: Credential::IdentityToken(_), .. } => None,
    }
}

impl Host {
    /// How the registry asked for credentials this run, for the next one
    /// (see [`Host::adopt_auth`]).
    pub async fn known_auth(&self) -> Option<KnownAuth> {
        match &self.auth.lock().await.mode {
            AuthMode::Anonymous => None,
            AuthMode::Basic(_) => Some(KnownAuth::Basic),
            AuthMode::Bearer { realm, service } => {
                Some(KnownAuth::Bearer { realm: realm.clone(), service: service.clone() })
            }
        }
    }

    /// Starts from what the last update learnt of the registry's
    /// authentication, so that no request has to be refused first: the
    /// Basic credentials, or the tokens for every repository of the run
    /// (one request to the token server, made while the engine lists its
    /// images). False when that cannot be done (no credentials any more,
    /// the token server refuses): the run then learns it again from the
    /// first 401, as it does for a registry it does not know.
    pub async fn adopt_auth(&self, known: &KnownAuth) -> bool {
        let mut state = self.auth.lock().await;
        if !matches!(state.mode, AuthMode::Anonymous) {
            return true;
        }
        match known {
            KnownAuth::Basic => match basic_header(self.credentials().await.ok().flatten()) {
                Some(header) => state.mode = AuthMode::Basic(header),
                None => return false,
            },
            KnownAuth::Bearer { realm, service } => {
                let Some(first) = self.repositories.first().cloned() else { return false };
                state.mode = AuthMode::Bearer { realm: realm.clone(), service: service.clone() };
                if self.prefetch_tokens(&mut state, realm, service.as_deref(), &first).await.is_err() {
                    state.mode = AuthMode::Anonymous;
                    state.tokens.clear();
                    return false;
                }
            }
        }
        state.generation += 1;
        true
    }

    pub(super) async fn credentials(&self) -> Result<Option<Found>, RegistryError> {
        self.creds
            .get_or_init(|| async { self.creds_store.lookup(&self.registry).await })
            .await
            .clone()
            .map_err(|e| err(ErrorKind::Unauthorized, e))
    }

    /// The Authorization header for a repository, fetching a token when the
    /// registry wants one and we have none (or it expired).
    pub(super) async fn authorization(
        &self,
        repository: &str,
    ) -> Result<(Option<Secret>, u64), RegistryError> {
        let mut state = self.auth.lock().await;
        match state.mode.clone() {
            AuthMode::Anonymous => Ok((None, state.generation)),
            AuthMode::Basic(h) => Ok((Some(h), state.generation)),
            AuthMode::Bearer { realm, service } => {
                if let Some(e) = state.denied.get(repository) {
                    return Err(e.clone());
                }
                let fresh = state
                    .tokens
                    .get(repository)
                    .filter(|t| t.expires > Instant::now() + Duration::from_secs(5));
                if let Some(t) = fresh {
                    return Ok((Some(bearer(&t.value)), state.generation));
                }
                let token = self.fetch_token(&realm, service.as_deref(), &[repository.to_string()]).await;
                match token {
                    Ok(t) => {
                        state.tokens.insert(repository.to_string(), t.clone());
                        Ok((Some(bearer(&t.value)), state.generation))
                    }
                    Err(e) => {
                        state.denied.insert(repository.to_string(), e.clone());
                        Err(e)
                    }
                }
            }
        }
    }

    /// Handles a 401: learns the challenge (first time) or gets a fresh
    /// token for this repository (token rejected).
    pub(super) async fn learn(
        &self,
        challenge: Option<&str>,
        repository: &str,
        used_generation: u64,
        sent_auth: bool,
    ) -> Result<(), RegistryError> {
        let mut state = self.auth.lock().await;
        if state.generation != used_generation {
            // Someone else already changed the credentials: just retry.
            return Ok(());
        }
        let parsed = challenge.and_then(parse_challenge);
        match parsed {
            Some(Challenge::Basic) => {
                if matches!(state.mode, AuthMode::Basic(_)) {
                    return Err(self.refused(true).await);
                }
                match basic_header(self.credentials().await?) {
                    Some(header) => state.mode = AuthMode::Basic(header),
                    None => return Err(self.refused(false).await),
                }
            }
            Some(Challenge::Bearer { realm, service }) => {
                let known = matches!(&state.mode, AuthMode::Bearer { realm: r, .. } if *r == realm);
                if known && sent_auth {
                    // Our token was refused (expired, or did not cover this
                    // repository): one fresh token for it alone.
                    let t = self.fetch_token(&realm, service.as_deref(), &[repository.to_string()]).await?;
                    state.tokens.insert(repository.to_string(), t);
                } else {
                    state.mode = AuthMode::Bearer { realm: realm.clone(), service: service.clone() };
                    state.tokens.clear();
                    state.denied.clear();
                    self.prefetch_tokens(&mut state, &realm, service.as_deref(), repository).await?;
                }
            }
            None => {
                return Err(err(
                    ErrorKind::Unauthorized,
                    format!(
                        "registry {} answered 401 without a usable authentication challenge",
                        self.registry
                    ),
                ))
            }
        }
        state.generation += 1;
        Ok(())
    }

    /// One token request per batch of repositories (several `scope`
    /// parameters each), so a registry with many repositories costs one
    /// authentication, not one per repository.
    pub(super) async fn prefetch_tokens(
        &self,
        state: &mut AuthState,
        realm: &str,
        service: Option<&str>,
        first: &str,
    ) -> Result<(), RegistryError> {
        let mut repos: Vec<String> = vec![first.to_string()];
        repos.extend(self.repositories.iter().filter(|r| r.as_str() != first).cloned());
        let mut batches: Vec<Vec<String>> = Vec::new();
        let mut len = realm.len() + 64;
        for r in repos {
            let cost = r.len() + 32;
            match batches.last_mut() {
                Some(b) if len + cost <= MAX_TOKEN_URL => b.push(r),
                _ => {
                    batches.push(vec![r]);
                    len = realm.len() + 64;
                }
            }
            len += cost;
        }
        let results =
            futures_util::future::join_all(batches.iter().map(|b| self.fetch_token(realm, service, b))).await;
        for (batch, result) in batches.iter().zip(results) {
            match result {
                Ok(t) => {
                    for r in batch {
                        state.tokens.insert(r.clone(), t.clone());
                    }
                }
                // The first repository's failure is the caller's answer; the
                // others get their own token (or error) when they ask.
                Err(e) if batch.iter().any(|r| r == first) => return Err(e),
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// One bearer token covering `repositories`, from the token server
    /// (with the user's credentials when there are some), retried on
    /// network errors, 429 and 5xx.
    pub(super) async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        repositories: &[String],
    ) -> Result<Token, RegistryError> {
        let creds = self.credentials().await?;
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(s) = service {
            query.push(("service", s.to_string()));
        }
        for r in repositories {
            query.push(("scope", format!("repository:{r}:pull")));
        }
        let resp = self.token_answer(realm, &query, creds.as_ref(), repositories.len()).await?;
        self.token_status(resp.status(), creds.as_ref(), repositories)?;
        let body = read_limited(resp, MAX_TOKEN_BYTES).await?;
        self.read_token(&body)
    }

    /// The token server's answer, after retries. Its own host's client
    /// serves a token server on the registry's host; any other host gets
    /// the client with the system's roots.
    async fn token_answer(
        &self,
        realm: &str,
        query: &[(&str, String)],
        creds: Option<&Found>,
        repositories: usize,
    ) -> Result<reqwest::Response, RegistryError> {
        let client = if url_host(realm) == Some(self.api.as_str()) {
            &self.client
        } else {
            self.realm_client.get()?
        };
        let mut attempt = 0;
        loop {
            let req = token_request(client, realm, query, creds);
            self.requests.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let result = req.send().await;
            if self.verbose {
                let outcome = match &result {
                    Ok(r) => status_text(r.status()),
                    Err(e) => describe_reqwest(e),
                };
                eprintln!(
                    "token {} ({repositories} repositories) -> {outcome} ({} ms)",
                    strip_query(realm),
                    started.elapsed().as_millis()
                );
            }
            let retryable = match &result {
                Err(_) => true,
                Ok(r) => r.status().is_server_error() || r.status() == StatusCode::TOO_MANY_REQUESTS,
            };
            if retryable && attempt < self.retries {
                attempt += 1;
                tokio::time::sleep(backoff(attempt, REGISTRY_BACKOFF_MS)).await;
                continue;
            }
            return result.map_err(|e| {
                err(
                    ErrorKind::Unreachable,
                    format!("cannot reach the token server of {}: {}", self.registry, describe_reqwest(&e)),
                )
            });
        }
    }

    /// A token server's refusal, rate limit or failure, in words.
    fn token_status(
        &self,
        status: StatusCode,
        creds: Option<&Found>,
        repositories: &[String],
    ) -> Result<(), RegistryError> {
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(match creds {
                Some(f) => err(
                    ErrorKind::Unauthorized,
                    format!(
                        "registry {} refused the credentials from {}: {}",
                        self.registry,
                        f.source,
                        self.login_hint()
                    ),
                ),
                None => err(
                    ErrorKind::Unauthorized,
                    format!(
                        "registry {} requires credentials for {}: {}",
                        self.registry,
                        repositories.join(", "),
                        self.login_hint()
                    ),
                ),
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(err(
                ErrorKind::RateLimited,
                format!("the token server of {} answered 429: try again later", self.registry),
            ));
        }
        if !status.is_success() {
            return Err(err(
                ErrorKind::BadResponse,
                format!("the token server of {} answered {}", self.registry, status_text(status)),
            ));
        }
        Ok(())
    }

    /// The token in a token server's JSON answer, renewed at 90% of its
    /// lifetime so it never expires mid-request.
    fn read_token(&self, body: &[u8]) -> Result<Token, RegistryError> {
        let answer: TokenAnswer = serde_json::from_slice(body).map_err(|_| {
            err(
                ErrorKind::BadResponse,
                format!("the token server of {} sent something that is not a token", self.registry),
            )
        })?;
        let (token, lifetime) = answer.into_token().ok_or_else(|| {
            err(ErrorKind::BadResponse, format!("the token server of {} sent no token", self.registry))
        })?;
        let lifetime = Duration::from_secs(lifetime).mul_f64(0.9);
        Ok(Token { value: Secret::new(token), expires: Instant::now() + lifetime })
    }

    pub(super) async fn refused(&self, sent_credentials: bool) -> RegistryError {
        if sent_credentials {
            let source = match self.credentials().await {
                Ok(Some(f)) => f.source,
                _ => "the configured credentials".into(),
            };
            err(
                ErrorKind::Unauthorized,
                format!(
                    "registry {} refused the credentials from {source}: {}",
                    self.registry,
                    self.login_hint()
                ),
            )
        } else {
            err(
                ErrorKind::Unauthorized,
                format!("registry {} requires credentials: {}", self.registry, self.login_hint()),
            )
        }
    }

    pub(super) fn login_name(&self) -> &str {
        if self.registry == crate::core::reference::DOCKER_HUB {
            ""
        } else {
            &self.registry
        }
    }

    pub(super) fn login_hint(&self) -> String {
        if self.registry == crate::core::reference::DOCKER_HUB {
            "run 'docker login'".into()
        } else {
            format!("run 'docker login {}'", self.registry)
        }
    }
}
