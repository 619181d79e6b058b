package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/grantd/grantd"
)

const refreshCols = `hash, family_id, grant_id, client_id, user_id, scopes, resource, created_at, expires_at,
	rotated_at, successor_hash, access_jti, access_expires_at, access_scopes`

// getRefreshToken answers the token and whether it was revoked. A revoked
// row is kept only to recognise its reuse; to everything else it is gone.
func getRefreshToken(ctx context.Context, q querier, hash string) (grantd.RefreshToken, bool, error) {
	var (
		t       grantd.RefreshToken
		revoked bool
	)
	err := q.QueryRowContext(ctx, `SELECT `+refreshCols+`, revoked_at IS NOT NULL FROM refresh_tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.FamilyID, &t.GrantID, &t.ClientID, &t.UserID, listCol{&t.Scopes}, &t.Resource,
			timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt}, nullTimeCol{&t.RotatedAt}, &t.SuccessorHash,
			&t.AccessJTI, timeCol{&t.AccessExpiresAt}, listCol{&t.AccessScopes}, &revoked)
	if err != nil {
		return grantd.RefreshToken{}, false, dbErr("refresh token", err)
	}
	return t, revoked, nil
}

// getLiveRefreshToken answers a token that has not been revoked.
func getLiveRefreshToken(ctx context.Context, q querier, hash string) (grantd.RefreshToken, error) {
	t, revoked, err := getRefreshToken(ctx, q, hash)
	if err != nil {
		return grantd.RefreshToken{}, err
	}
	if revoked {
		return grantd.RefreshToken{}, fmt.Errorf("refresh token: revoked: %w", grantd.ErrNotFound)
	}
	return t, nil
}

func insertRefreshToken(ctx context.Context, q querier, t grantd.RefreshToken) error {
	_, err := q.ExecContext(ctx, `INSERT INTO refresh_tokens (`+refreshCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.FamilyID, t.GrantID, t.ClientID, t.UserID, list(t.Scopes), t.Resource,
		micros(t.CreatedAt), micros(t.ExpiresAt), nullMicros(t.RotatedAt), t.SuccessorHash,
		t.AccessJTI, micros(t.AccessExpiresAt), list(t.AccessScopes))
	if err != nil {
		return dbErr("store refresh token", err)
	}
	return nil
}

// GetRefreshToken answers ErrNotFound for a token revoked by reuse
// detection or by its code's second use, as for one that never existed.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (grantd.RefreshToken, error) {
	return getLiveRefreshToken(ctx, s.r, hash)
}

// RotateRefreshToken implements rotation with reuse detection (RFC 9700
// §4.14.2). Grace zero means no grace: any rotated token presented again is
// reuse, even at the very instant it was rotated, which is what makes
// concurrent presentations of one token yield a single success.
//
// Within grace the old token's recorded successor is looked up; retry
// decides whether the presentation is a retry, which answers that very
// successor and writes nothing, so that however often a client retries
// there is one successor. The old token keeps its first rotated_at, so
// retries cannot stretch the window.
//
// A token already revoked answers ErrReused without revoking anew: its
// family's revocation has happened, and replaying an old token must not
// reach tokens the user obtained since.
func (s *Store) RotateRefreshToken(ctx context.Context, hash string, now time.Time, grace time.Duration,
	next func(grantd.RefreshToken) (grantd.RefreshToken, error), retry func(old, succ grantd.RefreshToken) error) (grantd.RefreshToken, error) {
	var out grantd.RefreshToken
	reused := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		old, revoked, err := getRefreshToken(ctx, tx, hash)
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
			if err := revokeCodeJTIs(ctx, tx, `grant_id = ?`, old.GrantID); err != nil {
				return err
			}
			if err := revokeRefreshTokens(ctx, tx, now, `grant_id = ?`, old.GrantID); err != nil {
				return err
			}
			out, reused = old, true
			return nil
		}

		succ, err := next(old)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET rotated_at = ?, successor_hash = ? WHERE hash = ?`,
			micros(now), succ.Hash, hash); err != nil {
			return dbErr("rotate refresh token", err)
		}
		if err := insertRefreshToken(ctx, tx, succ); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE grants SET last_used_at = ? WHERE id = ?`, micros(now), old.GrantID); err != nil {
			return dbErr("rotate refresh token", err)
		}
		out, err = getLiveRefreshToken(ctx, tx, succ.Hash)
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
	succ, revoked, err := getRefreshToken(ctx, q, old.SuccessorHash)
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
	return s.write(ctx, func(tx *sql.Tx) error {
		t, err := getLiveRefreshToken(ctx, tx, hash)
		if err != nil {
			return err
		}
		if t.AccessJTI != "" {
			if err := revokeJTI(ctx, tx, t.AccessJTI, t.AccessExpiresAt); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE hash = ?`, hash)
		if err != nil {
			return dbErr("revoke refresh token", err)
		}
		return nil
	})
}
