package postgres

import (
	"context"
	"errors"
	"fmt"
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

func (s *Store) RedeemAuthCode(ctx context.Context, hash string, now time.Time, issue func(grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error)) (grantd.AuthCode, error) {
	var (
		out    grantd.AuthCode
		reused bool
	)
	err := s.write(ctx, func(tx pgx.Tx) error {
		out, reused = grantd.AuthCode{}, false
		if err := lockCodeGrant(ctx, tx, hash); err != nil {
			return err
		}
		code, err := getAuthCode(ctx, tx, hash, `FOR UPDATE`)
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
				if err := revokeRefreshTokens(ctx, tx, now, `family_id = $1`, code.FamilyID); err != nil {
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
		_, err = tx.Exec(ctx, `UPDATE auth_codes SET used_at = $1, family_id = $2, access_jti = $3,
			access_expires_at = $4 WHERE hash = $5`,
			ts(now), issued.FamilyID, issued.AccessJTI, nullTS(issued.AccessExpiresAt), hash)
		if err != nil {
			return dbErr("redeem auth code", err)
		}
		if rt != nil {
			if err := insertRefreshToken(ctx, tx, *rt); err != nil {
				return err
			}
		}
		out, err = getAuthCode(ctx, tx, hash, "")
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
