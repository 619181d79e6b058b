-- How each client came to be (api, registration, metadata_document) and
-- whether it has ever obtained a token: what the clean-up of unused
-- registrations reads (Store.DeleteUnusedRegistrations). Existing rows
-- take their origin from the registered flag; a registered client that
-- may use client_credentials may have obtained tokens that left no row,
-- so it counts as having obtained one (the clean-up never removes it).
-- Other clients start unmarked: one with a grant is kept anyway. The twin of the SQLite
-- migration of the same number.

-- +goose Up
ALTER TABLE clients ADD COLUMN origin text COLLATE "C" NOT NULL DEFAULT 'api';
ALTER TABLE clients ADD COLUMN obtained_token boolean NOT NULL DEFAULT false;
UPDATE clients SET origin = 'registration' WHERE registered;
UPDATE clients SET obtained_token = true WHERE registered AND 'client_credentials' = ANY (grant_types);
CREATE INDEX clients_origin_created ON clients (origin, created_at);

-- +goose Down
DROP INDEX clients_origin_created;
ALTER TABLE clients DROP COLUMN obtained_token;
ALTER TABLE clients DROP COLUMN origin;
