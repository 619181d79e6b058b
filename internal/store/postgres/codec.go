package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/grantd/grantd"
)

// querier is what *pgxpool.Pool and pgx.Tx share, so that one helper
// serves both a plain statement and one inside a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ts is how a time is stored: to the microsecond, the precision of
// timestamptz and of the SQLite store. The truncation is spelled out
// (rather than left to the driver) so that both backends provably drop
// the same nanoseconds.
func ts(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// nullTS stores an optional time; nil is NULL.
func nullTS(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// list stores a string slice as a text[]; nil is '{}' (pgx would send
// NULL), so that the column is never NULL.
func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// dbErr translates a driver error into the Store's sentinels. what names
// the operation for the message; it never holds a secret or its hash.
func dbErr(what string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, grantd.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w", what, grantd.ErrAlreadyExists)
		case "23503": // foreign_key_violation
			// The row refers to a user, client or grant that does not
			// exist (or was just deleted): for the caller that is a
			// missing row, not a server fault.
			return fmt.Errorf("%s: a referenced row is missing: %w", what, grantd.ErrNotFound)
		case "22021": // character_not_in_repertoire: a NUL byte or invalid UTF-8
			// PostgreSQL text cannot hold such a value, so no row is keyed
			// by it: a lookup by one (a client_id from a request) finds
			// nothing, as it does on SQLite.
			return fmt.Errorf("%s: %w", what, grantd.ErrNotFound)
		}
	}
	if unavailable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", what, grantd.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// unavailable reports whether err means the database cannot do the work
// now but may later: the call's context ended (while it ran, waited for a
// row lock or for a connection of the pool), the server cannot be reached
// or dropped the connection, or it refuses for the time being (shutting
// down or starting, out of connections or disk, read-only, a statement
// or lock timeout).
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err) {
		return true
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) {
		return true
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch {
	case strings.HasPrefix(pe.Code, "08"), // connection_exception
		strings.HasPrefix(pe.Code, "53"): // insufficient_resources: disk_full, out_of_memory, too_many_connections
		return true
	}
	switch pe.Code {
	case "57P01", // admin_shutdown
		"57P02", // crash_shutdown
		"57P03", // cannot_connect_now
		"57014", // query_canceled (statement_timeout)
		"55P03", // lock_not_available (lock_timeout)
		"25006": // read_only_sql_transaction (a hot standby, default_transaction_read_only)
		return true
	}
	return false
}
