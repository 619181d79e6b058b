package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/grantd/grantd"
)

// A jti revoked twice keeps the later expiry, so that revoking is
// idempotent: the losers of a race that all revoke the same family must not
// fail on each other's rows.
const upsertRevokedJTI = ` ON CONFLICT (jti) DO UPDATE SET expires_at = greatest(revoked_jtis.expires_at, excluded.expires_at)`

func revokeJTI(ctx context.Context, q querier, jti string, expiresAt time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO revoked_jtis (jti, expires_at) VALUES ($1, $2)`+upsertRevokedJTI,
		jti, ts(expiresAt))
	if err != nil {
		return dbErr("revoke jti", err)
	}
	return nil
}

// revokeCodeJTIs revokes the access tokens issued by redeeming the codes
// that match where (a constant condition on $1). The codes themselves
// stay: a used code must keep answering ErrAlreadyUsed.
//
// GROUP BY makes each jti appear once in the insert, which ON CONFLICT DO
// UPDATE requires.
func revokeCodeJTIs(ctx context.Context, q querier, where string, arg any) error {
	_, err := q.Exec(ctx, `INSERT INTO revoked_jtis (jti, expires_at)
		SELECT access_jti, max(access_expires_at) FROM auth_codes
		WHERE `+where+` AND access_jti <> '' AND access_expires_at IS NOT NULL
		GROUP BY access_jti`+upsertRevokedJTI, arg)
	if err != nil {
		return dbErr("revoke code tokens", err)
	}
	return nil
}

// revokeRefreshJTIs revokes the access token issued with each refresh
// token that matches where (a constant condition on $1).
func revokeRefreshJTIs(ctx context.Context, q querier, where string, arg any) error {
	_, err := q.Exec(ctx, `INSERT INTO revoked_jtis (jti, expires_at)
		SELECT access_jti, max(access_expires_at) FROM refresh_tokens
		WHERE `+where+` AND access_jti <> ''
		GROUP BY access_jti`+upsertRevokedJTI, arg)
	if err != nil {
		return dbErr("revoke refresh tokens", err)
	}
	return nil
}

// revokeRefreshTokens marks the refresh tokens that match where revoked
// and revokes their access tokens. The rows stay until they expire, so
// that presenting one again is recognised as reuse. The callers hold the
// grant's lock, so no token of the grant appears or changes meanwhile.
func revokeRefreshTokens(ctx context.Context, q querier, now time.Time, where string, arg any) error {
	if err := revokeRefreshJTIs(ctx, q, where, arg); err != nil {
		return err
	}
	_, err := q.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2 WHERE `+where+` AND revoked_at IS NULL`, arg, ts(now))
	if err != nil {
		return dbErr("revoke refresh tokens", err)
	}
	return nil
}

func (s *Store) RevokeJTI(ctx context.Context, jti string, expiresAt time.Time) error {
	return revokeJTI(ctx, s.pool, jti, expiresAt)
}

func (s *Store) IsJTIRevoked(ctx context.Context, jti string) (bool, error) {
	var revoked bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_jtis WHERE jti = $1)`, jti).Scan(&revoked); err != nil {
		if err = dbErr("revoked jti", err); errors.Is(err, grantd.ErrNotFound) {
			return false, nil // a jti that cannot be stored was never revoked
		}
		return false, err
	}
	return revoked, nil
}
