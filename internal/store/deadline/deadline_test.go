package deadline_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/deadline"
	"github.com/grantd/grantd/internal/store/postgres"
	"github.com/grantd/grantd/internal/store/postgres/pgtest"
	"github.com/grantd/grantd/internal/store/sqlite"
	"github.com/grantd/grantd/internal/store/storetest"
)

// generous bounds a wait that the deadline ends in a fraction of a
// second: far above a noisy machine's delays, far below "hangs" (and
// below SQLite's busy_timeout of 10 s).
const generous = 8 * time.Second

// within runs f and fails the test if it has not returned within generous.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(generous):
		t.Fatalf("%s still waiting after %s: the call has no deadline", what, generous)
		return nil
	}
}

func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance: the wrapper passes every call through unchanged.
func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) grantd.Store {
		return deadline.New(openSQLite(t, filepath.Join(t.TempDir(), "grantd.db")), 5*time.Second)
	})
}

var (
	now  = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	user = grantd.User{ID: "00000001-0000-4000-8000-000000000001", OrgID: "00000002-0000-4000-8000-000000000001", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}
	cl   = grantd.Client{ID: "c1", Name: "c1", UserID: user.ID, OrgID: user.OrgID, Type: grantd.ClientConfidential, CreatedAt: now, UpdatedAt: now}
)

func fixture(t *testing.T, s grantd.Store) {
	t.Helper()
	if err := s.CreateUser(t.Context(), user); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(t.Context(), cl); err != nil {
		t.Fatal(err)
	}
}

// calls are a read, a write transaction and the readiness probes, each
// made as the server makes them, with a context that has no deadline of
// its own (a request's, a background loop's).
var calls = map[string]func(s grantd.Store) error{
	"GetClient": func(s grantd.Store) error { _, err := s.GetClient(context.Background(), cl.ID); return err },
	"UpdateClient": func(s grantd.Store) error {
		_, err := s.UpdateClient(context.Background(), cl.ID, func(c grantd.Client) (grantd.Client, error) { return c, nil })
		return err
	},
	"ListSigningKeys": func(s grantd.Store) error { _, err := s.ListSigningKeys(context.Background()); return err },
	"Ping":            func(s grantd.Store) error { return s.Ping(context.Background()) },
	"Heartbeat":       func(s grantd.Store) error { return s.Heartbeat(context.Background(), now) },
	"InGrant": func(s grantd.Store) error {
		return s.InGrant(context.Background(), func(tx grantd.GrantTx) error {
			if _, err := tx.GrantByUserClient(user.ID, cl.ID); !errors.Is(err, grantd.ErrNotFound) {
				return err
			}
			return nil
		})
	},
}

// TestSQLiteWriteLockHeldElsewhere: another process holds SQLite's write
// lock (a sqlite3 shell left in a transaction). A write of the server,
// made without a deadline of its own, gives up at the wrapper's deadline
// with ErrUnavailable instead of waiting out busy_timeout, and succeeds
// once the lock is gone.
func TestSQLiteWriteLockHeldElsewhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grantd.db")
	raw := openSQLite(t, path)
	fixture(t, raw)
	s := deadline.New(raw, 300*time.Millisecond)

	other := openSQLite(t, path)
	inside, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		_, err := other.UpdateClient(context.Background(), cl.ID, func(c grantd.Client) (grantd.Client, error) {
			close(inside)
			<-release
			return c, nil
		})
		held <- err
	}()
	<-inside
	var once sync.Once
	unlock := func() { once.Do(func() { close(release) }) }
	defer unlock()

	for _, what := range []string{"UpdateClient", "Heartbeat"} {
		err := within(t, what, func() error { return calls[what](s) })
		if !errors.Is(err, grantd.ErrUnavailable) || !strings.Contains(err.Error(), "within 300ms") {
			t.Errorf("%s with the write lock held elsewhere: err = %v, want ErrUnavailable naming the deadline", what, err)
		}
	}
	// Reads do not wait for a writer in WAL mode.
	for _, what := range []string{"GetClient", "Ping"} {
		if err := within(t, what, func() error { return calls[what](s) }); err != nil {
			t.Errorf("%s with the write lock held elsewhere: %v", what, err)
		}
	}

	unlock()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for what, call := range calls {
		if err := within(t, what, func() error { return call(s) }); err != nil {
			t.Errorf("%s after the lock is released: %v", what, err)
		}
	}
}

// TestPostgresFrozen: the server stops answering (the proxy in front of
// it holds every byte, connections stay open, as with SIGSTOP). Queries
// on pooled connections, transactions, waits for a connection of a full
// pool and new connections all give up at the deadline with
// ErrUnavailable; once the server answers again, so does the store; and
// closing the store while the server is frozen returns.
func TestPostgresFrozen(t *testing.T) {
	proxy, dsn := pgtest.NewProxy(t, pgtest.Schema(t))
	dsn = pgtest.WithParam(t, dsn, "pool_max_conns", "2")
	raw, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			proxy.Thaw()
			raw.Close()
		}
	})
	if err := raw.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	fixture(t, raw)
	s := deadline.New(raw, 300*time.Millisecond)

	proxy.Freeze()
	// Twice over: the first round meets pooled connections, the second a
	// pool whose connections were given up and are being replaced.
	for round := range 2 {
		for what, call := range calls {
			err := within(t, what, func() error { return call(s) })
			if !errors.Is(err, grantd.ErrUnavailable) {
				t.Errorf("round %d: %s on a frozen server: err = %v, want ErrUnavailable", round, what, err)
			}
		}
	}
	// More callers than the pool has connections: the ones waiting for a
	// connection give up too.
	errs := make(chan error, 6)
	for range cap(errs) {
		go func() { errs <- calls["GetClient"](s) }()
	}
	for range cap(errs) {
		select {
		case err := <-errs:
			if !errors.Is(err, grantd.ErrUnavailable) {
				t.Errorf("a caller of a full pool on a frozen server: err = %v, want ErrUnavailable", err)
			}
		case <-time.After(generous):
			t.Fatal("a caller waiting for a pooled connection never gave up")
		}
	}

	proxy.Thaw()
	for what, call := range calls {
		var err error
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if err = call(s); err == nil {
				break
			}
		}
		if err != nil {
			t.Errorf("%s after the server answers again: %v", what, err)
		}
	}

	// Shutting down on a frozen server: a call in flight ends at its
	// deadline, and Close returns (pgx alone would wait up to 15 s for the
	// connection the deadline cut off).
	proxy.Freeze()
	inFlight := make(chan error, 1)
	go func() { inFlight <- calls["UpdateClient"](s) }()
	if err := within(t, "Close on a frozen server", s.Close); err != nil && !errors.Is(err, grantd.ErrUnavailable) {
		t.Errorf("Close on a frozen server: %v, want nil or ErrUnavailable", err)
	}
	closed = true
	if err := within(t, "the call in flight at Close", func() error { return <-inFlight }); err == nil {
		t.Error("a call in flight on a frozen server succeeded")
	}
}

// TestPostgresFrozenInUnitOfWork: the server stops answering in the
// middle of a unit of work. The step under way gives up at the deadline
// with ErrUnavailable, and so does InGrant: every step runs on the
// unit's context, not on the caller's (which has no deadline).
func TestPostgresFrozenInUnitOfWork(t *testing.T) {
	proxy, dsn := pgtest.NewProxy(t, pgtest.Schema(t))
	raw, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		proxy.Thaw()
		raw.Close()
	})
	if err := raw.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	fixture(t, raw)
	s := deadline.New(raw, 300*time.Millisecond)

	var stepErr error
	err = within(t, "a unit of work whose server froze", func() error {
		return s.InGrant(context.Background(), func(tx grantd.GrantTx) error {
			proxy.Freeze()
			_, stepErr = tx.GrantByUserClient(user.ID, cl.ID)
			return stepErr
		})
	})
	if !errors.Is(stepErr, grantd.ErrUnavailable) {
		t.Errorf("a step of a unit of work on a frozen server: err = %v, want ErrUnavailable", stepErr)
	}
	if !errors.Is(err, grantd.ErrUnavailable) {
		t.Errorf("InGrant on a frozen server: err = %v, want ErrUnavailable", err)
	}
}
