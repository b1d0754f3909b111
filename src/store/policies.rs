//! Policy versions and proposals. A version is immutable; the head is the highest version. The
//! version number is assigned by the INSERT itself under the primary key, so two instances can
//! never both create the same version.
//!
//! Proposals, approvals and new versions take the [`Logged`] of their entry: they take effect
//! only after it. Only the first (seed) version, written at first start before anyone can act,
//! has no entry of its own.

use serde::Serialize;
use time::OffsetDateTime;

use super::{Engine, Store, StoreError, from_ms, to_ms};
use crate::audit::Logged;

#[derive(Debug, Clone, Serialize)]
pub struct PolicyVersion {
    pub version: i64,
    #[serde(skip)]
    pub model: String,
    /// Normalised policy.csv text. Not serialised: the version list reads no rule text, and
    /// `GET /v1/policy/versions/{n}` shows the rules once, as a list beside this row.
    #[serde(skip)]
    pub rules: String,
    /// `seed`, `apply` or `rollback`.
    pub kind: String,
    pub author: String,
    pub reason: String,
    pub proposal_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyProposal {
    pub id: String,
    pub base_version: i64,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub reason: String,
    pub author: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub approved_by: Option<String>,
    pub applied_version: Option<i64>,
}

type VersionRow = (i64, String, String, String, String, String, Option<String>, i64);
type ProposalRow = (
    String,
    i64,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
);

fn lines(s: &str) -> Vec<String> {
    s.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect()
}

impl Store {
    /// The highest version, if any.
    pub async fn policy_head(&self) -> Result<Option<i64>, StoreError> {
        let (v,): (Option<i64>,) = sqlx::query_as("SELECT MAX(version) FROM policy_versions")
            .fetch_one(&mut *self.conn().await?)
            .await?;
        Ok(v)
    }

    pub async fn policy_version(&self, version: i64) -> Result<Option<PolicyVersion>, StoreError> {
        let row: Option<VersionRow> = sqlx::query_as(
            "SELECT version, model, rules, kind, author, reason, proposal_id, created_at_ms FROM policy_versions WHERE version = $1",
        )
        .bind(version)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(|r| {
            Ok(PolicyVersion {
                version: r.0,
                model: r.1,
                rules: r.2,
                kind: r.3,
                author: r.4,
                reason: r.5,
                proposal_id: r.6,
                created_at: from_ms(r.7)?,
            })
        })
        .transpose()
    }

    /// Every version, newest first, without rule text.
    pub async fn policy_versions(&self) -> Result<Vec<PolicyVersion>, StoreError> {
        let rows: Vec<VersionRow> = sqlx::query_as(
            "SELECT version, '', '', kind, author, reason, proposal_id, created_at_ms FROM policy_versions ORDER BY version DESC",
        )
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(PolicyVersion {
                    version: r.0,
                    model: r.1,
                    rules: r.2,
                    kind: r.3,
                    author: r.4,
                    reason: r.5,
                    proposal_id: r.6,
                    created_at: from_ms(r.7)?,
                })
            })
            .collect()
    }

    /// Writes the seed version (from the policy files, at first start). If a version exists
    /// already, nothing is written and `Conflict("stale_policy_head")` returned.
    pub async fn seed_policy_version(
        &self,
        model: &str,
        rules: &str,
        author: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        self.insert_version(None, model, rules, "seed", author, reason, None, now)
            .await
    }

    /// Appends version `expected_head + 1` (named by the entry in `_logged`) after
    /// `expected_head` (optimistic concurrency: if another admin or instance got there first,
    /// nothing is written and `Conflict("stale_policy_head")` returned).
    #[expect(
        clippy::too_many_arguments,
        reason = "one column per argument: a row struct would only rename them"
    )]
    pub async fn append_policy_version(
        &self,
        expected_head: Option<i64>,
        model: &str,
        rules: &str,
        kind: &str,
        author: &str,
        reason: &str,
        proposal_id: Option<&str>,
        now: OffsetDateTime,
        _logged: &Logged,
    ) -> Result<i64, StoreError> {
        self.insert_version(expected_head, model, rules, kind, author, reason, proposal_id, now)
            .await
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one column per argument: a row struct would only rename them"
    )]
    async fn insert_version(
        &self,
        expected_head: Option<i64>,
        model: &str,
        rules: &str,
        kind: &str,
        author: &str,
        reason: &str,
        proposal_id: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let next = expected_head.unwrap_or(0) + 1;
        let mut tx = self.pool().begin().await?;
        if self.engine() == Engine::Postgres {
            sqlx::query("LOCK TABLE policy_versions IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO policy_versions (version, model, rules, kind, author, reason, proposal_id, created_at_ms) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE (SELECT COALESCE(MAX(version), 0) FROM policy_versions) = $9",
        )
        .bind(next)
        .bind(model.to_owned())
        .bind(rules.to_owned())
        .bind(kind.to_owned())
        .bind(author.to_owned())
        .bind(reason.to_owned())
        .bind(proposal_id.map(str::to_owned))
        .bind(to_ms(now))
        .bind(expected_head.unwrap_or(0))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != 1 {
            return Err(StoreError::Conflict("stale_policy_head"));
        }
        if let Some(p) = proposal_id {
            sqlx::query("UPDATE policy_proposals SET applied_version = $1 WHERE id = $2")
                .bind(next)
                .bind(p.to_owned())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(next)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one column per argument: a row struct would only rename them"
    )]
    pub async fn insert_proposal(
        &self,
        id: &str,
        base_version: i64,
        added: &[String],
        removed: &[String],
        reason: &str,
        author: &str,
        now: OffsetDateTime,
        _logged: &Logged,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO policy_proposals (id, base_version, added, removed, reason, author, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_owned())
        .bind(base_version)
        .bind(added.join("\n"))
        .bind(removed.join("\n"))
        .bind(reason.to_owned())
        .bind(author.to_owned())
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn proposal(&self, id: &str) -> Result<Option<PolicyProposal>, StoreError> {
        let row: Option<ProposalRow> = sqlx::query_as(
            "SELECT id, base_version, added, removed, reason, author, created_at_ms, approved_by, applied_version \
             FROM policy_proposals WHERE id = $1",
        )
        .bind(id.to_owned())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(|r| {
            Ok(PolicyProposal {
                id: r.0,
                base_version: r.1,
                added: lines(&r.2),
                removed: lines(&r.3),
                reason: r.4,
                author: r.5,
                created_at: from_ms(r.6)?,
                approved_by: r.7,
                applied_version: r.8,
            })
        })
        .transpose()
    }

    /// Proposals not yet applied, newest first, at most `limit`.
    pub async fn open_proposals(&self, limit: i64) -> Result<Vec<PolicyProposal>, StoreError> {
        let rows: Vec<ProposalRow> = sqlx::query_as(
            "SELECT id, base_version, added, removed, reason, author, created_at_ms, approved_by, applied_version \
             FROM policy_proposals WHERE applied_version IS NULL ORDER BY created_at_ms DESC, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(PolicyProposal {
                    id: r.0,
                    base_version: r.1,
                    added: lines(&r.2),
                    removed: lines(&r.3),
                    reason: r.4,
                    author: r.5,
                    created_at: from_ms(r.6)?,
                    approved_by: r.7,
                    applied_version: r.8,
                })
            })
            .collect()
    }

    /// Records the approval after its entry (`_logged`); the first approval stands.
    pub async fn approve_proposal(
        &self,
        id: &str,
        by: &str,
        now: OffsetDateTime,
        _logged: &Logged,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE policy_proposals SET approved_by = $1, approved_at_ms = $2 WHERE id = $3 AND approved_by IS NULL",
        )
        .bind(by.to_owned())
        .bind(to_ms(now))
        .bind(id.to_owned())
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// Disclosure entries with `from_ms <= at_ms < to_ms`, oldest first (for simulations).
    pub async fn disclosure_entries_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: i64,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT idx, entry FROM audit_entries WHERE kind = 'disclosure' AND at_ms >= $1 AND at_ms < $2 ORDER BY idx LIMIT $3",
        )
        .bind(from_ms)
        .bind(to_ms)
        .bind(limit)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|(i, e)| Ok((u64::try_from(i).map_err(|_| StoreError::Corrupt("index".into()))?, e)))
            .collect()
    }
}
