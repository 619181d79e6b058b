package httpapi_test

import (
	"net/http/httptest"
	"testing"
)

// Unknown paths and wrong methods answer in the error format of the path's
// family: RFC 6749 JSON on the protocol and discovery paths, the Telnyx
// envelope elsewhere.
func TestRoutesErrorFormats(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	for _, tc := range []struct {
		method, path string
		status       int
		oauth        bool
	}{
		{"GET", "/.well-known/nothing-here", 404, true},
		{"POST", "/.well-known/oauth-authorization-server", 405, true},
		{"DELETE", "/v2/oauth/jwks", 405, true},
		{"GET", "/v2/oauth/token", 405, true},
		{"GET", "/v2/nothing-here", 404, false},
		{"POST", "/v2/oauth_grants", 405, false},
	} {
		rec := env.do(httptest.NewRequest(tc.method, env.URL+tc.path, nil))
		if rec.Code != tc.status || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %q, want %d JSON", tc.method, tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.status)
			continue
		}
		m := decodeJSON(t, rec.Body.Bytes())
		_, isOAuth := m["error"]
		_, isAPI := m["errors"]
		if isOAuth != tc.oauth || isAPI == tc.oauth {
			t.Errorf("%s %s: body %s, want OAuth format %v", tc.method, tc.path, rec.Body, tc.oauth)
		}
		if tc.status == 405 && rec.Header().Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.path)
		}
	}
}
