package sqlstore

import (
	"context"
	"time"

	"github.com/grantd/grantd"
)

// RecordExchangedToken inserts the record under the grant's lock (the
// lock order: grant first), so that it either commits before a
// DeleteGrant or RevokeGrantTokens reads the grant's tokens, or waits and
// then finds the grant gone (the foreign key: ErrNotFound).
func (s *Store) RecordExchangedToken(ctx context.Context, t grantd.ExchangedToken, now time.Time) error {
	return s.write(ctx, func(db DB) error {
		g, locked, err := db.lockGrant(ctx, t.GrantID)
		if err != nil {
			return err
		}
		if _, err := db.exec(ctx, `INSERT INTO exchanged_tokens (jti, grant_id, client_id, expires_at) VALUES (?, ?, ?, ?)`,
			t.JTI, t.GrantID, t.ClientID, db.d.Time(t.ExpiresAt)); err != nil {
			return db.d.Err("record exchanged token", err)
		}
		if locked {
			return db.touchLocked(ctx, g.id, g.lastUsed, now)
		}
		return db.TouchGrant(ctx, t.GrantID, now)
	})
}

// RevokeExchangedJTIs revokes the exchanged access tokens whose records
// match where (a constant condition on args). The records go with their
// grant or client (the schema cascades), so this runs first.
func (db DB) RevokeExchangedJTIs(ctx context.Context, where string, args ...any) error {
	if err := db.noteSelect(ctx, ChangeJTI, `SELECT jti AS k FROM exchanged_tokens WHERE `+where, args...); err != nil {
		return err
	}
	_, err := db.exec(ctx, `INSERT INTO revoked_jtis (jti, expires_at)
		SELECT jti, expires_at FROM exchanged_tokens WHERE `+where+db.upsertRevokedJTI(), args...)
	if err != nil {
		return db.d.Err("revoke exchanged tokens", err)
	}
	return nil
}
