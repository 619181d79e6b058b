package oauth

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/testenv"
)

// writesStore counts the grant writes of the units of work run on it.
type writesStore struct {
	grantd.Store
	updates, creates, consents, codes atomic.Int64
}

func (s *writesStore) InGrant(ctx context.Context, fn func(tx grantd.GrantTx) error) error {
	return s.Store.InGrant(ctx, func(tx grantd.GrantTx) error { return fn(&writesTx{GrantTx: tx, s: s}) })
}

type writesTx struct {
	grantd.GrantTx
	s *writesStore
}

func (t *writesTx) UpdateGrant(g grantd.Grant) error {
	t.s.updates.Add(1)
	return t.GrantTx.UpdateGrant(g)
}

func (t *writesTx) Consent(hash string) (grantd.Consent, error) {
	t.s.consents.Add(1)
	return t.GrantTx.Consent(hash)
}

func (t *writesTx) AuthCode(hash string) (grantd.AuthCode, error) {
	t.s.codes.Add(1)
	return t.GrantTx.AuthCode(hash)
}

func (t *writesTx) CreateGrant(g grantd.Grant) error {
	t.s.creates.Add(1)
	return t.GrantTx.CreateGrant(g)
}

// Approving a request for scopes the grant holds already does not write
// the grant (nor, with it, a change every node's cache would drop it
// for); approving one for more widens it.
func TestDecideUnchangedGrantNotWritten(t *testing.T) {
	t.Parallel()
	inner, _ := testenv.Store(t)
	st := &writesStore{Store: inner}
	e := newFlowEnvOn(t, st)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")
	c := e.client(t)

	approve(t, e, alice, authzQuery(c, "scope", "read write"))
	if st.creates.Load() != 1 || st.updates.Load() != 0 {
		t.Fatalf("first approval: %d creates, %d updates; want 1, 0", st.creates.Load(), st.updates.Load())
	}
	before, err := st.GetGrantByUserClient(ctx, alice, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, scope := range []string{"read", "read write", "write"} {
		to := approve(t, e, alice, authzQuery(c, "scope", scope, "prompt", "consent"))
		if a := answerParams(t, to, "https://app.example/cb"); a.Get("code") == "" {
			t.Fatalf("approval of %q answered %v, want a code", scope, a)
		}
	}
	if st.creates.Load() != 1 || st.updates.Load() != 0 {
		t.Errorf("approvals within the grant: %d creates, %d updates; want 1, 0", st.creates.Load(), st.updates.Load())
	}
	after, err := st.GetGrantByUserClient(ctx, alice, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !sameGrant(before, after) {
		t.Errorf("grant = %+v, was %+v", after, before)
	}

	// A step-up still widens the grant.
	narrow := e.client(t)
	approve(t, e, alice, authzQuery(narrow, "scope", "read"))
	approve(t, e, alice, authzQuery(narrow, "scope", "write", "prompt", "consent"))
	if st.updates.Load() != 1 {
		t.Errorf("step-up: %d updates, want 1", st.updates.Load())
	}
	g, err := st.GetGrantByUserClient(ctx, alice, narrow.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(g.Scopes, " ") != "read write" {
		t.Errorf("grant after step-up = %+v, want read write", g)
	}
}

// readsStore counts the reads an API key's caller costs.
type readsStore struct {
	grantd.Store
	keyUser, key, user atomic.Int64
}

func (s *readsStore) GetAPIKeyUser(ctx context.Context, hash string) (grantd.APIKey, grantd.User, error) {
	s.keyUser.Add(1)
	return s.Store.GetAPIKeyUser(ctx, hash)
}

func (s *readsStore) GetAPIKeyByHash(ctx context.Context, hash string) (grantd.APIKey, error) {
	s.key.Add(1)
	return s.Store.GetAPIKeyByHash(ctx, hash)
}

func (s *readsStore) GetUser(ctx context.Context, id string) (grantd.User, error) {
	s.user.Add(1)
	return s.Store.GetUser(ctx, id)
}

// An API key's caller is one read of the store: the key with its user.
func TestAPIKeyCallerOneRead(t *testing.T) {
	t.Parallel()
	inner, _ := testenv.Store(t)
	st := &readsStore{Store: inner}
	e := newFlowEnvOn(t, st)
	alice := e.user(t, "alice@example.com")
	key := testenv.APIKey(t, st, alice, e.clock.Now())
	for range 3 {
		u, _, err := e.p.APIKeyCaller(context.Background(), key)
		if err != nil || u.ID != alice {
			t.Fatalf("APIKeyCaller = %q, %v; want alice", u.ID, err)
		}
	}
	if st.keyUser.Load() != 3 || st.key.Load() != 0 || st.user.Load() != 0 {
		t.Errorf("3 calls: %d key+user reads, %d key reads, %d user reads; want 3, 0, 0", st.keyUser.Load(), st.key.Load(), st.user.Load())
	}
	if _, _, err := e.p.APIKeyCaller(context.Background(), "grantd_key_unknown"); grantd.ErrorCode(err) != grantd.CodeUnauthenticated {
		t.Errorf("unknown key: %v, want unauthenticated", err)
	}
}

// The engine's units of work read the consent and the code once, on the
// one writer: not again after writing them.
func TestUnitsReadOnce(t *testing.T) {
	t.Parallel()
	inner, _ := testenv.Store(t)
	st := &writesStore{Store: inner}
	e := newFlowEnvOn(t, st)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")
	c := e.client(t)

	to := approve(t, e, alice, authzQuery(c, "scope", "read"))
	if n := st.consents.Load(); n != 1 {
		t.Errorf("a decision read the consent %d times in its unit, want 1", n)
	}
	code := answerParams(t, to, "https://app.example/cb").Get("code")
	req := TokenRequest{
		Client:    ClientAuth{ClientID: c.ID, ClientSecret: "secret"},
		GrantType: grantd.GrantAuthorizationCode, Code: code,
		RedirectURI: "https://app.example/cb", CodeVerifier: strings.Repeat("v", 43),
	}
	if _, err := e.p.Token(ctx, req); err != nil {
		t.Fatalf("token: %v", err)
	}
	if n := st.codes.Load(); n != 1 {
		t.Errorf("a redemption read the code %d times in its unit, want 1", n)
	}
	// A second use is still refused, and revokes.
	if _, err := e.p.Token(ctx, req); grantd.ErrorCode(err) != grantd.CodeInvalidGrant {
		t.Errorf("second use: %v, want invalid_grant", err)
	}
}
