//! SQLite only: reading log rows straight from the database file, for `audit verify`.
//!
//! Through sqlx every row (or every aggregated page, see `audit_scan`) is copied into owned
//! values on the connection's worker thread and handed across threads; for a replay of the whole
//! log that copying costs more than hashing the entries. This reader opens its own connection to
//! the same file with `rusqlite` (the same bundled SQLite library that sqlx links) on the calling
//! thread, memory-maps the file, and lends each row's bytes to a visitor in place — no copy, no
//! hand-over. It only reads (`query_only`), and it reads through SQLite, so the write-ahead log
//! and every lock are honoured: the hub may keep writing while it runs.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::{Store, StoreError};

/// How much of the file the reader maps into memory (SQLite caps it at its compile-time
/// maximum, just under 2 GiB, and reads the rest with `pread`).
const MMAP_BYTES: i64 = 1 << 31;

/// A read-only connection to a SQLite store's file, for scanning the log.
pub struct DirectReader {
    conn: Connection,
}

impl std::fmt::Debug for DirectReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectReader").finish_non_exhaustive()
    }
}

fn file_error(e: rusqlite::Error) -> StoreError {
    StoreError::File(e.to_string())
}

impl DirectReader {
    /// Opens the database file at `path` (which must exist) for reading.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // Read-write without CREATE: a read-only connection cannot open a WAL database whose
        // shared-memory file is missing (the hub is stopped); `query_only` keeps it a reader.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(file_error)?;
        conn.execute_batch(&format!(
            "PRAGMA query_only = ON; PRAGMA busy_timeout = 10000; PRAGMA mmap_size = {MMAP_BYTES};"
        ))
        .map_err(file_error)?;
        Ok(Self { conn })
    }

    /// Calls `visit(index, leaf_hash, entry)` for every log row with `from <= index < to`, in
    /// index order, until it answers `Break`. Missing indexes are simply absent (the visitor
    /// sees the gap).
    pub fn visit_audit(
        &mut self,
        from: u64,
        to: u64,
        mut visit: impl FnMut(u64, &[u8], &[u8]) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let (from, to) = (super::audit_tree::to_i64(from)?, super::audit_tree::to_i64(to)?);
        let mut stmt = self
            .conn
            .prepare("SELECT idx, leaf_hash, entry FROM audit_entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")
            .map_err(file_error)?;
        let mut rows = stmt.query([from, to]).map_err(file_error)?;
        while let Some(row) = rows.next().map_err(file_error)? {
            let index: i64 = row.get(0).map_err(file_error)?;
            let index = u64::try_from(index).map_err(|_| StoreError::Corrupt(format!("log index {index}")))?;
            let bytes = |i: usize| -> Result<&[u8], StoreError> {
                row.get_ref(i)
                    .map_err(file_error)?
                    .as_bytes()
                    .map_err(|e| StoreError::Corrupt(format!("log entry {index}: {e}")))
            };
            if visit(index, bytes(1)?, bytes(2)?).is_break() {
                break;
            }
        }
        Ok(())
    }
}

impl Store {
    /// A [`DirectReader`] on this store's file; `None` on PostgreSQL or without a file
    /// (`sqlite_file` is set only for SQLite on a file).
    pub fn direct_reader(&self) -> Option<Result<DirectReader, StoreError>> {
        let path = self.sqlite_file.as_deref()?;
        path.is_file().then(|| DirectReader::open(path))
    }
}

/// The database file a (prepared) SQLite URL names, unless it is an in-memory database.
pub(super) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let memory = path.is_empty() || path == ":memory:" || query.split('&').any(|kv| kv == "mode=memory");
    (!memory).then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_of_a_url() {
        assert_eq!(
            sqlite_file("sqlite://data/hub.db?mode=rwc"),
            Some(PathBuf::from("data/hub.db"))
        );
        assert_eq!(sqlite_file("sqlite:///abs/hub.db"), Some(PathBuf::from("/abs/hub.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x.db?mode=memory&cache=shared"), None);
    }
}
