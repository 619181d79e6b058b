package storetest

import (
	"time"

	"github.com/grantd/grantd"
)

func testRefreshRotation(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	_, first := e.redeem("one", g, at(time.Second), true)
	rt1 := *first

	got, err := e.s.GetRefreshToken(e.ctx, rt1.Hash)
	e.ok(err, "get refresh token")
	e.equal("GetRefreshToken", got, rt1)
	_, err = e.s.GetRefreshToken(e.ctx, hash("rt-missing"))
	e.is(err, grantd.ErrNotFound, "get missing refresh token")

	called := false
	_, err = e.s.RotateRefreshToken(e.ctx, hash("rt-missing"), at(time.Minute), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		called = true
		return old, nil
	})
	e.is(err, grantd.ErrNotFound, "rotate missing refresh token")
	if called {
		e.t.Error("RotateRefreshToken called next for a missing token")
	}

	// A failing next writes nothing: the token is not rotated, its
	// successor not stored, the grant not touched.
	refused := failing("next")
	_, err = e.s.RotateRefreshToken(e.ctx, rt1.Hash, at(time.Minute), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		e.equal("next's argument", old, rt1)
		return successor(old, "refused", at(time.Minute)), refused
	})
	e.same(err, refused, "rotate with a failing next")
	got, err = e.s.GetRefreshToken(e.ctx, rt1.Hash)
	e.ok(err, "get refresh token")
	e.equal("refresh token after a failed rotation", got, rt1)
	e.wantRefresh(false, successor(rt1, "refused", at(time.Minute)))
	gr, err := e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	e.equal("grant after a failed rotation", gr, g)

	// Rotation marks the old token rotated, stores its successor and
	// touches the grant, all at once.
	now := at(time.Hour)
	rt2 := successor(rt1, "two", now)
	got, err = e.s.RotateRefreshToken(e.ctx, rt1.Hash, now, 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		e.equal("next's argument", old, rt1)
		return rt2, nil
	})
	e.ok(err, "rotate refresh token")
	e.equal("RotateRefreshToken answer", got, rt2)
	got, err = e.s.GetRefreshToken(e.ctx, rt2.Hash)
	e.ok(err, "get successor")
	e.equal("successor", got, rt2)
	rotated := rt1
	rotated.RotatedAt = ptr(now)
	got, err = e.s.GetRefreshToken(e.ctx, rt1.Hash)
	e.ok(err, "get rotated token")
	e.equal("rotated token", got, rotated)
	gr, err = e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	want := g
	want.LastUsedAt = ptr(now)
	e.equal("grant after rotation", gr, want)

	// The successor rotates in turn.
	rt3 := e.rotate(rt2, "three", at(2*time.Hour))
	e.wantRefresh(true, rt1, rt2, rt3)
	e.wantRevoked(false, rt1.AccessJTI, rt2.AccessJTI, rt3.AccessJTI)

	// A successor whose hash is taken is refused, and nothing is written.
	_, err = e.s.RotateRefreshToken(e.ctx, rt3.Hash, at(3*time.Hour), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		next := successor(old, "dup", at(3*time.Hour))
		next.Hash = rt2.Hash
		return next, nil
	})
	e.is(err, grantd.ErrAlreadyExists, "rotate into a taken hash")
	got, err = e.s.GetRefreshToken(e.ctx, rt3.Hash)
	e.ok(err, "get refresh token")
	e.equal("refresh token after a conflicting rotation", got, rt3)
}

// testRefreshReuse checks that presenting a rotated-out token revokes
// every token under its grant, in every family, but keeps the grant.
func testRefreshReuse(e env) {
	u1 := e.user(1)
	u2 := e.user(2)
	c := e.client(newClient("client-1", u1))
	g := e.grant(1, u1, c)
	other := e.grant(2, u2, c)

	code, first := e.redeem("one", g, at(time.Second), true)
	rt1 := *first
	rt2 := e.rotate(rt1, "two", at(time.Minute))
	rt3 := e.rotate(rt2, "three", at(2*time.Minute))
	_, sibling := e.redeem("sibling", g, at(time.Second), true)
	noRefresh, _ := e.redeem("norefresh", g, at(time.Second), false)
	_, otherRT := e.redeem("other", other, at(time.Second), true)

	called := false
	got, err := e.s.RotateRefreshToken(e.ctx, rt1.Hash, at(time.Hour), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		called = true
		return successor(old, "stolen", at(time.Hour)), nil
	})
	e.is(err, grantd.ErrReused, "rotate a rotated-out token")
	// The presented token comes back, so that the caller can tell whose
	// grant was revoked.
	rotated := rt1
	rotated.RotatedAt = ptr(at(time.Minute))
	e.equal("RotateRefreshToken answer on reuse", got, rotated)
	if called {
		e.t.Error("RotateRefreshToken called next for a reused token")
	}
	e.wantRefresh(false, rt1, rt2, rt3, *sibling, successor(rt1, "stolen", at(time.Hour)))
	e.wantRevoked(true, code.AccessJTI, rt2.AccessJTI, rt3.AccessJTI, sibling.AccessJTI, noRefresh.AccessJTI)

	// The user's consent stands; so does everything of another grant.
	_, err = e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant after reuse")
	e.wantRefresh(true, *otherRT)
	e.wantRevoked(false, otherRT.AccessJTI)

	// Presenting any revoked token again is still reuse, but revokes
	// nothing the user obtained since: that revocation has happened.
	_, after := e.redeem("after", g, at(90*time.Minute), true)
	for _, rt := range []grantd.RefreshToken{rt1, rt3, *sibling} {
		got, err = e.s.RotateRefreshToken(e.ctx, rt.Hash, at(2*time.Hour), time.Hour, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
			called = true
			return successor(old, "four", at(2*time.Hour)), nil
		})
		e.is(err, grantd.ErrReused, "rotate a token revoked by reuse")
		if got.Hash != rt.Hash || got.GrantID != g.ID {
			e.t.Errorf("RotateRefreshToken of a revoked token answered %s, want the presented token", show(got))
		}
	}
	if called {
		e.t.Error("RotateRefreshToken called next for a revoked token")
	}
	e.wantRefresh(false, successor(rt1, "four", at(2*time.Hour)))
	e.wantRefresh(true, *after)
	e.wantRevoked(false, after.AccessJTI)
	e.is(e.s.RevokeRefreshToken(e.ctx, rt3.Hash), grantd.ErrNotFound, "revoke a token revoked by reuse")

	// Without grace, a token is reused even at the instant it was rotated
	// (two requests racing with the same token).
	_, fresh := e.redeem("fresh", g, at(2*time.Hour), true)
	e.rotate(*fresh, "fresh-b", at(3*time.Hour))
	_, err = e.s.RotateRefreshToken(e.ctx, fresh.Hash, at(3*time.Hour), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		return successor(old, "fresh-c", at(3*time.Hour)), nil
	})
	e.is(err, grantd.ErrReused, "rotate a token again at the instant of its rotation, without grace")
	e.wantRevoked(true, "jti-fresh", "jti-fresh-b")
}

// testRefreshGrace checks the grace window: a token rotated no more than
// grace ago may be rotated again (a client's retry), once more than grace
// has passed it is reuse.
func testRefreshGrace(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	const grace = 5 * time.Second

	_, first := e.redeem("one", g, at(0), true)
	rt1 := *first
	t0 := at(time.Minute)
	rt2, err := e.s.RotateRefreshToken(e.ctx, rt1.Hash, t0, grace, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		return successor(old, "two", t0), nil
	})
	e.ok(err, "rotate refresh token with grace")

	// A retry within grace: next sees the rotated token and its successor
	// is stored beside the first one. The window does not move.
	for i, d := range []time.Duration{2 * time.Second, grace} {
		now := t0.Add(d)
		name := []string{"retry-a", "retry-b"}[i]
		want := successor(rt1, name, now)
		got, err := e.s.RotateRefreshToken(e.ctx, rt1.Hash, now, grace, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
			rotated := rt1
			rotated.RotatedAt = ptr(t0)
			e.equal("next's argument on a retry", old, rotated)
			return want, nil
		})
		e.ok(err, "retry rotation within grace")
		e.equal("successor of a retry", got, want)
		e.wantRefresh(true, rt2, want)
		e.wantRevoked(false, rt2.AccessJTI, want.AccessJTI)
		gr, err := e.s.GetGrant(e.ctx, g.ID)
		e.ok(err, "get grant")
		if gr.LastUsedAt == nil || !gr.LastUsedAt.Equal(now) {
			e.t.Errorf("grant last_used_at after a retry = %v, want %v", gr.LastUsedAt, now)
		}
	}
	got, err := e.s.GetRefreshToken(e.ctx, rt1.Hash)
	e.ok(err, "get rotated token")
	if got.RotatedAt == nil || !got.RotatedAt.Equal(t0) {
		e.t.Errorf("rotated_at after retries = %v, want the first rotation %v", got.RotatedAt, t0)
	}

	// A failing next within grace writes nothing either.
	refused := failing("next")
	_, err = e.s.RotateRefreshToken(e.ctx, rt1.Hash, t0.Add(time.Second), grace, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		return successor(old, "refused", t0), refused
	})
	e.same(err, refused, "retry with a failing next")
	e.wantRefresh(false, successor(rt1, "refused", t0))

	// Past grace it is reuse.
	_, err = e.s.RotateRefreshToken(e.ctx, rt1.Hash, t0.Add(grace+time.Microsecond), grace, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		return successor(old, "late", t0.Add(grace+time.Microsecond)), nil
	})
	e.is(err, grantd.ErrReused, "rotate a token rotated more than grace ago")
	e.wantRefresh(false, rt1, rt2, successor(rt1, "retry-a", t0), successor(rt1, "retry-b", t0))
	e.wantRevoked(true, rt1.AccessJTI, rt2.AccessJTI, "jti-retry-a", "jti-retry-b")
}

func testRevokeRefreshToken(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	_, first := e.redeem("one", g, at(0), true)
	rt1 := *first
	rt2 := e.rotate(rt1, "two", at(time.Minute))
	_, sibling := e.redeem("sibling", g, at(0), true)

	e.ok(e.s.RevokeRefreshToken(e.ctx, rt2.Hash), "revoke refresh token")
	e.wantRefresh(false, rt2)
	e.wantRevoked(true, rt2.AccessJTI)
	// Only that token: the rest of the grant stands.
	e.wantRefresh(true, rt1, *sibling)
	e.wantRevoked(false, rt1.AccessJTI, sibling.AccessJTI)
	_, err := e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")

	e.is(e.s.RevokeRefreshToken(e.ctx, rt2.Hash), grantd.ErrNotFound, "revoke revoked refresh token")
	e.is(e.s.RevokeRefreshToken(e.ctx, hash("rt-missing")), grantd.ErrNotFound, "revoke missing refresh token")
}
