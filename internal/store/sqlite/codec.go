package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/grantd/grantd"
)

// querier is what *sql.DB and *sql.Tx share, so that one read helper serves
// both a plain read and the read at the start of a write transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// micros is how a time is stored: microseconds since the epoch, UTC. Finer
// precision is dropped so that SQLite and PostgreSQL (timestamptz) answer
// the very same values.
func micros(t time.Time) int64 { return t.UnixMicro() }

// nullMicros stores an optional time; nil is NULL.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// list stores a string slice as a JSON array; nil is "[]" so that
// json_each and the PostgreSQL twin's jsonb operators never see NULL.
func list(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, err := json.Marshal(l)
	if err != nil {
		panic("sqlite: marshal []string: " + err.Error()) // cannot fail for []string
	}
	return string(b)
}

// timeCol scans a stored time into a time.Time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	n, ok := v.(int64)
	if !ok {
		return fmt.Errorf("sqlite: time column holds %T, want integer", v)
	}
	*c.t = time.UnixMicro(n).UTC()
	return nil
}

// nullTimeCol scans an optional stored time; NULL is nil.
type nullTimeCol struct{ t **time.Time }

func (c nullTimeCol) Scan(v any) error {
	if v == nil {
		*c.t = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(v); err != nil {
		return err
	}
	*c.t = &t
	return nil
}

// listCol scans a JSON array into a string slice; an empty array is nil.
type listCol struct{ l *[]string }

func (c listCol) Scan(v any) error {
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("sqlite: list column holds %T, want text", v)
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("sqlite: list column: %w", err)
	}
	if len(l) == 0 {
		l = nil
	}
	*c.l = l
	return nil
}

// dbErr translates a driver error into the Store's sentinels. what names
// the operation for the message; it never holds a secret or its hash.
func dbErr(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, grantd.ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%s: %w", what, grantd.ErrAlreadyExists)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			// The row refers to a user, client or grant that does not
			// exist (or was just deleted): for the caller that is a
			// missing row, not a server fault.
			return fmt.Errorf("%s: a referenced row is missing: %w", what, grantd.ErrNotFound)
		}
	}
	if unavailable(err) {
		return fmt.Errorf("sqlite: %s: %w: %w", what, grantd.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

// unavailable reports whether err means the database cannot do the work
// now but may later: the call's context ended (while it ran, waited in
// the busy handler or waited for the writer connection), another process
// holds a lock past busy_timeout, the disk is full or failing, or the
// file cannot be written.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_INTERRUPT,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR:
		return true
	}
	return false
}
