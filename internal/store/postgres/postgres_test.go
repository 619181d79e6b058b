package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/store/postgres/pgtest"
	"github.com/grantd/grantd/internal/store/storetest"
)

// The tests run against GRANTD_TEST_POSTGRES_DSN, each in a schema of its
// own that is dropped afterwards (see pgtest).

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn)
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

func migrated(t *testing.T, dsn string) *Store {
	t.Helper()
	s := open(t, dsn)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	// Skip (or fail) once here, not in every subtest.
	pgtest.Connect(t, pgtest.ServerDSN(t))
	storetest.RunTests(t, func(t *testing.T) grantd.Store {
		return migrated(t, pgtest.Schema(t))
	})
}

// TestMigrateIdempotent runs the shared schema tests on one schema.
func TestMigrateIdempotent(t *testing.T) {
	dsn := pgtest.Schema(t)
	storetest.RunMigrationTests(t, func(t *testing.T) storetest.Migrator { return open(t, dsn) })
}

// TestConcurrentMigrate: stores (nodes, in effect) migrating the same
// empty schema at once all succeed, and the migration is applied once.
func TestConcurrentMigrate(t *testing.T) {
	dsn := pgtest.Schema(t)
	stores := []*Store{open(t, dsn), open(t, dsn), open(t, dsn)}
	errs := make(chan error, len(stores))
	start := make(chan struct{})
	for _, s := range stores {
		go func() {
			<-start
			errs <- s.Migrate(t.Context())
		}()
	}
	close(start)
	for range stores {
		if err := <-errs; err != nil {
			t.Errorf("Migrate: %v", err)
		}
	}
	for _, s := range stores {
		if pending, err := s.MigrationsPending(t.Context()); err != nil || pending {
			t.Errorf("MigrationsPending after concurrent migrations = %v, %v; want false", pending, err)
		}
	}
	var applied int
	err := stores[0].pool.QueryRow(t.Context(), `SELECT count(*) FROM goose_db_version WHERE version_id = 1`).Scan(&applied)
	if err != nil || applied != 1 {
		t.Fatalf("migration 1 recorded %d times (%v), want once", applied, err)
	}
}

// TestMigrationsPendingConcurrently: several --no-migrate starts checking
// an empty schema at once (goose creates its version table then) all
// answer.
func TestMigrationsPendingConcurrently(t *testing.T) {
	dsn := pgtest.Schema(t)
	stores := []*Store{open(t, dsn), open(t, dsn), open(t, dsn)}
	var wg sync.WaitGroup
	for _, s := range stores {
		wg.Go(func() {
			if pending, err := s.MigrationsPending(t.Context()); err != nil || !pending {
				t.Errorf("MigrationsPending on an empty schema = %v, %v; want true", pending, err)
			}
		})
	}
	wg.Wait()
}

// TestPingAfterClose: a closed store no longer answers, so /readyz turns
// 503 rather than pretending.
func TestPingAfterClose(t *testing.T) {
	s, err := Open(t.Context(), pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Fatal("Ping after Close answered nil")
	}
}

// TestOpenErrors: a server that does not answer, or a DSN that does not
// parse, fails Open, and the message never shows the password.
func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, dsn := range []string{
		"postgres://grantd:s3cretpw@127.0.0.1:1/grantd?sslmode=disable&connect_timeout=2",
		"postgres://grantd:s3cretpw@127.0.0.1:notaport/grantd",
		"postgres://grantd:s3cretpw@[::1/grantd",
	} {
		s, err := Open(ctx, dsn)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}

// TestForeignKeyIsNotFound: a row that refers to a missing parent answers
// ErrNotFound, not an internal error.
func TestForeignKeyIsNotFound(t *testing.T) {
	s := migrated(t, pgtest.Schema(t))
	err := s.CreateSession(t.Context(), grantd.Session{Hash: "h", UserID: "no-such-user"})
	if !errors.Is(err, grantd.ErrNotFound) {
		t.Errorf("CreateSession for a missing user: err = %v, want ErrNotFound", err)
	}
}

// TestByteOrderUnderLinguisticCollation: lists break ties by id in byte
// order ("B" before "a") even in a database whose default collation
// sorts linguistically ("a" before "B"), because the ids are COLLATE "C".
// The suite cannot see this on a server whose default is C or C.UTF-8.
func TestByteOrderUnderLinguisticCollation(t *testing.T) {
	server := pgtest.ServerDSN(t)
	admin := pgtest.Connect(t, server)
	ctx := t.Context()
	name := fmt.Sprintf("grantd_test_icu_%d", time.Now().UnixNano())
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+ident+` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`); err != nil {
		t.Skipf("cannot create a database with an ICU collation here: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	s := migrated(t, pgtest.WithParam(t, server, "dbname", name))

	var (
		db         string
		linguistic bool
	)
	if err := s.pool.QueryRow(ctx, `SELECT current_database(), 'a' < 'B'`).Scan(&db, &linguistic); err != nil || db != name || !linguistic {
		t.Fatalf("connected to %q ('a' < 'B' = %v, %v); want %q, sorting linguistically", db, linguistic, err, name)
	}

	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	u := grantd.User{ID: "u1", OrgID: "o1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"c-a", "c-B"} {
		c := grantd.Client{ID: id, Name: id, UserID: u.ID, OrgID: u.OrgID, Type: grantd.ClientConfidential, CreatedAt: now, UpdatedAt: now}
		if err := s.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateGrant(ctx, grantd.Grant{ID: "g" + id, UserID: u.ID, ClientID: id, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSigningKey(ctx, grantd.SigningKey{ID: "k" + id, Algorithm: "ES256", CreatedAt: now, ActiveAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	clients, _, err := s.ListClients(ctx, grantd.ClientFilter{}, grantd.Page{Number: 1, Size: 10})
	if err != nil || len(clients) != 2 || clients[0].ID != "c-B" {
		t.Errorf("ListClients = %v, %v; want c-B before c-a", clients, err)
	}
	grants, _, err := s.ListGrants(ctx, u.ID, grantd.Page{Number: 1, Size: 10})
	if err != nil || len(grants) != 2 || grants[0].ID != "gc-B" {
		t.Errorf("ListGrants = %v, %v; want gc-B before gc-a", grants, err)
	}
	keys, err := s.ListSigningKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].ID != "kc-B" {
		t.Errorf("ListSigningKeys = %v, %v; want kc-B before kc-a", keys, err)
	}
	// The case-insensitive filter folds in Go, whatever the locale.
	clients, _, err = s.ListClients(ctx, grantd.ClientFilter{NameContains: "C-b"}, grantd.Page{Number: 1, Size: 10})
	if err != nil || len(clients) != 1 || clients[0].ID != "c-B" {
		t.Errorf("ListClients NameContains C-b = %v, %v; want c-B", clients, err)
	}
}

// TestRaceAcrossStores: stores opened separately on one schema (nodes of
// a cluster, or the server and the CLI) share no Go lock, so only the
// database decides. One presentation of a refresh token wins; every other
// one is reuse.
func TestRaceAcrossStores(t *testing.T) {
	dsn := pgtest.Schema(t)
	ctx := t.Context()
	stores := []*Store{migrated(t, dsn), open(t, dsn), open(t, dsn)}
	s := stores[0]
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	u := grantd.User{ID: "u1", OrgID: "o1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}
	c := grantd.Client{ID: "c1", Name: "c1", UserID: u.ID, OrgID: u.OrgID, Type: grantd.ClientConfidential, CreatedAt: now, UpdatedAt: now}
	g := grantd.Grant{ID: "g1", UserID: u.ID, ClientID: c.ID, CreatedAt: now, UpdatedAt: now}
	for _, err := range []error{s.CreateUser(ctx, u), s.CreateClient(ctx, c), s.CreateGrant(ctx, g)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	code := grantd.AuthCode{Hash: "code", ClientID: c.ID, UserID: u.ID, GrantID: g.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	rt := grantd.RefreshToken{Hash: "rt", FamilyID: "fam", GrantID: g.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), AccessJTI: "jti", AccessExpiresAt: now.Add(time.Hour)}
	if err := s.CreateAuthCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	if _, err := oauth.RedeemAuthCode(ctx, s, code.Hash, now, func(c grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		c.FamilyID, c.AccessJTI, c.AccessExpiresAt = rt.FamilyID, rt.AccessJTI, &rt.AccessExpiresAt
		return c, &rt, nil
	}); err != nil {
		t.Fatal(err)
	}

	const n = 30
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = oauth.RotateRefreshToken(ctx, stores[i%len(stores)], rt.Hash, now, 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
				next := old
				next.Hash = fmt.Sprintf("rt-%d", i)
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
			t.Errorf("rotation %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d rotations succeeded, want 1", wins)
	}
}

// TestRetryable: only a transaction PostgreSQL aborted because of another
// one is run again; an updater's error never is.
func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "40P01"}, true},
		{fmt.Errorf("postgres: rotate: %w", &pgconn.PgError{Code: "40001"}), true},
		{&pgconn.PgError{Code: "23505"}, false},
		{grantd.E(grantd.CodeInvalidGrant, "refused"), false},
		{context.Canceled, false},
	} {
		if got := retryable(tc.err); got != tc.want {
			t.Errorf("retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestReuseRevokesConcurrentRotations: reuse detection revokes every
// token under the grant, including successors that rotations of sibling
// tokens commit while it runs. Every rotation either commits before the
// revocation (and its successor is revoked with the rest) or runs after it
// (and finds its own token revoked): no successor survives. This is what
// the grant lock buys over locking single token rows.
func TestReuseRevokesConcurrentRotations(t *testing.T) {
	s := migrated(t, pgtest.Schema(t))
	ctx := t.Context()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	u := grantd.User{ID: "u1", OrgID: "o1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}
	c := grantd.Client{ID: "c1", Name: "c1", UserID: u.ID, OrgID: u.OrgID, Type: grantd.ClientConfidential, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	token := func(g grantd.Grant, name string) grantd.RefreshToken {
		return grantd.RefreshToken{Hash: name, FamilyID: name, GrantID: g.ID, ClientID: c.ID, UserID: u.ID,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour), AccessJTI: "jti-" + name, AccessExpiresAt: now.Add(time.Hour)}
	}
	issue := func(rt grantd.RefreshToken) func(grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		return func(code grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
			code.FamilyID, code.AccessJTI, code.AccessExpiresAt = rt.FamilyID, rt.AccessJTI, &rt.AccessExpiresAt
			return code, &rt, nil
		}
	}
	next := func(name string) func(grantd.RefreshToken) (grantd.RefreshToken, error) {
		return func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
			n := old
			n.Hash, n.AccessJTI, n.RotatedAt = name, "jti-"+name, nil
			return n, nil
		}
	}

	const siblings, thieves = 12, 4
	for round := range 3 {
		g := grantd.Grant{ID: fmt.Sprintf("g%d", round), UserID: u.ID, ClientID: c.ID, CreatedAt: now, UpdatedAt: now}
		if round > 0 {
			// One grant per (user, client): start each round afresh.
			if err := s.DeleteGrant(ctx, fmt.Sprintf("g%d", round-1)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
		var tokens []grantd.RefreshToken
		for i := range siblings + 1 {
			rt := token(g, fmt.Sprintf("r%d-t%d", round, i))
			code := grantd.AuthCode{Hash: "code-" + rt.Hash, ClientID: c.ID, UserID: u.ID, GrantID: g.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
			if err := s.CreateAuthCode(ctx, code); err != nil {
				t.Fatal(err)
			}
			if _, err := oauth.RedeemAuthCode(ctx, s, code.Hash, now, issue(rt)); err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, rt)
		}
		// tokens[0] is rotated out: presenting it again is reuse.
		stolen := tokens[0]
		if _, err := oauth.RotateRefreshToken(ctx, s, stolen.Hash, now, 0, next(stolen.Hash+"-next"), nil); err != nil {
			t.Fatal(err)
		}

		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			survivors []string
			reuses    int
		)
		start := make(chan struct{})
		for i := 1; i <= siblings; i++ {
			wg.Go(func() {
				<-start
				name := tokens[i].Hash + "-next"
				_, err := oauth.RotateRefreshToken(ctx, s, tokens[i].Hash, now, 0, next(name), nil)
				switch {
				case err == nil:
					mu.Lock()
					survivors = append(survivors, name)
					mu.Unlock()
				case !errors.Is(err, grantd.ErrReused):
					t.Errorf("rotation of %s: %v", tokens[i].Hash, err)
				}
			})
		}
		for range thieves {
			wg.Go(func() {
				<-start
				_, err := oauth.RotateRefreshToken(ctx, s, stolen.Hash, now, 0, next("never"), nil)
				if !errors.Is(err, grantd.ErrReused) {
					t.Errorf("reuse of a rotated-out token: err = %v, want ErrReused", err)
				}
				mu.Lock()
				reuses++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		if reuses != thieves {
			t.Fatalf("round %d: %d reuses detected, want %d", round, reuses, thieves)
		}
		for _, name := range survivors {
			if _, err := s.GetRefreshToken(ctx, name); !errors.Is(err, grantd.ErrNotFound) {
				t.Errorf("round %d: successor %s survived reuse detection (err = %v)", round, name, err)
			}
			if revoked, err := s.IsJTIRevoked(ctx, "jti-"+name); err != nil || !revoked {
				t.Errorf("round %d: access token of successor %s not revoked (%v, %v)", round, name, revoked, err)
			}
		}
	}
}

// TestMigrateWithoutSchema: a search_path that names no existing schema
// fails with a message that says so, rather than goose's first error.
func TestMigrateWithoutSchema(t *testing.T) {
	server := pgtest.ServerDSN(t)
	pgtest.Connect(t, server) // skip (or fail) when the server does not answer
	s := open(t, pgtest.WithParam(t, server, "search_path", "grantd_test_no_such_schema"))
	err := s.Migrate(t.Context())
	if err == nil || !strings.Contains(err.Error(), "search_path") {
		t.Fatalf("Migrate into a missing schema: err = %v, want one naming search_path", err)
	}
}
