-- The row readiness writes to (Store.Heartbeat): the smallest committed
-- write, so that /readyz sees a database that refuses writes (a full disk,
-- a read-only file). One row, always id 1, time in microseconds as
-- everywhere else.

-- +goose Up
CREATE TABLE heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE heartbeat;
