package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grantd/grantd"
)

// generous bounds a wait that should end in a fraction of a second; it is
// below busyTimeout (10 s), so a wait that ignores the context fails it.
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
		t.Fatalf("%s still waiting after %s: the context's deadline was ignored", what, generous)
		return nil
	}
}

func fixture(t *testing.T, s *Store) grantd.Client {
	t.Helper()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	u := grantd.User{ID: "u1", OrgID: "o1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}
	c := grantd.Client{ID: "c1", Name: "c1", UserID: u.ID, OrgID: u.OrgID, Type: grantd.ClientConfidential, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLockOfAnotherProcessEndsWithContext: another process on the file
// (grantd apikey create beside the server, or a sqlite3 shell left in a
// transaction) holds the write lock for longer than a request may wait.
// The store's write, and its heartbeat, wait in SQLite's busy handler,
// which must give up at the context's deadline rather than at
// busy_timeout; reads go on meanwhile (WAL), which is why readiness needs
// a write to notice.
func TestLockOfAnotherProcessEndsWithContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grantd.db")
	s, other := open(t, path), open(t, path)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := fixture(t, s)

	inside, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		_, err := other.UpdateClient(context.Background(), c.ID, func(c grantd.Client) (grantd.Client, error) {
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

	for what, call := range map[string]func(ctx context.Context) error{
		"UpdateClient": func(ctx context.Context) error {
			_, err := s.UpdateClient(ctx, c.ID, func(c grantd.Client) (grantd.Client, error) { return c, nil })
			return err
		},
		"Heartbeat": func(ctx context.Context) error { return s.Heartbeat(ctx, time.Now()) },
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		err := within(t, what, func() error { return call(ctx) })
		cancel()
		if !errors.Is(err, grantd.ErrUnavailable) {
			t.Errorf("%s while another process holds the write lock: err = %v, want ErrUnavailable", what, err)
		}
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping while another process writes: %v (reads must not wait in WAL mode)", err)
	}

	unlock()
	if err := <-held; err != nil {
		t.Fatalf("the other process's update: %v", err)
	}
	if err := s.Heartbeat(t.Context(), time.Now()); err != nil {
		t.Fatalf("Heartbeat once the lock is released: %v", err)
	}
}

// TestDiskFullFailsFast: a full disk (max_page_count caps the file at its
// current size) fails a write at once with ErrUnavailable, and reads go
// on.
func TestDiskFullFailsFast(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "grantd.db"))
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := fixture(t, s)
	var pages int
	if err := s.w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	// The writer pool is one connection kept open, so the cap stays on it.
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		n := c
		n.ID, n.Name = fmt.Sprintf("filler-%d", i), strings.Repeat("x", 2000)
		err = within(t, "CreateClient on a full disk", func() error { return s.CreateClient(ctx, n) })
	}
	if !errors.Is(err, grantd.ErrUnavailable) || !strings.Contains(err.Error(), "full") {
		t.Fatalf("writing to a full database: err = %v, want ErrUnavailable (database or disk is full)", err)
	}
	if _, err := s.GetClient(ctx, c.ID); err != nil {
		t.Fatalf("GetClient on a full disk: %v", err)
	}
}

// TestReadOnlyRefusesHeartbeat: a database that can be read but not
// written (query_only stands in for a read-only file: SQLite answers
// both with SQLITE_READONLY) passes Ping and fails Heartbeat with
// ErrUnavailable: readiness must write to notice it.
func TestReadOnlyRefusesHeartbeat(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "grantd.db"))
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping on a read-only database: %v", err)
	}
	err := within(t, "Heartbeat on a read-only database", func() error { return s.Heartbeat(ctx, time.Now()) })
	if !errors.Is(err, grantd.ErrUnavailable) {
		t.Fatalf("Heartbeat on a read-only database: err = %v, want ErrUnavailable", err)
	}
}
