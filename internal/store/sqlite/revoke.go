package sqlite

import (
	"context"
	"time"
)

// A jti revoked twice keeps the later expiry, so that revoking is
// idempotent: the losers of a race that all revoke the same family must not
// fail on each other's rows.
const upsertRevokedJTI = ` ON CONFLICT (jti) DO UPDATE SET expires_at = max(revoked_jtis.expires_at, excluded.expires_at)`

func revokeJTI(ctx context.Context, q querier, jti string, expiresAt time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO revoked_jtis (jti, expires_at) VALUES (?, ?)`+upsertRevokedJTI,
		jti, micros(expiresAt))
	if err != nil {
		return dbErr("revoke jti", err)
	}
	return nil
}

// revokeCodeJTIs revokes the access tokens issued by redeeming the codes
// that match where (a constant condition with one argument). The codes
// themselves stay: a used code must keep answering ErrAlreadyUsed.
//
// GROUP BY makes each jti appear once in the insert, which PostgreSQL's
// ON CONFLICT DO UPDATE requires.
func revokeCodeJTIs(ctx context.Context, q querier, where string, arg any) error {
	_, err := q.ExecContext(ctx, `INSERT INTO revoked_jtis (jti, expires_at)
		SELECT access_jti, max(access_expires_at) FROM auth_codes
		WHERE `+where+` AND access_jti <> '' AND access_expires_at IS NOT NULL
		GROUP BY access_jti`+upsertRevokedJTI, arg)
	if err != nil {
		return dbErr("revoke code tokens", err)
	}
	return nil
}

// revokeRefreshJTIs revokes the access token issued with each refresh
// token that matches where (a constant condition with one argument).
func revokeRefreshJTIs(ctx context.Context, q querier, where string, arg any) error {
	_, err := q.ExecContext(ctx, `INSERT INTO revoked_jtis (jti, expires_at)
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
// that presenting one again is recognised as reuse.
func revokeRefreshTokens(ctx context.Context, q querier, now time.Time, where string, arg any) error {
	if err := revokeRefreshJTIs(ctx, q, where, arg); err != nil {
		return err
	}
	_, err := q.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE `+where+` AND revoked_at IS NULL`, micros(now), arg)
	if err != nil {
		return dbErr("revoke refresh tokens", err)
	}
	return nil
}

func (s *Store) RevokeJTI(ctx context.Context, jti string, expiresAt time.Time) error {
	return revokeJTI(ctx, s.w, jti, expiresAt)
}

func (s *Store) IsJTIRevoked(ctx context.Context, jti string) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM revoked_jtis WHERE jti = ?`, jti).Scan(&n); err != nil {
		return false, dbErr("revoked jti", err)
	}
	return n > 0, nil
}
