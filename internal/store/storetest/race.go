package storetest

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

// racers is how many goroutines present the same single-use thing at once.
const racers = 50

// race runs f on racers goroutines released together and answers their
// errors, indexed by goroutine.
func race(f func(i int) error) []error {
	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one goroutine succeeded and every other
// one failed with loss, and answers the winner.
func (e env) oneWinner(what string, errs []error, loss error) int {
	e.t.Helper()
	winner, wins := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			winner = i
			wins++
		case !errors.Is(err, loss):
			e.t.Errorf("%s: goroutine %d: err = %v, want nil or %v", what, i, err, loss)
		}
	}
	if wins != 1 {
		e.t.Fatalf("%s: %d goroutines succeeded, want exactly 1", what, wins)
	}
	return winner
}

// testRaceRedeemAuthCode: one redemption wins; every loser is a second use
// and revokes what the winner issued.
func testRaceRedeemAuthCode(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	code := e.code("one", g)
	now := at(time.Second)

	errs := race(func(i int) error {
		_, err := oauth.RedeemAuthCode(e.ctx, e.s, code.Hash, now, issueFor(fmt.Sprintf("racer-%d", i), g, now, true))
		return err
	})
	winner := e.oneWinner("RedeemAuthCode", errs, grantd.ErrAlreadyUsed)

	name := fmt.Sprintf("racer-%d", winner)
	e.wantRevoked(true, "jti-"+name)
	e.wantRefresh(false, newRefresh(name, "fam-"+name, g, now))
	for i := range racers {
		if i != winner {
			e.wantRefresh(false, newRefresh(fmt.Sprintf("racer-%d", i), "", g, now))
		}
	}
}

// testRaceRotateRefreshToken: without grace, one rotation wins; every loser
// presents a rotated-out token, which is reuse and revokes the whole grant,
// the winner's successor included.
func testRaceRotateRefreshToken(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	_, rt := e.redeem("one", g, at(0), true)
	now := at(time.Minute)

	errs := race(func(i int) error {
		_, err := oauth.RotateRefreshToken(e.ctx, e.s, rt.Hash, now, 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
			return successor(old, fmt.Sprintf("racer-%d", i), now), nil
		}, nil)
		return err
	})
	winner := e.oneWinner("RotateRefreshToken", errs, grantd.ErrReused)

	won := successor(*rt, fmt.Sprintf("racer-%d", winner), now)
	e.wantRefresh(false, *rt, won)
	e.wantRevoked(true, rt.AccessJTI, won.AccessJTI)
	_, err := e.s.GetGrant(e.ctx, g.ID)
	e.ok(err, "get grant after reuse")
}

// testRaceRetryRefreshToken: a client's request and its retries racing
// with grace (the answer of the first was lost, or the client sent the
// same request twice): exactly one runs next, and every one of them gets
// that one successor; nothing is revoked.
func testRaceRetryRefreshToken(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	_, rt := e.redeem("one", g, at(0), true)
	now := at(time.Minute)

	var mu sync.Mutex
	nexts := 0
	answers := make([]grantd.RefreshToken, racers)
	errs := race(func(i int) error {
		var err error
		answers[i], err = oauth.RotateRefreshToken(e.ctx, e.s, rt.Hash, now, 5*time.Second, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
			mu.Lock()
			nexts++
			mu.Unlock()
			return successor(old, fmt.Sprintf("racer-%d", i), now), nil
		}, func(old, succ grantd.RefreshToken) error { return nil })
		return err
	})
	for i, err := range errs {
		if err != nil {
			e.t.Errorf("racer %d: %v", i, err)
		}
	}
	got, err := e.s.GetRefreshToken(e.ctx, rt.Hash)
	e.ok(err, "get rotated token")
	if got.SuccessorHash == "" {
		e.t.Fatal("the token was not rotated")
	}
	for i, a := range answers {
		if a.Hash != got.SuccessorHash {
			e.t.Errorf("racer %d got successor %s, want the one successor %s", i, a.AccessJTI, answers[0].AccessJTI)
		}
	}
	// PostgreSQL may run a transaction again, and next with it; the
	// successors of all but the committed run were never stored.
	for i := range racers {
		want := successor(*rt, fmt.Sprintf("racer-%d", i), now)
		e.wantRefresh(want.Hash == got.SuccessorHash, want)
	}
	if nexts == 0 {
		e.t.Error("next never ran")
	}
	e.wantRevoked(false, rt.AccessJTI, answers[0].AccessJTI)
}

// testConcurrentWriters: writers on different rows all succeed; contention
// is the backend's to absorb (no "database is locked" for the caller).
func testConcurrentWriters(e env) {
	u := e.user(1)
	c := e.client(newClient("client-1", u))
	g := e.grant(1, u, c)
	tokens := make([]grantd.RefreshToken, racers)
	for i := range racers {
		_, rt := e.redeem(fmt.Sprintf("w-%d", i), g, at(0), true)
		tokens[i] = *rt
	}
	now := at(time.Minute)
	errs := race(func(i int) error {
		_, err := oauth.RotateRefreshToken(e.ctx, e.s, tokens[i].Hash, now, 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
			return successor(old, fmt.Sprintf("w-%d-next", i), now), nil
		}, nil)
		if err != nil {
			return err
		}
		return e.s.RevokeJTI(e.ctx, fmt.Sprintf("jti-extra-%d", i), now.Add(time.Hour))
	})
	for i, err := range errs {
		if err != nil {
			e.t.Errorf("writer %d: %v", i, err)
		}
	}
	for i := range racers {
		e.wantRefresh(true, successor(tokens[i], fmt.Sprintf("w-%d-next", i), now))
		e.wantRevoked(true, fmt.Sprintf("jti-extra-%d", i))
	}
}
