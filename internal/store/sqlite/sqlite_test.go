package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/store/storetest"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) grantd.Store {
		s := open(t, filepath.Join(t.TempDir(), "grantd.db"))
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return s
	})
}

// TestPragmas checks that every connection of both pools runs with the
// settings the store depends on, not just the first one.
func TestPragmas(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "grantd.db"))
	ctx := t.Context()

	pragma := func(db *sql.DB, name string) string {
		t.Helper()
		// Hold several connections at once so that the pool has to open
		// more than one, and ask each.
		var conns []*sql.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		want := ""
		for i := range 3 {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatalf("conn: %v", err)
			}
			conns = append(conns, c)
			var v string
			if err := c.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
				t.Fatalf("PRAGMA %s: %v", name, err)
			}
			if i == 0 {
				want = v
			} else if v != want {
				t.Errorf("PRAGMA %s differs between connections: %q and %q", name, want, v)
			}
			if db == s.w {
				break // the writer has exactly one connection
			}
		}
		return want
	}

	for _, db := range []*sql.DB{s.w, s.r} {
		if got := pragma(db, "journal_mode"); got != "wal" {
			t.Errorf("journal_mode = %q, want wal", got)
		}
		if got := pragma(db, "busy_timeout"); got != busyTimeout {
			t.Errorf("busy_timeout = %q, want %s", got, busyTimeout)
		}
		if got := pragma(db, "foreign_keys"); got != "1" {
			t.Errorf("foreign_keys = %q, want 1", got)
		}
	}
	if got := pragma(s.w, "synchronous"); got != "1" { // NORMAL
		t.Errorf("writer synchronous = %q, want 1 (NORMAL)", got)
	}
	if got := pragma(s.r, "query_only"); got != "1" {
		t.Errorf("reader query_only = %q, want 1", got)
	}
}

// TestMigrateIdempotent runs the shared schema tests on one file.
func TestMigrateIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grantd.db")
	storetest.RunMigrationTests(t, func(t *testing.T) storetest.Migrator { return open(t, path) })
}

// TestConcurrentMigrate: two stores (two processes, in effect) migrating
// the same new file at once both succeed.
func TestConcurrentMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grantd.db")
	a, b := open(t, path), open(t, path)
	errs := make(chan error, 2)
	for _, s := range []*Store{a, b} {
		go func() { errs <- s.Migrate(t.Context()) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("Migrate: %v", err)
		}
	}
	if err := a.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestOpenPaths: the file is created where asked, whatever its name holds,
// and in-memory databases are refused (the two pools could not share one).
func TestOpenPaths(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "with space")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "odd?name#%20.db")
	s := open(t, path)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not at %q: %v", path, err)
	}

	for _, p := range []string{"", ":memory:"} {
		if s, err := Open(t.Context(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}

// TestReadersDoNotWaitForWriter: while a write transaction is open, reads
// answer at once (WAL), with the last committed state.
func TestReadersDoNotWaitForWriter(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "grantd.db"))
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeJTI(ctx, "committed", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	inTx := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.write(ctx, func(tx *sql.Tx, ctx context.Context) error {
			if err := on(tx).RevokeJTI(ctx, "uncommitted", time.Now().Add(time.Hour)); err != nil {
				return err
			}
			close(inTx)
			<-release
			return nil
		})
	}()
	<-inTx

	readCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for jti, want := range map[string]bool{"committed": true, "uncommitted": false} {
		got, err := s.IsJTIRevoked(readCtx, jti)
		if err != nil || got != want {
			t.Errorf("IsJTIRevoked(%q) during a write = %v, %v; want %v", jti, got, err, want)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, err := s.IsJTIRevoked(ctx, "uncommitted"); err != nil || !got {
		t.Errorf("IsJTIRevoked after commit = %v, %v; want true", got, err)
	}
}

// TestForeignKeyIsNotFound: a row that refers to a missing parent answers
// ErrNotFound, not an internal error.
func TestForeignKeyIsNotFound(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "grantd.db"))
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err := s.CreateSession(ctx, grantd.Session{Hash: "h", UserID: "no-such-user"})
	if !errors.Is(err, grantd.ErrNotFound) {
		t.Errorf("CreateSession for a missing user: err = %v, want ErrNotFound", err)
	}
}

// TestRaceAcrossProcesses: stores opened separately on one file (as the
// server and the CLI are) do not share the one-connection writer pool, so
// only SQLite's locking keeps a rotation's read-then-write atomic. One
// presentation wins; every other one is reuse, none is "database is
// locked".
func TestRaceAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grantd.db")
	ctx := t.Context()
	stores := []*Store{open(t, path), open(t, path), open(t, path), open(t, path)}
	s := stores[0]
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	u := grantd.User{ID: "u1", OrgID: "o1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}
	c := grantd.Client{ID: "c1", Name: "c1", UserID: u.ID, OrgID: u.OrgID, Type: grantd.ClientConfidential, CreatedAt: now, UpdatedAt: now}
	g := grantd.Grant{ID: "g1", UserID: u.ID, ClientID: c.ID, CreatedAt: now, UpdatedAt: now}
	for _, err := range []error{s.CreateUser(ctx, u), s.CreateClient(ctx, c), s.CreateGrant(ctx, g)} {
		if err != nil {
			t.Fatal(err)
		}
	}

	// A lost race shows only some of the time; several rounds make a
	// regression (a deferred BEGIN) fail reliably.
	for round := range 5 {
		code := grantd.AuthCode{Hash: fmt.Sprintf("code-%d", round), ClientID: c.ID, UserID: u.ID, GrantID: g.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
		rt := grantd.RefreshToken{Hash: fmt.Sprintf("rt-%d", round), FamilyID: code.Hash, GrantID: g.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), AccessJTI: code.Hash, AccessExpiresAt: now.Add(time.Hour)}
		if err := s.CreateAuthCode(ctx, code); err != nil {
			t.Fatal(err)
		}
		if _, err := oauth.RedeemAuthCode(ctx, s, code.Hash, now, func(c grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
			c.FamilyID, c.AccessJTI, c.AccessExpiresAt = rt.FamilyID, rt.AccessJTI, &rt.AccessExpiresAt
			return c, &rt, nil
		}); err != nil {
			t.Fatal(err)
		}

		const n = 40
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = oauth.RotateRefreshToken(ctx, stores[i%len(stores)], rt.Hash, now, 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
					next := old
					next.Hash = fmt.Sprintf("rt-%d-%d", round, i)
					next.AccessJTI = next.Hash
					return next, nil
				}, nil)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, grantd.ErrReused):
				t.Errorf("round %d, rotation %d: %v", round, i, err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d rotations succeeded, want 1", round, wins)
		}
	}
}
