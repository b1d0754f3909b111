//! Witness cosignatures on the log's checkpoints and each witness's standing (migration
//! 0014_witness). Cosignatures are operational metadata about public checkpoints (no personal
//! data, no decision), so they are not themselves log entries: logging each would grow the log
//! and call for a new checkpoint, forever.

use super::audit_tree::{to_i64, to_u64};
use super::{Store, StoreError};

/// Where a witness stands, as the hub knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessStatus {
    pub witness: String,
    pub known_size: u64,
    pub cosigned_size: Option<u64>,
    pub cosigned_at_ms: Option<i64>,
    pub last_attempt_at_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// One stored cosignature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCosignature {
    pub witness: String,
    pub vkey: String,
    pub size: u64,
    pub line: String,
}

type StatusRow = (String, i64, Option<i64>, Option<i64>, Option<i64>, Option<String>);

fn status_of(r: StatusRow) -> Result<WitnessStatus, StoreError> {
    Ok(WitnessStatus {
        witness: r.0,
        known_size: to_u64(r.1)?,
        cosigned_size: r.2.map(to_u64).transpose()?,
        cosigned_at_ms: r.3,
        last_attempt_at_ms: r.4,
        last_error: r.5,
    })
}

impl Store {
    /// Every witness's status, by name.
    pub async fn witness_statuses(&self) -> Result<Vec<WitnessStatus>, StoreError> {
        let rows: Vec<StatusRow> = sqlx::query_as(
            "SELECT witness, known_size, cosigned_size, cosigned_at_ms, last_attempt_at_ms, last_error \
             FROM witness_status ORDER BY witness",
        )
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter().map(status_of).collect()
    }

    pub async fn witness_status(&self, witness: &str) -> Result<Option<WitnessStatus>, StoreError> {
        let row: Option<StatusRow> = sqlx::query_as(
            "SELECT witness, known_size, cosigned_size, cosigned_at_ms, last_attempt_at_ms, last_error \
             FROM witness_status WHERE witness = $1",
        )
        .bind(witness.to_owned())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(status_of).transpose()
    }

    /// Records a cosignature on the checkpoint of `size` and the witness's new standing, in one
    /// transaction.
    pub async fn record_cosignature(
        &self,
        c: &StoredCosignature,
        cosigned_at: u64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO witness_cosignatures (witness, vkey, size, line, cosigned_at, received_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (witness, size) DO NOTHING",
        )
        .bind(c.witness.clone())
        .bind(c.vkey.clone())
        .bind(to_i64(c.size)?)
        .bind(c.line.clone())
        .bind(to_i64(cosigned_at)?)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO witness_status (witness, known_size, cosigned_size, cosigned_at_ms, last_attempt_at_ms, last_error) \
             VALUES ($1, $2, $2, $3, $3, NULL) ON CONFLICT (witness) DO UPDATE SET known_size = $2, \
             cosigned_size = $2, cosigned_at_ms = $3, last_attempt_at_ms = $3, last_error = NULL",
        )
        .bind(c.witness.clone())
        .bind(to_i64(c.size)?)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed submission (and, from a 409, the size the witness holds).
    pub async fn record_witness_failure(
        &self,
        witness: &str,
        known_size: Option<u64>,
        error: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let known = known_size.map(to_i64).transpose()?;
        sqlx::query(
            "INSERT INTO witness_status (witness, known_size, last_attempt_at_ms, last_error) \
             VALUES ($1, COALESCE($2, 0), $3, $4) ON CONFLICT (witness) DO UPDATE SET \
             known_size = COALESCE($2, witness_status.known_size), last_attempt_at_ms = $3, last_error = $4",
        )
        .bind(witness.to_owned())
        .bind(known)
        .bind(now_ms)
        .bind(error.to_owned())
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// The cosignatures on the checkpoint of `size`.
    pub async fn cosignatures_at(&self, size: u64) -> Result<Vec<StoredCosignature>, StoreError> {
        let rows: Vec<(String, String, i64, String)> = sqlx::query_as(
            "SELECT witness, vkey, size, line FROM witness_cosignatures WHERE size = $1 ORDER BY witness",
        )
        .bind(to_i64(size)?)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|(witness, vkey, size, line)| {
                Ok(StoredCosignature {
                    witness,
                    vkey,
                    size: to_u64(size)?,
                    line,
                })
            })
            .collect()
    }

    /// The smallest stored checkpoint larger than `size`.
    pub async fn checkpoint_after(&self, size: u64) -> Result<Option<super::StoredCheckpoint>, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT size FROM audit_checkpoints WHERE size > $1 ORDER BY size LIMIT 1")
                .bind(to_i64(size)?)
                .fetch_optional(&mut *self.conn().await?)
                .await?;
        match row {
            Some((s,)) => self.checkpoint_at(to_u64(s)?).await,
            None => Ok(None),
        }
    }

    /// Checkpoint sizes holding at least `k` cosignatures, largest first (at most `limit`).
    pub async fn cosigned_sizes(&self, k: usize, limit: u32) -> Result<Vec<u64>, StoreError> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT size FROM witness_cosignatures GROUP BY size HAVING COUNT(*) >= $1 ORDER BY size DESC LIMIT $2",
        )
        .bind(i64::try_from(k).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter().map(|(s,)| to_u64(s)).collect()
    }
}
