package web

// The sign-in flood (issue 7, item 2): the real gate and limits of the
// pages, in process, with the password check replaced by one the test can
// hold in its slot.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/password"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/session"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
)

var cheap = password.Params{Time: 1, Memory: 1024, Threads: 1, KeyLen: 32}

// signInEnv is the pages' handler on a real store, on a clock the test
// moves.
type signInEnv struct {
	h     *handler
	store grantd.Store
	clock *testenv.Clock
}

func newSignInEnv(t *testing.T, checks PasswordChecks) *signInEnv {
	t.Helper()
	return newSignInEnvParams(t, cheap, checks)
}

// newSignInEnvParams is newSignInEnv with the password cost params.
func newSignInEnvParams(t *testing.T, params password.Params, checks PasswordChecks) *signInEnv {
	t.Helper()
	st, _ := testenv.Store(t)
	clock := testenv.NewClock()
	keys := testenv.Keyring(t, st, "", clock.Now, 30*time.Minute)
	p, err := oauth.NewProvider(oauth.Deps{
		Config: oauth.Config{Issuer: "http://grantd.test"}, Store: st, Keys: keys,
		Catalog: testenv.Catalog(t, []grantd.Scope{{ID: grantd.ScopeAdmin, Name: "Admin", Description: "Admin."}}), Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	hh, err := New(Deps{Provider: p, PasswordParams: params, PasswordChecks: checks})
	if err != nil {
		t.Fatal(err)
	}
	return &signInEnv{h: hh.(*handler), store: st, clock: clock}
}

func (e *signInEnv) user(t *testing.T, email, pw string) grantd.User {
	t.Helper()
	return testenv.User(t, e.store, email, password.Hash(pw, cheap), e.clock.Now())
}

// signIn posts the sign-in form from the address remote.
func (e *signInEnv) signIn(remote, email, pw string) *httptest.ResponseRecorder {
	const csrf = "0123456789012345678901234567890123456789012"
	form := url.Values{"csrf_token": {csrf}, "email": {email}, "password": {pw}}
	r := httptest.NewRequest("POST", "http://grantd.test/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: "grantd_csrf", Value: csrf})
	r.RemoteAddr = remote
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

// get requests path with the session cookie.
func (e *signInEnv) get(ctx context.Context, path string, cookie *http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequestWithContext(ctx, "GET", "http://grantd.test"+path, nil)
	r.AddCookie(cookie)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

// holder is a password check that holds every password starting with
// "flood" in its slot until released, and records the order checks
// started in.
type holder struct {
	entered chan string
	release chan struct{}
	mu      sync.Mutex
	order   []string
}

func newHolder() *holder {
	return &holder{entered: make(chan string, 1000), release: make(chan struct{})}
}

func (h *holder) verify(pw, phc string) (bool, error) {
	h.mu.Lock()
	h.order = append(h.order, pw)
	h.mu.Unlock()
	if strings.HasPrefix(pw, "flood") {
		h.entered <- pw
		<-h.release
	}
	return password.Verify(pw, phc)
}

func (h *holder) started() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.order...)
}

// waitFor polls cond with a generous bound: what it waits for happens in
// microseconds unless the code under test is broken.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// recv answers the next value of ch, with a generous bound.
func recv[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("gave up waiting for %s", what)
		panic("unreachable")
	}
}

func (g *gate) queued(lane int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting[lane])
}

// TestSignInFlood performs the attack of the audit: many concurrent wrong
// sign-ins from many addresses, while a signed-in person uses the pages
// and another person signs in. The flood's surplus is answered 503 at
// once instead of queueing; the person's session never waits for a
// password check; and the person signing in, from an address that has
// not been failing, is checked before the flood's queued attempts.
func TestSignInFlood(t *testing.T) {
	t.Parallel()
	hold := newHolder()
	const slots, queue, attackers = 1, 4, 60
	e := newSignInEnv(t, PasswordChecks{Slots: slots, Queue: queue, MaxWait: 5 * time.Minute, Verify: hold.verify})
	ada := e.user(t, "ada@example.com", "ada's password")
	e.user(t, "bob@example.com", "bob's password")

	// Ada signed in before the flood.
	res := e.signIn("192.0.2.1:1", "ada@example.com", "ada's password")
	if res.Code != http.StatusSeeOther {
		t.Fatalf("Ada's sign-in: status %d, want 303", res.Code)
	}
	var cookie *http.Cookie
	for _, c := range res.Result().Cookies() {
		if c.Name == session.CookieName {
			cookie = c
		}
	}
	if cookie == nil || !token.HasPrefix(cookie.Value, token.PrefixSession) {
		t.Fatal("no session cookie after sign-in")
	}

	// Each attacking address has failed before, as every one of a
	// sustained flood's has after its first attempt.
	addr := func(i int) string { return fmt.Sprintf("10.0.%d.%d:4000", i/250, i%250+1) }
	for i := range attackers {
		if res := e.signIn(addr(i), fmt.Sprintf("guess%d@example.com", i), "wrong"); res.Code != http.StatusBadRequest {
			t.Fatalf("attacker %d's first attempt: status %d, want 400", i, res.Code)
		}
	}

	// The flood: every attacker at once, each for another account, so
	// that no per-account or per-address limit applies.
	results := make(chan *httptest.ResponseRecorder, attackers)
	for i := range attackers {
		go func() {
			results <- e.signIn(addr(i), fmt.Sprintf("victim%d@example.com", i), fmt.Sprintf("flood%d", i))
		}()
	}
	// One attempt holds the slot and `queue` wait; all the others are
	// answered at once, while the slot is still held.
	recv(t, "an attempt to hold the slot", hold.entered)
	for i := range attackers - slots - queue {
		res := recv(t, "an answer to the flood while the slot is held", results)
		if res.Code != http.StatusServiceUnavailable || res.Header().Get("Retry-After") == "" {
			t.Fatalf("answer %d to the flood while the slot is held: status %d, Retry-After %q; want 503 with Retry-After", i+1, res.Code, res.Header().Get("Retry-After"))
		}
		if !strings.Contains(res.Body.String(), "Too many sign-ins right now") {
			t.Errorf("the 503 page does not explain itself:\n%s", res.Body)
		}
	}
	if n := e.h.checks.queued(laneFailed); n != queue {
		t.Fatalf("%d attempts wait in the lane of failing addresses, want %d", n, queue)
	}

	// Ada's session works throughout: no page but the sign-in form waits
	// for a password check.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, path := range []string{"/apps", "/developer", "/login", "/"} {
		res := e.get(ctx, path, cookie)
		if ctx.Err() != nil {
			t.Fatalf("GET %s with a session waited for the flood", path)
		}
		if res.Code != http.StatusOK && res.Code != http.StatusSeeOther {
			t.Errorf("GET %s with Ada's session during the flood: status %d", path, res.Code)
		}
		if strings.Contains(res.Header().Get("Location"), "/login") {
			t.Errorf("GET %s with Ada's session sent her to sign in", path)
		}
	}
	if res := e.get(ctx, "/apps", cookie); !strings.Contains(res.Body.String(), ada.Email) {
		t.Errorf("/apps during the flood does not show Ada signed in:\n%s", res.Body)
	}

	// Bob signs in from an address that has not been failing: he waits in
	// the first lane, and the slot freed next is his, whatever waits in
	// the other.
	bob := make(chan *httptest.ResponseRecorder, 1)
	go func() { bob <- e.signIn("198.51.100.7:5000", "bob@example.com", "bob's password") }()
	waitFor(t, "Bob's sign-in to queue", func() bool { return e.h.checks.queued(laneClean) == 1 })
	hold.release <- struct{}{} // the held attempt finishes
	res = recv(t, "Bob's sign-in", bob)
	if res.Code != http.StatusSeeOther {
		t.Fatalf("Bob's sign-in during the flood: status %d, want 303\n%s", res.Code, res.Body)
	}
	floods := 0
	for _, pw := range hold.started() {
		if pw == "bob's password" {
			break
		}
		if strings.HasPrefix(pw, "flood") {
			floods++
		}
	}
	if floods != 1 {
		t.Errorf("%d of the flood's attempts were checked before Bob's, want only the one that held the slot", floods)
	}
	if n := e.h.checks.queued(laneFailed); n != queue-1 {
		t.Errorf("Bob's check went ahead of %d queued attempts; want the first waiter of the failing lane only (%d left, got %d)", queue-n, queue-1, n)
	}

	// The queued attempts are checked in turn and fail.
	close(hold.release)
	for range slots + queue - 1 {
		if res := recv(t, "a queued attempt", results); res.Code != http.StatusBadRequest {
			t.Errorf("a queued attempt: status %d, want 400", res.Code)
		}
	}
}

// TestSignInQueueWait: a sign-in that cannot get a slot within MaxWait is
// answered 503, not left waiting for the flood to end.
func TestSignInQueueWait(t *testing.T) {
	t.Parallel()
	hold := newHolder()
	e := newSignInEnv(t, PasswordChecks{Slots: 1, Queue: 10, MaxWait: 20 * time.Millisecond, Verify: hold.verify})
	held := make(chan *httptest.ResponseRecorder, 1)
	go func() { held <- e.signIn("10.0.0.1:1", "x@example.com", "flood") }()
	recv(t, "an attempt to hold the slot", hold.entered)
	res := e.signIn("10.0.0.2:1", "ada@example.com", "whatever")
	if res.Code != http.StatusServiceUnavailable || res.Header().Get("Retry-After") == "" {
		t.Fatalf("a sign-in waiting behind a held slot: status %d, Retry-After %q; want 503 with Retry-After", res.Code, res.Header().Get("Retry-After"))
	}
	if n := e.h.checks.queued(laneClean); n != 0 {
		t.Errorf("the sign-in that gave up is still queued (%d)", n)
	}
	// Refused unchecked, it spent nothing of its address's budget.
	if d := e.h.signIn.Peek(context.Background(), ratelimit.ParseAddress("10.0.0.2:1")); d.Remaining != 20 {
		t.Errorf("the refused sign-in spent its address's budget: %+v", d)
	}
	close(hold.release)
	if res := recv(t, "the held attempt", held); res.Code != http.StatusBadRequest {
		t.Errorf("the held attempt: status %d, want 400", res.Code)
	}
}

// TestSignInPerAccount performs the distributed guess of one password:
// every attempt comes from another address, and the account's limit
// stops them all the same; a success then clears it.
func TestSignInPerAccount(t *testing.T) {
	t.Parallel()
	e := newSignInEnv(t, PasswordChecks{})
	e.user(t, "ada@example.com", "ada's password")
	for i := range 10 {
		if res := e.signIn(fmt.Sprintf("10.1.0.%d:1", i+1), "ADA@example.com", "guess"); res.Code != http.StatusBadRequest {
			t.Fatalf("guess %d: status %d, want 400", i+1, res.Code)
		}
	}
	res := e.signIn("10.1.1.1:1", "ada@example.com", "guess")
	if res.Code != http.StatusTooManyRequests || res.Header().Get("RateLimit-Limit") != "10" || res.Header().Get("Retry-After") == "" {
		t.Fatalf("the 11th guess, from yet another address: status %d, RateLimit-Limit %q; want 429 naming the limit of 10", res.Code, res.Header().Get("RateLimit-Limit"))
	}
	e.clock.Advance(time.Minute)
	if res := e.signIn("192.0.2.1:1", "ada@example.com", "ada's password"); res.Code != http.StatusSeeOther {
		t.Fatalf("Ada a minute later: status %d, want 303", res.Code)
	}
	for i := range 10 {
		if res := e.signIn("10.1.2.1:1", "ada@example.com", "typo"); res.Code != http.StatusBadRequest {
			t.Fatalf("after Ada's sign-in, attempt %d: status %d, want 400 (her success cleared the count)", i+1, res.Code)
		}
	}
}

// TestSignInIPv6 performs the rotation attack: an attacker holding a /48
// moves through its /64s (and the addresses within one), and still meets
// a limit; successes give their attempt back.
func TestSignInIPv6(t *testing.T) {
	t.Parallel()
	e := newSignInEnv(t, PasswordChecks{})
	e.user(t, "ada@example.com", "ada's password")
	// Addresses of one /64 are one key.
	for i := range 20 {
		if res := e.signIn(fmt.Sprintf("[2001:db8:1:1::%x]:1", i+1), fmt.Sprintf("g%d@example.com", i), "x"); res.Code != http.StatusBadRequest {
			t.Fatalf("attempt %d: status %d, want 400", i+1, res.Code)
		}
	}
	if res := e.signIn("[2001:db8:1:1:ffff::1]:1", "ada@example.com", "ada's password"); res.Code != http.StatusTooManyRequests || res.Header().Get("RateLimit-Limit") != "20" {
		t.Fatalf("another address of the same /64: status %d, limit %q; want 429 with the /64's limit of 20", res.Code, res.Header().Get("RateLimit-Limit"))
	}
	// Other /64s of the /48 share its budget of 60.
	for i := range 40 {
		if res := e.signIn(fmt.Sprintf("[2001:db8:1:%x::1]:1", i+2), fmt.Sprintf("h%d@example.com", i), "x"); res.Code != http.StatusBadRequest {
			t.Fatalf("/64 number %d: status %d, want 400", i+2, res.Code)
		}
	}
	res := e.signIn("[2001:db8:1:ff::1]:1", "ada@example.com", "ada's password")
	if res.Code != http.StatusTooManyRequests || res.Header().Get("RateLimit-Limit") != "60" {
		t.Fatalf("a fresh /64 of the spent /48: status %d, limit %q; want 429 with the /48's limit of 60", res.Code, res.Header().Get("RateLimit-Limit"))
	}
	// Another /48 is not affected, and its successes cost nothing.
	for i := range 30 {
		if res := e.signIn("[2001:db8:2::1]:1", "ada@example.com", "ada's password"); res.Code != http.StatusSeeOther {
			t.Fatalf("sign-in %d from another /48: status %d, want 303", i+1, res.Code)
		}
	}
}
