package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/grantd/grantd"
)

func (s *Store) RevokeJTI(ctx context.Context, jti string, expiresAt time.Time) error {
	return on(s.pool).RevokeJTI(ctx, jti, expiresAt)
}

func (s *Store) IsJTIRevoked(ctx context.Context, jti string) (bool, error) {
	var revoked bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_jtis WHERE jti = $1)`, jti).Scan(&revoked); err != nil {
		if err = dbErr("revoked jti", err); errors.Is(err, grantd.ErrNotFound) {
			return false, nil // a jti that cannot be stored was never revoked
		}
		return false, err
	}
	return revoked, nil
}
