package storetest

import (
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

func testConsents(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))

	cs := e.consent("one", u, c)
	got, err := e.s.GetConsent(e.ctx, cs.Hash)
	e.ok(err, "get consent")
	e.equal("GetConsent", got, cs)
	e.is(e.s.CreateConsent(e.ctx, cs), grantd.ErrAlreadyExists, "create consent with a taken hash")
	_, err = e.s.GetConsent(e.ctx, hash("consent-missing"))
	e.is(err, grantd.ErrNotFound, "get missing consent")

	// Expiry is the caller's to check, with its own clock: the store
	// answers expired rows until DeleteExpired removes them.
	expired := newConsent("expired", u, c)
	expired.ExpiresAt = at(-time.Hour)
	expired.Scopes = nil
	expired.CodeChallenge, expired.CodeChallengeMethod, expired.Resource = "", "", ""
	e.ok(e.s.CreateConsent(e.ctx, expired), "create expired consent")
	got, err = e.s.GetConsent(e.ctx, expired.Hash)
	e.ok(err, "get expired consent")
	e.equal("expired consent", got, expired)
}

func testAuthCodes(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)

	code := e.code("one", g)
	e.is(e.s.CreateAuthCode(e.ctx, code), grantd.ErrAlreadyExists, "create auth code with a taken hash")

	called := false
	_, err := oauth.RedeemAuthCode(e.ctx, e.s, hash("code-missing"), at(time.Second), func(c grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		called = true
		return c, nil, nil
	})
	e.is(err, grantd.ErrNotFound, "redeem missing code")
	if called {
		e.t.Error("RedeemAuthCode called issue for a missing code")
	}

	// A failing issue writes nothing: neither the code's use nor the
	// refresh token it would have stored.
	refused := failing("issue")
	_, err = oauth.RedeemAuthCode(e.ctx, e.s, code.Hash, at(time.Second), func(got grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		e.equal("issue's argument", got, code)
		issued, rt, _ := issueFor("refused", g, at(time.Second), true)(got)
		return issued, rt, refused
	})
	e.same(err, refused, "redeem with a failing issue")
	e.wantRefresh(false, newRefresh("refused", "fam-refused", g, at(time.Second)))
	if gr, err := e.s.GetGrant(e.ctx, g.ID); err != nil || gr.LastUsedAt != nil {
		e.t.Errorf("grant after a failed redemption: %s, %v; want it untouched", show(gr), err)
	}

	// The code is still unused: this redemption succeeds.
	now := at(2 * time.Second)
	want := code
	want.UsedAt = ptr(now)
	want.FamilyID = "fam-one"
	want.AccessJTI = "jti-one"
	want.AccessExpiresAt = ptr(now.Add(30 * time.Minute))
	got, err := oauth.RedeemAuthCode(e.ctx, e.s, code.Hash, now, func(got grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		e.equal("issue's argument", got, code)
		return issueFor("one", g, now, true)(got)
	})
	e.ok(err, "redeem code")
	e.equal("RedeemAuthCode answer", got, want)
	rt, err := e.s.GetRefreshToken(e.ctx, hash("rt-one"))
	e.ok(err, "get the refresh token the redemption stored")
	e.equal("first refresh token of the family", rt, newRefresh("one", "fam-one", g, now))
	e.wantRevoked(false, "jti-one")
	// The redemption set the grant's last_used_at, in its unit of work.
	gr, err := e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	wantGrant := g
	wantGrant.LastUsedAt = ptr(now)
	e.equal("grant after redemption", gr, wantGrant)

	// issue may answer no refresh token (a client without the
	// refresh_token grant).
	e.code("two", g)
	got, err = oauth.RedeemAuthCode(e.ctx, e.s, hash("code-two"), now, issueFor("two", g, now, false))
	e.ok(err, "redeem code without a refresh token")
	if got.UsedAt == nil || got.AccessJTI != "jti-two" || got.FamilyID != "fam-two" {
		e.t.Errorf("RedeemAuthCode without a refresh token answered %s", show(got))
	}
	e.wantRefresh(false, newRefresh("two", "fam-two", g, now))

	// Expiry is the caller's to check: an expired code reaches issue.
	expired := newCode("expired", g)
	expired.ExpiresAt = at(-time.Minute)
	expired.CodeChallenge = ""
	expired.Scopes = nil
	e.ok(e.s.CreateAuthCode(e.ctx, expired), "create expired code")
	_, err = oauth.RedeemAuthCode(e.ctx, e.s, expired.Hash, now, func(got grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		e.equal("issue's argument (expired code)", got, expired)
		return got, nil, refused
	})
	e.same(err, refused, "redeem expired code")
}

// testAuthCodeSecondUse checks that a code used again answers
// ErrAlreadyUsed and revokes what its first use issued: the access token
// and every refresh token of its family, rotated ones included, but not
// the grant's other families.
func testAuthCodeSecondUse(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)

	first, rt := e.redeem("one", g, at(time.Second), true)
	rtB := e.rotate(*rt, "one-b", at(2*time.Second))
	rtC := e.rotate(rtB, "one-c", at(3*time.Second))
	_, other := e.redeem("other", g, at(time.Second), true)
	otherNoRefresh, _ := e.redeem("other-norefresh", g, at(time.Second), false)

	called := false
	got, err := oauth.RedeemAuthCode(e.ctx, e.s, first.Hash, at(4*time.Second), func(c grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		called = true
		return issueFor("again", g, at(4*time.Second), true)(c)
	})
	e.is(err, grantd.ErrAlreadyUsed, "redeem code twice")
	if called {
		e.t.Error("RedeemAuthCode called issue for a used code")
	}
	e.equal("RedeemAuthCode answer on second use", got, first)
	e.wantRevoked(true, first.AccessJTI, rtB.AccessJTI, rtC.AccessJTI)
	e.wantRefresh(false, *rt, rtB, rtC, newRefresh("again", "fam-again", g, at(4*time.Second)))

	// The family's tokens, presented again, are reuse.
	_, err = oauth.RotateRefreshToken(e.ctx, e.s, rtC.Hash, at(5*time.Second), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		called = true
		return successor(old, "one-d", at(5*time.Second)), nil
	}, nil)
	e.is(err, grantd.ErrReused, "rotate a token of a code used twice")
	if called {
		e.t.Error("RotateRefreshToken called next for a revoked token")
	}

	// The grant and its other families stand.
	_, err = e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	e.wantRefresh(true, *other)
	e.wantRevoked(false, other.AccessJTI, otherNoRefresh.AccessJTI)

	// Every further use answers the same.
	_, err = oauth.RedeemAuthCode(e.ctx, e.s, first.Hash, at(5*time.Second), issueFor("third", g, at(5*time.Second), true))
	e.is(err, grantd.ErrAlreadyUsed, "redeem code a third time")

	// A code redeemed without a refresh token: the second use revokes its
	// access token.
	_, err = oauth.RedeemAuthCode(e.ctx, e.s, otherNoRefresh.Hash, at(5*time.Second), issueFor("x", g, at(5*time.Second), false))
	e.is(err, grantd.ErrAlreadyUsed, "redeem code without refresh token twice")
	e.wantRevoked(true, otherNoRefresh.AccessJTI)
	e.wantRefresh(true, *other)
}
