//! Persistence. One `Store` over sqlx's `Any` driver serves both engines: SQLite (the embedded
//! default: WAL, `synchronous=FULL`) and PostgreSQL (for several instances). The SQL is written
//! once with `$n` placeholders and the portable types (TEXT, 64-bit integers, bytes); what
//! differs per engine — migrations, connection pragmas, the audit sequencer's lock — is chosen by
//! [`Engine`]. Record content never touches this layer in plaintext: it is sealed with the
//! subject's data key before it is written and opened only with an audit-issued release.

mod audit_alerts;
mod audit_direct;
mod audit_rows;
mod audit_scan;
mod audit_search;
mod audit_tree;
mod bases;
mod case_notes;
mod conn;
mod consents;
mod console_oidc;
mod console_sessions;
mod figures;
mod meetings;
mod plans;
mod policies;
mod records;
mod referrals;
mod subjects;
mod witnesses;

pub use audit_alerts::AlertRow;
pub use audit_direct::DirectReader;
pub use audit_rows::{AuditRow, NewAuditRow};
pub use audit_scan::{ScanPage, ScanRow};
pub use audit_search::{AuditFilter, FoundEntry};
pub use audit_tree::{Exclusive, LogInconsistency, RoundGuard, StoredCheckpoint};
pub use bases::{EmergencyGrant, LegalReport, Notification, OutboxRow};
pub use case_notes::{NewCaseNote, NoteAge, NoteMeta, OpenedNote, SealedNotes};
pub use console_oidc::PendingOidcLogin;
pub use console_sessions::ConsoleSessionRow;
pub use figures::Tally;
pub use meetings::{
    AgendaItem, Body, FollowUp, InfoAnswer, InfoRequest, NewBody, NewFollowUp, NewInfoRequest, Participation,
    RosterEntry, Session,
};
pub use plans::{
    MonitoringEntry, NewPlanVersion, OpenedRound, OpenedVersion, OverdueRound, PlanHead, RoundMeta, SealedPlan,
    VersionMeta,
};
pub use policies::{PolicyProposal, PolicyVersion};
pub use records::{DisclosedSection, NewRecord, NewSection, SealedSections, SectionMeta};
pub use referrals::{NewReferral, Referral, SealedItem, note_label};
pub use subjects::{Agency, OrganKind, SubjectRow};
pub use witnesses::{StoredCosignature, WitnessStatus};

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};
use time::OffsetDateTime;

use crate::crypto::{CryptoError, DataKey, KekRing, WrappedKey};
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
    /// Reading the SQLite file directly ([`DirectReader`]) failed.
    #[error("database file error: {0}")]
    File(String),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The person's data was erased (their data key destroyed): nothing about them can be
    /// read or written any more.
    #[error("the subject's data was erased")]
    Erased,
}

/// The `kek_id` of an erased subject, whose wrapped data key has been destroyed.
pub const ERASED_KEK: &str = "erased";

/// How long a request waits for a database connection unless configured
/// (`database_acquire_timeout_ms`).
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

impl StoreError {
    /// The database cannot be reached or written just now — no connection within the bounded
    /// wait, a broken connection, a full disk, a server shutting down — as opposed to a fault
    /// in the data or the code. Callers answer 503 `database_unavailable`; nothing changed.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e) => database_unavailable(e),
            _ => false,
        }
    }
}

fn database_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// SQLite result codes (numeric; the primary code is the low byte of an extended one): BUSY,
/// LOCKED, READONLY, IOERR, FULL, CANTOPEN. PostgreSQL SQLSTATEs: class 08 (connection
/// exception), 53 (insufficient resources: disk full, out of memory, too many connections), 57P
/// (the server is shutting down or starting), 58 (system error, e.g. I/O).
fn unavailable_code(code: &str) -> bool {
    if let Ok(n) = code.parse::<i64>() {
        return matches!(n & 0xff, 5 | 6 | 8 | 10 | 13 | 14);
    }
    ["08", "53", "57P", "58"].iter().any(|class| code.starts_with(class))
}

/// The hub's persistent state.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// SQLite: connections lent out one statement at a time (see [`conn`]).
    lent: Arc<conn::Lent>,
    engine: Engine,
    /// Wraps and unwraps per-subject data keys. Shared, never copied out.
    kek: Arc<KekRing>,
    /// SQLite: the database file's directory (its free space is watched).
    data_dir: Option<std::path::PathBuf>,
    /// SQLite on a file: the file (read directly by [`DirectReader`]).
    sqlite_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// Epoch milliseconds, as the store keeps times.
pub fn to_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`). For SQLite the file and its
    /// directory are created if missing. Waits for a connection at most
    /// [`DEFAULT_ACQUIRE_TIMEOUT`].
    pub async fn connect(url: &str, kek: impl Into<KekRing>, max_connections: u32) -> Result<Self, StoreError> {
        Self::connect_with(url, Arc::new(kek.into()), max_connections, DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// Like [`Store::connect`], waiting at most `acquire_timeout` for a connection (which bounds
    /// how long a request waits for a database that does not answer: then
    /// [`StoreError::is_unavailable`]).
    pub async fn connect_with(
        url: &str,
        kek: Arc<KekRing>,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, StoreError> {
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
            .acquire_timeout(acquire_timeout)
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
        let data_dir = (engine == Engine::Sqlite).then(|| sqlite_dir(&url));
        let sqlite_file = match engine {
            Engine::Sqlite => audit_direct::sqlite_file(&url),
            Engine::Postgres => None,
        };
        Ok(Self {
            pool,
            lent: Arc::new(conn::Lent::new(lent as usize)),
            engine,
            kek,
            data_dir,
            sqlite_file,
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
    /// [`WAL_TRUNCATE_BYTES`] (256 MiB, or a quarter of the disk's free space if less) is checkpointed with `TRUNCATE`, which waits
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
        let dir = self.data_dir.clone();
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
                // The log may take at most a quarter of the disk's free space before it is
                // emptied, so that it cannot eat the room the database needs to go on.
                let free = dir.as_deref().and_then(|d| crate::health::free_bytes(d).ok());
                let limit = free.map_or(WAL_TRUNCATE_BYTES, |f| (f / 4).min(WAL_TRUNCATE_BYTES));
                if let Err(e) = wal_checkpoint(&pool, limit).await {
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

    /// Proves that the database takes a write now: updates the one row of `health_probe` (on
    /// SQLite a frame in the write-ahead log, so a full disk fails it as it fails the log).
    pub async fn write_probe(&self, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE health_probe SET at_ms = $1 WHERE id = 1")
            .bind(now_ms)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// SQLite: the directory that holds the database file (where the write-ahead log grows).
    /// `None` on PostgreSQL, whose disk is the server's.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.data_dir.as_deref()
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
        if kek_id == ERASED_KEK {
            return Err(StoreError::Erased);
        }
        self.unwrap_data_key(subject, &WrappedKey { kek_id, bytes })
    }

    pub(super) fn unwrap_data_key(&self, subject: SubjectId, wrapped: &WrappedKey) -> Result<DataKey, StoreError> {
        if wrapped.kek_id == ERASED_KEK {
            return Err(StoreError::Erased);
        }
        Ok(self
            .kek
            .unwrap_key(wrapped, Self::subject_context(subject).as_bytes())?)
    }

    /// How many data keys each KEK wraps (`kek_id`, count), by id.
    pub async fn data_keys_by_kek(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT kek_id, COUNT(*) FROM subjects WHERE kek_id <> $1 GROUP BY kek_id ORDER BY kek_id")
                .bind(ERASED_KEK)
                .fetch_all(&mut *self.conn().await?)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
            .collect())
    }

    /// Re-wraps up to `limit` data keys that are not under the current KEK; returns how many.
    /// Each row is updated only if it still holds the key that was read (so a concurrent
    /// rotation, or a restart half-way, never loses a key): run it until it returns 0.
    pub async fn rewrap_data_keys(&self, limit: u32) -> Result<u64, StoreError> {
        let rows: Vec<(String, Vec<u8>, String)> = sqlx::query_as(
            "SELECT id, wrapped_key, kek_id FROM subjects WHERE kek_id <> $1 AND kek_id <> $2 ORDER BY id LIMIT $3",
        )
        .bind(self.kek.current_id().to_owned())
        .bind(ERASED_KEK)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await?;
        let mut done = 0;
        for (id, bytes, kek_id) in rows {
            let subject = SubjectId::parse(&id).map_err(|_| StoreError::Corrupt(format!("subject id {id:?}")))?;
            let old = WrappedKey { kek_id, bytes };
            let new = self.kek.rewrap(&old, Self::subject_context(subject).as_bytes())?;
            let updated = sqlx::query(
                "UPDATE subjects SET wrapped_key = $1, kek_id = $2 WHERE id = $3 AND kek_id = $4 AND wrapped_key = $5",
            )
            .bind(new.bytes)
            .bind(new.kek_id)
            .bind(id)
            .bind(old.kek_id)
            .bind(old.bytes)
            .execute(&mut *self.conn().await?)
            .await?;
            done += updated.rows_affected();
        }
        Ok(done)
    }

    /// The id of the KEK that wraps new data keys.
    pub fn current_kek_id(&self) -> &str {
        self.kek.current_id()
    }

    /// Erases a subject (APPI deletion or retention expiry), after the entry `logged` for it:
    /// destroys their wrapped data key, so every record, section and sealed evidence about them
    /// can never be decrypted again. `NotFound` if there is no such subject, `Erased` if it was
    /// erased already. The log keeps its entries (they name the person only by pseudonym).
    pub async fn erase_subject(&self, subject: SubjectId, _logged: &crate::audit::Logged) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE subjects SET wrapped_key = $1, kek_id = $2 WHERE id = $3 AND kek_id <> $2")
            .bind(Vec::<u8>::new())
            .bind(ERASED_KEK)
            .bind(subject.to_string())
            .execute(&mut *self.conn().await?)
            .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        match self.subject(subject).await? {
            None => Err(StoreError::NotFound("subject")),
            Some(_) => Err(StoreError::Erased),
        }
    }

    /// Whether the subject's data was erased.
    pub async fn subject_erased(&self, subject: SubjectId) -> Result<bool, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT kek_id FROM subjects WHERE id = $1")
            .bind(subject.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(row.is_some_and(|(k,)| k == ERASED_KEK))
    }

    /// The ids of every KEK the store holds (current first).
    pub fn kek_ids(&self) -> Vec<&str> {
        self.kek.ids()
    }
}

/// Log size above which the background checkpoint empties the log (256 MiB), or a quarter of
/// the disk's free space if that is less.
const WAL_TRUNCATE_BYTES: u64 = 256 * 1024 * 1024;

async fn wal_checkpoint(pool: &AnyPool, limit_bytes: u64) -> Result<(), sqlx::Error> {
    // (busy, frames in the log, frames checkpointed)
    let (_, frames, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(pool).await?;
    let (page_size,): (i64,) = sqlx::query_as("PRAGMA page_size").fetch_one(pool).await?;
    // A frame is a page plus its 24-byte header.
    let bytes = u64::try_from(frames.saturating_mul(page_size.saturating_add(24))).unwrap_or(0);
    if bytes > limit_bytes {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await?;
    }
    Ok(())
}

/// Turns `sqlite://path` into a URL that creates the file, and creates its directory.
/// The directory of the database file a (prepared) SQLite URL names.
fn sqlite_dir(url: &str) -> std::path::PathBuf {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or(rest);
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

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
