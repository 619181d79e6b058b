-- The first schema of grantd.
--
-- Representation, chosen so that a PostgreSQL twin can mirror every table
-- column for column:
--   * times are INTEGER microseconds since the Unix epoch, UTC (timestamptz
--     in PostgreSQL has microsecond precision, so both backends round-trip
--     the same values, and comparisons are plain integer comparisons);
--   * string lists are JSON arrays in TEXT, never NULL ('[]' when empty);
--   * booleans are INTEGER 0 or 1;
--   * optional references (a client without an owner) are NULL, never '';
--   * opaque secrets are stored only as the hex SHA-256 of the secret.

-- +goose Up
CREATE TABLE orgs (
    id         TEXT    PRIMARY KEY,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    org_id        TEXT    NOT NULL REFERENCES orgs (id),
    email         TEXT    NOT NULL UNIQUE, -- lower-cased by the caller
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);

CREATE TABLE clients (
    id                         TEXT    PRIMARY KEY,
    name                       TEXT    NOT NULL,
    -- Lower-cased in Go, so that the case-insensitive name filter folds
    -- Unicode the same way on every backend (SQLite's LIKE and lower() only
    -- fold ASCII).
    name_lower                 TEXT    NOT NULL,
    org_id                     TEXT    REFERENCES orgs (id),
    user_id                    TEXT    REFERENCES users (id),
    client_type                TEXT    NOT NULL CHECK (client_type IN ('public', 'confidential')),
    require_pkce               INTEGER NOT NULL CHECK (require_pkce IN (0, 1)),
    grant_types                TEXT    NOT NULL,
    scopes                     TEXT    NOT NULL,
    redirect_uris              TEXT    NOT NULL,
    secret_hash                TEXT    NOT NULL,
    logo_uri                   TEXT    NOT NULL,
    tos_uri                    TEXT    NOT NULL,
    policy_uri                 TEXT    NOT NULL,
    verified                   INTEGER NOT NULL CHECK (verified IN (0, 1)),
    registered                 INTEGER NOT NULL CHECK (registered IN (0, 1)),
    token_endpoint_auth_method TEXT    NOT NULL,
    response_types             TEXT    NOT NULL,
    registration_token_hash    TEXT    NOT NULL,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL
);
-- Lists are always newest first, and the API always filters by owner.
CREATE INDEX clients_user_created ON clients (user_id, created_at DESC, id);
CREATE INDEX clients_created ON clients (created_at DESC, id);

CREATE TABLE grants (
    id           TEXT    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id    TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    UNIQUE (user_id, client_id)
);
CREATE INDEX grants_client ON grants (client_id);
CREATE INDEX grants_user_created ON grants (user_id, created_at DESC, id);

CREATE TABLE consents (
    hash                  TEXT    PRIMARY KEY,
    user_id               TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id             TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    redirect_uri          TEXT    NOT NULL,
    scopes                TEXT    NOT NULL,
    state                 TEXT    NOT NULL,
    code_challenge        TEXT    NOT NULL,
    code_challenge_method TEXT    NOT NULL,
    resource              TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER
);
CREATE INDEX consents_client ON consents (client_id);
CREATE INDEX consents_expires ON consents (expires_at);

CREATE TABLE auth_codes (
    hash              TEXT    PRIMARY KEY,
    client_id         TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id           TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grant_id          TEXT    NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    redirect_uri      TEXT    NOT NULL,
    scopes            TEXT    NOT NULL,
    resource          TEXT    NOT NULL,
    code_challenge    TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    -- Set on redemption, so that a second use can revoke what the first
    -- one issued.
    used_at           INTEGER,
    family_id         TEXT    NOT NULL,
    access_jti        TEXT    NOT NULL,
    access_expires_at INTEGER
);
CREATE INDEX auth_codes_client ON auth_codes (client_id);
CREATE INDEX auth_codes_grant ON auth_codes (grant_id);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

CREATE TABLE refresh_tokens (
    hash              TEXT    PRIMARY KEY,
    family_id         TEXT    NOT NULL,
    grant_id          TEXT    NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id         TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id           TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes            TEXT    NOT NULL,
    resource          TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    -- Rotated rows stay until they expire: presenting one again is how
    -- reuse is detected.
    rotated_at        INTEGER,
    -- Set when reuse detection or a code's second use revokes the token.
    -- The row stays (hidden from reads) so that presenting it again is
    -- still answered as reuse rather than as an unknown token.
    revoked_at        INTEGER,
    access_jti        TEXT    NOT NULL,
    access_expires_at INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_client ON refresh_tokens (client_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Access tokens are self-contained JWTs; these are the ones revoked before
-- their expiry, kept until that expiry.
CREATE TABLE revoked_jtis (
    jti        TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_jtis_expires ON revoked_jtis (expires_at);

CREATE TABLE sessions (
    hash       TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE signing_keys (
    id          TEXT    PRIMARY KEY,
    algorithm   TEXT    NOT NULL,
    private_enc BLOB    NOT NULL,
    public_jwk  BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    active_at   INTEGER NOT NULL,
    retired_at  INTEGER,
    expires_at  INTEGER
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE sessions;
DROP TABLE revoked_jtis;
DROP TABLE refresh_tokens;
DROP TABLE auth_codes;
DROP TABLE consents;
DROP TABLE grants;
DROP TABLE clients;
DROP TABLE api_keys;
DROP TABLE users;
DROP TABLE orgs;
