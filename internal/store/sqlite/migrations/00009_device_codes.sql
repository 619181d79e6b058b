-- The device authorization grant (RFC 8628): one row per device_code,
-- kept by the SHA-256 of the device code and of the normalised user code
-- (docs/SECURITY.md, "Device authorization"), and the consent that
-- decides one names it. user_id and grant_id are set once a person
-- approved; deleting the client, the user or the grant deletes the row.
-- The twin of the PostgreSQL migration of the same number.

-- +goose Up
CREATE TABLE device_codes (
    hash           TEXT    PRIMARY KEY,
    user_code_hash TEXT    NOT NULL UNIQUE,
    client_id      TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes         TEXT    NOT NULL,
    resource       TEXT    NOT NULL,
    interval_s     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    last_polled_at INTEGER,
    status         TEXT    NOT NULL,
    user_id        TEXT    REFERENCES users (id) ON DELETE CASCADE,
    grant_id       TEXT    REFERENCES grants (id) ON DELETE CASCADE,
    used_at        INTEGER
);
CREATE INDEX device_codes_client ON device_codes (client_id);
CREATE INDEX device_codes_grant ON device_codes (grant_id);
CREATE INDEX device_codes_expires ON device_codes (expires_at);
ALTER TABLE consents ADD COLUMN device_code_hash TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE consents DROP COLUMN device_code_hash;
DROP TABLE device_codes;
