-- The change feed of the caches (internal/store/cache): every write that
-- changes a cached row (a client, a grant, a revoked jti, a signing key)
-- adds a row here in the same transaction, naming what changed. Each node
-- reads the rows of the last seconds and drops what they name; the
-- trigger wakes the nodes that LISTEN on grantd_changes at commit. at is
-- the time of the insert on the server's clock, so that every node reads
-- the window on one clock. Rows older than an hour are removed
-- (Store.DeleteExpired).

-- +goose Up
CREATE TABLE changes (
    id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text        NOT NULL,
    key  text        NOT NULL,
    at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX changes_at ON changes (at);

-- +goose StatementBegin
CREATE FUNCTION grantd_changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('grantd_changes', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER changes_notify AFTER INSERT ON changes
    FOR EACH STATEMENT EXECUTE FUNCTION grantd_changes_notify();

-- +goose Down
DROP TRIGGER changes_notify ON changes;
DROP FUNCTION grantd_changes_notify();
DROP TABLE changes;
