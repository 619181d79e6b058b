// Package seed fills a database with many users, clients and grants, for
// measuring grantd at scale (grantd seed). It writes through the store
// layer's own insert statements (sqlstore.Bulk), in big transactions,
// so that every row is one the API could have written: hashed secrets,
// JSON lists, real owners.
package seed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/sqlstore"
	"github.com/grantd/grantd/internal/token"
)

// Bulker is a store that can insert in bulk: the SQLite and PostgreSQL
// stores are.
type Bulker interface {
	InBulk(ctx context.Context, fn func(b sqlstore.Bulk) error) error
	Analyze(ctx context.Context) error
}

// Options say how much to create.
type Options struct {
	Clients int
	Grants  int
	// Users own the clients (round robin) and hold the grants (Grants /
	// Users each, in contiguous runs); 0: Grants/10, at least 1.
	Users int
	// Batch is the number of rows per transaction; 0: 10,000.
	Batch int
	Now   time.Time
}

// Result is what a benchmark needs from the seeded database: one
// confidential client with its secret, and one user (who holds grants)
// with an API key.
type Result struct {
	ClientID, ClientSecret string
	UserID, APIKey         string
	Users                  int
}

// Run seeds st.
func Run(ctx context.Context, st Bulker, o Options) (Result, error) {
	if o.Clients < 1 {
		return Result{}, errors.New("--clients must be at least 1")
	}
	if o.Grants < 0 {
		return Result{}, errors.New("--grants must not be negative")
	}
	if o.Users <= 0 {
		o.Users = max(1, o.Grants/10)
	}
	if o.Batch <= 0 {
		o.Batch = 10000
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	now := o.Now.UTC().Truncate(time.Second)
	perUser := (o.Grants + o.Users - 1) / o.Users
	if perUser > o.Clients {
		return Result{}, fmt.Errorf("%d grants over %d users is %d grants each, more than the %d clients (a user holds one grant per client)", o.Grants, o.Users, perUser, o.Clients)
	}
	run := uuid.NewString()[:8]
	users := make([]grantd.User, o.Users)
	for i := range users {
		users[i] = grantd.User{ID: uuid.NewString(), OrgID: uuid.NewString(), Email: fmt.Sprintf("seed-%s-%d@seed.invalid", run, i), CreatedAt: now, UpdatedAt: now}
	}
	clientIDs := make([]string, o.Clients)
	var res Result
	res.Users = o.Users
	res.UserID = users[0].ID

	// batches runs n inserts, o.Batch to a transaction.
	batches := func(n int, insert func(b sqlstore.Bulk, i int) error) error {
		for start := 0; start < n; start += o.Batch {
			end := min(n, start+o.Batch)
			err := st.InBulk(ctx, func(b sqlstore.Bulk) error {
				for i := start; i < end; i++ {
					if err := insert(b, i); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := batches(len(users), func(b sqlstore.Bulk, i int) error {
		if err := b.CreateUser(ctx, users[i]); err != nil {
			return err
		}
		if i != 0 {
			return nil
		}
		key, hash := token.NewOpaque(token.PrefixAPIKey)
		res.APIKey = key
		return b.CreateAPIKey(ctx, grantd.APIKey{ID: uuid.NewString(), UserID: users[0].ID, Name: "seed", Hash: hash, CreatedAt: now})
	}); err != nil {
		return Result{}, err
	}
	if err := batches(o.Clients, func(b sqlstore.Bulk, i int) error {
		owner := users[i%len(users)]
		secret, hash := token.NewOpaque(token.PrefixClientSecret)
		// Newest first is the lists' order: spread the creation times.
		at := now.Add(-time.Duration(o.Clients-i) * time.Second)
		c := grantd.Client{
			ID: uuid.NewString(), Name: fmt.Sprintf("seed client %d", i), OrgID: owner.OrgID, UserID: owner.ID,
			Type: grantd.ClientConfidential, RequirePKCE: true,
			GrantTypes:   []string{grantd.GrantAuthorizationCode, grantd.GrantClientCredentials, grantd.GrantRefreshToken},
			Scopes:       []string{grantd.ScopeAdmin},
			RedirectURIs: []string{fmt.Sprintf("https://client-%d.seed.invalid/callback", i)},
			SecretHash:   hash, TokenEndpointAuthMethod: grantd.AuthMethodClientSecretBasic,
			CreatedAt: at, UpdatedAt: at,
		}
		clientIDs[i] = c.ID
		if i == 0 {
			res.ClientID, res.ClientSecret = c.ID, secret
		}
		return b.CreateClient(ctx, c)
	}); err != nil {
		return Result{}, err
	}
	if err := batches(o.Grants, func(b sqlstore.Bulk, i int) error {
		u, k := i/perUser, i%perUser
		// User u's grants are to clients u*perUser+k (mod clients):
		// distinct for one user, spread over every client.
		at := now.Add(-time.Duration(o.Grants-i) * time.Second)
		g := grantd.Grant{ID: uuid.NewString(), UserID: users[u].ID, ClientID: clientIDs[(u*perUser+k)%len(clientIDs)],
			Scopes: []string{grantd.ScopeAdmin}, CreatedAt: at, UpdatedAt: at}
		return b.CreateGrant(ctx, g)
	}); err != nil {
		return Result{}, err
	}
	// Fresh statistics: a benchmark right after seeding measures the
	// plans the database settles on, not those of its empty tables.
	if err := st.Analyze(ctx); err != nil {
		return Result{}, err
	}
	return res, nil
}
