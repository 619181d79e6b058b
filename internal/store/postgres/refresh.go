package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
)

// GetRefreshToken answers ErrNotFound for a token revoked by reuse
// detection or by its code's second use, as for one that never existed.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (grantd.RefreshToken, error) {
	return on(s.pool).LiveRefreshToken(ctx, hash, false)
}

func (s *Store) RevokeRefreshToken(ctx context.Context, hash string) error {
	return s.write(ctx, func(tx pgx.Tx) error { return on(tx).RevokeRefreshToken(ctx, hash) })
}
