package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/grantd/grantd"
	grantdapp "github.com/grantd/grantd/internal/app"
	"github.com/grantd/grantd/internal/cimd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/store/cache"
	"github.com/grantd/grantd/internal/store/deadline"
	"github.com/grantd/grantd/internal/store/postgres"
	"github.com/grantd/grantd/internal/store/sqlite"
	"github.com/grantd/grantd/internal/token"
)

// dbFlags are the flags of every command that touches the database, each
// with a GRANTD_ environment twin (SPEC §1). A flag given on the command
// line wins over its environment variable.
type dbFlags struct {
	database   string
	addr       string
	issuer     string
	secretFile string
	noMigrate  bool

	consentURL      string
	resources       []string
	corsOrigins     []string
	registrationCap int
	unusedTTL       time.Duration
	registration    string
	accessTTL       time.Duration
	refreshTTL      time.Duration
	refreshGrace    time.Duration
	devicePoll      time.Duration
	signingAlg      string
	scopesFile      string
	resourcesFile   string
	logLevel        string
	keyReload       time.Duration
	shutdownTimeout time.Duration
	metrics         bool   // serve /metrics at all (--metrics)
	metricsAddr     string // a listener of their own for /metrics (--metrics-addr)

	// connStats answers the connections of the database openStore opened
	// last (for grantd_db_connections); nil before.
	connStats func() (inUse, idle, maxOpen int)

	// Background jobs (run by the leader only): the GC interval and the
	// signing key schedule.
	gcEvery            time.Duration
	keyRotationPeriod  time.Duration
	keyActivationDelay time.Duration

	// Client ID metadata documents: loopback for development, and the
	// domain policy as given and as parsed by checkServe.
	clientMetadataLoopback bool
	clientMetadataDomains  string
	clientMetadataPolicy   *cimd.Domains

	// Rate limits: Redis shared by every node (--redis), its per-call
	// timeout, and the management limit as given and as parsed.
	redisURL            string
	redisPrefix         string
	redisTimeout        time.Duration
	managementRateLimit string
	managementRate      ratelimit.Rate

	sqliteSync   string // --sqlite-synchronous: normal or full
	dbTimeout    time.Duration
	dbTimeoutEnv string                            // GRANTD_DB_TIMEOUT as given, checked by checkDBTimeout
	envErrs      []envSetting                      // environment values that did not parse, refused by check
	flags        interface{ Changed(string) bool } // the command's flags, to tell a flag given from a default
}

// defaultDBTimeout is --db-timeout's default: long enough for any query
// of a healthy database under load, short enough that a request on a
// frozen one gets its 503 while the client still waits.
const defaultDBTimeout = 5 * time.Second

func (a *app) env(name, def string) string {
	if v := a.getenv(name); v != "" {
		return v
	}
	return def
}

// envSetting is a GRANTD_ variable whose value did not parse; it stops
// the command unless the flag it is the twin of was given.
type envSetting struct {
	flag string // the flag's name, without dashes
	err  error  // names the variable and says what it wants
}

// envDuration answers the duration in the environment variable name, or
// def when it is unset. A value that is not a duration is recorded on f,
// and stops the command (f.check), naming the variable.
func (a *app) envDuration(f *dbFlags, flag, name string, def time.Duration) time.Duration {
	v := a.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		f.envErrs = append(f.envErrs, envSetting{flag, fmt.Errorf("%s %q: want a duration such as 30m", name, v)})
		return def
	}
	return d
}

// envInt answers the integer in the environment variable name, or def
// when it is unset; anything else is recorded on f and stops the command.
func (a *app) envInt(f *dbFlags, flag, name string, def int) int {
	v := a.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		f.envErrs = append(f.envErrs, envSetting{flag, fmt.Errorf("%s %q: want a whole number such as 10000", name, v)})
		return def
	}
	return n
}

// envBool answers the boolean in the environment variable name: true or
// false (strconv.ParseBool's spellings); unset is false. Anything else is
// recorded on f and stops the command.
func (a *app) envBool(f *dbFlags, flag, name string) bool {
	v := a.getenv(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		f.envErrs = append(f.envErrs, envSetting{flag, fmt.Errorf("%s %q: want true or false", name, v)})
		return false
	}
	return b
}

// envBoolDefault is envBool for a setting whose default is def.
func (a *app) envBoolDefault(f *dbFlags, flag, name string, def bool) bool {
	if a.getenv(name) == "" {
		return def
	}
	return a.envBool(f, flag, name)
}

// check refuses the settings that do not parse: an environment variable
// whose flag was not given (a flag wins over its twin), and the database
// deadline.
func (f *dbFlags) check() error {
	for _, e := range f.envErrs {
		if f.flags == nil || !f.flags.Changed(e.flag) {
			return e.err
		}
	}
	if f.sqliteSync == "" {
		f.sqliteSync = sqlite.SynchronousNormal // dbFlags made without addDBFlags
	}
	if f.sqliteSync != sqlite.SynchronousNormal && f.sqliteSync != sqlite.SynchronousFull {
		return fmt.Errorf("--sqlite-synchronous %q (env GRANTD_SQLITE_SYNCHRONOUS): want normal or full", f.sqliteSync)
	}
	return f.checkDBTimeout()
}

// addDBFlags registers the database flags on cmd.
func (a *app) addDBFlags(cmd *cobra.Command, f *dbFlags) {
	fs := cmd.Flags()
	fs.StringVar(&f.database, "database", a.env("GRANTD_DATABASE", "grantd.db"), "database: sqlite:PATH, a bare path, or postgres://… (env GRANTD_DATABASE)")
	fs.StringVar(&f.addr, "addr", a.env("GRANTD_ADDR", "127.0.0.1:8080"), "address to listen on (env GRANTD_ADDR)")
	fs.StringVar(&f.issuer, "issuer", a.env("GRANTD_ISSUER", ""), "public base URL, no path; default http:// + addr (env GRANTD_ISSUER)")
	fs.StringVar(&f.secretFile, "secret-file", a.env("GRANTD_SECRET_FILE", ""), "master key file that encrypts private keys at rest; default grantd.secret beside a SQLite database, required with PostgreSQL (env GRANTD_SECRET_FILE)")
	fs.StringVar(&f.signingAlg, "signing-alg", a.env("GRANTD_SIGNING_ALG", "ES256"), "algorithm of new signing keys: ES256, RS256 or EdDSA (env GRANTD_SIGNING_ALG)")
	fs.DurationVar(&f.accessTTL, "access-token-ttl", a.envDuration(f, "access-token-ttl", "GRANTD_ACCESS_TOKEN_TTL", 30*time.Minute), "access token lifetime (env GRANTD_ACCESS_TOKEN_TTL)")
	fs.StringVar(&f.logLevel, "log-level", a.env("GRANTD_LOG_LEVEL", "info"), "debug, info, warn or error (env GRANTD_LOG_LEVEL)")
	fs.StringVar(&f.sqliteSync, "sqlite-synchronous", a.env("GRANTD_SQLITE_SYNCHRONOUS", sqlite.SynchronousNormal), "SQLite only: normal keeps every committed write through a crash of the process, full also through a power loss, at an fsync per commit (env GRANTD_SQLITE_SYNCHRONOUS)")
	fs.DurationVar(&f.dbTimeout, "db-timeout", defaultDBTimeout, "deadline of every database call; a request whose database does not answer in time gets a 503 (env GRANTD_DB_TIMEOUT)")
	f.dbTimeoutEnv = a.getenv("GRANTD_DB_TIMEOUT")
	f.flags = fs
}

// checkDBTimeout applies GRANTD_DB_TIMEOUT unless --db-timeout was given,
// and refuses a value that is not a positive duration, naming the setting.
func (f *dbFlags) checkDBTimeout() error {
	if f.dbTimeoutEnv != "" && (f.flags == nil || !f.flags.Changed("db-timeout")) {
		d, err := time.ParseDuration(f.dbTimeoutEnv)
		if err != nil {
			return fmt.Errorf("GRANTD_DB_TIMEOUT %q: want a duration such as 5s", f.dbTimeoutEnv)
		}
		if d <= 0 {
			return fmt.Errorf("GRANTD_DB_TIMEOUT %q: must be more than 0", f.dbTimeoutEnv)
		}
		f.dbTimeout = d
	}
	if f.dbTimeout <= 0 {
		return fmt.Errorf("--db-timeout %s (env GRANTD_DB_TIMEOUT): must be more than 0", f.dbTimeout)
	}
	return nil
}

// defaultRefreshGrace is SPEC §3's default grace window for a refresh
// retry; maxRefreshGrace bounds it, since within the window a stolen
// rotated-out token is worth its successor.
const (
	defaultRefreshGrace = 5 * time.Second
	maxRefreshGrace     = time.Minute
	// defaultDevicePoll is the polling interval a device authorization
	// (RFC 8628) tells its client, RFC 8628 §3.2's default.
	defaultDevicePoll = 5 * time.Second
)

// addServeFlags registers the flags only serve needs.
func (a *app) addServeFlags(cmd *cobra.Command, f *dbFlags) {
	fs := cmd.Flags()
	fs.BoolVar(&f.noMigrate, "no-migrate", a.envBool(f, "no-migrate", "GRANTD_NO_MIGRATE"), "do not apply schema migrations at start (env GRANTD_NO_MIGRATE)")
	fs.StringVar(&f.consentURL, "consent-url", a.env("GRANTD_CONSENT_URL", ""), "external consent page; default the built-in /consent (env GRANTD_CONSENT_URL)")
	var envRes []string
	if v := a.getenv("GRANTD_RESOURCE"); v != "" {
		envRes = strings.Fields(strings.ReplaceAll(v, ",", " "))
	}
	fs.StringArrayVar(&f.resources, "resource", envRes, "an API that tokens may be issued for (RFC 8707), repeatable; the issuer and {issuer}/v2 are always included (env GRANTD_RESOURCE, comma separated)")
	var envCORS []string
	if v := a.getenv("GRANTD_CORS_ORIGINS"); v != "" {
		envCORS = strings.Fields(strings.ReplaceAll(v, ",", " "))
	}
	fs.StringArrayVar(&f.corsOrigins, "cors-origins", envCORS, "an origin (scheme://host[:port]) allowed to call the management API from a browser, without credentials; repeatable (env GRANTD_CORS_ORIGINS, comma separated)")
	fs.IntVar(&f.registrationCap, "registration-cap", a.envInt(f, "registration-cap", "GRANTD_REGISTRATION_CAP", oauth.DefaultRegistrationCap), "how many clients registered without an owner may exist; past it registration is refused (env GRANTD_REGISTRATION_CAP)")
	fs.DurationVar(&f.unusedTTL, "registration-unused-ttl", a.envDuration(f, "registration-unused-ttl", "GRANTD_REGISTRATION_UNUSED_TTL", grantdapp.DefaultUnusedRegistrationTTL), "remove registered clients that have not obtained a token this long after registering (env GRANTD_REGISTRATION_UNUSED_TTL)")
	fs.StringVar(&f.registration, "registration", a.env("GRANTD_REGISTRATION", "open"), "dynamic client registration: open, api_key or disabled (env GRANTD_REGISTRATION)")
	fs.DurationVar(&f.refreshTTL, "refresh-token-ttl", a.envDuration(f, "refresh-token-ttl", "GRANTD_REFRESH_TOKEN_TTL", 30*24*time.Hour), "refresh token lifetime (env GRANTD_REFRESH_TOKEN_TTL)")
	fs.DurationVar(&f.devicePoll, "device-poll-interval", a.envDuration(f, "device-poll-interval", "GRANTD_DEVICE_POLL_INTERVAL", defaultDevicePoll), "the polling interval device authorizations (RFC 8628) tell their clients, whole seconds from 1s to 1m (env GRANTD_DEVICE_POLL_INTERVAL)")
	fs.DurationVar(&f.refreshGrace, "refresh-grace", a.envDuration(f, "refresh-grace", "GRANTD_REFRESH_GRACE", defaultRefreshGrace), "how long after a rotation the same client may retry it with the rotated-out refresh token and get the same answer again, at most 1m; 0 turns the grace off (env GRANTD_REFRESH_GRACE)")
	fs.StringVar(&f.resourcesFile, "resources-file", a.env("GRANTD_RESOURCES_FILE", ""), "JSON resource registry: [{\"id\",\"name\",\"scopes\",\"trailing_slash_equivalent\"}]; merged with --resource (env GRANTD_RESOURCES_FILE)")
	fs.StringVar(&f.scopesFile, "scopes-file", a.env("GRANTD_SCOPES_FILE", ""), "JSON scope catalog: [{\"id\",\"name\",\"description\",\"sensitive\"}]; sensitive scopes (admin always) are never given to clients without an owner (env GRANTD_SCOPES_FILE)")
	fs.BoolVar(&f.clientMetadataLoopback, "client-metadata-allow-loopback", a.envBool(f, "client-metadata-allow-loopback", "GRANTD_CLIENT_METADATA_ALLOW_LOOPBACK"), "for development and tests: accept client ID metadata documents at http(s)://127.0.0.1:PORT/… and localhost (env GRANTD_CLIENT_METADATA_ALLOW_LOOPBACK)")
	fs.StringVar(&f.clientMetadataDomains, "client-metadata-domains", a.env("GRANTD_CLIENT_METADATA_DOMAINS", ""), "hosts whose client ID metadata documents are accepted, comma separated: app.example.com, *.example.com, !denied.example.com; default every public host (env GRANTD_CLIENT_METADATA_DOMAINS)")
	fs.DurationVar(&f.keyReload, "key-reload", a.envDuration(f, "key-reload", "GRANTD_KEY_RELOAD", 30*time.Second), "how often to reload signing keys from the database (env GRANTD_KEY_RELOAD)")
	fs.StringVar(&f.redisURL, "redis", a.env("GRANTD_REDIS", ""), "Redis that holds the rate limits, shared by every node: redis://[user:password@]host:port[/db], rediss://… or unix:///path; default per node, in memory (env GRANTD_REDIS)")
	fs.StringVar(&f.redisPrefix, "redis-prefix", a.env("GRANTD_REDIS_PREFIX", ratelimit.DefaultRedisPrefix), "start of every key the rate limits write in Redis; nodes that share limits share it (env GRANTD_REDIS_PREFIX)")
	fs.DurationVar(&f.redisTimeout, "redis-timeout", a.envDuration(f, "redis-timeout", "GRANTD_REDIS_TIMEOUT", ratelimit.DefaultRedisTimeout), "deadline of each rate-limit call to Redis; past it, or while Redis is down, the node's own limits answer (env GRANTD_REDIS_TIMEOUT)")
	fs.StringVar(&f.managementRateLimit, "management-rate-limit", a.env("GRANTD_MANAGEMENT_RATE_LIMIT", defaultManagementRateLimit), "management API requests per caller (API key, or the client of an admin token): N/DURATION, a burst of N and N more every DURATION (env GRANTD_MANAGEMENT_RATE_LIMIT)")
	fs.BoolVar(&f.metrics, "metrics", a.envBoolDefault(f, "metrics", "GRANTD_METRICS", true), "serve Prometheus metrics at /metrics, on the main listener or on --metrics-addr; false serves none (env GRANTD_METRICS)")
	fs.StringVar(&f.metricsAddr, "metrics-addr", a.env("GRANTD_METRICS_ADDR", ""), "serve /metrics on this address of its own (such as 127.0.0.1:9090) instead of on the main listener (env GRANTD_METRICS_ADDR)")
	fs.DurationVar(&f.gcEvery, "gc-every", a.envDuration(f, "gc-every", "GRANTD_GC_EVERY", grantdapp.DefaultGCEvery), "how often the leader of the background jobs removes expired rows and unused registrations (env GRANTD_GC_EVERY)")
	fs.DurationVar(&f.keyRotationPeriod, "key-rotation-period", a.envDuration(f, "key-rotation-period", "GRANTD_KEY_ROTATION_PERIOD", 0), "rotate the signing key once the newest has signed this long, e.g. 720h; 0 (the default) never rotates on schedule (env GRANTD_KEY_ROTATION_PERIOD)")
	fs.DurationVar(&f.keyActivationDelay, "key-activation-delay", a.envDuration(f, "key-activation-delay", "GRANTD_KEY_ACTIVATION_DELAY", grantdapp.DefaultKeyActivationDelay), "how long a key rotated on schedule is published before it signs; must be longer than --key-reload (env GRANTD_KEY_ACTIVATION_DELAY)")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", a.envDuration(f, "shutdown-timeout", "GRANTD_SHUTDOWN_TIMEOUT", 30*time.Second), "how long in-flight requests may take to finish at shutdown (env GRANTD_SHUTDOWN_TIMEOUT)")
}

// checkServe refuses serve's settings that parse but cannot be meant: a
// lifetime or an interval that is not positive would otherwise quietly
// become its default.
func (f *dbFlags) checkServe() error {
	if err := f.check(); err != nil {
		return err
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"access-token-ttl", f.accessTTL},
		{"refresh-token-ttl", f.refreshTTL},
		{"key-reload", f.keyReload},
		{"registration-unused-ttl", f.unusedTTL},
		{"gc-every", f.gcEvery},
		{"key-activation-delay", f.keyActivationDelay},
	} {
		if d.v <= 0 {
			return fmt.Errorf("--%s %s: must be more than 0 (env GRANTD_%s)", d.flag, d.v, strings.ToUpper(strings.ReplaceAll(d.flag, "-", "_")))
		}
	}
	if err := grantdapp.CheckKeyRotation(f.keyRotationPeriod, f.keyActivationDelay, f.keyReload); err != nil {
		return err
	}
	if f.registrationCap < 1 {
		return fmt.Errorf("--registration-cap %d: must be 1 or more (env GRANTD_REGISTRATION_CAP)", f.registrationCap)
	}
	if f.shutdownTimeout < 0 {
		return fmt.Errorf("--shutdown-timeout %s: must not be negative (env GRANTD_SHUTDOWN_TIMEOUT)", f.shutdownTimeout)
	}
	if f.redisURL != "" {
		if err := ratelimit.ParseRedisURL(f.redisURL); err != nil {
			return fmt.Errorf("--redis %q (env GRANTD_REDIS): %v", redactDSN(f.redisURL), err)
		}
	}
	if f.redisPrefix == "" {
		return errors.New("--redis-prefix (env GRANTD_REDIS_PREFIX): must not be empty")
	}
	if f.redisTimeout <= 0 {
		return fmt.Errorf("--redis-timeout %s: must be more than 0 (env GRANTD_REDIS_TIMEOUT)", f.redisTimeout)
	}
	r, err := parseRateLimit(f.managementRateLimit)
	if err != nil {
		return fmt.Errorf("--management-rate-limit %q (env GRANTD_MANAGEMENT_RATE_LIMIT): %v", f.managementRateLimit, err)
	}
	f.managementRate = r
	if f.metricsAddr != "" {
		if !f.metrics {
			return fmt.Errorf("--metrics-addr %q (env GRANTD_METRICS_ADDR): metrics are off (--metrics=false); set one or the other", f.metricsAddr)
		}
		if _, _, err := net.SplitHostPort(f.metricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr %q (env GRANTD_METRICS_ADDR): want host:port such as 127.0.0.1:9090", f.metricsAddr)
		}
	}
	d, err := cimd.ParseDomains(f.clientMetadataDomains)
	if err != nil {
		return fmt.Errorf("--client-metadata-domains (env GRANTD_CLIENT_METADATA_DOMAINS): %v", err)
	}
	f.clientMetadataPolicy = d
	return nil
}

// defaultManagementRateLimit is ratelimit.Management's rate, as
// --management-rate-limit spells it.
const defaultManagementRateLimit = "600/1m"

// parseRateLimit reads N/DURATION: a burst of N, and N attempts back
// every DURATION (one every DURATION/N).
func parseRateLimit(s string) (ratelimit.Rate, error) {
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return ratelimit.Rate{}, errors.New("want N/DURATION such as 600/1m")
	}
	burst, err := strconv.Atoi(n)
	if err != nil || burst < 1 {
		return ratelimit.Rate{}, errors.New("the count before / must be a whole number, 1 or more")
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return ratelimit.Rate{}, errors.New("the period after / must be a positive duration such as 1m")
	}
	every := d / time.Duration(burst)
	if every < time.Microsecond {
		return ratelimit.Rate{}, errors.New("more than one a microsecond")
	}
	return ratelimit.Rate{Burst: burst, Every: every}, nil
}

// sqlitePath answers the file of a SQLite database setting, or "" when the
// setting names another kind of database.
func sqlitePath(database string) string {
	switch {
	case strings.HasPrefix(database, "postgres://"), strings.HasPrefix(database, "postgresql://"):
		return ""
	case strings.HasPrefix(database, "sqlite:"):
		return strings.TrimPrefix(strings.TrimPrefix(database, "sqlite:"), "//")
	default:
		return database
	}
}

// migratingStore is what both stores offer beyond grantd.Store.
type migratingStore interface {
	grantd.Store
	Migrate(ctx context.Context) error
	MigrationsPending(ctx context.Context) (bool, error)
}

// openStore opens the configured database and applies migrations unless
// told not to. It answers the SQLite file, or "" for PostgreSQL. Every
// call of the store it answers has a deadline (--db-timeout), and so does
// connecting; migrating has none, since a long migration must be allowed
// to finish (a signal stops it).
func (f *dbFlags) openStore(ctx context.Context, migrate bool) (grantd.Store, string, error) {
	if err := f.check(); err != nil {
		return nil, "", err
	}
	st, path, err := f.openMigrated(ctx, migrate)
	if err != nil {
		return nil, "", err
	}
	return deadline.New(st, f.dbTimeout), path, nil
}

// openCachedStore is openStore for serve: the store is wrapped in the
// cache of clients, grants and revoked jtis (internal/store/cache), which
// reads the change feed of the database under the deadline store, with
// deadlines of its own. events, when set, is told of the cache's events
// (the metrics' grantd_cache_events_total).
func (f *dbFlags) openCachedStore(ctx context.Context, migrate bool, events func(cache, event string)) (grantd.Store, *cache.Store, string, error) {
	if err := f.check(); err != nil {
		return nil, nil, "", err
	}
	raw, path, err := f.openMigrated(ctx, migrate)
	if err != nil {
		return nil, nil, "", err
	}
	st := deadline.New(raw, f.dbTimeout)
	feed, ok := raw.(cache.Feed)
	if !ok {
		return st, nil, path, nil
	}
	c := cache.New(st, feed, cache.Config{Events: events})
	return c, c, path, nil
}

// openCtx bounds connecting to the database by --db-timeout.
func (f *dbFlags) openCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, f.dbTimeout)
}

// connectErr names the deadline when connecting ran out of time.
func (f *dbFlags) connectErr(ctx context.Context, name string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("open database %s: no answer within --db-timeout %s: %w", name, f.dbTimeout, err)
	}
	return fmt.Errorf("open database %s: %w", name, err)
}

// openReadOnly opens the configured database for a command that only
// reads: it creates no file, applies no migration (a schema with some
// pending is refused, as serve --no-migrate does) and has a deadline on
// every call.
func (f *dbFlags) openReadOnly(ctx context.Context) (grantd.Store, string, error) {
	if err := f.check(); err != nil {
		return nil, "", err
	}
	if path := sqlitePath(f.database); path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, "", fmt.Errorf("database %s: %w; create it with `grantd migrate`", path, err)
		}
	}
	st, path, err := f.openMigrated(ctx, false)
	if err != nil {
		return nil, "", err
	}
	return deadline.New(st, f.dbTimeout), path, nil
}

func (f *dbFlags) openMigrated(ctx context.Context, migrate bool) (migratingStore, string, error) {
	st, path, err := f.openMigratedStore(ctx, migrate)
	if err != nil {
		return nil, "", err
	}
	if cs, ok := st.(interface{ ConnStats() (int, int, int) }); ok {
		f.connStats = cs.ConnStats
	}
	return st, path, nil
}

func (f *dbFlags) openMigratedStore(ctx context.Context, migrate bool) (migratingStore, string, error) {
	path := sqlitePath(f.database)
	if path == "" {
		name := redactDSN(f.database)
		octx, cancel := f.openCtx(ctx)
		st, err := postgres.Open(octx, f.database)
		if err != nil {
			err = f.connectErr(octx, name, err)
			cancel()
			return nil, "", err
		}
		cancel()
		if err := prepareSchema(ctx, st, name, migrate); err != nil {
			st.Close()
			return nil, "", err
		}
		return st, "", nil
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, "", fmt.Errorf("database directory: %w", err)
		}
	}
	// The database holds password hashes and sealed keys: create it
	// readable by its owner only (SQLite gives -wal and -shm the same mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	}
	octx, cancel := f.openCtx(ctx)
	st, err := sqlite.OpenWith(octx, path, sqlite.Options{Synchronous: f.sqliteSync})
	if err != nil {
		err = f.connectErr(octx, path, err)
		cancel()
		return nil, "", err
	}
	cancel()
	if err := prepareSchema(ctx, st, path, migrate); err != nil {
		st.Close()
		return nil, "", err
	}
	return st, path, nil
}

// prepareSchema migrates the database named name, or, when told not to,
// checks that nothing is pending.
func prepareSchema(ctx context.Context, st migratingStore, name string, migrate bool) error {
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate database %s: %w", name, err)
		}
		return nil
	}
	// An old schema would fail later, on some request; refuse now.
	pending, err := st.MigrationsPending(ctx)
	if err != nil {
		return fmt.Errorf("database %s: %w", name, err)
	}
	if pending {
		return fmt.Errorf("database %s has migrations that are not applied: run `grantd migrate` first, or start without --no-migrate", name)
	}
	return nil
}

// redactDSN hides a password in a connection string, for messages: the
// user information of a URL, and a password=… parameter.
func redactDSN(dsn string) string {
	query := ""
	if q := strings.IndexByte(dsn, '?'); q >= 0 {
		dsn, query = dsn[:q], dsn[q:]
		params := strings.Split(query[1:], "&")
		for i, p := range params {
			if k, _, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, "password") {
				params[i] = k + "=…"
			}
		}
		query = "?" + strings.Join(params, "&")
	}
	// The last @ before the query ends the user information, even when an
	// unescaped @ appears in the password.
	if i := strings.LastIndex(dsn, "@"); i > 0 {
		if j := strings.Index(dsn, "://"); j > 0 && j < i {
			dsn = dsn[:j+3] + "…@" + dsn[i+1:]
		}
	}
	return dsn + query
}

// checkSecretFile fails before the database is touched when PostgreSQL is
// configured without a readable master key, so that a missing flag does
// not first migrate a shared database and then stop.
func (f *dbFlags) checkSecretFile() error {
	if sqlitePath(f.database) != "" {
		return nil
	}
	_, _, err := f.masterKey("", false)
	return err
}

// masterKey loads the master key; beside a SQLite database it is created
// on first start.
func (f *dbFlags) masterKey(sqliteFile string, create bool) ([]byte, string, error) {
	path := f.secretFile
	if path == "" {
		if sqliteFile == "" {
			return nil, "", fmt.Errorf("--secret-file (GRANTD_SECRET_FILE) is required with PostgreSQL so that every node shares one master key; make one with `openssl rand -base64 32 > grantd.secret` (mode 0600) and give every node the same file")
		}
		path = filepath.Join(filepath.Dir(sqliteFile), "grantd.secret")
	}
	if sqliteFile == "" {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("master key %s does not exist: with PostgreSQL grantd never creates it, since every node must share one; make it with `openssl rand -base64 32 > %s` (mode 0600)", path, path)
		}
	}
	k, err := token.LoadOrCreateMasterKey(path, create)
	if err != nil {
		return nil, "", fmt.Errorf("master key %s: %w", path, err)
	}
	return k, path, nil
}

// keyring builds the signing key ring on the store.
func (f *dbFlags) keyring(st grantd.Store, master []byte) (*token.Keyring, error) {
	alg := f.signingAlg
	switch alg {
	case "ES256", "RS256", "EdDSA":
	default:
		return nil, fmt.Errorf("--signing-alg %q (env GRANTD_SIGNING_ALG): use ES256, RS256 or EdDSA", alg)
	}
	return token.NewKeyring(token.KeyringConfig{
		Store:        st,
		MasterKey:    master,
		Algorithm:    alg,
		Now:          time.Now,
		MaxAccessTTL: f.accessTTL,
	})
}

// scopeEntry is one entry of the scopes file. Sensitive is a pointer so
// that an admin entry saying "sensitive": false can be refused rather
// than quietly overruled.
type scopeEntry struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Sensitive   *bool  `json:"sensitive"`
}

// loadCatalog reads the scope catalog file, or answers the default one.
// Unknown members are refused: a misspelt "sensitive" would otherwise
// hand the scope to every client registered without an owner.
func loadCatalog(path string) (*grantd.Catalog, error) {
	if path == "" {
		return grantd.NewCatalog(grantd.DefaultScopes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--scopes-file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var entries []scopeEntry
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("--scopes-file %s: want a JSON array of {\"id\", \"name\", \"description\", \"sensitive\"}: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("--scopes-file %s: unexpected data after the JSON array", path)
	}
	scopes := make([]grantd.Scope, len(entries))
	for i, e := range entries {
		if e.ID == grantd.ScopeAdmin && e.Sensitive != nil && !*e.Sensitive {
			return nil, fmt.Errorf("--scopes-file %s: admin is always sensitive; remove \"sensitive\": false from its entry", path)
		}
		scopes[i] = grantd.Scope{ID: e.ID, Name: e.Name, Description: e.Description, Sensitive: e.Sensitive != nil && *e.Sensitive}
	}
	c, err := grantd.NewCatalog(scopes)
	if err != nil {
		return nil, fmt.Errorf("--scopes-file %s: %w", path, err)
	}
	return c, nil
}

func newLogger(w interface{ Write([]byte) (int, error) }, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q (env GRANTD_LOG_LEVEL): use debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}
