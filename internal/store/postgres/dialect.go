package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd/internal/store/sqlstore"
)

// dialect is PostgreSQL's sqlstore.Dialect: $n placeholders, timestamptz
// and text[] in pgx's own types, and row locks (see the package
// documentation for the lock order).
type dialect struct{}

// Rebind numbers the ? of a query: $1, $2, … The shared queries hold no
// ? of their own (no literal, no jsonb operator).
func (dialect) Rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (dialect) Time(t time.Time) any           { return ts(t) }
func (dialect) NullTime(t *time.Time) any      { return nullTS(t) }
func (dialect) List(l []string) any            { return list(l) }
func (dialect) ScanTime(t *time.Time) any      { return t }
func (dialect) ScanNullTime(t **time.Time) any { return t }
func (dialect) ScanList(l *[]string) any       { return l }
func (dialect) ForUpdate() string              { return "FOR UPDATE" }
func (dialect) GrantLock() string              { return "FOR NO KEY UPDATE" }
func (dialect) ByteOrder(col string) string    { return col + ` COLLATE "C"` }
func (dialect) NoLimit() any                   { return nil } // LIMIT NULL
func (dialect) ListContains(col string) string { return `? = ANY (` + col + `)` }

// LikeEscape: E'\\' is one backslash whatever standard_conforming_strings
// says.
func (dialect) LikeEscape() string               { return `ESCAPE E'\\'` }
func (dialect) Greatest() string                 { return "greatest" }
func (dialect) Ago() string                      { return `(clock_timestamp() - ?::bigint * interval '1 microsecond')` }
func (dialect) Err(what string, err error) error { return dbErr(what, err) }

// pgQuerier runs sqlstore's queries on the pool or a pgx.Tx.
type pgQuerier struct{ q querier }

func (p pgQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (p pgQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return p.q.QueryRow(ctx, query, args...)
}

func (p pgQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return p.q.Query(ctx, query, args...)
}

// backend is what the shared store runs on: the dialect and the pool.
type backend struct {
	dialect
	s *Store
}

func (b backend) Write(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	return b.s.write(ctx, func(tx pgx.Tx) error { return fn(pgQuerier{tx}) })
}

func (b backend) Read(ctx context.Context, fn func(q sqlstore.Querier) error) error {
	return b.s.read(ctx, func(tx pgx.Tx) error { return fn(pgQuerier{tx}) })
}

func (b backend) Reader() sqlstore.Querier { return pgQuerier{b.s.pool} }
func (b backend) Writer() sqlstore.Querier { return pgQuerier{b.s.pool} }
