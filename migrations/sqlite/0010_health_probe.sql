-- One row that /readyz updates to prove the database takes a write (after a failed log commit,
-- before the instance says it is ready again).
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY,
    at_ms BIGINT NOT NULL
);
INSERT INTO health_probe (id, at_ms) VALUES (1, 0);
