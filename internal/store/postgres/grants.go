package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/sqlstore"
)

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
		rows, err := tx.Query(ctx, `SELECT `+sqlstore.GrantCols+` FROM grants WHERE user_id = $1
			ORDER BY created_at DESC, id COLLATE "C" ASC LIMIT $2 OFFSET $3`, userID, limit, offset)
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
		if _, err := on(tx).Grant(ctx, `id = ?`, true, id); err != nil {
			return err
		}
		doomed, err := createdThrough(ctx, tx, `created_by_grant_id = $1`, id)
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
		tag, err := tx.Exec(ctx, `DELETE FROM grants WHERE id = $1`, id)
		return mustAffect("grant", tag, err)
	})
}
