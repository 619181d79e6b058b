package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/store/sqlite"
	"github.com/grantd/grantd/internal/token"
)

// A bad value in a GRANTD_ variable stops the command with a message
// naming the variable, before the database is touched; it used to be
// ignored, and the default used.
func TestBadEnvironmentValuesStopTheCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, env, value string
		args             []string
		want             string
	}{
		{"no-migrate yes", "GRANTD_NO_MIGRATE", "yes", []string{"serve"}, `GRANTD_NO_MIGRATE "yes"`},
		{"TTL without a unit", "GRANTD_ACCESS_TOKEN_TTL", "30", []string{"serve"}, `GRANTD_ACCESS_TOKEN_TTL "30"`},
		{"TTL on migrate", "GRANTD_ACCESS_TOKEN_TTL", "half an hour", []string{"migrate"}, "GRANTD_ACCESS_TOKEN_TTL"},
		{"refresh TTL", "GRANTD_REFRESH_TOKEN_TTL", "1month", []string{"serve"}, "GRANTD_REFRESH_TOKEN_TTL"},
		{"refresh grace", "GRANTD_REFRESH_GRACE", "abc", []string{"serve"}, "GRANTD_REFRESH_GRACE"},
		{"key reload", "GRANTD_KEY_RELOAD", "often", []string{"serve"}, "GRANTD_KEY_RELOAD"},
		{"key reload negative", "GRANTD_KEY_RELOAD", "-1s", []string{"serve"}, "GRANTD_KEY_RELOAD"},
		{"access TTL zero", "GRANTD_ACCESS_TOKEN_TTL", "0s", []string{"serve"}, "GRANTD_ACCESS_TOKEN_TTL"},
		{"shutdown timeout", "GRANTD_SHUTDOWN_TIMEOUT", "soon", []string{"serve"}, "GRANTD_SHUTDOWN_TIMEOUT"},
		{"client metadata loopback", "GRANTD_CLIENT_METADATA_ALLOW_LOOPBACK", "sometimes", []string{"serve"}, "GRANTD_CLIENT_METADATA_ALLOW_LOOPBACK"},
		{"client metadata domains", "GRANTD_CLIENT_METADATA_DOMAINS", "exa mple.com", []string{"serve"}, "GRANTD_CLIENT_METADATA_DOMAINS"},
		{"redis timeout", "GRANTD_REDIS_TIMEOUT", "fast", []string{"serve"}, "GRANTD_REDIS_TIMEOUT"},
		{"redis timeout zero", "GRANTD_REDIS_TIMEOUT", "0s", []string{"serve"}, "GRANTD_REDIS_TIMEOUT"},
		{"redis URL", "GRANTD_REDIS", "http://127.0.0.1:6379", []string{"serve"}, "GRANTD_REDIS"},
		{"redis URL with a bad option", "GRANTD_REDIS", "redis://127.0.0.1:6379?colour=blue", []string{"serve"}, "GRANTD_REDIS"},
		{"management rate limit without a period", "GRANTD_MANAGEMENT_RATE_LIMIT", "600", []string{"serve"}, "GRANTD_MANAGEMENT_RATE_LIMIT"},
		{"management rate limit of zero", "GRANTD_MANAGEMENT_RATE_LIMIT", "0/1m", []string{"serve"}, "GRANTD_MANAGEMENT_RATE_LIMIT"},
		{"management rate limit per nothing", "GRANTD_MANAGEMENT_RATE_LIMIT", "600/0s", []string{"serve"}, "GRANTD_MANAGEMENT_RATE_LIMIT"},
		{"metrics maybe", "GRANTD_METRICS", "maybe", []string{"serve"}, `GRANTD_METRICS "maybe"`},
		{"metrics addr without a port", "GRANTD_METRICS_ADDR", "localhost", []string{"serve"}, "GRANTD_METRICS_ADDR"},
		{"gc every", "GRANTD_GC_EVERY", "hourly", []string{"serve"}, "GRANTD_GC_EVERY"},
		{"gc every zero", "GRANTD_GC_EVERY", "0s", []string{"serve"}, "GRANTD_GC_EVERY"},
		{"key rotation period", "GRANTD_KEY_ROTATION_PERIOD", "monthly", []string{"serve"}, "GRANTD_KEY_ROTATION_PERIOD"},
		{"key rotation period negative", "GRANTD_KEY_ROTATION_PERIOD", "-24h", []string{"serve"}, "GRANTD_KEY_ROTATION_PERIOD"},
		{"key activation delay", "GRANTD_KEY_ACTIVATION_DELAY", "later", []string{"serve"}, "GRANTD_KEY_ACTIVATION_DELAY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "g.db")
			var out, errb bytes.Buffer
			args := append([]string{"grantd"}, tt.args...)
			args = append(args, "--addr", "127.0.0.1:0", "--database", db)
			if tt.args[0] != "serve" {
				args = args[:len(args)-4]
				args = append(args, "--database", db)
			}
			code := Run(context.Background(), args, env(map[string]string{tt.env: tt.value}), strings.NewReader(""), &out, &errb)
			if code == 0 || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("%s=%s: exit %d, stderr %q; want a refusal naming %s", tt.env, tt.value, code, errb.String(), tt.want)
			}
			if _, err := os.Stat(db); err == nil {
				t.Error("the database was created before the bad setting was refused")
			}
		})
	}
}

// A rotation schedule whose new keys could sign before every node has
// loaded them is refused before the database is touched, naming the
// settings.
func TestServeRefusesAnActivationDelayWithinTheReload(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--key-rotation-period", "24h", "--key-activation-delay", "30s"}, nil, "must be longer than --key-reload 30s"},
		{[]string{"--key-reload", "1m"}, map[string]string{"GRANTD_KEY_ROTATION_PERIOD": "24h", "GRANTD_KEY_ACTIVATION_DELAY": "45s"}, "--key-activation-delay 45s"},
		{[]string{"--key-rotation-period", "5m"}, nil, "--key-rotation-period 5m0s (env GRANTD_KEY_ROTATION_PERIOD) must be longer than --key-activation-delay 10m0s"},
	} {
		db := filepath.Join(t.TempDir(), "g.db")
		var out, errb bytes.Buffer
		args := append([]string{"grantd", "serve", "--addr", "127.0.0.1:0", "--database", db}, tt.args...)
		if code := Run(context.Background(), args, env(tt.env), strings.NewReader(""), &out, &errb); code == 0 || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("serve %v %v: exit %d, stderr %q; want a refusal containing %q", tt.args, tt.env, code, errb.String(), tt.want)
		}
		if _, err := os.Stat(db); err == nil {
			t.Errorf("serve %v: the database was created before the schedule was refused", tt.args)
		}
	}
}

// A flag given on the command line wins over its environment twin, even
// a twin that does not parse.
func TestFlagWinsOverABadEnvironmentValue(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "g.db")
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"grantd", "migrate", "--database", db, "--access-token-ttl", "10m"},
		env(map[string]string{"GRANTD_ACCESS_TOKEN_TTL": "bogus", "GRANTD_NO_MIGRATE": "true"}), strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("migrate with --access-token-ttl over a bad GRANTD_ACCESS_TOKEN_TTL: exit %d, stderr %q", code, errb.String())
	}
}

// Read-only commands change nothing: keys list neither creates a
// database, a master key nor a signing key, and does not migrate.
func TestKeysListChangesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "g.db")
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"grantd"}, args...), env(map[string]string{"GRANTD_DATABASE": db}), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, stderr := run("keys", "list"); code == 0 || !strings.Contains(stderr, "grantd migrate") {
		t.Fatalf("keys list without a database: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(db); err == nil {
		t.Fatal("keys list created the database")
	}

	// A database with its schema one migration short: keys list refuses
	// it rather than migrating it.
	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if code, _, stderr := run("keys", "list"); code == 0 || !strings.Contains(stderr, "grantd migrate") {
		t.Fatalf("keys list on an unmigrated database: exit %d, stderr %q", code, stderr)
	}
	st, err = sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := st.MigrationsPending(t.Context())
	st.Close()
	if err != nil || !pending {
		t.Fatalf("after keys list: migrations pending = %v, %v; want the schema untouched", pending, err)
	}

	if code, _, stderr := run("migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, stderr)
	}
	if code, out, stderr := run("keys", "list"); code != 0 || strings.Contains(out, "ES256") {
		t.Fatalf("keys list: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "grantd.secret")); err == nil {
		t.Error("keys list created the master key")
	}
	st, err = sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if keys, err := st.ListSigningKeys(t.Context()); err != nil || len(keys) != 0 {
		t.Errorf("after keys list: %d signing keys (%v); want none created", len(keys), err)
	}
}

// firstKey makes the signing key a server's first start makes (keys list
// makes none), with the master key at secret, created when missing.
func firstKey(t *testing.T, database, secret string) {
	t.Helper()
	var f dbFlags
	f.database, f.dbTimeout = database, defaultDBTimeout
	st, _, err := f.openStore(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	master, err := token.LoadOrCreateMasterKey(secret, true)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := token.NewKeyring(token.KeyringConfig{Store: st, MasterKey: master, MaxAccessTTL: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// A bad value from the environment that parses but cannot be meant is
// refused with a message naming the variable too, not only its flag.
func TestCheckedSettingsNameTheirVariable(t *testing.T) {
	t.Parallel()
	for name, value := range map[string]string{
		"GRANTD_REGISTRATION":            "opne",
		"GRANTD_REFRESH_GRACE":           "2m",
		"GRANTD_ISSUER":                  "https://auth.example.com/path",
		"GRANTD_LOG_LEVEL":               "loud",
		"GRANTD_CORS_ORIGINS":            "https://app.example.com/,https://ok.example.com",
		"GRANTD_REGISTRATION_CAP":        "0",
		"GRANTD_REGISTRATION_UNUSED_TTL": "0s",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Run(context.Background(), []string{"grantd", "serve", "--addr", "127.0.0.1:0", "--database", filepath.Join(t.TempDir(), "g.db")},
				env(map[string]string{name: value}), strings.NewReader(""), &out, &errb)
			if code == 0 || !strings.Contains(errb.String(), name) {
				t.Fatalf("%s=%s: exit %d, stderr %q", name, value, code, errb.String())
			}
		})
	}
}

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]ratelimit.Rate{
		"600/1m": {Burst: 600, Every: 100 * time.Millisecond},
		"3/1h":   {Burst: 3, Every: 20 * time.Minute},
		"1/10s":  {Burst: 1, Every: 10 * time.Second},
	} {
		if got, err := parseRateLimit(in); err != nil || got != want {
			t.Errorf("parseRateLimit(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "600", "600/", "/1m", "-1/1m", "1.5/1m", "10/1", "10/-1m", "2000000/1s", "600/1m/2"} {
		if got, err := parseRateLimit(in); err == nil {
			t.Errorf("parseRateLimit(%q) = %+v; want a refusal", in, got)
		}
	}
	if defaultManagementRateLimit != "600/1m" || ratelimit.Management.Rate != (ratelimit.Rate{Burst: 600, Every: 100 * time.Millisecond}) {
		t.Error("the flag's default and ratelimit.Management disagree; docs/CONFIGURATION.md names both")
	}
}
