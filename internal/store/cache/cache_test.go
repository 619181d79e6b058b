package cache_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/cache"
	"github.com/grantd/grantd/internal/store/postgres"
	"github.com/grantd/grantd/internal/store/postgres/pgtest"
	"github.com/grantd/grantd/internal/store/sqlite"
	"github.com/grantd/grantd/internal/store/sqlstore"
	"github.com/grantd/grantd/internal/store/storetest"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
)

// inner is a real store with its feed.
type inner interface {
	grantd.Store
	cache.Feed
}

// backend opens migrated stores on one database: each call of open is a
// node (another process, in effect) on the same data.
type backend struct {
	name string
	open func(t *testing.T) func(t *testing.T) inner
}

var backends = []backend{
	{"sqlite", func(t *testing.T) func(t *testing.T) inner {
		path := filepath.Join(t.TempDir(), "grantd.db")
		return func(t *testing.T) inner {
			st, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			return st
		}
	}},
	{"postgres", func(t *testing.T) func(t *testing.T) inner {
		dsn := pgtest.Schema(t)
		return func(t *testing.T) inner {
			st, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			return st
		}
	}},
}

// wrap wraps st in a cache closed at cleanup.
func wrap(t *testing.T, st grantd.Store, feed cache.Feed, cfg cache.Config) *cache.Store {
	c := cache.New(st, feed, cfg)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestConformance: the store contract holds through the cache.
func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			storetest.RunTests(t, func(t *testing.T) grantd.Store {
				st := b.open(t)(t)
				return wrap(t, st, st, cache.Config{})
			})
		})
	}
}

// events counts the events of each cache.
type events struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *events) add(c, ev string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[string]int{}
	}
	e.n[c+" "+ev]++
}

func (e *events) get(key string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[key]
}

func newClient(u grantd.User, by string) grantd.Client {
	now := testenv.Start
	return grantd.Client{
		ID: uuid.NewString(), Name: "app", OrgID: u.OrgID, UserID: u.ID, Type: grantd.ClientConfidential,
		GrantTypes: []string{grantd.GrantClientCredentials}, Scopes: []string{"admin"},
		SecretHash: "old", TokenEndpointAuthMethod: grantd.AuthMethodClientSecretBasic,
		Origin: grantd.OriginAPI, CreatedByClientID: by, CreatedAt: now, UpdatedAt: now,
	}
}

// manual is a node whose cache reads the feed only when told (Sync), on
// a clock that does not move: each step is explicit.
func manual(t *testing.T, st inner, ev *events) *cache.Store {
	clock := testenv.NewClock()
	return wrap(t, st, feedOnly{st}, cache.Config{Poll: time.Hour, Refresh: time.Hour, Now: clock.Now, Events: ev.add})
}

// feedOnly is a Feed without PostgreSQL's LISTEN, so that a node of a
// test reads the feed only when the test says so: a notification would
// wake it at once, before the test has looked at what it answered.
type feedOnly struct{ cache.Feed }

// TestInvalidationAcrossNodes: what node A changes, node B, which had
// it in memory, drops at its next read of the feed: a client's secret, a
// grant, a revoked jti, and a delete that cascades through the clients
// created by the deleted one and their grants.
func TestInvalidationAcrossNodes(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			open := b.open(t)
			ia, ib := open(t), open(t)
			var eva, evb events
			a, bn := manual(t, ia, &eva), manual(t, ib, &evb)
			u := testenv.User(t, a, "u@example.test", "", testenv.Start)
			root := newClient(u, "")
			child := newClient(u, root.ID)
			grandchild := newClient(u, child.ID)
			for _, c := range []grantd.Client{root, child, grandchild} {
				if err := a.CreateClient(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			g := grantd.Grant{ID: uuid.NewString(), UserID: u.ID, ClientID: grandchild.ID, Scopes: []string{"admin"}, CreatedAt: testenv.Start, UpdatedAt: testenv.Start}
			if err := a.CreateGrant(ctx, g); err != nil {
				t.Fatal(err)
			}
			// B reads everything twice: the second read is from memory.
			for range 2 {
				for _, c := range []grantd.Client{root, child, grandchild} {
					if _, err := bn.GetClient(ctx, c.ID); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := bn.GetGrantByUserClient(ctx, u.ID, grandchild.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := bn.GetGrant(ctx, g.ID); err != nil {
					t.Fatal(err)
				}
			}
			if h := evb.get("client hit"); h != 3 {
				t.Fatalf("client hits %d, want 3", h)
			}
			if h := evb.get("grant hit"); h != 3 { // the first GetGrant finds what GetGrantByUserClient kept
				t.Fatalf("grant hits %d, want 3", h)
			}

			// A rotates root's secret: B still answers the old one
			// until it reads the feed, then the new one.
			if _, err := a.UpdateClient(ctx, root.ID, func(c grantd.Client) (grantd.Client, error) {
				c.SecretHash = "new"
				return c, nil
			}); err != nil {
				t.Fatal(err)
			}
			if c, _ := bn.GetClient(ctx, root.ID); c.SecretHash != "old" {
				t.Fatalf("B answered %q before reading the feed: the test does not test the cache", c.SecretHash)
			}
			syncFeed(t, bn)
			if c, _ := bn.GetClient(ctx, root.ID); c.SecretHash != "new" {
				t.Fatalf("after the feed B answers secret %q, want new", c.SecretHash)
			}

			// A revokes a jti B has answered "not revoked" for.
			jti := uuid.NewString()
			if r, _ := bn.IsJTIRevoked(ctx, jti); r {
				t.Fatal("revoked before revocation")
			}
			if err := a.RevokeJTI(ctx, jti, testenv.Start.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if r, _ := a.IsJTIRevoked(ctx, jti); !r {
				t.Fatal("A does not see its own revocation")
			}
			syncFeed(t, bn)
			if r, _ := bn.IsJTIRevoked(ctx, jti); !r {
				t.Fatal("B does not see A's revocation after reading the feed")
			}

			// A deletes root: the clients made through it and the grant
			// of the grandchild go with it, on B too.
			if err := a.DeleteClient(ctx, root.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := a.GetClient(ctx, grandchild.ID); !errors.Is(err, grantd.ErrNotFound) {
				t.Fatalf("A after its own delete: grandchild %v, want not found", err)
			}
			syncFeed(t, bn)
			for _, c := range []grantd.Client{root, child, grandchild} {
				if _, err := bn.GetClient(ctx, c.ID); !errors.Is(err, grantd.ErrNotFound) {
					t.Fatalf("B after the cascade: client %s: %v, want not found", c.ID, err)
				}
			}
			if _, err := bn.GetGrant(ctx, g.ID); !errors.Is(err, grantd.ErrNotFound) {
				t.Fatalf("B after the cascade: grant %v, want not found", err)
			}
			if _, err := bn.GetGrantByUserClient(ctx, u.ID, grandchild.ID); !errors.Is(err, grantd.ErrNotFound) {
				t.Fatalf("B after the cascade: grant by user and client %v, want not found", err)
			}
		})
	}
}

func syncFeed(t *testing.T, s *cache.Store) {
	t.Helper()
	if err := s.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// failing is a feed that can be made to fail.
type failing struct {
	cache.Feed
	mu   sync.Mutex
	fail bool
}

var errDown = errors.New("feed down")

func (f *failing) set(fail bool) { f.mu.Lock(); f.fail = fail; f.mu.Unlock() }
func (f *failing) down() bool    { f.mu.Lock(); defer f.mu.Unlock(); return f.fail }

func (f *failing) Changes(ctx context.Context, lookback time.Duration) ([]sqlstore.Change, error) {
	if f.down() {
		return nil, errDown
	}
	return f.Feed.Changes(ctx, lookback)
}

func (f *failing) RevokedJTIs(ctx context.Context, jtis []string) (map[string]time.Time, error) {
	if f.down() {
		return nil, errDown
	}
	return f.Feed.RevokedJTIs(ctx, jtis)
}

// TestBypassWhileFeedFails: while the feed cannot be read, the cache
// answers from memory for Bound at most, then reads through (and sees
// another node's change it could not hear of); when the feed answers
// again it starts afresh.
func TestBypassWhileFeedFails(t *testing.T) {
	b := backends[0]
	ctx := t.Context()
	open := b.open(t)
	ia, ib := open(t), open(t)
	t.Cleanup(func() { ia.Close() })
	clock := testenv.NewClock()
	feed := &failing{Feed: ib}
	var ev events
	bn := wrap(t, ib, feed, cache.Config{Poll: time.Hour, Refresh: time.Hour, Bound: time.Second, Now: clock.Now, Events: ev.add})
	u := testenv.User(t, ia, "u@example.test", "", testenv.Start)
	c := newClient(u, "")
	if err := ia.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := bn.GetClient(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	feed.set(true)
	if _, err := ia.UpdateClient(ctx, c.ID, func(c grantd.Client) (grantd.Client, error) { c.SecretHash = "new"; return c, nil }); err != nil {
		t.Fatal(err)
	}
	jti := uuid.NewString()
	if err := ia.RevokeJTI(ctx, jti, testenv.Start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := bn.Sync(ctx); !errors.Is(err, errDown) {
		t.Fatalf("Sync on a failing feed: %v", err)
	}
	// Within the bound, memory still answers.
	if got, _ := bn.GetClient(ctx, c.ID); got.SecretHash != "old" {
		t.Fatalf("within the bound: secret %q, want the cached old", got.SecretHash)
	}
	clock.Advance(1100 * time.Millisecond)
	if got, _ := bn.GetClient(ctx, c.ID); got.SecretHash != "new" {
		t.Fatalf("past the bound without a read of the feed: secret %q, want new (read through)", got.SecretHash)
	}
	if r, _ := bn.IsJTIRevoked(ctx, jti); !r {
		t.Fatal("past the bound: the jti revoked meanwhile is not revoked")
	}
	if ev.get("client bypass") == 0 || ev.get("jti bypass") == 0 {
		t.Fatalf("no bypass events: %v", ev.n)
	}
	// Back: a fresh start, and memory answers again.
	feed.set(false)
	syncFeed(t, bn)
	if got, _ := bn.GetClient(ctx, c.ID); got.SecretHash != "new" {
		t.Fatalf("after recovery: %q", got.SecretHash)
	}
	if r, _ := bn.IsJTIRevoked(ctx, jti); !r {
		t.Fatal("after recovery: jti not revoked")
	}
	hits := ev.get("client hit")
	bn.GetClient(ctx, c.ID)
	if ev.get("client hit") != hits+1 {
		t.Fatal("after recovery the cache does not answer from memory")
	}
}

// TestBackgroundReadWithinBound: with the background reader (the default
// poll, and LISTEN on PostgreSQL), another node's change is seen within
// one second.
func TestBackgroundReadWithinBound(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			open := b.open(t)
			ia, ib := open(t), open(t)
			t.Cleanup(func() { ia.Close() })
			bn := wrap(t, ib, ib, cache.Config{})
			u := testenv.User(t, ia, "u@example.test", "", testenv.Start)
			c := newClient(u, "")
			if err := ia.CreateClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			if _, err := bn.GetClient(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			if err := ia.DeleteClient(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(time.Second)
			for {
				if _, err := bn.GetClient(ctx, c.ID); errors.Is(err, grantd.ErrNotFound) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatal("a client deleted by another node is still served after one second")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestTouchIsNotAChange: setting a grant's last_used_at (every refresh
// and code redemption) records nothing in the feed, so another node
// keeps its copy of the grant, while a real change of the grant still
// reaches it. The writing node sets the new last_used_at in its own copy
// and keeps it.
func TestTouchIsNotAChange(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			open := b.open(t)
			ia, ib := open(t), open(t)
			var eva, evb events
			a, bn := manual(t, ia, &eva), manual(t, ib, &evb)
			u := testenv.User(t, a, "u@example.test", "", testenv.Start)
			c := newClient(u, "")
			if err := a.CreateClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			g := grantd.Grant{ID: uuid.NewString(), UserID: u.ID, ClientID: c.ID, Scopes: []string{"admin"}, CreatedAt: testenv.Start, UpdatedAt: testenv.Start}
			if err := a.CreateGrant(ctx, g); err != nil {
				t.Fatal(err)
			}
			grantRows := func() int {
				t.Helper()
				cs, err := ia.Changes(ctx, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, ch := range cs {
					if ch.Kind == sqlstore.ChangeGrant && ch.Key == g.ID {
						n++
					}
				}
				return n
			}
			before := grantRows()
			for _, x := range []*cache.Store{a, bn} {
				if _, err := x.GetGrant(ctx, g.ID); err != nil {
					t.Fatal(err)
				}
			}
			syncFeed(t, bn)
			used := testenv.Start.Add(time.Minute)
			if err := a.TouchGrant(ctx, g.ID, used); err != nil {
				t.Fatal(err)
			}
			if err := a.InGrant(ctx, func(tx grantd.GrantTx) error { return tx.TouchGrant(g.ID, used.Add(time.Second)) }); err != nil {
				t.Fatal(err)
			}
			if n := grantRows(); n != before {
				t.Fatalf("touching the grant recorded %d changes of it, want none", n-before)
			}
			hitsA := eva.get("grant hit")
			if got, err := a.GetGrant(ctx, g.ID); err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(used.Add(time.Second)) {
				t.Fatalf("A after its own touch: %+v, %v; want last_used_at %v", got.LastUsedAt, err, used.Add(time.Second))
			}
			// A keeps its copy with the new time, as the store holds it
			// (to the microsecond).
			odd := used.Add(2*time.Second + 1234567*time.Nanosecond)
			if err := a.InGrant(ctx, func(tx grantd.GrantTx) error { return tx.TouchGrant(g.ID, odd) }); err != nil {
				t.Fatal(err)
			}
			got, err := a.GetGrantByUserClient(ctx, u.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := ia.GetGrant(ctx, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastUsedAt == nil || stored.LastUsedAt == nil || *got.LastUsedAt != *stored.LastUsedAt {
				t.Fatalf("A after its own touch: last_used_at %v, the store holds %v", got.LastUsedAt, stored.LastUsedAt)
			}
			if eva.get("grant hit") != hitsA+2 {
				t.Fatalf("A read the grant again after its own touch: %d hits, want %d", eva.get("grant hit"), hitsA+2)
			}
			if err := a.TouchGrant(ctx, g.ID, used.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			syncFeed(t, bn)
			hits := evb.get("grant hit")
			if _, err := bn.GetGrant(ctx, g.ID); err != nil {
				t.Fatal(err)
			}
			if evb.get("grant hit") != hits+1 {
				t.Fatal("B read the grant again after a mere touch")
			}

			// A real change still reaches B.
			if _, err := a.UpdateGrant(ctx, g.ID, func(g grantd.Grant) (grantd.Grant, error) {
				g.Scopes = []string{"admin", "read"}
				return g, nil
			}); err != nil {
				t.Fatal(err)
			}
			if n := grantRows(); n != before+1 {
				t.Fatalf("updating the grant recorded %d changes of it, want 1", n-before)
			}
			syncFeed(t, bn)
			got, err = bn.GetGrant(ctx, g.ID)
			if err != nil || len(got.Scopes) != 2 {
				t.Fatalf("B after the update: %v, %v; want two scopes", got.Scopes, err)
			}
			if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used.Add(time.Second)) {
				t.Fatalf("B after the update: last_used_at %v, want %v", got.LastUsedAt, used.Add(time.Second))
			}
		})
	}
}

// TestAPIKeyUserAcrossNodes: a key and its user are answered from memory
// once read; a user moved to another organisation on node A is answered
// with the new organisation on B after B reads the feed, and at once on
// A; B's own touch of the key sets its copy's last_used_at.
func TestAPIKeyUserAcrossNodes(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			open := b.open(t)
			ia, ib := open(t), open(t)
			var eva, evb events
			a, bn := manual(t, ia, &eva), manual(t, ib, &evb)
			u := testenv.User(t, a, "k@example.test", "", testenv.Start)
			hash := token.Hash(testenv.APIKey(t, a, u.ID, testenv.Start))
			for _, s := range []*cache.Store{a, bn} {
				for range 2 {
					k, ku, err := s.GetAPIKeyUser(ctx, hash)
					if err != nil || k.UserID != u.ID || ku.OrgID != u.OrgID {
						t.Fatalf("GetAPIKeyUser: %+v %+v %v", k, ku, err)
					}
				}
			}
			if eva.get("api_key hit") != 1 || evb.get("api_key hit") != 1 {
				t.Fatalf("hits A %d, B %d; want 1 each (the second read)", eva.get("api_key hit"), evb.get("api_key hit"))
			}
			if _, _, err := bn.GetAPIKeyUser(ctx, token.Hash("grantd_key_unknown")); !errors.Is(err, grantd.ErrNotFound) {
				t.Fatalf("an unknown key: %v", err)
			}

			if _, err := a.UpdateUser(ctx, u.ID, func(u grantd.User) (grantd.User, error) {
				u.OrgID = "org-moved"
				return u, nil
			}); err != nil {
				t.Fatal(err)
			}
			if _, ku, _ := a.GetAPIKeyUser(ctx, hash); ku.OrgID != "org-moved" {
				t.Fatalf("A after its own update answers org %q", ku.OrgID)
			}
			if _, ku, _ := bn.GetAPIKeyUser(ctx, hash); ku.OrgID != u.OrgID {
				t.Fatalf("B answered org %q before reading the feed: the test does not test the cache", ku.OrgID)
			}
			syncFeed(t, bn)
			if _, ku, _ := bn.GetAPIKeyUser(ctx, hash); ku.OrgID != "org-moved" {
				t.Fatalf("B after the feed answers org %q, want org-moved", ku.OrgID)
			}

			k, _, _ := bn.GetAPIKeyUser(ctx, hash)
			used := testenv.Start.Add(time.Minute)
			if err := bn.TouchAPIKey(ctx, k.ID, used); err != nil {
				t.Fatal(err)
			}
			hits := evb.get("api_key hit")
			if k, _, _ := bn.GetAPIKeyUser(ctx, hash); k.LastUsedAt == nil || !k.LastUsedAt.Equal(used) || evb.get("api_key hit") != hits+1 {
				t.Fatalf("B after its touch answers last_used_at %v (hits %d → %d), want %v from memory", k.LastUsedAt, hits, evb.get("api_key hit"), used)
			}
		})
	}
}
