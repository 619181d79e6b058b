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
	"github.com/grantd/grantd/internal/leader"
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
	// DefaultLeaderCheck is how often a node tries to become the leader
	// of the background jobs, and the leader checks that it still is.
	DefaultLeaderCheck = 5 * time.Second
	// DefaultKeyActivationDelay is how long a key rotated on schedule is
	// published before it signs: the JWKS's max-age (5 minutes, which
	// resource servers cache it for) and the default key reload, with
	// room to spare.
	DefaultKeyActivationDelay = 10 * time.Minute
)

// The background jobs only the leader runs, as Config.Ran names them.
const (
	JobGC            = "gc"            // expired rows removed (every GCEvery)
	JobRegistrations = "registrations" // unused registrations removed (every GCEvery)
	JobKeyRotation   = "key_rotation"  // a signing key rotated on schedule
)

// jwksCacheAge is how long resource servers may cache the JWKS (the
// max-age the API sends with it).
const jwksCacheAge = 5 * time.Minute

// leaderTimeout bounds one Lead of the Elector (a connection and a query
// on PostgreSQL).
const leaderTimeout = 10 * time.Second

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
	// removes expired rows, on the leader (see Leader; --gc-every). Their
	// defaults when zero; negative is refused.
	KeyReload time.Duration
	GCEvery   time.Duration
	// UnusedRegistrationTTL is the age past which Run, every GCEvery,
	// removes registered clients that never obtained a token and hold no
	// grant (--registration-unused-ttl); its default when zero.
	UnusedRegistrationTTL time.Duration

	// Leader decides whether this node runs the background jobs (the
	// expiry GC, pruning registrations, scheduled key rotation): at most
	// one node of a deployment holds it. Every node reloads its keys
	// whatever it says. Nil: this node runs them, as the only one
	// (leader.Solo). LeaderCheck is how often Run asks it (besides right
	// before each job); DefaultLeaderCheck when zero.
	Leader      leader.Elector
	LeaderCheck time.Duration
	// KeyRotationPeriod, when positive, makes the leader rotate the
	// signing key once the newest key has signed this long
	// (--key-rotation-period); zero is off. The new key is published
	// KeyActivationDelay before it signs (--key-activation-delay;
	// DefaultKeyActivationDelay when zero), which must be longer than
	// KeyReload, so that every node has loaded it before any signs with
	// it, and shorter than the period.
	KeyRotationPeriod  time.Duration
	KeyActivationDelay time.Duration
	// Ran, when set, is called on the node that ran a background job,
	// once it completed without error, with the job's name (JobGC,
	// JobRegistrations; JobKeyRotation when a key was rotated). It runs
	// on Run's goroutine and should return quickly. When nil, the
	// metrics count the runs (grantd_background_runs_total).
	Ran func(job string)

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
var KnownGrantTypes = []string{grantd.GrantClientCredentials, grantd.GrantAuthorizationCode, grantd.GrantRefreshToken, grantd.GrantTokenExchange, grantd.GrantDeviceCode}

// KnownLimits are the names of grantd's rate limits, whose series of
// grantd_rate_limited_total exist from the start.
var KnownLimits = []string{
	ratelimit.ClientAuth.Name, ratelimit.ClientID.Name, ratelimit.APIKey.Name, ratelimit.Register.Name,
	ratelimit.ConsentToken.Name, ratelimit.SignIn.Name, ratelimit.SignInAccount.Name, ratelimit.Management.Name,
	ratelimit.UserCode.Name,
}

// NewMetrics answers metrics with grantd's known grant types and limits
// registered at 0.
func NewMetrics() *metrics.Metrics {
	return metrics.New(metrics.Options{GrantTypes: KnownGrantTypes, Limits: KnownLimits, Jobs: []string{JobGC, JobRegistrations, JobKeyRotation}})
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

	elector     leader.Elector
	leaderCheck time.Duration
	rotateEvery time.Duration // 0: no scheduled rotation
	activateIn  time.Duration
	ran         func(job string)
	leading     bool // Run's view; only Run's goroutine touches it
	leadFailing bool // the last Lead failed (its error was logged)
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
		return nil, fmt.Errorf("--gc-every %s (env GRANTD_GC_EVERY): must be more than 0", cfg.GCEvery)
	}
	if cfg.LeaderCheck < 0 {
		return nil, fmt.Errorf("app: LeaderCheck %s: must be more than 0", cfg.LeaderCheck)
	}
	if err := checkRotation(cfg); err != nil {
		return nil, err
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
	a.elector, a.leaderCheck, a.ran = cfg.Leader, cfg.LeaderCheck, cfg.Ran
	if a.ran == nil {
		// grantd_background_runs_total, counted on the node that ran
		// the job.
		a.ran = m.BackgroundRun
	}
	if a.elector == nil {
		a.elector = leader.Solo{}
	}
	if a.leaderCheck == 0 {
		a.leaderCheck = DefaultLeaderCheck
	}
	a.rotateEvery, a.activateIn = cfg.KeyRotationPeriod, cfg.KeyActivationDelay
	if a.activateIn == 0 {
		a.activateIn = DefaultKeyActivationDelay
	}
	if a.rotateEvery > 0 && a.activateIn < a.keyReload+jwksCacheAge {
		// Allowed (the nodes are safe), but a resource server that
		// fetched the JWKS just before the rotation meets a token of
		// the new key before its cache expires and must refetch.
		log.Warn("--key-activation-delay is shorter than --key-reload plus the JWKS cache lifetime of resource servers (5m): some may see a token of a new key before their cached JWKS has it, and fetch the JWKS again",
			"key_activation_delay", a.activateIn.String(), "key_reload", a.keyReload.String())
	}
	return a, nil
}

// checkRotation applies CheckKeyRotation to cfg.
func checkRotation(cfg Config) error {
	return CheckKeyRotation(cfg.KeyRotationPeriod, cfg.KeyActivationDelay, cfg.KeyReload)
}

// CheckKeyRotation refuses a rotation schedule whose rule cannot hold
// (zero delay and reload mean their defaults): a new key must be
// published longer than the nodes take to reload their keys, so that
// none signs with a key another node does not publish yet, and a key
// must sign for longer than its successor waits. Every refusal names the
// settings.
func CheckKeyRotation(period, delay, reload time.Duration) error {
	if period < 0 {
		return fmt.Errorf("--key-rotation-period %s (env GRANTD_KEY_ROTATION_PERIOD): must be 0 (off) or more", period)
	}
	if delay < 0 {
		return fmt.Errorf("--key-activation-delay %s (env GRANTD_KEY_ACTIVATION_DELAY): must be more than 0", delay)
	}
	if period == 0 {
		return nil
	}
	if reload == 0 {
		reload = DefaultKeyReload
	}
	if delay == 0 {
		delay = DefaultKeyActivationDelay
	}
	if delay <= reload {
		return fmt.Errorf("--key-activation-delay %s (env GRANTD_KEY_ACTIVATION_DELAY) must be longer than --key-reload %s (env GRANTD_KEY_RELOAD): a key rotated on schedule must be published on every node before any signs with it", delay, reload)
	}
	if period <= delay {
		return fmt.Errorf("--key-rotation-period %s (env GRANTD_KEY_ROTATION_PERIOD) must be longer than --key-activation-delay %s (env GRANTD_KEY_ACTIVATION_DELAY)", period, delay)
	}
	return nil
}

// Run runs the background loops until ctx ends. Every node reloads the
// signing keys every KeyReload. The node that leads (Config.Leader; it
// tries at once, then every LeaderCheck) also removes expired rows and
// unused registrations every GCEvery and, with a KeyRotationPeriod,
// checks after each reload whether a key is due; it checks that it
// still leads right before each job. When ctx ends, the leader resigns,
// so that another node takes over at once.
func (a *App) Run(ctx context.Context) {
	reload := time.NewTicker(a.keyReload)
	defer reload.Stop()
	gc := time.NewTicker(a.gcEvery)
	defer gc.Stop()
	check := time.NewTicker(a.leaderCheck)
	defer check.Stop()
	defer a.resign()
	a.lead(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload.C:
			if err := a.keys.Load(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("reloading signing keys failed", "error", err)
			}
			if a.rotateEvery > 0 && a.lead(ctx) {
				a.rotateKeys(ctx)
			}
		case <-gc.C:
			if a.lead(ctx) {
				a.removeExpired(ctx)
			}
			if a.lead(ctx) {
				a.pruneRegistrations(ctx)
			}
		case <-check.C:
			a.lead(ctx)
		}
	}
}

// lead asks the Elector whether this node leads, and logs when that
// changes.
func (a *App) lead(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	lctx, cancel := context.WithTimeout(ctx, leaderTimeout)
	ok, err := a.elector.Lead(lctx)
	cancel()
	if ctx.Err() != nil {
		return false
	}
	switch {
	case err != nil && !a.leadFailing:
		a.log.Warn("leader election failed; this node runs no background jobs until it succeeds", "error", err)
	case err != nil:
		a.log.Debug("leader election failed", "error", err)
	case a.leadFailing:
		a.log.Info("leader election works again")
	}
	a.leadFailing = err != nil
	if ok != a.leading {
		if ok {
			a.log.Info("this node is now the leader: it runs the background jobs (expiry GC, registration pruning, scheduled key rotation)")
		} else {
			a.log.Info("this node is no longer the leader: another node runs the background jobs", "error", err)
		}
		a.leading = ok
	}
	return ok
}

// resign gives leadership up when Run ends.
func (a *App) resign() {
	if !a.leading {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), leaderTimeout)
	defer cancel()
	if err := a.elector.Resign(ctx); err != nil {
		a.log.Warn("giving up leadership failed; another node takes over once the database notices", "error", err)
	}
	a.leading = false
	a.log.Info("this node is no longer the leader: it stopped")
}

// done reports a job that completed to Config.Ran.
func (a *App) done(job string) {
	a.log.Debug("background job ran", "job", job)
	if a.ran != nil {
		a.ran(job)
	}
}

// removeExpired removes the expired rows of every kind in batches of
// grantd.DefaultExpiredBatch, each its own short transaction, until none
// is left, so that a large backlog never holds a lock for long.
func (a *App) removeExpired(ctx context.Context) {
	now := a.now()
	var removed []any
	total := 0
	for _, kind := range grantd.ExpiredKinds() {
		n := 0
		for {
			got, err := a.store.DeleteExpiredBatch(ctx, kind, now, grantd.DefaultExpiredBatch)
			n += got
			if err != nil {
				if ctx.Err() == nil {
					a.log.Warn("removing expired rows failed", "kind", string(kind), "removed", n, "error", err)
				}
				return
			}
			if got < grantd.DefaultExpiredBatch {
				break
			}
		}
		if n > 0 {
			removed = append(removed, string(kind), n)
			total += n
		}
	}
	if total > 0 {
		a.log.Info("removed expired rows", append([]any{"total", total}, removed...)...)
	}
	a.done(JobGC)
}

// rotateKeys rotates the signing key when the newest one has signed for
// the rotation period, and publishes the new key activateIn before it
// signs. The leader loads the new key at once (Rotate does); the other
// nodes at their next reload, which comes sooner (New checks it).
func (a *App) rotateKeys(ctx context.Context) {
	k, rotated, err := a.keys.RotateIfDue(ctx, a.rotateEvery, a.activateIn)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("scheduled key rotation failed", "error", err)
		}
		return
	}
	if rotated {
		a.log.Info("rotated the signing key on schedule: the new key is published now and signs from active_at",
			"kid", k.ID, "active_at", k.ActiveAt.UTC().Format(time.RFC3339), "period", a.rotateEvery.String())
		a.done(JobKeyRotation)
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
	a.done(JobRegistrations)
}
