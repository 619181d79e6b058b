package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
)

// InGrant runs fn in one write transaction (see write: it may run again
// after a deadlock, or after errGrantRaced). Every read of a code, a
// refresh token or a consent through the GrantTx takes its grant's lock
// first and then its own (the package's lock order), so that concurrent
// units of work on one grant queue and each reads what the one before
// committed.
func (s *Store) InGrant(ctx context.Context, fn func(tx grantd.GrantTx) error) error {
	return s.write(ctx, func(tx pgx.Tx) error { return fn(grantTx{ctx, tx}) })
}

// errGrantRaced: a unit of work created the user's grant for a client
// after it looked for it, and a concurrent one created it first. The
// transaction runs again (write) and finds that grant.
var errGrantRaced = errors.New("postgres: the grant was created by a concurrent unit of work")

// grantTx is the mechanics of a unit of work on one transaction.
type grantTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t grantTx) AuthCode(hash string) (grantd.AuthCode, error) {
	if err := lockCodeGrant(t.ctx, t.tx, hash); err != nil {
		return grantd.AuthCode{}, err
	}
	return getAuthCode(t.ctx, t.tx, hash, `FOR UPDATE`)
}

func (t grantTx) UseAuthCode(hash string, now time.Time, familyID, accessJTI string, accessExpiresAt *time.Time) error {
	if err := checkAccessExpiry(accessJTI, accessExpiresAt); err != nil {
		return err
	}
	tag, err := t.tx.Exec(t.ctx, `UPDATE auth_codes SET used_at = $1, family_id = $2, access_jti = $3,
		access_expires_at = $4 WHERE hash = $5`,
		ts(now), familyID, accessJTI, nullTS(accessExpiresAt), hash)
	return mustAffect("redeem auth code", tag, err)
}

func (t grantTx) CreateAuthCode(c grantd.AuthCode) error {
	return insertAuthCode(t.ctx, t.tx, c)
}

func (t grantTx) RefreshToken(hash string) (grantd.RefreshToken, bool, error) {
	if err := lockTokenGrant(t.ctx, t.tx, hash); err != nil {
		return grantd.RefreshToken{}, false, err
	}
	return getRefreshToken(t.ctx, t.tx, hash, `FOR UPDATE`)
}

func (t grantTx) CreateRefreshToken(rt grantd.RefreshToken) error {
	return insertRefreshToken(t.ctx, t.tx, rt)
}

func (t grantTx) RotateRefreshToken(hash string, now time.Time, successorHash string) error {
	tag, err := t.tx.Exec(t.ctx, `UPDATE refresh_tokens SET rotated_at = $1, successor_hash = $2 WHERE hash = $3`,
		ts(now), successorHash, hash)
	return mustAffect("rotate refresh token", tag, err)
}

func (t grantTx) RevokeFamily(familyID string, now time.Time) error {
	return revokeRefreshTokens(t.ctx, t.tx, now, `family_id = $1`, familyID)
}

func (t grantTx) RevokeGrantTokens(grantID string, now time.Time) error {
	if err := revokeCodeJTIs(t.ctx, t.tx, `grant_id = $1`, grantID); err != nil {
		return err
	}
	return revokeRefreshTokens(t.ctx, t.tx, now, `grant_id = $1`, grantID)
}

func (t grantTx) RevokeJTI(jti string, expiresAt time.Time) error {
	return revokeJTI(t.ctx, t.tx, jti, expiresAt)
}

// Consent locks the user's grant for the consent's client, when there is
// one, and then the consent. The user and client of a consent never
// change: reading them first without a lock is safe.
func (t grantTx) Consent(hash string) (grantd.Consent, error) {
	c, err := getConsent(t.ctx, t.tx, hash, "")
	if err != nil {
		return grantd.Consent{}, err
	}
	if _, err := getGrant(t.ctx, t.tx, `user_id = $1 AND client_id = $2`, `FOR UPDATE`, c.UserID, c.ClientID); err != nil && !errors.Is(err, grantd.ErrNotFound) {
		return grantd.Consent{}, err
	}
	return getConsent(t.ctx, t.tx, hash, `FOR UPDATE`)
}

func (t grantTx) UseConsent(hash string, now time.Time) error {
	tag, err := t.tx.Exec(t.ctx, `UPDATE consents SET used_at = $1 WHERE hash = $2`, ts(now), hash)
	return mustAffect("use consent", tag, err)
}

func (t grantTx) GrantByUserClient(userID, clientID string) (grantd.Grant, error) {
	return getGrant(t.ctx, t.tx, `user_id = $1 AND client_id = $2`, `FOR UPDATE`, userID, clientID)
}

// CreateGrant inserts g. When a concurrent unit of work inserted the
// user's grant for the client first, the unique key makes this one wait
// for it and then answers errGrantRaced, which runs the unit again: it
// then finds that grant.
func (t grantTx) CreateGrant(g grantd.Grant) error {
	tag, err := t.tx.Exec(t.ctx, `INSERT INTO grants (`+grantCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (user_id, client_id) DO NOTHING`,
		g.ID, g.UserID, g.ClientID, list(g.Scopes), ts(g.CreatedAt), ts(g.UpdatedAt), nullTS(g.LastUsedAt))
	if err != nil {
		return dbErr("create grant", err)
	}
	if tag.RowsAffected() == 0 {
		return errGrantRaced
	}
	return nil
}

func (t grantTx) UpdateGrant(g grantd.Grant) error {
	return writeGrant(t.ctx, t.tx, g)
}

func (t grantTx) TouchGrant(id string, now time.Time) error {
	tag, err := t.tx.Exec(t.ctx, `UPDATE grants SET last_used_at = $1 WHERE id = $2`, ts(now), id)
	return mustAffect("grant", tag, err)
}
