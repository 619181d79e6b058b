package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/grantd/grantd"
)

// clientCols are the columns an update writes; clientSelect adds the
// provenance, which is written once, at creation.
const (
	clientCols = `id, name, org_id, user_id, client_type, require_pkce, grant_types, scopes,
	redirect_uris, secret_hash, logo_uri, tos_uri, policy_uri, verified, registered,
	token_endpoint_auth_method, response_types, registration_token_hash, created_at, updated_at`
	clientSelect = clientCols + `, created_by_client_id, created_by_grant_id`
)

func scanClient(sc scanner) (grantd.Client, error) {
	var c grantd.Client
	err := sc.Scan(&c.ID, &c.Name, stringCol{&c.OrgID}, stringCol{&c.UserID}, &c.Type, &c.RequirePKCE,
		listCol{&c.GrantTypes}, listCol{&c.Scopes}, listCol{&c.RedirectURIs}, &c.SecretHash,
		&c.LogoURI, &c.TosURI, &c.PolicyURI, &c.Verified, &c.Registered,
		&c.TokenEndpointAuthMethod, listCol{&c.ResponseTypes}, &c.RegistrationTokenHash,
		timeCol{&c.CreatedAt}, timeCol{&c.UpdatedAt}, stringCol{&c.CreatedByClientID}, stringCol{&c.CreatedByGrantID})
	return c, err
}

// clientArgs answers the values of clientCols and then name_lower.
func clientArgs(c grantd.Client) []any {
	return []any{c.ID, c.Name, nullString(c.OrgID), nullString(c.UserID), string(c.Type), c.RequirePKCE,
		list(c.GrantTypes), list(c.Scopes), list(c.RedirectURIs), c.SecretHash,
		c.LogoURI, c.TosURI, c.PolicyURI, c.Verified, c.Registered,
		c.TokenEndpointAuthMethod, list(c.ResponseTypes), c.RegistrationTokenHash,
		micros(c.CreatedAt), micros(c.UpdatedAt), strings.ToLower(c.Name)}
}

func getClient(ctx context.Context, q querier, id string) (grantd.Client, error) {
	c, err := scanClient(q.QueryRowContext(ctx, `SELECT `+clientSelect+` FROM clients WHERE id = ?`, id))
	if err != nil {
		return grantd.Client{}, dbErr("client", err)
	}
	return c, nil
}

func (s *Store) CreateClient(ctx context.Context, c grantd.Client) error {
	// A provenance that names no row fails the foreign key: ErrNotFound.
	_, err := s.w.ExecContext(ctx, `INSERT INTO clients (`+clientCols+`, name_lower, created_by_client_id, created_by_grant_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		append(clientArgs(c), nullString(c.CreatedByClientID), nullString(c.CreatedByGrantID))...)
	if err != nil {
		return dbErr("create client", err)
	}
	return nil
}

func (s *Store) GetClient(ctx context.Context, id string) (grantd.Client, error) {
	return getClient(ctx, s.r, id)
}

func (s *Store) UpdateClient(ctx context.Context, id string, update func(grantd.Client) (grantd.Client, error)) (grantd.Client, error) {
	var out grantd.Client
	err := s.write(ctx, func(tx *sql.Tx) error {
		old, err := getClient(ctx, tx, id)
		if err != nil {
			return err
		}
		c, err := update(old)
		if err != nil {
			return err
		}
		c.ID = id // the key is the argument, whatever the updater did
		args := clientArgs(c)
		_, err = tx.ExecContext(ctx, `UPDATE clients SET name = ?, org_id = ?, user_id = ?, client_type = ?,
			require_pkce = ?, grant_types = ?, scopes = ?, redirect_uris = ?, secret_hash = ?, logo_uri = ?,
			tos_uri = ?, policy_uri = ?, verified = ?, registered = ?, token_endpoint_auth_method = ?,
			response_types = ?, registration_token_hash = ?, created_at = ?, updated_at = ?, name_lower = ?
			WHERE id = ?`, append(args[1:], id)...)
		if err != nil {
			return dbErr("update client", err)
		}
		out, err = getClient(ctx, tx, id)
		return err
	})
	if err != nil {
		return grantd.Client{}, err
	}
	return out, nil
}

// DeleteClient deletes the client and every client created through it
// (see deleteClients).
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := getClient(ctx, tx, id); err != nil {
			return err
		}
		doomed, err := createdThrough(ctx, tx, `created_by_client_id = ?`, id)
		if err != nil {
			return err
		}
		return deleteClients(ctx, tx, append([]string{id}, doomed...))
	})
}

// createdThrough answers the clients created through the clients or
// grant that where (a constant condition on clients with one argument)
// matches, and, through those, the clients they created, and so on: all
// that removing the app or the grant removes. Provenance only ever points
// at an older row, so the closure is finite; UNION, not UNION ALL, stops
// it on a row already found all the same.
func createdThrough(ctx context.Context, q querier, where string, arg any) ([]string, error) {
	rows, err := q.QueryContext(ctx, `WITH RECURSIVE doomed (id) AS (
			SELECT id FROM clients WHERE `+where+`
			UNION
			SELECT c.id FROM clients c JOIN doomed d ON c.created_by_client_id = d.id
		) SELECT id FROM doomed ORDER BY id`, arg)
	if err != nil {
		return nil, dbErr("clients created through", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, dbErr("clients created through", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("clients created through", err)
	}
	return ids, nil
}

// deleteClients deletes the clients; the schema cascades to their grants,
// consents, codes and refresh tokens (and to clients created through
// them). The access tokens issued under them are self-contained JWTs, so
// their jtis are revoked first, in the same transaction, while the rows
// that recorded them still exist.
func deleteClients(ctx context.Context, tx *sql.Tx, ids []string) error {
	for _, id := range ids {
		if err := on(tx).RevokeCodeJTIs(ctx, `client_id = ?`, id); err != nil {
			return err
		}
		if err := on(tx).RevokeRefreshJTIs(ctx, `client_id = ?`, id); err != nil {
			return err
		}
	}
	for _, id := range ids {
		// A client may be gone already, by the cascade of one deleted
		// before it.
		if _, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id); err != nil {
			return dbErr("delete client", err)
		}
	}
	return nil
}

// escapeLike makes a user's text match itself literally in a LIKE pattern
// with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// clientWhere answers the WHERE clause and its arguments for a filter.
func clientWhere(f grantd.ClientFilter) (string, []any) {
	conds := []string{"1 = 1"}
	var args []any
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if f.OwnerUserID != "" {
		add(`user_id = ?`, f.OwnerUserID)
	}
	if f.ClientType != "" {
		add(`client_type = ?`, string(f.ClientType))
	}
	if f.Name != "" {
		add(`name = ?`, f.Name)
	}
	if f.NameContains != "" {
		// Both sides are lower-cased in Go (name_lower is written that
		// way), so the match does not depend on the database's idea of
		// case beyond ASCII.
		add(`name_lower LIKE ? ESCAPE '\'`, "%"+escapeLike(strings.ToLower(f.NameContains))+"%")
	}
	if f.ClientID != "" {
		add(`id = ?`, f.ClientID)
	}
	if f.GrantTypeContains != "" {
		add(`EXISTS (SELECT 1 FROM json_each(clients.grant_types) WHERE json_each.value = ?)`, f.GrantTypeContains)
	}
	if f.Verified != nil {
		add(`verified = ?`, *f.Verified)
	}
	if f.CreatedByGrantID != "" {
		add(`created_by_grant_id = ?`, f.CreatedByGrantID)
	}
	return strings.Join(conds, " AND "), args
}

func (s *Store) ListClients(ctx context.Context, f grantd.ClientFilter, p grantd.Page) ([]grantd.Client, int, error) {
	where, args := clientWhere(f)
	limit, offset := limitOffset(p)
	var (
		out   []grantd.Client
		total int
	)
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM clients WHERE `+where, args...).Scan(&total); err != nil {
			return dbErr("list clients", err)
		}
		// id is compared byte by byte (SQLite's BINARY collation); the
		// PostgreSQL twin needs COLLATE "C" for the same order.
		rows, err := tx.QueryContext(ctx, `SELECT `+clientSelect+` FROM clients WHERE `+where+`
			ORDER BY created_at DESC, id ASC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
		if err != nil {
			return dbErr("list clients", err)
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanClient(rows)
			if err != nil {
				return dbErr("list clients", err)
			}
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			return dbErr("list clients", err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}
