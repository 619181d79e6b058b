package rs_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/grantd/grantd/rs"
)

func TestVerifyAcceptsGrantdToken(t *testing.T) {
	g := newGrantd(t)
	v := g.verifier(t, nil)
	raw := g.token(t, "read write", apiAudience)

	tok, err := v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	now := g.Clock.Now()
	// The client's own token: sub is the client, no grant, 30 minutes.
	want := &rs.Token{
		Subject:   g.ClientID,
		ClientID:  g.ClientID,
		Scopes:    []string{"read", "write"},
		Audience:  []string{apiAudience},
		IssuedAt:  now,
		ExpiresAt: now.Add(30 * time.Minute),
	}
	if diff := cmp.Diff(want, tok, cmpopts.IgnoreFields(rs.Token{}, "JTI")); diff != "" {
		t.Errorf("token (-want +got):\n%s", diff)
	}
	if tok.JTI == "" {
		t.Error("no JTI")
	}
	if !tok.HasScope("read") || !tok.HasScope("write") || tok.HasScope("admin") || tok.HasScope("rea") {
		t.Errorf("HasScope wrong for %q", tok.Scopes)
	}
}

// Tokens of every algorithm grantd can sign with verify.
func TestVerifyAlgorithms(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			g := newGrantdAlg(t, alg)
			tok := g.token(t, "read", apiAudience)
			if _, err := g.verifier(t, nil).Verify(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestVerifyAudience(t *testing.T) {
	g := newGrantd(t)
	api := g.verifier(t, nil)
	own := g.verifier(t, func(c *rs.Config) { c.Audience = g.URL + "/v2" })
	key := g.signingKey(t)
	withAud := func(aud any) string {
		c := g.claims()
		c["aud"] = aud
		return sign(t, key, "at+jwt", key.KeyID, c)
	}
	tests := []struct {
		name string
		v    *rs.Verifier
		tok  string
		ok   bool
	}{
		{"resource is the API", api, g.token(t, "read", apiAudience), true},
		{"no resource: meant for grantd", api, g.token(t, "read", ""), false},
		{"resource is grantd's API", api, g.token(t, "read", g.URL+"/v2"), false},
		{"grantd's API, its audience", own, g.token(t, "read", g.URL+"/v2"), true},
		{"grantd's API, the other API's token", own, g.token(t, "read", apiAudience), false},
		{"array holding the audience", api, withAud([]string{"https://other.example.com", apiAudience}), true},
		{"array without it", api, withAud([]string{"https://other.example.com"}), false},
		{"trailing slash", api, withAud(apiAudience + "/"), false},
		{"other case", api, withAud(strings.ToUpper(apiAudience)), false},
		{"empty array", api, withAud([]string{}), false},
		{"number", api, withAud(7), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Verify(context.Background(), tc.tok)
			checkRefused(t, err, !tc.ok)
		})
	}
}

func TestVerifyExpiry(t *testing.T) {
	g := newGrantd(t)
	v := g.verifier(t, nil)
	strict := g.verifier(t, func(c *rs.Config) { c.Leeway = -1 })
	tok := g.token(t, "read", apiAudience)

	// exp is 30 minutes away; the default leeway adds one minute.
	g.Clock.Advance(30*time.Minute - time.Second)
	if _, err := strict.Verify(context.Background(), tok); err != nil {
		t.Fatalf("a second before exp without leeway: %v", err)
	}
	g.Clock.Advance(time.Second)
	_, err := strict.Verify(context.Background(), tok)
	checkRefused(t, err, true)
	g.Clock.Advance(time.Minute - time.Second)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("within the leeway: %v", err)
	}
	g.Clock.Advance(time.Second)
	_, err = v.Verify(context.Background(), tok)
	checkRefused(t, err, true)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("err = %v, want it to say expired", err)
	}
}

func TestVerifyIssuer(t *testing.T) {
	g := newGrantd(t)
	tok := g.token(t, "read", apiAudience)
	for _, iss := range []string{"http://127.0.0.1:1", strings.Replace(g.URL, "127.0.0.1", "localhost", 1)} {
		v := g.verifier(t, func(c *rs.Config) {
			c.Issuer = iss
			c.JWKSURL = g.URL + "/v2/oauth/jwks" // the same keys
		})
		_, err := v.Verify(context.Background(), tok)
		checkRefused(t, err, true)
	}

	v := g.verifier(t, nil)
	key := g.signingKey(t)
	for _, iss := range []string{g.URL + "/", g.URL + "/v2", "", strings.ToUpper(g.URL)} {
		c := g.claims()
		c["iss"] = iss
		_, err := v.Verify(context.Background(), sign(t, key, "at+jwt", key.KeyID, c))
		checkRefused(t, err, true)
	}
}

// Tokens an attacker can make, and tokens grantd's key signed that are
// not grantd access tokens: each is refused with ErrInvalidToken.
func TestVerifyRefusesForgeries(t *testing.T) {
	g := newGrantd(t)
	other := newGrantd(t)
	v := g.verifier(t, nil)
	key := g.signingKey(t)
	good := g.token(t, "read", apiAudience)
	if _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	enc := base64.RawURLEncoding

	// The JWKS holds the public key: an HMAC keyed with it is the classic
	// algorithm confusion.
	pub, err := jose.JSONWebKey{Key: key.Key.(*ecdsa.PrivateKey).Public(), KeyID: key.KeyID, Algorithm: "ES256", Use: "sig"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	hs256 := jose.JSONWebKey{Key: pub, KeyID: key.KeyID, Algorithm: "HS256"}

	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	without := func(name string) map[string]any {
		c := g.claims()
		delete(c, name)
		return c
	}
	with := func(name string, value any) map[string]any {
		c := g.claims()
		c[name] = value
		return c
	}
	now := g.Clock.Now()
	tests := []struct {
		name   string
		tok    string
		reason string // in the error
	}{
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2], 10), "signature does not verify"},
		{"tampered claims", parts[0] + "." + enc.EncodeToString([]byte(strings.Replace(mustDecode(t, parts[1]), `"read"`, `"admin"`, 1))) + "." + parts[2], "signature does not verify"},
		{"alg none", unsigned(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": key.KeyID}, g.claims()), "not a JWT signed with"},
		{"alg none, signature kept", strings.TrimSuffix(unsigned(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": key.KeyID}, g.claims()), ".") + "." + parts[2], "not a JWT signed with"},
		{"HS256 keyed with the public JWK", sign(t, hs256, "at+jwt", key.KeyID, g.claims()), "not a JWT signed with"},
		{"HS256 keyed with the public JWK, by hand", hmacToken(t, pub, key.KeyID, g.claims()), "not a JWT signed with"},
		{"EdDSA header on the ES256 key's kid", sign(t, jose.JSONWebKey{Key: edPriv, Algorithm: "EdDSA"}, "at+jwt", key.KeyID, g.claims()), "alg is not its key's"},
		{"no typ", sign(t, key, "", key.KeyID, g.claims()), "typ is not at+jwt"},
		{"typ JWT", sign(t, key, "JWT", key.KeyID, g.claims()), "typ is not at+jwt"},
		{"typ of an ID token", sign(t, key, "id_token+jwt", key.KeyID, g.claims()), "typ is not at+jwt"},
		{"no kid", sign(t, key, "at+jwt", "", g.claims()), "no kid"},
		{"unknown kid", sign(t, jose.JSONWebKey{Key: stranger, Algorithm: "ES256"}, "at+jwt", "not-a-grantd-kid", g.claims()), "kid is not among"},
		{"another key under grantd's kid", sign(t, jose.JSONWebKey{Key: stranger, Algorithm: "ES256"}, "at+jwt", key.KeyID, g.claims()), "signature does not verify"},
		{"another grantd's token", other.token(t, "read", apiAudience), "kid is not among"},
		{"iat in the future", sign(t, key, "at+jwt", key.KeyID, with("iat", now.Add(2*time.Minute).Unix())), "issued in the future"},
		{"nbf in the future", sign(t, key, "at+jwt", key.KeyID, with("nbf", now.Add(2*time.Minute).Unix())), "not valid yet"},
		{"exp in the past", sign(t, key, "at+jwt", key.KeyID, with("exp", now.Add(-2*time.Minute).Unix())), "expired"},
		{"no exp", sign(t, key, "at+jwt", key.KeyID, without("exp")), "lacks a required claim"},
		{"no iat", sign(t, key, "at+jwt", key.KeyID, without("iat")), "lacks a required claim"},
		{"no sub", sign(t, key, "at+jwt", key.KeyID, without("sub")), "lacks a required claim"},
		{"no client_id", sign(t, key, "at+jwt", key.KeyID, without("client_id")), "lacks a required claim"},
		{"no jti", sign(t, key, "at+jwt", key.KeyID, without("jti")), "lacks a required claim"},
		{"no scope", sign(t, key, "at+jwt", key.KeyID, without("scope")), "lacks a required claim"},
		{"no aud", sign(t, key, "at+jwt", key.KeyID, without("aud")), "not meant for this API"},
		{"no iss", sign(t, key, "at+jwt", key.KeyID, without("iss")), "another issuer"},
		{"sub a number", sign(t, key, "at+jwt", key.KeyID, with("sub", 42)), "claims are malformed"},
		{"client_id a number", sign(t, key, "at+jwt", key.KeyID, with("client_id", 42)), "claims are malformed"},
		{"exp a string", sign(t, key, "at+jwt", key.KeyID, with("exp", "2099-01-01")), "claims are malformed"},
		{"an API key", "grantd_key_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not a JWT signed with"},
		{"empty", "", "not a JWT signed with"},
		{"line break inserted", good[:20] + "\n" + good[20:], "not a JWT"},
		{"too long", good + strings.Repeat("A", 8<<10), "too long"},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, "not a JWT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.tok)
			checkRefused(t, err, true)
			if err != nil && !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("err = %v, want it to say %q", err, tc.reason)
			}
		})
	}
}

// The header may say application/at+jwt (RFC 9068 §4), in any case.
func TestVerifyTypVariants(t *testing.T) {
	g := newGrantd(t)
	v := g.verifier(t, nil)
	key := g.signingKey(t)
	for _, typ := range []string{"at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"} {
		if _, err := v.Verify(context.Background(), sign(t, key, typ, key.KeyID, g.claims())); err != nil {
			t.Errorf("typ %q: %v", typ, err)
		}
	}
}

// checkRefused fails unless err refuses the token (wraps
// ErrInvalidToken), or, when refused is false, unless err is nil.
func checkRefused(t *testing.T, err error, refused bool) {
	t.Helper()
	switch {
	case refused && !errors.Is(err, rs.ErrInvalidToken):
		t.Errorf("err = %v, want ErrInvalidToken", err)
	case !refused && err != nil:
		t.Errorf("err = %v, want the token accepted", err)
	}
}

// flip changes the character at i of a base64url string.
func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func mustDecode(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hmacToken makes an HS256 token keyed with secret without go-jose, as
// an attacker would.
func hmacToken(t *testing.T, secret []byte, kid string, claims map[string]any) string {
	t.Helper()
	in := strings.TrimSuffix(unsigned(t, map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": kid}, claims), ".")
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
