package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/grantd/grantd/internal/store/postgres"
	"github.com/grantd/grantd/internal/store/postgres/pgtest"
)

// The PostgreSQL tests run against GRANTD_TEST_POSTGRES_DSN, each in a
// fresh schema, and skip without it unless GRANTD_TEST_REQUIRE_POSTGRES=1
// (see pgtest).

// writeSecret writes a master key file as an operator would
// (`openssl rand -base64 32`).
func writeSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	path := filepath.Join(t.TempDir(), "grantd.secret")
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(b)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// schemaPending reports whether the schema behind dsn still lacks
// grantd's tables.
func schemaPending(t *testing.T, dsn string) bool {
	t.Helper()
	st, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pending, err := st.MigrationsPending(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return pending
}

func TestPostgresMigrateAPIKeyAndKeys(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	secret := writeSecret(t)
	run := func(environ map[string]string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"grantd"}, args...), env(environ), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	withDB := map[string]string{"GRANTD_DATABASE": dsn}

	// Without the master key, key commands stop before touching the
	// database, and say what to do.
	code, _, stderr := run(withDB, "keys", "list")
	if code == 0 || !strings.Contains(stderr, "--secret-file") || !strings.Contains(stderr, "PostgreSQL") {
		t.Fatalf("keys list without --secret-file: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = run(withDB, "keys", "list", "--secret-file", filepath.Join(t.TempDir(), "missing"))
	if code == 0 || !strings.Contains(stderr, "does not exist") || !strings.Contains(stderr, "openssl rand") {
		t.Fatalf("keys list with a missing secret file: exit %d, stderr %q", code, stderr)
	}
	if !schemaPending(t, dsn) {
		t.Fatal("a refused keys command migrated the database")
	}

	for range 2 {
		if code, _, stderr := run(withDB, "migrate"); code != 0 {
			t.Fatalf("migrate: %d %s", code, stderr)
		}
	}
	if schemaPending(t, dsn) {
		t.Fatal("migrations still pending after grantd migrate")
	}

	code, out, stderr := run(nil, "apikey", "create", "--email", "Dev@Example.com", "--name", "ci", "--database", dsn)
	if code != 0 || !regexp.MustCompile(`^grantd_key_[A-Za-z0-9_-]{43}\n$`).MatchString(out) {
		t.Fatalf("apikey create: exit %d, stdout %q (want only the key), stderr %q", code, out, stderr)
	}
	// A second key for the same user reuses it.
	if code, _, stderr := run(withDB, "apikey", "create", "--email", "dev@example.com"); code != 0 {
		t.Fatalf("second apikey create: %d %s", code, stderr)
	}

	withKey := map[string]string{"GRANTD_DATABASE": dsn, "GRANTD_SECRET_FILE": secret}
	// keys list creates no key: the first comes from serve or rotate.
	if code, out, stderr := run(withKey, "keys", "list"); code != 0 || strings.Contains(out, "ES256") {
		t.Fatalf("keys list before any key: %d %q %s", code, out, stderr)
	}
	firstKey(t, dsn, secret)
	code, out, stderr = run(withKey, "keys", "list")
	if code != 0 || strings.Count(out, "ES256") != 1 || !strings.Contains(out, "active") {
		t.Fatalf("keys list: %d %q %s", code, out, stderr)
	}
	if code, out, stderr := run(withKey, "keys", "rotate"); code != 0 || !strings.Contains(out, "new key") {
		t.Fatalf("keys rotate: %d %q %s", code, out, stderr)
	}
	// Another master key cannot open the keys sealed with the first.
	if code, _, _ := run(map[string]string{"GRANTD_DATABASE": dsn, "GRANTD_SECRET_FILE": writeSecret(t)}, "keys", "list"); code == 0 {
		t.Fatal("keys list with another master key succeeded")
	}
}

func TestPostgresServe(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	secret := writeSecret(t)
	dir := t.TempDir()

	// serve without the master key refuses before migrating.
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"grantd", "serve", "--addr", "127.0.0.1:0", "--database", dsn}, env(nil), strings.NewReader(""), &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "--secret-file") {
		t.Fatalf("serve on PostgreSQL without --secret-file: exit %d, stderr %q", code, errb.String())
	}
	if !schemaPending(t, dsn) {
		t.Fatal("a refused serve migrated the database")
	}

	base, stdout, stop := runServe(t, dir, "--database", dsn, "--secret-file", secret)

	// The bootstrap key is printed once; with no database directory there
	// is no key file.
	m := regexp.MustCompile(`(?m)^(grantd_key_\S+)$`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no bootstrap key on stdout:\n%s", stdout.String())
	}
	key := m[1]
	if strings.Contains(stdout.String(), "saved to") {
		t.Fatalf("bootstrap claims a key file with PostgreSQL:\n%s", stdout.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("serve on PostgreSQL wrote files into %s: %v", dir, entries)
	}

	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("readyz = %d, want 200", resp.StatusCode)
	}

	body := `{"name": "My OAuth client", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`
	req, _ := http.NewRequest("POST", base+"/v2/oauth_clients", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data := decode(t, resp, 201)["data"].(map[string]any)
	if data["record_type"] != "oauth_client" || data["name"] != "My OAuth client" || data["client_secret"] == nil {
		t.Fatalf("created client = %v", data)
	}

	// A key made by the CLI beside the running server works at once, and
	// sees only its own (no) clients; the bootstrap key sees its one.
	out.Reset()
	errb.Reset()
	if code := Run(context.Background(), []string{"grantd", "apikey", "create", "--email", "second@example.com", "--database", dsn}, env(nil), strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("apikey create beside the server: %d %s", code, errb.String())
	}
	list := func(key string) []any {
		req, _ := http.NewRequest("GET", base+"/v2/oauth_clients", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return decode(t, resp, 200)["data"].([]any)
	}
	if items := list(key); len(items) != 1 || items[0].(map[string]any)["client_id"] != data["client_id"] || items[0].(map[string]any)["client_secret"] != nil {
		t.Fatalf("list with the bootstrap key = %v", items)
	}
	if items := list(strings.TrimSpace(out.String())); len(items) != 0 {
		t.Fatalf("list with another user's key = %v, want none", items)
	}

	if code := stop(); code != 0 {
		t.Fatalf("serve exit code = %d, want 0", code)
	}

	// A second start on the same database prints no new bootstrap key,
	// and --no-migrate accepts the migrated schema.
	_, stdout2, stop2 := runServe(t, dir, "--database", dsn, "--secret-file", secret, "--no-migrate")
	if strings.Contains(stdout2.String(), "Bootstrap") {
		t.Fatalf("second start printed a bootstrap key again:\n%s", stdout2.String())
	}
	stop2()
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:pw@db.example.com:5432/grantd?sslmode=require", "postgres://…@db.example.com:5432/grantd?sslmode=require"},
		{"postgresql://u:p@ss@db/grantd", "postgresql://…@db/grantd"},
		{"postgres://db/grantd?user=u&password=pw&sslmode=disable", "postgres://db/grantd?user=u&password=…&sslmode=disable"},
		{"postgres://db/grantd", "postgres://db/grantd"},
		{"sqlite:/var/lib/grantd/grantd.db", "sqlite:/var/lib/grantd/grantd.db"},
	} {
		if got := redactDSN(tc.in); got != tc.want {
			t.Errorf("redactDSN(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
