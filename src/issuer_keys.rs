//! The token issuer's keys, from a file (closed networks) or from the issuer's OpenID discovery
//! document (`jwt.discovery_url` → `jwks_uri`).
//!
//! Discovered keys are cached and swapped atomically ([`ArcSwap`]): refetched every
//! `jwt.refresh_secs`, and at once when a token names a key id the cache does not hold — at most
//! once per `jwt.min_refetch_secs`, so a flood of tokens with invented key ids cannot turn the
//! hub into a load generator against the identity provider. A failed fetch keeps the keys the
//! hub has (stale keys beat no keys) and is logged. Algorithms stay pinned per key
//! ([`JwtVerifier`]); keys the hub never accepts (RSA, encryption keys) are left out.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::auth::{AuthError, Claims, JwtVerifier};

/// Where the keys come from, and how to fetch them again.
struct Remote {
    discovery_url: String,
    client: reqwest::Client,
    issuer: String,
    audience: String,
    leeway_secs: u64,
    min_refetch: Duration,
    /// When the last fetch (of either kind) started; one fetch at a time.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

/// The verifier in force, and (when discovered) how to renew it.
pub struct IssuerKeys {
    current: ArcSwap<JwtVerifier>,
    remote: Option<Remote>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeys")
            .field("discovered", &self.remote.is_some())
            .finish_non_exhaustive()
    }
}

impl IssuerKeys {
    /// Fixed keys (the JWKS file).
    pub fn fixed(verifier: JwtVerifier) -> Self {
        Self {
            current: ArcSwap::from_pointee(verifier),
            remote: None,
        }
    }

    /// Keys discovered from `discovery_url` (HTTPS; `ca_file` to trust a private CA, else the
    /// system's trust store). The first fetch must succeed: a hub that cannot verify any token
    /// does not start.
    pub async fn discover(
        discovery_url: &str,
        ca_file: Option<&Path>,
        issuer: &str,
        audience: &str,
        leeway_secs: u64,
        min_refetch: Duration,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            discovery_url.starts_with("https://"),
            "jwt.discovery_url must be an https:// URL"
        );
        let client = crate::console::oidc::http::IdpHttpClient::new(ca_file)?.into_inner();
        let remote = Remote {
            discovery_url: discovery_url.to_owned(),
            client,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            leeway_secs,
            min_refetch,
            last_fetch: tokio::sync::Mutex::new(None),
        };
        let verifier = remote.fetch().await?;
        Ok(Self {
            current: ArcSwap::from_pointee(verifier),
            remote: Some(remote),
        })
    }

    /// Verifies a token with the keys in force.
    pub fn verify(&self, token: &str, now: time::OffsetDateTime) -> Result<Claims, AuthError> {
        self.current.load().verify(token, now)
    }

    /// The key ids in force.
    pub fn kids(&self) -> Vec<String> {
        self.current.load().kids()
    }

    /// Whether an unknown key id may be looked up at the issuer now (keys are discovered and
    /// the last fetch is at least `min_refetch` ago).
    pub fn may_refetch(&self) -> bool {
        let Some(remote) = &self.remote else {
            return false;
        };
        match remote.last_fetch.try_lock() {
            Ok(last) => last.is_none_or(|t| t.elapsed() >= remote.min_refetch),
            // A fetch is running: the caller may wait for it.
            Err(_) => true,
        }
    }

    /// Fetches the issuer's keys again (`force`: regardless of the rate bound, for the periodic
    /// refresh) and swaps them in. `Ok(false)` when the rate bound skipped it; on a failure the
    /// keys in force stay.
    pub async fn refetch(&self, force: bool) -> anyhow::Result<bool> {
        let Some(remote) = &self.remote else {
            return Ok(false);
        };
        let mut last = remote.last_fetch.lock().await;
        if !force && last.is_some_and(|t| t.elapsed() < remote.min_refetch) {
            return Ok(false);
        }
        *last = Some(Instant::now());
        match remote.fetch().await {
            Ok(verifier) => {
                self.current.store(Arc::new(verifier));
                Ok(true)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the token issuer's keys could not be fetched; the keys in force stay");
                Err(e)
            }
        }
    }

    /// Refetches every `every` in the background (one of `tasks`).
    pub fn spawn_refresher(self: &Arc<Self>, every: Duration, tasks: &crate::tasks::BackgroundTasks) {
        if self.remote.is_none() {
            return;
        }
        let keys = Arc::clone(self);
        let mut shutdown = tasks.shutdown();
        tasks.spawn("issuer key refresher", async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = shutdown.requested() => break,
                }
                // A failure is logged inside; the keys in force stay.
                let _ = keys.refetch(true).await;
            }
        });
    }
}

impl Remote {
    async fn get_json(&self, url: &str) -> anyhow::Result<serde_json::Value> {
        let mut response = self.client.get(url).send().await?;
        anyhow::ensure!(response.status().is_success(), "{url} answered {}", response.status());
        let body = crate::console::oidc::http::read_limited(&mut response).await?;
        Ok(serde_json::from_slice(&body)?)
    }

    /// The discovery document (its `issuer` must be the configured one), then its `jwks_uri`.
    async fn fetch(&self) -> anyhow::Result<JwtVerifier> {
        let doc = self.get_json(&self.discovery_url).await?;
        let issuer = doc.get("issuer").and_then(|v| v.as_str()).unwrap_or_default();
        anyhow::ensure!(
            issuer == self.issuer,
            "the discovery document names issuer {issuer:?}, not the configured {:?}",
            self.issuer
        );
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .ok_or_else(|| anyhow::anyhow!("the discovery document has no jwks_uri"))?;
        anyhow::ensure!(jwks_uri.starts_with("https://"), "jwks_uri must be https://");
        let jwks = self.get_json(jwks_uri).await?;
        let (verifier, skipped) =
            JwtVerifier::from_published_jwks(&jwks.to_string(), &self.issuer, &self.audience, self.leeway_secs)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        tracing::info!(keys = ?verifier.kids(), skipped, "token issuer keys fetched");
        Ok(verifier)
    }
}
