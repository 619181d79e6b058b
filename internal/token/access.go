package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// typAccessToken is the JWT "typ" of access tokens (RFC 9068 §2.1). It
// keeps an access token from being accepted where another kind of JWT
// signed by the same key is expected, and the reverse.
const typAccessToken = "at+jwt"

// MaxTokenLength bounds what Verify parses. grantd's tokens are well under
// 2 KiB even with RS256; the bound keeps garbage from costing much.
const MaxTokenLength = 8 << 10

// ErrInvalidToken is wrapped by every error of Verify and Valid: the token
// is not a live access token of this issuer. The wrapped text says why,
// for logs; clients should only learn that the token is invalid.
var ErrInvalidToken = errors.New("invalid access token")

// AccessClaims are the claims of an access token (RFC 9068 §2.2).
type AccessClaims struct {
	Issuer    string // iss
	Subject   string // sub: the user, or the client for client_credentials
	Audience  string // aud: the resource, or the issuer
	ClientID  string // client_id
	Scope     string // scope: space-separated; omitted from the JWT when empty
	JTI       string // jti
	IssuedAt  time.Time
	ExpiresAt time.Time
	GrantID   string // grant_id: omitted from the JWT when empty
	// Act is the actor of a token issued by token exchange (RFC 8693
	// §4.1), nested along a delegation chain; nil otherwise, and then
	// omitted from the JWT.
	Act *Actor
}

// Actor is an act claim (RFC 8693 §4.1): who acts for the subject (sub),
// through which client, and, for a token exchanged again, who acted
// before (act), the most recent actor outermost.
type Actor struct {
	Subject  string `json:"sub"`
	ClientID string `json:"client_id,omitempty"`
	Act      *Actor `json:"act,omitempty"`
}

// Depth answers how many actors the chain names: 1 for an actor that
// nests none, 0 for nil.
func (a *Actor) Depth() int {
	n := 0
	for ; a != nil; a = a.Act {
		n++
	}
	return n
}

// accessJWT is the wire form of AccessClaims: NumericDate seconds and
// JSON names stay out of the API.
type accessJWT struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	JTI      string `json:"jti"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope,omitempty"`
	GrantID  string `json:"grant_id,omitempty"`
	Act      *Actor `json:"act,omitempty"`
}

func (w *accessJWT) claims() AccessClaims {
	c := AccessClaims{
		Issuer:   w.Iss,
		Subject:  w.Sub,
		Audience: w.Aud,
		ClientID: w.ClientID,
		Scope:    w.Scope,
		JTI:      w.JTI,
		GrantID:  w.GrantID,
		Act:      w.Act,
	}
	if w.Iat != 0 {
		c.IssuedAt = time.Unix(w.Iat, 0).UTC()
	}
	if w.Exp != 0 {
		c.ExpiresAt = time.Unix(w.Exp, 0).UTC()
	}
	return c
}

// Valid checks what Verify leaves to the caller's clock and configuration:
// the issuer, the expiry, and that every claim RFC 9068 requires is there.
// The audience and revocation are the caller's to check.
func (c AccessClaims) Valid(now time.Time, issuer string) error {
	switch {
	case c.Issuer != issuer:
		return fmt.Errorf("%w: issuer %q is not %q", ErrInvalidToken, c.Issuer, issuer)
	case c.ExpiresAt.IsZero():
		return fmt.Errorf("%w: no exp", ErrInvalidToken)
	case !now.Before(c.ExpiresAt):
		return fmt.Errorf("%w: expired", ErrInvalidToken)
	case c.IssuedAt.IsZero(), c.Subject == "", c.Audience == "", c.ClientID == "", c.JTI == "":
		return fmt.Errorf("%w: a required claim is missing", ErrInvalidToken)
	}
	return nil
}

// signLeeway lets a caller compute exp from a clock reading taken a moment
// before Sign reads its own; it is far below RetireGrace, so a token still
// expires before its key leaves the JWKS.
const signLeeway = time.Minute

// Sign answers c as a JWT access token (RFC 9068) signed by the key active
// now. Every claim but Scope and GrantID is required, and exp may not be
// further than MaxAccessTTL away: a retired key is published only that
// long, and a token outliving its key could not be verified.
//
// Sign touches no database and takes no lock.
func (r *Keyring) Sign(c AccessClaims) (string, error) {
	ks := r.snap.Load()
	if ks == nil {
		return "", ErrNoSigningKey
	}
	now := r.now()
	k := ks.signerAt(now)
	if k == nil {
		return "", ErrNoSigningKey
	}
	switch {
	case c.Issuer == "", c.Subject == "", c.Audience == "", c.ClientID == "", c.JTI == "":
		return "", errors.New("token: iss, sub, aud, client_id and jti are required")
	case c.IssuedAt.IsZero(), !c.ExpiresAt.After(c.IssuedAt):
		return "", errors.New("token: iat is required and exp must be after it")
	case c.ExpiresAt.After(now.Add(r.maxTTL + signLeeway)):
		return "", fmt.Errorf("token: exp is more than MaxAccessTTL (%v) away", r.maxTTL)
	}
	payload, err := json.Marshal(&accessJWT{
		Iss:      c.Issuer,
		Sub:      c.Subject,
		Aud:      c.Audience,
		Exp:      c.ExpiresAt.Unix(),
		Iat:      c.IssuedAt.Unix(),
		JTI:      c.JTI,
		ClientID: c.ClientID,
		Scope:    c.Scope,
		GrantID:  c.GrantID,
		Act:      c.Act,
	})
	if err != nil {
		return "", err
	}
	return k.sign(payload)
}

// sign makes the compact JWS (RFC 7515 §7.1) itself rather than through a
// go-jose Signer: the header is encoded once per key, the token is built
// in one buffer sized up front, and only the signing allocates beyond
// that. BenchmarkSignHandVsJose measures what that saves (ES256 signs
// 1.1–1.2× faster, with 64 fewer allocations; docs/PERFORMANCE.md), and
// TestSignMatchesJose checks the tokens are the ones go-jose would make,
// byte for byte. go-jose verifies every token the tests make, so the two
// implementations check each other.
func (k *key) sign(payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(k.header)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(k.sigSize))
	buf = append(buf, k.header...)
	buf = enc.AppendEncode(buf, payload)

	var sig []byte
	var err error
	switch {
	case k.ec != nil:
		digest := sha256.Sum256(buf)
		var der []byte
		if der, err = ecdsa.SignASN1(rand.Reader, k.ec, digest[:]); err == nil {
			var raw [64]byte
			sig, err = rawECDSA(raw[:], der)
		}
	case k.rsa != nil:
		digest := sha256.Sum256(buf)
		sig, err = rsa.SignPKCS1v15(nil, k.rsa, crypto.SHA256, digest[:])
	default:
		sig = ed25519.Sign(k.ed, buf)
	}
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// rawECDSA turns an ASN.1 ECDSA signature into the fixed-size R||S that
// JWS uses (RFC 7518 §3.4), left-padding each half into out.
func rawECDSA(out, der []byte) ([]byte, error) {
	var seq cryptobyte.String
	var r, s []byte
	in := cryptobyte.String(der)
	half := len(out) / 2
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() ||
		len(r) > half || len(s) > half {
		return nil, errors.New("malformed ECDSA signature")
	}
	clear(out)
	copy(out[half-len(r):half], r)
	copy(out[len(out)-len(s):], s)
	return out, nil
}

// Verify checks that tok is an access token signed by one of the keys in
// the JWKS and answers its claims. It accepts only the algorithm of the
// key named by kid, so neither "none" nor an HMAC keyed with a public key
// gets through, and requires typ at+jwt. Expiry, issuer and revocation
// are left to the caller, which has its own clock (see Valid).
//
// A kid the loaded keys lack may name a key another process has just
// added (`grantd keys rotate --activate-in 0`, seen first by another
// node): Verify then reloads the keys from the store before refusing the
// token, at most once per unknownKidInterval whatever the number of
// tokens and callers (see reloadForKid), and waits for that reload within
// ctx. Everything that can be checked without the key is checked first,
// so a token failing such a check costs no reload.
func (r *Keyring) Verify(ctx context.Context, tok string) (AccessClaims, error) {
	if len(tok) > MaxTokenLength {
		return AccessClaims{}, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	// base64 decoding skips line breaks, so without this check a token
	// with a newline inserted would verify as if it were the original.
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return AccessClaims{}, fmt.Errorf("%w: not a compact JWS", ErrInvalidToken)
		}
	}
	ks := r.snap.Load()
	if ks == nil {
		return AccessClaims{}, fmt.Errorf("%w: no keys loaded", ErrInvalidToken)
	}
	jws, err := jose.ParseSignedCompact(tok, r.parseAlgs)
	if err != nil {
		return AccessClaims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return AccessClaims{}, fmt.Errorf("%w: not one signature", ErrInvalidToken)
	}
	h := jws.Signatures[0].Protected
	// RFC 9068 §4 also allows the full media type; media types compare
	// case-insensitively.
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, typAccessToken) && !strings.EqualFold(typ, "application/"+typAccessToken) {
		return AccessClaims{}, fmt.Errorf("%w: typ %q is not at+jwt", ErrInvalidToken, typ)
	}
	if h.KeyID == "" {
		return AccessClaims{}, fmt.Errorf("%w: no kid", ErrInvalidToken)
	}
	k := ks.byID(h.KeyID)
	if k == nil {
		// The keys are looked up again whatever the reload answers: a
		// reload that ended since ks was read may hold the key even when
		// it is too soon for another.
		err := r.reloadForKid(ctx)
		if k = r.snap.Load().byID(h.KeyID); k == nil && err != nil {
			return AccessClaims{}, fmt.Errorf("%w: unknown kid %q (%v)", ErrInvalidToken, h.KeyID, err)
		}
	}
	if k == nil || !k.publishedAt(r.now()) {
		return AccessClaims{}, fmt.Errorf("%w: unknown kid %q", ErrInvalidToken, h.KeyID)
	}
	if h.Algorithm != k.alg {
		return AccessClaims{}, fmt.Errorf("%w: alg %q does not match key %s", ErrInvalidToken, h.Algorithm, k.id)
	}
	payload, err := jws.Verify(k.public)
	if err != nil {
		return AccessClaims{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var w accessJWT
	if err := json.Unmarshal(payload, &w); err != nil {
		return AccessClaims{}, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	return w.claims(), nil
}
