-- The device authorization grant (RFC 8628): one row per device_code,
-- kept by the SHA-256 of the device code and of the normalised user code
-- (docs/SECURITY.md, "Device authorization"), and the consent that
-- decides one names it. user_id and grant_id are set once a person
-- approved; deleting the client, the user or the grant deletes the row.
-- The twin of the SQLite migration of the same number.

-- +goose Up
CREATE TABLE device_codes (
    hash           text COLLATE "C" PRIMARY KEY,
    user_code_hash text COLLATE "C" NOT NULL UNIQUE,
    client_id      text COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes         text[]           NOT NULL,
    resource       text             NOT NULL,
    interval_s     integer          NOT NULL,
    created_at     timestamptz      NOT NULL,
    expires_at     timestamptz      NOT NULL,
    last_polled_at timestamptz,
    status         text             NOT NULL,
    user_id        text COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    grant_id       text COLLATE "C" REFERENCES grants (id) ON DELETE CASCADE,
    used_at        timestamptz
);
CREATE INDEX device_codes_client ON device_codes (client_id);
CREATE INDEX device_codes_grant ON device_codes (grant_id);
CREATE INDEX device_codes_expires ON device_codes (expires_at);
ALTER TABLE consents ADD COLUMN device_code_hash text COLLATE "C" NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE consents DROP COLUMN device_code_hash;
DROP TABLE device_codes;
