package oauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

func TestGrants(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")
	bob := e.user(t, "bob@example.com")
	var ids []string
	for range 3 {
		c := e.client(t)
		approve(t, e, alice, authzQuery(c))
		g, err := e.st.GetGrantByUserClient(ctx, alice, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, g.ID)
		e.clock.Advance(time.Minute)
	}
	bobClient := e.client(t)
	approve(t, e, bob, authzQuery(bobClient))
	bobGrant, err := e.st.GetGrantByUserClient(ctx, bob, bobClient.ID)
	if err != nil {
		t.Fatal(err)
	}

	// Newest first, paged.
	gs, total, err := e.p.ListGrants(ctx, alice, grantd.Page{Number: 1, Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(gs) != 2 || gs[0].ID != ids[2] || gs[1].ID != ids[1] {
		t.Errorf("page 1 = %d %v", total, gs)
	}
	gs, _, err = e.p.ListGrants(ctx, alice, grantd.Page{Number: 2, Size: 2})
	if err != nil || len(gs) != 1 || gs[0].ID != ids[0] {
		t.Errorf("page 2 = %v, %v", gs, err)
	}
	gs, _, err = e.p.ListGrants(ctx, alice, grantd.Page{Number: 3, Size: 2})
	if err != nil || len(gs) != 0 {
		t.Errorf("page 3 = %v, %v", gs, err)
	}

	if g, err := e.p.OwnGrant(ctx, alice, ids[1]); err != nil || g.ID != ids[1] || g.UserID != alice {
		t.Errorf("OwnGrant = %+v, %v", g, err)
	}
	for name, id := range map[string]string{
		"another user's": bobGrant.ID,
		"unknown":        uuid.NewString(),
		"not a UUID":     "nope",
		"empty":          "",
		"upper-case":     strings.ToUpper(ids[0]),
		"braced":         "{" + ids[0] + "}",
		"urn":            "urn:uuid:" + ids[0],
		"sql":            "' OR 1=1 --",
	} {
		if _, err := e.p.OwnGrant(ctx, alice, id); grantd.ErrorCode(err) != grantd.CodeNotFound {
			t.Errorf("OwnGrant(%s) = %v, want not_found", name, err)
		}
		if _, err := e.p.RevokeGrant(ctx, alice, id); grantd.ErrorCode(err) != grantd.CodeNotFound {
			t.Errorf("RevokeGrant(%s) = %v, want not_found", name, err)
		}
	}
	if _, err := e.st.GetGrant(ctx, bobGrant.ID); err != nil {
		t.Errorf("alice's attempt removed bob's grant: %v", err)
	}

	g, err := e.p.RevokeGrant(ctx, alice, ids[1])
	if err != nil || g.ID != ids[1] {
		t.Fatalf("RevokeGrant = %+v, %v", g, err)
	}
	if _, err := e.p.OwnGrant(ctx, alice, ids[1]); grantd.ErrorCode(err) != grantd.CodeNotFound {
		t.Errorf("revoked grant still there: %v", err)
	}
	if _, err := e.p.RevokeGrant(ctx, alice, ids[1]); grantd.ErrorCode(err) != grantd.CodeNotFound {
		t.Errorf("second revoke = %v, want not_found", err)
	}
	if _, total, _ := e.p.ListGrants(ctx, alice, grantd.Page{Number: 1, Size: 20}); total != 2 {
		t.Errorf("after revoking, total = %d, want 2", total)
	}
}

// TestRevokedGrantTakesItsCodes: a code issued under a grant dies with it.
func TestRevokedGrantTakesItsCodes(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")
	c := e.client(t)
	to := approve(t, e, alice, authzQuery(c))
	g, err := e.st.GetGrantByUserClient(ctx, alice, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.RevokeGrant(ctx, alice, g.ID); err != nil {
		t.Fatal(err)
	}
	code := answerParams(t, to, "https://app.example/cb").Get("code")
	_, err = RedeemAuthCode(ctx, e.st, token.Hash(code), e.clock.Now(), func(ac grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		return ac, nil, nil
	})
	if !errors.Is(err, grantd.ErrNotFound) {
		t.Errorf("redeeming a code of a revoked grant: %v, want not found", err)
	}
}
