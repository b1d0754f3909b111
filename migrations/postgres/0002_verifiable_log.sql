-- The verifiable disclosure log (PostgreSQL). Kept in lockstep with ../sqlite/0002_verifiable_log.sql.

-- The meeting session a disclosure was made under, when its basis names one (filled from the entry).
ALTER TABLE audit_entries ADD COLUMN session_ref TEXT;
CREATE INDEX audit_session ON audit_entries (session_ref);
CREATE INDEX audit_household ON audit_entries (household_pseudonym);
CREATE INDEX audit_requester_user ON audit_entries (requester_agency, requester_user, at_ms);
CREATE INDEX audit_owner_agency ON audit_entries (owner_agency, at_ms);

-- Signed checkpoints (C2SP tlog-checkpoint in a signed note). `note` is the exact signed text.
CREATE TABLE audit_checkpoints (
    size         BIGINT PRIMARY KEY,
    root         BYTEA NOT NULL,
    note         TEXT NOT NULL,
    key_name     TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    signed_at_ms BIGINT NOT NULL
);

-- Roots of complete subtrees of 256^level entries (level >= 1): hash = MTH(D[idx * 256^level :
-- (idx + 1) * 256^level]), the hashes of C2SP tlog-tiles tiles above level 0. A cache for proofs
-- and roots; `audit verify` recomputes and checks every one from the entries.
CREATE TABLE audit_subtrees (
    level BIGINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_subtrees_no_update BEFORE UPDATE OR DELETE ON audit_subtrees
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_subtrees_no_truncate BEFORE TRUNCATE ON audit_subtrees
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Alerts for privacy officers (unusual volume, failed verification, …). One per kind, scope and
-- local day.
CREATE TABLE audit_alerts (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    day          TEXT NOT NULL,
    raised_at_ms BIGINT NOT NULL,
    detail       TEXT NOT NULL,
    UNIQUE (kind, scope, day)
);
CREATE INDEX audit_alerts_raised ON audit_alerts (raised_at_ms);

-- Pseudonym → subject or household id, filled on demand for privacy officers.
CREATE TABLE audit_pseudonyms (
    pseudonym TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,
    ref_id    TEXT NOT NULL
);
CREATE INDEX audit_pseudonyms_ref ON audit_pseudonyms (kind, ref_id);
