package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
)

// bearerClient follows redirects on the server's own origin, as the
// Telnyx SDK's fetch does, sending the Authorization header with each
// (net/http keeps it on the same host); it stops at a redirect to the
// client.
func (e *env) bearerClient() *http.Client {
	iss, _ := url.Parse(e.URL)
	return &http.Client{
		Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host != iss.Host {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

func bearerDo(t testing.TB, e *env, method, path, key string, form url.Values) page {
	t.Helper()
	var req *http.Request
	var err error
	if form == nil {
		req, err = http.NewRequest(method, e.URL+path, nil)
	} else {
		req, err = http.NewRequest(method, e.URL+path, strings.NewReader(form.Encode()))
	}
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return (&browser{e: e, c: e.bearerClient()}).do(t, req)
}

// TestConsentWithBearerAPIKey follows authorize's redirects with a Bearer
// API key and nothing else, as the Telnyx SDK does: it lands on the
// consent page for the key's user (not the sign-in page), and posts the
// decision with the same header and no CSRF token or cookie, getting the
// code.
func TestConsentWithBearerAPIKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, email, pw)
	key := testenv.APIKey(t, e.Store, u.ID, e.Provider.Now())
	c, _ := e.client(t, u, "Acme Dashboard", "https://app.acme.example/cb")
	authorize := "/v2/oauth/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {c.RedirectURIs[0]},
		"scope": {"messages:read"}, "state": {"st-1"},
	}.Encode()

	p := bearerDo(t, e, "GET", authorize, key, nil)
	if p.StatusCode != http.StatusOK || p.Request.URL.Path != "/consent" || !strings.Contains(p.text(), "Acme Dashboard") {
		t.Fatalf("followed authorize to %s: status %d\n%s", p.Request.URL, p.StatusCode, p.text())
	}
	tok := p.Request.URL.Query().Get("consent_token")

	d := bearerDo(t, e, "POST", "/consent", key, url.Values{"consent_token": {tok}, "allowed": {"true"}})
	if d.StatusCode != http.StatusSeeOther {
		t.Fatalf("decision: status %d\n%s", d.StatusCode, d.text())
	}
	loc, err := url.Parse(d.Header.Get("Location"))
	if err != nil || loc.Host != "app.acme.example" || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-1" {
		t.Fatalf("decision went to %q, want the client with a code", d.Header.Get("Location"))
	}

	// Without the header the same post is a cross-site form: refused.
	tok2 := e.consentToken(t, u, c, "st-2")
	if p := bearerDo(t, e, "POST", "/consent", "", url.Values{"consent_token": {tok2}, "allowed": {"true"}}); p.StatusCode != http.StatusForbidden {
		t.Errorf("post without Bearer or session: %d, want 403", p.StatusCode)
	}

	// The sign-in page is not needed with a key: it goes back at once.
	back := "/consent?consent_token=" + url.QueryEscape(tok2)
	l := bearerDo(t, e, "GET", "/login?return_to="+url.QueryEscape(back), key, nil)
	if l.StatusCode != http.StatusOK || l.Request.URL.Path != "/consent" {
		t.Errorf("/login with a key ended at %s (%d), want the consent page", l.Request.URL, l.StatusCode)
	}
	if l := bearerDo(t, e, "GET", "/login", "", nil); l.StatusCode != http.StatusOK || !strings.Contains(l.Body, `name="password"`) {
		t.Errorf("/login without a key: %d, want the sign-in form", l.StatusCode)
	}
}

// TestConsentBearerRefused: a Bearer value that is not a valid API key is
// a 401 page with an RFC 6750 challenge, at the consent page, its
// decision and the sign-in page, as at authorize; and such values spend
// the address's API-key limit, after which even a good key is 429.
func TestConsentBearerRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, email, pw)
	key := testenv.APIKey(t, e.Store, u.ID, e.Provider.Now())
	c, _ := e.client(t, u, "Acme Dashboard", "https://app.acme.example/cb")
	tok := e.consentToken(t, u, c, "st")

	for _, bad := range []string{token.PrefixAPIKey + "nosuchkey", "eyJhbGciOiJFUzI1NiJ9.e30.sig"} {
		for _, req := range []struct {
			method, path string
			form         url.Values
		}{
			{"GET", "/consent?consent_token=" + url.QueryEscape(tok), nil},
			{"POST", "/consent", url.Values{"consent_token": {tok}, "allowed": {"true"}}},
			{"GET", "/login", nil},
		} {
			p := bearerDo(t, e, req.method, req.path, bad, req.form)
			if p.StatusCode != http.StatusUnauthorized || p.Header.Get("WWW-Authenticate") != `Bearer realm="grantd", error="invalid_token"` {
				t.Errorf("%s %s with %.12s…: %d %q\n%s", req.method, req.path, bad, p.StatusCode, p.Header.Get("WWW-Authenticate"), p.text())
			}
		}
	}
	// The token was not spent by the refused posts.
	if p := bearerDo(t, e, "GET", "/consent?consent_token="+url.QueryEscape(tok), key, nil); p.StatusCode != http.StatusOK {
		t.Fatalf("good key: %d\n%s", p.StatusCode, p.text())
	}
	for i := range 20 {
		bearerDo(t, e, "GET", "/consent?consent_token="+url.QueryEscape(tok), fmt.Sprintf("%sguess%d", token.PrefixAPIKey, i), nil)
	}
	p := bearerDo(t, e, "GET", "/consent?consent_token="+url.QueryEscape(tok), key, nil)
	if p.StatusCode != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" {
		t.Errorf("after 20 bad keys: %d (Retry-After %q), want 429", p.StatusCode, p.Header.Get("Retry-After"))
	}
}
