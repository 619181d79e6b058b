package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/grantd/grantd"
)

const authCodeCols = `hash, client_id, user_id, grant_id, redirect_uri, scopes, resource, code_challenge,
	created_at, expires_at, used_at, family_id, access_jti, access_expires_at`

func getAuthCode(ctx context.Context, q querier, hash string) (grantd.AuthCode, error) {
	var c grantd.AuthCode
	err := q.QueryRowContext(ctx, `SELECT `+authCodeCols+` FROM auth_codes WHERE hash = ?`, hash).
		Scan(&c.Hash, &c.ClientID, &c.UserID, &c.GrantID, &c.RedirectURI, listCol{&c.Scopes}, &c.Resource,
			&c.CodeChallenge, timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt}, nullTimeCol{&c.UsedAt},
			&c.FamilyID, &c.AccessJTI, nullTimeCol{&c.AccessExpiresAt})
	if err != nil {
		return grantd.AuthCode{}, dbErr("auth code", err)
	}
	return c, nil
}

func (s *Store) CreateAuthCode(ctx context.Context, c grantd.AuthCode) error {
	return insertAuthCode(ctx, s.w, c)
}

func insertAuthCode(ctx context.Context, q querier, c grantd.AuthCode) error {
	if err := checkAccessExpiry(c.AccessJTI, c.AccessExpiresAt); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, `INSERT INTO auth_codes (`+authCodeCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.ClientID, c.UserID, c.GrantID, c.RedirectURI, list(c.Scopes), c.Resource, c.CodeChallenge,
		micros(c.CreatedAt), micros(c.ExpiresAt), nullMicros(c.UsedAt), c.FamilyID, c.AccessJTI, nullMicros(c.AccessExpiresAt))
	if err != nil {
		return dbErr("create auth code", err)
	}
	return nil
}

// checkAccessExpiry refuses an access jti without an expiry: revoking it
// later needs to know how long to keep the revocation.
func checkAccessExpiry(jti string, expiresAt *time.Time) error {
	if jti != "" && expiresAt == nil {
		return errors.New("sqlite: auth code: AccessJTI set without AccessExpiresAt")
	}
	return nil
}
