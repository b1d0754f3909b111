-- Support meetings (Social Welfare Act Art. 106-6), statutory conferences, legal reports,
-- emergency grants, internal-use assignments, provenance approvals and notifications (PostgreSQL).
-- Kept in lockstep with ../sqlite/0003_legal_bases.sql.

-- A standing body: a support meeting or a statutory conference of a configured type.
CREATE TABLE bodies (
    id                 TEXT PRIMARY KEY,
    kind               TEXT NOT NULL CHECK (kind IN ('support-meeting', 'statutory-conference')),
    conference_type    TEXT,
    name               TEXT NOT NULL,
    legal_basis        TEXT NOT NULL,
    rules_text         TEXT NOT NULL,
    secretariat_agency TEXT NOT NULL REFERENCES agencies (id),
    -- days after a session during which members keep access
    window_days        BIGINT NOT NULL,
    created_by_user    TEXT NOT NULL,
    created_at_ms      BIGINT NOT NULL
);

-- Versioned confidentiality pledge texts (誓約書) and who accepted which version.
CREATE TABLE pledge_texts (
    body_id       TEXT NOT NULL REFERENCES bodies (id),
    version       BIGINT NOT NULL,
    text          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (body_id, version)
);
CREATE TABLE pledges (
    body_id        TEXT NOT NULL REFERENCES bodies (id),
    user_id        TEXT NOT NULL,
    agency_id      TEXT NOT NULL REFERENCES agencies (id),
    version        BIGINT NOT NULL,
    accepted_at_ms BIGINT NOT NULL,
    PRIMARY KEY (body_id, user_id, version)
);

CREATE TABLE sessions (
    id                     TEXT PRIMARY KEY,
    body_id                TEXT NOT NULL REFERENCES bodies (id),
    held_at_ms             BIGINT NOT NULL,
    agenda_published_at_ms BIGINT,
    decision_summary       TEXT,
    created_at_ms          BIGINT NOT NULL
);
CREATE INDEX sessions_body ON sessions (body_id);

-- Members and attendees of one session. A removed row is a former member: the statutory duty
-- of confidentiality binds them still, so the row stays.
CREATE TABLE roster (
    session_id     TEXT NOT NULL REFERENCES sessions (id),
    user_id        TEXT NOT NULL,
    agency_id      TEXT NOT NULL REFERENCES agencies (id),
    attendance     TEXT NOT NULL CHECK (attendance IN ('member', 'attendee')),
    added_at_ms    BIGINT NOT NULL,
    removed_at_ms  BIGINT,
    PRIMARY KEY (session_id, user_id)
);

CREATE TABLE agenda_items (
    id            TEXT PRIMARY KEY,
    session_id    TEXT NOT NULL REFERENCES sessions (id),
    subject_id    TEXT REFERENCES subjects (id),
    household_id  TEXT REFERENCES households (id),
    added_at_ms   BIGINT NOT NULL,
    removed_at_ms BIGINT
);
CREATE INDEX agenda_session ON agenda_items (session_id);

-- Art. 106-6(3): the meeting asks a named agency for material on a named subject.
CREATE TABLE info_requests (
    id                  TEXT PRIMARY KEY,
    session_id          TEXT NOT NULL REFERENCES sessions (id),
    asked_agency        TEXT NOT NULL REFERENCES agencies (id),
    subject_id          TEXT NOT NULL REFERENCES subjects (id),
    recipient_user      TEXT NOT NULL,
    recipient_agency    TEXT NOT NULL REFERENCES agencies (id),
    created_by_user     TEXT NOT NULL,
    created_at_ms       BIGINT NOT NULL
);

-- Staff assigned to the agreed follow-up support keep access after the window, until `until_ms`.
CREATE TABLE followups (
    id              TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL REFERENCES sessions (id),
    subject_id      TEXT NOT NULL REFERENCES subjects (id),
    user_id         TEXT NOT NULL,
    agency_id       TEXT NOT NULL REFERENCES agencies (id),
    until_ms        BIGINT NOT NULL,
    created_by_user TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL
);

CREATE TABLE legal_reports (
    id               TEXT PRIMARY KEY,
    report_type      TEXT NOT NULL,
    subject_id       TEXT NOT NULL REFERENCES subjects (id),
    reporter_agency  TEXT NOT NULL REFERENCES agencies (id),
    reporter_user    TEXT NOT NULL,
    receiving_agency TEXT NOT NULL REFERENCES agencies (id),
    record_id        TEXT NOT NULL REFERENCES records (id),
    created_at_ms    BIGINT NOT NULL
);

CREATE TABLE emergency_grants (
    id              TEXT PRIMARY KEY,
    subject_id      TEXT NOT NULL REFERENCES subjects (id),
    owner_agency    TEXT NOT NULL REFERENCES agencies (id),
    user_id         TEXT NOT NULL,
    agency_id       TEXT NOT NULL REFERENCES agencies (id),
    -- the stated risk and why consent is impracticable, sealed with the subject's data key
    sealed_grounds  BYTEA NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    expires_at_ms   BIGINT NOT NULL,
    reviewed_at_ms  BIGINT,
    reviewed_by     TEXT,
    review_outcome  TEXT,
    review_note     TEXT
);

-- Internal use (§3.6): staff of the owning organ assigned to the subject's case.
CREATE TABLE case_assignments (
    subject_id      TEXT NOT NULL REFERENCES subjects (id),
    agency_id       TEXT NOT NULL REFERENCES agencies (id),
    user_id         TEXT NOT NULL,
    assigned_by     TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    PRIMARY KEY (subject_id, agency_id, user_id)
);

-- G3: records that came from a statutory body, and the coordinator approvals that let them
-- travel under another basis.
ALTER TABLE records ADD COLUMN origin_session TEXT;
CREATE TABLE origin_approvals (
    record_id        TEXT NOT NULL REFERENCES records (id),
    basis            TEXT NOT NULL,
    approved_by_user TEXT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    PRIMARY KEY (record_id, basis)
);

-- Notices for agencies, e.g. that a consent under which they received data was revoked.
CREATE TABLE notifications (
    id            TEXT PRIMARY KEY,
    agency_id     TEXT NOT NULL REFERENCES agencies (id),
    kind          TEXT NOT NULL,
    reference     TEXT NOT NULL,
    message       TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX notifications_agency ON notifications (agency_id, created_at_ms);

-- The basis reference (consent, session, report, grant id) of each log entry, for searching.
ALTER TABLE audit_entries ADD COLUMN basis_ref TEXT;
CREATE INDEX audit_basis_ref ON audit_entries (basis_ref);
