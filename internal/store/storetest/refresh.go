package storetest

import (
	"fmt"
	"reflect"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
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
	_, err = oauth.RotateRefreshToken(e.ctx, e.s, hash("rt-missing"), at(time.Minute), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		called = true
		return old, nil
	}, nil)
	e.is(err, grantd.ErrNotFound, "rotate missing refresh token")
	if called {
		e.t.Error("RotateRefreshToken called next for a missing token")
	}

	// A failing next writes nothing: the token is not rotated, its
	// successor not stored, the grant not touched (since the redemption
	// set its last_used_at).
	before, err := e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	refused := failing("next")
	_, err = oauth.RotateRefreshToken(e.ctx, e.s, rt1.Hash, at(time.Minute), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		e.equal("next's argument", old, rt1)
		return successor(old, "refused", at(time.Minute)), refused
	}, nil)
	e.same(err, refused, "rotate with a failing next")
	got, err = e.s.GetRefreshToken(e.ctx, rt1.Hash)
	e.ok(err, "get refresh token")
	e.equal("refresh token after a failed rotation", got, rt1)
	e.wantRefresh(false, successor(rt1, "refused", at(time.Minute)))
	gr, err := e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	e.equal("grant after a failed rotation", gr, before)

	// Rotation marks the old token rotated, stores its successor and
	// touches the grant, all at once.
	now := at(time.Hour)
	rt2 := successor(rt1, "two", now)
	rt2.AccessScopes = []string{"admin"} // narrowed: only the access token
	got, err = oauth.RotateRefreshToken(e.ctx, e.s, rt1.Hash, now, 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		e.equal("next's argument", old, rt1)
		return rt2, nil
	}, nil)
	e.ok(err, "rotate refresh token")
	e.equal("RotateRefreshToken answer", got, rt2)
	got, err = e.s.GetRefreshToken(e.ctx, rt2.Hash)
	e.ok(err, "get successor")
	e.equal("successor", got, rt2)
	got, err = e.s.GetRefreshToken(e.ctx, rt1.Hash)
	e.ok(err, "get rotated token")
	e.equal("rotated token", got, rotated(rt1, rt2, now))
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
	_, err = oauth.RotateRefreshToken(e.ctx, e.s, rt3.Hash, at(3*time.Hour), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		next := successor(old, "dup", at(3*time.Hour))
		next.Hash = rt2.Hash
		return next, nil
	}, nil)
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
	got, err := oauth.RotateRefreshToken(e.ctx, e.s, rt1.Hash, at(time.Hour), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		called = true
		return successor(old, "stolen", at(time.Hour)), nil
	}, nil)
	e.is(err, grantd.ErrReused, "rotate a rotated-out token")
	// The presented token comes back, so that the caller can tell whose
	// grant was revoked.
	e.equal("RotateRefreshToken answer on reuse", got, rotated(rt1, rt2, at(time.Minute)))
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
		got, err = oauth.RotateRefreshToken(e.ctx, e.s, rt.Hash, at(2*time.Hour), time.Hour, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
			called = true
			return successor(old, "four", at(2*time.Hour)), nil
		}, nil)
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
	_, err = oauth.RotateRefreshToken(e.ctx, e.s, fresh.Hash, at(3*time.Hour), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		return successor(old, "fresh-c", at(3*time.Hour)), nil
	}, nil)
	e.is(err, grantd.ErrReused, "rotate a token again at the instant of its rotation, without grace")
	e.wantRevoked(true, "jti-fresh", "jti-fresh-b")
}

// retryFamily makes user n's grant for the client and its first refresh
// token, redeemed at 0 and rotated at t0 into its successor: the state of a
// client whose rotation committed but whose answer was lost.
func (e env) retryFamily(n int, c grantd.Client, t0 time.Time) (g grantd.Grant, rt1, rt2 grantd.RefreshToken) {
	e.t.Helper()
	u := e.user(n)
	g = e.grant(n, u, c)
	name := fmt.Sprintf("u%d", n)
	_, first := e.redeem(name, g, at(0), true)
	rt2 = e.rotate(*first, name+"-two", t0)
	return g, *first, rt2
}

// noNext is a next that must not run: the token presented was rotated.
func (e env) noNext(old grantd.RefreshToken) (grantd.RefreshToken, error) {
	e.t.Errorf("RotateRefreshToken called next for the rotated token %s", old.AccessJTI)
	return successor(old, "unexpected", at(0)), nil
}

// testRefreshRetry: within grace, a rotated token whose successor is live
// and unused is handed to retry with that successor; retry's nil answers
// the very successor again, however often, and writes nothing.
func testRefreshRetry(e env) {
	owner := e.user(99)
	c := e.client(newClient("client-1", owner))
	const grace = 5 * time.Second
	t0 := at(time.Minute)
	g, rt1, rt2 := e.retryFamily(1, c, t0)

	got, err := e.s.GetRefreshToken(e.ctx, rt1.Hash)
	e.ok(err, "get rotated token")
	e.equal("rotated token records its successor", got, rotated(rt1, rt2, t0))

	for _, d := range []time.Duration{0, 2 * time.Second, grace, -time.Second} {
		now := t0.Add(d)
		calls := 0
		got, err := oauth.RotateRefreshToken(e.ctx, e.s, rt1.Hash, now, grace, e.noNext, func(old, succ grantd.RefreshToken) error {
			calls++
			e.equal("retry's old token", old, rotated(rt1, rt2, t0))
			e.equal("retry's successor", succ, rt2)
			return nil
		})
		e.ok(err, fmt.Sprintf("retry %v after the rotation", d))
		e.equal("answer to a retry", got, rt2)
		if calls != 1 {
			e.t.Errorf("retry at %v ran %d times, want once", d, calls)
		}
	}
	// Nothing was written: the first rotation's state is all there is.
	got, err = e.s.GetRefreshToken(e.ctx, rt1.Hash)
	e.ok(err, "get rotated token")
	e.equal("rotated token after retries", got, rotated(rt1, rt2, t0))
	got, err = e.s.GetRefreshToken(e.ctx, rt2.Hash)
	e.ok(err, "get successor")
	e.equal("successor after retries", got, rt2)
	e.wantRevoked(false, rt1.AccessJTI, rt2.AccessJTI)
	gr, err := e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	if gr.LastUsedAt == nil || !gr.LastUsedAt.Equal(t0) {
		e.t.Errorf("grant last_used_at after retries = %v, want the rotation's %v", gr.LastUsedAt, t0)
	}

	// A retry that fails with its own error writes nothing either.
	refused := failing("retry")
	_, err = oauth.RotateRefreshToken(e.ctx, e.s, rt1.Hash, t0.Add(time.Second), grace, e.noNext, func(old, succ grantd.RefreshToken) error {
		return refused
	})
	e.same(err, refused, "retry with a failing retry")
	e.wantRefresh(true, rt1, rt2)
	e.wantRevoked(false, rt1.AccessJTI, rt2.AccessJTI)

	// The successor rotates as usual afterwards.
	rt3 := e.rotate(rt2, "u1-three", t0.Add(2*time.Second))
	e.wantRefresh(true, rt3)
}

// testRefreshRetryRefused: every other presentation of a rotated token is
// reuse, which revokes every token under the grant: past grace, without
// grace, with no retry, with a successor used or revoked, and when retry
// says so. retry never runs where the store decides.
func testRefreshRetryRefused(e env) {
	owner := e.user(99)
	c := e.client(newClient("client-1", owner))
	const grace = 5 * time.Second
	t0 := at(time.Minute)
	noRetry := func(old, succ grantd.RefreshToken) error {
		e.t.Errorf("RotateRefreshToken called retry for %s", old.AccessJTI)
		return nil
	}
	cases := []struct {
		name  string
		grace time.Duration
		at    time.Duration
		setup func(rt2 grantd.RefreshToken)
		retry func(old, succ grantd.RefreshToken) error
	}{
		{name: "past grace", grace: grace, at: grace + time.Microsecond, retry: noRetry},
		{name: "without grace", grace: 0, at: 0, retry: noRetry},
		{name: "no retry", grace: grace, at: time.Second, retry: nil},
		{name: "retry says reuse", grace: grace, at: time.Second, retry: func(old, succ grantd.RefreshToken) error {
			return fmt.Errorf("another client: %w", grantd.ErrReused)
		}},
		{name: "successor used", grace: grace, at: 2 * time.Second, retry: noRetry, setup: func(rt2 grantd.RefreshToken) {
			e.rotate(rt2, hashName(rt2)+"-three", t0.Add(time.Second))
		}},
		{name: "successor revoked", grace: grace, at: 2 * time.Second, retry: noRetry, setup: func(rt2 grantd.RefreshToken) {
			e.ok(e.s.RevokeRefreshToken(e.ctx, rt2.Hash), "revoke successor")
		}},
	}
	for i, tc := range cases {
		g, rt1, rt2 := e.retryFamily(i+1, c, t0)
		_, sibling := e.redeem(fmt.Sprintf("u%d-sibling", i+1), g, at(0), true)
		if tc.setup != nil {
			tc.setup(rt2)
		}
		got, err := oauth.RotateRefreshToken(e.ctx, e.s, rt1.Hash, t0.Add(tc.at), tc.grace, e.noNext, tc.retry)
		e.is(err, grantd.ErrReused, tc.name)
		if got.Hash != rt1.Hash || got.GrantID != g.ID {
			e.t.Errorf("%s: answer %s, want the presented token", tc.name, show(got))
		}
		e.wantRefresh(false, rt1, rt2, *sibling)
		e.wantRevoked(true, rt2.AccessJTI, sibling.AccessJTI)
		if _, err := e.s.GetGrant(e.ctx, g.ID); err != nil {
			e.t.Errorf("%s: the grant went with its tokens: %v", tc.name, err)
		}
	}
}

// hashName answers the name a fixture token was made with ("rt-"+name).
func hashName(rt grantd.RefreshToken) string { return rt.AccessJTI[len("jti-"):] }

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

// testAnswersAsStored: what a redemption and a rotation answer is what
// they stored, exactly as the store answers it when read (to the
// microsecond, in UTC, an empty list nil), even when what was passed in
// had nanoseconds, another zone or empty lists that are not nil.
func testAnswersAsStored(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	zone := time.FixedZone("UTC+1", 3600)
	now := at(time.Second).Add(789 * time.Nanosecond).In(zone)
	e.code("one", g)
	issue := func(code grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		code.FamilyID, code.AccessJTI, code.AccessExpiresAt = "fam-one", "jti-one", ptr(now.Add(30*time.Minute))
		rt := newRefresh("one", code.FamilyID, g, now)
		return code, &rt, nil
	}
	code, err := oauth.RedeemAuthCode(e.ctx, e.s, hash("code-one"), now, issue)
	e.ok(err, "redeem auth code")

	later := now.Add(time.Minute + 1)
	succ, err := oauth.RotateRefreshToken(e.ctx, e.s, hash("rt-one"), later, 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		next := successor(old, "two", later)
		next.Scopes, next.AccessScopes = []string{}, []string{}
		return next, nil
	}, nil)
	e.ok(err, "rotate refresh token")
	stored, err := e.s.GetRefreshToken(e.ctx, succ.Hash)
	e.ok(err, "get successor")
	if !reflect.DeepEqual(succ, stored) {
		e.t.Errorf("RotateRefreshToken answer is not the successor as stored:\n got %#v\nwant %#v", succ, stored)
	}

	// A second redemption answers the code as stored (and revokes its
	// family, which is why it comes last).
	again, err := oauth.RedeemAuthCode(e.ctx, e.s, hash("code-one"), now, issue)
	e.is(err, grantd.ErrAlreadyUsed, "redeem auth code again")
	if !reflect.DeepEqual(code, again) {
		e.t.Errorf("RedeemAuthCode answer is not the code as stored:\n got %#v\nwant %#v", code, again)
	}
}
