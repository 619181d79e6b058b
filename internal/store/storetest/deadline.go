package storetest

import (
	"context"
	"errors"
	"time"

	"github.com/grantd/grantd"
)

// generous bounds a wait that should end in a fraction of a second: far
// above any machine's noise, far below "never".
const generous = 8 * time.Second

// testHeartbeat: the readiness write succeeds, again and again, on the
// same row.
func testHeartbeat(e env) {
	for i := range 3 {
		e.ok(e.s.Heartbeat(e.ctx, at(time.Duration(i)*time.Second)), "Heartbeat")
	}
}

// testEndedContext: a call whose context has already ended does not touch
// the database and answers ErrUnavailable, reads and writes alike.
func testEndedContext(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	calls := map[string]func() error{
		"Ping":      func() error { return e.s.Ping(ctx) },
		"Heartbeat": func() error { return e.s.Heartbeat(ctx, at(0)) },
		"GetClient": func() error { _, err := e.s.GetClient(ctx, c.ID); return err },
		"ListClients": func() error {
			_, _, err := e.s.ListClients(ctx, grantd.ClientFilter{}, grantd.Page{Number: 1, Size: 10})
			return err
		},
		"CreateUser": func() error { return e.s.CreateUser(ctx, newUser(2)) },
		"UpdateClient": func() error {
			_, err := e.s.UpdateClient(ctx, c.ID, func(c grantd.Client) (grantd.Client, error) { return c, nil })
			return err
		},
		"ListSigningKeys": func() error { _, err := e.s.ListSigningKeys(ctx); return err },
		"GetSession":      func() error { _, err := e.s.GetSession(ctx, hash("s")); return err },
		"DeleteExpired":   func() error { return e.s.DeleteExpired(ctx, at(0)) },
		"DeleteExpiredBatch": func() error {
			_, err := e.s.DeleteExpiredBatch(ctx, grantd.ExpiredSessions, at(0), 10)
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, grantd.ErrUnavailable) {
			e.t.Errorf("%s with an ended context: err = %v, want ErrUnavailable", name, err)
		}
	}
	if _, err := e.s.GetUser(e.ctx, newUser(2).ID); !errors.Is(err, grantd.ErrNotFound) {
		e.t.Errorf("CreateUser with an ended context wrote the user: GetUser = %v", err)
	}
}

// testLockWaitEndsWithContext: a write waiting for another transaction
// (SQLite's one writer connection, PostgreSQL's row lock) gives up when
// its context's deadline passes, answering ErrUnavailable, instead of
// waiting as long as the other one holds on; the other transaction then
// commits and the store serves as before. This is what keeps a request
// from hanging on a database that does not answer.
func testLockWaitEndsWithContext(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))

	inside, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := e.s.UpdateClient(e.ctx, c.ID, func(c grantd.Client) (grantd.Client, error) {
			close(inside)
			<-release // hold the transaction, and its locks, open
			c.Name = "first"
			return c, nil
		})
		first <- err
	}()
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	select {
	case <-inside:
	case <-time.After(generous):
		e.t.Fatal("the first update never ran its updater")
	}

	ctx, cancel := context.WithTimeout(e.ctx, 200*time.Millisecond)
	defer cancel()
	second := make(chan error, 1)
	ran := make(chan struct{}, 1)
	go func() {
		_, err := e.s.UpdateClient(ctx, c.ID, func(c grantd.Client) (grantd.Client, error) {
			ran <- struct{}{}
			c.Name = "second"
			return c, nil
		})
		second <- err
	}()
	select {
	case err := <-second:
		if !errors.Is(err, grantd.ErrUnavailable) {
			e.t.Fatalf("update waiting past its deadline: err = %v, want ErrUnavailable", err)
		}
	case <-time.After(generous):
		e.t.Fatal("an update waiting for a lock ignored its context's deadline")
	}
	select {
	case <-ran:
		e.t.Fatal("the timed-out update ran its updater")
	default:
	}

	close(release)
	released = true
	select {
	case err := <-first:
		e.ok(err, "the first update, after the second gave up")
	case <-time.After(generous):
		e.t.Fatal("the first update never finished")
	}
	got, err := e.s.UpdateClient(e.ctx, c.ID, func(c grantd.Client) (grantd.Client, error) {
		c.Name = c.Name + ", then third"
		return c, nil
	})
	e.ok(err, "an update after the timeout")
	if got.Name != "first, then third" {
		e.t.Fatalf("client name = %q, want %q", got.Name, "first, then third")
	}
}
