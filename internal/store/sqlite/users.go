package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/grantd/grantd"
)

const userCols = `id, org_id, email, password_hash, created_at, updated_at`

func scanUser(sc scanner) (grantd.User, error) {
	var u grantd.User
	err := sc.Scan(&u.ID, &u.OrgID, &u.Email, &u.PasswordHash, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt})
	return u, err
}

func getUser(ctx context.Context, q querier, where string, arg any) (grantd.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+where, arg))
	if err != nil {
		return grantd.User{}, dbErr("user", err)
	}
	return u, nil
}

// ensureOrg creates the organisation row the first time a user names it.
func ensureOrg(ctx context.Context, tx *sql.Tx, id string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO orgs (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, micros(now))
	if err != nil {
		return dbErr("org", err)
	}
	return nil
}

func (s *Store) CreateUser(ctx context.Context, u grantd.User) error {
	if u.OrgID == "" {
		return errors.New("sqlite: create user: every user belongs to an organisation")
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := ensureOrg(ctx, tx, u.OrgID, u.CreatedAt); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, u.OrgID, u.Email, u.PasswordHash, micros(u.CreatedAt), micros(u.UpdatedAt))
		if err != nil {
			return dbErr("create user", err)
		}
		return nil
	})
}

func (s *Store) GetUser(ctx context.Context, id string) (grantd.User, error) {
	return getUser(ctx, s.r, `id = ?`, id)
}

func (s *Store) GetUserByEmail(ctx context.Context, email string) (grantd.User, error) {
	return getUser(ctx, s.r, `email = ?`, email)
}

func (s *Store) UpdateUser(ctx context.Context, id string, update func(grantd.User) (grantd.User, error)) (grantd.User, error) {
	var out grantd.User
	err := s.write(ctx, func(tx *sql.Tx) error {
		old, err := getUser(ctx, tx, `id = ?`, id)
		if err != nil {
			return err
		}
		u, err := update(old)
		if err != nil {
			return err
		}
		if u.OrgID == "" {
			return errors.New("sqlite: update user: every user belongs to an organisation")
		}
		if u.OrgID != old.OrgID {
			if err := ensureOrg(ctx, tx, u.OrgID, u.UpdatedAt); err != nil {
				return err
			}
		}
		// The key is the argument, whatever the updater did to u.ID.
		_, err = tx.ExecContext(ctx, `UPDATE users SET org_id = ?, email = ?, password_hash = ?, created_at = ?, updated_at = ? WHERE id = ?`,
			u.OrgID, u.Email, u.PasswordHash, micros(u.CreatedAt), micros(u.UpdatedAt), id)
		if err != nil {
			return dbErr("update user", err)
		}
		out, err = getUser(ctx, tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return grantd.User{}, err
	}
	return out, nil
}

const apiKeyCols = `id, user_id, name, hash, created_at, last_used_at`

func (s *Store) CreateAPIKey(ctx context.Context, k grantd.APIKey) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.UserID, k.Name, k.Hash, micros(k.CreatedAt), nullMicros(k.LastUsedAt))
	if err != nil {
		return dbErr("create api key", err)
	}
	return nil
}

func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (grantd.APIKey, error) {
	var k grantd.APIKey
	err := s.r.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = ?`, hash).
		Scan(&k.ID, &k.UserID, &k.Name, &k.Hash, timeCol{&k.CreatedAt}, nullTimeCol{&k.LastUsedAt})
	if err != nil {
		return grantd.APIKey{}, dbErr("api key", err)
	}
	return k, nil
}

func (s *Store) TouchAPIKey(ctx context.Context, id string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, micros(now), id)
	return mustAffect("api key", res, err)
}
