package sqlite

import (
	"context"
	"database/sql"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/sqlstore"
)

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
		rows, err := tx.QueryContext(ctx, `SELECT `+sqlstore.GrantCols+` FROM grants WHERE user_id = ?
			ORDER BY created_at DESC, id ASC LIMIT ? OFFSET ?`, userID, limit, offset)
		if err != nil {
			return dbErr("list grants", err)
		}
		defer rows.Close()
		for rows.Next() {
			g, err := sqlstore.ScanGrant(dialect{}, rows)
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
		if _, err := on(tx).Grant(ctx, `id = ?`, false, id); err != nil {
			return err
		}
		doomed, err := createdThrough(ctx, tx, `created_by_grant_id = ?`, id)
		if err != nil {
			return err
		}
		if err := deleteClients(ctx, tx, doomed); err != nil {
			return err
		}
		if err := on(tx).RevokeCodeJTIs(ctx, `grant_id = ?`, id); err != nil {
			return err
		}
		if err := on(tx).RevokeRefreshJTIs(ctx, `grant_id = ?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE id = ?`, id)
		return mustAffect("grant", res, err)
	})
}
