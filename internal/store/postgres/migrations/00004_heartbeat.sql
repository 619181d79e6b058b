-- The row readiness writes to (Store.Heartbeat): the smallest committed
-- write, so that /readyz sees a database that refuses writes (a full disk,
-- a read-only server or replica). One row, always id 1, shared by every
-- node: each node's write is a single-row update held for microseconds.

-- +goose Up
CREATE TABLE heartbeat (
    id integer     PRIMARY KEY CHECK (id = 1),
    at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE heartbeat;
