package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestProtocolParamsRefuseEncodedBadText is issue 7 item 7's first gap:
// the body is valid UTF-8, but its percent-encoding (or a JSON escape)
// decodes to invalid UTF-8 or a NUL byte. Introspection and revocation
// took token=%ff%fe as a token; every protocol endpoint now refuses it,
// in a name or a value, as SPEC §7 asks.
func TestProtocolParamsRefuseEncodedBadText(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	c, secret := env.createClient(t, env.createUser(t, "text@example.com"), clientSpec{})
	for _, path := range []string{"/v2/oauth/introspect", "/v2/oauth/revoke", "/v2/oauth/token"} {
		for _, tc := range []struct{ contentType, body string }{
			{"application/x-www-form-urlencoded", "grant_type=client_credentials&token=%ff%fe"},
			{"application/x-www-form-urlencoded", "grant_type=client_credentials&token=a%00b"},
			{"application/x-www-form-urlencoded", "grant_type=client_credentials&token=x&%c3=1"},
			{"", "grant_type=client_credentials&token=%ed%a0%80"}, // an encoded surrogate
			{"application/json", `{"grant_type":"client_credentials","token":"a\u0000b"}`},
		} {
			r := httptest.NewRequest(http.MethodPost, env.URL+path, strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			r.SetBasicAuth(c.ID, secret)
			rec := env.do(r)
			oauthErr(t, rec, 400, "invalid_request")
			if d := decodeJSON(t, rec.Body.Bytes())["error_description"]; d != "parameters must be valid UTF-8 without NUL bytes" {
				t.Errorf("%s %q: error_description %q", path, tc.body, d)
			}
		}
	}
}

// TestProtocolJSONRefusesNonStrings: a JSON number or boolean where a
// parameter's string belongs was taken as its text (so 1e0 and 1 were
// different tokens, true a scope). It is invalid_request, naming the
// parameter.
func TestProtocolJSONRefusesNonStrings(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	c, secret := env.createClient(t, env.createUser(t, "json@example.com"), clientSpec{})
	for _, tc := range []struct{ path, body, param string }{
		{"/v2/oauth/token", `{"grant_type":"client_credentials","scope":1}`, "scope"},
		{"/v2/oauth/token", `{"grant_type":true}`, "grant_type"},
		{"/v2/oauth/token", `{"grant_type":"client_credentials","resource":[1]}`, "resource"},
		{"/v2/oauth/introspect", `{"token":123}`, "token"},
		{"/v2/oauth/introspect", `{"token":"x","token_type_hint":false}`, "token_type_hint"},
		{"/v2/oauth/revoke", `{"token":1e400}`, "token"},
		{"/v2/oauth/revoke", `{"token":-0}`, "token"},
	} {
		r := httptest.NewRequest(http.MethodPost, env.URL+tc.path, strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/json")
		r.SetBasicAuth(c.ID, secret)
		rec := env.do(r)
		oauthErr(t, rec, 400, "invalid_request")
		if d, _ := decodeJSON(t, rec.Body.Bytes())["error_description"].(string); !strings.HasPrefix(d, `parameter "`+tc.param+`" must be a string`) {
			t.Errorf("%s %s: error_description %q, want it to name %s", tc.path, tc.body, d, tc.param)
		}
	}
}

// TestManagementRefusesNonStrings: on the management API the same
// mistake is a 422 naming the member.
func TestManagementRefusesNonStrings(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	key := env.createAPIKey(t, env.createUser(t, "mgmt@example.com"))
	for _, tc := range []struct{ body, pointer string }{
		{strings.Replace(ccClient, `"My OAuth client"`, `42`, 1), "/name"},
		{strings.Replace(ccClient, `"confidential"`, `true`, 1), "/client_type"},
		{strings.Replace(ccClient, `["admin"]`, `[1]`, 1), "/allowed_scopes"},
		{strings.Replace(ccClient, `["client_credentials"]`, `[false]`, 1), "/allowed_grant_types"},
	} {
		wantAPIError(t, env.api(t, "POST", "/v2/oauth_clients", key, tc.body), 422, "10027", tc.pointer)
	}
}

// TestRegistrationRefusesRepeatedMembers: RFC 7591 metadata grantd does
// not understand is ignored, but a member given twice (or twice inside an
// ignored member) is malformed JSON, refused as it is by every other
// endpoint, naming the member.
func TestRegistrationRefusesRepeatedMembers(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	const cb = `"redirect_uris":["https://app.example/cb"]`
	regErr(t, env.register(t, `{`+cb+`,"software_id":"a","software_id":"b"}`), 400, "invalid_client_metadata", "software_id")
	regErr(t, env.register(t, `{`+cb+`,"jwks":{"keys":[{"kty":"EC","kty":"RSA"}]}}`), 400, "invalid_client_metadata", "jwks")
	regErr(t, env.register(t, `{`+cb+`,"contacts":["a"],"contacts":["a"],"scope":"read","scope":"read"}`), 400, "invalid_client_metadata", "contacts", "scope")
	// Ignored metadata without repeats is still ignored.
	if rec := env.register(t, `{`+cb+`,"software_id":"a","jwks":{"keys":[{"kty":"EC","crv":"P-256"}]},"contacts":[{"a":1},{"a":1}]}`); rec.Code != http.StatusCreated {
		t.Fatalf("status %d, want 201: %s", rec.Code, rec.Body)
	}
}
