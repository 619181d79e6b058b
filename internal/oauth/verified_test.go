package oauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
)

// ccEnv is the engine with a confidential client_credentials client, its
// credentials, and an access token issued to it.
func ccEnv(t *testing.T) (*flowEnv, grantd.Client, ClientAuth, string) {
	t.Helper()
	e := newFlowEnv(t)
	c := e.client(t, func(c *grantd.Client) { c.GrantTypes = []string{grantd.GrantClientCredentials} })
	auth := ClientAuth{ClientID: c.ID, ClientSecret: "secret"}
	res, err := e.p.Token(context.Background(), TokenRequest{Client: auth, GrantType: grantd.GrantClientCredentials})
	if err != nil {
		t.Fatal(err)
	}
	return e, c, auth, res.AccessToken
}

func introspectActive(t *testing.T, e *flowEnv, auth ClientAuth, tok string) bool {
	t.Helper()
	in, err := e.p.Introspect(context.Background(), IntrospectRequest{Client: auth, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	return in.Active
}

// TestVerifiedTokenIsCached: a token introspected once is kept, and the
// cached claims are the token's.
func TestVerifiedTokenIsCached(t *testing.T) {
	t.Parallel()
	e, c, auth, tok := ccEnv(t)
	if !introspectActive(t, e, auth, tok) {
		t.Fatal("a fresh token is inactive")
	}
	claims, ok := e.p.verified.get(sha256.Sum256([]byte(tok)), e.clock.Now())
	if !ok || claims.ClientID != c.ID {
		t.Fatalf("after one introspection the cache holds %+v, %v; want the token's claims", claims, ok)
	}
	if !introspectActive(t, e, auth, tok) {
		t.Fatal("the cached token is inactive")
	}
	// A token that does not verify is never cached.
	if introspectActive(t, e, auth, tok+"x") {
		t.Fatal("a token with a broken signature is active")
	}
	if _, ok := e.p.verified.get(sha256.Sum256([]byte(tok+"x")), e.clock.Now()); ok {
		t.Fatal("a token with a broken signature is cached")
	}
}

// TestRevokedCachedTokenIsInactive performs the attack the cache could
// open: a token verified (and cached) before, then revoked, must be
// inactive on the very next introspection.
func TestRevokedCachedTokenIsInactive(t *testing.T) {
	t.Parallel()
	e, _, auth, tok := ccEnv(t)
	if !introspectActive(t, e, auth, tok) {
		t.Fatal("a fresh token is inactive")
	}
	if err := e.p.Revoke(context.Background(), RevokeRequest{Client: auth, Token: tok}); err != nil {
		t.Fatal(err)
	}
	if introspectActive(t, e, auth, tok) {
		t.Fatal("a revoked token is active because its verification was cached")
	}
}

// TestDeletedClientCachedTokenIsInactive: the token's client deleted
// after the token was cached makes it inactive at once.
func TestDeletedClientCachedTokenIsInactive(t *testing.T) {
	t.Parallel()
	e, c, _, tok := ccEnv(t)
	other := e.client(t, func(o *grantd.Client) { o.GrantTypes = []string{grantd.GrantClientCredentials} })
	otherAuth := ClientAuth{ClientID: other.ID, ClientSecret: "secret"}
	if !introspectActive(t, e, otherAuth, tok) {
		t.Fatal("a fresh token is inactive")
	}
	if err := e.st.DeleteClient(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	if introspectActive(t, e, otherAuth, tok) {
		t.Fatal("a token of a deleted client is active because its verification was cached")
	}
}

// TestExpiredCachedTokenIsInactive: the cache keeps nothing past the
// token's expiry.
func TestExpiredCachedTokenIsInactive(t *testing.T) {
	t.Parallel()
	e, _, auth, tok := ccEnv(t)
	if !introspectActive(t, e, auth, tok) {
		t.Fatal("a fresh token is inactive")
	}
	e.clock.Advance(e.p.cfg.AccessTokenTTL)
	if introspectActive(t, e, auth, tok) {
		t.Fatal("an expired token is active because its verification was cached")
	}
	if e.p.verified.len() != 0 {
		t.Errorf("the cache holds %d entries after the only token expired; want 0", e.p.verified.len())
	}
}

// TestVerifiedCacheBounded: the cache never holds more than its bound,
// and a new token is kept when it is full.
func TestVerifiedCacheBounded(t *testing.T) {
	t.Parallel()
	c := newVerifiedCache(16)
	now := time.Unix(1_000_000, 0)
	key := func(i int) [sha256.Size]byte { return sha256.Sum256(fmt.Appendf(nil, "token %d", i)) }
	claims := func(i int, exp time.Time) token.AccessClaims {
		return token.AccessClaims{JTI: fmt.Sprint(i), ExpiresAt: exp}
	}
	for i := range 1000 {
		c.put(key(i), claims(i, now.Add(time.Hour)), now)
		if c.len() > 16 {
			t.Fatalf("after %d puts the cache holds %d entries; want at most 16", i+1, c.len())
		}
		if got, ok := c.get(key(i), now); !ok || got.JTI != fmt.Sprint(i) {
			t.Fatalf("the token just put (%d) is not cached", i)
		}
	}
	// An expired entry is evicted before a live one.
	c = newVerifiedCache(2)
	c.put(key(1), claims(1, now.Add(time.Minute)), now)
	c.put(key(2), claims(2, now.Add(time.Hour)), now)
	later := now.Add(2 * time.Minute)
	c.put(key(3), claims(3, later.Add(time.Hour)), later)
	if _, ok := c.get(key(2), later); !ok {
		t.Error("a live entry was evicted while an expired one was there")
	}
	if _, ok := c.get(key(3), later); !ok {
		t.Error("the new entry is not cached")
	}
}

// clientReads counts the reads of clients.
type clientReads struct {
	grantd.Store
	n atomic.Int64
}

func (s *clientReads) GetClient(ctx context.Context, id string) (grantd.Client, error) {
	s.n.Add(1)
	return s.Store.GetClient(ctx, id)
}

// TestIntrospectionReadsClientOnce: a client introspecting its own token
// reads its client once (to authenticate), not again for the token.
func TestIntrospectionReadsClientOnce(t *testing.T) {
	t.Parallel()
	base, _ := testenv.Store(t)
	st := &clientReads{Store: base}
	e := newFlowEnvOn(t, st)
	c := e.client(t, func(c *grantd.Client) { c.GrantTypes = []string{grantd.GrantClientCredentials} })
	auth := ClientAuth{ClientID: c.ID, ClientSecret: "secret"}
	res, err := e.p.Token(context.Background(), TokenRequest{Client: auth, GrantType: grantd.GrantClientCredentials})
	if err != nil {
		t.Fatal(err)
	}
	st.n.Store(0)
	if !introspectActive(t, e, auth, res.AccessToken) {
		t.Fatal("a fresh token is inactive")
	}
	if n := st.n.Load(); n != 1 {
		t.Errorf("introspecting its own token read the client %d times; want 1", n)
	}
}

// staleClients answers every client as not yet marked, as a cache that
// has not seen the mark would, and counts the marks.
type staleClients struct {
	grantd.Store
	marks atomic.Int64
}

func (s *staleClients) GetClient(ctx context.Context, id string) (grantd.Client, error) {
	c, err := s.Store.GetClient(ctx, id)
	c.ObtainedToken = false
	return c, err
}

func (s *staleClients) MarkClientUsed(ctx context.Context, id string) error {
	s.marks.Add(1)
	return s.Store.MarkClientUsed(ctx, id)
}

// TestMarkClientUsedOnce: a registered client's first token marks it;
// later tokens write nothing, even when the client is read without the
// mark.
func TestMarkClientUsedOnce(t *testing.T) {
	t.Parallel()
	base, _ := testenv.Store(t)
	st := &staleClients{Store: base}
	e := newFlowEnvOn(t, st)
	c := e.client(t, func(c *grantd.Client) {
		c.GrantTypes = []string{grantd.GrantClientCredentials}
		c.Origin = grantd.OriginRegistration
	})
	auth := ClientAuth{ClientID: c.ID, ClientSecret: "secret"}
	for range 5 {
		if _, err := e.p.Token(context.Background(), TokenRequest{Client: auth, GrantType: grantd.GrantClientCredentials}); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.marks.Load(); n != 1 {
		t.Errorf("5 tokens marked the client %d times; want 1", n)
	}
	got, err := base.GetClient(context.Background(), c.ID)
	if err != nil || !got.ObtainedToken {
		t.Errorf("the client is not marked: %v, %v", got.ObtainedToken, err)
	}
	s := newIDSet(3)
	for i := range 10 {
		s.add(fmt.Sprint(i))
		if len(s.m) > 3 {
			t.Fatalf("the set holds %d ids; want at most 3", len(s.m))
		}
	}
}
