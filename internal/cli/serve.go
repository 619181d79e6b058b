package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/grantd/grantd"
	grantdapp "github.com/grantd/grantd/internal/app"
	"github.com/grantd/grantd/internal/cimd"
	"github.com/grantd/grantd/internal/httpapi"
	"github.com/grantd/grantd/internal/leader"
	"github.com/grantd/grantd/internal/metrics"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/store/postgres"
)

// bootstrapEmail is the user the first start creates, with an API key.
const bootstrapEmail = "admin@localhost"

func (a *app) serveCmd() *cobra.Command {
	var f dbFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the OAuth server and its API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context(), &f)
		},
	}
	a.addDBFlags(cmd, &f)
	a.addServeFlags(cmd, &f)
	return cmd
}

// serve listens, serves the server the composition root builds and shuts
// down; open prepares everything it needs.
func (a *app) serve(ctx context.Context, f *dbFlags) error {
	cfg, log, closeAll, err := a.open(ctx, f)
	if err != nil {
		return err
	}
	defer closeAll()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.addr, err)
	}
	issuer := strings.TrimSuffix(f.issuer, "/")
	if issuer == "" {
		issuer = "http://" + ln.Addr().String()
	}
	cfg.Engine.Issuer = issuer
	if err := checkBuiltInResources(issuer, cfg.Engine.Registry); err != nil {
		ln.Close()
		return err
	}
	server, err := grantdapp.New(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           server.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    httpapi.ServerMaxHeaderBytes, // the handler answers 431 past httpapi.MaxHeaderBytes
		ErrorLog:          nil,
	}

	// --metrics-addr: /metrics alone on a listener of its own, which
	// operators keep off the public network.
	var msrv *http.Server
	var mln net.Listener
	if f.metricsAddr != "" {
		mln, err = net.Listen("tcp", f.metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-addr: listen on %s: %w", f.metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", server.MetricsHandler)
		msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	}

	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	go server.Run(bg)

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if msrv != nil {
		go func() { errc <- msrv.Serve(mln) }()
		log.Info("grantd serving metrics", "addr", mln.Addr().String())
		fmt.Fprintf(a.stdout, "grantd metrics on http://%s/metrics\n", mln.Addr().String())
	}
	log.Info("grantd serving", "addr", ln.Addr().String(), "issuer", issuer, "database", redactDSN(f.database))
	fmt.Fprintf(a.stdout, "grantd listening on %s (issuer %s)\n", ln.Addr().String(), issuer)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown did not finish cleanly", "error", err)
	}
	if msrv != nil {
		_ = msrv.Shutdown(sctx)
	}
	stopBG()
	log.Info("stopped")
	return nil
}

// open checks serve's settings, then opens the database (migrating it
// unless told not to), the master key and the signing keys, and makes the
// bootstrap user on a fresh database: the configuration of the server,
// all but the issuer, which depends on the listener. closeAll closes the
// database.
func (a *app) open(ctx context.Context, f *dbFlags) (grantdapp.Config, *slog.Logger, func(), error) {
	fail := func(err error) (grantdapp.Config, *slog.Logger, func(), error) {
		return grantdapp.Config{}, nil, nil, err
	}
	if err := f.checkServe(); err != nil {
		return fail(err)
	}
	log, err := newLogger(a.stderr, f.logLevel)
	if err != nil {
		return fail(err)
	}
	catalog, err := loadCatalog(f.scopesFile)
	if err != nil {
		return fail(err)
	}
	registry, err := loadResources(f.resourcesFile, catalog)
	if err != nil {
		return fail(err)
	}
	// Checked again by app.New; here so that a typo stops the server
	// before it opens the database.
	switch f.registration {
	case oauth.RegistrationOpen, oauth.RegistrationAPIKey, oauth.RegistrationDisabled:
	default:
		return fail(fmt.Errorf("--registration %q (env GRANTD_REGISTRATION): use open, api_key or disabled", f.registration))
	}
	for _, o := range f.corsOrigins {
		if err := checkOrigin(o); err != nil {
			return fail(err)
		}
	}
	if f.refreshGrace < 0 || f.refreshGrace > maxRefreshGrace {
		return fail(fmt.Errorf("--refresh-grace %v (env GRANTD_REFRESH_GRACE): must be between 0 (off) and %v", f.refreshGrace, maxRefreshGrace))
	}
	if f.devicePoll < time.Second || f.devicePoll > time.Minute || f.devicePoll%time.Second != 0 {
		return fail(fmt.Errorf("--device-poll-interval %v (env GRANTD_DEVICE_POLL_INTERVAL): must be whole seconds from 1s to 1m", f.devicePoll))
	}
	if f.issuer != "" {
		if err := checkIssuer(f.issuer); err != nil {
			return fail(err)
		}
	}
	if err := f.checkSecretFile(); err != nil {
		return fail(err)
	}

	// The metrics exist before the store, so that the cache counts its
	// events from the first read.
	m := grantdapp.NewMetrics()
	st, cached, dbPath, err := f.openCachedStore(ctx, !f.noMigrate, m.CacheEvent)
	if err != nil {
		return fail(err)
	}
	prepared := false
	defer func() {
		if !prepared {
			closeStore(log, st)
		}
	}()
	master, _, err := f.masterKey(dbPath, dbPath != "")
	if err != nil {
		return fail(err)
	}
	keys, err := f.keyring(st, master)
	if err != nil {
		return fail(err)
	}
	if err := keys.Load(ctx); err != nil {
		return fail(fmt.Errorf("signing keys: %w", err))
	}
	if cached != nil {
		// A key changed anywhere (a rotation on another node, `grantd
		// keys rotate`) is loaded at once, not at the next --key-reload.
		cached.SetOnKeys(func(ctx context.Context) {
			if err := keys.Load(ctx); err != nil && ctx.Err() == nil {
				log.Warn("reloading signing keys after a change failed", "error", err)
			}
		})
	}
	if err := a.bootstrap(ctx, st, dbPath); err != nil {
		return fail(err)
	}
	elector, err := f.elector(dbPath)
	if err != nil {
		return fail(err)
	}
	var limits *ratelimit.Redis
	if f.redisURL != "" {
		limits, err = ratelimit.NewRedis(ratelimit.RedisConfig{URL: f.redisURL, Prefix: f.redisPrefix, Timeout: f.redisTimeout, Logger: log})
		if err != nil {
			return fail(fmt.Errorf("--redis (env GRANTD_REDIS): %w", err))
		}
		log.Info("rate limits are shared by every node through Redis", "redis", redactDSN(f.redisURL), "mode", limits.Mode())
	}
	prepared = true
	cfg := grantdapp.Config{
		Metrics: m,
		Engine: oauth.Config{
			Resources:          f.resources,
			Registry:           registry,
			ConsentURL:         f.consentURL,
			Registration:       f.registration,
			RegistrationCap:    f.registrationCap,
			AccessTokenTTL:     f.accessTTL,
			RefreshTokenTTL:    f.refreshTTL,
			RefreshGrace:       f.refreshGrace,
			DevicePollInterval: f.devicePoll,
			ClientMetadata: cimd.Config{
				AllowLoopback: f.clientMetadataLoopback,
				Domains:       f.clientMetadataPolicy,
			},
		},
		Store:     st,
		Keys:      keys,
		Catalog:   catalog,
		Logger:    log,
		KeyReload: f.keyReload,

		CORSOrigins:           f.corsOrigins,
		UnusedRegistrationTTL: f.unusedTTL,
		ManagementLimit:       f.managementRate,

		MetricsOff:      !f.metrics,
		MetricsSeparate: f.metricsAddr != "",

		Leader:             elector,
		GCEvery:            f.gcEvery,
		KeyRotationPeriod:  f.keyRotationPeriod,
		KeyActivationDelay: f.keyActivationDelay,
	}
	if cs := f.connStats; cs != nil {
		cfg.DBStats = func() metrics.ConnStats {
			inUse, idle, maxOpen := cs()
			return metrics.ConnStats{InUse: inUse, Idle: idle, Max: maxOpen}
		}
	}
	closeAll := func() { closeStore(log, st) }
	if limits != nil {
		cfg.Limits = limits
		closeAll = func() {
			limits.Close()
			closeStore(log, st)
		}
	}
	return cfg, log, closeAll, nil
}

// elector answers the lock that makes one node the leader of the
// background jobs: an flock beside a SQLite database (the processes on
// its host), a session-level advisory lock on PostgreSQL (every node).
func (f *dbFlags) elector(sqliteFile string) (leader.Elector, error) {
	if sqliteFile != "" {
		return leader.NewFile(leader.LockPath(sqliteFile)), nil
	}
	e, err := postgres.NewElector(f.database)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// closeStore closes the database; the store waits at most --db-timeout
// (see store/deadline), so a database that froze cannot hold the exit.
func closeStore(log interface {
	Warn(string, ...any)
}, st grantd.Store) {
	if err := st.Close(); err != nil {
		log.Warn("closing the database did not finish cleanly; exiting anyway", "error", err)
	}
}

// checkOrigin accepts an origin as a browser sends it in Origin: an
// http(s) scheme and host, a port if any, nothing else.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Scheme+"://"+u.Host != o {
		return fmt.Errorf("--cors-origins %q (env GRANTD_CORS_ORIGINS): must be an origin such as https://app.example.com, without a path or a trailing slash", o)
	}
	return nil
}

// checkIssuer enforces SPEC §2: an origin without a path.
func checkIssuer(iss string) error {
	u, err := url.Parse(iss)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--issuer %q (env GRANTD_ISSUER): must be an http(s) origin such as https://auth.example.com", iss)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("--issuer %q (env GRANTD_ISSUER): must be an origin without a path, query or fragment", iss)
	}
	return nil
}

// bootstrap creates the first user and an API key on a fresh database and
// shows the key once: on stdout and in a 0600 file beside the database.
func (a *app) bootstrap(ctx context.Context, st grantd.Store, dbPath string) error {
	if _, err := st.GetUserByEmail(ctx, bootstrapEmail); err == nil {
		return nil
	} else if !errors.Is(err, grantd.ErrNotFound) {
		return fmt.Errorf("bootstrap: %w", err)
	}
	key, err := createAPIKey(ctx, st, bootstrapEmail, "bootstrap", time.Now())
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	where := ""
	if dbPath != "" {
		p := filepath.Join(filepath.Dir(dbPath), "grantd.bootstrap-key")
		if err := os.WriteFile(p, []byte(key+"\n"), 0o600); err != nil {
			return fmt.Errorf("bootstrap key file: %w", err)
		}
		where = " (also saved to " + p + ")"
	}
	fmt.Fprintf(a.stdout, "Bootstrap admin API key for %s, shown once%s:\n%s\n", bootstrapEmail, where, key)
	return nil
}
