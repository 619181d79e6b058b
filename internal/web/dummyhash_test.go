package web

import (
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/grantd/grantd/internal/password"
	"github.com/grantd/grantd/internal/testenv"
)

// TestDummyHashIsLazy: building the pages does not make the dummy hash
// (argon2id at a cost that takes Memory KiB); an unknown email, and an
// account without a password, are still checked against a real argon2id
// hash of the configured cost, so that they cost what a real account costs.
func TestDummyHashIsLazy(t *testing.T) {
	// Not parallel: it reads the process's allocation counter, which the
	// parallel tests would move (they start only after this one ends).
	const memKiB = 128 * 1024
	params := password.Params{Time: 1, Memory: memKiB, Threads: 1, KeyLen: 32}

	var mu sync.Mutex
	var checked []string
	verify := func(pw, phc string) (bool, error) {
		mu.Lock()
		checked = append(checked, phc)
		mu.Unlock()
		return password.Verify(pw, phc)
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	e := newSignInEnvParams(t, params, PasswordChecks{Verify: verify})
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew >= memKiB*1024/2 {
		t.Fatalf("building the pages allocated %d MiB: the dummy hash was made eagerly", grew>>20)
	}

	testenv.User(t, e.store, "nopassword@example.com", "", e.clock.Now())
	for i, email := range []string{"nobody@example.com", "nobody2@example.com", "nopassword@example.com"} {
		if res := e.signIn("192.0.2.1:1", email, "a guess"); res.Code != http.StatusBadRequest {
			t.Fatalf("sign-in %d: status %d, want 400", i, res.Code)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(checked) != 3 {
		t.Fatalf("%d password checks for 3 sign-ins, want 3", len(checked))
	}
	want := "$argon2id$v=19$m=131072,t=1,p=1$"
	for i, phc := range checked {
		if !strings.HasPrefix(phc, want) {
			t.Errorf("check %d ran against %q, want an argon2id hash of the configured cost (%s…)", i, phc, want)
		}
		if ok, err := password.Verify("a guess", phc); err != nil || ok {
			t.Errorf("check %d: the dummy hash verifies as %v, %v; want false, nil", i, ok, err)
		}
	}
	if checked[0] != checked[1] || checked[1] != checked[2] {
		t.Error("the dummy hash was made more than once")
	}
}
