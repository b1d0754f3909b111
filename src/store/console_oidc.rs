//! Console logins pending at the identity provider (see `migrations/*/0009_console_oidc.sql`).
//! Not changes on record: a pending login moves no right; the login it may become is logged
//! (`console-login` or `console-login-failed`).

use super::{Store, StoreError};

/// A login started at the hub, waiting for the identity provider's answer.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingOidcLogin {
    /// SHA-256 (hex) of the `state` the browser carries.
    pub state_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub cert_fingerprint: String,
    /// SHA-256 (hex) of the login cookie the browser was given.
    pub browser_hash: String,
    pub created_at_ms: i64,
}

/// Never prints the nonce or the PKCE verifier.
impl std::fmt::Debug for PendingOidcLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingOidcLogin")
            .field("state_hash", &self.state_hash)
            .field("cert_fingerprint", &self.cert_fingerprint)
            .field("created_at_ms", &self.created_at_ms)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Keeps a started login; first drops the ones started before `stale_before_ms` (they can
    /// no longer succeed).
    pub async fn insert_pending_oidc_login(
        &self,
        login: &PendingOidcLogin,
        stale_before_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM console_oidc_logins WHERE created_at_ms < $1")
            .bind(stale_before_ms)
            .execute(&mut *self.conn().await?)
            .await?;
        sqlx::query(
            "INSERT INTO console_oidc_logins (state_hash, nonce, pkce_verifier, cert_fingerprint, browser_hash, \
             created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(login.state_hash.clone())
        .bind(login.nonce.clone())
        .bind(login.pkce_verifier.clone())
        .bind(login.cert_fingerprint.clone())
        .bind(login.browser_hash.clone())
        .bind(login.created_at_ms)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// Takes the pending login with this state hash: it is deleted in the same statement, so
    /// that two callbacks with one state cannot both have it. `None` when there is none (never
    /// started, or taken already).
    pub async fn take_pending_oidc_login(&self, state_hash: &str) -> Result<Option<PendingOidcLogin>, StoreError> {
        let row: Option<(String, String, String, String, String, i64)> = sqlx::query_as(
            "DELETE FROM console_oidc_logins WHERE state_hash = $1 \
             RETURNING state_hash, nonce, pkce_verifier, cert_fingerprint, browser_hash, created_at_ms",
        )
        .bind(state_hash.to_owned())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.map(
            |(state_hash, nonce, pkce_verifier, cert_fingerprint, browser_hash, created_at_ms)| PendingOidcLogin {
                state_hash,
                nonce,
                pkce_verifier,
                cert_fingerprint,
                browser_hash,
                created_at_ms,
            },
        ))
    }
}
