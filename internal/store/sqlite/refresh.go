package sqlite

import (
	"context"
	"database/sql"
	"fmt"

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
