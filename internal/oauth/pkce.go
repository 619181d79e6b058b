package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE (RFC 7636) with S256 only: plain is refused everywhere.

// ValidVerifier reports whether v is a code_verifier of RFC 7636 §4.1:
// 43 to 128 characters of [A-Za-z0-9-._~].
func ValidVerifier(v string) bool { return validPKCEString(v) }

// ValidChallenge reports whether c can be an S256 code_challenge: the
// base64url encoding, without padding, of a SHA-256 hash (43 characters).
func ValidChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil
}

func validPKCEString(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// S256 answers the S256 challenge of a verifier.
func S256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// VerifyPKCE reports whether verifier matches the S256 challenge, in
// constant time.
func VerifyPKCE(challenge, verifier string) bool {
	if !ValidVerifier(verifier) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(S256(verifier)), []byte(challenge)) == 1
}
