package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// changesChannel is the channel the changes table's trigger notifies at
// the commit of every transaction that records a change (migration 00006).
const changesChannel = "grantd_changes"

// Listen calls wake on every notification of a recorded change, until ctx
// ends, on a connection of its own (a listening session cannot go back to
// the pool). A lost connection is made again after a pause; wake is
// called then too, since notifications may have been missed meanwhile.
// Listening only hastens the readers: they poll the feed all the same.
func (s *Store) Listen(ctx context.Context, wake func()) {
	cfg := s.pool.Config().ConnConfig
	for ctx.Err() == nil {
		s.listenOnce(ctx, cfg, wake)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
			wake()
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig, wake func()) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg.Copy())
	cancel()
	if err != nil {
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+changesChannel); err != nil {
		return
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return
		}
		wake()
	}
}
