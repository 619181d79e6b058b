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
	updates, creates atomic.Int64
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
