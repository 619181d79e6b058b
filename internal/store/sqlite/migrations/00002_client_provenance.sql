-- Provenance of a client created through another client's access token
-- (an app acting for its user on the management API): that client, and
-- the grant the token was issued under (NULL for client_credentials).
-- Removing the app, or the person's grant to it, removes what it made:
-- the store deletes these clients in the same transaction (revoking what
-- was issued under them), and the cascades below keep any other delete
-- from leaving one behind. The references also make an insert fail once
-- its app or grant is gone, so a creation racing a revocation cannot
-- outlive it.

-- +goose Up
ALTER TABLE clients ADD COLUMN created_by_client_id TEXT REFERENCES clients (id) ON DELETE CASCADE;
ALTER TABLE clients ADD COLUMN created_by_grant_id TEXT REFERENCES grants (id) ON DELETE CASCADE;
CREATE INDEX clients_created_by_client ON clients (created_by_client_id);
CREATE INDEX clients_created_by_grant ON clients (created_by_grant_id);

-- +goose Down
DROP INDEX clients_created_by_grant;
DROP INDEX clients_created_by_client;
ALTER TABLE clients DROP COLUMN created_by_grant_id;
ALTER TABLE clients DROP COLUMN created_by_client_id;
