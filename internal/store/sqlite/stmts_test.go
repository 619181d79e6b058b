package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/grantd/grantd"
)

// TestStatementsPreparedOnce: a query is prepared once per pool and then
// reused, whether it runs alone or inside a transaction (where it is
// prepared after the first transaction that ran it).
func TestStatementsPreparedOnce(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "grantd.db"))
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	use := func(i int) {
		t.Helper()
		if err := s.RevokeJTI(ctx, "alone", exp); err != nil {
			t.Fatal(err)
		}
		if revoked, err := s.IsJTIRevoked(ctx, "alone"); err != nil || !revoked {
			t.Fatalf("IsJTIRevoked: %v, %v; want true", revoked, err)
		}
		if err := s.InGrant(ctx, func(tx grantd.GrantTx) error { return tx.RevokeJTI("in-tx", exp) }); err != nil {
			t.Fatal(err)
		}
	}
	use(0)
	w, r := s.ws.len(), s.rs.len()
	if w == 0 || r == 0 {
		t.Fatalf("after one round, %d statements prepared on the writer and %d on the readers; want some on each", w, r)
	}
	for i := range 20 {
		use(i)
	}
	if s.ws.len() != w || s.rs.len() != r {
		t.Errorf("after 20 more rounds, %d and %d statements prepared; want %d and %d (prepared once)", s.ws.len(), s.rs.len(), w, r)
	}
}

// TestStatementsSurviveReconnect: a pool whose connections were closed
// and opened again, and a schema changed by another connection, leave
// the prepared statements working.
func TestStatementsSurviveReconnect(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "grantd.db")
	s := open(t, path)
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	round := func(what, jti string) {
		t.Helper()
		if err := s.RevokeJTI(ctx, jti, exp); err != nil {
			t.Fatalf("%s: RevokeJTI: %v", what, err)
		}
		if revoked, err := s.IsJTIRevoked(ctx, jti); err != nil || !revoked {
			t.Fatalf("%s: IsJTIRevoked: %v, %v; want true", what, revoked, err)
		}
		if err := s.InGrant(ctx, func(tx grantd.GrantTx) error { return tx.RevokeJTI(jti+"-tx", exp) }); err != nil {
			t.Fatalf("%s: InGrant: %v", what, err)
		}
		if revoked, err := s.IsJTIRevoked(ctx, jti+"-tx"); err != nil || !revoked {
			t.Fatalf("%s: IsJTIRevoked in tx: %v, %v; want true", what, revoked, err)
		}
	}
	round("first", "a")
	round("prepared", "b")
	w, r := s.ws.len(), s.rs.len()

	// Every idle connection of both pools is closed; the next call opens
	// new ones, on which database/sql prepares the statements again.
	for _, db := range []*sql.DB{s.w, s.r} {
		db.SetMaxIdleConns(0)
	}
	s.w.SetMaxIdleConns(1)
	s.r.SetMaxIdleConns(4)
	round("after reconnecting", "c")

	// Another process changes the schema under the prepared statements.
	other := open(t, path)
	if _, err := other.w.ExecContext(ctx, `ALTER TABLE revoked_jtis ADD COLUMN note TEXT`); err != nil {
		t.Fatal(err)
	}
	if _, err := other.w.ExecContext(ctx, `CREATE INDEX revoked_jtis_note ON revoked_jtis (note)`); err != nil {
		t.Fatal(err)
	}
	round("after a schema change", "d")
	if s.ws.len() != w || s.rs.len() != r {
		t.Errorf("%d and %d statements prepared; want the same %d and %d", s.ws.len(), s.rs.len(), w, r)
	}
}

// TestSynchronous: the writer runs with the synchronous setting asked
// for, NORMAL by default; anything else is refused.
func TestSynchronous(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ give, want string }{{"", "1"}, {SynchronousNormal, "1"}, {SynchronousFull, "2"}} {
		s, err := OpenWith(t.Context(), filepath.Join(t.TempDir(), "grantd.db"), Options{Synchronous: tt.give})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := s.w.QueryRowContext(t.Context(), `PRAGMA synchronous`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if got != tt.want {
			t.Errorf("synchronous %q: PRAGMA synchronous = %s, want %s", tt.give, got, tt.want)
		}
	}
	if _, err := OpenWith(t.Context(), filepath.Join(t.TempDir(), "grantd.db"), Options{Synchronous: "off"}); err == nil {
		t.Error("synchronous off was accepted")
	}
}
