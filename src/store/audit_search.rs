//! Reading the disclosure log for privacy officers: filtered, paginated search over the index
//! columns, the entries about one subject, and the pseudonym → id map.
//!
//! Every read of entries takes a [`LogScope`] (made only by `policy::access`) and adds it to the
//! query itself, so an entry outside the reader's scope cannot come back by a forgotten filter.
//! The agency and user filters never match a column that is sealed because it would name an
//! abuse reporter (the owning agency of a `legal-report` disclosure, the acting agency and user
//! of a `legal-report-filed` event): a search by agency must not unmask what the answer seals.

use std::collections::HashMap;

use super::audit_tree::to_u64;
use super::{Store, StoreError};
use crate::policy::access::LogScope;

/// Rows whose `owner_agency` is sealed (it names the agency that filed an abuse report).
const OWNER_SEALED: &str = "COALESCE(basis, '') = 'legal-report'";
/// Rows whose `requester_agency` and `requester_user` are sealed (the abuse report's filer).
const REQUESTER_SEALED: &str = "kind = 'legal-report-filed'";

/// Search filters; `None` means "any". Pseudonyms, not ids: the caller maps ids first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub subject_pseudonym: Option<String>,
    pub household_pseudonym: Option<String>,
    /// Requesting or owning agency.
    pub agency: Option<String>,
    /// Requesting user.
    pub user: Option<String>,
    pub basis: Option<String>,
    pub session: Option<String>,
    /// `allowed`, `refused`, `recorded`, `read`.
    pub decision: Option<String>,
    pub kind: Option<String>,
    pub from_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Only entries with a larger index (the cursor).
    pub after: Option<u64>,
    pub limit: u32,
}

/// A log entry with its index columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundEntry {
    pub index: u64,
    pub leaf_hash: Vec<u8>,
    pub entry: Vec<u8>,
    pub subject_pseudonym: Option<String>,
    pub household_pseudonym: Option<String>,
    pub requester_agency: Option<String>,
    pub owner_agency: Option<String>,
}

type Row = (
    i64,
    Vec<u8>,
    Vec<u8>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const COLUMNS: &str = "SELECT idx, leaf_hash, entry, subject_pseudonym, household_pseudonym, requester_agency, owner_agency \
                       FROM audit_entries";

fn found(r: Row) -> Result<FoundEntry, StoreError> {
    Ok(FoundEntry {
        index: to_u64(r.0)?,
        leaf_hash: r.1,
        entry: r.2,
        subject_pseudonym: r.3,
        household_pseudonym: r.4,
        requester_agency: r.5,
        owner_agency: r.6,
    })
}

enum Param {
    Text(String),
    Int(i64),
}

/// The scope as a clause over the index columns (pushing its parameters), `None` for the whole
/// log. Only generated placeholders go into the text.
fn scope_clause(scope: &LogScope, params: &mut Vec<Param>) -> Option<String> {
    let agencies = scope.agencies()?;
    if agencies.is_empty() {
        return Some("1 = 0".to_owned());
    }
    let mut marks = Vec::with_capacity(agencies.len());
    for a in agencies {
        params.push(Param::Text(a.clone()));
        marks.push(format!("${}", params.len()));
    }
    let list = marks.join(", ");
    // Written over COALESCE so that no index on these columns drives the query: a scope is a
    // broad filter (an organ's share of the log), applied while the query walks the log in index
    // order and stops at the page's limit. Indexed on their own, SQLite would OR the two agency
    // indexes and sort the organ's whole share of the log for every page.
    Some(format!(
        "(COALESCE(requester_agency, '') IN ({list}) OR COALESCE(owner_agency, '') IN ({list}))"
    ))
}

fn bind_all<'q>(
    mut q: sqlx::query::QueryAs<'q, sqlx::Any, Row, sqlx::any::AnyArguments>,
    params: Vec<Param>,
) -> sqlx::query::QueryAs<'q, sqlx::Any, Row, sqlx::any::AnyArguments> {
    for p in params {
        q = match p {
            Param::Text(s) => q.bind(s),
            Param::Int(i) => q.bind(i),
        };
    }
    q
}

impl Store {
    /// Entries in `scope` matching every given filter, in index order, at most `limit`.
    pub async fn search_audit(&self, scope: &LogScope, f: &AuditFilter) -> Result<Vec<FoundEntry>, StoreError> {
        let mut clauses: Vec<String> = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        clauses.extend(scope_clause(scope, &mut params));
        // Only these fixed fragments and generated placeholder numbers go into the text.
        let mut text = |clause: &str, v: &Option<String>, params: &mut Vec<Param>| {
            if let Some(v) = v {
                params.push(Param::Text(v.clone()));
                clauses.push(clause.replace('?', &format!("${}", params.len())));
            }
        };
        text("subject_pseudonym = ?", &f.subject_pseudonym, &mut params);
        text("household_pseudonym = ?", &f.household_pseudonym, &mut params);
        // Like the scope, an agency is a broad filter: it must not make the query sort the
        // agency's whole share of the log (see `scope_clause`).
        text(
            &format!(
                "((COALESCE(requester_agency, '') = ? AND NOT {REQUESTER_SEALED}) OR (COALESCE(owner_agency, '') = ? AND NOT {OWNER_SEALED}))"
            ),
            &f.agency,
            &mut params,
        );
        text(
            &format!("(requester_user = ? AND NOT {REQUESTER_SEALED})"),
            &f.user,
            &mut params,
        );
        text("basis = ?", &f.basis, &mut params);
        text("session_ref = ?", &f.session, &mut params);
        text("decision = ?", &f.decision, &mut params);
        text("kind = ?", &f.kind, &mut params);
        let mut int = |clause: &str, v: Option<i64>, params: &mut Vec<Param>| {
            if let Some(v) = v {
                params.push(Param::Int(v));
                clauses.push(clause.replace('?', &format!("${}", params.len())));
            }
        };
        int("at_ms >= ?", f.from_ms, &mut params);
        int("at_ms < ?", f.until_ms, &mut params);
        // A cursor beyond any index the store can hold means nothing comes after it (not a 500).
        int(
            "idx > ?",
            f.after.map(|a| i64::try_from(a).unwrap_or(i64::MAX)),
            &mut params,
        );
        // A period also bounds the index range, through the covering time index: the query then
        // walks just that stretch of the log in index order and stops at the page's limit,
        // instead of sorting every entry of the period. (Exact whatever the order of times.)
        if f.from_ms.is_some() || f.until_ms.is_some() {
            let period: Vec<String> = clauses.iter().filter(|c| c.starts_with("at_ms ")).cloned().collect();
            let period = period.join(" AND ");
            // Only the bounds the period has: each is a scan of the period's stretch of the time
            // index. (`idx + 0`: a bare MIN(idx) would be answered by walking the whole log in
            // index order until the first entry of the period.)
            if f.from_ms.is_some() {
                clauses.push(format!(
                    "idx >= (SELECT MIN(idx + 0) FROM audit_entries WHERE {period})"
                ));
            }
            if f.until_ms.is_some() {
                clauses.push(format!(
                    "idx <= (SELECT MAX(idx + 0) FROM audit_entries WHERE {period})"
                ));
            }
        }
        params.push(Param::Int(i64::from(f.limit)));
        let limit = format!("${}", params.len());
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let sql = sqlx::AssertSqlSafe(format!("{COLUMNS}{filter} ORDER BY idx LIMIT {limit}"));
        bind_all(sqlx::query_as::<_, Row>(sql), params)
            .fetch_all(&mut *self.conn().await?)
            .await?
            .into_iter()
            .map(found)
            .collect()
    }

    /// One entry with its index columns, if it exists and is in `scope` (an index beyond what
    /// the store can hold is simply not there).
    pub async fn audit_entry(&self, scope: &LogScope, index: u64) -> Result<Option<FoundEntry>, StoreError> {
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        let mut params = vec![Param::Int(index)];
        let scoped = scope_clause(scope, &mut params)
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default();
        let sql = sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE idx = $1{scoped}"));
        let row: Option<Row> = bind_all(sqlx::query_as::<_, Row>(sql), params)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.map(found).transpose()
    }

    /// One entry whatever its agencies: for the operator's command line only (`tsunagi audit
    /// proof`), which reads the database directly anyway. The API reads through [`Self::audit_entry`].
    pub async fn audit_entry_for_operator(&self, index: u64) -> Result<Option<FoundEntry>, StoreError> {
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE idx = $1")))
            .bind(index)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.map(found).transpose()
    }

    /// Every disclosure entry (allowed or refused) in `scope` about the subject with this pseudonym.
    pub async fn disclosures_about(
        &self,
        scope: &LogScope,
        subject_pseudonym: &str,
    ) -> Result<Vec<FoundEntry>, StoreError> {
        let mut params = vec![Param::Text(subject_pseudonym.to_owned())];
        let scoped = scope_clause(scope, &mut params)
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default();
        let sql = sqlx::AssertSqlSafe(format!(
            "{COLUMNS} WHERE subject_pseudonym = $1 AND kind = 'disclosure'{scoped} ORDER BY idx"
        ));
        bind_all(sqlx::query_as::<_, Row>(sql), params)
            .fetch_all(&mut *self.conn().await?)
            .await?
            .into_iter()
            .map(found)
            .collect()
    }

    /// Whether some entry in `scope` names this subject or household pseudonym. Reads of the log
    /// do not count: otherwise an officer could bring any pseudonym into scope by searching for it.
    pub async fn pseudonym_in_scope(&self, scope: &LogScope, pseudonym: &str) -> Result<bool, StoreError> {
        let mut params = vec![Param::Text(pseudonym.to_owned())];
        let scoped = scope_clause(scope, &mut params)
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default();
        let sql = sqlx::AssertSqlSafe(format!(
            "{COLUMNS} WHERE (subject_pseudonym = $1 OR household_pseudonym = $1) AND kind <> 'log-read'{scoped} LIMIT 1"
        ));
        let row = bind_all(sqlx::query_as::<_, Row>(sql), params)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(row.is_some())
    }

    /// Known pseudonyms among `pseudonyms`: pseudonym → (kind, id).
    pub async fn pseudonyms(&self, pseudonyms: &[String]) -> Result<HashMap<String, (String, String)>, StoreError> {
        let mut out = HashMap::new();
        for chunk in pseudonyms.chunks(200) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT pseudonym, kind, ref_id FROM audit_pseudonyms WHERE pseudonym IN ({})",
                marks.join(", ")
            ));
            let mut q = sqlx::query_as::<_, (String, String, String)>(sql);
            for p in chunk {
                q = q.bind(p.clone());
            }
            for (p, kind, id) in q.fetch_all(&mut *self.conn().await?).await? {
                out.insert(p, (kind, id));
            }
        }
        Ok(out)
    }

    /// Subjects and households whose pseudonyms are not mapped yet: (kind, id).
    pub async fn unmapped_people(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT 'subject', s.id FROM subjects s WHERE NOT EXISTS \
             (SELECT 1 FROM audit_pseudonyms p WHERE p.kind = 'subject' AND p.ref_id = s.id) \
             UNION ALL SELECT 'household', h.id FROM households h WHERE NOT EXISTS \
             (SELECT 1 FROM audit_pseudonyms p WHERE p.kind = 'household' AND p.ref_id = h.id)",
        )
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows)
    }

    /// Stores (pseudonym, kind, id) triples; known pseudonyms are kept.
    pub async fn insert_pseudonyms(&self, rows: &[(String, String, String)]) -> Result<(), StoreError> {
        for chunk in rows.chunks(200) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${}, ${})", i * 3 + 1, i * 3 + 2, i * 3 + 3))
                .collect();
            let sql = sqlx::AssertSqlSafe(format!(
                "INSERT INTO audit_pseudonyms (pseudonym, kind, ref_id) VALUES {} ON CONFLICT (pseudonym) DO NOTHING",
                values.join(", ")
            ));
            let mut q = sqlx::query(sql);
            for (p, k, id) in chunk {
                q = q.bind(p.clone()).bind(k.clone()).bind(id.clone());
            }
            q.execute(&mut *self.conn().await?).await?;
        }
        Ok(())
    }

    /// Disclosure decisions in `scope` with `from_ms <= at < until_ms`, counted per local day
    /// (days since the epoch, shifted by `day_offset_ms`), basis, requesting agency and outcome.
    /// The range is read through the `audit_at` index; no entry bodies are read.
    pub async fn disclosure_counts(
        &self,
        scope: &LogScope,
        from_ms: i64,
        until_ms: i64,
        day_offset_ms: i64,
    ) -> Result<Vec<(i64, String, String, String, u64)>, StoreError> {
        let mut params = vec![Param::Int(from_ms), Param::Int(until_ms), Param::Int(day_offset_ms)];
        let scoped = scope_clause(scope, &mut params)
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default();
        // Only generated placeholders go into the text.
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT (at_ms + $3) / 86400000 AS day, COALESCE(basis, ''), COALESCE(requester_agency, ''), decision, COUNT(*) \
             FROM audit_entries WHERE kind = 'disclosure' AND at_ms >= $1 AND at_ms < $2{scoped} \
             GROUP BY (at_ms + $3) / 86400000, COALESCE(basis, ''), COALESCE(requester_agency, ''), decision \
             ORDER BY 1, 2, 3, 4"
        ));
        let mut q = sqlx::query_as::<_, (i64, String, String, String, i64)>(sql);
        for p in params {
            q = match p {
                Param::Text(s) => q.bind(s),
                Param::Int(i) => q.bind(i),
            };
        }
        let rows = q.fetch_all(&mut *self.conn().await?).await?;
        Ok(rows
            .into_iter()
            .map(|(d, b, a, o, n)| (d, b, a, o, u64::try_from(n).unwrap_or(0)))
            .collect())
    }
}
