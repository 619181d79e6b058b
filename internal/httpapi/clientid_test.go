package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// wantUUIDv4 fails unless id is a random UUID in canonical form, as the
// Telnyx OpenAPI declares client ids.
func wantUUIDv4(t testing.TB, what, id string) {
	t.Helper()
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id || u.Version() != 4 || u.Variant() != uuid.RFC4122 {
		t.Errorf("%s client_id = %q, want a canonical random UUID (v4)", what, id)
	}
}

// TestNewClientIDsAreUUIDs creates a client through each door that makes
// one: the management API and dynamic registration.
func TestNewClientIDsAreUUIDs(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	u := env.createUser(t, "owner@example.com")
	key := env.createAPIKey(t, u)

	rec := env.api(t, http.MethodPost, "/v2/oauth_clients", key, `{"name":"a","allowed_scopes":["read"],"client_type":"confidential","allowed_grant_types":["client_credentials"]}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	data, _ := decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)
	id, _ := data["client_id"].(string)
	wantUUIDv4(t, "management API", id)
	if got := env.api(t, http.MethodGet, "/v2/oauth_clients/"+id, key, ""); got.Code != http.StatusOK {
		t.Errorf("GET by the new id: %d %s", got.Code, got.Body)
	}

	reg, _ := registrationOK(t, env, env.register(t, `{"client_name":"r","redirect_uris":["https://app.example.com/cb"]}`), http.StatusCreated)
	wantUUIDv4(t, "registration", reg.ClientID)
}

// TestLegacyClientID keeps a client whose id has the form ids had before
// they were UUIDs (22 characters of base64url), stored as such a row is,
// working at every endpoint that takes a client_id.
func TestLegacyClientID(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	ctx := context.Background()
	u := env.createUser(t, "owner@example.com")
	key := env.createAPIKey(t, u)
	made, secret := env.createClient(t, u, clientSpec{
		GrantTypes: []string{grantd.GrantClientCredentials, grantd.GrantAuthorizationCode, grantd.GrantRefreshToken},
		Scopes:     []string{"read", "write"},
	})
	old := made
	old.ID = token.NewID()
	if len(old.ID) != 22 {
		t.Fatalf("legacy id %q is not 22 characters", old.ID)
	}
	if err := env.Store.CreateClient(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.DeleteClient(ctx, made.ID); err != nil {
		t.Fatal(err)
	}

	// Token endpoint: client_credentials with Basic and with post.
	cc := ccToken(t, env, old.ID, secret, nil)
	if got := mustVerify(t, env, cc).ClientID; got != old.ID {
		t.Errorf("token client_id = %q, want %q", got, old.ID)
	}
	tokenOK(t, env.postForm(t, "/v2/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {old.ID}, "client_secret": {secret}}, "", ""))

	// Introspection, as the client and of its token.
	rec := env.postForm(t, "/v2/oauth/introspect", url.Values{"token": {cc}}, old.ID, secret)
	if in := decodeJSON(t, rec.Body.Bytes()); in["active"] != true || in["client_id"] != old.ID {
		t.Errorf("introspection: %s", rec.Body)
	}

	// Management API: get, update, list filter.
	if rec := env.api(t, http.MethodGet, "/v2/oauth_clients/"+old.ID, key, ""); rec.Code != http.StatusOK {
		t.Errorf("GET: %d %s", rec.Code, rec.Body)
	}
	if rec := env.api(t, http.MethodPut, "/v2/oauth_clients/"+old.ID, key, `{"name":"renamed"}`); rec.Code != http.StatusOK {
		t.Errorf("PUT: %d %s", rec.Code, rec.Body)
	}
	if _, ids := listClientIDs(t, env, key); len(ids) != 1 || ids[0] != old.ID {
		t.Errorf("list = %v, want [%s]", ids, old.ID)
	}

	// The code flow: authorize, consent, decision, redemption, grants.
	tok := consentFor(t, env, key, old, "scope", "read")
	to := decide(t, env.api(t, http.MethodPost, "/v2/oauth/grants", key, decisionBody(true, tok)))
	code := redirectParams(t, to, "https://app.example.com/cb").Get("code")
	pair := tokenOK(t, env.postForm(t, "/v2/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example.com/cb"},
		"code_verifier": {strings.Repeat("v", 43)},
	}, old.ID, secret))
	tokenOK(t, env.postForm(t, "/v2/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {pair.RefreshToken}}, old.ID, secret))
	rec = env.api(t, http.MethodGet, "/v2/oauth_grants", key, "")
	grants, _ := decodeJSON(t, rec.Body.Bytes())["data"].([]any)
	if len(grants) != 1 || grants[0].(map[string]any)["client_id"] != old.ID {
		t.Errorf("grants: %s", rec.Body)
	}

	if rec := env.api(t, http.MethodDelete, "/v2/oauth_clients/"+old.ID, key, ""); rec.Code != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", rec.Code, rec.Body)
	}
}
