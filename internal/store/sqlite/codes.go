package sqlite

import (
	"context"

	"github.com/grantd/grantd"
)

func (s *Store) CreateAuthCode(ctx context.Context, c grantd.AuthCode) error {
	return on(s.w).InsertAuthCode(ctx, c)
}
