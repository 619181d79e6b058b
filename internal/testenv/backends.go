package testenv

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/postgres"
	"github.com/grantd/grantd/internal/store/postgres/pgtest"
)

// Backend is one kind of store, for tests of behaviour that depends on the
// database (a transaction's extent, a race) and so runs on every kind.
type Backend struct {
	Name string
	// Open answers a new, empty, migrated store, closed at cleanup, and a
	// function that runs SQL on its database beside it, for a test that
	// breaks the database on purpose (a trigger that fails a write is a
	// crash at that very statement). PostgreSQL skips the test (fails
	// it, when required) without a server: see pgtest.
	Open func(t testing.TB) (grantd.Store, func(query string))
}

// Backends answers SQLite and PostgreSQL. SQL written for one of them
// says which (Backend.Name is "sqlite" or "postgres").
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", Open: func(t testing.TB) (grantd.Store, func(string)) {
			st, path := Store(t)
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return st, func(q string) {
				t.Helper()
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}},
		{Name: "postgres", Open: func(t testing.TB) (grantd.Store, func(string)) {
			dsn := pgtest.Schema(t)
			ctx := context.Background()
			st, err := postgres.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			conn := pgtest.Connect(t, dsn)
			return st, func(q string) {
				t.Helper()
				if _, err := conn.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}},
	}
}
