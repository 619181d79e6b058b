package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/grantd/grantd"
)

// FuzzAuthorize: whatever query reaches the authorization endpoint, the
// answer is never a 500, and a redirect goes only to the client's
// registered redirect URI (the open-redirect defence), to the consent
// page or to the sign-in page — never to a place the query chose.
func FuzzAuthorize(f *testing.F) {
	env := newTestEnv(f, withIssuer(goldenIssuer))
	u := env.createUser(f, "owner@example.com")
	key := env.createAPIKey(f, u)
	c, _ := env.createClient(f, u, clientSpec{
		Public:       true,
		RedirectURIs: []string{"https://app.example.com/cb", "http://127.0.0.1/cb"},
	})
	good := url.Values{
		"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {"https://app.example.com/cb"},
		"scope": {"read"}, "state": {"s"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"},
	}
	f.Add(good.Encode(), true)
	f.Add(good.Encode()+"&redirect_uri=https://evil.example/cb", true)
	f.Add(strings.Replace(good.Encode(), "app.example.com", "app.example.com%40evil.example", 1), true)
	f.Add(strings.Replace(good.Encode(), "https%3A%2F%2Fapp.example.com%2Fcb", "http%3A%2F%2F127.0.0.1%3A9999%2Fcb", 1), false)
	f.Add("client_id="+c.ID+"&redirect_uri=%zz", true)
	f.Fuzz(func(t *testing.T, query string, withKey bool) {
		r := httptest.NewRequest(http.MethodGet, "/v2/oauth/authorize", nil)
		r.URL.RawQuery = query
		if withKey {
			r.Header.Set("Authorization", "Bearer "+key)
		}
		rec := env.do(r)
		switch {
		case rec.Code >= 500:
			t.Fatalf("status %d for %q", rec.Code, query)
		case rec.Code == http.StatusFound:
			loc, err := url.Parse(rec.Header().Get("Location"))
			if err != nil {
				t.Fatalf("Location %q: %v", rec.Header().Get("Location"), err)
			}
			to := loc.Scheme + "://" + loc.Host + loc.Path
			switch {
			case loc.Host == "" && (loc.Path == "/login"):
			case to == goldenIssuer+"/consent":
			case to == "https://app.example.com/cb":
			case loc.Scheme == "http" && loc.Hostname() == "127.0.0.1" && loc.Path == "/cb":
			default:
				t.Fatalf("redirect to %q for %q", loc, query)
			}
			if to != goldenIssuer+"/consent" && loc.Path != "/login" && loc.Query().Get("iss") != goldenIssuer {
				t.Fatalf("a redirect to the client without iss: %q", loc)
			}
		case rec.Code >= 400:
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Fatalf("error page with Content-Type %q", ct)
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, query)
		}
	})
}

// FuzzCreateClient: whatever body a management create carries, the
// answer is 201 or a 4xx in the Telnyx envelope, never a 500.
func FuzzCreateClient(f *testing.F) {
	env := newTestEnv(f, withIssuer(goldenIssuer))
	key := env.createAPIKey(f, env.createUser(f, "owner@example.com"))
	f.Add(ccClient)
	f.Add(`{"name": "a", "allowed_scopes": ["read"], "client_type": "public", "allowed_grant_types": ["authorization_code"], "redirect_uris": ["com.example.app:/cb", "http://[::1]/x"]}`)
	f.Add(`{"name": "a", "name": "b"}`)
	f.Add(`{"redirect_uris": [null, 1, {}], "require_pkce": null, "logo_uri": "https://` + strings.Repeat("x", 3000) + `"}`)
	f.Add(`{"name":"\u0000","allowed_scopes":["\ud800"]}`)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/v2/oauth_clients", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+key)
		r.Header.Set("Content-Type", "application/json")
		rec := env.do(r)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		m := decodeJSON(t, rec.Body.Bytes())
		if rec.Code == http.StatusCreated {
			d, _ := m["data"].(map[string]any)
			if d["record_type"] != "oauth_client" {
				t.Fatalf("201 without a client: %s", rec.Body)
			}
			// Whatever was created obeys the rules it was checked by.
			c, err := env.Store.GetClient(t.Context(), d["client_id"].(string))
			if err != nil || (c.Public() && c.Allows(grantd.GrantClientCredentials)) || (c.Allows(grantd.GrantAuthorizationCode) && len(c.RedirectURIs) == 0) {
				t.Fatalf("created a client that breaks the rules: %+v %v", c, err)
			}
			return
		}
		if errs, _ := m["errors"].([]any); len(errs) == 0 {
			t.Fatalf("%d without errors: %s", rec.Code, rec.Body)
		}
	})
}
