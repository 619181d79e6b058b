package rs_test

// The tests of rs that need no grantd. Those that verify grantd's own
// tokens run a real grantd, so they live in the server's module, in
// internal/e2e/rs.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/grantd/grantd/rs"
)

// apiAudience is the resource the operator configured for the API the
// tests protect (grantd --resource).
const apiAudience = "https://api.example.com/v1"

// A required scope that could not appear in a token is a programming
// mistake, caught when the middleware is made.
func TestMiddlewarePanicsOnBadScope(t *testing.T) {
	v, err := rs.New(rs.Config{Issuer: "https://auth.example.com", Audience: apiAudience})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "read write", `a"b`, `a\b`, "é"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Middleware(%q) did not panic", s)
				}
			}()
			v.Middleware("read", s)
		}()
	}
}

func TestFromContextWithoutToken(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if tok, ok := rs.FromContext(r.Context()); ok || tok != nil {
		t.Errorf("FromContext = %v, %v", tok, ok)
	}
	want := &rs.Token{Subject: "u"}
	if tok, ok := rs.FromContext(rs.NewContext(r.Context(), want)); !ok || tok != want {
		t.Errorf("FromContext(NewContext(t)) = %v, %v", tok, ok)
	}
}

func TestNewChecksConfig(t *testing.T) {
	good := rs.Config{Issuer: "https://auth.example.com", Audience: apiAudience}
	tests := []struct {
		name string
		edit func(*rs.Config)
	}{
		{"no issuer", func(c *rs.Config) { c.Issuer = "" }},
		{"issuer with a trailing slash", func(c *rs.Config) { c.Issuer += "/" }},
		{"issuer with a path", func(c *rs.Config) { c.Issuer += "/v2" }},
		{"issuer not a URL", func(c *rs.Config) { c.Issuer = "auth.example.com" }},
		{"issuer with a query", func(c *rs.Config) { c.Issuer += "?x=1" }},
		{"no audience", func(c *rs.Config) { c.Audience = "" }},
		{"relative JWKS URL", func(c *rs.Config) { c.JWKSURL = "/jwks" }},
		{"quote in the realm", func(c *rs.Config) { c.Realm = `a"b` }},
		{"quote in the metadata URL", func(c *rs.Config) { c.ResourceMetadataURL = `https://api.example.com/"` }},
		{"audience not a URL", func(c *rs.Config) { c.Audience = "orders" }},
		{"audience with a fragment", func(c *rs.Config) { c.Audience += "#x" }},
		{"grantd's own document", func(c *rs.Config) {
			c.ResourceMetadataURL = "https://auth.example.com/.well-known/oauth-protected-resource"
		}},
		{"grantd's document under /v2", func(c *rs.Config) {
			c.ResourceMetadataURL = "https://auth.example.com/v2/.well-known/oauth-protected-resource"
		}},
		{"grantd's document of /v2", func(c *rs.Config) {
			c.ResourceMetadataURL = "https://auth.example.com/.well-known/oauth-protected-resource/v2"
		}},
		{"bad supported scope", func(c *rs.Config) { c.ScopesSupported = []string{"a b"} }},
		{"introspection without a secret", func(c *rs.Config) { c.Introspection = &rs.Introspection{ClientID: "x"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			if _, err := rs.New(c); err == nil {
				t.Error("New accepted it")
			}
		})
	}
	if _, err := rs.New(good); err != nil {
		t.Errorf("New(%+v): %v", good, err)
	}
}

// Without ResourceMetadataURL, the challenge points at the document RFC
// 9728 §3.1 forms from the audience, never at grantd's own, and
// MetadataHandler serves that document at MetadataPath with the
// audience as its resource, exactly.
func TestDefaultMetadataDocument(t *testing.T) {
	tests := []struct{ audience, url, path string }{
		{"https://api.example.com/v1", "https://api.example.com/.well-known/oauth-protected-resource/v1", "/.well-known/oauth-protected-resource/v1"},
		{"http://127.0.0.1:8090/mcp", "http://127.0.0.1:8090/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource/mcp"},
		{"https://api.example.com", "https://api.example.com/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource"},
		{"https://api.example.com/", "https://api.example.com/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource"},
		{"https://api.example.com/a/b", "https://api.example.com/.well-known/oauth-protected-resource/a/b", "/.well-known/oauth-protected-resource/a/b"},
		// grantd's own API: the default is grantd's own document, rightly.
		{"https://auth.example.com/v2", "https://auth.example.com/.well-known/oauth-protected-resource/v2", "/.well-known/oauth-protected-resource/v2"},
	}
	for _, tc := range tests {
		t.Run(tc.audience, func(t *testing.T) {
			v, err := rs.New(rs.Config{
				Issuer: "https://auth.example.com", Audience: tc.audience,
				ScopesSupported: []string{"mcp:tools"}, ResourceName: "Acme MCP server",
			})
			if err != nil {
				t.Fatal(err)
			}
			res := httptest.NewRecorder()
			v.Middleware("mcp:tools")(http.NotFoundHandler()).ServeHTTP(res, httptest.NewRequest(http.MethodPost, "/mcp", nil))
			want := `Bearer realm="grantd", resource_metadata="` + tc.url + `", scope="mcp:tools"`
			if got := res.Header().Get("WWW-Authenticate"); res.Code != 401 || got != want {
				t.Errorf("%d, WWW-Authenticate = %s\nwant %s", res.Code, got, want)
			}
			if v.MetadataPath() != tc.path {
				t.Errorf("MetadataPath = %q, want %q", v.MetadataPath(), tc.path)
			}
			res = httptest.NewRecorder()
			v.MetadataHandler().ServeHTTP(res, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if res.Code != 200 || res.Header().Get("Content-Type") != "application/json" || res.Header().Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("%d %v", res.Code, res.Header())
			}
			var doc map[string]any
			if err := json.Unmarshal(res.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			wantDoc := map[string]any{
				"resource":                 tc.audience,
				"authorization_servers":    []any{"https://auth.example.com"},
				"scopes_supported":         []any{"mcp:tools"},
				"bearer_methods_supported": []any{"header"},
				"resource_name":            "Acme MCP server",
			}
			if !reflect.DeepEqual(doc, wantDoc) {
				t.Errorf("document = %v\nwant %v", doc, wantDoc)
			}
		})
	}
}

// The metadata handler answers a preflight, and refuses writes with a
// JSON 405.
func TestMetadataHandlerMethods(t *testing.T) {
	v, err := rs.New(rs.Config{Issuer: "https://auth.example.com", Audience: apiAudience})
	if err != nil {
		t.Fatal(err)
	}
	res := httptest.NewRecorder()
	v.MetadataHandler().ServeHTTP(res, httptest.NewRequest(http.MethodOptions, v.MetadataPath(), nil))
	if res.Code != 204 || res.Header().Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(res.Header().Get("Access-Control-Allow-Methods"), "GET") {
		t.Errorf("preflight: %d %v", res.Code, res.Header())
	}
	res = httptest.NewRecorder()
	v.MetadataHandler().ServeHTTP(res, httptest.NewRequest(http.MethodPost, v.MetadataPath(), nil))
	if res.Code != 405 || res.Header().Get("Content-Type") != "application/json" {
		t.Errorf("POST: %d %v", res.Code, res.Header())
	}
	var doc map[string]any
	if err := json.Unmarshal(res.Body.Bytes(), &doc); err != nil || doc["error"] != "invalid_request" {
		t.Errorf("POST body %s", res.Body)
	}
}
