package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
)

const grantCols = `id, user_id, client_id, scopes, created_at, updated_at, last_used_at`

func scanGrant(sc scanner) (grantd.Grant, error) {
	var g grantd.Grant
	err := sc.Scan(&g.ID, &g.UserID, &g.ClientID, &g.Scopes, &g.CreatedAt, &g.UpdatedAt, &g.LastUsedAt)
	g.Scopes = unlist(g.Scopes)
	return g, err
}

// getGrant reads one grant; lock is "" or a locking clause (FOR UPDATE).
func getGrant(ctx context.Context, q querier, where, lock string, args ...any) (grantd.Grant, error) {
	g, err := scanGrant(q.QueryRow(ctx, `SELECT `+grantCols+` FROM grants WHERE `+where+` `+lock, args...))
	if err != nil {
		return grantd.Grant{}, dbErr("grant", err)
	}
	return g, nil
}

// lockGrant takes the grant's row lock, which every change to the grant's
// codes and refresh tokens holds (see the package documentation). FOR NO
// KEY UPDATE is the lock an UPDATE of last_used_at takes anyway, and it
// lets other transactions insert rows that refer to the grant.
func lockGrant(ctx context.Context, tx pgx.Tx, id string) error {
	var one int
	if err := tx.QueryRow(ctx, `SELECT 1 FROM grants WHERE id = $1 FOR NO KEY UPDATE`, id).Scan(&one); err != nil {
		return dbErr("grant", err)
	}
	return nil
}

func (s *Store) CreateGrant(ctx context.Context, g grantd.Grant) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO grants (`+grantCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		g.ID, g.UserID, g.ClientID, list(g.Scopes), ts(g.CreatedAt), ts(g.UpdatedAt), nullTS(g.LastUsedAt))
	if err != nil {
		return dbErr("create grant", err)
	}
	return nil
}

// writeGrant writes g over the grant with g's id.
func writeGrant(ctx context.Context, q querier, g grantd.Grant) error {
	_, err := q.Exec(ctx, `UPDATE grants SET user_id = $1, client_id = $2, scopes = $3, created_at = $4,
		updated_at = $5, last_used_at = $6 WHERE id = $7`,
		g.UserID, g.ClientID, list(g.Scopes), ts(g.CreatedAt), ts(g.UpdatedAt), nullTS(g.LastUsedAt), g.ID)
	if err != nil {
		return dbErr("update grant", err)
	}
	return nil
}

func (s *Store) GetGrant(ctx context.Context, id string) (grantd.Grant, error) {
	return getGrant(ctx, s.pool, `id = $1`, "", id)
}

func (s *Store) GetGrantByUserClient(ctx context.Context, userID, clientID string) (grantd.Grant, error) {
	return getGrant(ctx, s.pool, `user_id = $1 AND client_id = $2`, "", userID, clientID)
}

func (s *Store) UpdateGrant(ctx context.Context, id string, update func(grantd.Grant) (grantd.Grant, error)) (grantd.Grant, error) {
	var out grantd.Grant
	err := s.write(ctx, func(tx pgx.Tx) error {
		old, err := getGrant(ctx, tx, `id = $1`, `FOR UPDATE`, id)
		if err != nil {
			return err
		}
		g, err := update(old)
		if err != nil {
			return err
		}
		g.ID = id
		if err := writeGrant(ctx, tx, g); err != nil {
			return err
		}
		out, err = getGrant(ctx, tx, `id = $1`, "", id)
		return err
	})
	if err != nil {
		return grantd.Grant{}, err
	}
	return out, nil
}

func (s *Store) ListGrants(ctx context.Context, userID string, p grantd.Page) ([]grantd.Grant, int, error) {
	limit, offset := limitOffset(p)
	var (
		out   []grantd.Grant
		total int
	)
	err := s.read(ctx, func(tx pgx.Tx) error {
		out, total = nil, 0
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM grants WHERE user_id = $1`, userID).Scan(&total); err != nil {
			return dbErr("list grants", err)
		}
		rows, err := tx.Query(ctx, `SELECT `+grantCols+` FROM grants WHERE user_id = $1
			ORDER BY created_at DESC, id COLLATE "C" ASC LIMIT $2 OFFSET $3`, userID, limit, offset)
		if err != nil {
			return dbErr("list grants", err)
		}
		defer rows.Close()
		for rows.Next() {
			g, err := scanGrant(rows)
			if err != nil {
				return dbErr("list grants", err)
			}
			out = append(out, g)
		}
		if err := rows.Err(); err != nil {
			return dbErr("list grants", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// DeleteGrant locks the grant, revokes the access tokens recorded under
// it (on its codes and refresh tokens) and deletes it; the schema
// cascades the delete to the grant's codes and refresh tokens. The lock
// comes first so that no redemption or rotation can commit a token
// between the revocation and the delete, and no client can be created
// through the grant meanwhile (the insert's foreign key check waits for
// the lock, then finds the grant gone). The clients created through the
// grant go with it, as DeleteClient deletes them.
func (s *Store) DeleteGrant(ctx context.Context, id string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if _, err := getGrant(ctx, tx, `id = $1`, `FOR UPDATE`, id); err != nil {
			return err
		}
		doomed, err := createdThrough(ctx, tx, `created_by_grant_id = $1`, id)
		if err != nil {
			return err
		}
		if err := deleteClients(ctx, tx, doomed); err != nil {
			return err
		}
		if err := revokeCodeJTIs(ctx, tx, `grant_id = $1`, id); err != nil {
			return err
		}
		if err := revokeRefreshJTIs(ctx, tx, `grant_id = $1`, id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM grants WHERE id = $1`, id)
		return mustAffect("grant", tag, err)
	})
}

func (s *Store) TouchGrant(ctx context.Context, id string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE grants SET last_used_at = $1 WHERE id = $2`, ts(now), id)
	return mustAffect("grant", tag, err)
}
