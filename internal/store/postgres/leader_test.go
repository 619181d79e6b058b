package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/store/postgres/pgtest"
)

func newElector(t *testing.T, dsn string) *Elector {
	t.Helper()
	e, err := NewElector(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Resign(context.Background()) })
	return e
}

func leads(t *testing.T, e *Elector) bool {
	t.Helper()
	ok, err := e.Lead(t.Context())
	if err != nil {
		t.Fatalf("Lead: %v", err)
	}
	return ok
}

// eventually polls cond for a while: the server ends a terminated session
// a moment after it is told to.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("not within 20 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two nodes on one schema: exactly one leads, however often they ask;
// when the leader's session closes under it (here the server terminates
// it, as when its connection is lost), it learns so at its next Lead and
// the other node takes over. A resignation hands over at once.
func TestElectorOneLeader(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	a, b := newElector(t, dsn), newElector(t, dsn)
	if !leads(t, a) {
		t.Fatal("the first node does not take a free lock")
	}
	for range 3 {
		if leads(t, b) {
			t.Fatal("two nodes lead one schema")
		}
		if !leads(t, a) {
			t.Fatal("the leader stopped leading on its own")
		}
	}

	// Another schema of the same database has a leader of its own.
	if !leads(t, newElector(t, pgtest.Schema(t))) {
		t.Fatal("a node of another schema does not lead it")
	}

	// The server closes the leader's session.
	admin := pgtest.Connect(t, pgtest.ServerDSN(t))
	var terminated bool
	if err := admin.QueryRow(t.Context(), `SELECT pg_terminate_backend($1)`, a.conn.PgConn().PID()).Scan(&terminated); err != nil || !terminated {
		t.Fatalf("terminate the leader's session: %v, %v", terminated, err)
	}
	eventually(t, "the other node leads once the leader's session is gone", func() bool { return leads(t, b) })
	if ok, err := a.Lead(t.Context()); ok || err == nil {
		t.Fatalf("the node whose session was closed: Lead = %v, %v; want false and an error", ok, err)
	}
	if leads(t, a) {
		t.Fatal("the old leader leads again while the other holds the lock")
	}

	// Resigning releases the lock there and then.
	if err := b.Resign(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !leads(t, a) {
		t.Fatal("the lock is not free the moment the leader resigned")
	}
	if leads(t, b) {
		t.Fatal("the node that resigned leads again while the other holds the lock")
	}
}

// A DSN that does not parse is refused without quoting it.
func TestNewElectorRefusesBadDSN(t *testing.T) {
	t.Parallel()
	if _, err := NewElector("postgres://u:secret@[::1"); err == nil {
		t.Fatal("no error")
	} else if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error quotes the password: %v", err)
	}
}
