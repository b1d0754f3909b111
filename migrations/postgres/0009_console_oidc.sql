-- Console logins at the identity provider, pending (PostgreSQL). Kept in lockstep with
-- ../sqlite/0009_console_oidc.sql.
-- A login started with "ログイン（区の認証基盤）" waits here until the identity provider sends the
-- browser back: the state (only its SHA-256 is kept; the browser carries the value through the
-- identity provider), the ID token's nonce, the PKCE verifier, the client certificate the login
-- was started over, and the SHA-256 of the browser's login cookie (`__Host-tsunagi-login`). The
-- callback takes the row (deleting it: a state is good once), and refuses it when it is older
-- than the configured expiry, or comes over another certificate or from another browser.
CREATE TABLE console_oidc_logins (
    state_hash       TEXT PRIMARY KEY,
    nonce            TEXT NOT NULL,
    pkce_verifier    TEXT NOT NULL,
    cert_fingerprint TEXT NOT NULL,
    browser_hash     TEXT NOT NULL,
    created_at_ms    BIGINT NOT NULL
);
CREATE INDEX console_oidc_logins_created ON console_oidc_logins (created_at_ms);
