//! Is this instance fit to serve? The database answers within a bounded wait, the disclosure
//! log can be written, and the disk under an SQLite database has room. `/readyz` asks
//! [`readiness`]; a load balancer takes an instance that answers 503 out of rotation, and puts
//! it back once the fault is gone (after a failed log commit, readiness proves a fresh write
//! before it says "ready" again).
//!
//! The disk watcher ([`DiskWatch`]) checks the free space of the database's directory every
//! few seconds and raises a `low-disk-space` alert for privacy officers and operators while
//! there is still room — before the log stops taking entries.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::audit::alerts::{AlertKind, Alerts};
use crate::state::AppState;
use crate::store::Store;

/// Free bytes for unprivileged writers on the file system that holds `dir`.
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let s = rustix::fs::statvfs(dir)?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

const UNKNOWN: u64 = u64::MAX;

/// The latest reading of the database disk's free space (SQLite only).
#[derive(Debug, Clone)]
pub struct DiskWatch {
    free: Arc<AtomicU64>,
    min_free: u64,
    dir: Option<PathBuf>,
}

/// What `/readyz` shows of the disk.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct DiskStatus {
    pub free_bytes: u64,
    pub min_free_bytes: u64,
    /// Below the configured minimum: an alert is raised; the log still takes entries while it can.
    pub low: bool,
}

impl DiskWatch {
    /// Starts watching the directory of `store`'s database (nothing on PostgreSQL) every
    /// `every`, raising [`AlertKind::LowDiskSpace`] (once per day) when less than `min_free`
    /// bytes are free. The task is one of `tasks`.
    pub fn spawn(
        store: &Store,
        alerts: Alerts,
        min_free: u64,
        every: Duration,
        tasks: &crate::tasks::BackgroundTasks,
    ) -> Self {
        let watch = Self {
            free: Arc::new(AtomicU64::new(UNKNOWN)),
            min_free,
            dir: store.data_dir().map(Path::to_path_buf),
        };
        if let Some(dir) = watch.dir.clone() {
            let w = watch.clone();
            let mut shutdown = tasks.shutdown();
            tasks.spawn("disk watcher", async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        () = shutdown.requested() => break,
                    }
                    w.check(&dir, &alerts).await;
                }
            });
        }
        watch
    }

    async fn check(&self, dir: &Path, alerts: &Alerts) {
        let Ok(free) = free_bytes(dir) else {
            tracing::warn!("the database directory's free space cannot be read");
            return;
        };
        self.free.store(free, Ordering::Relaxed);
        if free < self.min_free {
            let detail = format!(
                "{} MiB free under the database, below the configured minimum of {} MiB: free space before the log stops",
                free / (1024 * 1024),
                self.min_free / (1024 * 1024)
            );
            tracing::error!(free_mib = free / (1024 * 1024), "low disk space under the database");
            if let Err(e) = alerts.raise(AlertKind::LowDiskSpace, "hub", &detail).await {
                tracing::warn!(error = %e, "the low-disk-space alert could not be stored");
            }
        }
    }

    /// The latest reading, if there is one (SQLite, after the first check).
    pub fn status(&self) -> Option<DiskStatus> {
        let free = self.free.load(Ordering::Relaxed);
        (free != UNKNOWN).then_some(DiskStatus {
            free_bytes: free,
            min_free_bytes: self.min_free,
            low: free < self.min_free,
        })
    }
}

/// Why the instance is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// The database did not answer within the bounded wait, or refused the write probe
    /// (`database_unavailable`).
    Database,
    /// The last log commit failed and a fresh write still fails (`audit_unavailable`).
    Log,
}

/// Checks, each bounded by `wait`, that the database answers and takes a write (one row's
/// update: on a full disk it fails as the log's next commit would). A success after a failed
/// log commit marks the log writable again. Returns the disk reading when ready.
pub async fn readiness(state: &AppState, wait: Duration) -> Result<Option<DiskStatus>, NotReady> {
    let now = crate::store::to_ms(state.clock.now());
    match tokio::time::timeout(wait, state.store.write_probe(now)).await {
        Ok(Ok(())) => state.audit.mark_writable(),
        Ok(Err(e)) if !e.is_unavailable() => {
            tracing::error!(error = %e, "readiness write probe failed");
            return Err(NotReady::Log);
        }
        // The database does not answer in time (or refuses writes for want of room).
        _ => {
            return Err(if state.audit.is_writable() {
                NotReady::Database
            } else {
                NotReady::Log
            });
        }
    }
    Ok(state.disk.status())
}
