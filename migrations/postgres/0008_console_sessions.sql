-- Console sessions (PostgreSQL). Kept in lockstep with ../sqlite/0008_console_sessions.sql.
-- A person's browser session in the console, held on the server: the cookie carries only an
-- opaque random token, of which the table keeps the SHA-256 (a copy of this table lets nobody
-- log in). A session is bound to the client certificate it was opened over, ends after an idle
-- and an absolute timeout, at logout, or when an admin revokes it. Logins, logouts and
-- revocations are log entries written before the row changes.
CREATE TABLE console_sessions (
    id               TEXT PRIMARY KEY,
    token_hash       TEXT NOT NULL UNIQUE,
    user_id          TEXT NOT NULL,
    agency           TEXT NOT NULL,
    roles            TEXT NOT NULL,
    cert_fingerprint TEXT NOT NULL,
    method           TEXT NOT NULL,
    mfa              BIGINT NOT NULL,
    csrf_token       TEXT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    last_seen_ms     BIGINT NOT NULL,
    ended_at_ms      BIGINT,
    end_reason       TEXT
);
CREATE INDEX console_sessions_agency ON console_sessions (agency, ended_at_ms);
