package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// corsPublicPaths are the endpoints any origin may call (SPEC §3, CORS),
// with a method each serves.
var corsPublicPaths = map[string]string{
	"/.well-known/oauth-authorization-server":    "GET",
	"/v2/.well-known/oauth-authorization-server": "GET",
	"/.well-known/oauth-protected-resource":      "GET",
	"/v2/.well-known/oauth-protected-resource":   "GET",
	"/.well-known/oauth-protected-resource/v2":   "GET",
	"/v2/oauth/jwks":                 "GET",
	"/v2/oauth/register":             "POST",
	"/v2/oauth/register/some-client": "GET",
	"/v2/oauth/token":                "POST",
	"/v2/oauth/revoke":               "POST",
	"/v2/oauth/device_authorization": "POST",
}

func preflightRequest(env *testEnv, path, method string) *http.Request {
	r := httptest.NewRequest(http.MethodOptions, env.URL+path, nil)
	r.Header.Set("Origin", "https://evil.example")
	r.Header.Set("Access-Control-Request-Method", method)
	r.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	return r
}

// A browser on any origin may call the public endpoints: preflights are
// 204 with the methods and headers, and every answer, errors included,
// allows any origin, never with credentials.
func TestCORSPublicEndpoints(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	for path, method := range corsPublicPaths {
		rec := env.do(preflightRequest(env, path, method))
		h := rec.Header()
		if rec.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), method) ||
			h.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type" {
			t.Errorf("preflight %s: %d %v", path, rec.Code, h)
		}
		if h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight %s allows credentials", path)
		}
		// The answer itself (an error for most: no body, no credentials),
		// and a 405.
		for _, m := range []string{method, "PATCH"} {
			r := httptest.NewRequest(m, env.URL+path, nil)
			r.Header.Set("Origin", "https://evil.example")
			rec := env.do(r)
			h := rec.Header()
			if h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%s %s: %d without the CORS headers: %v", m, path, rec.Code, h)
			}
			for _, e := range []string{"WWW-Authenticate", "Retry-After", "RateLimit-Reset"} {
				if !strings.Contains(h.Get("Access-Control-Expose-Headers"), e) {
					t.Errorf("%s %s: Expose-Headers %q lacks %s", m, path, h.Get("Access-Control-Expose-Headers"), e)
				}
			}
		}
	}
}

// Everything else (introspection, the user's side of the flow, the
// management API with no origins listed, health) carries no CORS header
// and refuses OPTIONS as any other method it does not serve.
func TestCORSNotOnOtherEndpoints(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	for path, method := range map[string]string{
		"/v2/oauth/introspect":    "POST",
		"/v2/oauth/authorize":     "GET",
		"/v2/oauth/grants":        "POST",
		"/v2/oauth/consent/x":     "GET",
		"/v2/oauth_clients":       "GET",
		"/v2/oauth_clients/x":     "GET",
		"/v2/oauth_grants":        "GET",
		"/v2/oauth_grants/x":      "DELETE",
		"/v2/openapi.json":        "GET",
		"/healthz":                "GET",
		"/v2/nothing-here":        "GET",
		"/.well-known/other-path": "GET",
	} {
		rec := env.do(preflightRequest(env, path, method))
		if rec.Code == http.StatusNoContent || hasCORS(rec.Header()) {
			t.Errorf("preflight %s: %d %v", path, rec.Code, rec.Header())
		}
		r := httptest.NewRequest(method, env.URL+path, nil)
		r.Header.Set("Origin", "https://evil.example")
		if rec := env.do(r); hasCORS(rec.Header()) {
			t.Errorf("%s %s: CORS headers %v", method, path, rec.Header())
		}
	}
}

func hasCORS(h http.Header) bool {
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			return true
		}
	}
	return false
}

// With --cors-origins the management API answers those origins exactly
// (never *, never with credentials) and no other; pages and the
// user's side stay without CORS.
func TestCORSListedOrigins(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer), func(o *testOptions) { o.CORSOrigins = []string{"https://console.example.com"} })
	for _, path := range []string{"/v2/oauth_clients", "/v2/oauth_clients/x", "/v2/oauth_grants", "/v2/oauth_grants/x"} {
		r := preflightRequest(env, path, "GET")
		r.Header.Set("Origin", "https://console.example.com")
		rec := env.do(r)
		h := rec.Header()
		if rec.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://console.example.com" ||
			h.Get("Access-Control-Allow-Credentials") != "" || h.Get("Access-Control-Allow-Headers") == "" {
			t.Errorf("preflight %s from the listed origin: %d %v", path, rec.Code, h)
		}
		get := httptest.NewRequest("GET", env.URL+path, nil)
		get.Header.Set("Origin", "https://console.example.com")
		if rec := env.do(get); rec.Header().Get("Access-Control-Allow-Origin") != "https://console.example.com" {
			t.Errorf("GET %s from the listed origin: %d %v", path, rec.Code, rec.Header())
		}
		// Another origin (a prefix of the listed one, too) gets nothing.
		for _, o := range []string{"https://evil.example", "https://console.example.co", "null"} {
			r := preflightRequest(env, path, "GET")
			r.Header.Set("Origin", o)
			if rec := env.do(r); hasCORS(rec.Header()) {
				t.Errorf("preflight %s from %s: %v", path, o, rec.Header())
			}
		}
	}
	r := preflightRequest(env, "/v2/oauth/introspect", "POST")
	r.Header.Set("Origin", "https://console.example.com")
	if rec := env.do(r); hasCORS(rec.Header()) {
		t.Errorf("introspection with listed origins: %v", rec.Header())
	}
}
