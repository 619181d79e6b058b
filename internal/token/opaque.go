package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Prefixes of the opaque secrets grantd hands out. A readable prefix lets
// secret scanners find a leaked value and tells a person what it is.
const (
	PrefixAPIKey            = "grantd_key_"
	PrefixClientSecret      = "grantd_secret_"
	PrefixRefreshToken      = "grantd_rt_"
	PrefixAuthCode          = "grantd_code_"
	PrefixConsentToken      = "grantd_consent_"
	PrefixSession           = "grantd_session_"
	PrefixRegistrationToken = "grantd_reg_"
	PrefixDeviceCode        = "grantd_device_"
)

// NewOpaque answers a new random secret with the prefix (256 bits of
// entropy, base64url) and the hash to store.
func NewOpaque(prefix string) (secret, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on supported platforms (Go 1.24+ crypto/rand does not fail)
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, Hash(secret)
}

// Hash answers the hex SHA-256 of a secret: what the database keeps.
// The secrets are high entropy, so a slow password hash would add cost
// and no safety.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// HasPrefix reports whether s looks like a secret of that kind.
func HasPrefix(s, prefix string) bool { return strings.HasPrefix(s, prefix) }

// Equal compares a presented secret with a stored hash in constant time.
func Equal(secret, hash string) bool {
	got := Hash(secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1
}

// NewID answers a random URL-safe identifier of 128 bits (22 characters),
// used for jti and token families. Client ids had this form until they
// became UUIDs; such ids stay valid.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
