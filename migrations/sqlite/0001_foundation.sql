-- Tsunagi foundation schema (SQLite). Kept in lockstep with ../postgres/0001_foundation.sql.
-- Times are milliseconds since the Unix epoch (UTC); ids are text; ciphertexts are blobs.

CREATE TABLE organs (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('public', 'private'))
);

CREATE TABLE agencies (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    organ_id TEXT NOT NULL REFERENCES organs (id)
);

INSERT INTO organs (id, name, kind) VALUES
    ('ota-ward', 'Ota ward mayor''s departments (区長部局)', 'public'),
    ('regional-support-operator', 'Contracted operator of the regional comprehensive support centre', 'private');

INSERT INTO agencies (id, name, organ_id) VALUES
    ('regional-support-centre', '地域包括支援センター (regional comprehensive support centre)', 'regional-support-operator'),
    ('disability-centre', '障がい者総合サポートセンター (disability general support centre)', 'ota-ward'),
    ('jobota', 'JOBOTA 生活再建・就労サポートセンター (livelihood & employment support)', 'ota-ward'),
    ('sapota', 'SAPOTA ひきこもり支援室 (hikikomori support office)', 'ota-ward'),
    ('child-services', '子ども家庭支援センター (child & family support centre)', 'ota-ward'),
    ('welfare-coordination', '地域福祉課 多機関連携調整担当 (multi-agency coordination)', 'ota-ward');

CREATE TABLE households (
    id                TEXT PRIMARY KEY,
    created_by_agency TEXT NOT NULL REFERENCES agencies (id),
    created_at_ms     INTEGER NOT NULL
);

CREATE TABLE subjects (
    id                TEXT PRIMARY KEY,
    household_id      TEXT REFERENCES households (id),
    created_by_agency TEXT NOT NULL REFERENCES agencies (id),
    created_at_ms     INTEGER NOT NULL,
    -- the subject's data key, wrapped by the key-encryption key named in kek_id
    wrapped_key       BLOB NOT NULL,
    kek_id            TEXT NOT NULL
);
CREATE INDEX subjects_household ON subjects (household_id);

-- Each agency knows a subject under its own local id; the hub links them.
CREATE TABLE subject_links (
    agency_id  TEXT NOT NULL REFERENCES agencies (id),
    local_id   TEXT NOT NULL,
    subject_id TEXT NOT NULL REFERENCES subjects (id),
    PRIMARY KEY (agency_id, local_id)
);
CREATE INDEX subject_links_subject ON subject_links (subject_id);

CREATE TABLE records (
    id              TEXT PRIMARY KEY,
    subject_id      TEXT NOT NULL REFERENCES subjects (id),
    owner_agency    TEXT NOT NULL REFERENCES agencies (id),
    purpose         TEXT NOT NULL,
    -- provenance (DOMAIN.md G3): the basis under which the record came into the hub, and the body
    origin_basis    TEXT NOT NULL,
    origin_body     TEXT,
    created_by_user TEXT NOT NULL,
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX records_subject_owner ON records (subject_id, owner_agency);

CREATE TABLE sections (
    id         TEXT PRIMARY KEY,
    record_id  TEXT NOT NULL REFERENCES records (id),
    position   INTEGER NOT NULL,
    category   TEXT NOT NULL,
    ciphertext BLOB NOT NULL
);
CREATE INDEX sections_record ON sections (record_id);

CREATE TABLE consents (
    id                 TEXT PRIMARY KEY,
    subject_id         TEXT NOT NULL REFERENCES subjects (id),
    recorded_by_agency TEXT NOT NULL REFERENCES agencies (id),
    recorded_by_user   TEXT NOT NULL,
    given_by           TEXT NOT NULL,
    method             TEXT NOT NULL,
    -- JSON arrays
    recipients         TEXT NOT NULL,
    purposes           TEXT NOT NULL,
    categories         TEXT NOT NULL,
    valid_from_ms      INTEGER NOT NULL,
    valid_until_ms     INTEGER NOT NULL,
    -- representative, witness and evidence reference, sealed with the subject's data key
    sealed_details     BLOB NOT NULL,
    recorded_at_ms     INTEGER NOT NULL,
    revoked_at_ms      INTEGER,
    revoked_by_user    TEXT,
    revocation_reason  TEXT
);
CREATE INDEX consents_subject ON consents (subject_id);

-- The disclosure log. `entry` holds the exact bytes that were hashed: leaf_hash = SHA-256(0x00 || entry).
-- The other columns are copies of entry fields for searching.
CREATE TABLE audit_entries (
    idx                 INTEGER PRIMARY KEY,
    leaf_hash           BLOB NOT NULL,
    entry               BLOB NOT NULL,
    at_ms               INTEGER NOT NULL,
    kind                TEXT NOT NULL,
    decision            TEXT NOT NULL,
    reason              TEXT,
    subject_pseudonym   TEXT,
    household_pseudonym TEXT,
    requester_agency    TEXT,
    requester_user      TEXT,
    owner_agency        TEXT,
    basis               TEXT
);
CREATE INDEX audit_subject ON audit_entries (subject_pseudonym);
CREATE INDEX audit_requester_agency ON audit_entries (requester_agency, at_ms);
CREATE INDEX audit_at ON audit_entries (at_ms);

CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END;
