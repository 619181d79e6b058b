package postgres

import (
	"context"
	"fmt"

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
