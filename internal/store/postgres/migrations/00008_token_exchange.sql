-- Token exchange (RFC 8693). Each client lists the resources it may
-- exchange a person's token for (token_exchange_resources); and each
-- exchanged access token is recorded under the person's grant, so that
-- revoking the grant's tokens (RevokeGrantTokens), deleting the grant or
-- deleting the exchanging client revokes it (revoked_jtis) as it revokes
-- the tokens recorded on codes and refresh tokens. The rows go when the
-- tokens expire. The twin of the SQLite migration of the same number.

-- +goose Up
ALTER TABLE clients ADD COLUMN token_exchange_resources text[] NOT NULL DEFAULT '{}';
CREATE TABLE exchanged_tokens (
    jti        text COLLATE "C" PRIMARY KEY,
    grant_id   text COLLATE "C" NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id  text COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    expires_at timestamptz      NOT NULL
);
CREATE INDEX exchanged_tokens_grant ON exchanged_tokens (grant_id);
CREATE INDEX exchanged_tokens_client ON exchanged_tokens (client_id);
CREATE INDEX exchanged_tokens_expires ON exchanged_tokens (expires_at);

-- +goose Down
DROP TABLE exchanged_tokens;
ALTER TABLE clients DROP COLUMN token_exchange_resources;
