-- Referrals (つなぎ, issue 11, docs/rules.md#R-T1): agency A refers a person to agency B under a
-- basis (a consent naming B, or a meeting session both attend). The note is sealed with the
-- subject's data key; what travels with the referral is released only through the disclosure
-- road. answered_at_ms is set on accept, decline or withdraw.
CREATE TABLE referrals (
    id              TEXT PRIMARY KEY,
    subject_id      TEXT NOT NULL REFERENCES subjects (id),
    from_agency     TEXT NOT NULL REFERENCES agencies (id),
    from_user       TEXT NOT NULL,
    to_agency       TEXT NOT NULL REFERENCES agencies (id),
    purpose         TEXT NOT NULL,
    -- category names, comma-separated, in category order
    categories      TEXT NOT NULL,
    -- consent, support-meeting or statutory-conference, and the consent or session id
    basis_type      TEXT NOT NULL CHECK (basis_type IN ('consent', 'support-meeting', 'statutory-conference')),
    basis_ref       TEXT NOT NULL,
    -- the note, sealed (AES-256-GCM under the subject's data key); NULL when none was given
    note_ciphertext BYTEA,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'declined', 'withdrawn')),
    created_at_ms   BIGINT NOT NULL,
    answered_at_ms  BIGINT,
    answered_by_user TEXT,
    decline_reason  TEXT,
    -- the case number the receiving agency linked the person under when it accepted
    accepted_local_id TEXT
);
CREATE INDEX referrals_to ON referrals (to_agency, created_at_ms);
CREATE INDEX referrals_from ON referrals (from_agency, created_at_ms);
CREATE INDEX referrals_subject ON referrals (subject_id);
