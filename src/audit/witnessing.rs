//! The hub's side of C2SP `tlog-witness`: a background task (owned by `Application`) submits the
//! latest signed checkpoint, with a consistency proof from the size each witness holds, to every
//! configured witness, checks the returned cosignature against the witness's configured verifier
//! key, and stores it (`witness_cosignatures`). A checkpoint with at least `k` valid
//! cosignatures is *witnessed*: `?witnessed=true` on the checkpoint and inclusion-proof endpoints
//! serves it with the cosignature lines appended, and `tsunagi audit check-proof --witness …
//! --witnesses-required K` checks them offline.
//!
//! A witness that answers 409 holds another size (it restarted from a backup, or another hub
//! instance got there first): the hub takes that size and submits again at once with a proof
//! from it. A witness that has not cosigned the latest checkpoint for `lag_alert_secs` raises a
//! `witness-lagging` alert. Witnesses learn nothing but public checkpoints and proofs.

use std::sync::Arc;
use std::time::Duration;

use super::alerts::{AlertKind, Alerts};
use super::cosignature::{CosignatureVerifier, cosigned_by, split_note, with_lines};
use super::proofs::ProofBuilder;
use crate::clock::Clock;
use crate::config::WitnessesConfig;
use crate::store::{Store, StoreError, StoredCheckpoint, StoredCosignature};
use crate::witness::protocol::{AddCheckpoint, parse_size_answer};

/// One configured witness.
#[derive(Debug, Clone)]
pub struct ConfiguredWitness {
    pub name: String,
    pub url: String,
    pub verifier: CosignatureVerifier,
}

/// The configured witnesses and the quorum: what "witnessed" means to this hub.
#[derive(Debug, Clone, Default)]
pub struct WitnessPolicy {
    pub witnesses: Vec<ConfiguredWitness>,
    /// Cosignatures a checkpoint needs to be witnessed.
    pub k: usize,
}

impl WitnessPolicy {
    pub fn from_config(config: &WitnessesConfig) -> anyhow::Result<Self> {
        let mut witnesses = Vec::new();
        for w in &config.list {
            anyhow::ensure!(
                w.url.starts_with("https://") || w.url.starts_with("http://"),
                "witness {}: the url must be http(s)://",
                w.name
            );
            let verifier = CosignatureVerifier::parse(&w.vkey)
                .map_err(|e| anyhow::anyhow!("witness {}: its vkey: {e}", w.name))?;
            anyhow::ensure!(
                !witnesses
                    .iter()
                    .any(|o: &ConfiguredWitness| o.name == w.name || o.verifier == verifier),
                "witness {} is listed twice",
                w.name
            );
            witnesses.push(ConfiguredWitness {
                name: w.name.clone(),
                url: w.url.trim_end_matches('/').to_owned(),
                verifier,
            });
        }
        if !witnesses.is_empty() {
            anyhow::ensure!(
                (1..=witnesses.len()).contains(&config.k),
                "witnesses.k must be between 1 and the number of witnesses ({})",
                witnesses.len()
            );
        }
        Ok(Self { witnesses, k: config.k })
    }

    pub fn verifiers(&self) -> Vec<CosignatureVerifier> {
        self.witnesses.iter().map(|w| w.verifier.clone()).collect()
    }

    pub fn enabled(&self) -> bool {
        !self.witnesses.is_empty()
    }

    /// The stored checkpoint of `size` with its valid stored cosignatures appended, if it has at
    /// least `k` of them.
    pub async fn witnessed_note(&self, store: &Store, cp: &StoredCheckpoint) -> Result<Option<String>, StoreError> {
        if !self.enabled() {
            return Ok(None);
        }
        let lines: Vec<String> = store
            .cosignatures_at(cp.size)
            .await?
            .into_iter()
            .map(|c| c.line)
            .collect();
        let note = with_lines(&cp.note, &lines);
        // Only cosignatures that verify now, from keys configured now, count.
        let valid = cosigned_by(&note, &self.verifiers()).map(|v| v.len()).unwrap_or(0);
        Ok((valid >= self.k).then_some(note))
    }

    /// The largest checkpoint that is witnessed and, when `containing` is given, holds that
    /// entry; with its cosigned note.
    pub async fn latest_witnessed(
        &self,
        store: &Store,
        containing: Option<u64>,
    ) -> Result<Option<(StoredCheckpoint, String)>, StoreError> {
        if !self.enabled() {
            return Ok(None);
        }
        for size in store.cosigned_sizes(self.k, 16).await? {
            if containing.is_some_and(|i| i >= size) {
                break;
            }
            if let Some(cp) = store.checkpoint_at(size).await?
                && let Some(note) = self.witnessed_note(store, &cp).await?
            {
                return Ok(Some((cp, note)));
            }
        }
        Ok(None)
    }
}

/// Submits checkpoints to the witnesses.
pub struct Submitter {
    store: Store,
    policy: WitnessPolicy,
    client: reqwest::Client,
    alerts: Alerts,
    clock: Arc<dyn Clock>,
    lag_alert_ms: i64,
    /// Witnesses that never cosigned count their lag from here.
    started_ms: i64,
}

/// What one submission came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// A valid cosignature on the checkpoint of this size is stored.
    Cosigned(u64),
    /// The witness already cosigned the latest checkpoint.
    UpToDate,
    /// Refused or unreachable (the reason is stored as the witness's last error).
    Failed(String),
}

impl Submitter {
    pub fn new(
        config: &WitnessesConfig,
        policy: WitnessPolicy,
        store: Store,
        alerts: Alerts,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let tls = match &config.ca_file {
            Some(ca) => crate::tls::client_config(ca, None)?,
            None => crate::console::oidc::http::platform_config()?,
        };
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()?;
        let started_ms = crate::store::to_ms(clock.now());
        Ok(Self {
            store,
            policy,
            client,
            alerts,
            clock,
            lag_alert_ms: i64::try_from(config.lag_alert_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            started_ms,
        })
    }

    /// One round: the latest checkpoint to every witness that has not cosigned it, then the lag
    /// check. Returns each witness's outcome.
    pub async fn submit_round(&self) -> Result<Vec<(String, Submitted)>, StoreError> {
        let Some(latest) = self.store.latest_checkpoint().await? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for w in &self.policy.witnesses {
            let outcome = self.submit_to(w, &latest).await?;
            self.check_lag(w, &latest).await?;
            out.push((w.name.clone(), outcome));
        }
        Ok(out)
    }

    async fn submit_to(&self, w: &ConfiguredWitness, latest: &StoredCheckpoint) -> Result<Submitted, StoreError> {
        let status = self.store.witness_status(&w.name).await?;
        if status.as_ref().and_then(|s| s.cosigned_size) == Some(latest.size) {
            return Ok(Submitted::UpToDate);
        }
        let mut old = status.map_or(0, |s| s.known_size);
        // At most one retry: after a 409 the witness's own size is known.
        for _ in 0..2 {
            let now_ms = crate::store::to_ms(self.clock.now());
            if old > latest.size {
                let e = format!("the witness holds size {old}, larger than the hub's latest checkpoint");
                self.store.record_witness_failure(&w.name, None, &e, now_ms).await?;
                return Ok(Submitted::Failed(e));
            }
            let proof = if old == 0 || old == latest.size {
                Vec::new()
            } else {
                match ProofBuilder::new(&self.store).consistency(old, latest.size).await {
                    Ok(p) => p,
                    Err(e) => {
                        let e = format!("no consistency proof from {old}: {e}");
                        self.store.record_witness_failure(&w.name, None, &e, now_ms).await?;
                        return Ok(Submitted::Failed(e));
                    }
                }
            };
            let body = AddCheckpoint {
                old_size: old,
                proof,
                checkpoint: latest.note.clone(),
            }
            .to_text();
            let sent = self
                .client
                .post(format!("{}/add-checkpoint", w.url))
                .header("content-type", "text/plain; charset=utf-8")
                .body(body)
                .send()
                .await;
            let answer = match sent {
                Ok(r) => {
                    let status = r.status().as_u16();
                    (status, r.text().await.unwrap_or_default())
                }
                Err(e) => {
                    let e = format!("unreachable: {e}");
                    self.store.record_witness_failure(&w.name, None, &e, now_ms).await?;
                    return Ok(Submitted::Failed(e));
                }
            };
            match answer {
                (200, text) => return self.accept(w, latest, &text, now_ms).await,
                (409, text) => match parse_size_answer(&text) {
                    Some(size) if size != old => {
                        self.store
                            .record_witness_failure(&w.name, Some(size), "409: stale old size", now_ms)
                            .await?;
                        old = size;
                    }
                    _ => {
                        let e = format!("409: {}", text.trim());
                        self.store.record_witness_failure(&w.name, None, &e, now_ms).await?;
                        self.refused(w, latest, &e).await?;
                        return Ok(Submitted::Failed(e));
                    }
                },
                (status, text) => {
                    let e = format!("{status}: {}", text.lines().next().unwrap_or_default());
                    self.store.record_witness_failure(&w.name, None, &e, now_ms).await?;
                    tracing::warn!(witness = %w.name, status, "the witness refused the checkpoint");
                    if matches!(status, 403 | 404 | 422) {
                        self.refused(w, latest, &e).await?;
                    }
                    return Ok(Submitted::Failed(e));
                }
            }
        }
        Ok(Submitted::Failed("the witness's size kept changing".into()))
    }

    /// Keeps the witness's valid cosignature lines from a 200 answer.
    async fn accept(
        &self,
        w: &ConfiguredWitness,
        latest: &StoredCheckpoint,
        text: &str,
        now_ms: i64,
    ) -> Result<Submitted, StoreError> {
        let note = with_lines(&latest.note, &text.lines().map(str::to_owned).collect::<Vec<_>>());
        let found = split_note(&note).ok().and_then(|(body, lines)| {
            lines.iter().find_map(|l| {
                w.verifier
                    .check_line(body, l)
                    .ok()
                    .flatten()
                    .map(|ts| (l.text.clone(), ts))
            })
        });
        let Some((line, ts)) = found else {
            let e = "200 without a valid cosignature from the configured key".to_owned();
            self.store.record_witness_failure(&w.name, None, &e, now_ms).await?;
            return Ok(Submitted::Failed(e));
        };
        self.store
            .record_cosignature(
                &StoredCosignature {
                    witness: w.name.clone(),
                    vkey: w.verifier.to_vkey_string(),
                    size: latest.size,
                    line,
                },
                ts,
                now_ms,
            )
            .await?;
        Ok(Submitted::Cosigned(latest.size))
    }

    /// A witness that refuses the log's checkpoint (its signature, its origin, or its
    /// consistency with what the witness cosigned) is an alert at once, not after the lag: either
    /// the log was rewritten or the witness is misconfigured.
    async fn refused(&self, w: &ConfiguredWitness, latest: &StoredCheckpoint, reason: &str) -> Result<(), StoreError> {
        let detail = format!(
            "witness {} refused the checkpoint of size {}: {reason}",
            w.name, latest.size
        );
        self.alerts
            .raise(AlertKind::WitnessLagging, &format!("witness:{}", w.name), &detail)
            .await?;
        Ok(())
    }

    async fn check_lag(&self, w: &ConfiguredWitness, latest: &StoredCheckpoint) -> Result<(), StoreError> {
        let status = self.store.witness_status(&w.name).await?;
        if status.as_ref().and_then(|s| s.cosigned_size) == Some(latest.size) {
            return Ok(());
        }
        // Lagging since the first checkpoint it has not cosigned was signed (or since the hub
        // started, if later).
        let cosigned = status.as_ref().and_then(|s| s.cosigned_size).unwrap_or(0);
        let first_missed = self
            .store
            .checkpoint_after(cosigned)
            .await?
            .map_or(latest.signed_at_ms, |c| c.signed_at_ms);
        let since = first_missed.max(self.started_ms);
        let now = crate::store::to_ms(self.clock.now());
        if now.saturating_sub(since) >= self.lag_alert_ms {
            let detail = format!(
                "witness {} has not cosigned for {} s (latest checkpoint {}, witness at {}; last error: {})",
                w.name,
                now.saturating_sub(since) / 1000,
                latest.size,
                status.as_ref().and_then(|s| s.cosigned_size).unwrap_or(0),
                status.and_then(|s| s.last_error).unwrap_or_else(|| "none".into())
            );
            self.alerts
                .raise(AlertKind::WitnessLagging, &format!("witness:{}", w.name), &detail)
                .await?;
        }
        Ok(())
    }

    /// Submits every `every` (one of `tasks`); does nothing without witnesses.
    pub fn spawn(self, every: Duration, tasks: &crate::tasks::BackgroundTasks) {
        if !self.policy.enabled() {
            return;
        }
        let mut shutdown = tasks.shutdown();
        tasks.spawn("witness submitter", async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = shutdown.requested() => break,
                }
                if self.store.is_closed() {
                    break;
                }
                if let Err(e) = self.submit_round().await {
                    tracing::warn!(error = %e, "witness round failed");
                }
            }
        });
    }
}
