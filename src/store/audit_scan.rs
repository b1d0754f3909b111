//! Reading the whole log fast, for verification and export. Fetching rows one by one costs the
//! driver a few microseconds each — several times the SHA-256 of an entry — so a page of entries
//! comes back as one row: an index text (`index:leaf-hash length:entry length`, comma-separated)
//! and the leaf hashes and entries concatenated, both aggregated in index order. If a page does
//! not decode cleanly it is read again row by row, so damage is always reported from the plain
//! rows.

use std::ops::Range;

use super::audit_tree::to_i64;
use super::{AuditRow, Engine, Store, StoreError};

/// One entry of a scanned page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRow {
    pub index: u64,
    pub leaf_hash: Vec<u8>,
    /// Where the entry's bytes are in [`ScanPage::entries`].
    pub entry: Range<usize>,
}

/// Consecutive log rows from some index on, in index order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanPage {
    pub rows: Vec<ScanRow>,
    pub entries: Vec<u8>,
}

impl ScanPage {
    pub fn entry(&self, row: &ScanRow) -> &[u8] {
        self.entries.get(row.entry.clone()).unwrap_or_default()
    }

    fn from_rows(rows: Vec<AuditRow>) -> Self {
        let mut page = ScanPage::default();
        for r in rows {
            let start = page.entries.len();
            page.entries.extend_from_slice(&r.entry);
            page.rows.push(ScanRow {
                index: r.index,
                leaf_hash: r.leaf_hash,
                entry: start..page.entries.len(),
            });
        }
        page
    }
}

// SQLite casts blobs to text and back byte for byte (embedded NULs included); the aggregate
// sees the subquery's rows in index order, which `decode` checks.
const SQLITE_PAGE: &str = "SELECT COUNT(*), \
    group_concat(idx || ':' || octet_length(leaf_hash) || ':' || octet_length(entry), ','), \
    CAST(group_concat(CAST(leaf_hash AS TEXT) || CAST(entry AS TEXT), '') AS BLOB) \
    FROM (SELECT idx, leaf_hash, entry FROM audit_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx)";

const POSTGRES_PAGE: &str = "SELECT COUNT(*), \
    string_agg(idx || ':' || octet_length(leaf_hash) || ':' || octet_length(entry), ',' ORDER BY idx), \
    string_agg(leaf_hash || entry, ''::bytea ORDER BY idx) \
    FROM audit_entries WHERE idx >= $1 AND idx < $2";

/// Decodes an aggregated page (the hash is split off each entry); `None` if anything is off.
fn decode(count: i64, index: &str, blob: Vec<u8>) -> Option<ScanPage> {
    let count = usize::try_from(count).ok()?;
    let mut rows: Vec<ScanRow> = Vec::with_capacity(count);
    let mut offset = 0usize;
    for part in index.split(',') {
        let mut it = part.split(':');
        let idx: u64 = it.next()?.parse().ok()?;
        let hash_len: usize = it.next()?.parse().ok()?;
        let len: usize = it.next()?.parse().ok()?;
        if it.next().is_some() || rows.last().is_some_and(|r| r.index >= idx) {
            return None;
        }
        let hash_end = offset.checked_add(hash_len)?;
        let end = hash_end.checked_add(len)?;
        rows.push(ScanRow {
            index: idx,
            leaf_hash: blob.get(offset..hash_end)?.to_vec(),
            entry: hash_end..end,
        });
        offset = end;
    }
    (rows.len() == count && offset == blob.len()).then_some(ScanPage { rows, entries: blob })
}

impl Store {
    /// The rows with `from <= index < to`, in index order (missing ones are simply absent).
    pub async fn scan_audit(&self, from: u64, to: u64) -> Result<ScanPage, StoreError> {
        let sql = match self.engine() {
            Engine::Sqlite => SQLITE_PAGE,
            Engine::Postgres => POSTGRES_PAGE,
        };
        let (count, index, entries): (i64, Option<String>, Option<Vec<u8>>) = sqlx::query_as(sql)
            .bind(to_i64(from)?)
            .bind(to_i64(to)?)
            .fetch_one(&mut *self.conn().await?)
            .await?;
        if count == 0 {
            return Ok(ScanPage::default());
        }
        match decode(count, index.as_deref().unwrap_or_default(), entries.unwrap_or_default()) {
            Some(page) => Ok(page),
            None => {
                let limit = u32::try_from(to.saturating_sub(from)).unwrap_or(u32::MAX);
                let rows = self.audit_entries(from, limit).await?;
                Ok(ScanPage::from_rows(rows.into_iter().filter(|r| r.index < to).collect()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_decode_only_when_everything_adds_up() {
        let page = decode(2, "7:1:2,8:0:3", b"\xabhixyz".to_vec()).unwrap_or_default();
        assert_eq!(page.rows.len(), 2);
        assert_eq!(page.entry(&page.rows[0]), b"hi");
        assert_eq!(page.rows[0].leaf_hash, vec![0xab]);
        assert_eq!(page.entry(&page.rows[1]), b"xyz");
        assert!(page.rows[1].leaf_hash.is_empty());
        assert!(
            decode(2, "7:1:2,8:0:3", b"\xabhixy".to_vec()).is_none(),
            "short entries"
        );
        assert!(
            decode(3, "7:1:2,8:0:3", b"\xabhixyz".to_vec()).is_none(),
            "count differs"
        );
        assert!(decode(2, "8:0:0,7:0:0", Vec::new()).is_none(), "out of order");
        assert!(decode(1, "x:0:0", Vec::new()).is_none(), "garbage");
    }
}
