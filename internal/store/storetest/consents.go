package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

// decision answers the decision the consent page makes on an approval:
// the grant created (as grant n) or widened with the consent's scopes, and
// the code name under it, at now.
func decision(n int, name string, cs grantd.Consent, existing *grantd.Grant, now time.Time) grantd.ConsentDecision {
	var g grantd.Grant
	if existing == nil {
		g = grantd.Grant{ID: uuid(kindGrant, n), UserID: cs.UserID, ClientID: cs.ClientID, Scopes: slices.Clone(cs.Scopes), CreatedAt: now, UpdatedAt: now}
	} else {
		g = *existing
		g.Scopes = slices.Clone(g.Scopes)
		for _, s := range cs.Scopes {
			if !slices.Contains(g.Scopes, s) {
				g.Scopes = append(g.Scopes, s)
			}
		}
		g.UpdatedAt = now
	}
	code := newCode(name, g)
	code.Scopes = cs.Scopes
	code.CreatedAt, code.ExpiresAt = now, now.Add(time.Minute)
	return grantd.ConsentDecision{Grant: &g, Code: &code}
}

// storedCode answers the code with the hash, as RedeemAuthCode hands it to
// issue, without redeeming it (issue refuses).
func (e env) storedCode(hash string) (grantd.AuthCode, error) {
	e.t.Helper()
	var got grantd.AuthCode
	refused := failing("peek")
	_, err := oauth.RedeemAuthCode(e.ctx, e.s, hash, at(0), func(c grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		got = c
		return c, nil, refused
	})
	if err == nil {
		e.t.Fatal("RedeemAuthCode ignored issue's error")
	}
	if errors.Is(err, grantd.ErrNotFound) {
		return grantd.AuthCode{}, err
	}
	return got, nil
}

// wantConsentUnused checks that the consent can still be decided.
func (e env) wantConsentUnused(cs grantd.Consent, what string) {
	e.t.Helper()
	got, err := e.s.GetConsent(e.ctx, cs.Hash)
	e.ok(err, "get consent")
	if got.UsedAt != nil {
		e.t.Errorf("%s: the consent was used (at %v)", what, got.UsedAt)
	}
}

// testDecideConsent: the decision uses the consent and stores the grant
// (created, then widened) and the code, together; a used or missing
// consent is not decided again.
func testDecideConsent(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	cs := e.consent("one", u, c)
	now := at(time.Minute)

	var want grantd.ConsentDecision
	got, err := oauth.DecideConsent(e.ctx, e.s, cs.Hash, now, func(arg grantd.Consent, g *grantd.Grant) (grantd.ConsentDecision, error) {
		e.equal("decide's consent", arg, cs)
		if g != nil {
			e.t.Errorf("decide's grant = %s, want none", show(g))
		}
		want = decision(1, "one", arg, g, now)
		return want, nil
	})
	e.ok(err, "decide consent")
	used := cs
	used.UsedAt = ptr(now)
	e.equal("DecideConsent answer", got, used)
	stored, err := e.s.GetConsent(e.ctx, cs.Hash)
	e.ok(err, "get consent")
	e.equal("decided consent", stored, used)
	g, err := e.s.GetGrantByUserClient(e.ctx, u.ID, c.ID)
	e.ok(err, "get grant")
	e.equal("grant of the decision", g, *want.Grant)
	code, err := e.storedCode(want.Code.Hash)
	e.ok(err, "get code")
	e.equal("code of the decision", code, *want.Code)

	// Used: decide does not run, and the answer is the consent as used.
	called := false
	got, err = oauth.DecideConsent(e.ctx, e.s, cs.Hash, at(2*time.Minute), func(grantd.Consent, *grantd.Grant) (grantd.ConsentDecision, error) {
		called = true
		return grantd.ConsentDecision{}, nil
	})
	e.is(err, grantd.ErrAlreadyUsed, "decide a used consent")
	e.equal("DecideConsent answer on second use", got, used)
	_, err = oauth.DecideConsent(e.ctx, e.s, hash("consent-missing"), now, func(grantd.Consent, *grantd.Grant) (grantd.ConsentDecision, error) {
		called = true
		return grantd.ConsentDecision{}, nil
	})
	e.is(err, grantd.ErrNotFound, "decide a missing consent")
	if called {
		e.t.Error("DecideConsent called decide for a used or missing consent")
	}

	// A second consent of the same user and client gets the grant, and
	// widens it.
	two := newConsent("two", u, c)
	two.Scopes = []string{"messages:read"}
	e.ok(e.s.CreateConsent(e.ctx, two), "create consent")
	later := at(time.Hour)
	_, err = oauth.DecideConsent(e.ctx, e.s, two.Hash, later, func(arg grantd.Consent, existing *grantd.Grant) (grantd.ConsentDecision, error) {
		if existing == nil {
			e.t.Fatal("decide's grant = nil, want the user's grant")
		}
		e.equal("decide's grant", *existing, g)
		want = decision(2, "two", arg, existing, later)
		return want, nil
	})
	e.ok(err, "decide a second consent")
	g2, err := e.s.GetGrantByUserClient(e.ctx, u.ID, c.ID)
	e.ok(err, "get grant")
	e.equal("widened grant", g2, *want.Grant)
	if g2.ID != g.ID || !slices.Equal(g2.Scopes, []string{"admin", "messages:read"}) {
		e.t.Errorf("grant after widening = %s", show(g2))
	}
	code, err = e.storedCode(want.Code.Hash)
	e.ok(err, "get code")
	e.equal("code under the widened grant", code, *want.Code)

	// A denial (the zero decision) only uses the consent.
	deny := e.consent("deny", u, c)
	_, err = oauth.DecideConsent(e.ctx, e.s, deny.Hash, later, func(grantd.Consent, *grantd.Grant) (grantd.ConsentDecision, error) {
		return grantd.ConsentDecision{}, nil
	})
	e.ok(err, "deny consent")
	stored, err = e.s.GetConsent(e.ctx, deny.Hash)
	e.ok(err, "get consent")
	if stored.UsedAt == nil {
		e.t.Error("a denial left the consent unused")
	}
	g3, err := e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	e.equal("grant after a denial", g3, g2)

	// decide's error is returned as it is, and nothing is written.
	pending := e.consent("pending", u, c)
	refused := failing("decide")
	_, err = oauth.DecideConsent(e.ctx, e.s, pending.Hash, later, func(arg grantd.Consent, existing *grantd.Grant) (grantd.ConsentDecision, error) {
		return decision(3, "pending", arg, existing, later), refused
	})
	e.same(err, refused, "decide with a failing decide")
	e.wantConsentUnused(pending, "a failing decide")
	_, err = e.storedCode(hash("code-pending"))
	e.is(err, grantd.ErrNotFound, "code of a failed decision")

	// A decision that does not fit the consent is refused, whole.
	other := e.user(2)
	for name, bad := range map[string]func(d grantd.ConsentDecision) grantd.ConsentDecision{
		"another user's grant":  func(d grantd.ConsentDecision) grantd.ConsentDecision { d.Grant.UserID = other.ID; return d },
		"another grant's id":    func(d grantd.ConsentDecision) grantd.ConsentDecision { d.Grant.ID = uuid(kindGrant, 77); return d },
		"a code under no grant": func(d grantd.ConsentDecision) grantd.ConsentDecision { d.Code.GrantID = uuid(kindGrant, 77); return d },
		"another client's code": func(d grantd.ConsentDecision) grantd.ConsentDecision { d.Code.ClientID = "client-2"; return d },
	} {
		_, err = oauth.DecideConsent(e.ctx, e.s, pending.Hash, later, func(arg grantd.Consent, existing *grantd.Grant) (grantd.ConsentDecision, error) {
			return bad(decision(3, "pending", arg, existing, later)), nil
		})
		if err == nil {
			e.t.Errorf("DecideConsent stored a decision with %s", name)
		}
		e.wantConsentUnused(pending, name)
	}
	g4, err := e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant")
	e.equal("grant after refused decisions", g4, g2)
}

// testDecideConsentFailsWhole is a crash in the middle of a decision: the
// consent is marked used and the grant written when storing the code fails
// (its hash is taken), or the grant cannot be written (its id is taken).
// Nothing of the decision survives: the consent is unused, so the user can
// decide again, and there is no grant without a code.
func testDecideConsentFailsWhole(e env) {
	owner := e.user(1)
	u := e.user(2)
	c := e.client(newClient("client-1", owner))
	taken := e.grant(1, owner, c)
	e.code("taken", taken)
	now := at(time.Minute)

	cs := e.consent("crash", u, c)
	_, err := oauth.DecideConsent(e.ctx, e.s, cs.Hash, now, func(arg grantd.Consent, existing *grantd.Grant) (grantd.ConsentDecision, error) {
		d := decision(2, "crash", arg, existing, now)
		d.Code.Hash = hash("code-taken")
		return d, nil
	})
	e.is(err, grantd.ErrAlreadyExists, "decide with a code whose hash is taken")
	e.wantConsentUnused(cs, "a failed code")
	_, err = e.s.GetGrantByUserClient(e.ctx, u.ID, c.ID)
	e.is(err, grantd.ErrNotFound, "grant of a decision whose code failed")
	_, err = e.s.GetGrant(e.ctx, uuid(kindGrant, 2))
	e.is(err, grantd.ErrNotFound, "grant of a decision whose code failed, by id")

	_, err = oauth.DecideConsent(e.ctx, e.s, cs.Hash, now, func(arg grantd.Consent, existing *grantd.Grant) (grantd.ConsentDecision, error) {
		d := decision(2, "crash", arg, existing, now)
		d.Grant.ID = taken.ID
		d.Code.GrantID = taken.ID
		return d, nil
	})
	e.is(err, grantd.ErrAlreadyExists, "decide with a grant whose id is taken")
	e.wantConsentUnused(cs, "a failed grant")
	_, err = e.s.GetGrantByUserClient(e.ctx, u.ID, c.ID)
	e.is(err, grantd.ErrNotFound, "grant of a decision whose grant failed")
	_, err = e.storedCode(hash("code-crash"))
	e.is(err, grantd.ErrNotFound, "code of a decision whose grant failed")

	// Widening an existing grant is undone too.
	widen := newConsent("widen", owner, c)
	widen.Scopes = []string{"messages:read"}
	e.ok(e.s.CreateConsent(e.ctx, widen), "create consent")
	_, err = oauth.DecideConsent(e.ctx, e.s, widen.Hash, now, func(arg grantd.Consent, existing *grantd.Grant) (grantd.ConsentDecision, error) {
		d := decision(0, "widen", arg, existing, now)
		d.Code.Hash = hash("code-taken")
		return d, nil
	})
	e.is(err, grantd.ErrAlreadyExists, "widen with a code whose hash is taken")
	e.wantConsentUnused(widen, "a failed widening")
	g, err := e.s.GetGrant(e.ctx, taken.ID)
	e.ok(err, "get grant")
	e.equal("grant after a failed widening", g, taken)

	// The user decides again, and this time it holds.
	_, err = oauth.DecideConsent(e.ctx, e.s, cs.Hash, now, func(arg grantd.Consent, existing *grantd.Grant) (grantd.ConsentDecision, error) {
		return decision(2, "crash", arg, existing, now), nil
	})
	e.ok(err, "decide again after the failure")
	_, err = e.s.GetGrantByUserClient(e.ctx, u.ID, c.ID)
	e.ok(err, "grant of the decision")
}

// testRaceDecideConsent: of concurrent decisions on one consent (a double
// click, a replayed POST), exactly one is recorded, with its own grant and
// code; the others answer ErrAlreadyUsed and store nothing.
func testRaceDecideConsent(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	cs := e.consent("one", u, c)
	now := at(time.Minute)

	errs := race(func(i int) error {
		_, err := oauth.DecideConsent(e.ctx, e.s, cs.Hash, now, func(arg grantd.Consent, existing *grantd.Grant) (grantd.ConsentDecision, error) {
			return decision(100+i, fmt.Sprintf("racer-%d", i), arg, existing, now), nil
		})
		return err
	})
	winner := e.oneWinner("DecideConsent", errs, grantd.ErrAlreadyUsed)
	g, err := e.s.GetGrantByUserClient(e.ctx, u.ID, c.ID)
	e.ok(err, "get grant")
	if g.ID != uuid(kindGrant, 100+winner) {
		e.t.Errorf("grant %s, want the winner's %s", g.ID, uuid(kindGrant, 100+winner))
	}
	for i := range racers {
		_, err := e.storedCode(hash(fmt.Sprintf("code-racer-%d", i)))
		switch {
		case i == winner && err != nil:
			e.t.Errorf("the winner's code: %v", err)
		case i != winner && !errors.Is(err, grantd.ErrNotFound):
			e.t.Errorf("loser %d's code was stored (err = %v)", i, err)
		}
	}
}

// testRaceDecideConsentsOneGrant: a user approving the same client in many
// tabs at once: every decision holds, and they share one grant, which
// ends with every tab's scopes; every code is under it.
func testRaceDecideConsentsOneGrant(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	consents := make([]grantd.Consent, racers)
	for i := range racers {
		cs := newConsent(fmt.Sprintf("tab-%d", i), u, c)
		cs.Scopes = []string{fmt.Sprintf("scope-%d", i)}
		e.ok(e.s.CreateConsent(e.ctx, cs), "create consent")
		consents[i] = cs
	}
	now := at(time.Minute)

	var mu sync.Mutex
	created := map[int]bool{}
	errs := race(func(i int) error {
		_, err := oauth.DecideConsent(e.ctx, e.s, consents[i].Hash, now, func(arg grantd.Consent, existing *grantd.Grant) (grantd.ConsentDecision, error) {
			if existing == nil {
				mu.Lock()
				created[i] = true
				mu.Unlock()
			}
			return decision(100+i, fmt.Sprintf("tab-%d", i), arg, existing, now), nil
		})
		return err
	})
	for i, err := range errs {
		if err != nil {
			e.t.Errorf("decision %d: %v", i, err)
		}
	}
	grants, total, err := e.s.ListGrants(e.ctx, u.ID, grantd.Page{Number: 1, Size: 100})
	e.ok(err, "list grants")
	if total != 1 || len(grants) != 1 {
		e.t.Fatalf("%d grants for one user and client, want 1: %s", total, show(grants))
	}
	g := grants[0]
	for i := range racers {
		if s := fmt.Sprintf("scope-%d", i); !slices.Contains(g.Scopes, s) {
			e.t.Errorf("the grant lacks %s, of decision %d: %v", s, i, g.Scopes)
		}
		code, err := e.storedCode(hash(fmt.Sprintf("code-tab-%d", i)))
		e.ok(err, "get code")
		if code.GrantID != g.ID {
			e.t.Errorf("code %d is under grant %s, want %s", i, code.GrantID, g.ID)
		}
	}
	if len(created) == 0 {
		e.t.Error("no decision saw the user without a grant")
	}
}
