package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/token"
)

// introspectAs posts an introspection of tok with "Authorization: Bearer
// cred" and nothing else, as the Telnyx SDK and curl reference do.
func introspectAs(env *testEnv, cred, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, env.URL+"/v2/oauth/introspect", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Bearer "+cred)
	return env.do(r)
}

// TestIntrospectBearerRules: each kind of bearer caller asks about each
// kind of token. A caller learns about its own user's tokens and the
// tokens of clients its user owns; about anything else, including a live
// token of someone else, the answer is byte for byte that of a token that
// does not exist (RFC 7662 §4: no scanning).
func TestIntrospectBearerRules(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	alice := env.createUser(t, "alice@example.com")
	bob := env.createUser(t, "bob@example.com")
	keyA, keyB := env.createAPIKey(t, alice), env.createAPIKey(t, bob)

	cA, secretA := env.createClient(t, alice, clientSpec{})
	cB, secretB := env.createClient(t, bob, clientSpec{})
	cN, secretN := env.createClient(t, grantd.User{}, clientSpec{Scopes: []string{"read"}})
	read := url.Values{"scope": {"read"}}
	admin := url.Values{"scope": {"admin read"}}

	// Alice uses bob's app: her tokens there have her as subject and
	// bob's client.
	bobApp, _ := env.createClient(t, bob, clientSpec{Public: true})
	f := codeFlow{env: env, user: alice, client: bobApp, grant: env.createGrant(t, alice, bobApp, "read", "admin")}
	aliceAtBob := tokenOK(t, f.redeem(t, f.env.mintCode(t, f.grant, codeSpec{redirectURI: bobApp.RedirectURIs[0], challenge: oauth.S256(testVerifier), scopes: []string{"read"}})))
	aliceAdminAtBob := tokenOK(t, f.redeem(t, f.env.mintCode(t, f.grant, codeSpec{redirectURI: bobApp.RedirectURIs[0], challenge: oauth.S256(testVerifier), scopes: []string{"admin"}}))).AccessToken

	adminA := ccToken(t, env, cA.ID, secretA, admin) // acts for alice
	readA := ccToken(t, env, cA.ID, secretA, read)   // no admin: itself only
	ownerless := ccToken(t, env, cN.ID, secretN, read)
	v2aud := ccToken(t, env, cA.ID, secretA, url.Values{"scope": {"admin"}, "resource": {goldenIssuer + "/v2"}})

	targets := map[string]string{
		"alice's client's token":    ccToken(t, env, cA.ID, secretA, read),
		"alice's token at bob's":    aliceAtBob.AccessToken,
		"alice's refresh at bob's":  aliceAtBob.RefreshToken,
		"bob's client's token":      ccToken(t, env, cB.ID, secretB, read),
		"an ownerless client token": ccToken(t, env, cN.ID, secretN, read),
		"the admin token":           adminA,
		"the read token":            readA,
		"the ownerless token":       ownerless,
	}
	learns := map[string][]string{
		"alice's API key": {"alice's client's token", "alice's token at bob's", "alice's refresh at bob's", "the admin token", "the read token"},
		"bob's API key":   {"alice's token at bob's", "alice's refresh at bob's", "bob's client's token"},
		// An admin token acts for its user, wherever its client belongs.
		"alice's admin client_credentials token": {"alice's client's token", "alice's token at bob's", "alice's refresh at bob's", "the admin token", "the read token"},
		"alice's admin token at bob's app":       {"alice's client's token", "alice's token at bob's", "alice's refresh at bob's", "the admin token", "the read token"},
		"alice's admin token with audience /v2":  {"alice's client's token", "alice's token at bob's", "alice's refresh at bob's", "the admin token", "the read token"},
		"alice's token without admin":            {"the read token"},
		"an ownerless client's token":            {"the ownerless token"},
	}
	callers := map[string]string{
		"alice's API key":                        keyA,
		"bob's API key":                          keyB,
		"alice's admin client_credentials token": adminA,
		"alice's admin token at bob's app":       aliceAdminAtBob,
		"alice's admin token with audience /v2":  v2aud,
		"alice's token without admin":            readA,
		"an ownerless client's token":            ownerless,
	}
	for caller, cred := range callers {
		for target, tok := range targets {
			t.Run(caller+" asks about "+target, func(t *testing.T) {
				rec := introspectAs(env, cred, url.Values{"token": {tok}}.Encode())
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				want := false
				for _, l := range learns[caller] {
					want = want || l == target
				}
				got := decodeJSON(t, rec.Body.Bytes())
				if want && (got["active"] != true || got["client_id"] == nil) {
					t.Errorf("answer %s, want the token described", rec.Body)
				}
				if !want && strings.TrimSpace(rec.Body.String()) != `{"active":false}` {
					t.Errorf("answer %s, want exactly {\"active\":false}", rec.Body)
				}
			})
		}
		t.Run(caller+" asks about an unknown token", func(t *testing.T) {
			rec := introspectAs(env, cred, "token=grantd_rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
			if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"active":false}` {
				t.Errorf("status %d body %s, want 200 {\"active\":false}", rec.Code, rec.Body)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", rec.Header().Get("Cache-Control"))
			}
		})
	}

	// A confidential client still learns about any token.
	rec := env.postForm(t, "/v2/oauth/introspect", url.Values{"token": {aliceAtBob.AccessToken}}, cN.ID, secretN)
	if decodeJSON(t, rec.Body.Bytes())["active"] != true {
		t.Errorf("client authentication: %s", rec.Body)
	}
}

// TestIntrospectBearerErrors: a bearer credential that is not valid, or
// not for this API, is 401 invalid_token with an RFC 6750 challenge; a
// caller that uses two ways in, or sends no token, is 400.
func TestIntrospectBearerErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	u := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, u)
	c, secret := env.createClient(t, u, clientSpec{})
	revoked := ccToken(t, env, c.ID, secret, nil)
	if err := env.Store.RevokeJTI(context.Background(), mustVerify(t, env, revoked).JTI, env.Clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	expired := ccToken(t, env, c.ID, secret, nil)
	env.Clock.Advance(29 * time.Minute)
	fresh := ccToken(t, env, c.ID, secret, nil)
	env.Clock.Advance(2 * time.Minute)

	tests := []struct {
		name, cred, body string
		status           int
		code             string
	}{
		{"unknown API key", token.PrefixAPIKey + "nosuchkey", "token=x", 401, "invalid_token"},
		{"garbage", "not-a-token", "token=x", 401, "invalid_token"},
		{"expired access token", expired, "token=x", 401, "invalid_token"},
		{"revoked access token", revoked, "token=x", 401, "invalid_token"},
		{"token of another issuer", foreignToken(t), "token=x", 401, "invalid_token"},
		{"token for another resource", ccToken(t, env, c.ID, secret, url.Values{"resource": {testResource}}), "token=x", 401, "invalid_token"},
		{"a refresh token as the credential", "grantd_rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "token=x", 401, "invalid_token"},
		{"bearer and client_secret", key, "token=x&client_id=" + c.ID + "&client_secret=" + secret, 400, "invalid_request"},
		{"no token", key, "token_type_hint=access_token", 400, "invalid_request"},
		{"no token, access token caller", fresh, "", 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := introspectAs(env, tt.cred, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if got := decodeJSON(t, rec.Body.Bytes())["error"]; got != tt.code {
				t.Errorf("error %v, want %s", got, tt.code)
			}
			www := rec.Header().Get("WWW-Authenticate")
			if tt.status == 401 && www != `Bearer realm="grantd", error="invalid_token"` {
				t.Errorf("WWW-Authenticate = %q, want the RFC 6750 challenge", www)
			}
			if tt.status != 401 && www != "" {
				t.Errorf("WWW-Authenticate = %q on %d", www, tt.status)
			}
		})
	}
}

// TestIntrospectBearerBruteForce: bad bearer credentials at
// introspection, API keys and access tokens alike, spend the address's
// API-key limit; then even a good key from that address is 429, and the
// limit holds on the management API too.
func TestIntrospectBearerBruteForce(t *testing.T) {
	t.Parallel()
	env, cs := newCountingEnv(t)
	u := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, u)
	const attacker, other = "192.0.2.66:1", "192.0.2.10:1"
	ask := func(remote, cred string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, env.URL+"/v2/oauth/introspect", strings.NewReader("token=x"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", "Bearer "+cred)
		return env.from(remote, r)
	}
	for i := range 20 {
		cred := fmt.Sprintf("%sguess%d", token.PrefixAPIKey, i)
		if i%2 == 1 {
			cred = fmt.Sprintf("eyJhbGciOiJFUzI1NiJ9.e30.guess%d", i)
		}
		if rec := ask(attacker, cred); rec.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	before := cs.getAPIKey.Load()
	rec := ask(attacker, key)
	wantOAuth429(t, rec, 20)
	r := httptest.NewRequest(http.MethodGet, env.URL+"/v2/oauth_clients", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	want429(t, env.from(attacker, r), 20)
	if n := cs.getAPIKey.Load() - before; n != 0 {
		t.Errorf("refused requests looked the key up %d times, want 0", n)
	}
	if rec := ask(other, key); rec.Code != http.StatusOK {
		t.Errorf("the right key from another address: %d %s", rec.Code, rec.Body)
	}
}
