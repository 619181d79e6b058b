package sqlstore

import (
	"context"

	"github.com/grantd/grantd"
)

// Bulk inserts rows inside one write transaction, with the very
// statements of CreateUser, CreateAPIKey, CreateClient and CreateGrant,
// so that the rows are those the API writes. It is for filling a
// database in big transactions (grantd seed), not for requests: it
// records nothing in the change feed, as the create methods do not.
type Bulk struct{ db DB }

// InBulk runs fn in one write transaction with a Bulk on it.
func (s *Store) InBulk(ctx context.Context, fn func(b Bulk) error) error {
	return s.write(ctx, func(db DB) error { return fn(Bulk{db}) })
}

// CreateUser inserts the user and, when missing, its organisation.
func (b Bulk) CreateUser(ctx context.Context, u grantd.User) error {
	if err := b.db.ensureOrg(ctx, u.OrgID, u.CreatedAt); err != nil {
		return err
	}
	_, err := b.db.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		u.ID, u.OrgID, u.Email, u.PasswordHash, b.db.d.Time(u.CreatedAt), b.db.d.Time(u.UpdatedAt))
	return errOr(b.db.d, "create user", err)
}

// CreateAPIKey inserts an API key.
func (b Bulk) CreateAPIKey(ctx context.Context, k grantd.APIKey) error {
	_, err := b.db.exec(ctx, `INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.UserID, k.Name, k.Hash, b.db.d.Time(k.CreatedAt), b.db.d.NullTime(k.LastUsedAt))
	return errOr(b.db.d, "create api key", err)
}

// CreateClient inserts a client as Store.CreateClient does.
func (b Bulk) CreateClient(ctx context.Context, c grantd.Client) error {
	_, err := b.db.exec(ctx, `INSERT INTO clients (`+clientCols+`, name_lower, created_by_client_id, created_by_grant_id, origin, obtained_token)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		append(clientArgs(b.db.d, c), nullString(c.CreatedByClientID), nullString(c.CreatedByGrantID), string(c.OriginOf()), c.ObtainedToken)...)
	return errOr(b.db.d, "create client", err)
}

// CreateGrant inserts a grant as Store.CreateGrant does.
func (b Bulk) CreateGrant(ctx context.Context, g grantd.Grant) error {
	return b.db.InsertGrant(ctx, g)
}

func errOr(d Dialect, what string, err error) error {
	if err != nil {
		return d.Err(what, err)
	}
	return nil
}

// Analyze refreshes the planner's statistics (ANALYZE), as after a bulk
// load, so that plans are chosen for the tables' new sizes at once
// rather than when autovacuum (PostgreSQL) gets to them, or never
// (SQLite, where ANALYZE is only ever run by hand).
func (s *Store) Analyze(ctx context.Context) error {
	_, err := s.w().exec(ctx, `ANALYZE`)
	return errOr(s.b, "analyze", err)
}
