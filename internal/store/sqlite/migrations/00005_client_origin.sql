-- How each client came to be (api, registration, metadata_document) and
-- whether it has ever obtained a token: what the clean-up of unused
-- registrations reads (Store.DeleteUnusedRegistrations). Existing rows
-- take their origin from the registered flag; a registered client that
-- may use client_credentials may have obtained tokens that left no row,
-- so it counts as having obtained one (the clean-up never removes it).
-- Other clients start unmarked: one with a grant is kept anyway. The twin of the PostgreSQL
-- migration of the same number.

-- +goose Up
ALTER TABLE clients ADD COLUMN origin TEXT NOT NULL DEFAULT 'api';
ALTER TABLE clients ADD COLUMN obtained_token INTEGER NOT NULL DEFAULT 0;
UPDATE clients SET origin = 'registration' WHERE registered = 1;
UPDATE clients SET obtained_token = 1 WHERE registered = 1
    AND EXISTS (SELECT 1 FROM json_each(clients.grant_types) WHERE json_each.value = 'client_credentials');
CREATE INDEX clients_origin_created ON clients (origin, created_at);

-- +goose Down
DROP INDEX clients_origin_created;
ALTER TABLE clients DROP COLUMN obtained_token;
ALTER TABLE clients DROP COLUMN origin;
