package sqlite

import (
	"context"
	"time"
)

func (s *Store) RevokeJTI(ctx context.Context, jti string, expiresAt time.Time) error {
	return on(s.w).RevokeJTI(ctx, jti, expiresAt)
}

func (s *Store) IsJTIRevoked(ctx context.Context, jti string) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM revoked_jtis WHERE jti = ?`, jti).Scan(&n); err != nil {
		return false, dbErr("revoked jti", err)
	}
	return n > 0, nil
}
