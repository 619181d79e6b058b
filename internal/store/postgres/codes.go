package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
)

const authCodeCols = `hash, client_id, user_id, grant_id, redirect_uri, scopes, resource, code_challenge,
	created_at, expires_at, used_at, family_id, access_jti, access_expires_at`

// getAuthCode reads one code; lock is "" or a locking clause.
func getAuthCode(ctx context.Context, q querier, hash, lock string) (grantd.AuthCode, error) {
	var c grantd.AuthCode
	err := q.QueryRow(ctx, `SELECT `+authCodeCols+` FROM auth_codes WHERE hash = $1 `+lock, hash).
		Scan(&c.Hash, &c.ClientID, &c.UserID, &c.GrantID, &c.RedirectURI, &c.Scopes, &c.Resource,
			&c.CodeChallenge, &c.CreatedAt, &c.ExpiresAt, &c.UsedAt,
			&c.FamilyID, &c.AccessJTI, &c.AccessExpiresAt)
	if err != nil {
		return grantd.AuthCode{}, dbErr("auth code", err)
	}
	c.Scopes = unlist(c.Scopes)
	return c, nil
}

func (s *Store) CreateAuthCode(ctx context.Context, c grantd.AuthCode) error {
	return insertAuthCode(ctx, s.pool, c)
}

func insertAuthCode(ctx context.Context, q querier, c grantd.AuthCode) error {
	if err := checkAccessExpiry(c.AccessJTI, c.AccessExpiresAt); err != nil {
		return err
	}
	_, err := q.Exec(ctx, `INSERT INTO auth_codes (`+authCodeCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		c.Hash, c.ClientID, c.UserID, c.GrantID, c.RedirectURI, list(c.Scopes), c.Resource, c.CodeChallenge,
		ts(c.CreatedAt), ts(c.ExpiresAt), nullTS(c.UsedAt), c.FamilyID, c.AccessJTI, nullTS(c.AccessExpiresAt))
	if err != nil {
		return dbErr("create auth code", err)
	}
	return nil
}

// checkAccessExpiry refuses an access jti without an expiry: revoking it
// later needs to know how long to keep the revocation.
func checkAccessExpiry(jti string, expiresAt *time.Time) error {
	if jti != "" && expiresAt == nil {
		return errors.New("postgres: auth code: AccessJTI set without AccessExpiresAt")
	}
	return nil
}

// lockCodeGrant takes the lock of the grant the code belongs to, before
// the code's own (the package's lock order). A code's grant never
// changes, so reading it without a lock is safe.
func lockCodeGrant(ctx context.Context, tx pgx.Tx, hash string) error {
	var grantID string
	if err := tx.QueryRow(ctx, `SELECT grant_id FROM auth_codes WHERE hash = $1`, hash).Scan(&grantID); err != nil {
		return dbErr("auth code", err)
	}
	// A missing grant means the grant went, and the code with it, since
	// the first read: ErrNotFound either way.
	return lockGrant(ctx, tx, grantID)
}
