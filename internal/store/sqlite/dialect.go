package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/grantd/grantd/internal/store/sqlstore"
)

// dialect is SQLite's sqlstore.Dialect: ? placeholders, times as
// microseconds, lists as JSON, and no row locks (a write transaction
// begins IMMEDIATE on the one writer connection, so it holds every lock
// from its start).
type dialect struct{}

func (dialect) Rebind(query string) string     { return query }
func (dialect) Time(t time.Time) any           { return micros(t) }
func (dialect) NullTime(t *time.Time) any      { return nullMicros(t) }
func (dialect) List(l []string) any            { return list(l) }
func (dialect) ScanTime(t *time.Time) any      { return timeCol{t} }
func (dialect) ScanNullTime(t **time.Time) any { return nullTimeCol{t} }
func (dialect) ScanList(l *[]string) any       { return listCol{l} }
func (dialect) ForUpdate() string              { return "" }
func (dialect) GrantLock() string              { return "" }
func (dialect) ByteOrder(col string) string    { return col }
func (dialect) NoLimit() any                   { return -1 }
func (dialect) ListContains(col string) string {
	return `EXISTS (SELECT 1 FROM json_each(clients.` + col + `) WHERE json_each.value = ?)`
}
func (dialect) LikeEscape() string               { return `ESCAPE '\'` }
func (dialect) Greatest() string                 { return "max" }
func (dialect) Ago() string                      { return `(CAST(unixepoch('subsec') * 1000000 AS INTEGER) - ?)` }
func (dialect) Err(what string, err error) error { return dbErr(what, err) }

// sqlQuerier runs sqlstore's queries on a *sql.DB or *sql.Tx.
type sqlQuerier struct{ q querier }

func (s sqlQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqlQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return s.q.QueryRowContext(ctx, query, args...)
}

func (s sqlQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := s.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// sqlRows are *sql.Rows as sqlstore.Rows.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// backend is what the shared store runs on: the dialect, the writer
// connection and the readers.
type backend struct {
	dialect
	s *Store
}

func (b backend) Write(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	var missed []string
	err := b.s.write(ctx, func(tx *sql.Tx, ctx context.Context) error {
		return fn(txQuerier{tx: tx, c: b.s.ws, missed: &missed, ctx: ctx})
	})
	b.s.ws.warm(ctx, missed)
	return err
}

func (b backend) Read(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	var missed []string
	err := b.s.read(ctx, func(tx *sql.Tx) error { return fn(txQuerier{tx: tx, c: b.s.rs, missed: &missed}) })
	b.s.rs.warm(ctx, missed)
	return err
}

func (b backend) Reader() sqlstore.Querier { return poolQuerier{b.s.rs} }

// Writer runs a single statement as a write of its own, grouped with the
// others (group.go).
func (b backend) Writer() sqlstore.Querier { return writeQuerier{b} }

// writeQuerier runs each Exec as one unit of the writer's groups. Reads
// through it go to the writer's pool directly; the shared store reads
// nothing through Writer.
type writeQuerier struct{ b backend }

func (w writeQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := w.b.Write(ctx, func(q sqlstore.Querier) error {
		var err error
		n, err = q.Exec(ctx, query, args...)
		return err
	})
	return n, err
}

func (w writeQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return poolQuerier{w.b.s.ws}.QueryRow(ctx, query, args...)
}

func (w writeQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return poolQuerier{w.b.s.ws}.Query(ctx, query, args...)
}

// on answers the shared queries on q.
func on(q querier) sqlstore.DB { return sqlstore.On(sqlQuerier{q}, dialect{}) }
