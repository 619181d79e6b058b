package storetest

import (
	"fmt"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

func testGrants(e env) {
	u1 := e.user(1)
	u2 := e.user(2)
	c1 := e.client(newClient("client-1", u1))
	c2 := e.client(newClient("client-2", u1))

	g := newGrant(1, u1, c1)
	g.Scopes = []string{"admin", "messages:read"}
	g.UpdatedAt = at(time.Second)
	g.LastUsedAt = ptr(at(2 * time.Second))
	e.ok(e.s.CreateGrant(e.ctx, g), "create grant")
	got, err := e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	e.equal("GetGrant", got, g)
	got, err = e.s.GetGrantByUserClient(e.ctx, u1.ID, c1.ID)
	e.ok(err, "get grant by user and client")
	e.equal("GetGrantByUserClient", got, g)

	// One grant per (user, client); the same client for another user, or
	// another client for the same user, is another grant.
	e.is(e.s.CreateGrant(e.ctx, newGrant(2, u1, c1)), grantd.ErrAlreadyExists, "create a second grant for the same user and client")
	e.is(e.s.CreateGrant(e.ctx, newGrant(1, u2, c2)), grantd.ErrAlreadyExists, "create grant with a taken id")
	e.grant(3, u2, c1)
	e.grant(4, u1, c2)

	_, err = e.s.GetGrant(e.ctx, uuid(kindGrant, 99))
	e.is(err, grantd.ErrNotFound, "get missing grant")
	_, err = e.s.GetGrantByUserClient(e.ctx, u2.ID, c2.ID)
	e.is(err, grantd.ErrNotFound, "get grant by user and client without one")

	// Approving again widens the grant's scopes.
	want := g
	want.Scopes = []string{"admin", "messages:read", "messages:write"}
	want.UpdatedAt = at(time.Hour)
	got, err = e.s.UpdateGrant(e.ctx, g.ID, func(old grantd.Grant) (grantd.Grant, error) {
		e.equal("updater's argument", old, g)
		old.Scopes = append(old.Scopes, "messages:write")
		old.UpdatedAt = want.UpdatedAt
		return old, nil
	})
	e.ok(err, "update grant")
	e.equal("UpdateGrant answer", got, want)
	got, err = e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	e.equal("grant after update", got, want)

	refused := failing("update grant")
	_, err = e.s.UpdateGrant(e.ctx, g.ID, func(old grantd.Grant) (grantd.Grant, error) {
		old.Scopes = nil
		return old, refused
	})
	e.same(err, refused, "update grant with a failing updater")
	got, err = e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	e.equal("grant after a failed update", got, want)

	called := false
	_, err = e.s.UpdateGrant(e.ctx, uuid(kindGrant, 99), func(old grantd.Grant) (grantd.Grant, error) {
		called = true
		return old, nil
	})
	e.is(err, grantd.ErrNotFound, "update missing grant")
	if called {
		e.t.Error("UpdateGrant called the updater for a missing grant")
	}

	e.ok(e.s.TouchGrant(e.ctx, g.ID, at(2*time.Hour)), "touch grant")
	got, err = e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	want.LastUsedAt = ptr(at(2 * time.Hour))
	e.equal("grant after touch", got, want)
	e.is(e.s.TouchGrant(e.ctx, uuid(kindGrant, 99), at(time.Hour)), grantd.ErrNotFound, "touch missing grant")
}

func grantIDs(gs []grantd.Grant) []string {
	var ids []string
	for _, g := range gs {
		ids = append(ids, g.ID)
	}
	return ids
}

func testListGrants(e env) {
	u1 := e.user(1)
	u2 := e.user(2)
	u3 := e.user(3)
	var clients []grantd.Client
	for _, id := range []string{"client-1", "client-2", "client-3", "client-4"} {
		clients = append(clients, e.client(newClient(id, u1)))
	}
	mk := func(n int, u grantd.User, c grantd.Client, created time.Duration) grantd.Grant {
		g := newGrant(n, u, c)
		g.CreatedAt = at(created)
		e.ok(e.s.CreateGrant(e.ctx, g), "create grant")
		return g
	}
	// u1's grants, newest first: 4, then 2 and 3 (same instant, by id), 1.
	g1 := mk(1, u1, clients[0], time.Second)
	g3 := mk(3, u1, clients[1], 2*time.Second)
	g2 := mk(2, u1, clients[2], 2*time.Second)
	g4 := mk(4, u1, clients[3], 3*time.Second)
	mk(5, u2, clients[0], 9*time.Second)

	tests := []struct {
		name  string
		user  string
		p     grantd.Page
		want  []string
		total int
	}{
		{"all", u1.ID, grantd.Page{Number: 1, Size: 20}, []string{g4.ID, g2.ID, g3.ID, g1.ID}, 4},
		{"page 1", u1.ID, grantd.Page{Number: 1, Size: 3}, []string{g4.ID, g2.ID, g3.ID}, 4},
		{"page 2", u1.ID, grantd.Page{Number: 2, Size: 3}, []string{g1.ID}, 4},
		{"past the end", u1.ID, grantd.Page{Number: 3, Size: 3}, nil, 4},
		{"other user", u2.ID, grantd.Page{Number: 1, Size: 20}, []string{uuid(kindGrant, 5)}, 1},
		{"no grants", u3.ID, grantd.Page{Number: 1, Size: 20}, nil, 0},
	}
	for _, tc := range tests {
		got, total, err := e.s.ListGrants(e.ctx, tc.user, tc.p)
		e.ok(err, "list grants: "+tc.name)
		e.equal("ListGrants "+tc.name, grantIDs(got), tc.want)
		if total != tc.total {
			e.t.Errorf("ListGrants %s: total = %d, want %d", tc.name, total, tc.total)
		}
	}
	got, _, err := e.s.ListGrants(e.ctx, u1.ID, grantd.Page{Number: 2, Size: 3})
	e.ok(err, "list grants")
	e.equal("listed grant", got, []grantd.Grant{g1})
}

// testDeleteGrant checks that deleting a grant takes its codes and refresh
// tokens and revokes every access token recorded under it, and touches no
// other grant.
func testDeleteGrant(e env) {
	u1 := e.user(1)
	u2 := e.user(2)
	c := e.client(newClient("client-1", u1))
	g1 := e.grant(1, u1, c)
	g2 := e.grant(2, u2, c)

	code1, rt1 := e.redeem("one", g1, at(time.Second), true)
	rt1b := e.rotate(*rt1, "one-b", at(2*time.Second))
	rt1c := e.rotate(rt1b, "one-c", at(3*time.Second))
	codeNoRefresh, _ := e.redeem("one-norefresh", g1, at(time.Second), false)
	e.code("one-unused", g1)
	_, rt2 := e.redeem("two", g2, at(time.Second), true)

	e.ok(e.s.DeleteGrant(e.ctx, g1.ID), "delete grant")

	_, err := e.s.GetGrant(e.ctx, g1.ID)
	e.is(err, grantd.ErrNotFound, "get deleted grant")
	_, err = e.s.GetGrantByUserClient(e.ctx, u1.ID, c.ID)
	e.is(err, grantd.ErrNotFound, "get deleted grant by user and client")
	e.wantRefresh(false, *rt1, rt1b, rt1c)
	e.wantRevoked(true, code1.AccessJTI, rt1b.AccessJTI, rt1c.AccessJTI, codeNoRefresh.AccessJTI)
	_, err = oauth.RedeemAuthCode(e.ctx, e.s, hash("code-one-unused"), at(4*time.Second), issueFor("late", g1, at(4*time.Second), true))
	e.is(err, grantd.ErrNotFound, "redeem a code of a deleted grant")
	e.wantRefresh(false, newRefresh("late", "fam-late", g1, at(4*time.Second)))

	_, err = e.s.GetGrant(e.ctx, g2.ID)
	e.ok(err, "get other grant")
	e.wantRefresh(true, *rt2)
	e.wantRevoked(false, rt2.AccessJTI)

	e.is(e.s.DeleteGrant(e.ctx, g1.ID), grantd.ErrNotFound, "delete deleted grant")
	// A user may consent again after revoking.
	e.grant(3, u1, c)
}

// testTouchEvery: a touch less than a second after the grant's recorded
// last_used_at leaves it, so that a grant in constant use is written at
// most once a second; a touch a second or more later, or before it (a
// node whose clock ran ahead wrote it), sets it; a missing grant is
// ErrNotFound. The same holds in a unit of work, whether it locked the
// grant first (through one of its refresh tokens) or not, touching once
// or twice, and for a rotation.
func testTouchEvery(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	lastUsed := func(what string, want time.Time) {
		e.t.Helper()
		got, err := e.s.GetGrant(e.ctx, g.ID)
		e.ok(err, "get grant")
		e.equal(what, got.LastUsedAt, ptr(want))
	}

	t0 := at(time.Minute)
	e.ok(e.s.TouchGrant(e.ctx, g.ID, t0), "touch")
	lastUsed("first touch", t0)
	e.ok(e.s.TouchGrant(e.ctx, g.ID, t0.Add(time.Second-time.Microsecond)), "touch within the second")
	lastUsed("after a touch within the second", t0)
	e.is(e.s.TouchGrant(e.ctx, uuid(kindGrant, 99), t0), grantd.ErrNotFound, "touch missing grant")
	t1 := t0.Add(time.Second)
	e.ok(e.s.TouchGrant(e.ctx, g.ID, t1), "touch a second later")
	lastUsed("after a touch a second later", t1)
	early := t1.Add(-time.Millisecond)
	e.ok(e.s.TouchGrant(e.ctx, g.ID, early), "touch before the recorded time")
	lastUsed("after a touch before the recorded time", early)

	rt := newRefresh("one", "fam-one", g, t0)
	e.ok(e.s.InGrant(e.ctx, func(tx grantd.GrantTx) error { return tx.CreateRefreshToken(rt) }), "create refresh token")
	for i, lock := range []bool{false, true} {
		unit := func(times ...time.Time) {
			e.t.Helper()
			err := e.s.InGrant(e.ctx, func(tx grantd.GrantTx) error {
				if lock {
					if _, _, err := tx.RefreshToken(rt.Hash); err != nil {
						return err
					}
				}
				for _, now := range times {
					if err := tx.TouchGrant(g.ID, now); err != nil {
						return err
					}
				}
				return nil
			})
			e.ok(err, fmt.Sprintf("unit touching at %v (grant locked first: %v)", times, lock))
		}
		base := at(time.Duration(i+1) * time.Hour)
		unit(base)
		lastUsed("after a unit", base)
		unit(base.Add(999 * time.Millisecond))
		lastUsed("after a unit within the second", base)
		unit(base.Add(time.Second))
		lastUsed("after a unit a second later", base.Add(time.Second))
		unit(base.Add(2*time.Second), base.Add(2500*time.Millisecond))
		lastUsed("after a unit touching twice within a second", base.Add(2*time.Second))
		unit(base.Add(2500*time.Millisecond), base.Add(3*time.Second))
		lastUsed("after a unit touching twice a second apart", base.Add(3*time.Second))
		unit(base.Add(time.Second))
		lastUsed("after a unit before the recorded time", base.Add(time.Second))
	}

	// A rotation within the second of the last touch leaves it too.
	last := at(2*time.Hour + time.Second)
	e.rotate(rt, "two", last.Add(500*time.Millisecond))
	lastUsed("after a rotation within the second", last)
}
