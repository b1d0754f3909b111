-- Meeting membership is something a person does, not something the secretariat writes
-- (issue 9): a roster row is an invitation until the invited user confirms it with their own
-- token; pledges and roster rows are per user *and agency* (user ids are only unique within
-- an agency). Rows that existed before this migration stay unconfirmed invitations.
CREATE TABLE roster_v5 (
    session_id      TEXT NOT NULL REFERENCES sessions (id),
    user_id         TEXT NOT NULL,
    agency_id       TEXT NOT NULL REFERENCES agencies (id),
    attendance      TEXT NOT NULL CHECK (attendance IN ('member', 'attendee')),
    added_at_ms     INTEGER NOT NULL,
    invited_by_user TEXT,
    confirmed_at_ms INTEGER,
    removed_at_ms   INTEGER,
    PRIMARY KEY (session_id, user_id, agency_id)
);
INSERT INTO roster_v5 (session_id, user_id, agency_id, attendance, added_at_ms, removed_at_ms)
    SELECT session_id, user_id, agency_id, attendance, added_at_ms, removed_at_ms FROM roster;
DROP TABLE roster;
ALTER TABLE roster_v5 RENAME TO roster;

CREATE TABLE pledges_v5 (
    body_id        TEXT NOT NULL REFERENCES bodies (id),
    user_id        TEXT NOT NULL,
    agency_id      TEXT NOT NULL REFERENCES agencies (id),
    version        INTEGER NOT NULL,
    accepted_at_ms INTEGER NOT NULL,
    PRIMARY KEY (body_id, user_id, agency_id, version)
);
INSERT INTO pledges_v5 (body_id, user_id, agency_id, version, accepted_at_ms)
    SELECT body_id, user_id, agency_id, version, accepted_at_ms FROM pledges;
DROP TABLE pledges;
ALTER TABLE pledges_v5 RENAME TO pledges;

-- Art. 106-6(3): the asked agency answers. 'provided' with the categories it decided to give,
-- or 'declined' with a reason. Until answered, the request releases nothing.
ALTER TABLE info_requests ADD COLUMN answer TEXT CHECK (answer IN ('provided', 'declined'));
ALTER TABLE info_requests ADD COLUMN answer_categories TEXT;
ALTER TABLE info_requests ADD COLUMN answer_reason TEXT;
ALTER TABLE info_requests ADD COLUMN answered_by_user TEXT;
ALTER TABLE info_requests ADD COLUMN answered_at_ms INTEGER;
CREATE INDEX info_requests_asked ON info_requests (asked_agency);
