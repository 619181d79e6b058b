// Package apptest is the one test harness: New builds a real grantd
// server through the composition root (app.New), the one `grantd serve`
// uses, on the real parts internal/testenv makes (a migrated SQLite store
// in the test's temporary directory, a loaded key ring, a clock the test
// moves by hand). The tests of internal/httpapi, internal/web and
// internal/e2e build their server here, each with the options it needs.
// Only tests import it.
//
//	s := apptest.New(t, apptest.Options{})                 // listening on 127.0.0.1
//	s := apptest.New(t, apptest.Options{Issuer: "http://127.0.0.1:8080"}) // in process only
//	s.Handler.ServeHTTP(rec, req)
//	s.Clock.Advance(31 * time.Minute)
package apptest

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/app"
	"github.com/grantd/grantd/internal/httpapi"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/password"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/store/deadline"
	"github.com/grantd/grantd/internal/store/sqlite"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
	"github.com/grantd/grantd/internal/web"
)

// PasswordParams make argon2id cheap: tests sign in many times. The pages
// get the same parameters for their dummy hash, as production gives them
// password.Default.
var PasswordParams = password.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}

// Options change the server New builds; the zero value is the server
// serve builds with default settings, listening on a loopback port.
type Options struct {
	// Issuer, when set, serves in process only (no listener) under this
	// issuer; otherwise the issuer is the listener's address.
	Issuer string
	// Engine is the engine's configuration; its Issuer is set by New.
	Engine oauth.Config
	// Scopes is the scope catalog; grantd.DefaultScopes when nil.
	Scopes []grantd.Scope
	// Algorithm is the signing algorithm (token.AlgES256 when empty).
	Algorithm string
	// Logger receives every log of the server; nil discards.
	Logger *slog.Logger
	// RealClock puts the engine and the key ring on time.Now (for a
	// browser, which has its own clock); Server.Clock still exists.
	RealClock bool
	// Limits are the failure limits of both adapters; the server's own
	// (in memory) when nil.
	Limits ratelimit.Limits
	// ManagementLimit is the rate of management requests per caller
	// (--management-rate-limit); the default when zero.
	ManagementLimit ratelimit.Rate
	// RateLimited hears each refusal of a limit (app.Config.RateLimited).
	RateLimited func(limit string)
	// WrapStore is put between the engine and the store (to count or
	// fail calls); Server.Store stays the store itself.
	WrapStore func(grantd.Store) grantd.Store
	// DBTimeout, when more than 0, gives each of the engine's store calls
	// this deadline, as --db-timeout does; Server.Store stays bare.
	DBTimeout time.Duration
	// CrossOrigin is the one cross-origin rule; the server's own when nil.
	CrossOrigin *http.CrossOriginProtection
	// CORSOrigins are the origins allowed to call the management API
	// (--cors-origins).
	CORSOrigins []string
	// NoPages serves the API alone, without the people's pages.
	NoPages bool
	// Pages, when set, is served as the people's pages instead of
	// internal/web's (a stand-in); NoPages is then ignored.
	Pages http.Handler
	// NoOpenAPICheck turns off the check of every exchange against
	// docs/openapi.yaml (openapi.go), for a test that serves what the
	// document cannot describe (a stand-in engine, a broken store).
	NoOpenAPICheck bool
	// Store, when set, is the database the server runs on instead of a
	// fresh SQLite file (a PostgreSQL store of testenv.Backends, or a
	// seeded one); Server.Store and Server.DBPath are then unset.
	Store grantd.Store
	// Front, when set, is what the listener serves in front of the
	// server's handler (to watch or alter some requests).
	Front func(http.Handler) http.Handler
}

// Server is one grantd for a test.
type Server struct {
	URL      string // the issuer; the API is under URL+"/v2"
	Store    *sqlite.Store
	Keys     *token.Keyring
	Provider *oauth.Provider
	Handler  http.Handler    // the whole server, middleware included, as app.New built it (with the OpenAPI check around it)
	Routes   []httpapi.Route // every method and path the API serves
	Clock    *testenv.Clock  // the clock of the engine and the key ring (unless RealClock)
	HTTP     *http.Client    // reaches URL; nil when in process only (Options.Issuer)
	DBPath   string
}

// New builds the server on a fresh database; it fails the test if the
// composition root refuses the options.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	var (
		st     *sqlite.Store
		dbPath string
		base   grantd.Store
	)
	if o.Store != nil {
		base = o.Store
	} else {
		st, dbPath = testenv.Store(t)
		base = st
	}
	scopes := o.Scopes
	if scopes == nil {
		scopes = grantd.DefaultScopes
	}
	clock := testenv.NewClock()
	now := clock.Now
	if o.RealClock {
		now = time.Now
	}
	keys := testenv.Keyring(t, base, o.Algorithm, now, o.Engine.WithDefaults().AccessTokenTTL)

	var ts *httptest.Server
	issuer := o.Issuer
	if issuer == "" {
		// The issuer must be known before the engine is built, and it is
		// the listener's address: listen first, serve once built.
		ts = httptest.NewUnstartedServer(nil)
		issuer = "http://" + ts.Listener.Addr().String()
	}
	cfg := o.Engine
	cfg.Issuer = issuer
	seen := base
	if o.DBTimeout > 0 {
		seen = deadline.New(st, o.DBTimeout)
	}
	if o.WrapStore != nil {
		seen = o.WrapStore(seen)
	}
	ac := app.Config{
		Engine: cfg, Store: seen, Keys: keys, Catalog: testenv.Catalog(t, scopes),
		Logger: o.Logger, Now: now, CrossOrigin: o.CrossOrigin, Limits: o.Limits, CORSOrigins: o.CORSOrigins,
		ManagementLimit: o.ManagementLimit, RateLimited: o.RateLimited,
		Pages: web.Deps{PasswordParams: PasswordParams},
	}
	switch {
	case o.Pages != nil:
		ac.ServePages = func(http.Handler) http.Handler { return o.Pages }
	case o.NoPages:
		ac.ServePages = func(http.Handler) http.Handler { return nil }
	}
	a, err := app.New(ac)
	if err != nil {
		t.Fatal(err)
	}
	handler := a.Handler
	if !o.NoOpenAPICheck {
		handler = newOpenAPICheck(t).wrap(handler) // reports after ts.Close (cleanups run last first)
	}
	s := &Server{URL: issuer, Store: st, Keys: keys, Provider: a.Provider, Handler: handler, Routes: a.Routes, Clock: clock, DBPath: dbPath}
	if ts != nil {
		ts.Config.Handler = handler
		if o.Front != nil {
			ts.Config.Handler = o.Front(handler)
		}
		ts.Start()
		t.Cleanup(ts.Close)
		s.HTTP = ts.Client()
	}
	return s
}
