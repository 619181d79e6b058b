package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeleteExpired removes what can no longer be used. A row expiring exactly
// at now is kept: whether it is still valid at that instant is the
// caller's call, and keeping it one more round costs nothing.
//
// Rotated and revoked refresh tokens go only when they expire, like live
// ones: until then, presenting one again is detected as reuse. Likewise a
// used code stays while the access token of its first use lives, so that
// a second use arriving after the code's own expiry still revokes what the
// first one issued.
//
// Each table is cleaned in a transaction of its own: nothing needs the
// deletes to be seen together, and short transactions hold their row
// locks for less time against the requests being served.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) error {
	t := ts(now)
	for _, q := range []string{
		`DELETE FROM consents WHERE expires_at < $1`,
		`DELETE FROM auth_codes WHERE expires_at < $1 AND (access_expires_at IS NULL OR access_expires_at < $1)`,
		`DELETE FROM refresh_tokens WHERE expires_at < $1`,
		`DELETE FROM sessions WHERE expires_at < $1`,
		`DELETE FROM revoked_jtis WHERE expires_at < $1`,
		`DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at < $1`,
	} {
		err := s.write(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, q, t); err != nil {
				return dbErr("delete expired", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
