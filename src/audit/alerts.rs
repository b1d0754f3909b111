//! Alerts for privacy officers: a small table of kinds, raised by the hub's own checks, listed by
//! `GET /v1/audit/alerts` and written to the tracing log at `warn`. One alert per kind, scope and
//! local day, so a condition that persists does not flood the list. Every emergency grant is an
//! alert of its own (its scope names the grant).
//!
//! Unusual volume is deliberately simple and explainable: a user (or agency) is flagged when its
//! allowed disclosures today exceed both a configured minimum and `usual_multiple` times its
//! average day over the previous `baseline_days` days.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::config::AlertConfig;
use crate::store::{AlertRow, Store, StoreError};

/// What an alert is about. Add a kind here (and raise it where the condition is seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// A user or agency far above its usual daily disclosures.
    UnusualVolume,
    /// The log did not verify (checkpointer or `tsunagi audit verify`).
    VerificationFailed,
    /// A break-glass emergency grant was made (one alert per grant and side, scopes
    /// `user:<agency>/<user>/grant:<id>` for the requester and `user:<owner>/grant:<id>` for the
    /// owning agency, so both organs' officers see it),
    /// raised before the grant takes effect.
    EmergencyGrant,
    /// Little free space is left under the database (SQLite): the log will stop taking entries
    /// (and so the hub will refuse every change) when the disk is full.
    LowDiskSpace,
    /// The server certificate, a client CA certificate or a CRL's next update is near.
    TlsExpiring,
    /// A notice to an agency's system is still undelivered after several attempts (scope
    /// `agency:<id>`).
    WebhookFailing,
    /// A witness has not cosigned the latest checkpoint for `witnesses.lag_alert_secs`, or
    /// refused it outright (scope `witness:<name>`): it is down, unreachable, or the log's
    /// checkpoint does not extend what it cosigned.
    WitnessLagging,
}

impl AlertKind {
    pub const ALL: [AlertKind; 7] = [
        AlertKind::UnusualVolume,
        AlertKind::VerificationFailed,
        AlertKind::EmergencyGrant,
        AlertKind::LowDiskSpace,
        AlertKind::TlsExpiring,
        AlertKind::WebhookFailing,
        AlertKind::WitnessLagging,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::UnusualVolume => "unusual-volume",
            AlertKind::VerificationFailed => "verification-failed",
            AlertKind::EmergencyGrant => "emergency-grant",
            AlertKind::LowDiskSpace => "low-disk-space",
            AlertKind::TlsExpiring => "tls-expiring",
            AlertKind::WebhookFailing => "webhook-failing",
            AlertKind::WitnessLagging => "witness-lagging",
        }
    }
}

const DAY_MS: i64 = 86_400_000;

/// Raises alerts and runs the volume check.
#[derive(Clone)]
pub struct Alerts {
    store: Store,
    clock: Arc<dyn Clock>,
    config: AlertConfig,
}

impl std::fmt::Debug for Alerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerts")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A local day: its label and its bounds in epoch milliseconds.
struct Day {
    label: String,
    start_ms: i64,
}

impl Alerts {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: AlertConfig) -> Self {
        Self { store, clock, config }
    }

    /// Where local days begin, as an offset from UTC in milliseconds (`day_offset_minutes`).
    pub fn day_offset_ms(&self) -> i64 {
        i64::from(self.config.day_offset_minutes) * 60_000
    }

    fn day_of(&self, ms: i64) -> Day {
        let offset = i64::from(self.config.day_offset_minutes) * 60_000;
        let day_no = (ms + offset).div_euclid(DAY_MS);
        let label = OffsetDateTime::from_unix_timestamp(day_no * 86_400)
            .map(|t| t.date().to_string())
            .unwrap_or_default();
        Day {
            label,
            start_ms: day_no * DAY_MS - offset,
        }
    }

    /// Stores an alert (once per kind, scope and local day) and logs it at `warn`. Returns
    /// whether it is new.
    pub async fn raise(&self, kind: AlertKind, scope: &str, detail: &str) -> Result<bool, StoreError> {
        let now = crate::store::to_ms(self.clock.now());
        let row = AlertRow {
            id: uuid::Uuid::new_v4().to_string(),
            kind: kind.as_str().to_owned(),
            scope: scope.to_owned(),
            day: self.day_of(now).label,
            raised_at_ms: now,
            detail: detail.to_owned(),
        };
        let new = self.store.insert_alert(&row).await?;
        if new {
            tracing::warn!(alert = kind.as_str(), scope, detail, "audit alert");
        }
        Ok(new)
    }

    /// Compares today's allowed disclosures per user and per agency with their thresholds and
    /// raises an alert for each one above. Returns how many new alerts were raised.
    pub async fn check_volume(&self) -> Result<usize, StoreError> {
        let now = crate::store::to_ms(self.clock.now());
        let today = self.day_of(now);
        let end = today.start_ms + DAY_MS;
        let days = i64::from(self.config.baseline_days.max(1));
        let base_start = today.start_ms - days * DAY_MS;
        let mut raised = 0;
        for (agency, user, n) in self.store.disclosures_per_user(today.start_ms, end).await? {
            if n <= self.config.user_daily_min {
                continue;
            }
            let before = self
                .store
                .disclosures_by(&agency, Some(&user), base_start, today.start_ms)
                .await?;
            if let Some(detail) = self.over(n, before, days, self.config.user_daily_min, &today.label) {
                raised += usize::from(
                    self.raise(AlertKind::UnusualVolume, &format!("user:{agency}/{user}"), &detail)
                        .await?,
                );
            }
        }
        for (agency, n) in self.store.disclosures_per_agency(today.start_ms, end).await? {
            if n <= self.config.agency_daily_min {
                continue;
            }
            let before = self
                .store
                .disclosures_by(&agency, None, base_start, today.start_ms)
                .await?;
            if let Some(detail) = self.over(n, before, days, self.config.agency_daily_min, &today.label) {
                raised += usize::from(
                    self.raise(AlertKind::UnusualVolume, &format!("agency:{agency}"), &detail)
                        .await?,
                );
            }
        }
        Ok(raised)
    }

    /// The explanation when `today` is above the threshold, else `None`.
    fn over(&self, today: u64, before: u64, days: i64, min: u64, label: &str) -> Option<String> {
        let days = u64::try_from(days).unwrap_or(1);
        // today > multiple × before / days, in integers.
        let above_usual = today.saturating_mul(days) > self.config.usual_multiple.saturating_mul(before);
        (today > min && above_usual).then(|| {
            format!(
                "{today} allowed disclosures on {label}; usual {before} in the previous {days} days \
                 (threshold: more than {min} and more than {} x the daily average)",
                self.config.usual_multiple
            )
        })
    }

    /// Runs the volume check every `check_interval_secs` until `tasks` are stopped or the
    /// store is closed.
    pub fn spawn(&self, tasks: &crate::tasks::BackgroundTasks) {
        let this = self.clone();
        let every = Duration::from_secs(self.config.check_interval_secs.max(1));
        let mut shutdown = tasks.shutdown();
        tasks.spawn("alert checks", async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = shutdown.requested() => break,
                }
                if this.store.is_closed() {
                    break;
                }
                if let Err(e) = this.check_volume().await {
                    tracing::warn!(error = %e, "volume check failed");
                }
            }
        });
    }
}
