package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/grantd/grantd"
)

// The tests of this file are the attack of issue 7 item 4 on one store
// shared by two keyrings, two "nodes": node A rotates with --activate-in
// 0 and signs at once; node B, whose periodic reload has not run, meets
// the new kid first in a token.

// lists answers how many times the keyrings have read the keys.
func (m *memKeys) listCount() int {
	lists, _, _ := m.counts()
	return lists
}

// rotateNow rotates on a with activate-in 0 and moves the clock to the
// new key's activation (a second later when the old key activated in the
// same second), so that a signs with it.
func rotateNow(t *testing.T, a *Keyring, clk *clock) grantd.SigningKey {
	t.Helper()
	k, err := a.Rotate(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if clk.Now().Before(k.ActiveAt) {
		clk.Set(k.ActiveAt)
	}
	return k
}

// forgedKid answers a well-formed access token whose kid is made up and
// whose signature is a stranger's: what an attacker sends for free.
func forgedKid(t testing.TB, stranger *ecdsa.PrivateKey, kid string, now time.Time) string {
	return joseSign(t, jose.ES256, stranger, kid, "at+jwt", claimsJSON(t, testClaims(now)))
}

func TestUnknownKidReloadsBeforeRefusing(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	a := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, a)
	b := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, b)

	k := rotateNow(t, a, clk)
	tok := mustSign(t, a, testClaims(clk.Now()))
	if kidOf(t, tok) != k.ID {
		t.Fatalf("A signs with %s, want the rotated key %s", kidOf(t, tok), k.ID)
	}
	if slices.Contains(jwksKids(t, b), k.ID) {
		t.Fatal("B publishes the new key before meeting it: the test proves nothing")
	}
	before := store.listCount()
	c, err := b.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("B refuses A's token of the new key: %v", err)
	}
	if diff := cmp.Diff(testClaims(clk.Now()), c); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if n := store.listCount() - before; n != 1 {
		t.Errorf("B read the keys %d times, want 1", n)
	}
	if got := jwksKids(t, b); !slices.Contains(got, k.ID) {
		t.Errorf("B's JWKS = %v after verifying, want it to hold %s", got, k.ID)
	}
	// B now signs with the new key too, and verifies it without reading.
	if kid := kidOf(t, mustSign(t, b, testClaims(clk.Now()))); kid != k.ID {
		t.Errorf("B signs with %s, want %s", kid, k.ID)
	}
	before = store.listCount()
	if _, err := b.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if n := store.listCount() - before; n != 0 {
		t.Errorf("verifying a known kid read the keys %d times, want 0", n)
	}
}

// A flood of tokens with made-up kids, one after another and all at once,
// costs one read of the keys per interval, and a real rotation is still
// picked up in the next interval.
func TestUnknownKidFloodReloadsOncePerInterval(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	a := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, a)
	b := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, b)
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	flood := func() {
		t.Helper()
		var wg sync.WaitGroup
		for g := range 20 {
			wg.Go(func() {
				for i := range 50 {
					tok := forgedKid(t, stranger, fmt.Sprintf("made-up-%d-%d", g, i), clk.Now())
					if _, err := b.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
						t.Errorf("a made-up kid: err = %v, want ErrInvalidToken", err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	start := store.listCount()
	flood()
	if n := store.listCount() - start; n != 1 {
		t.Fatalf("1000 made-up kids read the keys %d times, want 1", n)
	}
	clk.Advance(unknownKidInterval - time.Millisecond)
	flood()
	if n := store.listCount() - start; n != 1 {
		t.Fatalf("1000 more within the interval: %d reads in all, want 1", n)
	}
	clk.Advance(time.Millisecond)
	flood()
	if n := store.listCount() - start; n != 2 {
		t.Fatalf("1000 more in the next interval: %d reads in all, want 2", n)
	}

	// The flood cannot keep a real key out beyond the interval.
	k := rotateNow(t, a, clk)
	clk.Advance(unknownKidInterval)
	tok := mustSign(t, a, testClaims(clk.Now()))
	if _, err := b.Verify(context.Background(), tok); err != nil || kidOf(t, tok) != k.ID {
		t.Fatalf("after the flood, the new key's token (kid %s, want %s): %v", kidOf(t, tok), k.ID, err)
	}
}

// heldKeys is a KeyStore whose reads wait for release while hold is set,
// so that a test can have callers arrive while a reload is in progress.
type heldKeys struct {
	*memKeys
	entered chan struct{} // one value each time a read starts waiting
	release chan struct{} // closed to let reads through
}

func newHeldKeys(m *memKeys) *heldKeys {
	return &heldKeys{memKeys: m, entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (h *heldKeys) ListSigningKeys(ctx context.Context) ([]grantd.SigningKey, error) {
	h.entered <- struct{}{}
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.memKeys.ListSigningKeys(ctx)
}

// Callers that meet the new kid while its reload is in progress wait for
// that reload rather than start another or give up: all of them verify,
// with one read.
func TestUnknownKidConcurrentCallersShareOneReload(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	a := newTestKeyring(t, store, clk, AlgEdDSA)
	mustLoad(t, a)
	b := newTestKeyring(t, store, clk, AlgEdDSA)
	mustLoad(t, b)
	held := newHeldKeys(store)
	b.store = held

	rotateNow(t, a, clk)
	tok := mustSign(t, a, testClaims(clk.Now()))
	before := store.listCount()
	const callers = 50
	var ready, done sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		ready.Add(1)
		done.Go(func() {
			ready.Done()
			_, err := b.Verify(context.Background(), tok)
			errs <- err
		})
	}
	ready.Wait()
	select {
	case <-held.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("no reload started")
	}
	close(held.release)
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a caller waiting for the reload: %v", err)
		}
	}
	if n := store.listCount() - before; n != 1 {
		t.Errorf("%d callers read the keys %d times, want 1", callers, n)
	}
}

// A caller does not wait for a reload longer than its context allows,
// and a reload that fails leaves the keys as they were: the token is
// refused (not an error of the server), and the keys loaded before keep
// verifying.
func TestUnknownKidReloadCanceledOrFailing(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	a := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, a)
	b := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, b)
	old := mustSign(t, b, testClaims(clk.Now()))
	rotateNow(t, a, clk)
	tok := mustSign(t, a, testClaims(clk.Now()))

	held := newHeldKeys(store)
	b.store = held
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		_, err := b.Verify(ctx, tok)
		result <- err
	}()
	select {
	case <-held.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("no reload started")
	}
	cancel()
	select {
	case err := <-result:
		if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "context canceled") {
			t.Errorf("canceled wait: err = %v, want ErrInvalidToken saying why", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Verify kept waiting for the reload after its context ended")
	}
	// The reload itself goes on, for the callers that still wait, and
	// its result serves the next token of the key.
	b.kidMu.Lock()
	rl := b.kidReload
	b.kidMu.Unlock()
	if rl == nil {
		t.Fatal("the reload stopped with the context of the caller that started it")
	}
	close(held.release)
	<-rl.done
	if _, err := b.Verify(context.Background(), tok); err != nil {
		t.Errorf("after the reload: %v", err)
	}

	clk.Advance(unknownKidInterval)
	rotateNow(t, a, clk)
	next := mustSign(t, a, testClaims(clk.Now()))
	b.store = failingStore{store}
	_, err := b.Verify(context.Background(), next)
	if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "database is down") {
		t.Errorf("reload failing: err = %v, want ErrInvalidToken saying why", err)
	}
	if _, err := b.Verify(context.Background(), old); err != nil {
		t.Errorf("the keys loaded before the failed reload: %v", err)
	}
}

// A reload a token starts publishes only what a Load would: a key
// written into the database by someone without the master key, or one
// that has left publication, is neither published nor accepted, however
// the token names it.
func TestUnknownKidReloadPublishesOnlyPublishableKeys(t *testing.T) {
	t.Parallel()
	t.Run("key sealed with another master key", func(t *testing.T) {
		store, clk := newMemKeys(), newClock()
		b := newTestKeyring(t, store, clk, AlgES256)
		mustLoad(t, b)
		want := jwksKids(t, b)
		old := mustSign(t, b, testClaims(clk.Now()))

		// The attacker can write rows but lacks the master key: its
		// key is sealed with one of its own.
		attacker, err := NewKeyring(KeyringConfig{Store: newMemKeys(), MasterKey: testMaster(9), Now: clk.Now, MaxAccessTTL: testTTL})
		if err != nil {
			t.Fatal(err)
		}
		mustLoad(t, attacker)
		// Dated so that it would be published, with nothing to repair.
		row := attacker.snap.Load().rows[0]
		retired, expires := clk.Now(), clk.Now().Add(time.Hour)
		row.ActiveAt, row.RetiredAt, row.ExpiresAt = clk.Now().Add(-time.Hour), &retired, &expires
		store.put(row)
		forged := mustSign(t, attacker, testClaims(clk.Now()))

		if _, err := b.Verify(context.Background(), forged); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("a token of a key sealed with another master key: err = %v, want ErrInvalidToken", err)
		}
		if got := jwksKids(t, b); !slices.Equal(got, want) {
			t.Errorf("JWKS = %v after the reload, want %v", got, want)
		}
		if _, err := b.Verify(context.Background(), old); err != nil {
			t.Errorf("b's own key after the refused reload: %v", err)
		}
	})
	t.Run("expired key", func(t *testing.T) {
		store, clk := newMemKeys(), newClock()
		b := newTestKeyring(t, store, clk, AlgES256)
		mustLoad(t, b)
		want := jwksKids(t, b)

		// A key of the same deployment that retired long ago and has
		// left the JWKS (its row not yet deleted), and a token it
		// signed then.
		past := newClock()
		past.Set(clk.Now().Add(-24 * time.Hour))
		oldNode := newTestKeyring(t, newMemKeys(), past, AlgES256)
		mustLoad(t, oldNode)
		stale := mustSign(t, oldNode, testClaims(past.Now()))
		row := oldNode.snap.Load().rows[0]
		retired, expires := past.Now().Add(time.Hour), past.Now().Add(2*time.Hour)
		row.RetiredAt, row.ExpiresAt = &retired, &expires
		store.put(row)

		if _, err := b.Verify(context.Background(), stale); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("a token of an expired key: err = %v, want ErrInvalidToken", err)
		}
		if got := jwksKids(t, b); !slices.Equal(got, want) {
			t.Errorf("JWKS = %v after the reload, want %v", got, want)
		}
	})
}

// A token that fails a check needing no key costs no read, whatever its
// kid; neither does a kid the keyring holds but no longer publishes.
func TestUnknownKidNoReloadForMalformedTokens(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, r)
	k := r.snap.Load().keys[0]
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	payload := claimsJSON(t, testClaims(clk.Now()))
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	forged := forgedKid(t, stranger, "made-up", clk.Now())
	toks := map[string]string{
		"garbage":            "not.a.token",
		"typ JWT":            joseSign(t, jose.ES256, stranger, "made-up", "JWT", payload),
		"no typ":             joseSign(t, jose.ES256, stranger, "made-up", "", payload),
		"no kid":             joseSign(t, jose.ES256, stranger, "", "at+jwt", payload),
		"alg none":           enc(`{"alg":"none","kid":"made-up","typ":"at+jwt"}`) + "." + enc(string(payload)) + ".",
		"HS256":              joseSign(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "made-up", "at+jwt", payload),
		"two parts":          enc(`{"alg":"ES256","kid":"made-up","typ":"at+jwt"}`) + "." + enc(string(payload)),
		"newline in a token": forged[:20] + "\n" + forged[20:],
	}
	// Known, but past its publication: the keyring knows it is dead.
	retired := mustSign(t, r, testClaims(clk.Now()))
	if _, err := r.Rotate(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	clk.Advance(testTTL + DefaultRetireGrace + 2*time.Second)
	toks["expired kid "+k.id] = retired

	before := store.listCount()
	for name, tok := range toks {
		if _, err := r.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}
	if n := store.listCount() - before; n != 0 {
		t.Errorf("malformed tokens read the keys %d times, want 0", n)
	}
}
