//! Persistence. One `Store` over sqlx's `Any` driver serves both engines: SQLite (the embedded
//! default: WAL, `synchronous=FULL`) and PostgreSQL (for several instances). The SQL is written
//! once with `$n` placeholders and the portable types (TEXT, 64-bit integers, bytes); what
//! differs per engine — migrations, connection pragmas, the audit sequencer's lock — is chosen by
//! [`Engine`]. Record content never touches this layer in plaintext: it is sealed with the
//! subject's data key before it is written and opened only with an audit-issued release.

mod audit_alerts;
mod audit_rows;
mod audit_scan;
mod audit_search;
mod audit_tree;
mod bases;
mod conn;
mod consents;
mod console_oidc;
mod console_sessions;
mod meetings;
mod policies;
mod records;
mod subjects;

pub use audit_alerts::AlertRow;
pub use audit_rows::{AuditRow, NewAuditRow};
pub use audit_scan::{ScanPage, ScanRow};
pub use audit_search::{AuditFilter, FoundEntry};
pub use audit_tree::{LogInconsistency, RoundGuard, StoredCheckpoint};
pub use bases::{EmergencyGrant, LegalReport, Notification};
pub use console_oidc::PendingOidcLogin;
pub use console_sessions::ConsoleSessionRow;
pub use meetings::{
    AgendaItem, Body, FollowUp, InfoAnswer, InfoRequest, NewBody, NewFollowUp, NewInfoRequest, Participation,
    RosterEntry, Session,
};
pub use policies::{PolicyProposal, PolicyVersion};
pub use records::{DisclosedSection, NewRecord, NewSection, SealedSections, SectionMeta};
pub use subjects::{Agency, OrganKind, SubjectRow};

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};
use time::OffsetDateTime;

use crate::crypto::{CryptoError, DataKey, Kek, WrappedKey};
use crate::domain::SubjectId;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cryptographic failure: {0}")]
    Crypto(#[from] CryptoError),
    /// A stored value could not be read back (a broken invariant, never user input).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported database url (use sqlite:// or postgres://)")]
    UnsupportedUrl,
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("not found: {0}")]
    NotFound(&'static str),
}

/// The hub's persistent state.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// SQLite: connections lent out one statement at a time (see [`conn`]).
    lent: Arc<conn::Lent>,
    engine: Engine,
    /// Wraps and unwraps per-subject data keys. Shared, never copied out.
    kek: Arc<Kek>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`). For SQLite the file and its
    /// directory are created if missing.
    pub async fn connect(url: &str, kek: Arc<Kek>, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let url = match engine {
            Engine::Sqlite => prepare_sqlite_url(url)?,
            Engine::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let max_connections = max_connections.max(1);
        // SQLite: as many lent connections as pooled ones (the pool serves transactions).
        let (lent, pooled) = match engine {
            Engine::Sqlite => (max_connections, max_connections * 2),
            Engine::Postgres => (0, max_connections),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(pooled)
            .acquire_timeout(Duration::from_secs(10))
            // A pooled SQLite connection is an open file in this process: it cannot go stale the
            // way a network connection can, so the liveness ping before every acquire (a round
            // trip to the connection's worker thread) buys nothing. PostgreSQL keeps it.
            .test_before_acquire(engine == Engine::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // Durable commits: WAL with a full fsync at every commit.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                        // Checkpoints run in the background (see `spawn_checkpointer`), not
                        // inside the commit of whichever write crosses the threshold.
                        sqlx::query("PRAGMA wal_autocheckpoint = 0").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            lent: Arc::new(conn::Lent::new(lent as usize)),
            engine,
            kek,
        })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection for one statement (outside a transaction).
    pub(crate) async fn conn(&self) -> Result<conn::Conn<'_>, StoreError> {
        self.lent.get(&self.pool).await
    }

    /// Applies the engine's migrations (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.engine {
            Engine::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&self.pool).await?,
            Engine::Postgres => sqlx::migrate!("./migrations/postgres").run(&self.pool).await?,
        }
        Ok(())
    }

    /// SQLite only: copies the write-ahead log back into the database file every `every`, in
    /// the background, so that no request's commit pays for a checkpoint. Stops when the pool
    /// is closed.
    ///
    /// A `PASSIVE` checkpoint never blocks anyone, and at ordinary load it catches up and SQLite
    /// starts the log over. Under a steady stream of commits it may never catch up, and the log
    /// then grows without bound (measured: 275 MB after 8 s of saturating load). So a log past
    /// [`WAL_TRUNCATE_FRAMES`] (256 MiB of pages) is checkpointed with `TRUNCATE`, which waits
    /// for readers to leave it and empties the file. That stalls the audit sequencer (measured
    /// 40–100 ms at a quarter of this threshold), so it is rare by construction: about every
    /// 6 s under the load benchmark's saturating load (≈ 2 frames per entry), never at
    /// ordinary load, where the passive checkpoints catch up.
    ///
    /// The task is one of `tasks` and ends when they are stopped.
    pub fn spawn_wal_checkpointer(&self, every: Duration, tasks: &crate::tasks::BackgroundTasks) {
        if self.engine != Engine::Sqlite {
            return;
        }
        let pool = self.pool.clone();
        let mut shutdown = tasks.shutdown();
        tasks.spawn("WAL checkpointer", async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = shutdown.requested() => break,
                }
                if pool.is_closed() {
                    break;
                }
                if let Err(e) = wal_checkpoint(&pool).await {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        });
    }

    /// SQLite only: writes a consistent copy of the database to `path` (`VACUUM INTO`, inside
    /// one read transaction, while writers go on).
    pub async fn vacuum_into(&self, path: &std::path::Path) -> Result<(), StoreError> {
        if self.engine != Engine::Sqlite {
            return Err(StoreError::UnsupportedUrl);
        }
        let path = path.to_str().ok_or(StoreError::UnsupportedUrl)?.to_owned();
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.lent.give_back().await;
        self.pool.close().await;
    }

    fn subject_context(subject: SubjectId) -> String {
        format!("tsunagi:subject-key:{subject}")
    }

    fn new_data_key(&self, subject: SubjectId) -> Result<(DataKey, WrappedKey), StoreError> {
        Ok(self.kek.new_data_key(Self::subject_context(subject).as_bytes())?)
    }

    /// Loads and unwraps a subject's data key.
    async fn data_key(&self, subject: SubjectId) -> Result<DataKey, StoreError> {
        let row: Option<(Vec<u8>, String)> = sqlx::query_as("SELECT wrapped_key, kek_id FROM subjects WHERE id = $1")
            .bind(subject.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        let (bytes, kek_id) = row.ok_or(StoreError::NotFound("subject"))?;
        self.unwrap_data_key(subject, &WrappedKey { kek_id, bytes })
    }

    pub(super) fn unwrap_data_key(&self, subject: SubjectId, wrapped: &WrappedKey) -> Result<DataKey, StoreError> {
        Ok(self
            .kek
            .unwrap_key(wrapped, Self::subject_context(subject).as_bytes())?)
    }
}

/// Log size (in frames, i.e. pages) above which the background checkpoint empties the log.
const WAL_TRUNCATE_FRAMES: i64 = 65_536;

async fn wal_checkpoint(pool: &AnyPool) -> Result<(), sqlx::Error> {
    // (busy, frames in the log, frames checkpointed)
    let (_, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(pool).await?;
    if frames > WAL_TRUNCATE_FRAMES {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await?;
    }
    Ok(())
}

/// Turns `sqlite://path` into a URL that creates the file, and creates its directory.
fn prepare_sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", dir.display())))?;
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}
