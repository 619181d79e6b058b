package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/grantd/grantd"
)

// maxGroup bounds the units of work one transaction commits together: a
// unit waits for the whole group's commit, so the bound is what keeps
// that wait short (a group of 32 refreshes is a few milliseconds of one
// core).
const maxGroup = 32

// A group commit: every write of the store (an updater, a unit of work of
// InGrant, a single statement on the writer) is a unit queued for the one
// writer connection, which one goroutine of the store, the committer,
// drives. It begins a transaction and runs the queued units in it, each
// in a savepoint of its own (all but the first), takes the units that
// queue meanwhile, up to maxGroup, and commits once for all of them; then
// the next group, until the queue is empty. A unit that fails is rolled
// back to its savepoint and answers its own error; the others are not
// touched by it. No unit's caller hears of success before the commit that
// holds its writes has returned, so grouping keeps the durability of the
// synchronous setting (docs/OPERATIONS.md, Durability): a commit is as
// durable as before, there are fewer of them.
//
// What it saves is the per-commit work: the WAL frames of pages that
// several units change (an index's interior pages, the grant a refresh
// touches, the change feed's last page) are written once per group
// instead of once per unit, and BEGIN and COMMIT run once. Under one
// writer at a time nothing else changes: the units of a group run one
// after the other, each seeing what the ones before it wrote, exactly as
// if each had its own transaction in the same order.
//
// Contexts: a unit's context counts while it waits in the queue (its
// caller gives up at once, and the unit is taken out) and while its
// group's transaction begins (BEGIN IMMEDIATE waits there for another
// process's lock, and must give up at the first unit's deadline). Once
// its statements run they are not interrupted by it: SQLite rolls the
// whole transaction back when a write inside it is interrupted, which
// would undo the other units of the group. Inside a transaction that
// holds the write lock no statement waits for anything, so a unit's
// statements take what they take in CPU, and its caller waits for them.
type group struct {
	mu     sync.Mutex
	queue  []*unit
	closed bool
	wake   chan struct{} // a unit was queued
	quit   chan struct{} // closed by stop
	done   chan struct{} // closed when the committer has stopped

	groups, units atomic.Int64 // committed so far, for tests and operators
}

// unit is one queued write.
type unit struct {
	ctx   context.Context
	fn    func(tx *sql.Tx, ctx context.Context) error
	done  chan error
	taken bool // by the committer, under group.mu
}

// errClosed answers a write to a closed store.
var errClosed = errors.New("sqlite: the store is closed")

// startGroup starts the committer of s.
func (s *Store) startGroup() {
	g := &s.group
	g.wake, g.quit, g.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go s.commit()
}

// stopGroup stops the committer once the group it runs, if any, has
// committed; writes still queued, and later ones, answer errClosed.
func (s *Store) stopGroup() {
	g := &s.group
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		<-g.done
		return
	}
	g.closed = true
	g.mu.Unlock()
	close(g.quit)
	<-g.done
	g.mu.Lock()
	for _, u := range g.queue {
		u.taken = true
		u.done <- errClosed
	}
	g.queue = nil
	g.mu.Unlock()
}

// commit is the committer: it runs groups while there are units.
func (s *Store) commit() {
	g := &s.group
	defer close(g.done)
	for {
		select {
		case <-g.quit:
			return
		case <-g.wake:
		}
		for u := g.next(0); u != nil; u = g.next(0) {
			s.runGroup(u)
		}
	}
}

// write runs fn as one unit of a group transaction and answers when the
// group has committed (nil) or fn or the group failed. fn's error is
// returned unchanged (an updater's *grantd.Error must reach the caller
// intact); nothing fn wrote survives it. fn runs on the committer, with
// ctx's values but without its cancellation (see group).
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx, ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return dbErr("begin", err)
	}
	u := &unit{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g := &s.group
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errClosed
	}
	g.queue = append(g.queue, u)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default: // the committer is awake already
	}
	select {
	case err := <-u.done:
		return unitErr(err)
	case <-ctx.Done():
	}
	g.mu.Lock()
	if !u.taken {
		if i := slices.Index(g.queue, u); i >= 0 {
			g.queue = slices.Delete(g.queue, i, i+1)
		}
		g.mu.Unlock()
		return dbErr("begin", ctx.Err())
	}
	g.mu.Unlock()
	return unitErr(<-u.done) // it runs: its statements end by themselves
}

// run runs the unit's fn on tx. A panic in it is caught, so that the
// committer and the rest of the group survive a bug in one write, and
// answered as a panicked error, which write panics with again on the
// caller's goroutine, where net/http's recovery and the logs see it as
// before.
func (u *unit) run(tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicked{p}
		}
	}()
	return u.fn(tx, context.WithoutCancel(u.ctx))
}

// panicked carries a unit's panic to its caller.
type panicked struct{ v any }

func (p panicked) Error() string { return fmt.Sprintf("sqlite: a write panicked: %v", p.v) }

// unitErr answers a unit's error, panicking again with a unit's panic.
func unitErr(err error) error {
	if p, ok := err.(panicked); ok {
		panic(p.v)
	}
	return err
}

// next answers the next queued unit for a group of n so far, taken, or
// nil.
func (g *group) next(n int) *unit {
	if n >= maxGroup {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		return nil
	}
	u := g.queue[0]
	u.taken = true
	g.queue[0] = nil
	g.queue = g.queue[1:]
	return u
}

// requeue puts a taken unit back at the front of the queue.
func (g *group) requeue(u *unit) {
	g.mu.Lock()
	u.taken = false
	g.queue = slices.Insert(g.queue, 0, u)
	g.mu.Unlock()
}

// runGroup begins a transaction for first and the units queued after it,
// runs them and commits.
func (s *Store) runGroup(first *unit) {
	if err := first.ctx.Err(); err != nil {
		first.done <- dbErr("begin", err)
		return
	}
	// The transaction's own context: cancelled only if first's context
	// ends while BEGIN waits. database/sql rolls a transaction back when
	// the context it began with ends, so it must not be first's.
	tctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := context.AfterFunc(first.ctx, cancel)
	tx, err := s.w.BeginTx(tctx, nil)
	if !stop() {
		// first's context ended while beginning: the transaction, if
		// any, is being rolled back with tctx.
		if err == nil {
			_ = tx.Rollback()
		}
		first.done <- dbErr("begin", first.ctx.Err())
		return
	}
	if err != nil {
		first.done <- dbErr("begin", err)
		return
	}

	// The first unit runs without a savepoint: when it fails, the
	// transaction holds nothing else and is rolled back whole.
	if err := first.run(tx); err != nil {
		_ = tx.Rollback()
		first.done <- err
		return
	}
	ok := []*unit{first}
	for u := s.group.next(len(ok)); u != nil; u = s.group.next(len(ok)) {
		if err := u.ctx.Err(); err != nil {
			u.done <- dbErr("begin", err)
			continue
		}
		if _, err := tx.ExecContext(tctx, "SAVEPOINT unit"); err != nil {
			s.group.requeue(u)
			s.failGroup(tx, ok, err)
			return
		}
		ferr := u.run(tx)
		if ferr == nil {
			if _, err := tx.ExecContext(tctx, "RELEASE unit"); err != nil {
				u.done <- dbErr("release savepoint", err)
				s.failGroup(tx, ok, err)
				return
			}
			ok = append(ok, u)
			continue
		}
		// ROLLBACK TO keeps the savepoint: RELEASE ends it. Either
		// failing means SQLite ended the transaction itself (a full
		// disk, an I/O error): nothing of the group is kept.
		_, err := tx.ExecContext(tctx, "ROLLBACK TO unit")
		if err == nil {
			_, err = tx.ExecContext(tctx, "RELEASE unit")
		}
		u.done <- ferr
		if err != nil {
			s.failGroup(tx, ok, err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		for _, u := range ok {
			u.done <- dbErr("commit", err)
		}
		return
	}
	s.group.groups.Add(1)
	s.group.units.Add(int64(len(ok)))
	for _, u := range ok {
		u.done <- nil
	}
}

// GroupStats answers how many group transactions the store has
// committed, and how many writes they held.
func (s *Store) GroupStats() (groups, writes int64) {
	return s.group.groups.Load(), s.group.units.Load()
}

// failGroup rolls the group's transaction back and answers each unit of
// it that had succeeded: its writes are gone with the group's, through no
// fault of its own, so the answer is that the database is unavailable
// (the client may try again).
func (s *Store) failGroup(tx *sql.Tx, ok []*unit, cause error) {
	_ = tx.Rollback()
	err := fmt.Errorf("sqlite: the transaction this write was grouped with failed: %w: %w", grantd.ErrUnavailable, cause)
	for _, u := range ok {
		u.done <- err
	}
}
