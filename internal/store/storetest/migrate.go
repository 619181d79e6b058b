package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/grantd/grantd"
)

// Migrator is a Store that applies its own schema, as every backend does.
type Migrator interface {
	grantd.Store
	Migrate(ctx context.Context) error
	MigrationsPending(ctx context.Context) (bool, error)
}

// RunMigrationTests runs the schema tests every backend shares. open
// answers a new store on one database, the same one at every call, empty
// (unmigrated) at the first; the backend closes what it opened at cleanup.
func RunMigrationTests(t *testing.T, open func(t *testing.T) Migrator) {
	t.Run("MigrateIdempotent", func(t *testing.T) { testMigrateIdempotent(t, open) })
}

// testMigrateIdempotent: migrating twice, or reopening a migrated
// database, is a no-op that keeps the data.
func testMigrateIdempotent(t *testing.T, open func(t *testing.T) Migrator) {
	ctx := t.Context()
	s := open(t)
	pending, err := s.MigrationsPending(ctx)
	if err != nil || !pending {
		t.Fatalf("MigrationsPending on an empty database = %v, %v; want true", pending, err)
	}
	for range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	pending, err = s.MigrationsPending(ctx)
	if err != nil || pending {
		t.Fatalf("MigrationsPending after Migrate = %v, %v; want false", pending, err)
	}
	if err := s.RevokeJTI(ctx, "kept", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := open(t)
	if err := s2.Migrate(ctx); err != nil {
		t.Fatalf("Migrate on reopen: %v", err)
	}
	if ok, err := s2.IsJTIRevoked(ctx, "kept"); err != nil || !ok {
		t.Fatalf("IsJTIRevoked after reopen = %v, %v; want true", ok, err)
	}
}
