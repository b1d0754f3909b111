//! Notices pushed to agencies' systems as webhooks (the Standard Webhooks scheme).
//!
//! Every notification (e.g. "a consent under which you received data was revoked") is written
//! with an outbox row in the same transaction ([`crate::store::Store::notify`]). The deliverer
//! here posts each due row to its agency's registered HTTPS endpoint — over rustls, presenting
//! the hub's client certificate when one is configured — signed as Standard Webhooks asks
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "id.timestamp.body">`), and records every attempt. A 2xx answer delivers it; anything else
//! (or no answer) retries with exponential backoff, the same `webhook-id` each time, so a
//! receiver can drop duplicates: delivery is at least once. A notice still undelivered after
//! `alert_after_attempts` raises a `webhook-failing` alert; `tsunagi webhooks list --failing`
//! shows them and `tsunagi webhooks retry ID` makes one due now. Agencies without an endpoint
//! poll `GET /v1/notifications`; their rows are marked `skipped`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use ring::hmac;

use crate::audit::alerts::{AlertKind, Alerts};
use crate::clock::Clock;
use crate::config::WebhooksConfig;
use crate::store::{OutboxRow, Store};

/// One agency's endpoint and signing key.
struct Endpoint {
    url: String,
    key: hmac::Key,
}

/// Posts due notices to the agencies' endpoints.
pub struct Deliverer {
    store: Store,
    endpoints: HashMap<String, Endpoint>,
    client: reqwest::Client,
    alerts: Alerts,
    clock: Arc<dyn Clock>,
    retry_base_ms: u64,
    alert_after: i64,
}

/// The signature header's value for `body` sent as message `id` at `timestamp` (seconds).
pub fn signature(key: &hmac::Key, id: &str, timestamp: i64, body: &str) -> String {
    let tag = hmac::sign(key, format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(tag.as_ref()))
}

/// A signing key from its Standard Webhooks text form, `whsec_<base64>`.
pub fn secret_key(text: &str) -> anyhow::Result<hmac::Key> {
    let encoded = text
        .trim()
        .strip_prefix("whsec_")
        .ok_or_else(|| anyhow::anyhow!("a webhook secret starts with whsec_"))?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded)?;
    anyhow::ensure!(bytes.len() >= 24, "a webhook secret holds at least 24 bytes");
    Ok(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
}

impl Deliverer {
    /// From configuration; `None` when no endpoint is registered (every row is then skipped by
    /// [`Deliverer::skip_all`] — nothing to deliver).
    pub fn from_config(
        config: &WebhooksConfig,
        store: Store,
        alerts: Alerts,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let mut endpoints = HashMap::new();
        for e in &config.endpoints {
            anyhow::ensure!(
                e.url.starts_with("https://"),
                "webhook endpoint of {} must be https://",
                e.agency
            );
            let secret = std::fs::read_to_string(&e.secret_file)
                .map_err(|err| anyhow::anyhow!("webhook secret {}: {err}", e.secret_file.display()))?;
            let key = secret_key(&secret).map_err(|err| anyhow::anyhow!("webhook secret of {}: {err}", e.agency))?;
            endpoints.insert(
                e.agency.clone(),
                Endpoint {
                    url: e.url.clone(),
                    key,
                },
            );
        }
        let tls = match (&config.ca_file, &config.client_cert, &config.client_key) {
            (Some(ca), cert, key) => crate::tls::client_config(ca, cert.as_deref().zip(key.as_deref()))?,
            (None, None, None) => crate::console::oidc::http::platform_config()?,
            (None, _, _) => anyhow::bail!("webhooks.client_cert needs webhooks.ca_file"),
        };
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(Self {
            store,
            endpoints,
            client,
            alerts,
            clock,
            retry_base_ms: config.retry_base_ms.max(1),
            alert_after: i64::from(config.alert_after_attempts.max(1)),
        })
    }

    /// Delivers what is due now; returns how many rows it handled.
    pub async fn deliver_due(&self) -> Result<usize, crate::store::StoreError> {
        let now_ms = crate::store::to_ms(self.clock.now());
        let rows = self.store.claim_due_webhooks(now_ms, 60_000, 50).await?;
        let n = rows.len();
        for row in rows {
            self.deliver(row).await?;
        }
        Ok(n)
    }

    async fn deliver(&self, row: OutboxRow) -> Result<(), crate::store::StoreError> {
        let Some(endpoint) = self.endpoints.get(&row.agency) else {
            return self.store.skip_webhook(&row.id).await;
        };
        let now = self.clock.now();
        let timestamp = now.unix_timestamp();
        let sent = self
            .client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &row.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature(&endpoint.key, &row.id, timestamp, &row.payload),
            )
            .body(row.payload.clone())
            .send()
            .await;
        let attempt = row.attempts + 1;
        let (status, error) = match sent {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
            Ok(r) => (Some(r.status().as_u16()), Some(format!("answered {}", r.status()))),
            // The error names the endpoint and the failure, never the payload.
            Err(e) => (None, Some(e.to_string())),
        };
        let at_ms = crate::store::to_ms(now);
        let retry_at = error.as_ref().map(|_| {
            let exp = u32::try_from(attempt.clamp(1, 30) - 1).unwrap_or(0);
            let wait = self.retry_base_ms.saturating_mul(1u64 << exp).min(3_600_000);
            at_ms.saturating_add(i64::try_from(wait).unwrap_or(3_600_000))
        });
        self.store
            .record_webhook_attempt(&row.id, attempt, at_ms, status, error.as_deref(), retry_at)
            .await?;
        if let Some(e) = &error {
            tracing::warn!(webhook = %row.id, agency = %row.agency, attempt, error = %e, "webhook delivery failed; will retry");
            if attempt >= self.alert_after {
                let detail = format!(
                    "webhook {} to {} undelivered after {attempt} attempts: {e}",
                    row.id, row.agency
                );
                if let Err(err) = self
                    .alerts
                    .raise(AlertKind::WebhookFailing, &format!("agency:{}", row.agency), &detail)
                    .await
                {
                    tracing::warn!(error = %err, "the webhook-failing alert could not be stored");
                }
            }
        }
        Ok(())
    }

    /// Delivers due notices every `every` (one of `tasks`).
    pub fn spawn(self, every: Duration, tasks: &crate::tasks::BackgroundTasks) {
        let mut shutdown = tasks.shutdown();
        tasks.spawn("webhook deliverer", async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = shutdown.requested() => break,
                }
                if let Err(e) = self.deliver_due().await {
                    tracing::warn!(error = %e, "webhook delivery round failed");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_standard_webhooks_one() {
        // The example of the Standard Webhooks specification.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(secret_key("whsec_c2hvcnQ=").is_err(), "too short");
    }
}
