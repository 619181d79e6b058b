package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/grantd/grantd"
)

// InGrant runs fn in one write transaction. SQLite has one writer and
// write transactions begin IMMEDIATE, so a unit of work holds every lock
// there is from its start: concurrent units take turns, and each reads
// what the one before committed.
func (s *Store) InGrant(ctx context.Context, fn func(tx grantd.GrantTx) error) error {
	return s.write(ctx, func(tx *sql.Tx) error { return fn(grantTx{ctx, tx}) })
}

// grantTx is the mechanics of a unit of work on one transaction.
type grantTx struct {
	ctx context.Context
	tx  *sql.Tx
}

func (t grantTx) AuthCode(hash string) (grantd.AuthCode, error) {
	return getAuthCode(t.ctx, t.tx, hash)
}

func (t grantTx) UseAuthCode(hash string, now time.Time, familyID, accessJTI string, accessExpiresAt *time.Time) error {
	if err := checkAccessExpiry(accessJTI, accessExpiresAt); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(t.ctx, `UPDATE auth_codes SET used_at = ?, family_id = ?, access_jti = ?,
		access_expires_at = ? WHERE hash = ?`,
		micros(now), familyID, accessJTI, nullMicros(accessExpiresAt), hash)
	return mustAffect("redeem auth code", res, err)
}

func (t grantTx) CreateAuthCode(c grantd.AuthCode) error {
	return insertAuthCode(t.ctx, t.tx, c)
}

func (t grantTx) RefreshToken(hash string) (grantd.RefreshToken, bool, error) {
	return getRefreshToken(t.ctx, t.tx, hash)
}

func (t grantTx) CreateRefreshToken(rt grantd.RefreshToken) error {
	return insertRefreshToken(t.ctx, t.tx, rt)
}

func (t grantTx) RotateRefreshToken(hash string, now time.Time, successorHash string) error {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE refresh_tokens SET rotated_at = ?, successor_hash = ? WHERE hash = ?`,
		micros(now), successorHash, hash)
	return mustAffect("rotate refresh token", res, err)
}

func (t grantTx) RevokeFamily(familyID string, now time.Time) error {
	return revokeRefreshTokens(t.ctx, t.tx, now, `family_id = ?`, familyID)
}

func (t grantTx) RevokeGrantTokens(grantID string, now time.Time) error {
	if err := revokeCodeJTIs(t.ctx, t.tx, `grant_id = ?`, grantID); err != nil {
		return err
	}
	return revokeRefreshTokens(t.ctx, t.tx, now, `grant_id = ?`, grantID)
}

func (t grantTx) RevokeJTI(jti string, expiresAt time.Time) error {
	return revokeJTI(t.ctx, t.tx, jti, expiresAt)
}

func (t grantTx) Consent(hash string) (grantd.Consent, error) {
	return getConsent(t.ctx, t.tx, hash)
}

func (t grantTx) UseConsent(hash string, now time.Time) error {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE consents SET used_at = ? WHERE hash = ?`, micros(now), hash)
	return mustAffect("use consent", res, err)
}

func (t grantTx) GrantByUserClient(userID, clientID string) (grantd.Grant, error) {
	return getGrant(t.ctx, t.tx, `user_id = ? AND client_id = ?`, userID, clientID)
}

func (t grantTx) CreateGrant(g grantd.Grant) error {
	return insertGrant(t.ctx, t.tx, g)
}

func (t grantTx) UpdateGrant(g grantd.Grant) error {
	return writeGrant(t.ctx, t.tx, g)
}

func (t grantTx) TouchGrant(id string, now time.Time) error {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE grants SET last_used_at = ? WHERE id = ?`, micros(now), id)
	return mustAffect("grant", res, err)
}
