package rs_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/grantd/grantd/rs"
)

func TestMiddleware(t *testing.T) {
	g := newGrantd(t)
	v := g.verifier(t, nil)
	readWrite := g.token(t, "read write", apiAudience)
	readOnly := g.token(t, "read", apiAudience)
	other := g.token(t, "read write", "") // meant for grantd, not this API

	// SPEC §8: one space after Bearer, every value quoted.
	// The default document is the API's own (RFC 9728 §3.1), not grantd's,
	// and the 401 challenge names the scopes the route needs.
	challenge := `Bearer realm="grantd", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/v1"`
	unauthorized := challenge + `, scope="read write"`
	tests := []struct {
		name          string
		authorization string
		status        int
		challenge     string
		error         string
	}{
		{"token with the scopes", "Bearer " + readWrite, 200, "", ""},
		{"scheme in lower case", "bearer " + readWrite, 200, "", ""},
		{"scheme in upper case", "BEARER " + readWrite, 200, "", ""},
		{"no Authorization", "", 401, unauthorized, "invalid_request"},
		{"Basic", "Basic " + readWrite, 401, unauthorized, "invalid_request"},
		{"Bearer without a token", "Bearer ", 401, unauthorized, "invalid_request"},
		{"Bearer alone", "Bearer", 401, unauthorized, "invalid_request"},
		{"scheme run into the token", "Bearer" + readWrite, 401, unauthorized, "invalid_request"},
		{"garbage", "Bearer not-a-token", 401, unauthorized + `, error="invalid_token"`, "invalid_token"},
		{"another audience", "Bearer " + other, 401, unauthorized + `, error="invalid_token"`, "invalid_token"},
		{"a scope missing", "Bearer " + readOnly, 403, challenge + `, error="insufficient_scope", scope="read write"`, "insufficient_scope"},
	}
	var seen *rs.Token
	h := v.Middleware("read", "write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := rs.FromContext(r.Context())
		if !ok {
			t.Error("the handler ran without a token in its context")
		}
		seen = tok
		w.WriteHeader(http.StatusOK)
	}))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			r := httptest.NewRequest(http.MethodGet, "/v1/messages", nil)
			if tc.authorization != "" {
				r.Header.Set("Authorization", tc.authorization)
			}
			res := httptest.NewRecorder()
			h.ServeHTTP(res, r)
			if res.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", res.Code, tc.status, res.Body)
			}
			if got := res.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %s\nwant                %s", got, tc.challenge)
			}
			if tc.status == 200 {
				if seen == nil || !slices.Equal(seen.Scopes, []string{"read", "write"}) || seen.ClientID != g.ClientID {
					t.Errorf("the handler saw %+v", seen)
				}
				return
			}
			if seen != nil {
				t.Error("the handler ran")
			}
			checkErrorBody(t, res, tc.error)
			for _, tok := range []string{readWrite, readOnly, other} {
				if strings.Contains(res.Body.String(), tok) || strings.Contains(res.Header().Get("WWW-Authenticate"), tok) {
					t.Error("the answer holds the token")
				}
			}
		})
	}
}

// The challenge names the configured realm and metadata document, and a
// middleware without required scopes takes any valid token.
func TestMiddlewareConfiguredChallenge(t *testing.T) {
	g := newGrantd(t)
	v := g.verifier(t, func(c *rs.Config) {
		c.Realm = "orders"
		c.ResourceMetadataURL = "https://api.example.com/.well-known/oauth-protected-resource/v1"
	})
	mw := v.Middleware()
	res := serve(mw, "")
	want := `Bearer realm="orders", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/v1"`
	if got := res.Header().Get("WWW-Authenticate"); res.Code != 401 || got != want {
		t.Errorf("%d, WWW-Authenticate = %s\nwant %s", res.Code, got, want)
	}
	if res := serve(mw, g.token(t, "admin", apiAudience)); res.Code != 200 {
		t.Errorf("status = %d, want 200", res.Code)
	}
	res = serve(v.Middleware("write"), g.token(t, "read", apiAudience))
	want += `, error="insufficient_scope", scope="write"`
	if got := res.Header().Get("WWW-Authenticate"); res.Code != 403 || got != want {
		t.Errorf("%d, WWW-Authenticate = %s\nwant %s", res.Code, got, want)
	}
	// The 403 names the scope that is missing, not one the token has.
	res = serve(v.Middleware("read", "write"), g.token(t, "read", apiAudience))
	var body map[string]string
	_ = json.Unmarshal(res.Body.Bytes(), &body)
	if res.Code != 403 || body["error_description"] != "the access token lacks the scope write" {
		t.Errorf("%d, body %s", res.Code, res.Body)
	}
}

// serve runs one GET through mw around a handler that answers 200,
// with tok as the Bearer token unless empty.
func serve(mw func(http.Handler) http.Handler, tok string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/v1/messages", nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	res := httptest.NewRecorder()
	mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(res, r)
	return res
}

// checkErrorBody checks an error answer is {"error": code,
// "error_description": …} in JSON.
func checkErrorBody(t *testing.T, res *httptest.ResponseRecorder, code string) {
	t.Helper()
	if ct := res.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var body map[string]string
	if err := json.Unmarshal(res.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %s: %v", res.Body, err)
	}
	if body["error"] != code || body["error_description"] == "" || len(body) != 2 {
		t.Errorf("body = %s, want error %q and a description", res.Body, code)
	}
}
