package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grantd/grantd"
)

// pageAll is a page big enough for any test's rows.
var pageAll = grantd.Page{Number: 1, Size: 100}

// decide posts a grant decision and answers the redirect_uri of a 200.
func decide(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; body:\n%s", rec.Code, rec.Body)
	}
	if rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers = %v", rec.Header())
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body) != 1 {
		t.Fatalf("body = %s, want only redirect_uri", rec.Body)
	}
	var to string
	if err := json.Unmarshal(body["redirect_uri"], &to); err != nil {
		t.Fatalf("redirect_uri: %v", err)
	}
	return to
}

func decisionBody(allowed bool, tok string) string {
	b, _ := json.Marshal(map[string]any{"allowed": allowed, "consent_token": tok})
	return string(b)
}

func TestGrantDecision(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	ctx := context.Background()
	alice := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, alice)
	bob := env.createUser(t, "bob@example.com")
	bobKey := env.createAPIKey(t, bob)
	c, _ := codeFlowClient(t, env, alice)
	jsonCT := []string{"Content-Type", "application/json"}

	t.Run("allow", func(t *testing.T) {
		tok := consentFor(t, env, key, c)
		q := redirectParams(t, decide(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), append(bearer(key), jsonCT...)...)), "https://app.example.com/cb")
		if !strings.HasPrefix(q.Get("code"), "grantd_code_") || q.Get("state") != "st-1" || q.Get("iss") != goldenIssuer || q.Has("error") {
			t.Errorf("answer = %v", q)
		}
		// Single use.
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), bearer(key)...), 422, "10027", "/consent_token")
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(false, tok), bearer(key)...), 422, "10027", "/consent_token")
	})
	t.Run("deny", func(t *testing.T) {
		tok := consentFor(t, env, key, c, "prompt", "consent", "state", "s&t")
		q := redirectParams(t, decide(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(false, tok), bearer(key)...)), "https://app.example.com/cb")
		if q.Get("error") != "access_denied" || q.Get("state") != "s&t" || q.Get("iss") != goldenIssuer || q.Has("code") {
			t.Errorf("answer = %v", q)
		}
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), bearer(key)...), 422, "10027", "/consent_token")
	})
	t.Run("approving twice widens one grant", func(t *testing.T) {
		decide(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, consentFor(t, env, key, c, "scope", "write", "prompt", "consent")), bearer(key)...))
		gs, total, err := env.Store.ListGrants(ctx, alice.ID, pageAll)
		if err != nil {
			t.Fatal(err)
		}
		if total != 1 || strings.Join(gs[0].Scopes, " ") != "read write" {
			t.Errorf("grants = %d %+v, want one with read write", total, gs)
		}
	})
	t.Run("another user's token", func(t *testing.T) {
		tok := consentFor(t, env, key, c, "prompt", "consent")
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), bearer(bobKey)...), 422, "10027", "/consent_token")
		// Still alice's to use.
		decide(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(false, tok), bearer(key)...))
	})
	t.Run("expired", func(t *testing.T) {
		tok := consentFor(t, env, key, c, "prompt", "consent")
		env.Clock.Advance(env.Provider.Config().ConsentTTL)
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), bearer(key)...), 422, "10027", "/consent_token")
	})

	t.Run("bad bodies", func(t *testing.T) {
		tok := consentFor(t, env, key, c, "prompt", "consent")
		for _, tt := range []struct {
			body    string
			status  int
			code    string
			pointer string
		}{
			{`{"consent_token":"` + tok + `"}`, 422, "10027", "/allowed"},
			{`{"allowed":true}`, 422, "10027", "/consent_token"},
			{`{}`, 422, "10027", "/allowed"},
			{`{}`, 422, "10027", "/consent_token"},
			{`{"allowed":null,"consent_token":"` + tok + `"}`, 422, "10027", "/allowed"},
			{`{"allowed":"yes","consent_token":"` + tok + `"}`, 422, "10027", "/allowed"},
			{`{"allowed":true,"consent_token":42}`, 422, "10027", "/consent_token"},
			{`{"allowed":true,"consent_token":""}`, 422, "10027", "/consent_token"},
			{`{"allowed":true,"consent_token":"` + tok + `","scope":"admin"}`, 422, "10027", "/scope"},
			// Allow or deny? A repeated member is not decided by its order.
			{`{"allowed":false,"consent_token":"` + tok + `","allowed":true}`, 422, "10027", "/allowed"},
			{`{"allowed":true,`, 400, "10015", ""},
			{`[]`, 400, "10015", ""},
			{"{\"allowed\":true,\"consent_token\":\"\xff\"}", 400, "10015", ""},
			{`{"allowed":true,"consent_token":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "10015", ""},
		} {
			wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", tt.body, bearer(key)...), tt.status, tt.code, tt.pointer)
		}
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), append(bearer(key), "Content-Type", "text/plain")...), 415, "10015", "")
		// None of that used the token up.
		decide(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), bearer(key)...))
	})

	t.Run("auth", func(t *testing.T) {
		tok := consentFor(t, env, key, c, "prompt", "consent")
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), jsonCT...), 401, "10009", "")
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), append(bearer("grantd_key_nope"), jsonCT...)...), 401, "10009", "")
		wantAPIError(t, azDo(t, env, "GET", "/v2/oauth/grants", "", bearer(key)...), 405, "10015", "")
	})

	// With the session cookie as the credential, only a same-origin JSON
	// post is a decision: an HTML form cannot send JSON, and a cross-site
	// script is refused.
	t.Run("session cookie", func(t *testing.T) {
		cookie := sessionCookie(t, env, alice)
		tok := consentFor(t, env, key, c, "prompt", "consent")
		form := "allowed=true&consent_token=" + tok
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", form, append(cookie, "Content-Type", "application/x-www-form-urlencoded")...), 415, "10015", "")
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), append(cookie, "Content-Type", "text/plain")...), 415, "10015", "")
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), cookie...), 415, "10015", "")
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), append(append(cookie, jsonCT...), "Sec-Fetch-Site", "cross-site")...), 403, "10010", "")
		wantAPIError(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), append(append(cookie, jsonCT...), "Origin", "https://evil.example")...), 403, "10010", "")
		to := decide(t, azDo(t, env, "POST", "/v2/oauth/grants", decisionBody(true, tok), append(append(cookie, jsonCT...), "Sec-Fetch-Site", "same-origin", "Origin", goldenIssuer)...))
		if q := redirectParams(t, to, "https://app.example.com/cb"); !q.Has("code") {
			t.Errorf("answer = %v, want a code", q)
		}
	})
}
