package rs_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grantd/grantd/rs"
)

// A revoked token verifies locally until it expires; with Introspection
// it is refused at once.
func TestIntrospectionSeesRevocation(t *testing.T) {
	g := newGrantd(t)
	local := g.verifier(t, nil)
	checked := g.verifier(t, func(c *rs.Config) {
		c.Introspection = &rs.Introspection{ClientID: g.ClientID, ClientSecret: g.Secret}
	})
	revoked := g.token(t, "read", apiAudience)
	live := g.token(t, "read", apiAudience)
	verify(t, checked, revoked)

	g.revoke(t, revoked)
	verify(t, local, revoked)
	_, err := checked.Verify(context.Background(), revoked)
	checkRefused(t, err, true)
	if err != nil && !strings.Contains(err.Error(), "revoked") {
		t.Errorf("err = %v, want it to say revoked", err)
	}
	verify(t, checked, live)

	// Introspection comes after the local checks: grantd is not asked
	// about a token for another audience, which it would call active.
	_, err = checked.Verify(context.Background(), g.token(t, "read", ""))
	checkRefused(t, err, true)
}

// When introspection fails (bad credentials, grantd down, an answer that
// is not one), Verify cannot decide, and the middleware answers 503.
func TestIntrospectionFailures(t *testing.T) {
	g := newGrantd(t)
	tok := g.token(t, "read", apiAudience)
	bogus := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/string":
			w.Write([]byte(`{"active":"true"}`))
		case "/missing":
			w.Write([]byte(`{"scope":"read"}`))
		default:
			w.Write([]byte(`<html>`))
		}
	}))
	defer bogus.Close()

	tests := []struct {
		name string
		in   rs.Introspection
	}{
		{"wrong secret", rs.Introspection{ClientID: g.ClientID, ClientSecret: "grantd_secret_wrong"}},
		{"not grantd", rs.Introspection{ClientID: g.ClientID, ClientSecret: g.Secret, URL: g.URL + "/v2/oauth/nope"}},
		{"active as a string", rs.Introspection{ClientID: "c", ClientSecret: "grantd_secret_bogus", URL: bogus.URL + "/string"}},
		{"no active", rs.Introspection{ClientID: "c", ClientSecret: "grantd_secret_bogus", URL: bogus.URL + "/missing"}},
		{"not JSON", rs.Introspection{ClientID: "c", ClientSecret: "grantd_secret_bogus", URL: bogus.URL + "/html"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := g.verifier(t, func(c *rs.Config) { c.Introspection = &tc.in })
			_, err := v.Verify(context.Background(), tok)
			if err == nil || errors.Is(err, rs.ErrInvalidToken) {
				t.Fatalf("err = %v, want an error that is not ErrInvalidToken", err)
			}
			if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), tc.in.ClientSecret) {
				t.Errorf("the error holds a secret: %v", err)
			}
			res := serve(v.Middleware(), tok)
			if res.Code != http.StatusServiceUnavailable || res.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("middleware: %d, WWW-Authenticate %q; want 503 without a challenge", res.Code, res.Header().Get("WWW-Authenticate"))
			}
			checkErrorBody(t, res, "temporarily_unavailable")
		})
	}
}
