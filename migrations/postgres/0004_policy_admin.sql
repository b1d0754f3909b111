-- Sharing-policy administration (PostgreSQL): immutable policy versions and change proposals.
-- Kept in lockstep with ../sqlite/0004_policy_admin.sql.

-- Every version ever in force. Rules are the normalised policy.csv text of that version.
CREATE TABLE policy_versions (
    version       BIGINT PRIMARY KEY,
    model         TEXT NOT NULL,
    rules         TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('seed', 'apply', 'rollback')),
    author        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    proposal_id   TEXT,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE policy_proposals (
    id              TEXT PRIMARY KEY,
    base_version    BIGINT NOT NULL REFERENCES policy_versions (version),
    -- newline-separated rules
    added           TEXT NOT NULL,
    removed         TEXT NOT NULL,
    reason          TEXT NOT NULL,
    author          TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    approved_by     TEXT,
    approved_at_ms  BIGINT,
    applied_version BIGINT
);
