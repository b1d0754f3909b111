//! Connections for single statements.
//!
//! sqlx's pool pings every connection when it is released (sqlx-core 0.9
//! `Floating::return_to_pool`; see launchbadge/sqlx#1743), and on SQLite that ping is a round
//! trip to the connection's worker thread plus a spawned task — per statement, on every
//! request. On a 2-core machine under load those cross-thread wake-ups were the largest single
//! cost of the disclosure road. So on SQLite the store keeps a few connections checked out of
//! the pool for good and lends them out, one statement at a time, behind a mutex: lending
//! one back costs nothing.
//!
//! This is safe for SQLite because a connection is a file handle in this process (it cannot go
//! stale like a socket), each lent use is one statement (autocommit, so no transaction state
//! survives a use), and the worker finishes or resets a statement whose caller went away before
//! it runs the next one. Transactions still take a pooled connection. PostgreSQL keeps the
//! pool's checks: its connections are sockets that can die.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use super::StoreError;

/// Connections lent out one statement at a time (SQLite only; empty on PostgreSQL).
#[derive(Default)]
pub(super) struct Lent {
    slots: Vec<Mutex<Option<PoolConnection<Any>>>>,
    next: AtomicUsize,
}

impl Lent {
    pub(super) fn new(slots: usize) -> Self {
        Self {
            slots: (0..slots).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// A connection for one statement: a free lent one, else the next lent one when it is free
    /// (filled from the pool the first time), else — on PostgreSQL — a pooled one.
    pub(super) async fn get<'a>(&'a self, pool: &AnyPool) -> Result<Conn<'a>, StoreError> {
        if self.slots.is_empty() {
            return Ok(Conn::Pooled(pool.acquire().await?));
        }
        let slot = match self.slots.iter().find_map(|s| s.try_lock().ok()) {
            Some(free) => free,
            None => {
                let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
                // `i` is below the (non-zero) number of slots.
                match self.slots.get(i) {
                    Some(next) => next.lock().await,
                    None => return Ok(Conn::Pooled(pool.acquire().await?)),
                }
            }
        };
        let mut slot: MutexGuard<'a, Option<PoolConnection<Any>>> = slot;
        if slot.is_none() {
            *slot = Some(pool.acquire().await?);
        }
        match MutexGuard::try_map(slot, Option::as_mut) {
            Ok(conn) => Ok(Conn::Lent(conn)),
            // Filled just above; a pooled connection keeps the caller going all the same.
            Err(_) => Ok(Conn::Pooled(pool.acquire().await?)),
        }
    }

    /// Gives every lent connection back to the pool (before the pool closes).
    pub(super) async fn give_back(&self) {
        for slot in &self.slots {
            slot.lock().await.take();
        }
    }
}

/// A connection for one statement; derefs to the connection to run it on.
pub(crate) enum Conn<'a> {
    Lent(MappedMutexGuard<'a, PoolConnection<Any>>),
    Pooled(PoolConnection<Any>),
}

impl Deref for Conn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Lent(c) => c,
            Conn::Pooled(c) => c,
        }
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Lent(c) => c,
            Conn::Pooled(c) => c,
        }
    }
}

#[cfg(test)]
mod tests {

    use std::time::Duration;

    use crate::crypto::Kek;
    use crate::store::{Store, StoreError};

    async fn sqlite_store(dir: &tempfile::TempDir, connections: u32) -> Store {
        let url = format!("sqlite://{}", dir.path().join("lent.db").display());
        let kek = Kek::from_bytes("test", &[7u8; 32]).unwrap();
        let store = Store::connect(&url, kek, connections).await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    #[tokio::test]
    async fn more_concurrent_statements_than_lent_connections_all_complete() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir, 2).await;
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.audit_size().await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 0);
        }
    }

    #[tokio::test]
    async fn close_gives_lent_connections_back_and_later_statements_fail_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir, 2).await;
        // Fill the lent slots.
        store.audit_size().await.unwrap();
        let (a, b) = tokio::join!(store.audit_size(), store.audit_size());
        a.unwrap();
        b.unwrap();
        // The pool closes only once every connection is back; a lent one kept out would hang.
        tokio::time::timeout(Duration::from_secs(10), store.close())
            .await
            .expect("close completes");
        assert!(store.is_closed());
        assert!(matches!(store.audit_size().await, Err(StoreError::Database(_))));
    }
}
