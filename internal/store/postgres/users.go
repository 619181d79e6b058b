package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
)

const userCols = `id, org_id, email, password_hash, created_at, updated_at`

func scanUser(sc scanner) (grantd.User, error) {
	var u grantd.User
	err := sc.Scan(&u.ID, &u.OrgID, &u.Email, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt)
	return u, err
}

// getUser reads one user; lock is "" or a locking clause (FOR UPDATE).
func getUser(ctx context.Context, q querier, where, lock string, arg any) (grantd.User, error) {
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE `+where+` `+lock, arg))
	if err != nil {
		return grantd.User{}, dbErr("user", err)
	}
	return u, nil
}

// ensureOrg creates the organisation row the first time a user names it.
// Two transactions creating the same organisation at once both succeed:
// the second waits for the first and then does nothing.
func ensureOrg(ctx context.Context, tx pgx.Tx, id string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO orgs (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, ts(now))
	if err != nil {
		return dbErr("org", err)
	}
	return nil
}

func (s *Store) CreateUser(ctx context.Context, u grantd.User) error {
	if u.OrgID == "" {
		return errors.New("postgres: create user: every user belongs to an organisation")
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := ensureOrg(ctx, tx, u.OrgID, u.CreatedAt); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			u.ID, u.OrgID, u.Email, u.PasswordHash, ts(u.CreatedAt), ts(u.UpdatedAt))
		if err != nil {
			return dbErr("create user", err)
		}
		return nil
	})
}

func (s *Store) GetUser(ctx context.Context, id string) (grantd.User, error) {
	return getUser(ctx, s.pool, `id = $1`, "", id)
}

func (s *Store) GetUserByEmail(ctx context.Context, email string) (grantd.User, error) {
	return getUser(ctx, s.pool, `email = $1`, "", email)
}

func (s *Store) UpdateUser(ctx context.Context, id string, update func(grantd.User) (grantd.User, error)) (grantd.User, error) {
	var out grantd.User
	err := s.write(ctx, func(tx pgx.Tx) error {
		old, err := getUser(ctx, tx, `id = $1`, `FOR UPDATE`, id)
		if err != nil {
			return err
		}
		u, err := update(old)
		if err != nil {
			return err
		}
		if u.OrgID == "" {
			return errors.New("postgres: update user: every user belongs to an organisation")
		}
		if u.OrgID != old.OrgID {
			if err := ensureOrg(ctx, tx, u.OrgID, u.UpdatedAt); err != nil {
				return err
			}
		}
		// The key is the argument, whatever the updater did to u.ID.
		_, err = tx.Exec(ctx, `UPDATE users SET org_id = $1, email = $2, password_hash = $3, created_at = $4, updated_at = $5 WHERE id = $6`,
			u.OrgID, u.Email, u.PasswordHash, ts(u.CreatedAt), ts(u.UpdatedAt), id)
		if err != nil {
			return dbErr("update user", err)
		}
		out, err = getUser(ctx, tx, `id = $1`, "", id)
		return err
	})
	if err != nil {
		return grantd.User{}, err
	}
	return out, nil
}

const apiKeyCols = `id, user_id, name, hash, created_at, last_used_at`

func (s *Store) CreateAPIKey(ctx context.Context, k grantd.APIKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.UserID, k.Name, k.Hash, ts(k.CreatedAt), nullTS(k.LastUsedAt))
	if err != nil {
		return dbErr("create api key", err)
	}
	return nil
}

func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (grantd.APIKey, error) {
	var k grantd.APIKey
	err := s.pool.QueryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = $1`, hash).
		Scan(&k.ID, &k.UserID, &k.Name, &k.Hash, &k.CreatedAt, &k.LastUsedAt)
	if err != nil {
		return grantd.APIKey{}, dbErr("api key", err)
	}
	return k, nil
}

func (s *Store) TouchAPIKey(ctx context.Context, id string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, ts(now), id)
	return mustAffect("api key", tag, err)
}
