-- The log-inconsistency latch (SQLite). Kept in lockstep with ../postgres/0007_log_inconsistency.sql.
-- Set (once) when verification finds the stored log no longer matching its signed checkpoints:
-- by the checkpointer, by a proof that does not verify before it is served, or by
-- `tsunagi audit verify`. While it is set, proof endpoints answer 503 log_inconsistent. Only an
-- operator clears it (`tsunagi audit clear-inconsistency`, logged, after the log verifies again).
CREATE TABLE audit_inconsistency (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    detected_at_ms INTEGER NOT NULL,
    source         TEXT NOT NULL,
    detail         TEXT NOT NULL
);
