package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

func TestConsentEndpoint(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	alice := env.createUser(t, "alice@example.com")
	aliceKey := env.createAPIKey(t, alice)
	bob := env.createUser(t, "bob@example.com")
	bobKey := env.createAPIKey(t, bob)
	c, _ := codeFlowClient(t, env, alice)
	tok := consentTokenOf(t, env, location(t, azDo(t, env, "GET", authorizePath(c, "scope", "write read"), "", bearer(aliceKey)...)))

	for name, hdr := range map[string][]string{"API key": bearer(aliceKey), "session cookie": sessionCookie(t, env, alice)} {
		t.Run(name, func(t *testing.T) {
			rec := azDo(t, env, "GET", "/v2/oauth/consent/"+tok, "", hdr...)
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d; body:\n%s", rec.Code, rec.Body)
			}
			if rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("headers = %v", rec.Header())
			}
			want := `{"data":{"client_id":"` + c.ID + `","name":"test client","logo_uri":null,"tos_uri":null,"policy_uri":null,` +
				`"redirect_uri":"https://app.example.com/cb","verified":false,"requested_scopes":[` +
				`{"id":"write","name":"Change your data","description":"Send messages and change settings."},` +
				`{"id":"read","name":"Read your data","description":"See your numbers and messages."}]}}`
			if got := rec.Body.String(); got != want {
				t.Errorf("body =\n%s\nwant\n%s", got, want)
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		for name, tt := range map[string]struct {
			tok string
			hdr []string
		}{
			"another user's": {tok, bearer(bobKey)},
			"malformed":      {"garbage", bearer(aliceKey)},
			"unknown":        {token.PrefixConsentToken + "nosuch", bearer(aliceKey)},
			"overlong":       {token.PrefixConsentToken + strings.Repeat("x", 5000), bearer(aliceKey)},
		} {
			t.Run(name, func(t *testing.T) {
				wantAPIError(t, azDo(t, env, "GET", "/v2/oauth/consent/"+tt.tok, "", tt.hdr...), 422, "10027", "/consent_token")
			})
		}
	})
	t.Run("nobody signed in", func(t *testing.T) {
		rec := azDo(t, env, "GET", "/v2/oauth/consent/"+tok, "")
		wantAPIError(t, rec, 401, "10009", "")
		if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Bearer realm="grantd"`) {
			t.Errorf("WWW-Authenticate = %q", rec.Header().Get("WWW-Authenticate"))
		}
	})
	t.Run("bad API key", func(t *testing.T) {
		wantAPIError(t, azDo(t, env, "GET", "/v2/oauth/consent/"+tok, "", bearer(token.PrefixAPIKey+"nope")...), 401, "10009", "")
	})
	t.Run("no token", func(t *testing.T) {
		rec := azDo(t, env, "GET", "/v2/oauth/consent/", "", bearer(aliceKey)...)
		if rec.Code != http.StatusNotFound {
			t.Errorf("status = %d, want 404", rec.Code)
		}
	})
	t.Run("expired", func(t *testing.T) {
		env.Clock.Advance(env.Provider.Config().ConsentTTL)
		wantAPIError(t, azDo(t, env, "GET", "/v2/oauth/consent/"+tok, "", bearer(aliceKey)...), 422, "10027", "/consent_token")
	})
}

// consentFor starts a request of alice's and answers its consent token.
func consentFor(t testing.TB, env *testEnv, key string, c grantd.Client, kv ...string) string {
	t.Helper()
	return consentTokenOf(t, env, location(t, azDo(t, env, "GET", authorizePath(c, kv...), "", bearer(key)...)))
}

// TestConsentEndpointStepUp asks for more than the user's grant holds:
// the answer names what the grant holds already in granted_scopes (absent
// without a grant, as TestConsentEndpoint pins).
func TestConsentEndpointStepUp(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	alice := env.createUser(t, "alice@example.com")
	aliceKey := env.createAPIKey(t, alice)
	c, _ := codeFlowClient(t, env, alice)
	env.createGrant(t, alice, c, "read")
	tok := consentTokenOf(t, env, location(t, azDo(t, env, "GET", authorizePath(c, "scope", "write read"), "", bearer(aliceKey)...)))

	rec := azDo(t, env, "GET", "/v2/oauth/consent/"+tok, "", bearer(aliceKey)...)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; body:\n%s", rec.Code, rec.Body)
	}
	want := `"requested_scopes":[` +
		`{"id":"write","name":"Change your data","description":"Send messages and change settings."},` +
		`{"id":"read","name":"Read your data","description":"See your numbers and messages."}],` +
		`"granted_scopes":[{"id":"read","name":"Read your data","description":"See your numbers and messages."}]}}`
	if got := rec.Body.String(); !strings.HasSuffix(got, want) {
		t.Errorf("body =\n%s\nwant it to end\n%s", got, want)
	}
}
