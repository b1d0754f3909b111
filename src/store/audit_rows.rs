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
    pub basis_ref: Option<String>,
    /// The meeting session named by the entry's basis, if any.
    pub session_ref: Option<String>,
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
    /// all rows are committed or none is. One multi-row INSERT computes the indexes itself
    /// (`MAX(idx) + 1 + position`), so on SQLite the transaction's first statement is already a
    /// write and holds the write lock from the start.
    pub async fn append_audit_batch(&self, rows: &[NewAuditRow]) -> Result<Vec<u64>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        const COLS: usize = 14;
        // Only generated `$n` placeholders and row positions are spliced into the text.
        let values: Vec<String> = (0..rows.len())
            .map(|i| {
                let params: Vec<String> = (1..=COLS).map(|c| format!("${}", i * COLS + c)).collect();
                format!("({i}, {})", params.join(", "))
            })
            .collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO audit_entries (idx, leaf_hash, entry, at_ms, kind, decision, reason, subject_pseudonym, \
             household_pseudonym, requester_agency, requester_user, owner_agency, basis, basis_ref, session_ref) \
             SELECT base.b + v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, \
             v.column9, v.column10, v.column11, v.column12, v.column13, v.column14, v.column15 \
             FROM (SELECT COALESCE(MAX(idx) + 1, 0) AS b FROM audit_entries) AS base, (VALUES {}) AS v \
             RETURNING idx",
            values.join(", ")
        ));
        let mut query = sqlx::query_as::<_, (i64,)>(sql);
        for r in rows {
            query = query
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
                .bind(r.basis_ref.clone())
                .bind(r.session_ref.clone());
        }
        let returned = match self.engine() {
            // One statement is its own transaction: SQLite takes the write lock before the
            // statement reads `MAX(idx)`, and the statement's implicit commit (a WAL fsync
            // under `synchronous=FULL`) happens before the last step returns, so an error there
            // fails the fetch. No BEGIN and COMMIT round trips on the sequencer's critical path.
            Engine::Sqlite => query.fetch_all(&mut *self.conn().await?).await?,
            Engine::Postgres => {
                let mut tx = self.pool().begin().await?;
                // One sequencer at a time across every hub instance; readers are not blocked.
                sqlx::query("LOCK TABLE audit_entries IN EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
                let returned = query.fetch_all(&mut *tx).await?;
                tx.commit().await?;
                returned
            }
        };
        if returned.len() != rows.len() {
            return Err(StoreError::Corrupt("insert returned a wrong number of indexes".into()));
        }
        let first = returned
            .iter()
            .map(|(i,)| *i)
            .min()
            .ok_or_else(|| StoreError::Corrupt("no index returned".into()))?;
        let first = index_of(first)?;
        Ok((first..first + rows.len() as u64).collect())
    }

    /// Number of entries in the log.
    pub async fn audit_size(&self) -> Result<u64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_entries")
            .fetch_one(&mut *self.conn().await?)
            .await?;
        index_of(n)
    }

    /// Entries with `from <= index`, in index order, at most `limit`.
    pub async fn audit_entries(&self, from: u64, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let from = i64::try_from(from).map_err(|_| StoreError::Corrupt("index out of range".into()))?;
        let rows: Vec<(i64, Vec<u8>, Vec<u8>)> =
            sqlx::query_as("SELECT idx, leaf_hash, entry FROM audit_entries WHERE idx >= $1 ORDER BY idx LIMIT $2")
                .bind(from)
                .bind(i64::from(limit))
                .fetch_all(&mut *self.conn().await?)
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
