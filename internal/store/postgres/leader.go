package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Elector is the leader lock of the nodes of a deployment on one
// PostgreSQL database (a leader.Elector): a session-level advisory lock,
// keyed by the schema the tables are in, so that installations in
// different schemas of one database each have their leader.
//
// It keeps one connection of its own, outside the pool, for as long as it
// is used: a session-level lock lives exactly as long as the session that
// took it, so PostgreSQL releases it when the leader exits, crashes or
// loses its connection, and another node takes it at its next try. Lead
// checks on that connection, in pg_locks, that this very session holds
// the lock; any failure drops the connection (releasing the lock, if the
// server still had it) and answers false, so a node that cannot reach the
// database stops leading at its next check.
//
// The connection must reach PostgreSQL itself or a pooler in session
// mode: behind a transaction-mode pooler (PgBouncer's pool_mode =
// transaction) a session lock is taken on whichever server connection the
// pooler lends, and the check in pg_locks then fails, so no node leads
// for long (and the log says why).
type Elector struct {
	cfg *pgx.ConnConfig

	mu   sync.Mutex
	conn *pgx.Conn // the lock's session; nil until connected, or once lost
	key  int64     // the lock's key, set at connect
	held bool      // this session took the lock
}

// NewElector answers the Elector of the database named by dsn (as Open
// takes it, search_path included). It connects at the first Lead.
func NewElector(dsn string) (*Elector, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("postgres: the connection string does not parse; want postgres://user:password@host:port/database?param=value")
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if cfg.RuntimeParams["application_name"] == "" {
		// Seen in pg_stat_activity and pg_locks' sessions.
		cfg.RuntimeParams["application_name"] = "grantd leader lock"
	}
	return &Elector{cfg: cfg}, nil
}

// leaderKey is the advisory lock key of the leader of schema.
func leaderKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("grantd leader\x00" + schema))
	return int64(h.Sum64())
}

// Lead takes the lock if it is free, or checks that this session still
// holds it.
func (e *Elector) Lead(ctx context.Context) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		if err := e.connect(ctx); err != nil {
			return false, fmt.Errorf("postgres: leader lock: %w", err)
		}
	}
	if e.held {
		var still bool
		// A bigint advisory lock shows in pg_locks as classid (the high
		// 32 bits) and objid (the low ones), with objsubid 1.
		err := e.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND pid = pg_backend_pid()
			AND ((classid::int8 << 32) | objid::int8) = $1)`, e.key).Scan(&still)
		if err != nil {
			e.drop()
			return false, fmt.Errorf("postgres: leader lock: the session holding it is lost: %w", err)
		}
		if !still {
			e.drop()
			return false, errors.New("postgres: leader lock: this session no longer holds it (is the connection going through a transaction-mode pooler?)")
		}
		return true, nil
	}
	var got bool
	if err := e.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, e.key).Scan(&got); err != nil {
		e.drop()
		return false, fmt.Errorf("postgres: leader lock: %w", err)
	}
	e.held = got
	return got, nil
}

func (e *Elector) connect(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, e.cfg.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	var schema *string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		closeConn(conn)
		return err
	}
	if schema == nil {
		closeConn(conn)
		return errors.New("the search_path names no existing schema")
	}
	e.conn, e.key, e.held = conn, leaderKey(*schema), false
	return nil
}

// drop closes the session, which releases the lock if the server still
// had it.
func (e *Elector) drop() {
	closeConn(e.conn)
	e.conn, e.held = nil, false
}

// closeConn closes conn, waiting for a server that does not answer for a
// second at most.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// Resign releases the lock and closes its session. The lock is released
// explicitly first, so that another node can take it the moment Resign
// returns; were that to fail, closing the session releases it as soon as
// the server notices.
func (e *Elector) Resign(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return nil
	}
	var err error
	if e.held {
		_, err = e.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, e.key)
	}
	e.drop()
	if err != nil {
		return fmt.Errorf("postgres: leader lock: release: %w", err)
	}
	return nil
}
