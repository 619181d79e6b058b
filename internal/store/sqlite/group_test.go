package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/grantd/grantd"
)

// blockCommitter runs a write that holds the committer until release is
// closed, so that the writes queued meanwhile make one group with it.
func blockCommitter(t *testing.T, s *Store) (release func(), done <-chan error) {
	t.Helper()
	inside, hold := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.write(t.Context(), func(tx *sql.Tx, ctx context.Context) error {
			close(inside)
			<-hold
			return on(tx).RevokeJTI(ctx, "first", time.Now().Add(time.Hour))
		})
	}()
	<-inside
	return func() { close(hold) }, errc
}

// queued waits until n writes are queued behind the committer.
func queued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(generous); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.group.mu.Lock()
		got := len(s.group.queue)
		s.group.mu.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("%d writes never queued", n)
}

func revoked(t *testing.T, s *Store, jti string) bool {
	t.Helper()
	got, err := s.IsJTIRevoked(t.Context(), jti)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestGroupCommitsWritesTogether: writes that queue while the writer is
// busy commit in one transaction, and one that fails is rolled back alone:
// the others of its group keep their writes, and it keeps none.
func TestGroupCommitsWritesTogether(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "grantd.db"))
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	groups0, writes0 := s.GroupStats()
	release, first := blockCommitter(t, s)

	refused := errors.New("the updater refused")
	type result struct {
		jti string
		err error
	}
	results := make(chan result, 3)
	for i, fail := range []bool{false, true, false} {
		jti := fmt.Sprintf("queued-%d", i)
		go func() {
			err := s.write(ctx, func(tx *sql.Tx, ctx context.Context) error {
				if err := on(tx).RevokeJTI(ctx, jti, time.Now().Add(time.Hour)); err != nil {
					return err
				}
				if fail {
					return refused
				}
				return nil
			})
			results <- result{jti, err}
		}()
		queued(t, s, i+1)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range 3 {
		r := <-results
		want := error(nil)
		if r.jti == "queued-1" {
			want = refused
		}
		if r.err != want {
			t.Errorf("write %s: err = %v, want %v (the failing write's error, unchanged)", r.jti, r.err, want)
		}
	}
	for jti, want := range map[string]bool{"first": true, "queued-0": true, "queued-1": false, "queued-2": true} {
		if got := revoked(t, s, jti); got != want {
			t.Errorf("%s written = %v, want %v", jti, got, want)
		}
	}
	groups, writes := s.GroupStats()
	if groups-groups0 != 1 || writes-writes0 != 3 {
		t.Errorf("committed %d groups of %d writes, want 1 group of 3 (the first and the two that succeeded)", groups-groups0, writes-writes0)
	}
}

// TestGroupFailsWhole: when the transaction itself is lost halfway through
// a group (here a write ends the savepoint it runs in, as SQLite does to
// the whole transaction on a full disk or an I/O error), no write of the
// group is kept, and every one that had succeeded is told so with
// ErrUnavailable: none is acknowledged without its commit.
func TestGroupFailsWhole(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "grantd.db"))
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	release, first := blockCommitter(t, s)
	ok := make(chan error, 1)
	go func() {
		ok <- s.write(ctx, func(tx *sql.Tx, ctx context.Context) error {
			return on(tx).RevokeJTI(ctx, "kept-until-the-loss", time.Now().Add(time.Hour))
		})
	}()
	queued(t, s, 1)
	breaks := make(chan error, 1)
	boom := errors.New("fails after losing its savepoint")
	go func() {
		breaks <- s.write(ctx, func(tx *sql.Tx, ctx context.Context) error {
			if _, err := tx.ExecContext(ctx, "RELEASE unit"); err != nil {
				return err
			}
			return boom
		})
	}()
	queued(t, s, 2)
	release()
	for what, c := range map[string]<-chan error{"the first write": first, "the second write": ok} {
		if err := <-c; !errors.Is(err, grantd.ErrUnavailable) {
			t.Errorf("%s, whose group was lost: err = %v, want ErrUnavailable", what, err)
		}
	}
	if err := <-breaks; err != boom {
		t.Errorf("the write that broke the group: err = %v, want its own", err)
	}
	for _, jti := range []string{"first", "kept-until-the-loss"} {
		if revoked(t, s, jti) {
			t.Errorf("%s was kept although its group was lost", jti)
		}
	}
	// The writer serves as before.
	if err := s.RevokeJTI(ctx, "after", time.Now().Add(time.Hour)); err != nil || !revoked(t, s, "after") {
		t.Fatalf("a write after the lost group: %v", err)
	}
}

// TestGroupQueuedWriteGivesUp: a write whose context ends while it waits
// for the committer is taken out of the queue and never runs.
func TestGroupQueuedWriteGivesUp(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "grantd.db"))
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	release, first := blockCommitter(t, s)
	wctx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{}, 1)
	gaveUp := make(chan error, 1)
	go func() {
		gaveUp <- s.write(wctx, func(tx *sql.Tx, ctx context.Context) error {
			ran <- struct{}{}
			return nil
		})
	}()
	queued(t, s, 1)
	cancel()
	if err := <-gaveUp; !errors.Is(err, grantd.ErrUnavailable) {
		t.Errorf("a cancelled queued write: err = %v, want ErrUnavailable", err)
	}
	queued(t, s, 0)
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Error("the cancelled write ran")
	default:
	}
}

// TestGroupClosed: Close lets the running group commit and answers the
// writes after it with an error.
func TestGroupClosed(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "grantd.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	release, first := blockCommitter(t, s)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for deadline := time.Now().Add(generous); ; time.Sleep(time.Millisecond) {
		s.group.mu.Lock()
		c := s.group.closed
		s.group.mu.Unlock()
		if c {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Close never began")
		}
	}
	release()
	if err := <-first; err != nil {
		t.Errorf("the write running at Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.RevokeJTI(t.Context(), "late", time.Now().Add(time.Hour)); !errors.Is(err, errClosed) {
		t.Errorf("a write after Close: err = %v, want errClosed", err)
	}
}

// TestGroupPanic: a write that panics panics on its caller's goroutine,
// its writes rolled back; the others of its group commit and the writer
// serves on.
func TestGroupPanic(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "grantd.db"))
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	release, first := blockCommitter(t, s)
	recovered := make(chan any, 1)
	go func() {
		defer func() { recovered <- recover() }()
		_ = s.write(ctx, func(tx *sql.Tx, ctx context.Context) error {
			if err := on(tx).RevokeJTI(ctx, "panicked", time.Now().Add(time.Hour)); err != nil {
				return err
			}
			panic("a bug in a write")
		})
	}()
	queued(t, s, 1)
	after := make(chan error, 1)
	go func() {
		after <- s.write(ctx, func(tx *sql.Tx, ctx context.Context) error {
			return on(tx).RevokeJTI(ctx, "after-the-panic", time.Now().Add(time.Hour))
		})
	}()
	queued(t, s, 2)
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if p := <-recovered; p != "a bug in a write" {
		t.Fatalf("the caller recovered %v, want the write's panic", p)
	}
	if err := <-after; err != nil {
		t.Fatal(err)
	}
	for jti, want := range map[string]bool{"first": true, "panicked": false, "after-the-panic": true} {
		if got := revoked(t, s, jti); got != want {
			t.Errorf("%s written = %v, want %v", jti, got, want)
		}
	}
}
