package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/grantd/grantd"
)

// Migration 00005 gives existing clients their origin from the
// registered flag, and counts a registered client that may use
// client_credentials as having obtained a token (its tokens left no row),
// so the clean-up never removes it.
func TestMigration5Backfill(t *testing.T) {
	ctx := t.Context()
	s := open(t, filepath.Join(t.TempDir(), "grantd.db"))
	p, err := s.provider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	for _, row := range [][]any{
		{"api", 0, `["client_credentials"]`},
		{"reg-code", 1, `["authorization_code"]`},
		{"reg-cc", 1, `["client_credentials"]`},
	} {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO clients (id, name, name_lower, client_type, require_pkce, grant_types, scopes,
			redirect_uris, secret_hash, logo_uri, tos_uri, policy_uri, verified, registered, token_endpoint_auth_method,
			response_types, registration_token_hash, created_at, updated_at)
			VALUES (?, 'n', 'n', 'public', 0, ?, '[]', '[]', '', '', '', '', 0, ?, 'none', '[]', '', 0, 0)`, row[0], row[2], row[1]); err != nil {
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
