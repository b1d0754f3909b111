-- Support plans (支援プラン) and monitoring (モニタリング), issue 11 (docs/rules.md#R-T4).
-- A plan is about one person (subjects) and held by a team: the agencies with a role in its
-- current version. Content (goals, roles text, lead persons, agreed services, progress) is case
-- data, sealed with the subject's data key (category case-notes); the columns here are what
-- access checks, the coordinator's list and the figures need.
CREATE TABLE support_plans (
    id                TEXT PRIMARY KEY,
    subject_id        TEXT NOT NULL REFERENCES subjects (id),
    state             TEXT NOT NULL CHECK (state IN ('active', 'ended')),
    created_by_agency TEXT NOT NULL REFERENCES agencies (id),
    created_by_user   TEXT NOT NULL,
    created_at_ms     INTEGER NOT NULL,
    current_version   INTEGER NOT NULL,
    ended_at_ms       INTEGER,
    -- a code (goals-met, moved, declined, transferred, deceased, other), never free text
    end_reason        TEXT,
    ended_by_agency   TEXT
);
CREATE INDEX support_plans_subject ON support_plans (subject_id);

-- Each agreed version: who agreed it, where (the session, if agreed in one), on which basis.
CREATE TABLE plan_versions (
    plan_id           TEXT NOT NULL REFERENCES support_plans (id),
    version           INTEGER NOT NULL,
    -- consent or support-meeting
    basis_kind        TEXT NOT NULL CHECK (basis_kind IN ('consent', 'support-meeting')),
    -- the session whose members form the team (basis support-meeting)
    basis_session_id  TEXT REFERENCES sessions (id),
    -- the session the version was agreed in, if any
    agreed_in_session TEXT REFERENCES sessions (id),
    agreed_by_agency  TEXT NOT NULL REFERENCES agencies (id),
    agreed_by_user    TEXT NOT NULL,
    agreed_at_ms      INTEGER NOT NULL,
    content           BLOB NOT NULL,
    PRIMARY KEY (plan_id, version)
);

-- Basis consent: the consents a version names (each must name the receiving agency).
CREATE TABLE plan_basis_consents (
    plan_id    TEXT NOT NULL REFERENCES support_plans (id),
    version    INTEGER NOT NULL,
    consent_id TEXT NOT NULL REFERENCES consents (id),
    PRIMARY KEY (plan_id, version, consent_id)
);

-- The agencies with a role in a version (the role text and lead person are in the content).
CREATE TABLE plan_roles (
    plan_id   TEXT NOT NULL REFERENCES support_plans (id),
    version   INTEGER NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies (id),
    PRIMARY KEY (plan_id, version, agency_id)
);
CREATE INDEX plan_roles_agency ON plan_roles (agency_id);

-- One row per agency with a role per monitoring round.
CREATE TABLE plan_monitoring (
    plan_id                TEXT NOT NULL REFERENCES support_plans (id),
    round                  INTEGER NOT NULL,
    agency_id              TEXT NOT NULL REFERENCES agencies (id),
    due_at_ms              INTEGER NOT NULL,
    recorded_at_ms         INTEGER,
    -- 1 when recorded by due + grace_days, 0 when later; NULL until recorded
    on_time                INTEGER,
    recorded_by_user       TEXT,
    -- progress against the agency's role, sealed with the subject's data key
    progress               BLOB,
    -- when the coordinator and the agency were told the round is overdue
    overdue_notified_at_ms INTEGER,
    PRIMARY KEY (plan_id, round, agency_id)
);
CREATE INDEX plan_monitoring_due ON plan_monitoring (recorded_at_ms, due_at_ms);
