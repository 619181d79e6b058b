package seed_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/seed"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
)

func TestSeedRowsAreTheAPIs(t *testing.T) {
	st, _ := testenv.Store(t)
	ctx := context.Background()
	res, err := seed.Run(ctx, st, seed.Options{Clients: 50, Grants: 100, Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.GetClient(ctx, res.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if !token.Equal(res.ClientSecret, c.SecretHash) {
		t.Fatal("the printed secret does not match the stored hash")
	}
	k, err := st.GetAPIKeyByHash(ctx, token.Hash(res.APIKey))
	if err != nil || k.UserID != res.UserID {
		t.Fatalf("api key: %+v %v", k, err)
	}
	gs, total, err := st.ListGrants(ctx, res.UserID, grantd.Page{Number: 1, Size: 20})
	if err != nil || total != 10 || len(gs) != 10 {
		t.Fatalf("grants of the user: %d of %d, %v", len(gs), total, err)
	}
	if _, err := seed.Run(ctx, st, seed.Options{Clients: 2, Grants: 30, Users: 1}); err == nil {
		t.Fatal("more grants per user than clients was accepted")
	}
}

// TestHotQueriesUseIndexes checks that the queries of token issuance and
// of a user's grant list never scan a whole table (SQLite).
func TestHotQueriesUseIndexes(t *testing.T) {
	st, path := testenv.Store(t)
	if _, err := seed.Run(context.Background(), st, seed.Options{Clients: 200, Grants: 200}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// seed.Run analyzed the tables: the planner has their statistics.
	var stats int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_stat1 WHERE tbl IN ('clients', 'grants')`).Scan(&stats); err != nil || stats == 0 {
		t.Fatalf("no statistics after seeding: %d, %v", stats, err)
	}
	if plan := planOf(t, db, `SELECT id FROM clients WHERE name = ?`); !scans(plan) {
		t.Fatalf("the check misses a full scan: %v", plan)
	}
	for _, q := range hotQueries {
		if plan := planOf(t, db, q); scans(plan) {
			t.Errorf("%s\nplan: %v", q, plan)
		}
	}
}

func planOf(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	args := []any{"x", "y"}[:strings.Count(q, "?")]
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// scans reports a step that reads a whole table or sorts.
func scans(plan []string) bool {
	for _, d := range plan {
		if strings.HasPrefix(d, "SCAN ") && d != "SCAN CONSTANT ROW" && !strings.Contains(d, " USING ") || strings.Contains(d, "TEMP B-TREE") {
			return true
		}
	}
	return false
}

// hotQueries are the statements of the two paths, as sqlstore runs them
// (two arguments each at most).
var hotQueries = []string{
	`SELECT id FROM clients WHERE id = ?`,
	`SELECT count(*) FROM grants WHERE user_id = ?`,
	`SELECT id FROM grants WHERE user_id = ? ORDER BY created_at DESC, id ASC LIMIT 10 OFFSET 0`,
	`SELECT id FROM grants WHERE user_id = ? AND client_id = ?`,
	`SELECT EXISTS (SELECT 1 FROM revoked_jtis WHERE jti = ?)`,
	`SELECT id FROM api_keys WHERE hash = ?`,
}
