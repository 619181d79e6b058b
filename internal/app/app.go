// Package app is grantd's composition root: New builds the whole server
// from a validated configuration (the engine, the failure limits, the one
// cross-origin rule, the pages, the JSON API and its middleware) and Run
// runs its background loops. `grantd serve` opens the database and the key
// ring, calls New, and only listens, serves and shuts down.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/httpapi"
	"github.com/grantd/grantd/internal/metrics"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/token"
	"github.com/grantd/grantd/internal/web"
)

// Defaults of the background loops.
const (
	DefaultKeyReload = 30 * time.Second
	DefaultGCEvery   = 10 * time.Minute
	// DefaultUnusedRegistrationTTL is how long a registered client may go
	// without obtaining a token before Run removes it.
	DefaultUnusedRegistrationTTL = 7 * 24 * time.Hour
)

// Config is everything the server is built from.
type Config struct {
	// Engine is the protocol engine's configuration; Engine.Issuer is
	// required.
	Engine  oauth.Config
	Store   grantd.Store
	Keys    *token.Keyring
	Catalog *grantd.Catalog
	// Logger receives the server's logs; nil discards.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	// KeyReload is how often Run reloads the signing keys (so that a
	// rotation by another process reaches this one); GCEvery how often it
	// removes expired rows. Their defaults when zero; negative is refused.
	KeyReload time.Duration
	GCEvery   time.Duration
	// UnusedRegistrationTTL is the age past which Run, every GCEvery,
	// removes registered clients that never obtained a token and hold no
	// grant (--registration-unused-ttl); its default when zero.
	UnusedRegistrationTTL time.Duration

	// CrossOrigin is the one cross-origin rule of both adapters; a new
	// net/http.CrossOriginProtection when nil.
	CrossOrigin *http.CrossOriginProtection

	// Pages, when set, changes how the pages are built (tests give cheap
	// password parameters); Provider, Logger, Secure, Limits and
	// CrossOrigin are always set by New.
	Pages web.Deps

	// CORSOrigins are the exact origins allowed to call the management
	// API from a browser (--cors-origins); the public endpoints allow any
	// origin whatever it says.
	CORSOrigins []string

	// Limits, when set, are the failure limits of both adapters (tests
	// give limits that never refuse); in memory on the engine's clock
	// when nil.
	Limits ratelimit.Limits
	// ManagementLimit is the rate of management API requests per caller
	// (--management-rate-limit); ratelimit.Management's when zero.
	ManagementLimit ratelimit.Rate
	// RateLimited, when set, is called with the limit's name each time a
	// limit refuses (ratelimit.Observe), for metrics.
	RateLimited func(limit string)
	// ServePages, when set, decides what the API serves as the people's
	// pages: it is given the pages New built and answers the handler to
	// mount, nil for none (tests of the API alone, or a stand-in).
	ServePages func(pages http.Handler) http.Handler

	// Metrics records the server's metrics; a new one when nil. Unless
	// MetricsSeparate or MetricsOff, Handler serves them at GET /metrics.
	Metrics *metrics.Metrics
	// MetricsSeparate leaves /metrics off Handler: serve has them on a
	// listener of their own (--metrics-addr), from App.MetricsHandler.
	MetricsSeparate bool
	// MetricsOff serves no /metrics at all (--metrics=false); the
	// metrics still count, for nobody.
	MetricsOff bool
	// DBStats, when set, answers the database pool's connections at each
	// scrape (grantd_db_connections).
	DBStats func() metrics.ConnStats
}

// KnownGrantTypes are the grant types whose series of
// grantd_tokens_issued_total exist from the start.
var KnownGrantTypes = []string{grantd.GrantClientCredentials, grantd.GrantAuthorizationCode, grantd.GrantRefreshToken, grantd.GrantTokenExchange}

// KnownLimits are the names of grantd's rate limits, whose series of
// grantd_rate_limited_total exist from the start.
var KnownLimits = []string{
	ratelimit.ClientAuth.Name, ratelimit.ClientID.Name, ratelimit.APIKey.Name, ratelimit.Register.Name,
	ratelimit.ConsentToken.Name, ratelimit.SignIn.Name, ratelimit.SignInAccount.Name, ratelimit.Management.Name,
}

// NewMetrics answers metrics with grantd's known grant types and limits
// registered at 0.
func NewMetrics() *metrics.Metrics {
	return metrics.New(metrics.Options{GrantTypes: KnownGrantTypes, Limits: KnownLimits})
}

// App is the built server.
type App struct {
	Handler  http.Handler
	Provider *oauth.Provider
	Routes   []httpapi.Route // every method and path of the API (not the pages)
	// Metrics are the server's metrics; MetricsHandler serves them in the
	// Prometheus exposition format (nil with Config.MetricsOff).
	Metrics        *metrics.Metrics
	MetricsHandler http.Handler

	store     grantd.Store
	keys      *token.Keyring
	log       *slog.Logger
	now       func() time.Time
	keyReload time.Duration
	gcEvery   time.Duration
	unusedTTL time.Duration
}

// New validates cfg and builds the server. Every refusal names the
// setting.
func New(cfg Config) (*App, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.Catalog == nil {
		return nil, errors.New("app: a store, a key ring and a scope catalog are required")
	}
	if cfg.Engine.Issuer == "" {
		return nil, errors.New("app: the issuer is required")
	}
	if cfg.KeyReload < 0 {
		return nil, fmt.Errorf("--key-reload %s (env GRANTD_KEY_RELOAD): must be more than 0", cfg.KeyReload)
	}
	if cfg.UnusedRegistrationTTL < 0 {
		return nil, fmt.Errorf("--registration-unused-ttl %s (env GRANTD_REGISTRATION_UNUSED_TTL): must be more than 0", cfg.UnusedRegistrationTTL)
	}
	if cfg.GCEvery < 0 {
		return nil, fmt.Errorf("app: GCEvery %s: must be more than 0", cfg.GCEvery)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	switch cfg.Engine.Registration {
	case "", oauth.RegistrationOpen, oauth.RegistrationAPIKey, oauth.RegistrationDisabled:
	default:
		return nil, fmt.Errorf("--registration %q (env GRANTD_REGISTRATION): use open, api_key or disabled", cfg.Engine.Registration)
	}
	m := cfg.Metrics
	if m == nil {
		m = NewMetrics()
	}
	if cfg.DBStats != nil {
		m.SetDBStats(cfg.DBStats)
	}
	var metricsHandler http.Handler
	if !cfg.MetricsOff {
		metricsHandler = m.Handler()
	}
	provider, err := oauth.NewProvider(oauth.Deps{
		Config:   cfg.Engine,
		Store:    cfg.Store,
		Keys:     cfg.Keys,
		Catalog:  cfg.Catalog,
		Logger:   log,
		Now:      now,
		Observer: m,
	})
	if err != nil {
		return nil, fmt.Errorf("--resource: %w", err)
	}
	if provider.Config().Registration == oauth.RegistrationOpen && len(cfg.Catalog.NonSensitiveIDs()) == 0 {
		// Not an error: the rest of the server works. But every open
		// registration will be refused, which an operator should hear of
		// before a client developer does.
		log.Warn("open registration will refuse every client: every scope of the catalog is sensitive, and a client without an owner gets no sensitive scope; add a scope that is not sensitive to --scopes-file, or set --registration api_key or disabled")
	}
	// One set of failure limits for the pages and the API, so that a
	// consent token guessed through either is one count; one cross-origin
	// rule for the pages' forms and the API's consent decision.
	limits := cfg.Limits
	if limits == nil {
		limits = ratelimit.NewMemory(provider.Now, 0)
	}
	limits = ratelimit.Observe(limits, cfg.RateLimited)
	crossOrigin := cfg.CrossOrigin
	if crossOrigin == nil {
		crossOrigin = http.NewCrossOriginProtection()
	}
	pd := cfg.Pages
	pd.Provider, pd.Logger, pd.Limits, pd.CrossOrigin = provider, log, limits, crossOrigin
	pd.RateLimited = m.RateLimited
	pd.Secure = strings.HasPrefix(provider.Config().Issuer, "https://")
	pages, err := web.New(pd)
	if err != nil {
		return nil, err
	}
	var served http.Handler = pages
	if cfg.ServePages != nil {
		served = cfg.ServePages(pages)
	}
	opts := []httpapi.Option{httpapi.WithLimits(limits), httpapi.WithCrossOrigin(crossOrigin), httpapi.WithErrorPages(web.ErrorPages{}), httpapi.WithCORSOrigins(cfg.CORSOrigins), httpapi.WithObserver(m), httpapi.WithManagementLimit(cfg.ManagementLimit)}
	if metricsHandler != nil && !cfg.MetricsSeparate {
		opts = append(opts, httpapi.WithMetrics(metricsHandler))
	}
	api := httpapi.NewServer(provider, served, log, opts...)
	a := &App{
		Handler: api, Provider: provider, Routes: api.Routes(),
		Metrics: m, MetricsHandler: metricsHandler,
		store: cfg.Store, keys: cfg.Keys, log: log, now: now,
		keyReload: cfg.KeyReload, gcEvery: cfg.GCEvery, unusedTTL: cfg.UnusedRegistrationTTL,
	}
	if a.keyReload == 0 {
		a.keyReload = DefaultKeyReload
	}
	if a.gcEvery == 0 {
		a.gcEvery = DefaultGCEvery
	}
	if a.unusedTTL == 0 {
		a.unusedTTL = DefaultUnusedRegistrationTTL
	}
	return a, nil
}

// Run runs the background loops until ctx ends: it reloads the signing
// keys every KeyReload and removes expired rows every GCEvery.
func (a *App) Run(ctx context.Context) {
	reload := time.NewTicker(a.keyReload)
	defer reload.Stop()
	gc := time.NewTicker(a.gcEvery)
	defer gc.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload.C:
			if err := a.keys.Load(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("reloading signing keys failed", "error", err)
			}
		case <-gc.C:
			if err := a.store.DeleteExpired(ctx, a.now()); err != nil && ctx.Err() == nil {
				a.log.Warn("removing expired rows failed", "error", err)
			}
			a.pruneRegistrations(ctx)
		}
	}
}

// pruneRegistrations removes the registered clients older than the
// unused TTL that never obtained a token and hold no grant.
func (a *App) pruneRegistrations(ctx context.Context) {
	ids, err := a.store.DeleteUnusedRegistrations(ctx, a.now().Add(-a.unusedTTL))
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("removing unused registrations failed", "error", err)
		}
		return
	}
	if len(ids) > 0 {
		a.log.Info("removed registered clients that never obtained a token", "count", len(ids), "unused_for", a.unusedTTL.String())
	}
}
