package rs_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/grantd/grantd/rs"
)

// The JWKS is kept for its max-age (grantd sends 300 s), then refreshed
// by the next request, which does not wait for it.
func TestJWKSCachedForMaxAge(t *testing.T) {
	g := newGrantd(t)
	v := g.verifier(t, nil)
	verify(t, v, g.token(t, "read", apiAudience))
	verify(t, v, g.token(t, "read", apiAudience))
	if n := g.Fetches(); n != 1 {
		t.Fatalf("fetches = %d after two tokens, want 1", n)
	}
	g.Clock.Advance(5*time.Minute - time.Second)
	verify(t, v, g.token(t, "read", apiAudience))
	if n := g.Fetches(); n != 1 {
		t.Fatalf("fetches = %d before max-age, want 1", n)
	}
	g.Clock.Advance(time.Second)
	verify(t, v, g.token(t, "read", apiAudience))
	g.awaitFetches(t, 2)
}

// max-age is kept within one minute and one hour; without one, five
// minutes.
func TestJWKSMaxAgeBounds(t *testing.T) {
	tests := []struct {
		cacheControl string
		lifetime     time.Duration
	}{
		{"public, max-age=5", time.Minute},
		{"max-age=0", time.Minute},
		{"no-cache", time.Minute},
		{"no-store", time.Minute},
		{"public, max-age=600", 10 * time.Minute},
		{"max-age=86400", time.Hour},
		{"max-age=99999999999999999999", time.Hour},
		{"public", 5 * time.Minute},
		{"max-age=soon", 5 * time.Minute},
	}
	g := newGrantd(t)
	for _, tc := range tests {
		t.Run(tc.cacheControl, func(t *testing.T) {
			g.setJWKS(tc.cacheControl, 0)
			v := g.verifier(t, nil)
			start := g.Fetches()
			verify(t, v, g.token(t, "read", apiAudience))
			g.Clock.Advance(tc.lifetime - time.Second)
			verify(t, v, g.token(t, "read", apiAudience))
			if n := g.Fetches() - start; n != 1 {
				t.Fatalf("fetches = %d a second before %v, want 1", n, tc.lifetime)
			}
			g.Clock.Advance(time.Second)
			verify(t, v, g.token(t, "read", apiAudience))
			g.awaitFetches(t, start+2)
		})
	}
}

// A rotated key is fetched when a token names it, but at most once every
// ten seconds: tokens with made-up kids cannot make the Verifier hammer
// grantd.
func TestJWKSKeyRotationAndRateLimit(t *testing.T) {
	g := newGrantd(t)
	v := g.verifier(t, nil)
	old := g.token(t, "read", apiAudience)
	verify(t, v, old)
	if n := g.Fetches(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}

	// A key that signs at once: no cache has seen it.
	g.Clock.Advance(5 * time.Second)
	next, err := g.Keys.Rotate(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Keys.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	rotated := g.token(t, "read", apiAudience)
	if kid := headerKid(t, rotated); kid != next.ID {
		t.Fatalf("the new token's kid is %q, want the rotated key %q", kid, next.ID)
	}

	// Five seconds after the last fetch: too soon to fetch again.
	_, err = v.Verify(context.Background(), rotated)
	checkRefused(t, err, true)
	if n := g.Fetches(); n != 1 {
		t.Fatalf("fetches = %d within ten seconds of the last, want 1", n)
	}

	g.Clock.Advance(5 * time.Second)
	verify(t, v, rotated)
	if n := g.Fetches(); n != 2 {
		t.Fatalf("fetches = %d after the new kid, want 2", n)
	}
	// Tokens of the old key, still published, keep verifying.
	verify(t, v, old)

	// A hundred made-up kids, now and ten seconds later: one fetch each time.
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	garbage := func() {
		for i := range 100 {
			tok := sign(t, jose.JSONWebKey{Key: stranger, Algorithm: "ES256"}, "at+jwt", fmt.Sprintf("made-up-%d", i), g.claims())
			_, err := v.Verify(context.Background(), tok)
			checkRefused(t, err, true)
		}
	}
	g.Clock.Advance(10 * time.Second)
	garbage()
	if n := g.Fetches(); n != 3 {
		t.Fatalf("fetches = %d after 100 unknown kids, want 3", n)
	}
	garbage()
	g.Clock.Advance(9 * time.Second)
	garbage()
	if n := g.Fetches(); n != 3 {
		t.Fatalf("fetches = %d within ten seconds, want 3", n)
	}
	g.Clock.Advance(time.Second)
	garbage()
	if n := g.Fetches(); n != 4 {
		t.Fatalf("fetches = %d ten seconds later, want 4", n)
	}
}

// A token that fails a check needing no key (typ, kid, alg) costs no
// fetch, even on a Verifier that has none yet.
func TestJWKSNotFetchedForMalformedTokens(t *testing.T) {
	g := newGrantd(t)
	v := g.verifier(t, nil)
	key := g.signingKey(t)
	for _, tok := range []string{
		"garbage",
		sign(t, key, "JWT", key.KeyID, g.claims()),
		sign(t, key, "at+jwt", "", g.claims()),
		unsigned(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": key.KeyID}, g.claims()),
	} {
		_, err := v.Verify(context.Background(), tok)
		checkRefused(t, err, true)
	}
	if n := g.Fetches(); n != 0 {
		t.Fatalf("fetches = %d, want 0", n)
	}
}

// Fifty requests on a Verifier without keys share one fetch and all wait
// for it.
func TestJWKSConcurrentFirstUse(t *testing.T) {
	g := newGrantd(t)
	v := g.verifier(t, nil)
	tok := g.token(t, "read", apiAudience)
	errs := verifyConcurrently(v, tok, 50)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := g.Fetches(); n != 1 {
		t.Fatalf("fetches = %d for 50 concurrent requests, want 1", n)
	}
}

// Fifty requests while the JWKS is stale start one fetch and do not wait
// for it: they verify with the keys they have.
func TestJWKSConcurrentStale(t *testing.T) {
	g := newGrantd(t)
	v := g.verifier(t, nil)
	tok := g.token(t, "read", apiAudience)
	verify(t, v, tok)
	g.Clock.Advance(5 * time.Minute)

	g.holdJWKS()
	done := make(chan []error)
	go func() {
		var errs []error
		for err := range verifyConcurrently(v, tok, 50) {
			errs = append(errs, err)
		}
		done <- errs
	}()
	select {
	case errs := <-done:
		for _, err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("requests waited for the refresh of a stale JWKS")
	}
	g.awaitFetches(t, 2)
	g.release()
	// Whether or not the refresh has landed, more requests start nothing.
	verify(t, v, tok)
	if n := g.Fetches(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
}

// When grantd cannot serve the JWKS, Verify cannot decide: its error is
// not ErrInvalidToken. Keys already fetched keep verifying.
func TestJWKSUnavailable(t *testing.T) {
	g := newGrantd(t)
	tok := g.token(t, "read", apiAudience)

	g.setJWKS("", http.StatusServiceUnavailable)
	cold := g.verifier(t, nil)
	_, err := cold.Verify(context.Background(), tok)
	if err == nil || errors.Is(err, rs.ErrInvalidToken) {
		t.Fatalf("err = %v, want an error that is not ErrInvalidToken", err)
	}
	// Within ten seconds the failure is remembered, not retried.
	_, err = cold.Verify(context.Background(), tok)
	if err == nil || errors.Is(err, rs.ErrInvalidToken) {
		t.Fatalf("err = %v, want an error that is not ErrInvalidToken", err)
	}
	if n := g.Fetches(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}

	// Keys already fetched outlive a failed refresh.
	g.setJWKS("", 0)
	warm := g.verifier(t, nil)
	verify(t, warm, tok)
	g.setJWKS("", http.StatusInternalServerError)
	g.Clock.Advance(5 * time.Minute)
	verify(t, warm, tok) // stale: starts a refresh, which fails
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	unknown := sign(t, jose.JSONWebKey{Key: stranger, Algorithm: "ES256"}, "at+jwt", "made-up", g.claims())
	// An unknown kid waits for that refresh, and cannot be decided.
	_, err = warm.Verify(context.Background(), unknown)
	if err == nil || errors.Is(err, rs.ErrInvalidToken) {
		t.Fatalf("err = %v, want an error that is not ErrInvalidToken", err)
	}
	verify(t, warm, tok)
	if n := g.Fetches(); n != 3 {
		t.Fatalf("fetches = %d, want 3", n)
	}
	g.Clock.Advance(10 * time.Second) // the failed refresh is retried
	verify(t, warm, tok)
	g.awaitFetches(t, 4)
	g.setJWKS("", 0)

	// A JWKS without a usable key does not replace good keys either.
	wrong := g.verifier(t, func(c *rs.Config) { c.JWKSURL = g.URL + "/.well-known/oauth-authorization-server" })
	_, err = wrong.Verify(context.Background(), tok)
	if err == nil || errors.Is(err, rs.ErrInvalidToken) {
		t.Fatalf("err = %v, want an error that is not ErrInvalidToken", err)
	}
}

// Keys the Verifier cannot use are skipped, not fatal to the set (RFC
// 7517 §5), and never verify anything: private or symmetric material, a
// key for encryption, an alg that does not suit the key, a type it does
// not know.
func TestJWKSSkipsUnusableKeys(t *testing.T) {
	g := newGrantd(t)
	res, err := http.Get(g.URL + "/v2/oauth/jwks")
	if err != nil {
		t.Fatal(err)
	}
	var published struct{ Keys []json.RawMessage }
	err = json.NewDecoder(res.Body).Decode(&published)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}

	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk := func(k jose.JSONWebKey) json.RawMessage {
		b, err := k.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	keys := []json.RawMessage{
		json.RawMessage(`{"kty":"XYZ","kid":"unknown-type"}`),
		json.RawMessage(`{"kty":"oct","kid":"symmetric","alg":"HS256","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}`),
		json.RawMessage(`"not an object"`),
		jwk(jose.JSONWebKey{Key: stranger, KeyID: "private", Algorithm: "ES256"}),
		jwk(jose.JSONWebKey{Key: &stranger.PublicKey, KeyID: "encryption", Algorithm: "ES256", Use: "enc"}),
		jwk(jose.JSONWebKey{Key: &stranger.PublicKey, KeyID: "mismatch", Algorithm: "RS256"}),
		jwk(jose.JSONWebKey{Key: &stranger.PublicKey, Algorithm: "ES256"}), // no kid
	}
	keys = append(keys, published.Keys...)
	set, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(set) }))
	defer srv.Close()

	v := g.verifier(t, func(c *rs.Config) { c.JWKSURL = srv.URL })
	verify(t, v, g.token(t, "read", apiAudience))
	for _, kid := range []string{"private", "encryption", "mismatch"} {
		_, err := v.Verify(context.Background(), sign(t, jose.JSONWebKey{Key: stranger, Algorithm: "ES256"}, "at+jwt", kid, g.claims()))
		if !errors.Is(err, rs.ErrInvalidToken) || !strings.Contains(err.Error(), "kid is not among") {
			t.Errorf("kid %q: err = %v, want the kid unknown", kid, err)
		}
	}
}

// A canceled request stops waiting for the JWKS; the fetch goes on for
// the others.
func TestJWKSWaitCanceled(t *testing.T) {
	g := newGrantd(t)
	v := g.verifier(t, nil)
	tok := g.token(t, "read", apiAudience)
	g.holdJWKS()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := v.Verify(ctx, tok)
		errc <- err
	}()
	g.awaitFetches(t, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	g.release()
	verify(t, v, tok)
	if n := g.Fetches(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}
}

func verify(t *testing.T, v *rs.Verifier, tok string) *rs.Token {
	t.Helper()
	out, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// verifyConcurrently verifies tok from n goroutines started together and
// answers their errors.
func verifyConcurrently(v *rs.Verifier, tok string, n int) <-chan error {
	errs := make(chan error, n)
	var ready, done sync.WaitGroup
	ready.Add(1)
	for range n {
		done.Go(func() {
			ready.Wait()
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		})
	}
	ready.Done()
	done.Wait()
	close(errs)
	return errs
}

// headerKid answers the kid of a compact JWS without verifying it.
func headerKid(t *testing.T, tok string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Protected.KeyID
}
