package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/grantd/grantd/internal/store/sqlstore"
)

// maxStmts bounds the statements a pool keeps prepared. grantd's queries
// are a fixed set of texts (a few dozen) plus the filters of list pages;
// past the bound a query runs unprepared, as every query did before.
const maxStmts = 256

// stmts is the prepared statements of one pool (the writer or the
// readers), keyed by their SQL text. modernc.org/sqlite prepares a
// statement on every call that is not made on a *sql.Stmt, and preparing
// was about a fifth of every request's time; a *sql.Stmt is safe for
// concurrent use, is prepared once on each connection that runs it, and
// is prepared again by database/sql on a connection that replaced a
// closed one. SQLite itself prepares a statement again when the schema
// changed under it (sqlite3_prepare_v2), so a migration by another
// process does not break one.
//
// Preparing needs a connection of the pool, so it is never done inside a
// transaction: the writer has one connection, which the transaction
// holds. A transaction runs a statement that is already prepared through
// tx.StmtContext (the statement the connection has prepared) and any
// other unprepared, remembering it; once the transaction is over, the
// ones it missed are prepared on the pool (warm).
type stmts struct {
	db     *sql.DB
	m      sync.Map // string → *sql.Stmt
	n      atomic.Int64
	closed atomic.Bool
}

func newStmts(db *sql.DB) *stmts { return &stmts{db: db} }

// lookup answers the statement prepared for query, or nil.
func (c *stmts) lookup(query string) *sql.Stmt {
	if v, ok := c.m.Load(query); ok {
		return v.(*sql.Stmt)
	}
	return nil
}

// prepare answers the statement for query, preparing it when the pool
// has none yet; nil (and the query runs unprepared) when it cannot be
// prepared (the bound is reached, the store is closing, or the SQL does
// not prepare, whose error the unprepared run then answers as before).
// It must not be called inside a transaction of the pool.
func (c *stmts) prepare(ctx context.Context, query string) *sql.Stmt {
	if st := c.lookup(query); st != nil {
		return st
	}
	if c.closed.Load() || c.n.Load() >= maxStmts {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if v, loaded := c.m.LoadOrStore(query, st); loaded {
		_ = st.Close() // a concurrent call prepared it first
		return v.(*sql.Stmt)
	}
	c.n.Add(1)
	if c.closed.Load() {
		// Close ran between the check above and the store: it may not
		// have seen this one.
		_ = st.Close()
		return nil
	}
	return st
}

// warm prepares the queries a transaction ran unprepared.
func (c *stmts) warm(ctx context.Context, queries []string) {
	for _, q := range queries {
		c.prepare(ctx, q)
	}
}

// len answers how many statements are prepared.
func (c *stmts) len() int { return int(c.n.Load()) }

// close closes every statement; later queries run unprepared.
func (c *stmts) close() error {
	c.closed.Store(true)
	var errs []error
	c.m.Range(func(k, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		c.m.Delete(k)
		return true
	})
	return errors.Join(errs...)
}

// poolQuerier runs single statements on a pool, each prepared once.
type poolQuerier struct{ c *stmts }

func (p poolQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	var res sql.Result
	var err error
	if st := p.c.prepare(ctx, query); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = p.c.db.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (p poolQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	if st := p.c.prepare(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.c.db.QueryRowContext(ctx, query, args...)
}

func (p poolQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	var rows *sql.Rows
	var err error
	if st := p.c.prepare(ctx, query); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = p.c.db.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

// txQuerier runs the statements of one transaction: the pool's prepared
// statement where there is one, otherwise unprepared, noting the query
// in missed for warm. When ctx is set, every statement runs with it
// instead of the one it is given (a unit of a group: see group).
type txQuerier struct {
	tx     *sql.Tx
	c      *stmts
	missed *[]string
	ctx    context.Context
}

func (t txQuerier) use(ctx context.Context) context.Context {
	if t.ctx != nil {
		return t.ctx
	}
	return ctx
}

// stmt answers the transaction's use of query's prepared statement, or
// nil.
func (t txQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := t.c.lookup(query); st != nil {
		return t.tx.StmtContext(ctx, st)
	}
	if len(*t.missed) < maxStmts {
		*t.missed = append(*t.missed, query)
	}
	return nil
}

func (t txQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	ctx = t.use(ctx)
	var res sql.Result
	var err error
	if st := t.stmt(ctx, query); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = t.tx.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t txQuerier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	ctx = t.use(ctx)
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

func (t txQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	ctx = t.use(ctx)
	var rows *sql.Rows
	var err error
	if st := t.stmt(ctx, query); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = t.tx.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}
