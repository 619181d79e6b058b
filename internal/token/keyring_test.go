package token

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/grantd/grantd"
)

const testTTL = 30 * time.Minute

var algs = []string{AlgES256, AlgRS256, AlgEdDSA}

func testMaster(b byte) []byte { return bytes.Repeat([]byte{b}, MasterKeySize) }

func newTestKeyring(t testing.TB, store KeyStore, clk *clock, alg string) *Keyring {
	t.Helper()
	r, err := NewKeyring(KeyringConfig{
		Store:        store,
		MasterKey:    testMaster(1),
		Algorithm:    alg,
		Now:          clk.Now,
		MaxAccessTTL: testTTL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustLoad(t testing.TB, r *Keyring) {
	t.Helper()
	if err := r.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// jwksKids answers the kids in the keyring's JWKS, parsed as a client would.
func jwksKids(t testing.TB, r *Keyring) []string {
	t.Helper()
	b, err := r.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("JWKS %s: %v", b, err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	slices.Sort(kids)
	return kids
}

func sortedKids(kids ...string) []string {
	kids = slices.Clone(kids)
	slices.Sort(kids)
	return kids
}

func TestNewKeyringRejectsBadConfig(t *testing.T) {
	t.Parallel()
	good := KeyringConfig{Store: newMemKeys(), MasterKey: testMaster(1), MaxAccessTTL: time.Hour}
	tests := []struct {
		name   string
		change func(*KeyringConfig)
	}{
		{"no store", func(c *KeyringConfig) { c.Store = nil }},
		{"short master key", func(c *KeyringConfig) { c.MasterKey = c.MasterKey[:16] }},
		{"unknown algorithm", func(c *KeyringConfig) { c.Algorithm = "HS256" }},
		{"no max TTL", func(c *KeyringConfig) { c.MaxAccessTTL = 0 }},
		{"negative grace", func(c *KeyringConfig) { c.RetireGrace = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			if _, err := NewKeyring(c); err == nil {
				t.Error("want an error")
			}
		})
	}
	if _, err := NewKeyring(good); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func TestLoadFirstStartCreatesOneKey(t *testing.T) {
	t.Parallel()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			store, clk := newMemKeys(), newClock()
			r := newTestKeyring(t, store, clk, alg)
			mustLoad(t, r)

			keys, _ := store.ListSigningKeys(context.Background())
			if len(keys) != 1 {
				t.Fatalf("%d keys after first Load, want 1", len(keys))
			}
			k := keys[0]
			if k.Algorithm != alg || !k.ActiveAt.Equal(clk.Now()) || k.RetiredAt != nil || k.ExpiresAt != nil {
				t.Errorf("first key = %+v, want %s active now, not retired", k, alg)
			}
			if _, err := r.Sign(testClaims(clk.Now())); err != nil {
				t.Errorf("Sign after first Load: %v", err)
			}

			// A periodic reload with nothing changed rereads the list
			// and neither writes nor rebuilds anything.
			snap := r.snap.Load()
			lists, creates, updates := store.counts()
			clk.Advance(time.Hour)
			mustLoad(t, r)
			lists2, creates2, updates2 := store.counts()
			if lists2 != lists+1 || creates2 != creates || updates2 != updates {
				t.Errorf("reload: lists %d→%d, creates %d→%d, updates %d→%d; want one list and no writes",
					lists, lists2, creates, creates2, updates, updates2)
			}
			if r.snap.Load() != snap {
				t.Error("reload with unchanged keys rebuilt the snapshot")
			}
		})
	}
}

type failingStore struct{ KeyStore }

func (failingStore) ListSigningKeys(context.Context) ([]grantd.SigningKey, error) {
	return nil, errors.New("database is down")
}

// A reload that fails keeps the keys already loaded: signing goes on while
// the database is away.
func TestFailedReloadKeepsKeys(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, r)
	r.store = failingStore{store}
	if err := r.Load(context.Background()); err == nil {
		t.Fatal("Load with a failing store succeeded")
	}
	if _, err := r.Rotate(context.Background(), 0); err == nil {
		t.Fatal("Rotate with a failing store succeeded")
	}
	if _, err := r.List(context.Background()); err == nil {
		t.Fatal("List with a failing store succeeded")
	}
	if _, err := r.Verify(context.Background(), mustSign(t, r, testClaims(clk.Now()))); err != nil {
		t.Error(err)
	}
}

func TestSignBeforeLoad(t *testing.T) {
	t.Parallel()
	clk := newClock()
	r := newTestKeyring(t, newMemKeys(), clk, "")
	if _, err := r.Sign(testClaims(clk.Now())); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("Sign before Load: err = %v, want ErrNoSigningKey", err)
	}
	if _, err := r.Verify(context.Background(), "a.b.c"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify before Load: err = %v, want ErrInvalidToken", err)
	}
	if _, err := r.JWKS(); err == nil {
		t.Error("JWKS before Load: want an error")
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, r)
	oldKID := kidOf(t, mustSign(t, r, testClaims(clk.Now())))

	clk.Advance(time.Hour)
	before := mustSign(t, r, testClaims(clk.Now()))
	rotatedAt := clk.Now()
	newKey, err := r.Rotate(ctx, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !newKey.ActiveAt.Equal(rotatedAt.Add(10 * time.Minute)) {
		t.Errorf("new key ActiveAt = %v, want rotation time + 10m", newKey.ActiveAt)
	}

	// Published at once, signing later.
	if got, want := jwksKids(t, r), sortedKids(oldKID, newKey.ID); !slices.Equal(got, want) {
		t.Errorf("JWKS after rotate = %v, want %v", got, want)
	}
	if kid := kidOf(t, mustSign(t, r, testClaims(clk.Now()))); kid != oldKID {
		t.Errorf("right after rotate, kid %s signs, want the old %s", kid, oldKID)
	}

	old := store.get(oldKID)
	wantRetired := newKey.ActiveAt
	wantExpires := wantRetired.Add(testTTL + DefaultRetireGrace)
	if old.RetiredAt == nil || !old.RetiredAt.Equal(wantRetired) || old.ExpiresAt == nil || !old.ExpiresAt.Equal(wantExpires) {
		t.Fatalf("old key retired %v expires %v, want %v and %v", old.RetiredAt, old.ExpiresAt, wantRetired, wantExpires)
	}

	clk.Set(newKey.ActiveAt.Add(-time.Second))
	if kid := kidOf(t, mustSign(t, r, testClaims(clk.Now()))); kid != oldKID {
		t.Errorf("a second before activation, kid %s signs, want %s", kid, oldKID)
	}
	clk.Set(newKey.ActiveAt)
	if kid := kidOf(t, mustSign(t, r, testClaims(clk.Now()))); kid != newKey.ID {
		t.Errorf("at activation, kid %s signs, want the new %s", kid, newKey.ID)
	}
	if _, err := r.Verify(context.Background(), before); err != nil {
		t.Errorf("token signed before the rotation: %v", err)
	}

	// The old key stays published until ExpiresAt, then leaves.
	clk.Set(wantExpires.Add(-time.Second))
	if got, want := jwksKids(t, r), sortedKids(oldKID, newKey.ID); !slices.Equal(got, want) {
		t.Errorf("JWKS just before the old key expires = %v, want %v", got, want)
	}
	if _, err := r.Verify(context.Background(), before); err != nil {
		t.Errorf("old token just before its key expires: %v", err)
	}
	clk.Set(wantExpires)
	if got, want := jwksKids(t, r), []string{newKey.ID}; !slices.Equal(got, want) {
		t.Errorf("JWKS once the old key expired = %v, want %v", got, want)
	}
	if _, err := r.Verify(context.Background(), before); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token of an expired key: err = %v, want ErrInvalidToken", err)
	}
	if kid := kidOf(t, mustSign(t, r, testClaims(clk.Now()))); kid != newKey.ID {
		t.Errorf("kid %s signs, want %s", kid, newKey.ID)
	}
}

// TestRotationCoversEveryToken checks the invariant behind ExpiresAt: the
// last token the old key signs, with the longest lifetime, expires while
// the key is still published.
func TestRotationCoversEveryToken(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, r)
	newKey, err := r.Rotate(context.Background(), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(newKey.ActiveAt.Add(-time.Nanosecond))
	c := testClaims(clk.Now())
	last := mustSign(t, r, c)
	clk.Set(c.ExpiresAt.Add(-time.Second))
	got, err := r.Verify(context.Background(), last)
	if err != nil {
		t.Fatalf("last token of the old key, a second before it expires: %v", err)
	}
	if err := got.Valid(clk.Now(), c.Issuer); err != nil {
		t.Errorf("Valid: %v", err)
	}
}

func TestRotationSeenByOtherNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clk := newMemKeys(), newClock()
	server := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, server)
	oldKID := kidOf(t, mustSign(t, server, testClaims(clk.Now())))

	// `grantd keys rotate` runs in another process on the same database.
	cli := newTestKeyring(t, store, clk, AlgES256)
	newKey, err := cli.Rotate(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jwksKids(t, server), []string{oldKID}; !slices.Equal(got, want) {
		t.Errorf("before reload the server publishes %v, want %v", got, want)
	}
	mustLoad(t, server)
	if got, want := jwksKids(t, server), sortedKids(oldKID, newKey.ID); !slices.Equal(got, want) {
		t.Errorf("after reload the server publishes %v, want %v", got, want)
	}
	clk.Advance(time.Minute)
	if kid := kidOf(t, mustSign(t, server, testClaims(clk.Now()))); kid != newKey.ID {
		t.Errorf("after activation the server signs with %s, want %s", kid, newKey.ID)
	}
}

func TestRotateImmediatelyTwiceInOneSecond(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgEdDSA)
	mustLoad(t, r)
	first, err := r.Rotate(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Rotate(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Stored times have whole seconds; the later key must still come
	// later, so it activates a second after the first rather than tie.
	if !first.ActiveAt.After(clk.Now().Add(-time.Second)) || !second.ActiveAt.After(first.ActiveAt) {
		t.Errorf("ActiveAt first %v, second %v: want ordered", first.ActiveAt, second.ActiveAt)
	}
	clk.Advance(2 * time.Second)
	if kid := kidOf(t, mustSign(t, r, testClaims(clk.Now()))); kid != second.ID {
		t.Errorf("kid %s signs, want the last rotated %s", kid, second.ID)
	}
	infos, _ := r.List(ctx)
	active := 0
	for _, in := range infos {
		if in.State == KeyActive {
			active++
		}
	}
	if len(infos) != 3 || active != 1 {
		t.Errorf("List = %+v, want 3 keys with 1 active", infos)
	}
}

// Two servers starting at once on an empty database both create a key.
// Load must settle on one signer and give the other a retirement, or it
// would stay in the JWKS forever.
func TestRacingFirstStartsSettle(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	a := newTestKeyring(t, store, clk, AlgES256)
	b := newTestKeyring(t, store, clk, AlgES256)
	now := clk.Now()
	for _, r := range []*Keyring{a, b} {
		k, err := r.newKey(now, now)
		if err != nil {
			t.Fatal(err)
		}
		store.put(k)
	}
	mustLoad(t, a)
	mustLoad(t, b)

	ka := kidOf(t, mustSign(t, a, testClaims(now)))
	kb := kidOf(t, mustSign(t, b, testClaims(now)))
	if ka != kb {
		t.Errorf("the nodes sign with %s and %s, want one key", ka, kb)
	}
	keys, _ := store.ListSigningKeys(context.Background())
	retired := 0
	for _, k := range keys {
		if k.RetiredAt != nil {
			retired++
			if k.ExpiresAt == nil || !k.ExpiresAt.Equal(k.RetiredAt.Add(testTTL+DefaultRetireGrace)) {
				t.Errorf("retired key %s expires %v", k.ID, k.ExpiresAt)
			}
		}
	}
	if retired != 1 {
		t.Errorf("%d keys retired, want 1", retired)
	}
}

// Keys written by processes that did not see each other (two rotations at
// once) lack retirements; Load gives each key the activation of the next.
func TestLoadRepairsRetirements(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgES256)
	now := clk.Now()
	var ids []string
	for _, at := range []time.Duration{0, 20 * time.Minute, 10 * time.Minute} {
		k, err := r.newKey(now, now.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		store.put(k)
		ids = append(ids, k.ID)
	}
	// A retirement already earlier than the rule's is kept.
	k := store.get(ids[2])
	early, earlyExp := now.Add(15*time.Minute), now.Add(time.Hour)
	k.RetiredAt, k.ExpiresAt = &early, &earlyExp
	store.put(k)

	mustLoad(t, r)
	tests := []struct {
		id          string
		wantRetired time.Time // zero: not retired
		wantExpires time.Time
	}{
		{ids[0], now.Add(10 * time.Minute), now.Add(10*time.Minute + testTTL + DefaultRetireGrace)},
		{ids[2], early, earlyExp},
		{ids[1], time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		k := store.get(tt.id)
		var gotRetired, gotExpires time.Time
		if k.RetiredAt != nil {
			gotRetired = *k.RetiredAt
		}
		if k.ExpiresAt != nil {
			gotExpires = *k.ExpiresAt
		}
		if !gotRetired.Equal(tt.wantRetired) || !gotExpires.Equal(tt.wantExpires) {
			t.Errorf("key activating at %v: retired %v expires %v, want %v and %v",
				k.ActiveAt.Sub(now), gotRetired, gotExpires, tt.wantRetired, tt.wantExpires)
		}
	}

	_, _, updates := store.counts()
	mustLoad(t, r)
	if _, _, again := store.counts(); again != updates {
		t.Errorf("a second Load wrote %d updates, want none", again-updates)
	}
}

// A pending key alone cannot sign: Load adds one that signs now, which
// retires when the pending one activates.
func TestLoadWithOnlyPendingKey(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	cli := newTestKeyring(t, store, clk, AlgES256)
	pending, err := cli.Rotate(context.Background(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, r)
	now := mustSign(t, r, testClaims(clk.Now()))
	if kidOf(t, now) == pending.ID {
		t.Fatal("the pending key signs before its time")
	}
	clk.Advance(time.Hour)
	if kid := kidOf(t, mustSign(t, r, testClaims(clk.Now()))); kid != pending.ID {
		t.Errorf("after an hour kid %s signs, want %s", kid, pending.ID)
	}
}

func TestAlgorithmChangeTakesEffectAtRotate(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	mustLoad(t, newTestKeyring(t, store, clk, AlgES256))

	r := newTestKeyring(t, store, clk, AlgRS256)
	mustLoad(t, r)
	if alg := headerOf(t, mustSign(t, r, testClaims(clk.Now())))["alg"]; alg != AlgES256 {
		t.Errorf("before rotation alg %v signs, want ES256", alg)
	}
	if _, err := r.Rotate(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if alg := headerOf(t, mustSign(t, r, testClaims(clk.Now())))["alg"]; alg != AlgRS256 {
		t.Errorf("after rotation alg %v signs, want RS256", alg)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgES256)

	if infos, err := r.List(ctx); err != nil || len(infos) != 0 {
		t.Fatalf("List on an empty store = %v, %v", infos, err)
	}
	if _, creates, _ := store.counts(); creates != 0 {
		t.Fatal("List created a key")
	}

	mustLoad(t, r)
	first, _ := r.List(ctx)
	clk.Advance(time.Minute)
	second, _ := r.Rotate(ctx, 0)
	clk.Advance(time.Minute)
	third, _ := r.Rotate(ctx, time.Hour)

	tests := []struct {
		at   time.Duration // after the third rotation
		want []KeyState    // third, second, first
	}{
		{0, []KeyState{KeyPending, KeyActive, KeyRetired}},
		{time.Hour, []KeyState{KeyActive, KeyRetired, KeyExpired}}, // the first retired 58 minutes earlier
		{time.Hour + testTTL + DefaultRetireGrace, []KeyState{KeyActive, KeyExpired, KeyExpired}},
	}
	start := clk.Now()
	for _, tt := range tests {
		clk.Set(start.Add(tt.at))
		infos, err := r.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		var states []KeyState
		for _, in := range infos {
			ids = append(ids, in.ID)
			states = append(states, in.State)
		}
		if want := []string{third.ID, second.ID, first[0].ID}; !slices.Equal(ids, want) {
			t.Errorf("at +%v: ids %v, want newest first %v", tt.at, ids, want)
		}
		if !slices.Equal(states, tt.want) {
			t.Errorf("at +%v: states %v, want %v", tt.at, states, tt.want)
		}
	}

	infos, _ := r.List(ctx)
	if in := infos[0]; in.Algorithm != AlgES256 || !in.ActiveAt.Equal(third.ActiveAt) || !in.RetiredAt.IsZero() || !in.ExpiresAt.IsZero() {
		t.Errorf("newest key = %+v", in)
	}
	if in := infos[1]; !in.RetiredAt.Equal(third.ActiveAt) || !in.ExpiresAt.Equal(third.ActiveAt.Add(testTTL+DefaultRetireGrace)) {
		t.Errorf("retired key = %+v", in)
	}
	b, _ := json.Marshal(infos[0])
	if bytes.Contains(b, []byte("retired_at")) {
		t.Errorf("unset times are not omitted: %s", b)
	}
}

func TestPrivateKeysEncryptedAtRest(t *testing.T) {
	t.Parallel()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			store, clk := newMemKeys(), newClock()
			r := newTestKeyring(t, store, clk, alg)
			mustLoad(t, r)
			row := r.snap.Load().rows[0]
			k := r.snap.Load().keys[0]
			var priv any = k.ec
			switch {
			case k.rsa != nil:
				priv = k.rsa
			case k.ed != nil:
				priv = k.ed
			}
			der, err := x509.MarshalPKCS8PrivateKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(row.PrivateEnc, der) || bytes.Contains(row.PrivateEnc, der[len(der)-32:]) {
				t.Error("the stored private key is not encrypted")
			}
			opened, err := Open(testMaster(1), row.PrivateEnc, []byte(row.ID))
			if err != nil || !bytes.Equal(opened, der) {
				t.Errorf("Open(stored) = %v: want the PKCS#8 DER", err)
			}
			var jwk jose.JSONWebKey
			if err := json.Unmarshal(row.PublicJWK, &jwk); err != nil || !jwk.IsPublic() || jwk.KeyID != row.ID || jwk.Algorithm != alg {
				t.Errorf("stored PublicJWK %s: %v", row.PublicJWK, err)
			}

			wrong, err := NewKeyring(KeyringConfig{Store: store, MasterKey: testMaster(2), Algorithm: alg, Now: clk.Now, MaxAccessTTL: testTTL})
			if err != nil {
				t.Fatal(err)
			}
			if err := wrong.Load(context.Background()); err == nil {
				t.Error("Load with the wrong master key succeeded")
			}
			if _, err := wrong.Rotate(context.Background(), 0); err == nil {
				t.Error("Rotate with the wrong master key succeeded")
			}
			if keys, _ := store.ListSigningKeys(context.Background()); len(keys) != 1 {
				t.Errorf("the wrong master key added keys: %d stored", len(keys))
			}
		})
	}
}

// The database is not trusted with key material: a sealed private key
// moved to another row does not open, and a public key written into a
// row is ignored in favour of the one derived from the sealed private key.
func TestStoredKeysAreAuthenticated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, r)
	second, err := r.Rotate(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	first := r.snap.Load().rows[0]

	t.Run("public key replaced", func(t *testing.T) {
		store := newMemKeys()
		attacker := newTestKeyring(t, newMemKeys(), clk, AlgES256)
		mustLoad(t, attacker)
		row := first
		row.PublicJWK = attacker.snap.Load().rows[0].PublicJWK
		store.put(row)
		victim := newTestKeyring(t, store, clk, AlgES256)
		mustLoad(t, victim)
		forged := joseSign(t, jose.ES256, attacker.snap.Load().keys[0].ec, row.ID, "at+jwt", claimsJSON(t, testClaims(clk.Now())))
		if _, err := victim.Verify(context.Background(), forged); err == nil {
			t.Error("a token signed with a key from the PublicJWK column verified")
		}
		if got := jwksKids(t, victim); !slices.Equal(got, []string{row.ID}) {
			t.Errorf("JWKS kids = %v", got)
		}
		b, _ := victim.JWKS()
		if bytes.Contains(b, attacker.snap.Load().keys[0].jwk[:40]) {
			t.Error("the JWKS serves the public key from the PublicJWK column")
		}
	})
	t.Run("sealed key moved to another row", func(t *testing.T) {
		store := newMemKeys()
		moved := second
		moved.PrivateEnc = first.PrivateEnc
		store.put(first)
		store.put(moved)
		if err := newTestKeyring(t, store, clk, AlgES256).Load(ctx); err == nil {
			t.Error("Load accepted a sealed key under another kid")
		}
	})
	t.Run("algorithm changed", func(t *testing.T) {
		store := newMemKeys()
		row := first
		row.Algorithm = AlgRS256
		store.put(row)
		if err := newTestKeyring(t, store, clk, AlgES256).Load(ctx); err == nil {
			t.Error("Load accepted an ECDSA key labelled RS256")
		}
	})
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			store, clk := newMemKeys(), newClock()
			r := newTestKeyring(t, store, clk, alg)
			mustLoad(t, r)
			b, err := r.JWKS()
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(b, &doc); err != nil || len(doc.Keys) != 1 {
				t.Fatalf("JWKS %s: %v", b, err)
			}
			got := doc.Keys[0]
			want := map[string][]string{
				AlgES256: {"alg", "crv", "kid", "kty", "use", "x", "y"},
				AlgRS256: {"alg", "e", "kid", "kty", "n", "use"},
				AlgEdDSA: {"alg", "crv", "kid", "kty", "use", "x"},
			}[alg]
			var names []string
			for name := range got {
				names = append(names, name)
			}
			slices.Sort(names)
			if !slices.Equal(names, want) {
				t.Errorf("JWK members %v, want %v (public only)", names, want)
			}
			if got["alg"] != alg || got["use"] != "sig" || got["kid"] != store.keysIDs()[0] {
				t.Errorf("JWK %v", got)
			}

			again, _ := r.JWKS()
			if &again[0] != &b[0] {
				t.Error("JWKS rebuilt its bytes without a change")
			}
		})
	}
}

func (m *memKeys) keysIDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id := range m.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
