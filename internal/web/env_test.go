package web_test

// The test server of the web tests is the one harness's (internal/apptest):
// the server serve builds (app.New), so the pages with the whole API server
// around them (the mounting in internal/httpapi is tested too), on the real
// SQLite store in t.TempDir(), listening on a loopback port, on a clock the
// tests move by hand.
//
//	e := newEnv(t)
//	u := e.user(t, "ada@example.com", "correct horse")
//	b := e.browser(t)
//	b.login(t, "ada@example.com", "correct horse")
//	res := b.get(t, "/apps")

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/password"
	"github.com/grantd/grantd/internal/store/sqlite"
	"github.com/grantd/grantd/internal/testenv"
)

// testParams are the harness's cheap argon2id costs, which the pages are
// given too.
var testParams = apptest.PasswordParams

var testScopes = []grantd.Scope{
	{ID: grantd.ScopeAdmin, Name: "Administer your account", Description: "Create, change and delete your OAuth clients and grants."},
	{ID: "messages:read", Name: "Read your messages", Description: "See the messages you sent and received."},
	{ID: "messages:send", Name: "Send messages", Description: "Send messages in your name."},
}

type env struct {
	URL      string // the issuer
	Store    *sqlite.Store
	Provider *oauth.Provider
	Clock    *testenv.Clock
	DBPath   string
}

// newEnv builds the server serve builds, through the one harness
// (internal/apptest), listening on a loopback port; opts change its
// options (a real clock, a logger, a database deadline, a cross-origin
// rule).
func newEnv(t testing.TB, opts ...func(*apptest.Options)) *env {
	t.Helper()
	o := apptest.Options{Scopes: testScopes}
	for _, f := range opts {
		f(&o)
	}
	s := apptest.New(t, o)
	return &env{URL: s.URL, Store: s.Store, Provider: s.Provider, Clock: s.Clock, DBPath: s.DBPath}
}

// user makes a user who signs in with the password ("" for none).
func (e *env) user(t testing.TB, email, pw string) grantd.User {
	t.Helper()
	var hash string
	if pw != "" {
		hash = password.Hash(pw, testParams)
	}
	return testenv.User(t, e.Store, email, hash, e.Provider.Now())
}

// client registers a confidential client of owner that may use the code
// flow with the redirect URI.
func (e *env) client(t testing.TB, owner grantd.User, name, redirectURI string) (grantd.Client, string) {
	t.Helper()
	typ := "confidential"
	scopes := []string{"messages:read", "messages:send"}
	gts := []string{grantd.GrantAuthorizationCode, grantd.GrantRefreshToken}
	uris := []string{redirectURI}
	c, secret, err := e.Provider.CreateClient(context.Background(), owner, oauth.ClientInput{
		Name: &name, ClientType: &typ, AllowedScopes: &scopes, AllowedGrantTypes: &gts, RedirectURIs: &uris,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, secret
}

// consentToken starts an authorization request for the user and answers
// the consent token it leads to.
func (e *env) consentToken(t testing.TB, u grantd.User, c grantd.Client, state string) string {
	t.Helper()
	return e.ask(t, u, url.Values{
		"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {c.RedirectURIs[0]},
		"scope": {"messages:read messages:send"}, "state": {state}, "prompt": {"consent"},
	})
}

// ask sends the authorization request q for the user and answers the
// consent token it leads to.
func (e *env) ask(t testing.TB, u grantd.User, q url.Values) string {
	t.Helper()
	res, err := e.Provider.Authorize(context.Background(), u.ID, q)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := url.Parse(res.Redirect)
	if err != nil || loc.Path != "/consent" {
		t.Fatalf("Authorize sent the browser to %q, want the consent page", res.Redirect)
	}
	return loc.Query().Get("consent_token")
}

// browser is a cookie-keeping HTTP client that does not follow redirects,
// so tests see each answer.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{e: e, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}}
}

// page is one answer, its body read.
type page struct {
	*http.Response
	Body string
}

func (b *browser) do(t testing.TB, req *http.Request) page {
	t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{Response: res, Body: string(body)}
}

func (b *browser) get(t testing.TB, path string) page {
	t.Helper()
	req, err := http.NewRequest("GET", b.e.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, req)
}

func (b *browser) post(t testing.TB, path string, form url.Values) page {
	t.Helper()
	req, err := http.NewRequest("POST", b.e.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(t, req)
}

// login signs in through the form and fails the test unless it works.
func (b *browser) login(t testing.TB, email, pw string) {
	t.Helper()
	p := b.get(t, "/login")
	res := b.post(t, "/login", url.Values{"csrf_token": {csrfOf(t, p)}, "email": {email}, "password": {pw}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: status %d, want 303\n%s", email, res.StatusCode, res.Body)
	}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrfOf answers the CSRF token of the page's forms.
func csrfOf(t testing.TB, p page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no csrf_token on the page (status %d):\n%s", p.StatusCode, p.Body)
	}
	return html.UnescapeString(m[1])
}

// text answers the page's body with tags removed and white space
// collapsed, to look for what a person reads.
func (p page) text() string {
	s := regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(p.Body, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}
