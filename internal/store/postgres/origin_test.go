package postgres

import (
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/postgres/pgtest"
)

// Migration 00005 gives existing clients their origin from the
// registered flag, and counts a registered client that may use
// client_credentials as having obtained a token (its tokens left no row),
// so the clean-up never removes it. The twin of the SQLite test.
func TestMigration5Backfill(t *testing.T) {
	ctx := t.Context()
	s := open(t, pgtest.Schema(t))
	if err := s.withMigrationLock(ctx, func(p *goose.Provider) error { _, err := p.UpTo(ctx, 4); return err }); err != nil {
		t.Fatal(err)
	}
	for _, row := range [][]any{
		{"api", false, []string{"client_credentials"}},
		{"reg-code", true, []string{"authorization_code"}},
		{"reg-cc", true, []string{"client_credentials"}},
	} {
		if _, err := s.pool.Exec(ctx, `INSERT INTO clients (id, name, name_lower, client_type, require_pkce, grant_types, scopes,
			redirect_uris, secret_hash, logo_uri, tos_uri, policy_uri, verified, registered, token_endpoint_auth_method,
			response_types, registration_token_hash, created_at, updated_at)
			VALUES ($1, 'n', 'n', 'public', false, $2, '{}', '{}', '', '', '', '', false, $3, 'none', '{}', '', now(), now())`, row[0], row[2], row[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]struct {
		origin grantd.ClientOrigin
		used   bool
	}{
		"api":      {grantd.OriginAPI, false},
		"reg-code": {grantd.OriginRegistration, false},
		"reg-cc":   {grantd.OriginRegistration, true},
	} {
		c, err := s.GetClient(ctx, id)
		if err != nil || c.Origin != want.origin || c.ObtainedToken != want.used {
			t.Errorf("%s: origin %q used %v (%v), want %q %v", id, c.Origin, c.ObtainedToken, err, want.origin, want.used)
		}
	}
}
