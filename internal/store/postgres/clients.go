package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

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
	var (
		c                 grantd.Client
		orgID, userID     *string
		byClient, byGrant *string
		typ               string
	)
	err := sc.Scan(&c.ID, &c.Name, &orgID, &userID, &typ, &c.RequirePKCE,
		&c.GrantTypes, &c.Scopes, &c.RedirectURIs, &c.SecretHash,
		&c.LogoURI, &c.TosURI, &c.PolicyURI, &c.Verified, &c.Registered,
		&c.TokenEndpointAuthMethod, &c.ResponseTypes, &c.RegistrationTokenHash,
		&c.CreatedAt, &c.UpdatedAt, &byClient, &byGrant)
	if err != nil {
		return grantd.Client{}, err
	}
	c.OrgID, c.UserID, c.Type = str(orgID), str(userID), grantd.ClientType(typ)
	c.CreatedByClientID, c.CreatedByGrantID = str(byClient), str(byGrant)
	c.GrantTypes, c.Scopes, c.RedirectURIs, c.ResponseTypes = unlist(c.GrantTypes), unlist(c.Scopes), unlist(c.RedirectURIs), unlist(c.ResponseTypes)
	return c, nil
}

// clientArgs answers the values of clientCols and then name_lower.
func clientArgs(c grantd.Client) []any {
	return []any{c.ID, c.Name, nullString(c.OrgID), nullString(c.UserID), string(c.Type), c.RequirePKCE,
		list(c.GrantTypes), list(c.Scopes), list(c.RedirectURIs), c.SecretHash,
		c.LogoURI, c.TosURI, c.PolicyURI, c.Verified, c.Registered,
		c.TokenEndpointAuthMethod, list(c.ResponseTypes), c.RegistrationTokenHash,
		ts(c.CreatedAt), ts(c.UpdatedAt), strings.ToLower(c.Name)}
}

func getClient(ctx context.Context, q querier, id, lock string) (grantd.Client, error) {
	c, err := scanClient(q.QueryRow(ctx, `SELECT `+clientSelect+` FROM clients WHERE id = $1 `+lock, id))
	if err != nil {
		return grantd.Client{}, dbErr("client", err)
	}
	return c, nil
}

func (s *Store) CreateClient(ctx context.Context, c grantd.Client) error {
	// A provenance that names no row fails the foreign key: ErrNotFound.
	_, err := s.pool.Exec(ctx, `INSERT INTO clients (`+clientCols+`, name_lower, created_by_client_id, created_by_grant_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)`,
		append(clientArgs(c), nullString(c.CreatedByClientID), nullString(c.CreatedByGrantID))...)
	if err != nil {
		return dbErr("create client", err)
	}
	return nil
}

func (s *Store) GetClient(ctx context.Context, id string) (grantd.Client, error) {
	return getClient(ctx, s.pool, id, "")
}

func (s *Store) UpdateClient(ctx context.Context, id string, update func(grantd.Client) (grantd.Client, error)) (grantd.Client, error) {
	var out grantd.Client
	err := s.write(ctx, func(tx pgx.Tx) error {
		old, err := getClient(ctx, tx, id, `FOR UPDATE`)
		if err != nil {
			return err
		}
		c, err := update(old)
		if err != nil {
			return err
		}
		c.ID = id // the key is the argument, whatever the updater did
		args := clientArgs(c)
		_, err = tx.Exec(ctx, `UPDATE clients SET name = $1, org_id = $2, user_id = $3, client_type = $4,
			require_pkce = $5, grant_types = $6, scopes = $7, redirect_uris = $8, secret_hash = $9, logo_uri = $10,
			tos_uri = $11, policy_uri = $12, verified = $13, registered = $14, token_endpoint_auth_method = $15,
			response_types = $16, registration_token_hash = $17, created_at = $18, updated_at = $19, name_lower = $20
			WHERE id = $21`, append(args[1:], id)...)
		if err != nil {
			return dbErr("update client", err)
		}
		out, err = getClient(ctx, tx, id, "")
		return err
	})
	if err != nil {
		return grantd.Client{}, err
	}
	return out, nil
}

// DeleteClient deletes the client and every client created through it
// (see deleteClients). Its grants and then the client are locked before
// anything is read, in the package's lock order; the client's lock also
// keeps a client from being created through it meanwhile (the insert's
// foreign key check waits for the lock, then finds the client gone).
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM grants WHERE client_id = $1 ORDER BY id FOR UPDATE`, id); err != nil {
			return dbErr("delete client", err)
		}
		if _, err := getClient(ctx, tx, id, `FOR UPDATE`); err != nil {
			return err
		}
		doomed, err := createdThrough(ctx, tx, `created_by_client_id = $1`, id)
		if err != nil {
			return err
		}
		return deleteClients(ctx, tx, append([]string{id}, doomed...))
	})
}

// createdThrough answers the clients created through the client or grant
// that where (a constant condition on clients with one argument, $1)
// matches, and, through those, the clients they created, and so on: all
// that removing the app or the grant removes. Provenance only ever points
// at an older row, so the closure is finite; UNION, not UNION ALL, stops
// it on a row already found all the same.
func createdThrough(ctx context.Context, q querier, where string, arg any) ([]string, error) {
	rows, err := q.Query(ctx, `WITH RECURSIVE doomed (id) AS (
			SELECT id FROM clients WHERE `+where+`
			UNION
			SELECT c.id FROM clients c JOIN doomed d ON c.created_by_client_id = d.id
		) SELECT id FROM doomed ORDER BY id`, arg)
	if err != nil {
		return nil, dbErr("clients created through", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, dbErr("clients created through", err)
	}
	return ids, nil
}

// deleteClients deletes the clients; the schema cascades to their grants,
// consents, codes and refresh tokens (and to clients created through
// them). The access tokens issued under them are self-contained JWTs, so
// their jtis are revoked first, in the same transaction, while the rows
// that recorded them still exist.
//
// Their grants are locked first (the lock order of the package
// documentation), then the clients: a redemption or rotation under one of
// those grants either commits before the revocation reads, or waits and
// then finds its grant gone.
func deleteClients(ctx context.Context, tx pgx.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM grants WHERE client_id = ANY ($1) ORDER BY id FOR UPDATE`, ids); err != nil {
		return dbErr("delete client", err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM clients WHERE id = ANY ($1) ORDER BY id FOR UPDATE`, ids); err != nil {
		return dbErr("delete client", err)
	}
	if err := on(tx).RevokeCodeJTIs(ctx, `client_id = ANY (?)`, ids); err != nil {
		return err
	}
	if err := on(tx).RevokeRefreshJTIs(ctx, `client_id = ANY (?)`, ids); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM clients WHERE id = ANY ($1)`, ids); err != nil {
		return dbErr("delete client", err)
	}
	return nil
}

// escapeLike makes a user's text match itself literally in a LIKE pattern
// with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// clientWhere answers the WHERE clause and its arguments ($1, $2, …) for a
// filter.
func clientWhere(f grantd.ClientFilter) (string, []any) {
	conds := []string{"TRUE"}
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, fmt.Sprintf(cond, fmt.Sprintf("$%d", len(args))))
	}
	if f.OwnerUserID != "" {
		add(`user_id = %s`, f.OwnerUserID)
	}
	if f.ClientType != "" {
		add(`client_type = %s`, string(f.ClientType))
	}
	if f.Name != "" {
		add(`name = %s`, f.Name)
	}
	if f.NameContains != "" {
		// Both sides are lower-cased in Go (name_lower is written that
		// way), so the match does not depend on the database's locale;
		// E'\\' is one backslash whatever standard_conforming_strings says.
		add(`name_lower LIKE %s ESCAPE E'\\'`, "%"+escapeLike(strings.ToLower(f.NameContains))+"%")
	}
	if f.ClientID != "" {
		add(`id = %s`, f.ClientID)
	}
	if f.GrantTypeContains != "" {
		add(`%s = ANY (grant_types)`, f.GrantTypeContains)
	}
	if f.Verified != nil {
		add(`verified = %s`, *f.Verified)
	}
	if f.CreatedByGrantID != "" {
		add(`created_by_grant_id = %s`, f.CreatedByGrantID)
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
	err := s.read(ctx, func(tx pgx.Tx) error {
		out, total = nil, 0
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM clients WHERE `+where, args...).Scan(&total); err != nil {
			return dbErr("list clients", err)
		}
		// id is compared byte by byte (COLLATE "C", also the column's own
		// collation), as SQLite's BINARY collation does.
		n := len(args)
		rows, err := tx.Query(ctx, `SELECT `+clientSelect+` FROM clients WHERE `+where+fmt.Sprintf(`
			ORDER BY created_at DESC, id COLLATE "C" ASC LIMIT $%d OFFSET $%d`, n+1, n+2), append(args, limit, offset)...)
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
