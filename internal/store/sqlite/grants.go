package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/grantd/grantd"
)

const grantCols = `id, user_id, client_id, scopes, created_at, updated_at, last_used_at`

func scanGrant(sc scanner) (grantd.Grant, error) {
	var g grantd.Grant
	err := sc.Scan(&g.ID, &g.UserID, &g.ClientID, listCol{&g.Scopes},
		timeCol{&g.CreatedAt}, timeCol{&g.UpdatedAt}, nullTimeCol{&g.LastUsedAt})
	return g, err
}

func getGrant(ctx context.Context, q querier, where string, args ...any) (grantd.Grant, error) {
	g, err := scanGrant(q.QueryRowContext(ctx, `SELECT `+grantCols+` FROM grants WHERE `+where, args...))
	if err != nil {
		return grantd.Grant{}, dbErr("grant", err)
	}
	return g, nil
}

func insertGrant(ctx context.Context, q querier, g grantd.Grant) error {
	_, err := q.ExecContext(ctx, `INSERT INTO grants (`+grantCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.UserID, g.ClientID, list(g.Scopes), micros(g.CreatedAt), micros(g.UpdatedAt), nullMicros(g.LastUsedAt))
	if err != nil {
		return dbErr("create grant", err)
	}
	return nil
}

// writeGrant writes g over the grant with g's id.
func writeGrant(ctx context.Context, q querier, g grantd.Grant) error {
	_, err := q.ExecContext(ctx, `UPDATE grants SET user_id = ?, client_id = ?, scopes = ?, created_at = ?,
		updated_at = ?, last_used_at = ? WHERE id = ?`,
		g.UserID, g.ClientID, list(g.Scopes), micros(g.CreatedAt), micros(g.UpdatedAt), nullMicros(g.LastUsedAt), g.ID)
	if err != nil {
		return dbErr("update grant", err)
	}
	return nil
}

func (s *Store) CreateGrant(ctx context.Context, g grantd.Grant) error {
	return insertGrant(ctx, s.w, g)
}

func (s *Store) GetGrant(ctx context.Context, id string) (grantd.Grant, error) {
	return getGrant(ctx, s.r, `id = ?`, id)
}

func (s *Store) GetGrantByUserClient(ctx context.Context, userID, clientID string) (grantd.Grant, error) {
	return getGrant(ctx, s.r, `user_id = ? AND client_id = ?`, userID, clientID)
}

func (s *Store) UpdateGrant(ctx context.Context, id string, update func(grantd.Grant) (grantd.Grant, error)) (grantd.Grant, error) {
	var out grantd.Grant
	err := s.write(ctx, func(tx *sql.Tx) error {
		old, err := getGrant(ctx, tx, `id = ?`, id)
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
		out, err = getGrant(ctx, tx, `id = ?`, id)
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
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM grants WHERE user_id = ?`, userID).Scan(&total); err != nil {
			return dbErr("list grants", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+grantCols+` FROM grants WHERE user_id = ?
			ORDER BY created_at DESC, id ASC LIMIT ? OFFSET ?`, userID, limit, offset)
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

// DeleteGrant revokes the access tokens recorded under the grant (on its
// codes and refresh tokens) before the rows that recorded them go; the
// schema cascades the delete to the grant's codes and refresh tokens.
// The clients created through the grant go with it, as DeleteClient
// deletes them.
func (s *Store) DeleteGrant(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := getGrant(ctx, tx, `id = ?`, id); err != nil {
			return err
		}
		doomed, err := createdThrough(ctx, tx, `created_by_grant_id = ?`, id)
		if err != nil {
			return err
		}
		if err := deleteClients(ctx, tx, doomed); err != nil {
			return err
		}
		if err := revokeCodeJTIs(ctx, tx, `grant_id = ?`, id); err != nil {
			return err
		}
		if err := revokeRefreshJTIs(ctx, tx, `grant_id = ?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE id = ?`, id)
		return mustAffect("grant", res, err)
	})
}

func (s *Store) TouchGrant(ctx context.Context, id string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE grants SET last_used_at = ? WHERE id = ?`, micros(now), id)
	return mustAffect("grant", res, err)
}
