package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/grantd/grantd"
)

const authCodeCols = `hash, client_id, user_id, grant_id, redirect_uri, scopes, resource, code_challenge,
	created_at, expires_at, used_at, family_id, access_jti, access_expires_at`

// AuthCode reads one code; lock takes its row lock (see Dialect.ForUpdate).
func (db DB) AuthCode(ctx context.Context, hash string, lock bool) (grantd.AuthCode, error) {
	var c grantd.AuthCode
	d := db.d
	err := db.row(ctx, `SELECT `+authCodeCols+` FROM auth_codes WHERE hash = ?`+db.lock(lock), hash).
		Scan(&c.Hash, &c.ClientID, &c.UserID, &c.GrantID, &c.RedirectURI, d.ScanList(&c.Scopes), &c.Resource,
			&c.CodeChallenge, d.ScanTime(&c.CreatedAt), d.ScanTime(&c.ExpiresAt), d.ScanNullTime(&c.UsedAt),
			&c.FamilyID, &c.AccessJTI, d.ScanNullTime(&c.AccessExpiresAt))
	if err != nil {
		return grantd.AuthCode{}, d.Err("auth code", err)
	}
	c.Scopes = unlist(c.Scopes)
	return c, nil
}

// InsertAuthCode stores a new code.
func (db DB) InsertAuthCode(ctx context.Context, c grantd.AuthCode) error {
	if err := checkAccessExpiry(c.AccessJTI, c.AccessExpiresAt); err != nil {
		return err
	}
	d := db.d
	_, err := db.exec(ctx, `INSERT INTO auth_codes (`+authCodeCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.ClientID, c.UserID, c.GrantID, c.RedirectURI, d.List(c.Scopes), c.Resource, c.CodeChallenge,
		d.Time(c.CreatedAt), d.Time(c.ExpiresAt), d.NullTime(c.UsedAt), c.FamilyID, c.AccessJTI, d.NullTime(c.AccessExpiresAt))
	if err != nil {
		return d.Err("create auth code", err)
	}
	return nil
}

const refreshCols = `hash, family_id, grant_id, client_id, user_id, scopes, resource, created_at, expires_at,
	rotated_at, successor_hash, access_jti, access_expires_at, access_scopes`

// RefreshToken answers the token and whether it was revoked. A revoked
// row is kept only to recognise its reuse; to everything else it is gone.
func (db DB) RefreshToken(ctx context.Context, hash string, lock bool) (grantd.RefreshToken, bool, error) {
	var (
		t       grantd.RefreshToken
		revoked bool
	)
	d := db.d
	err := db.row(ctx, `SELECT `+refreshCols+`, revoked_at IS NOT NULL FROM refresh_tokens WHERE hash = ?`+db.lock(lock), hash).
		Scan(&t.Hash, &t.FamilyID, &t.GrantID, &t.ClientID, &t.UserID, d.ScanList(&t.Scopes), &t.Resource,
			d.ScanTime(&t.CreatedAt), d.ScanTime(&t.ExpiresAt), d.ScanNullTime(&t.RotatedAt), &t.SuccessorHash,
			&t.AccessJTI, d.ScanTime(&t.AccessExpiresAt), d.ScanList(&t.AccessScopes), &revoked)
	if err != nil {
		return grantd.RefreshToken{}, false, d.Err("refresh token", err)
	}
	t.Scopes = unlist(t.Scopes)
	t.AccessScopes = unlist(t.AccessScopes)
	return t, revoked, nil
}

// LiveRefreshToken answers a token that has not been revoked.
func (db DB) LiveRefreshToken(ctx context.Context, hash string, lock bool) (grantd.RefreshToken, error) {
	t, revoked, err := db.RefreshToken(ctx, hash, lock)
	if err != nil {
		return grantd.RefreshToken{}, err
	}
	if revoked {
		return grantd.RefreshToken{}, fmt.Errorf("refresh token: revoked: %w", grantd.ErrNotFound)
	}
	return t, nil
}

// InsertRefreshToken stores a new refresh token.
func (db DB) InsertRefreshToken(ctx context.Context, t grantd.RefreshToken) error {
	d := db.d
	_, err := db.exec(ctx, `INSERT INTO refresh_tokens (`+refreshCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.FamilyID, t.GrantID, t.ClientID, t.UserID, d.List(t.Scopes), t.Resource,
		d.Time(t.CreatedAt), d.Time(t.ExpiresAt), d.NullTime(t.RotatedAt), t.SuccessorHash,
		t.AccessJTI, d.Time(t.AccessExpiresAt), d.List(t.AccessScopes))
	if err != nil {
		return d.Err("store refresh token", err)
	}
	return nil
}

// RevokeRefreshToken deletes the live token and revokes the access token
// issued with it. It runs in a write transaction.
func (db DB) RevokeRefreshToken(ctx context.Context, hash string) error {
	if _, _, err := db.lockTokenGrant(ctx, hash); err != nil {
		return err
	}
	t, err := db.LiveRefreshToken(ctx, hash, true)
	if err != nil {
		return err
	}
	if t.AccessJTI != "" {
		if err := db.RevokeJTI(ctx, t.AccessJTI, t.AccessExpiresAt); err != nil {
			return err
		}
	}
	if _, err := db.exec(ctx, `DELETE FROM refresh_tokens WHERE hash = ?`, hash); err != nil {
		return db.d.Err("revoke refresh token", err)
	}
	return nil
}

const consentCols = `hash, user_id, client_id, redirect_uri, scopes, state, code_challenge,
	code_challenge_method, resource, created_at, expires_at, used_at, device_code_hash`

// Consent reads one consent; lock takes its row lock.
func (db DB) Consent(ctx context.Context, hash string, lock bool) (grantd.Consent, error) {
	var c grantd.Consent
	d := db.d
	err := db.row(ctx, `SELECT `+consentCols+` FROM consents WHERE hash = ?`+db.lock(lock), hash).
		Scan(&c.Hash, &c.UserID, &c.ClientID, &c.RedirectURI, d.ScanList(&c.Scopes), &c.State, &c.CodeChallenge,
			&c.CodeChallengeMethod, &c.Resource, d.ScanTime(&c.CreatedAt), d.ScanTime(&c.ExpiresAt), d.ScanNullTime(&c.UsedAt),
			&c.DeviceCodeHash)
	if err != nil {
		return grantd.Consent{}, d.Err("consent", err)
	}
	c.Scopes = unlist(c.Scopes)
	return c, nil
}

// InsertConsent stores a new consent.
func (db DB) InsertConsent(ctx context.Context, c grantd.Consent) error {
	d := db.d
	_, err := db.exec(ctx, `INSERT INTO consents (`+consentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.UserID, c.ClientID, c.RedirectURI, d.List(c.Scopes), c.State, c.CodeChallenge,
		c.CodeChallengeMethod, c.Resource, d.Time(c.CreatedAt), d.Time(c.ExpiresAt), d.NullTime(c.UsedAt),
		c.DeviceCodeHash)
	if err != nil {
		return d.Err("create consent", err)
	}
	return nil
}

// GrantCols are the grant's columns, in ScanGrant's order.
const GrantCols = `id, user_id, client_id, scopes, created_at, updated_at, last_used_at`

// ScanGrant scans the GrantCols of one row.
func ScanGrant(d Dialect, r Row) (grantd.Grant, error) {
	var g grantd.Grant
	err := r.Scan(&g.ID, &g.UserID, &g.ClientID, d.ScanList(&g.Scopes),
		d.ScanTime(&g.CreatedAt), d.ScanTime(&g.UpdatedAt), d.ScanNullTime(&g.LastUsedAt))
	g.Scopes = unlist(g.Scopes)
	return g, err
}

// Grant reads the grant that matches where (a condition with ?); lock
// takes its row lock.
func (db DB) Grant(ctx context.Context, where string, lock bool, args ...any) (grantd.Grant, error) {
	g, err := ScanGrant(db.d, db.row(ctx, `SELECT `+GrantCols+` FROM grants WHERE `+where+db.lock(lock), args...))
	if err != nil {
		return grantd.Grant{}, db.d.Err("grant", err)
	}
	return g, nil
}

// InsertGrant stores a new grant; a taken (UserID, ClientID) answers
// ErrAlreadyExists.
func (db DB) InsertGrant(ctx context.Context, g grantd.Grant) error {
	d := db.d
	_, err := db.exec(ctx, `INSERT INTO grants (`+GrantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.UserID, g.ClientID, d.List(g.Scopes), d.Time(g.CreatedAt), d.Time(g.UpdatedAt), d.NullTime(g.LastUsedAt))
	if err != nil {
		return d.Err("create grant", err)
	}
	return nil
}

// WriteGrant writes g over the grant with g's id.
func (db DB) WriteGrant(ctx context.Context, g grantd.Grant) error {
	d := db.d
	_, err := db.exec(ctx, `UPDATE grants SET user_id = ?, client_id = ?, scopes = ?, created_at = ?,
		updated_at = ?, last_used_at = ? WHERE id = ?`,
		g.UserID, g.ClientID, d.List(g.Scopes), d.Time(g.CreatedAt), d.Time(g.UpdatedAt), d.NullTime(g.LastUsedAt), g.ID)
	if err != nil {
		return d.Err("update grant", err)
	}
	return db.note(ctx, ChangeGrant, g.ID)
}

// TouchEvery is how often, at most, a grant in use has its last_used_at
// written: TouchGrant leaves a last_used_at less than TouchEvery before
// now as it is, so that a grant refreshed many times a second does not
// have its row rewritten (a new row version and its WAL on PostgreSQL)
// on every refresh.
const TouchEvery = time.Second

// TouchFresh reports whether touching a grant at now leaves last, its
// last_used_at (nil: never), as it is: last lies less than TouchEvery
// before now, to the microsecond (as stored). A last_used_at after now
// (written by a node whose clock runs ahead) is overwritten, as it
// always was.
func TouchFresh(last *time.Time, now time.Time) bool {
	if last == nil {
		return false
	}
	l, n := last.UnixMicro(), now.UnixMicro()
	return l <= n && l > n-TouchEvery.Microseconds()
}

// TouchGrant sets the grant's last_used_at to now unless it is fresh
// (TouchFresh); a missing grant answers ErrNotFound either way. It
// records no change in the feed: last_used_at is bookkeeping that no
// decision reads, and a row on every code redemption and refresh would
// make every other node drop and read the grant again for nothing. The
// writing node's cache drops the grant itself (internal/store/cache);
// another node's copy shows an older last_used_at until the grant
// changes otherwise or its cache's next full refresh (ARCHITECTURE.md,
// "Caches and staleness").
func (db DB) TouchGrant(ctx context.Context, id string, now time.Time) error {
	d := db.d
	// The condition is TouchFresh's, negated, in SQL.
	n, err := db.exec(ctx, `UPDATE grants SET last_used_at = ?
		WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ? OR last_used_at > ?)`,
		d.Time(now), id, d.Time(now.Add(-TouchEvery)), d.Time(now))
	if err != nil {
		return d.Err("grant", err)
	}
	if n > 0 {
		return nil
	}
	// Fresh, or missing.
	var one int
	if err := db.row(ctx, `SELECT 1 FROM grants WHERE id = ?`, id).Scan(&one); err != nil {
		return d.Err("grant", err)
	}
	return nil
}

// touchLocked is TouchGrant on a grant whose row this transaction holds
// locked since it read last, its last_used_at: nothing else can have
// changed or deleted the row since, so a fresh last_used_at needs no
// statement at all.
func (db DB) touchLocked(ctx context.Context, id string, last *time.Time, now time.Time) error {
	if TouchFresh(last, now) {
		return nil
	}
	n, err := db.exec(ctx, `UPDATE grants SET last_used_at = ? WHERE id = ?`, db.d.Time(now), id)
	return db.mustAffect("grant", n, err)
}

// lockedGrant is a grant whose row the transaction holds locked, and its
// last_used_at as of the lock.
type lockedGrant struct {
	id       string
	lastUsed *time.Time
}

// LockGrant takes the grant's lock, which every change to the grant's
// codes and refresh tokens holds first (the lock order: grant, then code
// or refresh token, then revoked_jtis). Where there is no row lock
// (Dialect.GrantLock is "") it does nothing.
func (db DB) LockGrant(ctx context.Context, id string) error {
	_, _, err := db.lockGrant(ctx, id)
	return err
}

// lockGrant is LockGrant answering the locked grant; ok is false where
// there is no row lock.
func (db DB) lockGrant(ctx context.Context, id string) (g lockedGrant, ok bool, err error) {
	if db.d.GrantLock() == "" {
		return lockedGrant{}, false, nil
	}
	if err := db.row(ctx, `SELECT id, last_used_at FROM grants WHERE id = ? `+db.d.GrantLock(), id).
		Scan(&g.id, db.d.ScanNullTime(&g.lastUsed)); err != nil {
		return lockedGrant{}, false, db.d.Err("grant", err)
	}
	return g, true, nil
}

// lockCodeGrant takes the lock of the grant the code belongs to, in one
// statement: the grant's row is found through the code's grant_id, read
// without a lock. A code's grant never changes, so that is safe; a grant
// gone since took the code with it. A missing code (or grant) answers
// ErrNotFound.
func (db DB) lockCodeGrant(ctx context.Context, hash string) (lockedGrant, bool, error) {
	return db.lockOwnerGrant(ctx, "auth code", "auth_codes", hash)
}

// lockTokenGrant takes the lock of the grant the refresh token belongs
// to, as lockCodeGrant does for a code.
func (db DB) lockTokenGrant(ctx context.Context, hash string) (lockedGrant, bool, error) {
	return db.lockOwnerGrant(ctx, "refresh token", "refresh_tokens", hash)
}

// lockOwnerGrant locks the grant of the row of table (a table with hash
// and grant_id columns) with the hash, in one round trip, and answers it
// (ok is false where there is no row lock). Only the grant's row is
// locked (the locking clause of a query does not reach its sub-select),
// so the lock order stays grant first; the caller then locks the row
// itself.
func (db DB) lockOwnerGrant(ctx context.Context, what, table, hash string) (g lockedGrant, ok bool, err error) {
	if db.d.GrantLock() == "" {
		return lockedGrant{}, false, nil
	}
	if err := db.row(ctx, `SELECT id, last_used_at FROM grants WHERE id = (SELECT grant_id FROM `+table+` WHERE hash = ?) `+db.d.GrantLock(), hash).
		Scan(&g.id, db.d.ScanNullTime(&g.lastUsed)); err != nil {
		return lockedGrant{}, false, db.d.Err(what, err)
	}
	return g, true, nil
}

const deviceCodeCols = `hash, user_code_hash, client_id, scopes, resource, interval_s, created_at, expires_at,
	last_polled_at, status, COALESCE(user_id, ''), COALESCE(grant_id, ''), used_at`

// DeviceCode reads the device authorization where the condition (one
// column = ?) holds; lock takes its row lock.
func (db DB) DeviceCode(ctx context.Context, where string, arg any, lock bool) (grantd.DeviceCode, error) {
	var c grantd.DeviceCode
	d := db.d
	err := db.row(ctx, `SELECT `+deviceCodeCols+` FROM device_codes WHERE `+where+db.lock(lock), arg).
		Scan(&c.Hash, &c.UserCodeHash, &c.ClientID, d.ScanList(&c.Scopes), &c.Resource, &c.Interval,
			d.ScanTime(&c.CreatedAt), d.ScanTime(&c.ExpiresAt), d.ScanNullTime(&c.LastPolledAt), &c.Status,
			&c.UserID, &c.GrantID, d.ScanNullTime(&c.UsedAt))
	if err != nil {
		return grantd.DeviceCode{}, d.Err("device code", err)
	}
	c.Scopes = unlist(c.Scopes)
	return c, nil
}

// InsertDeviceCode stores a new device authorization.
func (db DB) InsertDeviceCode(ctx context.Context, c grantd.DeviceCode) error {
	d := db.d
	_, err := db.exec(ctx, `INSERT INTO device_codes (hash, user_code_hash, client_id, scopes, resource, interval_s,
		created_at, expires_at, last_polled_at, status, user_id, grant_id, used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), ?)`,
		c.Hash, c.UserCodeHash, c.ClientID, d.List(c.Scopes), c.Resource, c.Interval,
		d.Time(c.CreatedAt), d.Time(c.ExpiresAt), d.NullTime(c.LastPolledAt), c.Status, c.UserID, c.GrantID, d.NullTime(c.UsedAt))
	if err != nil {
		return d.Err("create device code", err)
	}
	return nil
}
