package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
)

// The device authorization endpoint authenticates the client as the token
// endpoint does and answers in RFC 6749's format; the polling answers
// reach the client as RFC 8628 names them.
func TestDeviceAuthorizationEndpoint(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	u := env.createUser(t, "a@example.com")
	c, secret := env.createClient(t, u, clientSpec{GrantTypes: []string{grantd.GrantDeviceCode, grantd.GrantRefreshToken}, Scopes: []string{"read"}})
	codeOnly, codeSecret := env.createClient(t, u, clientSpec{})

	res := env.postForm(t, "/v2/oauth/device_authorization", url.Values{"scope": {"read"}}, c.ID, secret)
	if res.Code != http.StatusOK || res.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("device authorization: %d %s", res.Code, res.Body)
	}
	da := decodeJSON(t, res.Body.Bytes())
	if da["verification_uri"] != env.URL+"/device" || da["interval"] != float64(5) || da["expires_in"] != float64(600) {
		t.Fatalf("answer = %v", da)
	}

	// JSON bodies too.
	r := httptest.NewRequest(http.MethodPost, env.URL+"/v2/oauth/device_authorization", strings.NewReader(`{"scope":"read"}`))
	r.Header.Set("Content-Type", "application/json")
	r.SetBasicAuth(c.ID, secret)
	if rec := env.do(r); rec.Code != http.StatusOK {
		t.Fatalf("JSON body: %d %s", rec.Code, rec.Body)
	}

	for _, tc := range []struct {
		name         string
		form         url.Values
		user, pass   string
		status       int
		code         string
		wwwAuthorize bool
	}{
		{"wrong secret", url.Values{}, c.ID, "wrong", 401, "invalid_client", true},
		{"not allowed the grant", url.Values{}, codeOnly.ID, codeSecret, 400, "unauthorized_client", false},
		{"scope beyond the client's", url.Values{"scope": {"admin"}}, c.ID, secret, 400, "invalid_scope", false},
		{"two resources", url.Values{"resource": {testResource, env.URL}}, c.ID, secret, 400, "invalid_target", false},
		{"repeated scope", url.Values{"scope": {"read", "read"}}, c.ID, secret, 400, "invalid_request", false},
	} {
		rec := env.postForm(t, "/v2/oauth/device_authorization", tc.form, tc.user, tc.pass)
		body := decodeJSON(t, rec.Body.Bytes())
		if rec.Code != tc.status || body["error"] != tc.code || (rec.Header().Get("WWW-Authenticate") != "") != tc.wwwAuthorize {
			t.Errorf("%s: %d %v %q", tc.name, rec.Code, body, rec.Header().Get("WWW-Authenticate"))
		}
	}

	poll := func() map[string]any {
		rec := env.postForm(t, "/v2/oauth/token", url.Values{"grant_type": {grantd.GrantDeviceCode}, "device_code": {da["device_code"].(string)}}, c.ID, secret)
		if rec.Code != http.StatusBadRequest || rec.Header().Get("WWW-Authenticate") != "" {
			t.Fatalf("poll: %d %s", rec.Code, rec.Body)
		}
		return decodeJSON(t, rec.Body.Bytes())
	}
	if got := poll(); got["error"] != "authorization_pending" {
		t.Fatalf("first poll: %v", got)
	}
	if got := poll(); got["error"] != "slow_down" {
		t.Fatalf("poll at once: %v", got)
	}
	env.Clock.Advance(11 * time.Minute)
	if got := poll(); got["error"] != "expired_token" {
		t.Fatalf("poll after expiry: %v", got)
	}
}

// A client made through the management API may be allowed the device
// grant, and may then use it.
func TestCreateDeviceClient(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	u := env.createUser(t, "a@example.com")
	key := env.createAPIKey(t, u)
	r := httptest.NewRequest(http.MethodPost, env.URL+"/v2/oauth_clients", strings.NewReader(
		`{"name":"TV app","client_type":"public","allowed_scopes":["read"],"allowed_grant_types":["urn:ietf:params:oauth:grant-type:device_code"]}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+key)
	rec := env.do(r)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	id := decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)["client_id"].(string)
	if res := env.postForm(t, "/v2/oauth/device_authorization", url.Values{"client_id": {id}}, "", ""); res.Code != http.StatusOK {
		t.Fatalf("device authorization of a public client: %d %s", res.Code, res.Body)
	}
}
