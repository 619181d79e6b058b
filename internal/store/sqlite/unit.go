package sqlite

import (
	"context"
	"database/sql"

	"github.com/grantd/grantd"
)

// InGrant runs fn in one write transaction. SQLite has one writer and
// write transactions begin IMMEDIATE, so a unit of work holds every lock
// there is from its start: concurrent units take turns, and each reads
// what the one before committed.
func (s *Store) InGrant(ctx context.Context, fn func(tx grantd.GrantTx) error) error {
	return s.write(ctx, func(tx *sql.Tx) error { return fn(on(tx).GrantTx(ctx)) })
}
