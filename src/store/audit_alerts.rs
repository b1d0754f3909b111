//! Alerts for privacy officers, and the disclosure counts the volume check needs.

use super::{Store, StoreError};

/// One stored alert.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AlertRow {
    pub id: String,
    pub kind: String,
    /// What the alert is about: `user:<agency>/<user>`, `agency:<id>` (both shown to the officers
    /// whose scope holds that agency), `checkpointer`, `proof-check`, `audit-verify`, … (other
    /// scopes are shown to ward-wide officers only, except `verification-failed` alerts, which
    /// every officer sees).
    pub scope: String,
    /// The local day it belongs to (one alert per kind, scope and day).
    pub day: String,
    pub raised_at_ms: i64,
    pub detail: String,
}

type Row = (String, String, String, String, i64, String);

impl Store {
    /// Stores an alert; `false` when one of that kind, scope and day exists already.
    pub async fn insert_alert(&self, a: &AlertRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO audit_alerts (id, kind, scope, day, raised_at_ms, detail) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (kind, scope, day) DO NOTHING",
        )
        .bind(a.id.clone())
        .bind(a.kind.clone())
        .bind(a.scope.clone())
        .bind(a.day.clone())
        .bind(a.raised_at_ms)
        .bind(a.detail.clone())
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Alerts in the reader's log scope raised at or after `since_ms`, newest first. An officer
    /// scoped to an organ sees the alerts about its agencies and their users (`agency:<id>`,
    /// `user:<id>/…`) and every alert that the log itself failed verification, which concerns
    /// every entry.
    pub async fn alerts(
        &self,
        scope: &crate::policy::access::LogScope,
        since_ms: i64,
        limit: u32,
    ) -> Result<Vec<AlertRow>, StoreError> {
        let mut scoped = String::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(agencies) = scope.agencies() {
            let mut alternatives = vec![
                "kind = 'verification-failed'".to_owned(),
                "kind = 'witness-lagging'".to_owned(),
            ];
            for a in agencies {
                binds.push(format!("agency:{a}"));
                alternatives.push(format!("scope = ${}", binds.len() + 2));
                let escaped = a.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                binds.push(format!("user:{escaped}/%"));
                alternatives.push(format!("scope LIKE ${} ESCAPE '\\'", binds.len() + 2));
            }
            scoped = format!(" AND ({})", alternatives.join(" OR "));
        }
        // Only generated placeholders go into the text.
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id, kind, scope, day, raised_at_ms, detail FROM audit_alerts WHERE raised_at_ms >= $1{scoped} \
             ORDER BY raised_at_ms DESC, id LIMIT $2"
        ));
        let mut q = sqlx::query_as::<_, Row>(sql).bind(since_ms).bind(i64::from(limit));
        for b in binds {
            q = q.bind(b);
        }
        let rows: Vec<Row> = q.fetch_all(&mut *self.conn().await?).await?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, scope, day, raised_at_ms, detail)| AlertRow {
                id,
                kind,
                scope,
                day,
                raised_at_ms,
                detail,
            })
            .collect())
    }

    /// Allowed disclosures per (requesting agency, user) with `from_ms <= at < to_ms`.
    pub async fn disclosures_per_user(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(String, String, u64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT requester_agency, requester_user, COUNT(*) FROM audit_entries \
             WHERE kind = 'disclosure' AND decision = 'allowed' AND at_ms >= $1 AND at_ms < $2 \
             AND requester_agency IS NOT NULL AND requester_user IS NOT NULL \
             GROUP BY requester_agency, requester_user",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(a, u, n)| (a, u, u64::try_from(n).unwrap_or(0)))
            .collect())
    }

    /// Allowed disclosures per requesting agency with `from_ms <= at < to_ms`.
    pub async fn disclosures_per_agency(&self, from_ms: i64, to_ms: i64) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT requester_agency, COUNT(*) FROM audit_entries \
             WHERE kind = 'disclosure' AND decision = 'allowed' AND at_ms >= $1 AND at_ms < $2 \
             AND requester_agency IS NOT NULL GROUP BY requester_agency",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(a, n)| (a, u64::try_from(n).unwrap_or(0)))
            .collect())
    }

    /// Allowed disclosures by one agency (and one user of it, if given) in a period.
    pub async fn disclosures_by(
        &self,
        agency: &str,
        user: Option<&str>,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<u64, StoreError> {
        let (n,): (i64,) = match user {
            Some(user) => {
                sqlx::query_as(
                    "SELECT COUNT(*) FROM audit_entries WHERE kind = 'disclosure' AND decision = 'allowed' \
                     AND requester_agency = $1 AND requester_user = $2 AND at_ms >= $3 AND at_ms < $4",
                )
                .bind(agency.to_owned())
                .bind(user.to_owned())
                .bind(from_ms)
                .bind(to_ms)
                .fetch_one(&mut *self.conn().await?)
                .await?
            }
            None => {
                sqlx::query_as(
                    "SELECT COUNT(*) FROM audit_entries WHERE kind = 'disclosure' AND decision = 'allowed' \
                     AND requester_agency = $1 AND at_ms >= $2 AND at_ms < $3",
                )
                .bind(agency.to_owned())
                .bind(from_ms)
                .bind(to_ms)
                .fetch_one(&mut *self.conn().await?)
                .await?
            }
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
