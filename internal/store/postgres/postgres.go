// Package postgres is the grantd.Store on PostgreSQL, through pgx/v5 and a
// pgxpool connection pool. The queries are internal/store/sqlstore's;
// this package supplies PostgreSQL's dialect, the pool, transactions
// (retried, with bounded rollbacks) and migrations.
//
// It answers exactly what the SQLite store answers (both run
// internal/store/storetest), in PostgreSQL's own types: timestamptz for
// times (microsecond precision, the SQLite store's unit), text[] for
// lists, boolean, bytea, and COLLATE "C" on ids so that ties in lists
// break in byte order.
//
// # Concurrency
//
// Transactions run at READ COMMITTED, and every read-then-write locks the
// rows it decides on before reading them (SELECT … FOR UPDATE): a second
// transaction on the same row waits for the first to commit and then
// reads what it wrote. That is how, of 50 concurrent redemptions of one
// code, exactly one wins and the other 49 see a used code.
//
// Everything that changes a grant's codes or refresh tokens (redeeming,
// rotating, revoking, deleting the grant or its client) first locks the
// grant's row. That one lock orders all of them: a revocation of the whole
// grant (reuse detection) cannot miss a successor that a concurrent
// rotation is about to commit, and two such operations never lock each
// other's token rows in opposite orders. The lock order is always grant,
// then code or refresh token, then revoked_jtis.
//
// PostgreSQL may still abort a transaction as a deadlock victim (40P01)
// or a serialization failure (40001), for instance when garbage collection
// meets a revocation. Such a transaction is run again from the start, a
// few times, so an updater (or the function given to InGrant) may run
// more than once per call. That is harmless for callbacks that, as the
// Store contract asks, set their results afresh on each run: the last
// run's answer is what is committed (the token endpoint keeps the tokens
// of the last run, minted afresh each time).
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a grantd.Store on a PostgreSQL database. It is safe for
// concurrent use, and by several processes on one database.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
}

var _ grantd.Store = (*Store)(nil)

// Open connects to the database named by dsn, a PostgreSQL URL
// (postgres://user:password@host:5432/db?sslmode=…) or key=value string;
// every parameter pgx knows is honoured, among them pool_max_conns and
// search_path (the schema grantd's tables live in). It checks that the
// server answers but does not touch the schema: call Migrate.
//
// Without pool_max_conns the pool opens at most DefaultMaxConns()
// connections, not pgx's own default (see DefaultMaxConns).
//
// Errors never quote dsn, which may hold a password.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return openWith(ctx, dsn, nil)
}

// openWith is Open with tracer (when non-nil) on every connection: the
// tests count the statements, and so the round trips, of an operation.
func openWith(ctx context.Context, dsn string, tracer pgx.QueryTracer) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the connection string with the password
		// removed as far as it can tell; an unparseable string is exactly
		// where it cannot tell, so say only what is wrong in general.
		return nil, errors.New("postgres: the connection string does not parse; want postgres://user:password@host:port/database?param=value")
	}
	// pgxpool takes pool_max_conns out of the parameters it keeps, so ask
	// the connection's own parse whether the DSN named it.
	if pc, err := pgconn.ParseConfig(dsn); err == nil {
		if _, set := pc.RuntimeParams["pool_max_conns"]; !set {
			cfg.MaxConns = DefaultMaxConns()
		}
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		// pgx answers timestamptz in the process's local zone; the Store
		// answers UTC, as the SQLite store does.
		conn.TypeMap().RegisterType(&pgtype.Type{
			Name:  "timestamptz",
			OID:   pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}
	if tracer != nil {
		cfg.ConnConfig.Tracer = tracer
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s := &Store{pool: pool}
	s.Store = sqlstore.New(backend{s: s})
	return s, nil
}

// DefaultMaxConns is the pool's bound when the DSN has no pool_max_conns:
// 4 × GOMAXPROCS, at least 16 and at most 32. A unit of work holds its
// connection for several round trips and a commit that waits on the
// server's WAL flush, during which this process has nothing to compute;
// pgx's default (the number of CPUs, at least 4) leaves requests queueing
// for a connection while the CPUs idle. On 2 CPUs, 16 refreshes at once
// went about 30 % faster with 16 connections than with 8, and 32 were no
// faster than 16 (docs/PERFORMANCE.md). The upper bound keeps a few nodes
// on large machines under PostgreSQL's default max_connections (100).
func DefaultMaxConns() int32 {
	return min(max(16, 4*int32(runtime.GOMAXPROCS(0))), 32)
}

func provider(db *sql.DB) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	// The global registry holds Go migrations registered by init
	// functions; grantd has none, and ignoring it keeps the store free of
	// package-level state.
	return goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
}

// withMigrationLock runs fn with a goose provider while holding the
// schema's migration lock.
//
// goose needs a *sql.DB: it gets one through pgx's database/sql adapter,
// on connections of its own with the pool's settings (search_path
// included), so that migrating never competes with the pool, even with
// pool_max_conns=1.
//
// The lock is a session-level advisory lock keyed by the schema the
// tables go to (current_schema()), taken on a dedicated connection that
// is closed afterwards, so the lock can never outlive the call. goose has
// a locker of its own, but it guards only the migrations themselves: the
// version table is created before, unguarded, and concurrent starts
// collide there and retry after a second. Holding the lock around the
// whole of goose's work serialises all of it, and lets a check for
// pending migrations wait for one that is being applied rather than
// report it pending. Installations in different schemas of one database
// do not wait for each other.
func (s *Store) withMigrationLock(ctx context.Context, fn func(p *goose.Provider) error) error {
	connCfg := s.pool.Config().ConnConfig
	lockConn, err := pgx.ConnectConfig(ctx, connCfg.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// Closing the session releases its advisory lock, whatever happens.
	defer lockConn.Close(context.WithoutCancel(ctx))
	var schema *string
	if err := lockConn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	if schema == nil {
		return errors.New("no schema to create tables in: the search_path names no existing schema")
	}
	key := lockKey(*schema)
	if _, err := lockConn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}

	db := stdlib.OpenDB(*connCfg.Copy())
	defer db.Close()
	p, err := provider(db)
	if err != nil {
		return err
	}
	return fn(p)
}

// lockKey is the advisory lock key of migrations in schema.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("grantd migrate\x00" + schema))
	return int64(h.Sum64())
}

// Migrate applies the schema migrations that have not been applied yet.
// Running it on an up-to-date database does nothing. Several processes
// may run it at once (every node of a cluster starting together): they
// take turns, and the later ones find nothing to do.
func (s *Store) Migrate(ctx context.Context) error {
	err := s.withMigrationLock(ctx, func(p *goose.Provider) error {
		_, err := p.Up(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// MigrationsPending reports whether the schema is behind this binary, so
// that serve --no-migrate can refuse to start on an old schema instead of
// failing on the first request.
func (s *Store) MigrationsPending(ctx context.Context) (bool, error) {
	var pending bool
	err := s.withMigrationLock(ctx, func(p *goose.Provider) error {
		var err error
		pending, err = p.HasPending(ctx)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("postgres: migrations: %w", err)
	}
	return pending, nil
}

// Ping answers nil while the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return dbErr("ping", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// maxAttempts bounds how often a transaction aborted by PostgreSQL as a
// deadlock victim or serialization failure is run again.
const maxAttempts = 5

// write runs fn in one READ COMMITTED transaction and commits when fn
// answers nil. fn's error is returned unchanged (an updater's
// *grantd.Error must reach the caller intact); nothing fn wrote survives
// it. fn must set every result it hands out of the closure on each run:
// it runs again when PostgreSQL aborts the transaction (see the package
// documentation).
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.writeOnce(ctx, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		// A short, growing pause lets the transaction that won the
		// conflict finish before this one tries again.
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 5 * time.Millisecond):
		}
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return dbErr("begin", err)
	}
	if err := fn(tx); err != nil {
		rollback(ctx, tx)
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return dbErr("commit", err)
	}
	return nil
}

// rollbackGrace bounds a rollback that runs after the call's context has
// ended.
const rollbackGrace = time.Second

// rollback ends tx without keeping anything. While ctx lives it bounds the
// rollback; once ctx has ended the rollback still gets the connection
// back in order (rather than closing it), but for rollbackGrace at most,
// so that a server that stopped answering cannot hold the caller. A
// statement interrupted by ctx has closed its connection already, and
// then this returns at once.
func rollback(ctx context.Context, tx pgx.Tx) {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), rollbackGrace)
		defer cancel()
	}
	_ = tx.Rollback(ctx)
}

// retryable reports whether PostgreSQL aborted the transaction only
// because of another one, or a unit of work found its grant created by a
// concurrent one (sqlstore.ErrGrantRaced), so that running it again can succeed.
func retryable(err error) bool {
	if errors.Is(err, sqlstore.ErrGrantRaced) {
		return true
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", // serialization_failure
		"40P01": // deadlock_detected
		return true
	}
	return false
}

// read runs fn in one read-only REPEATABLE READ transaction, so that a
// page and its total come from the same snapshot.
func (s *Store) read(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return dbErr("begin", err)
	}
	defer rollback(ctx, tx) // read-only: there is nothing to keep
	return fn(tx)
}

// ConnStats answers the pool's connections now: in use (acquired), idle,
// and the most the pool may open.
func (s *Store) ConnStats() (inUse, idle, maxOpen int) {
	st := s.pool.Stat()
	return int(st.AcquiredConns()), int(st.IdleConns()), int(st.MaxConns())
}
