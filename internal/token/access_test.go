package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

const testIssuer = "https://auth.example.com"

func testClaims(now time.Time) AccessClaims {
	return AccessClaims{
		Issuer:    testIssuer,
		Subject:   "0b9d4c3e-8f4e-4a59-9a5e-2f1f4f0b6a11",
		Audience:  testIssuer + "/v2",
		ClientID:  "8qI2tC7qexVUVvItjkzVpA",
		Scope:     "admin read:numbers",
		JTI:       "Vq3l7cJm2PzV3n1c8Y2Vxg",
		IssuedAt:  now,
		ExpiresAt: now.Add(testTTL),
		GrantID:   "7d7c8d2a-3b1e-4d8b-9f6c-0d3c7c1f2e44",
	}
}

func mustSign(t testing.TB, r *Keyring, c AccessClaims) string {
	t.Helper()
	tok, err := r.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// segment decodes part i of a compact JWS as JSON.
func segment(t testing.TB, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q has %d parts", tok, len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func headerOf(t testing.TB, tok string) map[string]any { return segment(t, tok, 0) }

func kidOf(t testing.TB, tok string) string {
	kid, _ := headerOf(t, tok)["kid"].(string)
	return kid
}

// claimsJSON is the payload a correct signer makes, built independently
// of the code under test.
func claimsJSON(t testing.TB, c AccessClaims) []byte {
	b, err := json.Marshal(map[string]any{
		"iss": c.Issuer, "sub": c.Subject, "aud": c.Audience, "client_id": c.ClientID,
		"scope": c.Scope, "jti": c.JTI, "grant_id": c.GrantID,
		"iat": c.IssuedAt.Unix(), "exp": c.ExpiresAt.Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// joseSign signs payload with go-jose, for tokens Sign refuses to make.
func joseSign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid, typ string, payload []byte) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	if kid != "" {
		key = jose.JSONWebKey{Key: key, KeyID: kid}
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return joseCompact(t, s, payload)
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			store, clk := newMemKeys(), newClock()
			r := newTestKeyring(t, store, clk, alg)
			mustLoad(t, r)
			want := testClaims(clk.Now())
			tok := mustSign(t, r, want)

			h := headerOf(t, tok)
			if len(h) != 3 || h["alg"] != alg || h["typ"] != "at+jwt" || h["kid"] != store.keysIDs()[0] {
				t.Errorf("header = %v, want alg %s, typ at+jwt and the key's kid", h, alg)
			}
			p := segment(t, tok, 1)
			for _, name := range []string{"sub", "jti", "client_id", "aud", "scope", "iss", "grant_id"} {
				if _, ok := p[name].(string); !ok {
					t.Errorf("claim %s = %#v, want a string", name, p[name])
				}
			}
			if p["exp"] != float64(want.ExpiresAt.Unix()) || p["iat"] != float64(want.IssuedAt.Unix()) {
				t.Errorf("exp, iat = %v, %v: want NumericDate seconds", p["exp"], p["iat"])
			}

			got, err := r.Verify(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Verify claims (-want +got):\n%s", diff)
			}
			if err := got.Valid(clk.Now(), testIssuer); err != nil {
				t.Errorf("Valid: %v", err)
			}
		})
	}
}

func TestSignOmitsEmptyOptionalClaims(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, r)
	c := testClaims(clk.Now())
	c.GrantID, c.Scope = "", ""
	p := segment(t, mustSign(t, r, c), 1)
	if _, ok := p["grant_id"]; ok {
		t.Error("grant_id present though empty")
	}
	if _, ok := p["scope"]; ok {
		t.Error("scope present though empty")
	}
	if len(p) != 7 {
		t.Errorf("claims = %v, want iss sub aud exp iat jti client_id", p)
	}
}

// A resource server that knows only the JWKS document verifies tokens
// with an ordinary JOSE library.
func TestVerifyWithJWKSOnly(t *testing.T) {
	t.Parallel()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			store, clk := newMemKeys(), newClock()
			r := newTestKeyring(t, store, clk, alg)
			mustLoad(t, r)
			if _, err := r.Rotate(context.Background(), time.Minute); err != nil {
				t.Fatal(err)
			}
			doc, err := r.JWKS()
			if err != nil {
				t.Fatal(err)
			}
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(doc, &set); err != nil {
				t.Fatal(err)
			}
			for _, k := range set.Keys {
				if !k.IsPublic() || !k.Valid() {
					t.Errorf("JWKS key %s is not a valid public key", k.KeyID)
				}
			}

			want := testClaims(clk.Now())
			tok := mustSign(t, r, want)
			jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			h := jws.Signatures[0].Header
			if h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
				t.Errorf("typ = %v", h.ExtraHeaders[jose.HeaderType])
			}
			keys := set.Key(h.KeyID)
			if len(keys) != 1 || keys[0].Algorithm != alg || keys[0].Use != "sig" {
				t.Fatalf("JWKS has %v for kid %s", keys, h.KeyID)
			}
			payload, err := jws.Verify(keys[0])
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			json.Unmarshal(payload, &got)
			if got["sub"] != want.Subject || got["iss"] != want.Issuer || got["aud"] != want.Audience {
				t.Errorf("claims = %v", got)
			}
		})
	}
}

// ES256 signatures are converted from ASN.1 to fixed-size R||S by hand;
// many signatures exercise the short R and S that need left padding.
func TestES256SignaturesVerifyElsewhere(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, r)
	pub := r.snap.Load().keys[0].public
	c := testClaims(clk.Now())
	for range 500 {
		tok := mustSign(t, r, c)
		jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		if len(jws.Signatures[0].Signature) != 64 {
			t.Fatalf("signature has %d bytes, want 64", len(jws.Signatures[0].Signature))
		}
		if _, err := jws.Verify(pub); err != nil {
			t.Fatalf("go-jose rejects %s: %v", tok, err)
		}
	}
}

func TestRawECDSARejectsMalformed(t *testing.T) {
	t.Parallel()
	for _, der := range [][]byte{
		nil,
		{0x30, 0x00},
		{0x30, 0x03, 0x02, 0x01, 0x01}, // no s
		{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00},      // trailing byte
		append([]byte{0x30, 0x26, 0x02, 0x21}, make([]byte, 37)...), // r too long
	} {
		var out [64]byte
		if _, err := rawECDSA(out[:], der); err == nil {
			t.Errorf("rawECDSA(%x) succeeded", der)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, r)
	k := r.snap.Load().keys[0]
	c := testClaims(clk.Now())
	good := mustSign(t, r, c)
	payload := claimsJSON(t, c)
	parts := strings.Split(good, ".")
	enc := base64.RawURLEncoding.EncodeToString

	// The controls: go-jose tokens made like ours verify, so each case
	// below fails for the one reason it names.
	for _, typ := range []string{"at+jwt", "application/at+jwt"} {
		if _, err := r.Verify(context.Background(), joseSign(t, jose.ES256, k.ec, k.id, typ, payload)); err != nil {
			t.Fatalf("control with typ %s: %v", typ, err)
		}
	}

	other := newTestKeyring(t, newMemKeys(), clk, AlgES256)
	mustLoad(t, other)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	otherC := c
	otherC.Subject = "someone-else"
	arrayAud := []byte(strings.Replace(string(payload), `"aud":"`+c.Audience+`"`, `"aud":["`+c.Audience+`"]`, 1))
	tampered := []byte(good)
	tampered[len(tampered)-5] ^= 0x01

	tests := []struct {
		name, tok string
	}{
		{"empty", ""},
		{"garbage", "not a token"},
		{"two parts", parts[0] + "." + parts[1]},
		{"four parts", good + ".e30"},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`},
		{"payload replaced", parts[0] + "." + enc(claimsJSON(t, otherC)) + "." + parts[2]},
		{"signature tampered", string(tampered)},
		{"signature truncated", good[:len(good)-4]},
		{"signature empty", parts[0] + "." + parts[1] + "."},
		{"newline inserted", good[:30] + "\n" + good[30:]},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2]},
		{"alg none", enc([]byte(`{"alg":"none","kid":"`+k.id+`","typ":"at+jwt"}`)) + "." + parts[1] + "."},
		{"HS256 keyed with the public JWK", joseSign(t, jose.HS256, k.jwk, k.id, "at+jwt", payload)},
		{"HS256 keyed with the JWKS", joseSign(t, jose.HS256, mustJWKS(t, r), k.id, "at+jwt", payload)},
		{"EdDSA under an ES256 kid", joseSign(t, jose.EdDSA, edKey, k.id, "at+jwt", payload)},
		{"unknown kid", mustSign(t, other, c)},
		{"no kid", joseSign(t, jose.ES256, k.ec, "", "at+jwt", payload)},
		{"typ JWT", joseSign(t, jose.ES256, k.ec, k.id, "JWT", payload)},
		{"no typ", joseSign(t, jose.ES256, k.ec, k.id, "", payload)},
		{"aud an array", joseSign(t, jose.ES256, k.ec, k.id, "at+jwt", arrayAud)},
		{"payload not JSON", joseSign(t, jose.ES256, k.ec, k.id, "at+jwt", []byte("hello"))},
		{"exp a string", joseSign(t, jose.ES256, k.ec, k.id, "at+jwt", []byte(`{"exp":"soon"}`))},
		{"too long", strings.Repeat("a", MaxTokenLength+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Verify(context.Background(), tt.tok)
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify = %+v, %v; want ErrInvalidToken", got, err)
			}
		})
	}
}

func mustJWKS(t testing.TB, r *Keyring) []byte {
	b, err := r.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValid(t *testing.T) {
	t.Parallel()
	now := newClock().Now()
	tests := []struct {
		name   string
		change func(*AccessClaims)
		now    time.Time
		ok     bool
	}{
		{"valid", func(*AccessClaims) {}, now, true},
		{"a second before exp", func(*AccessClaims) {}, now.Add(testTTL - time.Second), true},
		{"at exp", func(*AccessClaims) {}, now.Add(testTTL), false},
		{"after exp", func(*AccessClaims) {}, now.Add(testTTL + time.Hour), false},
		{"other issuer", func(c *AccessClaims) { c.Issuer = "https://evil.example" }, now, false},
		{"issuer with trailing slash", func(c *AccessClaims) { c.Issuer += "/" }, now, false},
		{"no exp", func(c *AccessClaims) { c.ExpiresAt = time.Time{} }, now, false},
		{"no iat", func(c *AccessClaims) { c.IssuedAt = time.Time{} }, now, false},
		{"no sub", func(c *AccessClaims) { c.Subject = "" }, now, false},
		{"no aud", func(c *AccessClaims) { c.Audience = "" }, now, false},
		{"no client_id", func(c *AccessClaims) { c.ClientID = "" }, now, false},
		{"no jti", func(c *AccessClaims) { c.JTI = "" }, now, false},
		{"no scope or grant", func(c *AccessClaims) { c.Scope, c.GrantID = "", "" }, now, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClaims(now)
			tt.change(&c)
			err := c.Valid(tt.now, testIssuer)
			if (err == nil) != tt.ok {
				t.Errorf("Valid = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Valid = %v, want it to wrap ErrInvalidToken", err)
			}
		})
	}
}

func TestSignRejectsBadClaims(t *testing.T) {
	t.Parallel()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgES256)
	mustLoad(t, r)
	now := clk.Now()
	tests := []struct {
		name   string
		change func(*AccessClaims)
	}{
		{"no iss", func(c *AccessClaims) { c.Issuer = "" }},
		{"no sub", func(c *AccessClaims) { c.Subject = "" }},
		{"no aud", func(c *AccessClaims) { c.Audience = "" }},
		{"no client_id", func(c *AccessClaims) { c.ClientID = "" }},
		{"no jti", func(c *AccessClaims) { c.JTI = "" }},
		{"no iat", func(c *AccessClaims) { c.IssuedAt = time.Time{} }},
		{"exp before iat", func(c *AccessClaims) { c.ExpiresAt = c.IssuedAt.Add(-time.Second) }},
		{"lifetime over the maximum", func(c *AccessClaims) { c.ExpiresAt = now.Add(testTTL + time.Hour) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClaims(now)
			tt.change(&c)
			if tok, err := r.Sign(c); err == nil {
				t.Errorf("Sign = %s, want an error", tok)
			}
		})
	}
}

// Run with -race: Sign, Verify and JWKS on many goroutines while keys
// rotate and another node reloads.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(t, store, clk, AlgEdDSA)
	mustLoad(t, r)
	node := newTestKeyring(t, store, clk, AlgEdDSA)
	mustLoad(t, node)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				tok, err := r.Sign(testClaims(clk.Now()))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := r.Verify(context.Background(), tok); err != nil {
					t.Error(err)
					return
				}
				if _, err := r.JWKS(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := r.Rotate(ctx, 0); err != nil {
				t.Error(err)
				return
			}
			clk.Advance(time.Second)
		}
	})
	wg.Go(func() {
		for range 20 {
			if err := node.Load(ctx); err != nil {
				t.Error(err)
				return
			}
			if _, err := node.Sign(testClaims(clk.Now())); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
}

func FuzzVerify(f *testing.F) {
	ctx := context.Background()
	store, clk := newMemKeys(), newClock()
	r := newTestKeyring(f, store, clk, AlgES256)
	mustLoad(f, r)
	want := testClaims(clk.Now())
	f.Add(mustSign(f, r, want))
	// One token per algorithm, all verifiable by r.
	for _, alg := range []string{AlgRS256, AlgEdDSA} {
		other := newTestKeyring(f, store, clk, alg)
		if _, err := other.Rotate(ctx, 0); err != nil {
			f.Fatal(err)
		}
		clk.Advance(time.Second)
		f.Add(mustSign(f, other, want))
	}
	mustLoad(f, r)
	for _, s := range []string{"", ".", "..", "e30.e30.", "e30.e30.e30", "eyJhbGciOiJub25lIn0.e30.", "a.b.c.d"} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, tok string) {
		got, err := r.Verify(context.Background(), tok)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify error %v does not wrap ErrInvalidToken", err)
			}
			return
		}
		// Only a signature of ours gets here, and we signed only want.
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Verify accepted %q with other claims (-want +got):\n%s", tok, diff)
		}
	})
}

func benchmarkSign(b *testing.B, alg string) {
	clk := newClock()
	r := newTestKeyring(b, newMemKeys(), clk, alg)
	mustLoad(b, r)
	c := testClaims(clk.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignES256(b *testing.B) { benchmarkSign(b, AlgES256) }
func BenchmarkSignRS256(b *testing.B) { benchmarkSign(b, AlgRS256) }
func BenchmarkSignEdDSA(b *testing.B) { benchmarkSign(b, AlgEdDSA) }

func BenchmarkVerifyES256(b *testing.B) {
	clk := newClock()
	r := newTestKeyring(b, newMemKeys(), clk, AlgES256)
	mustLoad(b, r)
	tok := mustSign(b, r, testClaims(clk.Now()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWKS(b *testing.B) {
	clk := newClock()
	r := newTestKeyring(b, newMemKeys(), clk, AlgES256)
	mustLoad(b, r)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.JWKS(); err != nil {
			b.Fatal(err)
		}
	}
}
