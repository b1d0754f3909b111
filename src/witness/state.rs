//! The witness's durable state and the `add-checkpoint` rules.
//!
//! One row per known log: the latest checkpoint it cosigned (size, root, the note). A request is
//! checked and the new row written under one lock and one SQLite transaction (`synchronous =
//! FULL`) before the cosignature is returned, so two racing requests can never roll a log back
//! (the race the spec warns about). Correctly signed checkpoints that were refused (a stale size
//! with another root, a consistency proof that does not hold) are kept in `evidence`: they are
//! the log's own signature on a fork.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::config::KnownLogs;
use super::protocol::AddCheckpoint;
use crate::audit::checkpoint::{Checkpoint, NoteError, open_checkpoint};
use crate::audit::cosignature::{Cosigner, split_note};
use crate::audit::merkle::{self, Hash};

/// Why a checkpoint was not cosigned, with the HTTP status the spec gives it.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("unknown log origin")]
    UnknownOrigin,
    #[error("no signature from the log's keys verifies: {0}")]
    BadSignature(NoteError),
    #[error("the old size is larger than the checkpoint's size")]
    OldSizeTooLarge,
    /// The old size is not the size this witness last cosigned (`size`).
    #[error("the witness's latest cosigned size is {size}")]
    StaleOldSize { size: u64 },
    #[error("same size as the cosigned checkpoint, but another root hash")]
    RootMismatch,
    #[error("the consistency proof does not verify: {0}")]
    BadProof(String),
    #[error("witness storage: {0}")]
    Storage(#[from] sqlx::Error),
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::OldSizeTooLarge => 400,
            Refusal::BadSignature(_) => 403,
            Refusal::UnknownOrigin => 404,
            Refusal::StaleOldSize { .. } | Refusal::RootMismatch => 409,
            Refusal::BadProof(_) => 422,
            Refusal::Storage(_) => 500,
        }
    }
}

/// The latest cosigned checkpoint of one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    pub size: u64,
    pub root: Hash,
    pub note: String,
}

/// A witness: its key, its logs and its state.
pub struct Witness {
    pool: SqlitePool,
    logs: KnownLogs,
    cosigner: Cosigner,
    /// Check-and-persist is one critical section per witness process.
    lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("cosigner", &self.cosigner)
            .field("logs", &self.logs.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn to_i64(v: u64) -> Result<i64, Refusal> {
    i64::try_from(v).map_err(|_| Refusal::Malformed("tree size out of range".into()))
}

impl Witness {
    /// Opens (creating if needed) the state file at `db`.
    pub async fn open(db: &Path, cosigner: Cosigner, logs: KnownLogs) -> anyhow::Result<Self> {
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS witness_logs (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, \
             root BLOB NOT NULL, note TEXT NOT NULL, cosigned_at INTEGER NOT NULL)",
        )
        .execute(&pool)
        .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS witness_evidence (id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, \
             received_at INTEGER NOT NULL, reason TEXT NOT NULL, request TEXT NOT NULL)",
        )
        .execute(&pool)
        .await?;
        Ok(Self {
            pool,
            logs,
            cosigner,
            lock: tokio::sync::Mutex::new(()),
        })
    }

    pub fn cosigner(&self) -> &Cosigner {
        &self.cosigner
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The latest checkpoint cosigned for `origin`.
    pub async fn latest(&self, origin: &str) -> Result<Option<Latest>, sqlx::Error> {
        let row: Option<(i64, Vec<u8>, String)> =
            sqlx::query_as("SELECT size, root, note FROM witness_logs WHERE origin = $1")
                .bind(origin)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(size, root, note)| {
            Some(Latest {
                size: u64::try_from(size).ok()?,
                root: Hash::try_from(root.as_slice()).ok()?,
                note,
            })
        }))
    }

    /// How many refused, correctly signed checkpoints were kept for `origin`.
    pub async fn evidence_count(&self, origin: &str) -> Result<u64, sqlx::Error> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM witness_evidence WHERE origin = $1")
            .bind(origin)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Handles one `add-checkpoint` body at `now` (seconds since the epoch): the cosignature
    /// line, or why not.
    pub async fn add_checkpoint(&self, body: &str, now: u64) -> Result<String, Refusal> {
        let req = AddCheckpoint::parse(body).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let (text, _) = split_note(&req.checkpoint).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let claimed = Checkpoint::parse_body(text).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let keys = self.logs.get(&claimed.origin).ok_or(Refusal::UnknownOrigin)?;
        let cp = open_checkpoint(&req.checkpoint, keys).map_err(Refusal::BadSignature)?;
        if req.old_size > cp.size {
            return Err(Refusal::OldSizeTooLarge);
        }
        let _one = self.lock.lock().await;
        let mut tx = self.pool.begin().await?;
        let row: Option<(i64, Vec<u8>)> = sqlx::query_as("SELECT size, root FROM witness_logs WHERE origin = $1")
            .bind(&cp.origin)
            .fetch_optional(&mut *tx)
            .await?;
        let stored = row.and_then(|(s, r)| Some((u64::try_from(s).ok()?, Hash::try_from(r.as_slice()).ok()?)));
        let checked = match stored {
            None if req.old_size != 0 => Err(Refusal::StaleOldSize { size: 0 }),
            None if !req.proof.is_empty() => Err(Refusal::BadProof("the proof must be empty for old size 0".into())),
            None => Ok(()),
            Some((size, _)) if size != req.old_size => Err(Refusal::StaleOldSize { size }),
            Some((size, root)) if size == cp.size => {
                if root == cp.root && req.proof.is_empty() {
                    Ok(())
                } else if root != cp.root {
                    Err(Refusal::RootMismatch)
                } else {
                    Err(Refusal::BadProof(
                        "the proof must be empty for an unchanged size".into(),
                    ))
                }
            }
            Some((size, root)) => merkle::verify_consistency(size, cp.size, &root, &cp.root, &req.proof)
                .map_err(|e| Refusal::BadProof(e.to_string())),
        };
        if let Err(refusal) = checked {
            // A correctly signed checkpoint that does not extend what was cosigned is evidence.
            if matches!(refusal, Refusal::RootMismatch | Refusal::BadProof(_)) {
                // Once per distinct request: a log that keeps resubmitting its fork adds nothing.
                sqlx::query(
                    "INSERT INTO witness_evidence (origin, received_at, reason, request) SELECT $1, $2, $3, $4 \
                     WHERE NOT EXISTS (SELECT 1 FROM witness_evidence WHERE origin = $1 AND request = $4)",
                )
                .bind(&cp.origin)
                .bind(to_i64(now)?)
                .bind(refusal.to_string())
                .bind(body)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
            return Err(refusal);
        }
        let line = self
            .cosigner
            .cosign(text, now)
            .map_err(|e| Refusal::Malformed(e.to_string()))?;
        sqlx::query(
            "INSERT INTO witness_logs (origin, size, root, note, cosigned_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note, \
             cosigned_at = excluded.cosigned_at",
        )
        .bind(&cp.origin)
        .bind(to_i64(cp.size)?)
        .bind(cp.root.to_vec())
        .bind(crate::audit::cosignature::with_lines(
            &req.checkpoint,
            std::slice::from_ref(&line),
        ))
        .bind(to_i64(now)?)
        .execute(&mut *tx)
        .await?;
        // Persisted before the cosignature is returned.
        tx.commit().await?;
        Ok(line)
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
