package seed_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd/internal/seed"
	"github.com/grantd/grantd/internal/store/postgres"
	"github.com/grantd/grantd/internal/store/postgres/pgtest"
)

// TestHotQueriesUseIndexesPostgres is TestHotQueriesUseIndexes on
// PostgreSQL: with sequential scans priced out (enable_seqscan = off),
// every query of the two paths must find an index that answers it in
// order (no Seq Scan, no Sort).
func TestHotQueriesUseIndexesPostgres(t *testing.T) {
	dsn := pgtest.Schema(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Run(ctx, st, seed.Options{Clients: 200, Grants: 200}); err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, dsn)
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	plan := func(q string) string {
		t.Helper()
		q = strings.Replace(q, "?", "'x'", 1)
		q = strings.Replace(q, "?", "'y'", 1)
		q = strings.ReplaceAll(q, "id ASC", `id COLLATE "C" ASC`) // the dialect's ByteOrder
		rows, err := conn.Query(ctx, `EXPLAIN `+q, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	bad := func(p string) bool { return strings.Contains(p, "Seq Scan") || strings.Contains(p, "Sort") }
	if p := plan(`SELECT id FROM clients WHERE name = ?`); !bad(p) {
		t.Fatalf("the check misses a full scan:\n%s", p)
	}
	for _, q := range hotQueries {
		if p := plan(q); bad(p) {
			t.Errorf("%s\n%s", q, p)
		}
	}
}
