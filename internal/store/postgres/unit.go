package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
)

// InGrant runs fn in one write transaction (see write: it runs again
// after a deadlock, or after sqlstore.ErrGrantRaced). The shared
// mechanics lock a code's, a refresh token's or a consent's grant before
// the row itself, so that concurrent units of work on one grant queue.
func (s *Store) InGrant(ctx context.Context, fn func(tx grantd.GrantTx) error) error {
	return s.write(ctx, func(tx pgx.Tx) error { return fn(on(tx).GrantTx(ctx)) })
}
