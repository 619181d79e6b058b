package httpapi_test

// The shared test server of the httpapi tests is the one harness's
// (internal/apptest): the server serve builds (app.New) on the real SQLite
// store in t.TempDir(), a real keyring, on a fake clock, without the
// people's pages unless a test gives a stand-in. Use it in every test of
// this package that needs a server (package httpapi_test; the tests of
// unexported functions stay in package httpapi, without a server):
//
//	env := newTestEnv(t)                       // listening on 127.0.0.1
//	env := newTestEnv(t, withIssuer(goldenIssuer)) // in-process only (env.do)
//	u := env.createUser(t, "a@example.com")
//	key := env.createAPIKey(t, u)
//	c, secret := env.createClient(t, u, clientSpec{...})
//	res := env.postForm(t, "/v2/oauth/token", url.Values{...}, c.ID, secret)
//	env.Clock.Advance(31 * time.Minute)
//
// Golden files: checkGolden(t, "name.golden", got), refreshed by
// `go test ./internal/httpapi/ -run TestX -update`.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/store/sqlite"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden and openapi.json (from docs/openapi.yaml) with the current output")

// goldenIssuer is the issuer of tests whose output is pinned in golden
// files: with it the documents do not depend on a random port.
const goldenIssuer = "http://127.0.0.1:8080"

// testStart is where every fake clock starts.
var testStart = testenv.Start

// testScopes is the catalog of the test server.
var testScopes = []grantd.Scope{
	{ID: grantd.ScopeAdmin, Name: "Administer your account", Description: "Create, change and delete your OAuth clients and grants."},
	{ID: "read", Name: "Read your data", Description: "See your numbers and messages."},
	{ID: "write", Name: "Change your data", Description: "Send messages and change settings."},
}

// testResource is an operator-configured resource (--resource) of the
// test server, besides the issuer and {issuer}/v2.
const testResource = "https://api.example.com/v1"

// testOptions configure newTestEnv: the harness's options.
type testOptions = apptest.Options

type testOption func(*testOptions)

// withIssuer serves in process only (no listener) under a fixed issuer;
// call env.do or env.handler directly.
func withIssuer(iss string) testOption { return func(o *testOptions) { o.Issuer = iss } }

// withConfig changes the engine's configuration (the issuer is set by
// newTestEnv).
func withConfig(f func(*oauth.Config)) testOption { return func(o *testOptions) { f(&o.Engine) } }

// withLogger sends the engine's and the handler's logs to l.
func withLogger(l *slog.Logger) testOption { return func(o *testOptions) { o.Logger = l } }

// withPages serves h as the people's pages (internal/web's place).
func withPages(h http.Handler) testOption { return func(o *testOptions) { o.Pages = h } }

// withLimits gives the server these limits.
func withLimits(l ratelimit.Limits) testOption { return func(o *testOptions) { o.Limits = l } }

// withStore puts wrap between the engine and the store (to count calls);
// env.Store stays the store itself.
func withStore(wrap func(grantd.Store) grantd.Store) testOption {
	return func(o *testOptions) { o.WrapStore = wrap }
}

// unlimited never refuses: for the fuzz targets, which would otherwise
// spend their budget in the first inputs and explore nothing but 429s.
type unlimited struct{}

func (unlimited) Limiter(string, ratelimit.Rate) ratelimit.Limiter { return unlimited{} }
func (unlimited) Peek(context.Context, string) ratelimit.Decision {
	return ratelimit.Decision{Allowed: true}
}
func (unlimited) Take(context.Context, string) ratelimit.Decision {
	return ratelimit.Decision{Allowed: true}
}
func (unlimited) Refund(context.Context, string) {}
func (unlimited) Reset(context.Context, string)  {}

// withAlgorithm selects the signing algorithm (token.AlgES256 by default).
func withAlgorithm(alg string) testOption { return func(o *testOptions) { o.Algorithm = alg } }

// withDBTimeout wraps the engine's store in a deadline (--db-timeout);
// env.Store stays the bare store, for the tests' own set-up.
func withDBTimeout(d time.Duration) testOption { return func(o *testOptions) { o.DBTimeout = d } }

// testEnv is one grantd server for a test.
type testEnv struct {
	URL      string // the issuer; the API is under URL+"/v2"
	Store    *sqlite.Store
	Keys     *token.Keyring
	Provider *oauth.Provider
	Server   http.Handler   // the whole handler, middleware included, as app.New built it
	Clock    *testenv.Clock // the one clock of the store rows, keyring and engine
	HTTP     *http.Client   // reaches URL; nil when in process only (withIssuer)
	DBPath   string

	introspector *[2]string // client id and secret introspect() uses, made on first use
}

// newTestEnv builds a server on a fresh database, without the people's
// pages unless withPages gives a stand-in. Unless withIssuer is given it
// listens on a random loopback port (closed at cleanup) and the
// issuer is its address, so real HTTP clients (golang.org/x/oauth2) can
// reach it.
func newTestEnv(t testing.TB, opts ...testOption) *testEnv {
	t.Helper()
	o := testOptions{Engine: oauth.Config{Resources: []string{testResource}}, Scopes: testScopes, NoPages: true}
	for _, f := range opts {
		f(&o)
	}
	s := apptest.New(t, o)
	return &testEnv{URL: s.URL, Store: s.Store, Keys: s.Keys, Provider: s.Provider, Server: s.Handler, Clock: s.Clock, HTTP: s.HTTP, DBPath: s.DBPath}
}

// createUser makes a user (with a fresh organisation).
func (e *testEnv) createUser(t testing.TB, email string) grantd.User {
	t.Helper()
	return testenv.User(t, e.Store, email, "", e.Clock.Now())
}

// createAPIKey makes an API key for the user and answers the plain key.
func (e *testEnv) createAPIKey(t testing.TB, u grantd.User) string {
	t.Helper()
	return testenv.APIKey(t, e.Store, u.ID, e.Clock.Now())
}

// clientSpec describes a client to create; zero fields take defaults.
type clientSpec struct {
	Public       bool     // default confidential
	GrantTypes   []string // default client_credentials (authorization_code + refresh_token when Public)
	Scopes       []string // default every scope of testScopes
	RedirectURIs []string // default https://app.example.com/cb when authorization_code is allowed
	RequirePKCE  bool
}

// createClient makes a client owned by owner (a zero owner: a client
// without an owner, as open registration makes) and answers it with its
// plain secret ("" for a public client).
func (e *testEnv) createClient(t testing.TB, owner grantd.User, spec clientSpec) (grantd.Client, string) {
	t.Helper()
	typ := string(grantd.ClientConfidential)
	if spec.Public {
		typ = string(grantd.ClientPublic)
	}
	if spec.GrantTypes == nil {
		spec.GrantTypes = []string{grantd.GrantClientCredentials}
		if spec.Public {
			spec.GrantTypes = []string{grantd.GrantAuthorizationCode, grantd.GrantRefreshToken}
		}
	}
	if spec.Scopes == nil {
		for _, s := range testScopes {
			spec.Scopes = append(spec.Scopes, s.ID)
		}
	}
	for _, g := range spec.GrantTypes {
		if g == grantd.GrantAuthorizationCode && spec.RedirectURIs == nil {
			spec.RedirectURIs = []string{"https://app.example.com/cb"}
		}
	}
	in := oauth.ClientInput{
		Name: ptr("test client"), ClientType: &typ, AllowedScopes: &spec.Scopes,
		AllowedGrantTypes: &spec.GrantTypes, RedirectURIs: &spec.RedirectURIs, RequirePKCE: &spec.RequirePKCE,
	}
	c, secret, err := e.Provider.CreateClient(context.Background(), owner, in)
	if err != nil {
		t.Fatal(err)
	}
	if owner.ID == "" {
		// CreateClient always sets an owner; unset it as registration
		// without an owner would.
		c, err = e.Store.UpdateClient(context.Background(), c.ID, func(c grantd.Client) (grantd.Client, error) {
			c.UserID, c.OrgID = "", ""
			return c, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return c, secret
}

// createGrant makes the user's grant to the client.
func (e *testEnv) createGrant(t testing.TB, u grantd.User, c grantd.Client, scopes ...string) grantd.Grant {
	t.Helper()
	now := e.Clock.Now()
	g := grantd.Grant{ID: uuid.NewString(), UserID: u.ID, ClientID: c.ID, Scopes: scopes, CreatedAt: now, UpdatedAt: now}
	if err := e.Store.CreateGrant(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	return g
}

// do serves one request in process, through the whole handler.
func (e *testEnv) do(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.Server.ServeHTTP(rec, r)
	return rec
}

// postForm posts a form to path in process, with HTTP Basic client
// credentials unless user is empty.
func (e *testEnv) postForm(t testing.TB, path string, v url.Values, user, password string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		r.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(password))
	}
	return e.do(r)
}

// decodeJSON decodes a response body into a map, failing the test on
// anything but a JSON object.
func decodeJSON(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, body)
	}
	return m
}

// checkGolden compares got with testdata/name, or rewrites the file
// under -update.
func checkGolden(t testing.TB, name string, got []byte) {
	t.Helper()
	checkGoldenIn(t, "testdata", name, got)
}

// checkGoldenIn is checkGolden for the golden files of dir: those of the
// authorize error page are the pages' (../web/testdata), which render it.
func checkGoldenIn(t testing.TB, dir, name string, got []byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run with -update after checking the change)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// readAll reads and closes a response body.
func readAll(t testing.TB, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ptr[T any](v T) *T { return &v }
