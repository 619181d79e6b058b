package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/grantd/grantd"
)

// GrantTx answers the mechanics of a unit of work (grantd.Store.InGrant)
// on db, a write transaction that lives as long as ctx. Every read of a
// code, a refresh token or a consent takes its grant's lock first and
// then its own (Dialect.GrantLock, Dialect.ForUpdate), so that concurrent
// units on one grant queue and each reads what the one before committed.
//
// The unit remembers the grant whose row it last locked, with its
// last_used_at, so that TouchGrant on it needs no statement when that is
// fresh (touchLocked).
func (db DB) GrantTx(ctx context.Context) grantd.GrantTx { return grantTx{ctx, db, new(unitState)} }

type grantTx struct {
	ctx context.Context
	db  DB
	st  *unitState
}

// unitState is what a unit of work knows of the grant it locked.
type unitState struct {
	grant  lockedGrant
	locked bool // grant's row is locked by this transaction
}

func (t grantTx) remember(g lockedGrant, locked bool) {
	if locked {
		t.st.grant, t.st.locked = g, true
	}
}

func (t grantTx) AuthCode(hash string) (grantd.AuthCode, error) {
	g, locked, err := t.db.lockCodeGrant(t.ctx, hash)
	if err != nil {
		return grantd.AuthCode{}, err
	}
	t.remember(g, locked)
	return t.db.AuthCode(t.ctx, hash, true)
}

func (t grantTx) UseAuthCode(hash string, now time.Time, familyID, accessJTI string, accessExpiresAt *time.Time) error {
	if err := checkAccessExpiry(accessJTI, accessExpiresAt); err != nil {
		return err
	}
	d := t.db.d
	n, err := t.db.exec(t.ctx, `UPDATE auth_codes SET used_at = ?, family_id = ?, access_jti = ?,
		access_expires_at = ? WHERE hash = ?`,
		d.Time(now), familyID, accessJTI, d.NullTime(accessExpiresAt), hash)
	return t.db.mustAffect("redeem auth code", n, err)
}

func (t grantTx) CreateAuthCode(c grantd.AuthCode) error { return t.db.InsertAuthCode(t.ctx, c) }

func (t grantTx) RefreshToken(hash string) (grantd.RefreshToken, bool, error) {
	g, locked, err := t.db.lockTokenGrant(t.ctx, hash)
	if err != nil {
		return grantd.RefreshToken{}, false, err
	}
	t.remember(g, locked)
	return t.db.RefreshToken(t.ctx, hash, true)
}

func (t grantTx) CreateRefreshToken(rt grantd.RefreshToken) error {
	return t.db.InsertRefreshToken(t.ctx, rt)
}

func (t grantTx) RotateRefreshToken(hash string, now time.Time, successorHash string) error {
	n, err := t.db.exec(t.ctx, `UPDATE refresh_tokens SET rotated_at = ?, successor_hash = ? WHERE hash = ?`,
		t.db.d.Time(now), successorHash, hash)
	return t.db.mustAffect("rotate refresh token", n, err)
}

func (t grantTx) RevokeFamily(familyID string, now time.Time) error {
	return t.db.revokeRefreshTokens(t.ctx, now, `family_id = ?`, familyID)
}

func (t grantTx) RevokeGrantTokens(grantID string, now time.Time) error {
	if err := t.db.RevokeCodeJTIs(t.ctx, `grant_id = ?`, grantID); err != nil {
		return err
	}
	if err := t.db.RevokeExchangedJTIs(t.ctx, `grant_id = ?`, grantID); err != nil {
		return err
	}
	return t.db.revokeRefreshTokens(t.ctx, now, `grant_id = ?`, grantID)
}

func (t grantTx) RevokeJTI(jti string, expiresAt time.Time) error {
	return t.db.RevokeJTI(t.ctx, jti, expiresAt)
}

// Consent locks the user's grant for the consent's client, when there is
// one, and then the consent. The user and client of a consent never
// change: reading them first without a lock is safe.
func (t grantTx) Consent(hash string) (grantd.Consent, error) {
	if t.db.d.ForUpdate() == "" {
		return t.db.Consent(t.ctx, hash, false)
	}
	c, err := t.db.Consent(t.ctx, hash, false)
	if err != nil {
		return grantd.Consent{}, err
	}
	g, err := t.db.Grant(t.ctx, `user_id = ? AND client_id = ?`, true, c.UserID, c.ClientID)
	switch {
	case err == nil:
		t.remember(lockedGrant{g.ID, g.LastUsedAt}, true)
	case !errors.Is(err, grantd.ErrNotFound):
		return grantd.Consent{}, err
	}
	return t.db.Consent(t.ctx, hash, true)
}

func (t grantTx) UseConsent(hash string, now time.Time) error {
	n, err := t.db.exec(t.ctx, `UPDATE consents SET used_at = ? WHERE hash = ?`, t.db.d.Time(now), hash)
	return t.db.mustAffect("use consent", n, err)
}

func (t grantTx) GrantByUserClient(userID, clientID string) (grantd.Grant, error) {
	g, err := t.db.Grant(t.ctx, `user_id = ? AND client_id = ?`, true, userID, clientID)
	if err == nil {
		t.remember(lockedGrant{g.ID, g.LastUsedAt}, t.db.d.ForUpdate() != "")
	}
	return g, err
}

// CreateGrant inserts g. When a concurrent unit of work inserted the
// user's grant for the client first, the unique key makes this one wait
// for it and then answers ErrGrantRaced, on which the backend runs the
// unit again: it then finds that grant.
func (t grantTx) CreateGrant(g grantd.Grant) error {
	d := t.db.d
	n, err := t.db.exec(t.ctx, `INSERT INTO grants (`+GrantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO NOTHING`,
		g.ID, g.UserID, g.ClientID, d.List(g.Scopes), d.Time(g.CreatedAt), d.Time(g.UpdatedAt), d.NullTime(g.LastUsedAt))
	if err != nil {
		return d.Err("create grant", err)
	}
	if n == 0 {
		return ErrGrantRaced
	}
	return nil
}

func (t grantTx) UpdateGrant(g grantd.Grant) error {
	if err := t.db.WriteGrant(t.ctx, g); err != nil {
		return err
	}
	if t.st.locked && t.st.grant.id == g.ID {
		t.st.grant.lastUsed = g.LastUsedAt
	}
	return nil
}

// TouchGrant on the grant the unit locked decides from the last_used_at
// it read with the lock (touchLocked); on any other, or where there is no
// row lock (SQLite), the statement decides (DB.TouchGrant).
func (t grantTx) TouchGrant(id string, now time.Time) error {
	if !t.st.locked || t.st.grant.id != id {
		return t.db.TouchGrant(t.ctx, id, now)
	}
	if err := t.db.touchLocked(t.ctx, id, t.st.grant.lastUsed, now); err != nil {
		return err
	}
	if !TouchFresh(t.st.grant.lastUsed, now) {
		t.st.grant.lastUsed = &now
	}
	return nil
}

// DeviceCode locks the grant of an approved device authorization first
// (the lock order), then the row. A row's grant is set once, by the unit
// that approves it, which holds the row's lock: reading it first without
// a lock and finding it empty means no grant to lock.
func (t grantTx) DeviceCode(hash string) (grantd.DeviceCode, error) {
	if t.db.d.ForUpdate() == "" {
		return t.db.DeviceCode(t.ctx, `hash = ?`, hash, false)
	}
	dc, err := t.db.DeviceCode(t.ctx, `hash = ?`, hash, false)
	if err != nil {
		return grantd.DeviceCode{}, err
	}
	if dc.GrantID != "" {
		g, locked, err := t.db.lockGrant(t.ctx, dc.GrantID)
		if err != nil {
			return grantd.DeviceCode{}, err
		}
		t.remember(g, locked)
	}
	return t.db.DeviceCode(t.ctx, `hash = ?`, hash, true)
}

func (t grantTx) UpdateDeviceCode(dc grantd.DeviceCode) error {
	d := t.db.d
	n, err := t.db.exec(t.ctx, `UPDATE device_codes SET interval_s = ?, last_polled_at = ?, status = ?,
		user_id = NULLIF(?, ''), grant_id = NULLIF(?, ''), used_at = ? WHERE hash = ?`,
		dc.Interval, d.NullTime(dc.LastPolledAt), dc.Status, dc.UserID, dc.GrantID, d.NullTime(dc.UsedAt), dc.Hash)
	return t.db.mustAffect("update device code", n, err)
}
