-- Witnesses for the log (C2SP tlog-witness / tlog-cosignature): the cosignatures each
-- configured witness returned on the hub's signed checkpoints, and where each witness stands.
-- Cosignatures are extra signature lines on a checkpoint note; the note itself stays as signed
-- in audit_checkpoints (append-only).
CREATE TABLE witness_cosignatures (
    -- the configured witness name
    witness        TEXT NOT NULL,
    -- the witness's verifier key when it cosigned
    vkey           TEXT NOT NULL,
    size           BIGINT NOT NULL,
    -- the signature line, with its newline
    line           TEXT NOT NULL,
    -- the cosignature's own timestamp (seconds)
    cosigned_at    BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (witness, size)
);
CREATE INDEX witness_cosignatures_size ON witness_cosignatures (size);

CREATE TABLE witness_status (
    witness            TEXT PRIMARY KEY,
    -- the tree size the witness holds, as far as the hub knows (0: none)
    known_size         BIGINT NOT NULL,
    cosigned_size      BIGINT,
    cosigned_at_ms     BIGINT,
    last_attempt_at_ms BIGINT,
    -- the last failed submission (status and reason; never personal data)
    last_error         TEXT
);
