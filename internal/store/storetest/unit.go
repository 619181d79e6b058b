package storetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/grantd/grantd"
)

// errLost is what a racer of a raw unit of work answers when it found
// the thing already used: the mechanics decide nothing, the test does.
var errLost = errors.New("lost the race")

// testUnitOfWork: InGrant commits what its function wrote when it answers
// nil and nothing when it answers an error, answers that error as it is,
// and each mechanical step answers ErrNotFound for a key no row has.
func testUnitOfWork(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	code := e.code("one", g)
	rt := newRefresh("unit", "fam-unit", g, at(time.Second))
	now := at(2 * time.Second)
	exp := now.Add(time.Hour)

	// A failing unit writes nothing, although every step succeeded.
	refused := failing("unit")
	err := e.s.InGrant(e.ctx, func(tx grantd.GrantTx) error {
		got, err := tx.AuthCode(code.Hash)
		e.ok(err, "read code in a unit")
		e.equal("code read in a unit", got, code)
		e.ok(tx.UseAuthCode(code.Hash, now, "fam-unit", "jti-unit", &exp), "use code")
		e.ok(tx.CreateRefreshToken(rt), "create refresh token")
		e.ok(tx.TouchGrant(g.ID, now), "touch grant")
		return refused
	})
	e.same(err, refused, "failing unit of work")
	got, err := e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	e.equal("grant after a failed unit", got, g)
	e.wantRefresh(false, rt)

	// The same unit answering nil commits all of it, and its own reads
	// see its writes.
	err = e.s.InGrant(e.ctx, func(tx grantd.GrantTx) error {
		if err := tx.UseAuthCode(code.Hash, now, "fam-unit", "jti-unit", &exp); err != nil {
			return err
		}
		if err := tx.CreateRefreshToken(rt); err != nil {
			return err
		}
		if err := tx.TouchGrant(g.ID, now); err != nil {
			return err
		}
		used, err := tx.AuthCode(code.Hash)
		if err == nil && (used.UsedAt == nil || used.FamilyID != "fam-unit") {
			err = fmt.Errorf("code read after use in the unit: %s", show(used))
		}
		return err
	})
	e.ok(err, "unit of work")
	want := g
	want.LastUsedAt = ptr(now)
	got, err = e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	e.equal("grant after a unit", got, want)
	e.wantRefresh(true, rt)

	// Rotating and revoking are mechanics too: the family goes, the
	// access token with it, and the revoked row is still read, revoked.
	err = e.s.InGrant(e.ctx, func(tx grantd.GrantTx) error {
		if err := tx.RotateRefreshToken(rt.Hash, now, hash("rt-next")); err != nil {
			return err
		}
		return tx.RevokeFamily("fam-unit", now)
	})
	e.ok(err, "rotate and revoke the family")
	e.wantRevoked(true, rt.AccessJTI)
	e.ok(e.s.InGrant(e.ctx, func(tx grantd.GrantTx) error {
		got, revoked, err := tx.RefreshToken(rt.Hash)
		if err == nil && (!revoked || got.SuccessorHash != hash("rt-next") || got.RotatedAt == nil) {
			err = fmt.Errorf("revoked token read in a unit: %s, revoked %v", show(got), revoked)
		}
		return err
	}), "read a revoked token")

	// Keys no row has.
	missing := map[string]func(tx grantd.GrantTx) error{
		"AuthCode":           func(tx grantd.GrantTx) error { _, err := tx.AuthCode(hash("code-missing")); return err },
		"UseAuthCode":        func(tx grantd.GrantTx) error { return tx.UseAuthCode(hash("code-missing"), now, "", "", nil) },
		"RefreshToken":       func(tx grantd.GrantTx) error { _, _, err := tx.RefreshToken(hash("rt-missing")); return err },
		"RotateRefreshToken": func(tx grantd.GrantTx) error { return tx.RotateRefreshToken(hash("rt-missing"), now, "x") },
		"Consent":            func(tx grantd.GrantTx) error { _, err := tx.Consent(hash("consent-missing")); return err },
		"UseConsent":         func(tx grantd.GrantTx) error { return tx.UseConsent(hash("consent-missing"), now) },
		"GrantByUserClient":  func(tx grantd.GrantTx) error { _, err := tx.GrantByUserClient(u.ID, "client-missing"); return err },
		"TouchGrant":         func(tx grantd.GrantTx) error { return tx.TouchGrant(uuid(kindGrant, 99), now) },
	}
	for name, f := range missing {
		e.is(e.s.InGrant(e.ctx, f), grantd.ErrNotFound, name+" of a missing key")
	}
}

// testRaceUnitOfWork: 50 units of work read one code, and 50 one refresh
// token, each using it when it reads it unused. The store decides nothing
// here: that exactly one of each wins shows that a read in a unit of work
// locks until the unit ends, so that every later unit reads it used.
func testRaceUnitOfWork(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	code := e.code("raced", g)
	_, rt := e.redeem("raced-rt", g, at(time.Second), true)
	now := at(2 * time.Second)
	exp := now.Add(time.Hour)

	var runs atomic.Int64
	errs := race(func(i int) error {
		return e.s.InGrant(e.ctx, func(tx grantd.GrantTx) error {
			runs.Add(1)
			got, err := tx.AuthCode(code.Hash)
			if err != nil {
				return err
			}
			if got.UsedAt != nil {
				return errLost
			}
			return tx.UseAuthCode(code.Hash, now, fmt.Sprintf("fam-%d", i), fmt.Sprintf("jti-%d", i), &exp)
		})
	})
	e.oneWinner("units using one code", errs, errLost)
	if n := runs.Load(); n < racers {
		e.t.Errorf("the units on one code ran %d times, want at least %d", n, racers)
	}

	errs = race(func(i int) error {
		return e.s.InGrant(e.ctx, func(tx grantd.GrantTx) error {
			got, _, err := tx.RefreshToken(rt.Hash)
			if err != nil {
				return err
			}
			if got.RotatedAt != nil {
				return errLost
			}
			succ := successor(got, fmt.Sprintf("unit-%d", i), now)
			if err := tx.RotateRefreshToken(rt.Hash, now, succ.Hash); err != nil {
				return err
			}
			return tx.CreateRefreshToken(succ)
		})
	})
	winner := e.oneWinner("units rotating one refresh token", errs, errLost)
	got, err := e.s.GetRefreshToken(e.ctx, rt.Hash)
	e.ok(err, "get rotated token")
	if want := hash(fmt.Sprintf("rt-unit-%d", winner)); got.SuccessorHash != want {
		e.t.Errorf("rotated token names successor %q, want the winner's %q", got.SuccessorHash, want)
	}
}
