-- Notices pushed to agencies' systems (Standard Webhooks): every notification is also an outbox
-- row, written in the same transaction; the deliverer posts it to the agency's registered
-- endpoint (at least once, with backoff) and records every attempt.
CREATE TABLE webhook_outbox (
    id                 TEXT PRIMARY KEY,
    agency_id          TEXT NOT NULL REFERENCES agencies (id),
    event_type         TEXT NOT NULL,
    payload            TEXT NOT NULL,
    created_at_ms      BIGINT NOT NULL,
    -- pending, delivered, or skipped (the agency registered no endpoint)
    state              TEXT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    -- another instance is delivering it until then
    claimed_until_ms   BIGINT,
    last_error         TEXT,
    delivered_at_ms    BIGINT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_at_ms);

CREATE TABLE webhook_attempts (
    outbox_id TEXT NOT NULL REFERENCES webhook_outbox (id),
    attempt   INTEGER NOT NULL,
    at_ms     BIGINT NOT NULL,
    -- the HTTP status, or NULL when no answer came (connection, TLS, timeout)
    status    INTEGER,
    error     TEXT,
    PRIMARY KEY (outbox_id, attempt)
);
