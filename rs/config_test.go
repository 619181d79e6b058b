package rs_test

// The tests of rs that need no grantd. Those that verify grantd's own
// tokens run a real grantd, so they live in the server's module, in
// internal/e2e/rs.

import (
	"net/http"
	"net/http/httptest"
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
