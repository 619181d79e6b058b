package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

func (s *Store) RedeemAuthCode(ctx context.Context, hash string, now time.Time, issue func(grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error)) (grantd.AuthCode, error) {
	var out grantd.AuthCode
	reused := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		code, err := getAuthCode(ctx, tx, hash)
		if err != nil {
			return err
		}
		if code.UsedAt != nil {
			// A second use means the code leaked: take back what the
			// first use issued, and commit that even though the caller
			// gets an error.
			if code.AccessJTI != "" && code.AccessExpiresAt != nil {
				if err := revokeJTI(ctx, tx, code.AccessJTI, *code.AccessExpiresAt); err != nil {
					return err
				}
			}
			if code.FamilyID != "" {
				if err := revokeRefreshTokens(ctx, tx, now, `family_id = ?`, code.FamilyID); err != nil {
					return err
				}
			}
			out, reused = code, true
			return nil
		}

		issued, rt, err := issue(code)
		if err != nil {
			return err
		}
		if err := checkAccessExpiry(issued.AccessJTI, issued.AccessExpiresAt); err != nil {
			return err
		}
		// Only the redemption fields are taken from issue's answer; the
		// rest of the code is what was stored.
		_, err = tx.ExecContext(ctx, `UPDATE auth_codes SET used_at = ?, family_id = ?, access_jti = ?,
			access_expires_at = ? WHERE hash = ?`,
			micros(now), issued.FamilyID, issued.AccessJTI, nullMicros(issued.AccessExpiresAt), hash)
		if err != nil {
			return dbErr("redeem auth code", err)
		}
		if rt != nil {
			if err := insertRefreshToken(ctx, tx, *rt); err != nil {
				return err
			}
		}
		out, err = getAuthCode(ctx, tx, hash)
		return err
	})
	if err != nil {
		return grantd.AuthCode{}, err
	}
	if reused {
		return out, fmt.Errorf("auth code: %w", grantd.ErrAlreadyUsed)
	}
	return out, nil
}
