package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

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

func (dialect) Time(t time.Time) any             { return ts(t) }
func (dialect) NullTime(t *time.Time) any        { return nullTS(t) }
func (dialect) List(l []string) any              { return list(l) }
func (dialect) ScanTime(t *time.Time) any        { return t }
func (dialect) ScanNullTime(t **time.Time) any   { return t }
func (dialect) ScanList(l *[]string) any         { return l }
func (dialect) ForUpdate() string                { return "FOR UPDATE" }
func (dialect) GrantLock() string                { return "FOR NO KEY UPDATE" }
func (dialect) Greatest() string                 { return "greatest" }
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

// on answers the shared queries on q.
func on(q querier) sqlstore.DB { return sqlstore.On(pgQuerier{q}, dialect{}) }
