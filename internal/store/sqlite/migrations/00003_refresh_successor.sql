-- A retried refresh finds the successor its first attempt stored.
--
-- successor_hash: set when the token is rotated, the hash of the token it
-- was exchanged for ('' in rows rotated before this migration, which no
-- retry can then find: they stay reuse, as before).
-- access_scopes: the scopes of the access token issued with the token,
-- so that a retry can issue that access token again ('[]' in older rows).

-- +goose Up
ALTER TABLE refresh_tokens ADD COLUMN successor_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN access_scopes TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE refresh_tokens DROP COLUMN access_scopes;
ALTER TABLE refresh_tokens DROP COLUMN successor_hash;
