package token

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// successorInfo is the HKDF info of the key that makes refresh token
// successors: one purpose, one key, never the master key itself.
const successorInfo = "grantd refresh token successor v1"

// successorKey derives the successor key from the master key.
func successorKey(master []byte) []byte {
	k, err := hkdf.Key(sha256.New, master, nil, successorInfo, sha256.Size)
	if err != nil {
		panic("token: hkdf: " + err.Error()) // only for a length SHA-256 cannot give
	}
	return k
}

// RefreshSuccessor answers the refresh token that rotating presented
// issues: HMAC-SHA256 of presented under a key derived (HKDF) from the
// master key, with the refresh token prefix.
//
// It is deterministic so that a client retrying a rotation whose answer
// it lost gets the very token the first attempt stored, although the
// database keeps only its hash: the node that answers the retry computes
// it again. It is unpredictable without the master key, which the
// database never holds, so neither a copy of the database nor a stolen
// refresh token yields its successor.
func (r *Keyring) RefreshSuccessor(presented string) string {
	m := hmac.New(sha256.New, r.successor)
	m.Write([]byte(presented))
	return PrefixRefreshToken + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
