package sqlstore

import (
	"context"
	"time"
)

// Kinds of change in the changes table, the feed the caches of every node
// read (internal/store/cache). Each row names one thing that changed; a
// reader drops what it holds of it and reads it again when asked.
const (
	ChangeClient = "client" // key: the client id
	ChangeGrant  = "grant"  // key: the grant id
	ChangeJTI    = "jti"    // key: the revoked jti
	ChangeKeys   = "keys"   // key: the signing key id, or "" for any
	ChangeUser   = "user"   // key: the user id (the answers of their API keys)
)

// Change is one row of the feed.
type Change struct {
	ID        int64
	Kind, Key string
}

// note records that kind/key changed, in the caller's transaction.
func (db DB) note(ctx context.Context, kind, key string) error {
	if _, err := db.exec(ctx, `INSERT INTO changes (kind, key) VALUES (?, ?)`, kind, key); err != nil {
		return db.d.Err("record change", err)
	}
	return nil
}

// noteSelect records a change of kind (a constant) for every value the
// query selectKey (a constant query of one column) answers.
func (db DB) noteSelect(ctx context.Context, kind, selectKey string, args ...any) error {
	if _, err := db.exec(ctx, `INSERT INTO changes (kind, key) SELECT '`+kind+`', k FROM (`+selectKey+`) s`, args...); err != nil {
		return db.d.Err("record change", err)
	}
	return nil
}

// Changes answers the feed's rows recorded within the last lookback, on
// the database's clock, oldest first. Transactions commit in another
// order than they insert, so a reader reads a window, not from a cursor,
// and skips the rows it has seen.
func (s *Store) Changes(ctx context.Context, lookback time.Duration) ([]Change, error) {
	rows, err := s.r().query(ctx, `SELECT id, kind, key FROM changes WHERE at > `+s.b.Ago()+` ORDER BY id`, lookback.Microseconds())
	return collect(s.b, "changes", rows, err, func(r Row) (Change, error) {
		var c Change
		return c, r.Scan(&c.ID, &c.Kind, &c.Key)
	})
}

// RevokedJTIs answers the revoked jtis among jtis with their expiry, or
// every revoked jti when jtis is nil.
func (s *Store) RevokedJTIs(ctx context.Context, jtis []string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	type row struct {
		jti string
		exp time.Time
	}
	scan := func(r Row) (row, error) {
		var x row
		return x, r.Scan(&x.jti, s.b.ScanTime(&x.exp))
	}
	add := func(rs []row) {
		for _, x := range rs {
			out[x.jti] = x.exp
		}
	}
	if jtis == nil {
		rows, err := s.r().query(ctx, `SELECT jti, expires_at FROM revoked_jtis`)
		rs, err := collect(s.b, "revoked jtis", rows, err, scan)
		if err != nil {
			return nil, err
		}
		add(rs)
		return out, nil
	}
	for len(jtis) > 0 {
		n := min(len(jtis), 500)
		in, args := inList(jtis[:n])
		jtis = jtis[n:]
		rows, err := s.r().query(ctx, `SELECT jti, expires_at FROM revoked_jtis WHERE jti IN `+in, args...)
		rs, err := collect(s.b, "revoked jtis", rows, err, scan)
		if err != nil {
			return nil, err
		}
		add(rs)
	}
	return out, nil
}

// changesKept is how long the feed's rows are kept: far longer than any
// reader's window.
const changesKept = time.Hour
