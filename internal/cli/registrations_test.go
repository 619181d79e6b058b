package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/postgres"
	"github.com/grantd/grantd/internal/store/postgres/pgtest"
	"github.com/grantd/grantd/internal/store/sqlite"
)

// grantd registrations list shows the registered clients and changes
// nothing; prune removes those unused past --unused-for and keeps one
// that obtained a token, a younger one and an API client; on SQLite and
// PostgreSQL.
func TestRegistrationsCommands(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(t *testing.T) (string, func(context.Context) (grantd.Store, error)){
		"sqlite": func(t *testing.T) (string, func(context.Context) (grantd.Store, error)) {
			path := filepath.Join(t.TempDir(), "grantd.db")
			return path, func(ctx context.Context) (grantd.Store, error) { return sqlite.Open(ctx, path) }
		},
		"postgres": func(t *testing.T) (string, func(context.Context) (grantd.Store, error)) {
			dsn := pgtest.Schema(t)
			return dsn, func(ctx context.Context) (grantd.Store, error) { return postgres.Open(ctx, dsn) }
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, openStore := open(t)
			run := func(args ...string) (int, string, string) {
				var out, errb bytes.Buffer
				code := Run(context.Background(), append([]string{"grantd"}, args...), env(map[string]string{"GRANTD_DATABASE": db}), strings.NewReader(""), &out, &errb)
				return code, out.String(), errb.String()
			}
			if code, _, stderr := run("migrate"); code != 0 {
				t.Fatalf("migrate: %d %s", code, stderr)
			}
			st, err := openStore(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			now := time.Now().UTC().Truncate(time.Second)
			mk := func(id string, origin grantd.ClientOrigin, age time.Duration, used bool) {
				c := grantd.Client{ID: id, Name: "App " + id, Type: grantd.ClientPublic, TokenEndpointAuthMethod: grantd.AuthMethodNone,
					Registered: origin == grantd.OriginRegistration, Origin: origin, ObtainedToken: used,
					CreatedAt: now.Add(-age), UpdatedAt: now.Add(-age)}
				if err := st.CreateClient(t.Context(), c); err != nil {
					t.Fatal(err)
				}
			}
			mk("old-unused", grantd.OriginRegistration, 48*time.Hour, false)
			mk("old-used", grantd.OriginRegistration, 48*time.Hour, true)
			mk("young", grantd.OriginRegistration, time.Hour, false)
			mk("api", grantd.OriginAPI, 48*time.Hour, false)

			code, out, stderr := run("registrations", "list")
			if code != 0 {
				t.Fatalf("list: %d %s", code, stderr)
			}
			for _, want := range []string{"old-unused", "old-used", "young", "OBTAINED A TOKEN"} {
				if !strings.Contains(out, want) {
					t.Errorf("list lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "App api") {
				t.Errorf("list shows an API client:\n%s", out)
			}
			if _, err := st.GetClient(t.Context(), "old-unused"); err != nil {
				t.Fatalf("list removed a client: %v", err)
			}

			if code, _, stderr := run("registrations", "prune", "--unused-for", "0s"); code == 0 || !strings.Contains(stderr, "--unused-for") {
				t.Errorf("prune --unused-for 0s: %d %q", code, stderr)
			}
			code, out, stderr = run("registrations", "prune", "--unused-for", "24h")
			if code != 0 || !strings.Contains(out, "removed old-unused") || !strings.Contains(out, "removed 1 ") {
				t.Fatalf("prune: %d %q %q", code, out, stderr)
			}
			if _, err := st.GetClient(t.Context(), "old-unused"); err == nil {
				t.Error("prune kept old-unused")
			}
			for _, id := range []string{"old-used", "young", "api"} {
				if _, err := st.GetClient(t.Context(), id); err != nil {
					t.Errorf("prune removed %s: %v", id, err)
				}
			}
		})
	}
}
