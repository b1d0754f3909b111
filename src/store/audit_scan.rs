//! Reading the whole log fast, for verification and export. Fetching rows one by one costs the
//! driver a few microseconds each — several times the SHA-256 of an entry — so a page of entries
//! comes back as one row: an index text (per entry: index, entry length, leaf-hash length and
//! the leaf hash, in hex) and all entries concatenated, both aggregated in index order. If a
//! page does not decode cleanly it is read again row by row, so damage is always reported from
//! the plain rows.

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

const SQLITE_PAGE: &str = "SELECT COUNT(*), \
    group_concat(printf('%016x%08x%04x', idx, octet_length(entry), octet_length(leaf_hash)) || hex(leaf_hash), ''), \
    CAST(group_concat(CAST(entry AS TEXT), '') AS BLOB) \
    FROM (SELECT idx, leaf_hash, entry FROM audit_entries WHERE idx >= $1 ORDER BY idx LIMIT $2)";

const POSTGRES_PAGE: &str = "SELECT COUNT(*), \
    string_agg(lpad(to_hex(idx), 16, '0') || lpad(to_hex(octet_length(entry)), 8, '0') \
      || lpad(to_hex(octet_length(leaf_hash)), 4, '0') || encode(leaf_hash, 'hex'), '' ORDER BY idx), \
    string_agg(entry, ''::bytea ORDER BY idx) \
    FROM (SELECT idx, leaf_hash, entry FROM audit_entries WHERE idx >= $1 ORDER BY idx LIMIT $2) AS page";

fn hex_field(text: &str, at: &mut usize, width: usize) -> Option<u64> {
    let s = text.get(*at..*at + width)?;
    *at += width;
    u64::from_str_radix(s, 16).ok()
}

/// Decodes an aggregated page; `None` if anything is off.
fn decode(count: i64, index: &str, entries: Vec<u8>) -> Option<ScanPage> {
    let count = usize::try_from(count).ok()?;
    let mut rows = Vec::with_capacity(count);
    let (mut at, mut offset) = (0usize, 0usize);
    while at < index.len() {
        let idx = hex_field(index, &mut at, 16)?;
        let len = usize::try_from(hex_field(index, &mut at, 8)?).ok()?;
        let hash_len = usize::try_from(hex_field(index, &mut at, 4)?).ok()?;
        let hash = hex::decode(index.get(at..at + 2 * hash_len)?).ok()?;
        at += 2 * hash_len;
        let end = offset.checked_add(len)?;
        if rows.last().is_some_and(|r: &ScanRow| r.index >= idx) {
            return None;
        }
        rows.push(ScanRow {
            index: idx,
            leaf_hash: hash,
            entry: offset..end,
        });
        offset = end;
    }
    (rows.len() == count && offset == entries.len()).then_some(ScanPage { rows, entries })
}

impl Store {
    /// Up to `limit` rows with `index >= from`, in index order (empty at the end of the log).
    pub async fn scan_audit(&self, from: u64, limit: u32) -> Result<ScanPage, StoreError> {
        let sql = match self.engine() {
            Engine::Sqlite => SQLITE_PAGE,
            Engine::Postgres => POSTGRES_PAGE,
        };
        let (count, index, entries): (i64, Option<String>, Option<Vec<u8>>) = sqlx::query_as(sql)
            .bind(to_i64(from)?)
            .bind(i64::from(limit))
            .fetch_one(self.pool())
            .await?;
        if count == 0 {
            return Ok(ScanPage::default());
        }
        match decode(count, index.as_deref().unwrap_or_default(), entries.unwrap_or_default()) {
            Some(page) => Ok(page),
            None => Ok(ScanPage::from_rows(self.audit_entries(from, limit).await?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_decode_only_when_everything_adds_up() {
        let index = format!("{:016x}{:08x}{:04x}{}{:016x}{:08x}{:04x}{}", 7, 2, 1, "AB", 8, 3, 0, "");
        let page = decode(2, &index, b"hixyz".to_vec()).unwrap_or_default();
        assert_eq!(page.rows.len(), 2);
        assert_eq!(page.entry(&page.rows[0]), b"hi");
        assert_eq!(page.rows[0].leaf_hash, vec![0xab]);
        assert_eq!(page.entry(&page.rows[1]), b"xyz");
        assert!(decode(2, &index, b"hixy".to_vec()).is_none(), "short entries");
        assert!(decode(3, &index, b"hixyz".to_vec()).is_none(), "count differs");
        let backwards = format!("{:016x}{:08x}{:04x}{:016x}{:08x}{:04x}", 8, 0, 0, 7, 0, 0);
        assert!(decode(2, &backwards, Vec::new()).is_none(), "out of order");
    }
}
