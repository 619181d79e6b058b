package sqlstore

import (
	"context"
	"time"
)

// upsertRevokedJTI: a jti revoked twice keeps the later expiry, so that
// revoking is idempotent: the losers of a race that all revoke the same
// family must not fail on each other's rows.
func (db DB) upsertRevokedJTI() string {
	return ` ON CONFLICT (jti) DO UPDATE SET expires_at = ` + db.d.Greatest() + `(revoked_jtis.expires_at, excluded.expires_at)`
}

// RevokeJTI revokes one access token until expiresAt.
func (db DB) RevokeJTI(ctx context.Context, jti string, expiresAt time.Time) error {
	_, err := db.exec(ctx, `INSERT INTO revoked_jtis (jti, expires_at) VALUES (?, ?)`+db.upsertRevokedJTI(),
		jti, db.d.Time(expiresAt))
	if err != nil {
		return db.d.Err("revoke jti", err)
	}
	return db.note(ctx, ChangeJTI, jti)
}

// RevokeCodeJTIs revokes the access tokens issued by redeeming the codes
// that match where (a constant condition on args). The codes
// themselves stay: a used code must keep answering ErrAlreadyUsed.
//
// GROUP BY makes each jti appear once in the insert, which PostgreSQL's
// ON CONFLICT DO UPDATE requires.
func (db DB) RevokeCodeJTIs(ctx context.Context, where string, args ...any) error {
	if err := db.noteSelect(ctx, ChangeJTI, `SELECT DISTINCT access_jti AS k FROM auth_codes
		WHERE `+where+` AND access_jti <> '' AND access_expires_at IS NOT NULL`, args...); err != nil {
		return err
	}
	_, err := db.exec(ctx, `INSERT INTO revoked_jtis (jti, expires_at)
		SELECT access_jti, max(access_expires_at) FROM auth_codes
		WHERE `+where+` AND access_jti <> '' AND access_expires_at IS NOT NULL
		GROUP BY access_jti`+db.upsertRevokedJTI(), args...)
	if err != nil {
		return db.d.Err("revoke code tokens", err)
	}
	return nil
}

// RevokeRefreshJTIs revokes the access token issued with each refresh
// token that matches where (a constant condition on args).
func (db DB) RevokeRefreshJTIs(ctx context.Context, where string, args ...any) error {
	if err := db.noteSelect(ctx, ChangeJTI, `SELECT DISTINCT access_jti AS k FROM refresh_tokens
		WHERE `+where+` AND access_jti <> ''`, args...); err != nil {
		return err
	}
	_, err := db.exec(ctx, `INSERT INTO revoked_jtis (jti, expires_at)
		SELECT access_jti, max(access_expires_at) FROM refresh_tokens
		WHERE `+where+` AND access_jti <> ''
		GROUP BY access_jti`+db.upsertRevokedJTI(), args...)
	if err != nil {
		return db.d.Err("revoke refresh tokens", err)
	}
	return nil
}

// revokeRefreshTokens marks the refresh tokens that match where revoked
// and revokes their access tokens. The rows stay until they expire, so
// that presenting one again is recognised as reuse. The callers hold the
// grant's lock, so no token of the grant appears or changes meanwhile.
func (db DB) revokeRefreshTokens(ctx context.Context, now time.Time, where string, arg any) error {
	if err := db.RevokeRefreshJTIs(ctx, where, arg); err != nil {
		return err
	}
	_, err := db.exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE `+where+` AND revoked_at IS NULL`, db.d.Time(now), arg)
	if err != nil {
		return db.d.Err("revoke refresh tokens", err)
	}
	return nil
}
