package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/grantd/grantd"
)

// clientCols are the columns an update writes; clientSelect adds the
// provenance, which is written once, at creation.
const (
	clientCols = `id, name, org_id, user_id, client_type, require_pkce, grant_types, scopes,
	redirect_uris, secret_hash, logo_uri, tos_uri, policy_uri, verified, registered,
	token_endpoint_auth_method, response_types, registration_token_hash, created_at, updated_at,
	token_exchange_resources`
	clientSelect = clientCols + `, created_by_client_id, created_by_grant_id, origin, obtained_token`
)

func scanClient(d Dialect, r Row) (grantd.Client, error) {
	var c grantd.Client
	err := r.Scan(&c.ID, &c.Name, nullStringCol{&c.OrgID}, nullStringCol{&c.UserID}, (*string)(&c.Type), &c.RequirePKCE,
		d.ScanList(&c.GrantTypes), d.ScanList(&c.Scopes), d.ScanList(&c.RedirectURIs), &c.SecretHash,
		&c.LogoURI, &c.TosURI, &c.PolicyURI, &c.Verified, &c.Registered,
		&c.TokenEndpointAuthMethod, d.ScanList(&c.ResponseTypes), &c.RegistrationTokenHash,
		d.ScanTime(&c.CreatedAt), d.ScanTime(&c.UpdatedAt), d.ScanList(&c.TokenExchangeResources), nullStringCol{&c.CreatedByClientID}, nullStringCol{&c.CreatedByGrantID},
		(*string)(&c.Origin), &c.ObtainedToken)
	if err != nil {
		return grantd.Client{}, err
	}
	c.GrantTypes, c.Scopes, c.RedirectURIs, c.ResponseTypes = unlist(c.GrantTypes), unlist(c.Scopes), unlist(c.RedirectURIs), unlist(c.ResponseTypes)
	c.TokenExchangeResources = unlist(c.TokenExchangeResources)
	return c, nil
}

// nullString stores an optional reference; "" is NULL, so that foreign keys
// accept a client without an owner.
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// clientArgs answers the values of clientCols and then name_lower.
func clientArgs(d Dialect, c grantd.Client) []any {
	return []any{c.ID, c.Name, nullString(c.OrgID), nullString(c.UserID), string(c.Type), c.RequirePKCE,
		d.List(c.GrantTypes), d.List(c.Scopes), d.List(c.RedirectURIs), c.SecretHash,
		c.LogoURI, c.TosURI, c.PolicyURI, c.Verified, c.Registered,
		c.TokenEndpointAuthMethod, d.List(c.ResponseTypes), c.RegistrationTokenHash,
		d.Time(c.CreatedAt), d.Time(c.UpdatedAt), d.List(c.TokenExchangeResources), strings.ToLower(c.Name)}
}

func (db DB) client(ctx context.Context, id string, lock bool) (grantd.Client, error) {
	c, err := scanClient(db.d, db.row(ctx, `SELECT `+clientSelect+` FROM clients WHERE id = ?`+db.lock(lock), id))
	if err != nil {
		return grantd.Client{}, db.d.Err("client", err)
	}
	return c, nil
}

func (s *Store) CreateClient(ctx context.Context, c grantd.Client) error {
	// A provenance that names no row fails the foreign key: ErrNotFound.
	_, err := s.w().exec(ctx, `INSERT INTO clients (`+clientCols+`, name_lower, created_by_client_id, created_by_grant_id, origin, obtained_token)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		append(clientArgs(s.b, c), nullString(c.CreatedByClientID), nullString(c.CreatedByGrantID), string(c.OriginOf()), c.ObtainedToken)...)
	if err != nil {
		return s.b.Err("create client", err)
	}
	return nil
}

func (s *Store) GetClient(ctx context.Context, id string) (grantd.Client, error) {
	return s.r().client(ctx, id, false)
}

func (s *Store) UpdateClient(ctx context.Context, id string, update func(grantd.Client) (grantd.Client, error)) (grantd.Client, error) {
	var out grantd.Client
	err := s.write(ctx, func(db DB) error {
		old, err := db.client(ctx, id, true)
		if err != nil {
			return err
		}
		c, err := update(old)
		if err != nil {
			return err
		}
		c.ID = id // the key is the argument, whatever the updater did
		args := clientArgs(db.d, c)
		_, err = db.exec(ctx, `UPDATE clients SET name = ?, org_id = ?, user_id = ?, client_type = ?,
			require_pkce = ?, grant_types = ?, scopes = ?, redirect_uris = ?, secret_hash = ?, logo_uri = ?,
			tos_uri = ?, policy_uri = ?, verified = ?, registered = ?, token_endpoint_auth_method = ?,
			response_types = ?, registration_token_hash = ?, created_at = ?, updated_at = ?,
			token_exchange_resources = ?, name_lower = ?
			WHERE id = ?`, append(args[1:], id)...)
		if err != nil {
			return db.d.Err("update client", err)
		}
		if err := db.note(ctx, ChangeClient, id); err != nil {
			return err
		}
		out, err = db.client(ctx, id, false)
		return err
	})
	if err != nil {
		return grantd.Client{}, err
	}
	return out, nil
}

// DeleteClient deletes the client and every client created through it
// (see deleteClients). Where rows are locked, its grants and then the
// client are locked before anything is read, in the lock order; the
// client's lock also keeps a client from being created through it
// meanwhile (the insert's foreign key check waits for the lock, then
// finds the client gone).
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.write(ctx, func(db DB) error {
		if err := db.lockRows(ctx, "grants", "client_id", []string{id}); err != nil {
			return err
		}
		if _, err := db.client(ctx, id, true); err != nil {
			return err
		}
		doomed, err := db.createdThrough(ctx, `created_by_client_id = ?`, id)
		if err != nil {
			return err
		}
		return db.deleteClients(ctx, append([]string{id}, doomed...))
	})
}

// lockRows takes the row locks, in id order, of the rows of table whose
// column col is one of values, where rows are locked (Dialect.ForUpdate).
func (db DB) lockRows(ctx context.Context, table, col string, values []string) error {
	if db.d.ForUpdate() == "" || len(values) == 0 {
		return nil
	}
	in, args := inList(values)
	if _, err := db.exec(ctx, `SELECT 1 FROM `+table+` WHERE `+col+` IN `+in+` ORDER BY id `+db.d.ForUpdate(), args...); err != nil {
		return db.d.Err("lock "+table, err)
	}
	return nil
}

// inList answers "(?, ?, …)" for values and the values as arguments.
func inList(values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ") + ")", args
}

// createdThrough answers the clients created through the clients or
// grant that where (a constant condition on clients with one ?) matches,
// and, through those, the clients they created, and so on: all that
// removing the app or the grant removes. Provenance only ever points at
// an older row, so the closure is finite; UNION, not UNION ALL, stops it
// on a row already found all the same.
func (db DB) createdThrough(ctx context.Context, where string, arg any) ([]string, error) {
	rows, err := db.query(ctx, `WITH RECURSIVE doomed (id) AS (
			SELECT id FROM clients WHERE `+where+`
			UNION
			SELECT c.id FROM clients c JOIN doomed d ON c.created_by_client_id = d.id
		) SELECT id FROM doomed ORDER BY id`, arg)
	return collect(db.d, "clients created through", rows, err, func(r Row) (string, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	})
}

// deleteClients deletes the clients; the schema cascades to their grants,
// consents, codes and refresh tokens (and to clients created through
// them). The access tokens issued under them are self-contained JWTs, so
// their jtis are revoked first, in the same transaction, while the rows
// that recorded them still exist.
//
// Where rows are locked, their grants are locked first (the lock order),
// then the clients: a redemption or rotation under one of those grants
// either commits before the revocation reads, or waits and then finds its
// grant gone.
func (db DB) deleteClients(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := db.lockRows(ctx, "grants", "client_id", ids); err != nil {
		return err
	}
	if err := db.lockRows(ctx, "clients", "id", ids); err != nil {
		return err
	}
	in, args := inList(ids)
	for _, id := range ids {
		if err := db.note(ctx, ChangeClient, id); err != nil {
			return err
		}
	}
	// The schema's cascade deletes their grants: the caches must hear.
	if err := db.noteSelect(ctx, ChangeGrant, `SELECT id AS k FROM grants WHERE client_id IN `+in, args...); err != nil {
		return err
	}
	if err := db.RevokeCodeJTIs(ctx, `client_id IN `+in, args...); err != nil {
		return err
	}
	if err := db.RevokeRefreshJTIs(ctx, `client_id IN `+in, args...); err != nil {
		return err
	}
	// Exchanged tokens go with the client that exchanged and with the
	// grants of a deleted client (their subject tokens' grants).
	if err := db.RevokeExchangedJTIs(ctx, `client_id IN `+in+` OR grant_id IN (SELECT id FROM grants WHERE client_id IN `+in+`)`, append(slices.Clone(args), args...)...); err != nil {
		return err
	}
	if _, err := db.exec(ctx, `DELETE FROM clients WHERE id IN `+in, args...); err != nil {
		return db.d.Err("delete client", err)
	}
	return nil
}

// escapeLike makes a user's text match itself literally in a LIKE pattern
// whose escape character is \.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// clientWhere answers the WHERE clause and its arguments for a filter.
func clientWhere(d Dialect, f grantd.ClientFilter) (string, []any) {
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
		// way), so the match does not depend on the database's locale.
		add(`name_lower LIKE ? `+d.LikeEscape(), "%"+escapeLike(strings.ToLower(f.NameContains))+"%")
	}
	if f.ClientID != "" {
		add(`id = ?`, f.ClientID)
	}
	if f.GrantTypeContains != "" {
		add(d.ListContains("grant_types"), f.GrantTypeContains)
	}
	if f.Verified != nil {
		add(`verified = ?`, *f.Verified)
	}
	if f.CreatedByGrantID != "" {
		add(`created_by_grant_id = ?`, f.CreatedByGrantID)
	}
	if f.Origin != "" {
		add(`origin = ?`, string(f.Origin))
	}
	if f.Ownerless {
		conds = append(conds, `user_id IS NULL`)
	}
	return strings.Join(conds, " AND "), args
}

// limitOffset turns a page into LIMIT and OFFSET values. A page without a
// size answers every row.
func limitOffset(d Dialect, p grantd.Page) (limit any, offset int) {
	if p.Size <= 0 {
		return d.NoLimit(), 0
	}
	if p.Number < 1 {
		p.Number = 1
	}
	return p.Size, p.Offset()
}

func (s *Store) ListClients(ctx context.Context, f grantd.ClientFilter, p grantd.Page) ([]grantd.Client, int, error) {
	where, args := clientWhere(s.b, f)
	limit, offset := limitOffset(s.b, p)
	var (
		out   []grantd.Client
		total int
	)
	err := s.read(ctx, func(db DB) error {
		out, total = nil, 0
		if err := db.row(ctx, `SELECT count(*) FROM clients WHERE `+where, args...).Scan(&total); err != nil {
			return db.d.Err("list clients", err)
		}
		rows, err := db.query(ctx, `SELECT `+clientSelect+` FROM clients WHERE `+where+`
			ORDER BY created_at DESC, `+db.d.ByteOrder("id")+` ASC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
		out, err = collect(db.d, "list clients", rows, err, func(r Row) (grantd.Client, error) { return scanClient(db.d, r) })
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

func (s *Store) ListGrants(ctx context.Context, userID string, p grantd.Page) ([]grantd.Grant, int, error) {
	limit, offset := limitOffset(s.b, p)
	var (
		out   []grantd.Grant
		total int
	)
	err := s.read(ctx, func(db DB) error {
		out, total = nil, 0
		if err := db.row(ctx, `SELECT count(*) FROM grants WHERE user_id = ?`, userID).Scan(&total); err != nil {
			return db.d.Err("list grants", err)
		}
		rows, err := db.query(ctx, `SELECT `+GrantCols+` FROM grants WHERE user_id = ?
			ORDER BY created_at DESC, `+db.d.ByteOrder("id")+` ASC LIMIT ? OFFSET ?`, userID, limit, offset)
		out, err = collect(db.d, "list grants", rows, err, func(r Row) (grantd.Grant, error) { return ScanGrant(db.d, r) })
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// DeleteGrant locks the grant, revokes the access tokens recorded under
// it (on its codes and refresh tokens, and its exchanged tokens) and
// deletes it; the schema
// cascades the delete to the grant's codes and refresh tokens. The lock
// comes first so that no redemption or rotation can commit a token
// between the revocation and the delete, and no client can be created
// through the grant meanwhile (the insert's foreign key check waits for
// the lock, then finds the grant gone). The clients created through the
// grant go with it, as DeleteClient deletes them.
func (s *Store) DeleteGrant(ctx context.Context, id string) error {
	return s.write(ctx, func(db DB) error {
		if _, err := db.Grant(ctx, `id = ?`, true, id); err != nil {
			return err
		}
		doomed, err := db.createdThrough(ctx, `created_by_grant_id = ?`, id)
		if err != nil {
			return err
		}
		if err := db.deleteClients(ctx, doomed); err != nil {
			return err
		}
		if err := db.RevokeCodeJTIs(ctx, `grant_id = ?`, id); err != nil {
			return err
		}
		if err := db.RevokeRefreshJTIs(ctx, `grant_id = ?`, id); err != nil {
			return err
		}
		if err := db.RevokeExchangedJTIs(ctx, `grant_id = ?`, id); err != nil {
			return err
		}
		if err := db.note(ctx, ChangeGrant, id); err != nil {
			return err
		}
		n, err := db.exec(ctx, `DELETE FROM grants WHERE id = ?`, id)
		return db.mustAffect("grant", n, err)
	})
}

// MarkClientUsed records that the client has obtained a token. Only a
// client not yet marked is written, so that every later token costs a
// read of a flag the caller already holds, not a write.
func (s *Store) MarkClientUsed(ctx context.Context, id string) error {
	return s.write(ctx, func(db DB) error {
		n, err := db.exec(ctx, `UPDATE clients SET obtained_token = ? WHERE id = ? AND obtained_token = ?`, true, id, false)
		if err != nil {
			return db.d.Err("mark client used", err)
		}
		if n == 0 {
			return nil
		}
		return db.note(ctx, ChangeClient, id)
	})
}

// DeleteUnusedRegistrations deletes the clients made by registration
// before createdBefore that never obtained a token and have no grant and
// no refresh token, each as DeleteClient does, and answers their ids.
// The conditions are checked again under the clients' locks, in the
// transaction that deletes them, so a client that gets a grant or a token
// meanwhile is kept.
func (s *Store) DeleteUnusedRegistrations(ctx context.Context, createdBefore time.Time) ([]string, error) {
	var out []string
	err := s.write(ctx, func(db DB) error {
		out = nil
		rows, err := db.query(ctx, `SELECT id FROM clients c WHERE origin = ? AND obtained_token = ? AND created_at < ?
			AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.client_id = c.id)
			AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.client_id = c.id)
			ORDER BY id`+db.lock(true), string(grantd.OriginRegistration), false, db.d.Time(createdBefore))
		ids, err := collect(db.d, "unused registrations", rows, err, func(r Row) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		var doomed []string
		for _, id := range ids {
			more, err := db.createdThrough(ctx, `created_by_client_id = ?`, id)
			if err != nil {
				return err
			}
			doomed = append(doomed, more...)
		}
		if err := db.deleteClients(ctx, append(slices.Clone(ids), doomed...)); err != nil {
			return err
		}
		out = ids
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
