package web

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
)

// Each sign-in the limits refuse is told to Deps.RateLimited with the
// name of the limit that refused it: the account's, or the address's.
func TestSignInRefusalsAreReported(t *testing.T) {
	t.Parallel()
	e := newSignInEnv(t, PasswordChecks{})
	var mu sync.Mutex
	var got []string
	e.h.rateLimited = func(limit string) { mu.Lock(); got = append(got, limit); mu.Unlock() }
	e.user(t, "ada@example.com", "ada's password")
	for i := range 10 {
		e.signIn(fmt.Sprintf("10.2.0.%d:1", i+1), "ada@example.com", "guess")
	}
	if res := e.signIn("10.2.1.1:1", "ada@example.com", "guess"); res.Code != http.StatusTooManyRequests {
		t.Fatalf("11th guess at one account: %d, want 429", res.Code)
	}
	for i := range 20 {
		e.signIn(fmt.Sprintf("[2001:db8:9:1::%x]:1", i+1), fmt.Sprintf("g%d@example.com", i), "x")
	}
	if res := e.signIn("[2001:db8:9:1::ff]:1", "other@example.com", "x"); res.Code != http.StatusTooManyRequests {
		t.Fatalf("21st attempt from one /64: %d, want 429", res.Code)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, []string{"signin-account", "signin"}) {
		t.Errorf("reported %v, want [signin-account signin]", got)
	}
}
