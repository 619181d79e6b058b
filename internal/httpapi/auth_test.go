package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/token"
)

// listClientIDs lists the caller's clients with a bearer credential and
// answers the status and the client ids.
func listClientIDs(t testing.TB, env *testEnv, credential string) (*httptest.ResponseRecorder, []string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/v2/oauth_clients", nil)
	r.Header.Set("Authorization", "Bearer "+credential)
	rec := env.do(r)
	if rec.Code != http.StatusOK {
		return rec, nil
	}
	var body struct {
		Data []struct {
			ClientID string `json:"client_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range body.Data {
		ids = append(ids, c.ClientID)
	}
	return rec, ids
}

const invalidTokenChallenge = `Bearer realm="grantd", resource_metadata="` + goldenIssuer + `/.well-known/oauth-protected-resource", error="invalid_token"`

// TestManagementWithAccessTokens: management endpoints take this server's
// admin access tokens for this API (SPEC §2, Callers).
func TestManagementWithAccessTokens(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	owner := env.createUser(t, "owner@example.com")
	admin, adminSecret := env.createClient(t, owner, clientSpec{})
	ownerless, ownerlessSecret := env.createClient(t, grantd.User{}, clientSpec{})

	adminToken := ccToken(t, env, admin.ID, adminSecret, url.Values{"scope": {"admin read"}})
	v2Token := ccToken(t, env, admin.ID, adminSecret, url.Values{"scope": {"admin"}, "resource": {goldenIssuer + "/v2"}})
	readToken := ccToken(t, env, admin.ID, adminSecret, url.Values{"scope": {"read"}})
	otherAud := ccToken(t, env, admin.ID, adminSecret, url.Values{"scope": {"admin"}, "resource": {testResource}})
	revoked := ccToken(t, env, admin.ID, adminSecret, url.Values{"scope": {"admin"}})
	revokeOK(t, env, url.Values{"token": {revoked}}, admin.ID, adminSecret)
	// A client without an owner cannot get admin any more
	// (TestOwnerlessRowWithAdmin), but tokens issued before that rule
	// may still carry it: they, by either grant, reach nothing.
	oauthErr(t, env.postForm(t, "/v2/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, ownerless.ID, ownerlessSecret),
		http.StatusBadRequest, "invalid_scope")
	ownerlessToken := env.mintAccessToken(t, token.AccessClaims{Subject: ownerless.ID, ClientID: ownerless.ID, Scope: "admin"})
	anon, _ := env.createClient(t, grantd.User{}, clientSpec{Public: true})
	anonGrant := env.createGrant(t, owner, anon, grantd.ScopeAdmin)
	ownerlessCodeToken := env.mintAccessToken(t, token.AccessClaims{Subject: owner.ID, ClientID: anon.ID, Scope: "admin", GrantID: anonGrant.ID})

	// A code-flow token acts for the user who consented, not for the
	// client's owner.
	consenting := env.createUser(t, "consenting@example.com")
	own, _ := env.createClient(t, consenting, clientSpec{})
	app, _ := env.createClient(t, owner, clientSpec{Public: true})
	g := env.createGrant(t, consenting, app, grantd.ScopeAdmin)
	code := env.mintCode(t, g, codeSpec{redirectURI: app.RedirectURIs[0], challenge: oauth.S256(testVerifier)})
	userToken := tokenOK(t, env.postForm(t, "/v2/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "client_id": {app.ID},
		"redirect_uri": {app.RedirectURIs[0]}, "code_verifier": {testVerifier},
	}, "", "")).AccessToken

	expiring := ccToken(t, env, admin.ID, adminSecret, url.Values{"scope": {"admin"}})

	tests := []struct {
		name   string
		token  string
		status int
		code   string   // Telnyx code of an error
		ids    []string // clients listed on success
	}{
		// The owner does not see ownerless: it was stripped of its owner.
		{"admin token of a client with an owner acts for the owner", adminToken, 200, "", []string{app.ID, admin.ID}},
		{"audience {issuer}/v2", v2Token, 200, "", []string{app.ID, admin.ID}},
		{"code-flow token acts for the consenting user", userToken, 200, "", []string{own.ID}},
		{"token without admin", readToken, 403, "10010", nil},
		{"token of a client without an owner", ownerlessToken, 403, "10010", nil},
		{"code-flow token of a client without an owner", ownerlessCodeToken, 403, "10010", nil},
		{"token for another audience", otherAud, 401, "10009", nil},
		{"revoked token", revoked, 401, "10009", nil},
		{"garbage", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", 401, "10009", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, ids := listClientIDs(t, env, tt.token)
			if tt.status != 200 {
				authErr(t, rec, tt.status, tt.code)
				return
			}
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if !sameSet(ids, tt.ids) {
				t.Errorf("listed %v, want %v", ids, tt.ids)
			}
		})
	}

	// Expired, by the engine's clock.
	env.Clock.Advance(31 * time.Minute)
	rec, _ := listClientIDs(t, env, expiring)
	authErr(t, rec, 401, "10009")

	// A token whose client is deleted dies with it.
	fresh := ccToken(t, env, admin.ID, adminSecret, url.Values{"scope": {"admin"}})
	if err := env.Store.DeleteClient(context.Background(), admin.ID); err != nil {
		t.Fatal(err)
	}
	rec, _ = listClientIDs(t, env, fresh)
	authErr(t, rec, 401, "10009")
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		if seen[x] == 0 {
			return false
		}
		seen[x]--
	}
	return true
}

// authErr checks a management error: the status and the Telnyx code of
// its one error, and the challenge of a 401.
func authErr(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	var body struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if rec.Code != status || json.Unmarshal(rec.Body.Bytes(), &body) != nil || len(body.Errors) != 1 || body.Errors[0].Code != code {
		t.Fatalf("status %d body %s, want %d with code %s", rec.Code, rec.Body, status, code)
	}
	www := rec.Header().Get("WWW-Authenticate")
	if status == 401 && www != invalidTokenChallenge {
		t.Errorf("WWW-Authenticate = %q, want %q", www, invalidTokenChallenge)
	}
	if status != 401 && www != "" {
		t.Errorf("WWW-Authenticate = %q on %d", www, status)
	}
}
