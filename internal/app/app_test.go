package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/testenv"
)

func testConfig(t *testing.T) Config {
	t.Helper()
	st, _ := testenv.Store(t)
	clock := testenv.NewClock()
	return Config{
		Engine:  oauth.Config{Issuer: "https://auth.example.com"},
		Store:   st,
		Keys:    testenv.Keyring(t, st, "", clock.Now, 30*time.Minute),
		Catalog: testenv.Catalog(t, grantd.DefaultScopes),
		Now:     clock.Now,
	}
}

// New builds the whole server: the API, the pages behind it and the
// middleware around both.
func TestNewBuildsTheWholeServer(t *testing.T) {
	t.Parallel()
	a, err := New(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/healthz": "application/json",
		"/login":   "text/html",
		"/.well-known/oauth-authorization-server": "application/json",
	} {
		rec := httptest.NewRecorder()
		a.Handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), want) {
			t.Errorf("GET %s: %d %q, want 200 %s", path, rec.Code, rec.Header().Get("Content-Type"), want)
		}
		if rec.Header().Get("X-Request-Id") == "" {
			t.Errorf("GET %s: no X-Request-Id: the middleware is not around the handler", path)
		}
	}
}

// A configuration that cannot be meant is refused with a message naming
// the setting, before anything is built.
func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"registration", func(c *Config) { c.Engine.Registration = "opne" }, "--registration"},
		{"resource", func(c *Config) { c.Engine.Resources = []string{"not a uri"} }, "--resource"},
		{"key reload", func(c *Config) { c.KeyReload = -time.Second }, "--key-reload"},
		{"issuer", func(c *Config) { c.Engine.Issuer = "" }, "issuer"},
		{"store", func(c *Config) { c.Store = nil }, "store"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			tt.change(&cfg)
			if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want a refusal naming %s", err, tt.want)
			}
		})
	}
}

// countingStore counts DeleteExpiredBatch, the expiry GC's call.
type countingStore struct {
	grantd.Store
	gc chan struct{}
}

func (c *countingStore) DeleteExpiredBatch(ctx context.Context, kind grantd.ExpiredKind, now time.Time, limit int) (int, error) {
	select {
	case c.gc <- struct{}{}:
	default:
	}
	return c.Store.DeleteExpiredBatch(ctx, kind, now, limit)
}

// Run runs the expiry GC until its context ends.
func TestRunRemovesExpiredRowsUntilStopped(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cs := &countingStore{Store: cfg.Store, gc: make(chan struct{}, 1)}
	cfg.Store, cfg.GCEvery = cs, time.Millisecond
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	select {
	case <-cs.gc:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not remove expired rows")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop when its context ended")
	}
}

// The authorization endpoint's error page is the pages' (web.ErrorPages),
// wired by New: an unknown client gets it, not JSON.
func TestNewWiresThePagesErrorPage(t *testing.T) {
	t.Parallel()
	a, err := New(testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/oauth/authorize?response_type=code&client_id=nosuch", nil))
	if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), "Unknown application") {
		t.Fatalf("authorize for an unknown client: %d %q\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
}

// recordingLimits records the names of the limiters asked of it.
type recordingLimits struct {
	ratelimit.Limits
	mu    sync.Mutex
	names map[string]bool
}

func (r *recordingLimits) Limiter(name string, rate ratelimit.Rate) ratelimit.Limiter {
	r.mu.Lock()
	r.names[name] = true
	r.mu.Unlock()
	return r.Limits.Limiter(name, rate)
}

// Config.Limits, when set, are the failure limits of both adapters: every
// limiter the server uses is asked of them.
func TestNewUsesTheGivenLimits(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	rl := &recordingLimits{Limits: ratelimit.NewMemory(cfg.Now, 0), names: map[string]bool{}}
	cfg.Limits = rl
	if _, err := New(cfg); err != nil {
		t.Fatal(err)
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if len(rl.names) == 0 {
		t.Fatal("New asked no limiter of Config.Limits")
	}
}

// Config.ServePages decides what is mounted as the pages: nil serves the
// API alone (a page path is the API's JSON 404), a stand-in is served in
// their place, and by default the pages New built are.
func TestNewServePages(t *testing.T) {
	t.Parallel()
	standIn := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "stand-in")
	})
	for _, tt := range []struct {
		name        string
		serve       func(http.Handler) http.Handler
		status      int
		contentType string
		body        string
	}{
		{"default", nil, http.StatusOK, "text/html", "<form"},
		{"none", func(http.Handler) http.Handler { return nil }, http.StatusNotFound, "application/json", "errors"},
		{"stand-in", func(http.Handler) http.Handler { return standIn }, http.StatusOK, "text/plain", "stand-in"},
		{"wrapped", func(h http.Handler) http.Handler { return h }, http.StatusOK, "text/html", "<form"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.ServePages = tt.serve
			a, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			a.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
			if rec.Code != tt.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.contentType) || !strings.Contains(rec.Body.String(), tt.body) {
				t.Fatalf("GET /login: %d %q\n%s\nwant %d %s containing %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body, tt.status, tt.contentType, tt.body)
			}
		})
	}
}

// pruneStore tells when the clean-up of unused registrations has run.
type pruneStore struct {
	grantd.Store
	pruned chan []string
}

func (p *pruneStore) DeleteUnusedRegistrations(ctx context.Context, before time.Time) ([]string, error) {
	ids, err := p.Store.DeleteUnusedRegistrations(ctx, before)
	select {
	case p.pruned <- ids:
	default:
	}
	return ids, err
}

// Run removes registered clients unused past the TTL (8 days old, 7
// allowed), and keeps one with a grant, one that got a token, a younger
// one and a client of the API.
func TestRunRemovesUnusedRegistrations(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	ctx := t.Context()
	now := cfg.Now()
	old := now.Add(-8 * 24 * time.Hour)
	u := testenv.User(t, cfg.Store, "alice@example.com", "", now)
	mk := func(id string, origin grantd.ClientOrigin, created time.Time, used bool) grantd.Client {
		c := grantd.Client{ID: id, Name: id, Type: grantd.ClientPublic, TokenEndpointAuthMethod: grantd.AuthMethodNone,
			Registered: origin == grantd.OriginRegistration, Origin: origin, ObtainedToken: used, CreatedAt: created, UpdatedAt: created}
		if err := cfg.Store.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	mk("unused", grantd.OriginRegistration, old, false)
	granted := mk("granted", grantd.OriginRegistration, old, false)
	if err := cfg.Store.CreateGrant(ctx, grantd.Grant{ID: "00000000-0000-4000-8000-000000000001", UserID: u.ID, ClientID: granted.ID, Scopes: []string{"read"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	mk("used", grantd.OriginRegistration, old, true)
	mk("young", grantd.OriginRegistration, now.Add(-6*24*time.Hour), false)
	mk("api", grantd.OriginAPI, old, false)

	ps := &pruneStore{Store: cfg.Store, pruned: make(chan []string, 1)}
	cfg.Store, cfg.GCEvery = ps, time.Millisecond
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.Run(ctx)
	select {
	case ids := <-ps.pruned:
		if len(ids) != 1 || ids[0] != "unused" {
			t.Fatalf("removed %v, want [unused]", ids)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not remove unused registrations")
	}
	for _, id := range []string{"granted", "used", "young", "api"} {
		if _, err := ps.Store.GetClient(context.Background(), id); err != nil {
			t.Errorf("%s: %v, want kept", id, err)
		}
	}
}
