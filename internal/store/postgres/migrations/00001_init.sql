-- The first schema of grantd on PostgreSQL. It mirrors the SQLite schema
-- (internal/store/sqlite/migrations) table for table and column for
-- column, in PostgreSQL's own types:
--   * times are timestamptz, whose microsecond precision is exactly what
--     the SQLite store keeps (INTEGER microseconds), so both backends
--     round-trip the same values;
--   * string lists are text[], never NULL ('{}' when empty);
--   * booleans are boolean;
--   * optional references (a client without an owner) are NULL, never '';
--   * ids, hashes and every column that refers to them are
--     COLLATE "C": lists break ties by id in byte order, as SQLite's
--     BINARY collation does, whatever the database's default collation;
--   * opaque secrets are stored only as the hex SHA-256 of the secret.
--
-- Tables are created unqualified, in the first schema of the connection's
-- search_path (the DSN's search_path parameter picks one).

-- +goose Up
CREATE TABLE orgs (
    id         text COLLATE "C" PRIMARY KEY,
    created_at timestamptz      NOT NULL
);

CREATE TABLE users (
    id            text COLLATE "C" PRIMARY KEY,
    org_id        text COLLATE "C" NOT NULL REFERENCES orgs (id),
    email         text             NOT NULL UNIQUE, -- lower-cased by the caller
    password_hash text             NOT NULL,
    created_at    timestamptz      NOT NULL,
    updated_at    timestamptz      NOT NULL
);

CREATE TABLE api_keys (
    id           text COLLATE "C" PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text             NOT NULL,
    hash         text COLLATE "C" NOT NULL UNIQUE,
    created_at   timestamptz      NOT NULL,
    last_used_at timestamptz
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE clients (
    id                         text COLLATE "C" PRIMARY KEY,
    name                       text             NOT NULL,
    -- Lower-cased in Go, so that the case-insensitive name filter folds
    -- Unicode exactly as the SQLite store does, whatever the database's
    -- locale.
    name_lower                 text             NOT NULL,
    org_id                     text COLLATE "C" REFERENCES orgs (id),
    user_id                    text COLLATE "C" REFERENCES users (id),
    client_type                text             NOT NULL CHECK (client_type IN ('public', 'confidential')),
    require_pkce               boolean          NOT NULL,
    grant_types                text[]           NOT NULL,
    scopes                     text[]           NOT NULL,
    redirect_uris              text[]           NOT NULL,
    secret_hash                text             NOT NULL,
    logo_uri                   text             NOT NULL,
    tos_uri                    text             NOT NULL,
    policy_uri                 text             NOT NULL,
    verified                   boolean          NOT NULL,
    registered                 boolean          NOT NULL,
    token_endpoint_auth_method text             NOT NULL,
    response_types             text[]           NOT NULL,
    registration_token_hash    text             NOT NULL,
    created_at                 timestamptz      NOT NULL,
    updated_at                 timestamptz      NOT NULL
);
-- Lists are always newest first, and the API always filters by owner.
CREATE INDEX clients_user_created ON clients (user_id, created_at DESC, id);
CREATE INDEX clients_created ON clients (created_at DESC, id);
CREATE INDEX clients_org ON clients (org_id);

CREATE TABLE grants (
    id           text COLLATE "C" PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id    text COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes       text[]           NOT NULL,
    created_at   timestamptz      NOT NULL,
    updated_at   timestamptz      NOT NULL,
    last_used_at timestamptz,
    UNIQUE (user_id, client_id)
);
CREATE INDEX grants_client ON grants (client_id);
CREATE INDEX grants_user_created ON grants (user_id, created_at DESC, id);

CREATE TABLE consents (
    hash                  text COLLATE "C" PRIMARY KEY,
    user_id               text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id             text COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    redirect_uri          text             NOT NULL,
    scopes                text[]           NOT NULL,
    state                 text             NOT NULL,
    code_challenge        text             NOT NULL,
    code_challenge_method text             NOT NULL,
    resource              text             NOT NULL,
    created_at            timestamptz      NOT NULL,
    expires_at            timestamptz      NOT NULL,
    used_at               timestamptz
);
CREATE INDEX consents_user ON consents (user_id);
CREATE INDEX consents_client ON consents (client_id);
CREATE INDEX consents_expires ON consents (expires_at);

CREATE TABLE auth_codes (
    hash              text COLLATE "C" PRIMARY KEY,
    client_id         text COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id           text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grant_id          text COLLATE "C" NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    redirect_uri      text             NOT NULL,
    scopes            text[]           NOT NULL,
    resource          text             NOT NULL,
    code_challenge    text             NOT NULL,
    created_at        timestamptz      NOT NULL,
    expires_at        timestamptz      NOT NULL,
    -- Set on redemption, so that a second use can revoke what the first
    -- one issued.
    used_at           timestamptz,
    family_id         text COLLATE "C" NOT NULL,
    access_jti        text COLLATE "C" NOT NULL,
    access_expires_at timestamptz
);
CREATE INDEX auth_codes_client ON auth_codes (client_id);
CREATE INDEX auth_codes_user ON auth_codes (user_id);
CREATE INDEX auth_codes_grant ON auth_codes (grant_id);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

CREATE TABLE refresh_tokens (
    hash              text COLLATE "C" PRIMARY KEY,
    family_id         text COLLATE "C" NOT NULL,
    grant_id          text COLLATE "C" NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id         text COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id           text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes            text[]           NOT NULL,
    resource          text             NOT NULL,
    created_at        timestamptz      NOT NULL,
    expires_at        timestamptz      NOT NULL,
    -- Rotated rows stay until they expire: presenting one again is how
    -- reuse is detected.
    rotated_at        timestamptz,
    -- Set when reuse detection or a code's second use revokes the token.
    -- The row stays (hidden from reads) so that presenting it again is
    -- still answered as reuse rather than as an unknown token.
    revoked_at        timestamptz,
    access_jti        text COLLATE "C" NOT NULL,
    access_expires_at timestamptz      NOT NULL
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_client ON refresh_tokens (client_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Access tokens are self-contained JWTs; these are the ones revoked before
-- their expiry, kept until that expiry.
CREATE TABLE revoked_jtis (
    jti        text COLLATE "C" PRIMARY KEY,
    expires_at timestamptz      NOT NULL
);
CREATE INDEX revoked_jtis_expires ON revoked_jtis (expires_at);

CREATE TABLE sessions (
    hash       text COLLATE "C" PRIMARY KEY,
    user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text             NOT NULL,
    created_at timestamptz      NOT NULL,
    expires_at timestamptz      NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE signing_keys (
    id          text COLLATE "C" PRIMARY KEY,
    algorithm   text             NOT NULL,
    private_enc bytea            NOT NULL,
    public_jwk  bytea            NOT NULL,
    created_at  timestamptz      NOT NULL,
    active_at   timestamptz      NOT NULL,
    retired_at  timestamptz,
    expires_at  timestamptz
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
