// Package sqlite is the grantd.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go). The queries are internal/store/sqlstore's;
// this package supplies SQLite's dialect, connections, transactions and
// migrations.
//
// The store keeps two connection pools on the same file. Every write goes
// through a pool of exactly one connection whose transactions begin with
// BEGIN IMMEDIATE: the write lock is taken before the first read of a
// read-then-write (an updater, a unit of work of InGrant), so
// two such transactions can never interleave, and goroutines of this
// process queue for the connection in Go instead of sleeping in SQLite's
// busy handler. Reads go through a separate pool of read-only connections;
// in WAL mode they see the last committed state and never wait for the
// writer. Other processes on the same file (the CLI next to a running
// server) are kept in order by busy_timeout.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout is how long a connection waits for another process's lock
// before failing with SQLITE_BUSY, in milliseconds.
const busyTimeout = "10000"

// Store is a grantd.Store on one SQLite file. It is safe for concurrent use.
type Store struct {
	*sqlstore.Store
	w  *sql.DB // one connection; every transaction is BEGIN IMMEDIATE
	r  *sql.DB // read-only connections
	ws *stmts  // the statements prepared on w
	rs *stmts  // and on r

	group group // the writes queued for w (group.go)
}

var _ grantd.Store = (*Store)(nil)

// Options are the settings of a store beyond its file.
type Options struct {
	// Synchronous is SQLite's synchronous setting of the writer: "normal"
	// (the default when "") or "full". In WAL mode both keep every
	// committed transaction through a crash of the process; "full" also
	// keeps them through a crash of the machine or a power loss, at the
	// cost of an fsync on every commit (docs/OPERATIONS.md, Durability).
	Synchronous string
}

// Synchronous values Options accepts.
const (
	SynchronousNormal = "normal"
	SynchronousFull   = "full"
)

// Open opens the database file at path with the default Options.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith opens the database file at path, creating it if it does not exist.
// It does not touch the schema: call Migrate (grantd serve does unless
// --no-migrate; grantd migrate does nothing else).
//
// path must name a file: the writer and the readers are separate
// connections, and an in-memory database is private to one connection.
func OpenWith(ctx context.Context, path string, o Options) (*Store, error) {
	sync := o.Synchronous
	switch sync {
	case "":
		sync = SynchronousNormal
	case SynchronousNormal, SynchronousFull:
	default:
		return nil, fmt.Errorf("sqlite: synchronous %q: want normal or full", o.Synchronous)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil, errors.New("sqlite: the database must be a file, not in memory")
	}

	// The pragmas go in the DSN so that the driver applies them to every
	// connection it opens, including ones database/sql reopens later.
	// busy_timeout is applied first by the driver, before journal_mode needs
	// a lock. WAL and synchronous=NORMAL: commits do not fsync; a crash of
	// the process loses nothing committed (the WAL is in the OS's cache), a
	// power loss may lose the last transactions, never consistency.
	// synchronous=FULL fsyncs the WAL on every commit and loses nothing.
	w, err := sql.Open("sqlite", dsn(path,
		"_pragma=busy_timeout("+busyTimeout+")",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous("+strings.ToUpper(sync)+")",
		"_pragma=foreign_keys(1)",
		"_txlock=immediate",
	))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Connect the writer before any reader so that the file is in WAL mode
	// (a property of the file, kept across connections) before readers
	// use it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	// Readers need neither journal_mode (already set on the file) nor
	// synchronous (they never commit); query_only turns a write sent to the
	// wrong pool into an error instead of a lock the writer waits for.
	r, err := sql.Open("sqlite", dsn(path,
		"_pragma=busy_timeout("+busyTimeout+")",
		"_pragma=foreign_keys(1)",
		"_query_only=1",
	))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{w: w, r: r, ws: newStmts(w), rs: newStmts(r)}
	s.Store = sqlstore.New(backend{s: s})
	s.startGroup()
	return s, nil
}

// dsn makes a SQLite URI for path with the driver's parameters. The URI
// form lets a path hold '?' or '#', which a plain file name cannot.
func dsn(path string, params ...string) string {
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + escaped + "?" + strings.Join(params, "&")
}

func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	// The global registry holds Go migrations registered by init
	// functions; grantd has none, and ignoring it keeps the store free of
	// package-level state.
	return goose.NewProvider(goose.DialectSQLite3, s.w, fsys, goose.WithDisableGlobalRegistry(true))
}

// Migrate applies the schema migrations that have not been applied yet.
// Running it on an up-to-date database does nothing.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		// Another process (a second grantd on the same file) may have
		// applied the same migration between goose's version check and
		// its transaction, which then fails on a table that already
		// exists. If nothing is pending now, the schema is what we wanted.
		if pending, perr := p.HasPending(ctx); perr == nil && !pending {
			return nil
		}
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// MigrationsPending reports whether the schema is behind this binary, so
// that serve --no-migrate can refuse to start on an old schema instead of
// failing on the first request.
func (s *Store) MigrationsPending(ctx context.Context) (bool, error) {
	p, err := s.provider()
	if err != nil {
		return false, fmt.Errorf("sqlite: migrations: %w", err)
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("sqlite: migrations: %w", err)
	}
	return pending, nil
}

// Ping answers nil while the database file can be read.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil {
		return dbErr("ping", err)
	}
	return nil
}

// Close closes the prepared statements and both pools. The last connection to close checkpoints the
// WAL into the database file.
func (s *Store) Close() error {
	s.stopGroup()
	return errors.Join(s.rs.close(), s.ws.close(), s.r.Close(), s.w.Close())
}

// read runs fn in one read transaction, so that a page and its total come
// from the same snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return dbErr("begin", err)
	}
	defer tx.Rollback() // read-only: there is nothing to keep
	return fn(tx)
}

// ConnStats answers the database's connections now, the writer's and the
// readers' together: in use, idle, and the most that may be open.
func (s *Store) ConnStats() (inUse, idle, maxOpen int) {
	for _, db := range []*sql.DB{s.w, s.r} {
		st := db.Stats()
		inUse += st.InUse
		idle += st.Idle
		maxOpen += st.MaxOpenConnections
	}
	return inUse, idle, maxOpen
}

// Backup writes a consistent copy of the whole database to path with
// VACUUM INTO, while other processes keep reading and writing it. path
// must not exist; it is created readable by its owner only, since the
// database holds password hashes and sealed keys.
func (s *Store) Backup(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	f.Close()
	// The writer's connection: the readers are query_only. VACUUM INTO
	// reads in one transaction, so the copy is one moment of the database.
	if _, err := s.w.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return fmt.Errorf("sqlite: backup to %s: %w", path, err)
	}
	return nil
}
