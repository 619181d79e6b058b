package postgres

import (
	"context"

	"github.com/grantd/grantd"
)

func (s *Store) CreateConsent(ctx context.Context, c grantd.Consent) error {
	return on(s.pool).InsertConsent(ctx, c)
}

func (s *Store) GetConsent(ctx context.Context, hash string) (grantd.Consent, error) {
	return on(s.pool).Consent(ctx, hash, false)
}
