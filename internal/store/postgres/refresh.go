package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
)

const refreshCols = `hash, family_id, grant_id, client_id, user_id, scopes, resource, created_at, expires_at,
	rotated_at, successor_hash, access_jti, access_expires_at, access_scopes`

// getRefreshToken answers the token and whether it was revoked; lock is ""
// or a locking clause. A revoked row is kept only to recognise its reuse;
// to everything else it is gone.
func getRefreshToken(ctx context.Context, q querier, hash, lock string) (grantd.RefreshToken, bool, error) {
	var (
		t       grantd.RefreshToken
		revoked bool
	)
	err := q.QueryRow(ctx, `SELECT `+refreshCols+`, revoked_at IS NOT NULL FROM refresh_tokens WHERE hash = $1 `+lock, hash).
		Scan(&t.Hash, &t.FamilyID, &t.GrantID, &t.ClientID, &t.UserID, &t.Scopes, &t.Resource,
			&t.CreatedAt, &t.ExpiresAt, &t.RotatedAt, &t.SuccessorHash,
			&t.AccessJTI, &t.AccessExpiresAt, &t.AccessScopes, &revoked)
	if err != nil {
		return grantd.RefreshToken{}, false, dbErr("refresh token", err)
	}
	t.Scopes = unlist(t.Scopes)
	t.AccessScopes = unlist(t.AccessScopes)
	return t, revoked, nil
}

// getLiveRefreshToken answers a token that has not been revoked.
func getLiveRefreshToken(ctx context.Context, q querier, hash, lock string) (grantd.RefreshToken, error) {
	t, revoked, err := getRefreshToken(ctx, q, hash, lock)
	if err != nil {
		return grantd.RefreshToken{}, err
	}
	if revoked {
		return grantd.RefreshToken{}, fmt.Errorf("refresh token: revoked: %w", grantd.ErrNotFound)
	}
	return t, nil
}

// lockTokenGrant takes the lock of the grant the refresh token belongs to,
// before the token's own (the package's lock order). A token's grant never
// changes, so reading it without a lock is safe; a grant gone since then
// took the token with it, and answers ErrNotFound.
func lockTokenGrant(ctx context.Context, tx pgx.Tx, hash string) error {
	var grantID string
	if err := tx.QueryRow(ctx, `SELECT grant_id FROM refresh_tokens WHERE hash = $1`, hash).Scan(&grantID); err != nil {
		return dbErr("refresh token", err)
	}
	return lockGrant(ctx, tx, grantID)
}

func insertRefreshToken(ctx context.Context, q querier, t grantd.RefreshToken) error {
	_, err := q.Exec(ctx, `INSERT INTO refresh_tokens (`+refreshCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		t.Hash, t.FamilyID, t.GrantID, t.ClientID, t.UserID, list(t.Scopes), t.Resource,
		ts(t.CreatedAt), ts(t.ExpiresAt), nullTS(t.RotatedAt), t.SuccessorHash,
		t.AccessJTI, ts(t.AccessExpiresAt), list(t.AccessScopes))
	if err != nil {
		return dbErr("store refresh token", err)
	}
	return nil
}

// GetRefreshToken answers ErrNotFound for a token revoked by reuse
// detection or by its code's second use, as for one that never existed.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (grantd.RefreshToken, error) {
	return getLiveRefreshToken(ctx, s.pool, hash, "")
}

// RotateRefreshToken implements rotation with reuse detection (RFC 9700
// §4.14.2). Grace zero means no grace: any rotated token presented again is
// reuse, even at the very instant it was rotated, which is what makes
// concurrent presentations of one token yield a single success: they queue
// on the grant's lock, the first rotates, and every later one reads the
// token rotated.
//
// Within grace the old token's recorded successor is looked up (under the
// grant's lock, which every change to it takes too); retry decides
// whether the presentation is a retry, which answers that very successor
// and writes nothing, so that however often a client retries, and on
// whichever node, there is one successor. The old token keeps its first
// rotated_at, so retries cannot stretch the window.
//
// A token already revoked answers ErrReused without revoking anew: its
// family's revocation has happened, and replaying an old token must not
// reach tokens the user obtained since.
func (s *Store) RotateRefreshToken(ctx context.Context, hash string, now time.Time, grace time.Duration,
	next func(grantd.RefreshToken) (grantd.RefreshToken, error), retry func(old, succ grantd.RefreshToken) error) (grantd.RefreshToken, error) {
	var (
		out    grantd.RefreshToken
		reused bool
	)
	err := s.write(ctx, func(tx pgx.Tx) error {
		out, reused = grantd.RefreshToken{}, false
		if err := lockTokenGrant(ctx, tx, hash); err != nil {
			return err
		}
		old, revoked, err := getRefreshToken(ctx, tx, hash, `FOR UPDATE`)
		if err != nil {
			return err
		}
		if revoked {
			out, reused = old, true
			return nil
		}
		if old.RotatedAt != nil {
			succ, ok, err := retriable(ctx, tx, old, now, grace)
			if err != nil {
				return err
			}
			if ok && retry != nil {
				err := retry(old, succ)
				switch {
				case err == nil:
					out = succ
					return nil
				case !errors.Is(err, grantd.ErrReused):
					return err
				}
			}
			// Reuse: the token leaked, or the client is broken. Revoke
			// everything under the grant, but keep the grant itself: the
			// user's consent stands. Committed although the caller gets
			// an error.
			if err := revokeCodeJTIs(ctx, tx, `grant_id = $1`, old.GrantID); err != nil {
				return err
			}
			if err := revokeRefreshTokens(ctx, tx, now, `grant_id = $1`, old.GrantID); err != nil {
				return err
			}
			out, reused = old, true
			return nil
		}

		succ, err := next(old)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = $1, successor_hash = $2 WHERE hash = $3`,
			ts(now), succ.Hash, hash); err != nil {
			return dbErr("rotate refresh token", err)
		}
		if err := insertRefreshToken(ctx, tx, succ); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE grants SET last_used_at = $1 WHERE id = $2`, ts(now), old.GrantID); err != nil {
			return dbErr("rotate refresh token", err)
		}
		out, err = getLiveRefreshToken(ctx, tx, succ.Hash, "")
		return err
	})
	if err != nil {
		return grantd.RefreshToken{}, err
	}
	if reused {
		return out, fmt.Errorf("refresh token: %w", grantd.ErrReused)
	}
	return out, nil
}

// retriable answers the successor of the rotated token old when
// presenting old again may be a retry: rotated no more than grace ago,
// and the successor it recorded still live and not rotated itself (a
// client that used the successor has received it). Anything else is
// reuse.
func retriable(ctx context.Context, q querier, old grantd.RefreshToken, now time.Time, grace time.Duration) (grantd.RefreshToken, bool, error) {
	if grace <= 0 || now.Sub(*old.RotatedAt) > grace || old.SuccessorHash == "" {
		return grantd.RefreshToken{}, false, nil
	}
	succ, revoked, err := getRefreshToken(ctx, q, old.SuccessorHash, "")
	switch {
	case errors.Is(err, grantd.ErrNotFound):
		return grantd.RefreshToken{}, false, nil
	case err != nil:
		return grantd.RefreshToken{}, false, err
	case revoked || succ.RotatedAt != nil:
		return grantd.RefreshToken{}, false, nil
	}
	return succ, true, nil
}

func (s *Store) RevokeRefreshToken(ctx context.Context, hash string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := lockTokenGrant(ctx, tx, hash); err != nil {
			return err
		}
		t, err := getLiveRefreshToken(ctx, tx, hash, `FOR UPDATE`)
		if err != nil {
			return err
		}
		if t.AccessJTI != "" {
			if err := revokeJTI(ctx, tx, t.AccessJTI, t.AccessExpiresAt); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM refresh_tokens WHERE hash = $1`, hash); err != nil {
			return dbErr("revoke refresh token", err)
		}
		return nil
	})
}
