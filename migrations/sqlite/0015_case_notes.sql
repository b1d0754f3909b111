-- Shared case notes (issue 11, docs/rules.md#R-T9): a plan's team posts notes to the person's
-- team timeline. Content (and a special-care note's justification) is sealed with the subject's
-- data key, bound to the plan, the note and its category. Notes live only here — never in
-- records/sections — so the disclosure road can never release one onward (docs/rules.md#R-T11).
CREATE TABLE case_notes (
    id                 TEXT PRIMARY KEY,
    plan_id            TEXT NOT NULL REFERENCES support_plans (id),
    subject_id         TEXT NOT NULL REFERENCES subjects (id),
    author_agency      TEXT NOT NULL REFERENCES agencies (id),
    author_user        TEXT NOT NULL,
    category           TEXT NOT NULL,
    -- provenance: the basis the team rested on when the note was posted
    basis              TEXT NOT NULL,
    basis_ref          TEXT NOT NULL,
    ciphertext         BLOB NOT NULL,
    -- special-care categories under a meeting basis: why the team needs it (sealed like content)
    justification      BLOB,
    -- the log entry that recorded the posting (written before this row)
    audit_index        INTEGER NOT NULL,
    created_at_ms      INTEGER NOT NULL
);
CREATE INDEX case_notes_plan ON case_notes (plan_id, created_at_ms);
