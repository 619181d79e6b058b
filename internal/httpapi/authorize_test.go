package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/session"
	"github.com/grantd/grantd/internal/token"
)

// azChallenge is a valid S256 code_challenge.
var azChallenge = oauth.S256(strings.Repeat("v", 43))

// codeFlowClient makes a confidential client of u for the code flow, at
// https://app.example.com/cb.
func codeFlowClient(t testing.TB, env *testEnv, u grantd.User) (grantd.Client, string) {
	t.Helper()
	return env.createClient(t, u, clientSpec{
		GrantTypes: []string{grantd.GrantAuthorizationCode, grantd.GrantRefreshToken},
		Scopes:     []string{grantd.ScopeAdmin, "read", "write"},
	})
}

// authorizePath is a good authorization request for c, changed by kv
// pairs: a value "-" deletes the parameter.
func authorizePath(c grantd.Client, kv ...string) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ID},
		"redirect_uri":          {"https://app.example.com/cb"},
		"scope":                 {"read"},
		"state":                 {"st-1"},
		"code_challenge":        {azChallenge},
		"code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "-" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return "/v2/oauth/authorize?" + q.Encode()
}

// azDo serves one request in process; hdr are header name/value pairs.
func azDo(t testing.TB, env *testEnv, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, env.URL+path, nil)
	} else {
		r = httptest.NewRequest(method, env.URL+path, strings.NewReader(body))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return env.do(r)
}

func bearer(key string) []string { return []string{"Authorization", "Bearer " + key} }

// sessionCookie signs u in as the web pages would and answers the
// Cookie header pair.
func sessionCookie(t testing.TB, env *testEnv, u grantd.User) []string {
	t.Helper()
	c, _, err := session.Create(context.Background(), env.Store, u.ID, env.Clock.Now(), time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	return []string{"Cookie", c.String()}
}

// location answers the Location of a 302.
func location(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Code != http.StatusFound {
		t.Fatalf("status = %d, want 302; body:\n%s", rec.Code, rec.Body)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	return rec.Header().Get("Location")
}

// redirectParams checks that to goes to base and answers its query.
func redirectParams(t testing.TB, to, base string) url.Values {
	t.Helper()
	if !strings.HasPrefix(to, base+"?") {
		t.Fatalf("redirect = %q, want it at %s", to, base)
	}
	u, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// consentTokenOf answers the consent token of a redirect to the built-in
// consent page.
func consentTokenOf(t testing.TB, env *testEnv, to string) string {
	t.Helper()
	tok := redirectParams(t, to, env.URL+"/consent").Get("consent_token")
	if !strings.HasPrefix(tok, token.PrefixConsentToken) {
		t.Fatalf("redirect %q has no consent token", to)
	}
	return tok
}

func TestAuthorizeErrorPages(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	u := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, u)
	c, _ := codeFlowClient(t, env, u)
	ccOnly, _ := env.createClient(t, u, clientSpec{})
	two, _ := env.createClient(t, u, clientSpec{GrantTypes: []string{grantd.GrantAuthorizationCode}, RedirectURIs: []string{"https://app.example.com/cb", "https://app.example.com/cb2"}})

	tests := []struct {
		name   string
		path   string
		hdr    []string
		status int
		golden string
	}{
		{"unknown client", authorizePath(c, "client_id", "nosuchclient"), nil, 404, "authorize_error_404.golden"},
		{"no client_id", authorizePath(c, "client_id", "-"), nil, 400, "authorize_error_400.golden"},
		{"repeated client_id", authorizePath(c) + "&client_id=" + c.ID, nil, 400, ""},
		{"client without the code flow", authorizePath(ccOnly), nil, 422, "authorize_error_422.golden"},
		{"unregistered redirect_uri", authorizePath(c, "redirect_uri", "https://evil.example/cb"), bearer(key), 422, "authorize_error_422_redirect_uri.golden"},
		{"userinfo redirect_uri", authorizePath(c, "redirect_uri", "https://app.example.com@evil.example/cb"), bearer(key), 422, ""},
		{"relative redirect_uri", authorizePath(c, "redirect_uri", "/cb"), nil, 400, ""},
		{"unparsable redirect_uri", authorizePath(c, "redirect_uri", "https://app.example.com:port/cb"), nil, 400, ""},
		{"no redirect_uri while two are registered", authorizePath(two, "redirect_uri", "-"), nil, 400, ""},
		{"repeated redirect_uri", authorizePath(c) + "&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb", nil, 400, ""},
		{"malformed query", authorizePath(c) + "&x=%zz", nil, 400, ""},
		{"API key not valid", authorizePath(c), bearer(token.PrefixAPIKey + "nosuchkey"), 401, "authorize_error_401.golden"},
		{"access token instead of API key", authorizePath(c), bearer("eyJhbGciOiJFUzI1NiJ9.e30.sig"), 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := azDo(t, env, "GET", tt.path, "", tt.hdr...)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; Location %q; body:\n%s", rec.Code, tt.status, rec.Header().Get("Location"), rec.Body)
			}
			h := rec.Header()
			if got := h.Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := h.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
			if h.Get("Location") != "" {
				t.Errorf("an error page redirects to %q", h.Get("Location"))
			}
			body := rec.Body.String()
			if !strings.Contains(body, `<main class="card">`) || !strings.Contains(body, `href="/static/grantd.css"`) {
				t.Errorf("page lacks the card or the stylesheet:\n%s", body)
			}
			if tt.golden != "" {
				checkGoldenIn(t, filepath.Join("..", "web", "testdata"), tt.golden, rec.Body.Bytes())
			}
		})
	}
}

func TestAuthorizeRedirects(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	u := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, u)
	c, _ := codeFlowClient(t, env, u)

	t.Run("nobody signed in", func(t *testing.T) {
		path := authorizePath(c)
		to := location(t, azDo(t, env, "GET", path, ""))
		if want := "/login?return_to=" + url.QueryEscape(path); to != want {
			t.Errorf("Location = %q, want %q", to, want)
		}
		back, err := url.Parse(to)
		if err != nil || back.Query().Get("return_to") != path {
			t.Errorf("return_to does not round-trip: %q", to)
		}
	})
	t.Run("a stale session cookie is nobody", func(t *testing.T) {
		to := location(t, azDo(t, env, "GET", authorizePath(c), "", "Cookie", session.CookieName+"="+token.PrefixSession+"gone"))
		if !strings.HasPrefix(to, "/login?return_to=") {
			t.Errorf("Location = %q, want the sign-in page", to)
		}
	})
	t.Run("API key", func(t *testing.T) {
		consentTokenOf(t, env, location(t, azDo(t, env, "GET", authorizePath(c), "", bearer(key)...)))
	})
	t.Run("session cookie", func(t *testing.T) {
		consentTokenOf(t, env, location(t, azDo(t, env, "GET", authorizePath(c), "", sessionCookie(t, env, u)...)))
	})
	t.Run("errors after the redirect URI is trusted", func(t *testing.T) {
		for _, tt := range []struct{ path, want string }{
			{authorizePath(c, "response_type", "token"), "unsupported_response_type"},
			{authorizePath(c, "scope", "nosuch"), "invalid_scope"},
			{authorizePath(c, "code_challenge_method", "plain"), "invalid_request"},
			{authorizePath(c, "code_challenge_method", "-"), "invalid_request"},
			{authorizePath(c, "resource", "https://elsewhere.example/"), "invalid_target"},
			{authorizePath(c) + "&scope=write", "invalid_request"},
		} {
			for _, hdr := range [][]string{nil, bearer(key)} {
				q := redirectParams(t, location(t, azDo(t, env, "GET", tt.path, "", hdr...)), "https://app.example.com/cb")
				if q.Get("error") != tt.want || q.Get("state") != "st-1" || q.Get("iss") != goldenIssuer {
					t.Errorf("%s: answer = %v, want %s with state and iss", tt.path, q, tt.want)
				}
			}
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		rec := azDo(t, env, "HEAD", authorizePath(c), "", bearer(key)...)
		consentTokenOf(t, env, location(t, rec))
	})
	t.Run("POST", func(t *testing.T) {
		rec := azDo(t, env, "POST", authorizePath(c), "", bearer(key)...)
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("status = %d, want 405", rec.Code)
		}
	})
}

// TestAuthorizeSkipsConsent: once the user has approved, the same request
// comes straight back with a code, unless prompt=consent.
func TestAuthorizeSkipsConsent(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	u := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, u)
	c, _ := codeFlowClient(t, env, u)
	env.createGrant(t, u, c, "read", "write")

	q := redirectParams(t, location(t, azDo(t, env, "GET", authorizePath(c, "scope", "write read"), "", bearer(key)...)), "https://app.example.com/cb")
	if !strings.HasPrefix(q.Get("code"), token.PrefixAuthCode) || q.Get("state") != "st-1" || q.Get("iss") != goldenIssuer {
		t.Errorf("answer = %v, want a code", q)
	}
	consentTokenOf(t, env, location(t, azDo(t, env, "GET", authorizePath(c, "prompt", "consent"), "", bearer(key)...)))
	consentTokenOf(t, env, location(t, azDo(t, env, "GET", authorizePath(c, "scope", "admin"), "", bearer(key)...)))
}
