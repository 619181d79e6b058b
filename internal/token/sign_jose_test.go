package token

import (
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// joseCounterpart answers, for the active key of a new keyring signing
// with alg, the key, a go-jose Signer made for it as Sign would keep one,
// and the payload of testClaims.
func joseCounterpart(tb testing.TB, alg string) (*key, jose.Signer, []byte) {
	tb.Helper()
	clk := newClock()
	r := newTestKeyring(tb, newMemKeys(), clk, alg)
	mustLoad(tb, r)
	k := r.snap.Load().signerAt(clk.Now())
	c := testClaims(clk.Now())
	payload, err := json.Marshal(&accessJWT{
		Iss: c.Issuer, Sub: c.Subject, Aud: c.Audience, Exp: c.ExpiresAt.Unix(), Iat: c.IssuedAt.Unix(),
		JTI: c.JTI, ClientID: c.ClientID, Scope: c.Scope, GrantID: c.GrantID,
	})
	if err != nil {
		tb.Fatal(err)
	}
	var priv any
	switch {
	case k.ec != nil:
		priv = k.ec
	case k.rsa != nil:
		priv = k.rsa
	default:
		priv = k.ed
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: priv, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType(typAccessToken))
	if err != nil {
		tb.Fatal(err)
	}
	return k, signer, payload
}

func joseCompact(tb testing.TB, s jose.Signer, payload []byte) string {
	tb.Helper()
	jws, err := s.Sign(payload)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// The hand-built JWS is the one go-jose makes: the same header members in
// the same order and the same encoding, so the same signing input for
// every algorithm, and byte for byte the same token where the signature
// is deterministic (RS256 PKCS #1 v1.5, EdDSA). ES256 signatures are
// random; TestES256SignaturesVerifyElsewhere checks those with go-jose.
func TestSignMatchesJose(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{AlgES256, AlgRS256, AlgEdDSA} {
		t.Run(alg, func(t *testing.T) {
			k, signer, payload := joseCounterpart(t, alg)
			hand, err := k.sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			want := joseCompact(t, signer, payload)
			if alg == AlgES256 {
				hand, want = hand[:strings.LastIndexByte(hand, '.')], want[:strings.LastIndexByte(want, '.')]
			}
			if hand != want {
				t.Errorf("hand-built token\n%s\ngo-jose's\n%s", hand, want)
			}
		})
	}
}

// BenchmarkSignHandVsJose compares, for each algorithm, the compact JWS
// the keyring builds by hand (key.sign) with the same token made by a
// go-jose Signer prepared once per key. docs/PERFORMANCE.md records the
// numbers and the decision taken from them.
func BenchmarkSignHandVsJose(b *testing.B) {
	for _, alg := range []string{AlgES256, AlgRS256, AlgEdDSA} {
		k, signer, payload := joseCounterpart(b, alg)
		b.Run(alg+"/hand", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.sign(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/jose", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				joseCompact(b, signer, payload)
			}
		})
	}
}
