//! The Merkle tree over the disclosure log, as stored: leaf hashes (in `audit_entries`), roots of
//! complete 256^level subtrees (`audit_subtrees`, a cache the proofs read) and signed checkpoints
//! (`audit_checkpoints`). Also the checkpoint round's lock: with several hub instances on
//! PostgreSQL exactly one signs at a time (a transaction-scoped advisory lock).

use sqlx::{Any, Transaction};

use super::{Engine, Store, StoreError};
use crate::audit::Logged;
use crate::audit::merkle::Hash;

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The signed note, exactly as signed.
    pub note: String,
    pub key_name: String,
    /// Hex key id of the signing key.
    pub key_id: String,
    pub signed_at_ms: i64,
}

/// The log-inconsistency latch: verification failed, and until an operator clears it the hub
/// serves no proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInconsistency {
    pub detected_at_ms: i64,
    /// `checkpointer`, `proof-check` or `audit-verify`.
    pub source: String,
    pub detail: String,
}

/// Advisory-lock key of the checkpoint round ("tsunagi" in ASCII).
const ROUND_LOCK_KEY: i64 = 0x0074_7375_6e61_6769;

/// A job that one hub instance at a time runs, on a deployment of several instances on one
/// PostgreSQL: each has its own advisory-lock key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclusive {
    /// Signing a checkpoint.
    CheckpointRound,
    /// Looking for overdue monitoring rounds and telling the coordinator (one entry per notice).
    OverdueCheck,
}

impl Exclusive {
    fn key(self) -> i64 {
        match self {
            Exclusive::CheckpointRound => ROUND_LOCK_KEY,
            // "overdue" in ASCII.
            Exclusive::OverdueCheck => 0x006f_7665_7264_7565,
        }
    }
}

pub(crate) fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("log position {v} out of range")))
}

pub(crate) fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative log position {v}")))
}

pub(crate) fn to_hash(bytes: &[u8], what: &str) -> Result<Hash, StoreError> {
    Hash::try_from(bytes).map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

type CheckpointRow = (i64, Vec<u8>, String, String, String, i64);

fn checkpoint_of(r: CheckpointRow) -> Result<StoredCheckpoint, StoreError> {
    Ok(StoredCheckpoint {
        size: to_u64(r.0)?,
        root: to_hash(&r.1, "checkpoint root")?,
        note: r.2,
        key_name: r.3,
        key_id: r.4,
        signed_at_ms: r.5,
    })
}

/// Held while one instance makes a checkpoint (or runs another [`Exclusive`] job). On
/// PostgreSQL it is a transaction holding
/// `pg_try_advisory_xact_lock`, released on commit, rollback or a dropped connection, so a
/// crashed instance never keeps it. On SQLite (one process per database file) there is nothing
/// to hold: the caller serialises rounds within the process.
pub struct RoundGuard {
    tx: Option<Transaction<'static, Any>>,
}

impl std::fmt::Debug for RoundGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoundGuard")
            .field("locked", &self.tx.is_some())
            .finish()
    }
}

impl RoundGuard {
    /// Ends the round without a checkpoint (releases the lock at once).
    pub async fn release(mut self) -> Result<(), StoreError> {
        if let Some(tx) = self.tx.take() {
            tx.rollback().await?;
        }
        Ok(())
    }

    /// Stores a new checkpoint and ends the round; `false` when one of that size was stored
    /// meanwhile (SQLite databases shared by two processes have no round lock).
    pub async fn insert_checkpoint(mut self, cp: &StoredCheckpoint) -> Result<bool, StoreError> {
        let q = sqlx::query(
            "INSERT INTO audit_checkpoints (size, root, note, key_name, key_id, signed_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (size) DO NOTHING",
        )
        .bind(to_i64(cp.size)?)
        .bind(cp.root.to_vec())
        .bind(cp.note.clone())
        .bind(cp.key_name.clone())
        .bind(cp.key_id.clone())
        .bind(cp.signed_at_ms);
        match self.tx.take() {
            Some(mut tx) => {
                let done = q.execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }
            None => Err(StoreError::Conflict("checkpoint_round_not_held")),
        }
    }
}

impl Store {
    /// Starts a checkpoint round, or `None` when another instance is in one.
    pub async fn begin_checkpoint_round(&self) -> Result<Option<RoundGuard>, StoreError> {
        self.begin_exclusive(Exclusive::CheckpointRound).await
    }

    /// Starts `job` for this instance alone, or `None` when another instance is running it
    /// (PostgreSQL; on SQLite, one process per file, it always starts). Held until the guard is
    /// released or dropped.
    pub async fn begin_exclusive(&self, job: Exclusive) -> Result<Option<RoundGuard>, StoreError> {
        let mut tx = self.pool().begin().await?;
        if self.engine() == Engine::Postgres {
            let (got,): (i32,) = sqlx::query_as("SELECT CASE WHEN pg_try_advisory_xact_lock($1) THEN 1 ELSE 0 END")
                .bind(job.key())
                .fetch_one(&mut *tx)
                .await?;
            if got != 1 {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        Ok(Some(RoundGuard { tx: Some(tx) }))
    }

    /// One past the highest index in the log (0 when empty). Differs from the row count only
    /// when rows are missing, which verification reports.
    pub async fn audit_end(&self) -> Result<u64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries")
            .fetch_one(&mut *self.conn().await?)
            .await?;
        to_u64(n)
    }

    /// Leaf hashes of entries `from..to`; fails unless every index in the range is present.
    pub async fn audit_leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT idx, leaf_hash FROM audit_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx")
                .bind(to_i64(from)?)
                .bind(to_i64(to)?)
                .fetch_all(&mut *self.conn().await?)
                .await?;
        contiguous(rows, from, to, "leaf hash")
    }

    /// Stored subtree hashes at `level` for indexes `from..to`, only as far as they are
    /// contiguous from `from` (a cache: missing ones are computed by the caller).
    pub async fn audit_subtree_hashes(&self, level: u32, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT idx, hash FROM audit_subtrees WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(i64::from(level))
        .bind(to_i64(from)?)
        .bind(to_i64(to)?)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (i, (idx, hash)) in rows.into_iter().enumerate() {
            if to_u64(idx)? != from + i as u64 {
                break;
            }
            out.push(to_hash(&hash, "subtree hash")?);
        }
        Ok(out)
    }

    /// How many subtrees of `level` are stored contiguously from index 0 (their highest index + 1).
    pub async fn audit_subtree_count(&self, level: u32) -> Result<u64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_subtrees WHERE level = $1")
            .bind(i64::from(level))
            .fetch_one(&mut *self.conn().await?)
            .await?;
        to_u64(n)
    }

    /// Every stored subtree hash at `level`, in index order (for verification).
    pub async fn audit_subtrees_at(&self, level: u32) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT idx, hash FROM audit_subtrees WHERE level = $1 ORDER BY idx")
                .bind(i64::from(level))
                .fetch_all(&mut *self.conn().await?)
                .await?;
        rows.into_iter().map(|(i, h)| Ok((to_u64(i)?, h))).collect()
    }

    /// Stores subtree hashes `first..first + hashes.len()` at `level`; existing ones are kept.
    pub async fn insert_audit_subtrees(&self, level: u32, first: u64, hashes: &[Hash]) -> Result<(), StoreError> {
        for (chunk_no, chunk) in hashes.chunks(200).enumerate() {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${}, ${})", i * 3 + 1, i * 3 + 2, i * 3 + 3))
                .collect();
            // Only generated placeholders are spliced into the text.
            let sql = sqlx::AssertSqlSafe(format!(
                "INSERT INTO audit_subtrees (level, idx, hash) VALUES {} ON CONFLICT (level, idx) DO NOTHING",
                values.join(", ")
            ));
            let mut q = sqlx::query(sql);
            let base = first + (chunk_no * 200) as u64;
            for (i, h) in chunk.iter().enumerate() {
                q = q.bind(i64::from(level)).bind(to_i64(base + i as u64)?).bind(h.to_vec());
            }
            q.execute(&mut *self.conn().await?).await?;
        }
        Ok(())
    }

    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row: Option<CheckpointRow> = sqlx::query_as(
            "SELECT size, root, note, key_name, key_id, signed_at_ms FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
        )
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(checkpoint_of).transpose()
    }

    /// The stored checkpoint of exactly `size` entries (none for a size the store cannot hold).
    pub async fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        let Ok(size) = i64::try_from(size) else {
            return Ok(None);
        };
        let row: Option<CheckpointRow> = sqlx::query_as(
            "SELECT size, root, note, key_name, key_id, signed_at_ms FROM audit_checkpoints WHERE size = $1",
        )
        .bind(size)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(checkpoint_of).transpose()
    }

    /// Every stored checkpoint, smallest first.
    pub async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let rows: Vec<CheckpointRow> = sqlx::query_as(
            "SELECT size, root, note, key_name, key_id, signed_at_ms FROM audit_checkpoints ORDER BY size",
        )
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter().map(checkpoint_of).collect()
    }

    /// Sets the log-inconsistency latch, keeping the first detection if it is set already.
    /// Returns whether it was newly set.
    pub async fn latch_log_inconsistency(&self, at_ms: i64, source: &str, detail: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO audit_inconsistency (id, detected_at_ms, source, detail) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(at_ms)
        .bind(source.to_owned())
        .bind(detail.to_owned())
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The latch, when set.
    pub async fn log_inconsistency(&self) -> Result<Option<LogInconsistency>, StoreError> {
        let row: Option<(i64, String, String)> =
            sqlx::query_as("SELECT detected_at_ms, source, detail FROM audit_inconsistency WHERE id = 1")
                .fetch_optional(&mut *self.conn().await?)
                .await?;
        Ok(row.map(|(detected_at_ms, source, detail)| LogInconsistency {
            detected_at_ms,
            source,
            detail,
        }))
    }

    /// Clears the latch; the operator's clearing is logged first (hence the [`Logged`]).
    pub async fn clear_log_inconsistency(&self, _logged: &Logged) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM audit_inconsistency WHERE id = 1")
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether the pool has been closed (background tasks stop then).
    pub fn is_closed(&self) -> bool {
        self.pool().is_closed()
    }
}

fn contiguous(rows: Vec<(i64, Vec<u8>)>, from: u64, to: u64, what: &str) -> Result<Vec<Hash>, StoreError> {
    let want = to.saturating_sub(from);
    if rows.len() as u64 != want {
        return Err(StoreError::Corrupt(format!(
            "log entries {from}..{to}: {} of {want} present",
            rows.len()
        )));
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, (idx, h))| {
            if to_u64(idx)? != from + i as u64 {
                return Err(StoreError::Corrupt(format!("log entry {} is missing", from + i as u64)));
            }
            to_hash(&h, what)
        })
        .collect()
}
