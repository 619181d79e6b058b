package postgres

import (
	"context"

	"github.com/grantd/grantd"
)

func (s *Store) CreateAuthCode(ctx context.Context, c grantd.AuthCode) error {
	return on(s.pool).InsertAuthCode(ctx, c)
}
