package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
)

const clientCols = `id, name, org_id, user_id, client_type, require_pkce, grant_types, scopes,
	redirect_uris, secret_hash, logo_uri, tos_uri, policy_uri, verified, registered,
	token_endpoint_auth_method, response_types, registration_token_hash, created_at, updated_at`

func scanClient(sc scanner) (grantd.Client, error) {
	var (
		c             grantd.Client
		orgID, userID *string
		typ           string
	)
	err := sc.Scan(&c.ID, &c.Name, &orgID, &userID, &typ, &c.RequirePKCE,
		&c.GrantTypes, &c.Scopes, &c.RedirectURIs, &c.SecretHash,
		&c.LogoURI, &c.TosURI, &c.PolicyURI, &c.Verified, &c.Registered,
		&c.TokenEndpointAuthMethod, &c.ResponseTypes, &c.RegistrationTokenHash,
		&c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return grantd.Client{}, err
	}
	c.OrgID, c.UserID, c.Type = str(orgID), str(userID), grantd.ClientType(typ)
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
	c, err := scanClient(q.QueryRow(ctx, `SELECT `+clientCols+` FROM clients WHERE id = $1 `+lock, id))
	if err != nil {
		return grantd.Client{}, dbErr("client", err)
	}
	return c, nil
}

func (s *Store) CreateClient(ctx context.Context, c grantd.Client) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO clients (`+clientCols+`, name_lower)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`, clientArgs(c)...)
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

// DeleteClient deletes the client; the schema cascades to its grants,
// consents, codes and refresh tokens. The access tokens issued under it are
// self-contained JWTs, so their jtis are revoked first, in the same
// transaction, while the rows that recorded them still exist.
//
// The client's grants are locked first (the lock order of the package
// documentation), then the client: a redemption or rotation under one of
// its grants either commits before the revocation reads, or waits and
// then finds its grant gone.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM grants WHERE client_id = $1 ORDER BY id FOR UPDATE`, id); err != nil {
			return dbErr("delete client", err)
		}
		if _, err := getClient(ctx, tx, id, `FOR UPDATE`); err != nil {
			return err
		}
		if err := revokeCodeJTIs(ctx, tx, `client_id = $1`, id); err != nil {
			return err
		}
		if err := revokeRefreshJTIs(ctx, tx, `client_id = $1`, id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
		return mustAffect("client", tag, err)
	})
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
		rows, err := tx.Query(ctx, `SELECT `+clientCols+` FROM clients WHERE `+where+fmt.Sprintf(`
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
