//! Rows of the disclosure log. Appends come only from the audit sequencer, in batches, inside one
//! transaction; the index of each row is assigned inside that transaction, under a lock that
//! makes one writer at a time (PostgreSQL: an exclusive table lock, which also serialises several
//! hub instances; SQLite: the database write lock), so indexes never collide or skip.

use super::{Engine, Store, StoreError};

/// A log entry ready to be written. `entry` holds the exact bytes that `leaf_hash` covers.
#[derive(Debug, Clone)]
pub struct NewAuditRow {
    pub leaf_hash: [u8; 32],
    pub entry: Vec<u8>,
    pub at_ms: i64,
    pub kind: &'static str,
    pub decision: &'static str,
    pub reason: Option<String>,
    pub subject_pseudonym: Option<String>,
    pub household_pseudonym: Option<String>,
    pub requester_agency: Option<String>,
    pub requester_user: Option<String>,
    pub owner_agency: Option<String>,
    pub basis: Option<String>,
}

/// A stored log entry as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub index: u64,
    pub leaf_hash: Vec<u8>,
    pub entry: Vec<u8>,
}

fn index_of(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative log index {v}")))
}

impl Store {
    /// Appends the rows in order in one durable transaction and returns their indexes. Either
    /// all rows are committed or none is.
    pub async fn append_audit_batch(&self, rows: &[NewAuditRow]) -> Result<Vec<u64>, StoreError> {
        let mut tx = self.pool().begin().await?;
        if self.engine() == Engine::Postgres {
            // One sequencer at a time across every hub instance; readers are not blocked.
            sqlx::query("LOCK TABLE audit_entries IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let mut indexes = Vec::with_capacity(rows.len());
        for r in rows {
            // The index is computed by the INSERT itself, so on SQLite the transaction's first
            // statement is already a write and takes the write lock at once.
            let (idx,): (i64,) = sqlx::query_as(
                "INSERT INTO audit_entries (idx, leaf_hash, entry, at_ms, kind, decision, reason, subject_pseudonym, \
                 household_pseudonym, requester_agency, requester_user, owner_agency, basis) \
                 SELECT COALESCE(MAX(idx) + 1, 0), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM audit_entries \
                 RETURNING idx",
            )
            .bind(r.leaf_hash.to_vec())
            .bind(r.entry.clone())
            .bind(r.at_ms)
            .bind(r.kind)
            .bind(r.decision)
            .bind(r.reason.clone())
            .bind(r.subject_pseudonym.clone())
            .bind(r.household_pseudonym.clone())
            .bind(r.requester_agency.clone())
            .bind(r.requester_user.clone())
            .bind(r.owner_agency.clone())
            .bind(r.basis.clone())
            .fetch_one(&mut *tx)
            .await?;
            indexes.push(index_of(idx)?);
        }
        tx.commit().await?;
        Ok(indexes)
    }

    /// Number of entries in the log.
    pub async fn audit_size(&self) -> Result<u64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_entries")
            .fetch_one(self.pool())
            .await?;
        index_of(n)
    }

    /// Entries with `from <= index`, in index order, at most `limit`.
    pub async fn audit_entries(&self, from: u64, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let from =
            i64::try_from(from).map_err(|_| StoreError::Corrupt("index out of range".into()))?;
        let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT idx, leaf_hash, entry FROM audit_entries WHERE idx >= $1 ORDER BY idx LIMIT $2",
        )
        .bind(from)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(i, leaf_hash, entry)| {
                Ok(AuditRow {
                    index: index_of(i)?,
                    leaf_hash,
                    entry,
                })
            })
            .collect()
    }
}
