package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// revokeOK revokes a token and checks the RFC 7009 success answer.
func revokeOK(t testing.TB, env *testEnv, v url.Values, user, password string) {
	t.Helper()
	rec := env.postForm(t, "/v2/oauth/revoke", v, user, password)
	if rec.Code != http.StatusOK {
		t.Fatalf("revoke: status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestRevokeAccessToken(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	u := env.createUser(t, "owner@example.com")
	c, secret := env.createClient(t, u, clientSpec{})
	other, otherSecret := env.createClient(t, u, clientSpec{})
	tok := ccToken(t, env, c.ID, secret, nil)

	// Another client's revocation succeeds and revokes nothing.
	revokeOK(t, env, url.Values{"token": {tok}}, other.ID, otherSecret)
	if in := introspect(t, env, tok); in["active"] != true {
		t.Fatalf("another client revoked the token: %v", in)
	}
	// Unknown and malformed tokens: 200, nothing happens.
	revokeOK(t, env, url.Values{"token": {"garbage"}}, c.ID, secret)
	revokeOK(t, env, url.Values{"token": {foreignToken(t)}}, c.ID, secret)

	// The owner's, in the body this time, with a misleading hint.
	revokeOK(t, env, url.Values{"token": {tok}, "token_type_hint": {"refresh_token"}, "client_id": {c.ID}, "client_secret": {secret}}, "", "")
	if in := introspect(t, env, tok); in["active"] != false {
		t.Errorf("revoked token: %v, want inactive", in)
	}
	// Revoking again is harmless.
	revokeOK(t, env, url.Values{"token": {tok}}, c.ID, secret)
}

func TestRevokeRefreshToken(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	f := newCodeFlow(t, env, clientSpec{})
	other := newCodeFlow(t, env, clientSpec{})
	pair := tokenOK(t, f.redeem(t, f.code(t)))
	rotated := pair.RefreshToken
	pair = tokenOK(t, f.refresh(t, rotated, nil))

	// Another (public) client: 200, nothing revoked.
	revokeOK(t, env, url.Values{"token": {pair.RefreshToken}, "client_id": {other.client.ID}}, "", "")
	if in := introspect(t, env, pair.RefreshToken); in["active"] != true {
		t.Fatalf("another client revoked the refresh token: %v", in)
	}
	// A rotated-out token is left for reuse detection: revoking it is a
	// no-op, and presenting it still trips reuse later.
	revokeOK(t, env, url.Values{"token": {rotated}, "client_id": {f.client.ID}}, "", "")
	if in := introspect(t, env, pair.AccessToken); in["active"] != true {
		t.Fatalf("revoking a rotated-out token revoked the live access token: %v", in)
	}

	// The owner (a public client, authenticating with client_id alone).
	revokeOK(t, env, url.Values{"token": {pair.RefreshToken}, "client_id": {f.client.ID}}, "", "")
	if in := introspect(t, env, pair.RefreshToken); in["active"] != false {
		t.Errorf("revoked refresh token: %v", in)
	}
	if in := introspect(t, env, pair.AccessToken); in["active"] != false {
		t.Errorf("access token issued with the revoked refresh token: %v", in)
	}
	oauthErr(t, f.refresh(t, pair.RefreshToken, nil), 400, "invalid_grant")
	// The grant stands: a new code works.
	tokenOK(t, f.redeem(t, f.code(t)))
}

// TestRevokeErrors pins the errors of the revocation endpoint.
func TestRevokeErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	u := env.createUser(t, "owner@example.com")
	c, secret := env.createClient(t, u, clientSpec{})
	tests := []struct {
		name        string
		auth        [2]string
		contentType string
		body        string
		status      int
		code        string
	}{
		{"no client authentication", [2]string{}, "", "token=x", 401, "invalid_client"},
		{"wrong secret", [2]string{c.ID, "wrong"}, "", "token=x", 401, "invalid_client"},
		{"unknown client", [2]string{}, "", "token=x&client_id=nosuchclient", 401, "invalid_client"},
		{"token missing", [2]string{c.ID, secret}, "", "", 400, "invalid_request"},
		{"token repeated", [2]string{c.ID, secret}, "", "token=a&token=b", 400, "invalid_request"},
		{"malformed JSON", [2]string{c.ID, secret}, "application/json", "{", 400, "invalid_request"},
	}
	var golden bytes.Buffer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v2/oauth/revoke", strings.NewReader(tt.body))
			ct := tt.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			r.Header.Set("Content-Type", ct)
			if tt.auth[0] != "" {
				r.SetBasicAuth(tt.auth[0], tt.auth[1])
			}
			rec := env.do(r)
			oauthErr(t, rec, tt.status, tt.code)
			fmt.Fprintf(&golden, "%s\n%d %s\n\n", tt.name, rec.Code, strings.TrimSpace(rec.Body.String()))
		})
	}
	checkGolden(t, "revoke_errors.golden", golden.Bytes())
}
