package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/httpapi"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/web"
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

func (a *app) serve(ctx context.Context, f *dbFlags) error {
	if err := f.checkServe(); err != nil {
		return err
	}
	log, err := newLogger(a.stderr, f.logLevel)
	if err != nil {
		return err
	}
	catalog, err := loadCatalog(f.scopesFile)
	if err != nil {
		return err
	}
	// Checked again by oauth.NewProvider; here so that a typo stops the
	// server before it opens the database.
	switch f.registration {
	case oauth.RegistrationOpen, oauth.RegistrationAPIKey, oauth.RegistrationDisabled:
	default:
		return fmt.Errorf("--registration %q: use open, api_key or disabled", f.registration)
	}
	if f.refreshGrace < 0 || f.refreshGrace > maxRefreshGrace {
		return fmt.Errorf("--refresh-grace %v: must be between 0 (off) and %v", f.refreshGrace, maxRefreshGrace)
	}
	if f.issuer != "" {
		if err := checkIssuer(f.issuer); err != nil {
			return err
		}
	}

	if err := f.checkSecretFile(); err != nil {
		return err
	}

	st, dbPath, err := f.openStore(ctx, !f.noMigrate)
	if err != nil {
		return err
	}
	defer closeStore(log, st)
	master, _, err := f.masterKey(dbPath, dbPath != "")
	if err != nil {
		return err
	}
	keys, err := f.keyring(st, master)
	if err != nil {
		return err
	}
	if err := keys.Load(ctx); err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	if err := a.bootstrap(ctx, st, dbPath); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.addr, err)
	}
	issuer := strings.TrimSuffix(f.issuer, "/")
	if issuer == "" {
		issuer = "http://" + ln.Addr().String()
	}
	provider, err := oauth.NewProvider(oauth.Deps{
		Config: oauth.Config{
			Issuer:          issuer,
			Resources:       f.resources,
			ConsentURL:      f.consentURL,
			Registration:    f.registration,
			AccessTokenTTL:  f.accessTTL,
			RefreshTokenTTL: f.refreshTTL,
			RefreshGrace:    f.refreshGrace,
		},
		Store:   st,
		Keys:    keys,
		Catalog: catalog,
		Logger:  log,
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("--resource: %w", err)
	}
	if f.registration == oauth.RegistrationOpen && len(catalog.NonSensitiveIDs()) == 0 {
		// Not an error: the rest of the server works. But every open
		// registration will be refused, which an operator should hear of
		// before a client developer does.
		log.Warn("open registration will refuse every client: every scope of the catalog is sensitive, and a client without an owner gets no sensitive scope; add a scope that is not sensitive to --scopes-file, or set --registration api_key or disabled")
	}
	// One set of failure limits for the pages and the API, so that a
	// consent token guessed through either is one count.
	limits := ratelimit.NewMemory(provider.Now, 0)
	// One cross-origin rule for the pages' forms and the API's consent
	// decision.
	crossOrigin := http.NewCrossOriginProtection()
	pages, err := web.New(web.Deps{Provider: provider, Logger: log, Secure: strings.HasPrefix(issuer, "https://"), Limits: limits, CrossOrigin: crossOrigin})
	if err != nil {
		ln.Close()
		return err
	}
	api := httpapi.NewServer(provider, pages, log, httpapi.WithLimits(limits), httpapi.WithCrossOrigin(crossOrigin))
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    httpapi.ServerMaxHeaderBytes, // the handler answers 431 past httpapi.MaxHeaderBytes
		ErrorLog:          nil,
	}

	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	go a.background(bg, log, st, keys, f.keyReload)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
	stopBG()
	log.Info("stopped")
	return nil
}

// background reloads signing keys (so that `grantd keys rotate` reaches a
// running server) and removes expired rows.
func (a *app) background(ctx context.Context, log interface {
	Warn(string, ...any)
}, st grantd.Store, keys interface{ Load(context.Context) error }, every time.Duration) {
	if every <= 0 {
		every = 30 * time.Second
	}
	reload := time.NewTicker(every)
	defer reload.Stop()
	gc := time.NewTicker(10 * time.Minute)
	defer gc.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload.C:
			if err := keys.Load(ctx); err != nil && ctx.Err() == nil {
				log.Warn("reloading signing keys failed", "error", err)
			}
		case <-gc.C:
			if err := st.DeleteExpired(ctx, time.Now()); err != nil && ctx.Err() == nil {
				log.Warn("removing expired rows failed", "error", err)
			}
		}
	}
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

// checkIssuer enforces SPEC §2: an origin without a path.
func checkIssuer(iss string) error {
	u, err := url.Parse(iss)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--issuer %q: must be an http(s) origin such as https://auth.example.com", iss)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("--issuer %q: must be an origin without a path, query or fragment", iss)
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
