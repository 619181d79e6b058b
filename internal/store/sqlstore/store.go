package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/grantd/grantd"
)

// Backend is what a SQL backend supplies to Store: its dialect, its
// connections and its transactions.
type Backend interface {
	Dialect
	// Write runs fn in one write transaction and commits when fn answers
	// nil; fn's error is returned unchanged and nothing fn wrote
	// survives it. A backend may run fn again after a conflict that
	// running it again can resolve (ErrGrantRaced among them).
	Write(ctx context.Context, fn func(q Querier) error) error
	// Read runs fn in one read-only transaction, so that what fn reads
	// comes from one snapshot.
	Read(ctx context.Context, fn func(q Querier) error) error
	// Reader runs single reads, and Writer single writes, each in a
	// transaction of its own.
	Reader() Querier
	Writer() Querier
}

// Store is the grantd.Store methods that are the same SQL on every
// backend. A backend embeds it and adds what is its own (opening,
// migrating, Ping, Close).
type Store struct {
	b            Backend
	reader, writ DB
}

// New answers the shared store over b.
func New(b Backend) *Store {
	return &Store{b: b, reader: On(b.Reader(), b), writ: On(b.Writer(), b)}
}

// r and w run single statements; built once, so that a lookup on a hot
// path (the token endpoint's client) allocates nothing for them.
func (s *Store) r() DB { return s.reader }
func (s *Store) w() DB { return s.writ }

func (s *Store) write(ctx context.Context, fn func(db DB) error) error {
	return s.b.Write(ctx, func(q Querier) error { return fn(On(q, s.b)) })
}

func (s *Store) read(ctx context.Context, fn func(db DB) error) error {
	return s.b.Read(ctx, func(q Querier) error { return fn(On(q, s.b)) })
}

// Heartbeat makes the smallest committed write, the one heartbeat row,
// as any request's write goes, so that it fails as a write would on a
// read-only server or file or a full disk.
func (s *Store) Heartbeat(ctx context.Context, now time.Time) error {
	_, err := s.w().exec(ctx, `INSERT INTO heartbeat (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`, s.b.Time(now))
	if err != nil {
		return s.b.Err("heartbeat", err)
	}
	return nil
}

// InGrant runs fn in one write transaction (see DB.GrantTx).
func (s *Store) InGrant(ctx context.Context, fn func(tx grantd.GrantTx) error) error {
	return s.write(ctx, func(db DB) error { return fn(db.GrantTx(ctx)) })
}

func (s *Store) CreateAuthCode(ctx context.Context, c grantd.AuthCode) error {
	return s.w().InsertAuthCode(ctx, c)
}

func (s *Store) CreateDeviceCode(ctx context.Context, d grantd.DeviceCode) error {
	return s.w().InsertDeviceCode(ctx, d)
}

func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, userCodeHash string) (grantd.DeviceCode, error) {
	return s.r().DeviceCode(ctx, `user_code_hash = ?`, userCodeHash, false)
}

func (s *Store) CreateConsent(ctx context.Context, c grantd.Consent) error {
	return s.w().InsertConsent(ctx, c)
}

func (s *Store) GetConsent(ctx context.Context, hash string) (grantd.Consent, error) {
	return s.r().Consent(ctx, hash, false)
}

// GetRefreshToken answers ErrNotFound for a token revoked by reuse
// detection or by its code's second use, as for one that never existed.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (grantd.RefreshToken, error) {
	return s.r().LiveRefreshToken(ctx, hash, false)
}

func (s *Store) RevokeRefreshToken(ctx context.Context, hash string) error {
	return s.write(ctx, func(db DB) error { return db.RevokeRefreshToken(ctx, hash) })
}

func (s *Store) RevokeJTI(ctx context.Context, jti string, expiresAt time.Time) error {
	return s.write(ctx, func(db DB) error { return db.RevokeJTI(ctx, jti, expiresAt) })
}

func (s *Store) IsJTIRevoked(ctx context.Context, jti string) (bool, error) {
	var revoked bool
	if err := s.r().row(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_jtis WHERE jti = ?)`, jti).Scan(&revoked); err != nil {
		if err = s.b.Err("revoked jti", err); errors.Is(err, grantd.ErrNotFound) {
			return false, nil // a jti that cannot be stored was never revoked
		}
		return false, err
	}
	return revoked, nil
}

func (s *Store) CreateGrant(ctx context.Context, g grantd.Grant) error {
	return s.w().InsertGrant(ctx, g)
}

func (s *Store) GetGrant(ctx context.Context, id string) (grantd.Grant, error) {
	return s.r().Grant(ctx, `id = ?`, false, id)
}

func (s *Store) GetGrantByUserClient(ctx context.Context, userID, clientID string) (grantd.Grant, error) {
	return s.r().Grant(ctx, `user_id = ? AND client_id = ?`, false, userID, clientID)
}

func (s *Store) UpdateGrant(ctx context.Context, id string, update func(grantd.Grant) (grantd.Grant, error)) (grantd.Grant, error) {
	var out grantd.Grant
	err := s.write(ctx, func(db DB) error {
		old, err := db.Grant(ctx, `id = ?`, true, id)
		if err != nil {
			return err
		}
		g, err := update(old)
		if err != nil {
			return err
		}
		g.ID = id
		if err := db.WriteGrant(ctx, g); err != nil {
			return err
		}
		out, err = db.Grant(ctx, `id = ?`, false, id)
		return err
	})
	if err != nil {
		return grantd.Grant{}, err
	}
	return out, nil
}

func (s *Store) TouchGrant(ctx context.Context, id string, now time.Time) error {
	return s.write(ctx, func(db DB) error { return db.TouchGrant(ctx, id, now) })
}

const sessionCols = `hash, user_id, csrf_token, created_at, expires_at`

func (s *Store) CreateSession(ctx context.Context, sess grantd.Session) error {
	_, err := s.w().exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?)`,
		sess.Hash, sess.UserID, sess.CSRFToken, s.b.Time(sess.CreatedAt), s.b.Time(sess.ExpiresAt))
	if err != nil {
		return s.b.Err("create session", err)
	}
	return nil
}

func (s *Store) GetSession(ctx context.Context, hash string) (grantd.Session, error) {
	var sess grantd.Session
	err := s.r().row(ctx, `SELECT `+sessionCols+` FROM sessions WHERE hash = ?`, hash).
		Scan(&sess.Hash, &sess.UserID, &sess.CSRFToken, s.b.ScanTime(&sess.CreatedAt), s.b.ScanTime(&sess.ExpiresAt))
	if err != nil {
		return grantd.Session{}, s.b.Err("session", err)
	}
	return sess, nil
}

func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	n, err := s.w().exec(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return s.w().mustAffect("session", n, err)
}

// DeleteExpired removes what can no longer be used, each kind in
// batches of grantd.DefaultExpiredBatch rows (see DeleteExpiredBatch).
//
// Rotated and revoked refresh tokens go only when they expire, like live
// ones: until then, presenting one again is detected as reuse. Likewise a
// used code stays while the access token of its first use lives, so that
// a second use arriving after the code's own expiry still revokes what the
// first one issued.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) error {
	for _, kind := range grantd.ExpiredKinds() {
		for {
			n, err := s.DeleteExpiredBatch(ctx, kind, now, grantd.DefaultExpiredBatch)
			if err != nil {
				return err
			}
			if n < grantd.DefaultExpiredBatch {
				break
			}
		}
	}
	return nil
}

// expiredRows answers, for a kind, its table, its primary key, the
// condition of its rows that can go and the condition's arguments. A row
// expiring exactly at now is kept: whether it is still valid at that
// instant is the caller's call, and keeping it one more round costs
// nothing. The change feed's rows go by the database's clock, not by now:
// a caller's clock far ahead must not remove rows readers have not read
// yet.
func (s *Store) expiredRows(kind grantd.ExpiredKind, now time.Time) (table, key, cond string, args []any, ok bool) {
	t := s.b.Time(now)
	switch kind {
	case grantd.ExpiredConsents:
		return "consents", "hash", "expires_at < ?", []any{t}, true
	case grantd.ExpiredAuthCodes:
		return "auth_codes", "hash", "expires_at < ? AND (access_expires_at IS NULL OR access_expires_at < ?)", []any{t, t}, true
	case grantd.ExpiredRefreshTokens:
		return "refresh_tokens", "hash", "expires_at < ?", []any{t}, true
	case grantd.ExpiredSessions:
		return "sessions", "hash", "expires_at < ?", []any{t}, true
	case grantd.ExpiredRevokedJTIs:
		return "revoked_jtis", "jti", "expires_at < ?", []any{t}, true
	case grantd.ExpiredSigningKeys:
		return "signing_keys", "id", "expires_at IS NOT NULL AND expires_at < ?", []any{t}, true
	case grantd.ExpiredDeviceCodes:
		return "device_codes", "hash", "expires_at < ?", []any{t}, true
	case grantd.ExpiredExchangedTokens:
		return "exchanged_tokens", "jti", "expires_at < ?", []any{t}, true
	case grantd.ExpiredChanges:
		return "changes", "id", "at < " + s.b.Ago(), []any{changesKept.Microseconds()}, true
	}
	return "", "", "", nil, false
}

// DeleteExpiredBatch removes at most limit expired rows of kind in one
// statement, in a transaction of its own: nothing needs the deletes to be
// seen together, and short transactions hold their locks for less time
// against the requests being served. The rows are chosen by a subquery
// with a LIMIT, which both databases accept (neither takes a LIMIT on
// DELETE in its default build), through the expiry index of each table.
func (s *Store) DeleteExpiredBatch(ctx context.Context, kind grantd.ExpiredKind, now time.Time, limit int) (int, error) {
	table, key, cond, args, ok := s.expiredRows(kind, now)
	if !ok {
		return 0, fmt.Errorf("delete expired: unknown kind %q", kind)
	}
	if limit < 1 {
		return 0, fmt.Errorf("delete expired %s: limit %d: must be 1 or more", kind, limit)
	}
	args = append(args, int64(limit))
	query := `DELETE FROM ` + table + ` WHERE ` + key + ` IN (SELECT ` + key + ` FROM ` + table + ` WHERE ` + cond + ` LIMIT ?)`
	var n int64
	err := s.write(ctx, func(db DB) error {
		var err error
		if n, err = db.exec(ctx, query, args...); err != nil {
			return s.b.Err("delete expired "+string(kind), err)
		}
		if n > 0 && kind == grantd.ExpiredSigningKeys {
			// Every node's key ring drops the keys (the change feed).
			return db.note(ctx, ChangeKeys, "")
		}
		return nil
	})
	return int(n), err
}

// blob keeps a nil slice out of a NOT NULL column (drivers send nil as
// NULL).
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

const signingKeyCols = `id, algorithm, private_enc, public_jwk, created_at, active_at, retired_at, expires_at`

func scanSigningKey(d Dialect, r Row) (grantd.SigningKey, error) {
	var k grantd.SigningKey
	err := r.Scan(&k.ID, &k.Algorithm, &k.PrivateEnc, &k.PublicJWK, d.ScanTime(&k.CreatedAt), d.ScanTime(&k.ActiveAt),
		d.ScanNullTime(&k.RetiredAt), d.ScanNullTime(&k.ExpiresAt))
	return k, err
}

func (db DB) signingKey(ctx context.Context, id string, lock bool) (grantd.SigningKey, error) {
	k, err := scanSigningKey(db.d, db.row(ctx, `SELECT `+signingKeyCols+` FROM signing_keys WHERE id = ?`+db.lock(lock), id))
	if err != nil {
		return grantd.SigningKey{}, db.d.Err("signing key", err)
	}
	return k, nil
}

func (s *Store) CreateSigningKey(ctx context.Context, k grantd.SigningKey) error {
	return s.write(ctx, func(db DB) error {
		d := db.d
		_, err := db.exec(ctx, `INSERT INTO signing_keys (`+signingKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Algorithm, blob(k.PrivateEnc), blob(k.PublicJWK), d.Time(k.CreatedAt), d.Time(k.ActiveAt),
			d.NullTime(k.RetiredAt), d.NullTime(k.ExpiresAt))
		if err != nil {
			return d.Err("create signing key", err)
		}
		return db.note(ctx, ChangeKeys, k.ID)
	})
}

// ListSigningKeys answers every key, oldest first (ties by id, in byte
// order).
func (s *Store) ListSigningKeys(ctx context.Context) ([]grantd.SigningKey, error) {
	rows, err := s.r().query(ctx, `SELECT `+signingKeyCols+` FROM signing_keys ORDER BY created_at, `+s.b.ByteOrder("id"))
	return collect(s.b, "list signing keys", rows, err, func(r Row) (grantd.SigningKey, error) { return scanSigningKey(s.b, r) })
}

func (s *Store) UpdateSigningKey(ctx context.Context, id string, update func(grantd.SigningKey) (grantd.SigningKey, error)) (grantd.SigningKey, error) {
	var out grantd.SigningKey
	err := s.write(ctx, func(db DB) error {
		old, err := db.signingKey(ctx, id, true)
		if err != nil {
			return err
		}
		k, err := update(old)
		if err != nil {
			return err
		}
		d := db.d
		_, err = db.exec(ctx, `UPDATE signing_keys SET algorithm = ?, private_enc = ?, public_jwk = ?,
			created_at = ?, active_at = ?, retired_at = ?, expires_at = ? WHERE id = ?`,
			k.Algorithm, blob(k.PrivateEnc), blob(k.PublicJWK), d.Time(k.CreatedAt), d.Time(k.ActiveAt),
			d.NullTime(k.RetiredAt), d.NullTime(k.ExpiresAt), id)
		if err != nil {
			return d.Err("update signing key", err)
		}
		if err := db.note(ctx, ChangeKeys, id); err != nil {
			return err
		}
		out, err = db.signingKey(ctx, id, false)
		return err
	})
	if err != nil {
		return grantd.SigningKey{}, err
	}
	return out, nil
}

const userCols = `id, org_id, email, password_hash, created_at, updated_at`

func (db DB) user(ctx context.Context, where string, lock bool, arg any) (grantd.User, error) {
	var u grantd.User
	err := db.row(ctx, `SELECT `+userCols+` FROM users WHERE `+where+db.lock(lock), arg).
		Scan(&u.ID, &u.OrgID, &u.Email, &u.PasswordHash, db.d.ScanTime(&u.CreatedAt), db.d.ScanTime(&u.UpdatedAt))
	if err != nil {
		return grantd.User{}, db.d.Err("user", err)
	}
	return u, nil
}

// ensureOrg creates the organisation row the first time a user names it.
// Two transactions creating the same organisation at once both succeed:
// the second waits for the first and then does nothing.
func (db DB) ensureOrg(ctx context.Context, id string, now time.Time) error {
	_, err := db.exec(ctx, `INSERT INTO orgs (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, db.d.Time(now))
	if err != nil {
		return db.d.Err("org", err)
	}
	return nil
}

var errNoOrg = errors.New("every user belongs to an organisation")

func (s *Store) CreateUser(ctx context.Context, u grantd.User) error {
	if u.OrgID == "" {
		return fmt.Errorf("create user: %w", errNoOrg)
	}
	return s.write(ctx, func(db DB) error {
		if err := db.ensureOrg(ctx, u.OrgID, u.CreatedAt); err != nil {
			return err
		}
		_, err := db.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, u.OrgID, u.Email, u.PasswordHash, db.d.Time(u.CreatedAt), db.d.Time(u.UpdatedAt))
		if err != nil {
			return db.d.Err("create user", err)
		}
		return nil
	})
}

func (s *Store) GetUser(ctx context.Context, id string) (grantd.User, error) {
	return s.r().user(ctx, `id = ?`, false, id)
}

func (s *Store) GetUserByEmail(ctx context.Context, email string) (grantd.User, error) {
	return s.r().user(ctx, `email = ?`, false, email)
}

func (s *Store) UpdateUser(ctx context.Context, id string, update func(grantd.User) (grantd.User, error)) (grantd.User, error) {
	var out grantd.User
	err := s.write(ctx, func(db DB) error {
		old, err := db.user(ctx, `id = ?`, true, id)
		if err != nil {
			return err
		}
		u, err := update(old)
		if err != nil {
			return err
		}
		if u.OrgID == "" {
			return fmt.Errorf("update user: %w", errNoOrg)
		}
		if u.OrgID != old.OrgID {
			if err := db.ensureOrg(ctx, u.OrgID, u.UpdatedAt); err != nil {
				return err
			}
		}
		// The key is the argument, whatever the updater did to u.ID.
		_, err = db.exec(ctx, `UPDATE users SET org_id = ?, email = ?, password_hash = ?, created_at = ?, updated_at = ? WHERE id = ?`,
			u.OrgID, u.Email, u.PasswordHash, db.d.Time(u.CreatedAt), db.d.Time(u.UpdatedAt), id)
		if err != nil {
			return db.d.Err("update user", err)
		}
		// Every node's cache of API keys answers the key's user with it.
		if err := db.note(ctx, ChangeUser, id); err != nil {
			return err
		}
		out, err = db.user(ctx, `id = ?`, false, id)
		return err
	})
	if err != nil {
		return grantd.User{}, err
	}
	return out, nil
}

const apiKeyCols = `id, user_id, name, hash, created_at, last_used_at`

func (s *Store) CreateAPIKey(ctx context.Context, k grantd.APIKey) error {
	_, err := s.w().exec(ctx, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.UserID, k.Name, k.Hash, s.b.Time(k.CreatedAt), s.b.NullTime(k.LastUsedAt))
	if err != nil {
		return s.b.Err("create api key", err)
	}
	return nil
}

func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (grantd.APIKey, error) {
	var k grantd.APIKey
	err := s.r().row(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = ?`, hash).
		Scan(&k.ID, &k.UserID, &k.Name, &k.Hash, s.b.ScanTime(&k.CreatedAt), s.b.ScanNullTime(&k.LastUsedAt))
	if err != nil {
		return grantd.APIKey{}, s.b.Err("api key", err)
	}
	return k, nil
}

// GetAPIKeyUser reads the key and its owner with one statement, not two
// round trips.
func (s *Store) GetAPIKeyUser(ctx context.Context, hash string) (grantd.APIKey, grantd.User, error) {
	var (
		k grantd.APIKey
		u grantd.User
	)
	err := s.r().row(ctx, `SELECT k.id, k.user_id, k.name, k.hash, k.created_at, k.last_used_at,
		u.id, u.org_id, u.email, u.password_hash, u.created_at, u.updated_at
		FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = ?`, hash).
		Scan(&k.ID, &k.UserID, &k.Name, &k.Hash, s.b.ScanTime(&k.CreatedAt), s.b.ScanNullTime(&k.LastUsedAt),
			&u.ID, &u.OrgID, &u.Email, &u.PasswordHash, s.b.ScanTime(&u.CreatedAt), s.b.ScanTime(&u.UpdatedAt))
	if err != nil {
		return grantd.APIKey{}, grantd.User{}, s.b.Err("api key", err)
	}
	return k, u, nil
}

func (s *Store) TouchAPIKey(ctx context.Context, id string, now time.Time) error {
	n, err := s.w().exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, s.b.Time(now), id)
	return s.w().mustAffect("api key", n, err)
}
