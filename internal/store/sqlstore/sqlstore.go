// Package sqlstore is the storage logic the SQL backends share, written
// once over a small dialect: each query is written here with ? for its
// arguments, and a backend (internal/store/sqlite, internal/store/postgres)
// supplies only what differs between the databases: how arguments are
// numbered, how times and lists are stored, which rows a statement locks
// and how a driver error maps onto grantd's sentinels. A backend also
// owns its connections, its transactions (and their retries) and its
// migrations.
//
// The queries run on a Querier, which both *sql.Tx (SQLite, through
// database/sql) and pgx.Tx (PostgreSQL, through pgx and its pool) satisfy
// through a few lines of adapter in their backend, so that PostgreSQL
// keeps pgx's pool, its context-bounded rollbacks and its native types.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/grantd/grantd"
)

// Querier runs one statement. Exec answers the number of rows affected.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// Rows are the rows of a query, as *sql.Rows and pgx.Rows are.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is one row of a query, as *sql.Row and pgx.Row are.
type Row interface {
	Scan(dest ...any) error
}

// Dialect is what differs between the SQL databases.
type Dialect interface {
	// Rebind turns the ? of a query into the database's placeholders.
	Rebind(query string) string
	// Time, NullTime and List are how a value is passed as an argument;
	// ScanTime, ScanNullTime and ScanList are scan targets for one.
	// NullTime and ScanNullTime map nil to NULL and back; a list is
	// never NULL, and an empty one is scanned as nil or empty (the
	// callers normalise it to nil).
	Time(t time.Time) any
	NullTime(t *time.Time) any
	List(l []string) any
	ScanTime(t *time.Time) any
	ScanNullTime(t **time.Time) any
	ScanList(l *[]string) any
	// ForUpdate is the clause that locks the rows a read decides on
	// until the end of the transaction, or "" where a write transaction
	// holds every lock from its start (SQLite).
	ForUpdate() string
	// GrantLock is the clause that takes a grant's lock (see
	// Store.InGrant), or "" where there is no row lock to take.
	GrantLock() string
	// Greatest is the name of the two-argument maximum function.
	Greatest() string
	// NoLimit is the LIMIT argument that limits nothing.
	NoLimit() any
	// ListContains answers a condition that holds when the list column
	// col holds the one argument (?).
	ListContains(col string) string
	// LikeEscape is the ESCAPE clause that makes \ LIKE's escape
	// character.
	LikeEscape() string
	// ByteOrder answers an ORDER BY term that sorts the text column col
	// in byte order.
	ByteOrder(col string) string
	// Ago is an expression of the database's current time less ?
	// microseconds (one int64 argument), comparable with a time column:
	// the change feed's window is read on the database's clock, the one
	// every node shares.
	Ago() string
	// Err maps a driver error onto grantd's sentinels (ErrNotFound for
	// no row, ErrAlreadyExists, ErrUnavailable); what names the
	// operation and never holds a secret.
	Err(what string, err error) error
}

// DB runs the shared queries on one Querier in one Dialect.
type DB struct {
	q Querier
	d Dialect
}

// On answers a DB that runs on q in d.
func On(q Querier, d Dialect) DB { return DB{q: q, d: d} }

func (db DB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return db.q.Exec(ctx, db.d.Rebind(query), args...)
}

func (db DB) query(ctx context.Context, query string, args ...any) (Rows, error) {
	return db.q.Query(ctx, db.d.Rebind(query), args...)
}

func (db DB) row(ctx context.Context, query string, args ...any) Row {
	return db.q.QueryRow(ctx, db.d.Rebind(query), args...)
}

// lock answers the locking clause when lock is set.
func (db DB) lock(lock bool) string {
	if lock {
		return " " + db.d.ForUpdate()
	}
	return ""
}

// collect scans every row of a query with scan; what names the query
// for errors.
func collect[T any](d Dialect, what string, rows Rows, err error, scan func(Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, d.Err(what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, d.Err(what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, d.Err(what, err)
	}
	return out, nil
}

// mustAffect answers ErrNotFound when a statement keyed by a primary key
// touched no row.
func (db DB) mustAffect(what string, n int64, err error) error {
	if err != nil {
		return db.d.Err(what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, grantd.ErrNotFound)
	}
	return nil
}

// nullStringCol scans an optional text column; NULL is "". Both drivers
// hand a sql.Scanner the text as a string (or bytes). It holds one
// pointer, so that passing it to Scan allocates nothing (a client is read
// on every token request).
type nullStringCol struct{ s *string }

func (c nullStringCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.s = ""
	case string:
		*c.s = v
	case []byte:
		*c.s = string(v)
	default:
		return fmt.Errorf("text column holds %T", v)
	}
	return nil
}

// unlist reads a list; an empty one is nil, as every backend answers.
func unlist(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// ErrGrantRaced: a unit of work created the user's grant for a client
// after it looked for it, and a concurrent one created it first. A backend
// whose transactions do not serialise (PostgreSQL) runs the unit again,
// and then it finds that grant.
var ErrGrantRaced = errors.New("the grant was created by a concurrent unit of work")

// checkAccessExpiry refuses an access jti without an expiry: revoking it
// later needs to know how long to keep the revocation.
func checkAccessExpiry(jti string, expiresAt *time.Time) error {
	if jti != "" && expiresAt == nil {
		return errors.New("auth code: AccessJTI set without AccessExpiresAt")
	}
	return nil
}
