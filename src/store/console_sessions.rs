//! Console sessions held on the server (see `migrations/*/0008_console_sessions.sql`). Opening
//! and ending one is a change on record: both take the [`Logged`] of their log entry.

use super::{Store, StoreError};
use crate::audit::Logged;

/// One console session as stored. The cookie's token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRow {
    pub id: String,
    pub token_hash: String,
    pub user_id: String,
    pub agency: String,
    /// Role names, comma-separated.
    pub roles: String,
    pub cert_fingerprint: String,
    /// `dev` or `oidc`.
    pub method: String,
    pub mfa: bool,
    pub csrf_token: String,
    pub created_at_ms: i64,
    pub last_seen_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub end_reason: Option<String>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

const COLUMNS: &str = "id, token_hash, user_id, agency, roles, cert_fingerprint, method, mfa, csrf_token, \
                       created_at_ms, last_seen_ms, ended_at_ms, end_reason";

fn from_row(r: Row) -> ConsoleSessionRow {
    let (
        id,
        token_hash,
        user_id,
        agency,
        roles,
        cert_fingerprint,
        method,
        mfa,
        csrf_token,
        created,
        seen,
        ended,
        reason,
    ) = r;
    ConsoleSessionRow {
        id,
        token_hash,
        user_id,
        agency,
        roles,
        cert_fingerprint,
        method,
        mfa: mfa != 0,
        csrf_token,
        created_at_ms: created,
        last_seen_ms: seen,
        ended_at_ms: ended,
        end_reason: reason,
    }
}

impl Store {
    /// Opens a session whose login entry is durable.
    pub async fn insert_console_session(&self, _logged: &Logged, s: &ConsoleSessionRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO console_sessions (id, token_hash, user_id, agency, roles, cert_fingerprint, method, mfa, \
             csrf_token, created_at_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(s.id.clone())
        .bind(s.token_hash.clone())
        .bind(s.user_id.clone())
        .bind(s.agency.clone())
        .bind(s.roles.clone())
        .bind(s.cert_fingerprint.clone())
        .bind(s.method.clone())
        .bind(i64::from(s.mfa))
        .bind(s.csrf_token.clone())
        .bind(s.created_at_ms)
        .bind(s.last_seen_ms)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// The session whose cookie token hashes to `token_hash`, ended or not.
    pub async fn console_session_by_token(&self, token_hash: &str) -> Result<Option<ConsoleSessionRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM console_sessions WHERE token_hash = $1"));
        let row: Option<Row> = sqlx::query_as(sql)
            .bind(token_hash.to_owned())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(row.map(from_row))
    }

    /// The session with id `id`, ended or not.
    pub async fn console_session(&self, id: &str) -> Result<Option<ConsoleSessionRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM console_sessions WHERE id = $1"));
        let row: Option<Row> = sqlx::query_as(sql)
            .bind(id.to_owned())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(row.map(from_row))
    }

    /// Notes activity on an open session (the idle timeout counts from here). Not a change on
    /// record: it moves no right, it only keeps the session from timing out.
    pub async fn touch_console_session(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE console_sessions SET last_seen_ms = $1 WHERE id = $2 AND ended_at_ms IS NULL")
            .bind(now_ms)
            .bind(id.to_owned())
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// Ends an open session (logout, revocation, timeout) once its entry is durable; `false` when
    /// it had ended already.
    pub async fn end_console_session(
        &self,
        _logged: &Logged,
        id: &str,
        now_ms: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE console_sessions SET ended_at_ms = $1, end_reason = $2 WHERE id = $3 AND ended_at_ms IS NULL",
        )
        .bind(now_ms)
        .bind(reason.to_owned())
        .bind(id.to_owned())
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Open sessions of one agency (not ended, seen at or after `seen_since_ms`), newest first.
    pub async fn open_console_sessions(
        &self,
        agency: &str,
        seen_since_ms: i64,
    ) -> Result<Vec<ConsoleSessionRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM console_sessions WHERE ended_at_ms IS NULL AND last_seen_ms >= $1 \
             AND agency = $2 ORDER BY created_at_ms DESC LIMIT 500"
        ));
        let rows: Vec<Row> = sqlx::query_as(sql)
            .bind(seen_since_ms)
            .bind(agency.to_owned())
            .fetch_all(&mut *self.conn().await?)
            .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }
}
