package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/token"
)

// ccToken gets a client_credentials token for a confidential client.
func ccToken(t testing.TB, env *testEnv, id, secret string, extra url.Values) string {
	t.Helper()
	v := url.Values{"grant_type": {"client_credentials"}}
	for k, vs := range extra {
		v[k] = vs
	}
	return tokenOK(t, env.postForm(t, "/v2/oauth/token", v, id, secret)).AccessToken
}

// foreignToken is a well-formed access token of another server: another
// issuer and other keys, with the same claims and kid format.
func foreignToken(t testing.TB) string {
	other := newTestEnv(t, withIssuer("https://other.example"))
	u := other.createUser(t, "x@example.com")
	c, secret := other.createClient(t, u, clientSpec{})
	return ccToken(t, other, c.ID, secret, nil)
}

func TestIntrospectInactive(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	u := env.createUser(t, "owner@example.com")
	c, secret := env.createClient(t, u, clientSpec{})
	apiKey := env.createAPIKey(t, u)
	f := newCodeFlow(t, env, clientSpec{})

	revoked := ccToken(t, env, c.ID, secret, nil)
	jti := mustVerify(t, env, revoked).JTI
	if err := env.Store.RevokeJTI(context.Background(), jti, env.Clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	pair := tokenOK(t, f.redeem(t, f.code(t)))
	rotated := pair.RefreshToken
	tokenOK(t, f.refresh(t, rotated, nil))

	// Tokens under a revoked grant, and of a deleted client.
	g := newCodeFlow(t, env, clientSpec{})
	underGrant := tokenOK(t, g.redeem(t, g.code(t)))
	if err := env.Store.DeleteGrant(context.Background(), g.grant.ID); err != nil {
		t.Fatal(err)
	}
	gone, goneSecret := env.createClient(t, u, clientSpec{})
	ofDeletedClient := ccToken(t, env, gone.ID, goneSecret, nil)
	if err := env.Store.DeleteClient(context.Background(), gone.ID); err != nil {
		t.Fatal(err)
	}
	live := ccToken(t, env, c.ID, secret, nil)
	tampered := live[:len(live)-4] + "AAAA"

	tests := map[string]string{
		"garbage":                                 "not a token",
		"an API key":                              apiKey,
		"a revoked access token":                  revoked,
		"a rotated-out refresh token":             rotated,
		"an unknown refresh token":                "grantd_rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"a token of another issuer":               foreignToken(t),
		"a tampered signature":                    tampered,
		"an access token whose grant was revoked": underGrant.AccessToken,
		"a refresh token whose grant was revoked": underGrant.RefreshToken,
		"an access token of a deleted client":     ofDeletedClient,
		"a client secret":                         secret,
		"a JWT with a newline in it":              live[:10] + "\n" + live[10:],
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			rec := env.postForm(t, "/v2/oauth/introspect", url.Values{"token": {tok}}, c.ID, secret)
			if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"active":false}` {
				t.Errorf("status %d body %s, want 200 {\"active\":false}", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}

	// Expiry, on the engine's clock.
	expiring := tokenOK(t, f.redeem(t, f.code(t))).RefreshToken
	env.Clock.Advance(30 * time.Minute)
	if in := introspect(t, env, live); in["active"] != false {
		t.Errorf("expired access token: %v", in)
	}
	if in := introspect(t, env, expiring); in["active"] != true {
		t.Errorf("refresh token after 30 minutes: %v, want active", in)
	}
	env.Clock.Advance(30 * 24 * time.Hour)
	if in := introspect(t, env, expiring); in["active"] != false {
		t.Errorf("expired refresh token: %v", in)
	}
}

func mustVerify(t testing.TB, env *testEnv, tok string) token.AccessClaims {
	t.Helper()
	c, err := env.Keys.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIntrospectActive(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	u := env.createUser(t, "owner@example.com")
	c, secret := env.createClient(t, u, clientSpec{})
	f := newCodeFlow(t, env, clientSpec{})
	pair := tokenOK(t, f.redeem(t, f.code(t)))
	now := env.Clock.Now()

	tests := []struct {
		name, token, hint string
		want              map[string]any
	}{
		{"access token of the code flow", pair.AccessToken, "", map[string]any{
			"active": true, "token_type": "access_token", "scope": "read write", "client_id": f.client.ID,
			"sub": f.user.ID, "aud": goldenIssuer, "iss": goldenIssuer, "grant_id": f.grant.ID,
			"iat": float64(now.Unix()), "exp": float64(now.Add(30 * time.Minute).Unix()),
		}},
		{"with a wrong hint", pair.AccessToken, "refresh_token", map[string]any{"active": true, "token_type": "access_token"}},
		{"refresh token", pair.RefreshToken, "access_token", map[string]any{
			"active": true, "token_type": "refresh_token", "scope": "read write", "client_id": f.client.ID,
			"sub": f.user.ID, "aud": goldenIssuer, "iss": goldenIssuer,
			"iat": float64(now.Unix()), "exp": float64(now.Add(30 * 24 * time.Hour).Unix()),
		}},
		{"another client's token", ccToken(t, env, c.ID, secret, url.Values{"resource": {testResource}}), "", map[string]any{
			"active": true, "client_id": c.ID, "sub": c.ID, "aud": testResource,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Any confidential client may introspect any token: a third
			// client asks.
			v := url.Values{"token": {tt.token}}
			if tt.hint != "" {
				v.Set("token_type_hint", tt.hint)
			}
			rec := env.postForm(t, "/v2/oauth/introspect", v, c.ID, secret)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := decodeJSON(t, rec.Body.Bytes())
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s = %v, want %v (answer %s)", k, got[k], want, rec.Body)
				}
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", rec.Header().Get("Cache-Control"))
			}
		})
	}

	// JSON bodies work as well as forms.
	r := httptest.NewRequest(http.MethodPost, "/v2/oauth/introspect", strings.NewReader(
		fmt.Sprintf(`{"token":%q,"client_id":%q,"client_secret":%q}`, pair.AccessToken, c.ID, secret)))
	r.Header.Set("Content-Type", "application/json")
	if in := decodeJSON(t, env.do(r).Body.Bytes()); in["active"] != true {
		t.Errorf("JSON introspection: %v", in)
	}
}

// TestIntrospectErrors pins the errors of the introspection endpoint.
func TestIntrospectErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	u := env.createUser(t, "owner@example.com")
	c, secret := env.createClient(t, u, clientSpec{})
	public, _ := env.createClient(t, u, clientSpec{Public: true})
	tests := []struct {
		name   string
		auth   [2]string
		body   string
		status int
		code   string
	}{
		{"no client authentication", [2]string{}, "token=x", 401, "invalid_client"},
		{"wrong secret", [2]string{c.ID, "wrong"}, "token=x", 401, "invalid_client"},
		{"public client", [2]string{}, "token=x&client_id=" + public.ID, 401, "invalid_client"},
		{"public client with Basic", [2]string{public.ID, ""}, "token=x", 401, "invalid_client"},
		{"token missing", [2]string{c.ID, secret}, "token_type_hint=access_token", 400, "invalid_request"},
		{"token repeated", [2]string{c.ID, secret}, "token=a&token=b", 400, "invalid_request"},
	}
	var golden bytes.Buffer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v2/oauth/introspect", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.auth[0] != "" {
				r.SetBasicAuth(tt.auth[0], tt.auth[1])
			}
			rec := env.do(r)
			if tt.name == "no client authentication" {
				// Nothing presented: both ways in are offered (RFC 7662
				// §2.1 allows a bearer token instead of client
				// authentication).
				if www := rec.Header().Values("WWW-Authenticate"); len(www) != 1 || www[0] != `Basic realm="grantd", Bearer realm="grantd"` {
					t.Errorf("WWW-Authenticate = %q, want the Basic and the Bearer challenge", www)
				}
				rec.Header().Set("WWW-Authenticate", `Basic realm="grantd"`)
			}
			oauthErr(t, rec, tt.status, tt.code)
			fmt.Fprintf(&golden, "%s\n%d %s\n\n", tt.name, rec.Code, strings.TrimSpace(rec.Body.String()))
		})
	}
	checkGolden(t, "introspect_errors.golden", golden.Bytes())
}
