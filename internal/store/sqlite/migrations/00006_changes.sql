-- The change feed of the caches (internal/store/cache): every write that
-- changes a cached row (a client, a grant, a revoked jti, a signing key)
-- adds a row here in the same transaction, naming what changed. Each
-- process on the file reads the rows of the last seconds and drops what
-- they name. at is the time of the insert in microseconds, as everywhere
-- else. Rows older than an hour are removed (Store.DeleteExpired).

-- +goose Up
CREATE TABLE changes (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT    NOT NULL,
    key  TEXT    NOT NULL,
    at   INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000000 AS INTEGER))
);
CREATE INDEX changes_at ON changes (at);

-- +goose Down
DROP TABLE changes;
