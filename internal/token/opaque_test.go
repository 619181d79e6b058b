package token

import (
	"strings"
	"testing"
)

func TestNewOpaque(t *testing.T) {
	t.Parallel()
	secret, hash := NewOpaque(PrefixRefreshToken)
	if !HasPrefix(secret, PrefixRefreshToken) || len(secret) != len(PrefixRefreshToken)+43 {
		t.Errorf("secret %q: want the prefix and 43 base64url characters (256 bits)", secret)
	}
	if hash != Hash(secret) || len(hash) != 64 || strings.Contains(hash, secret) {
		t.Errorf("hash %q is not the hex SHA-256 of the secret", hash)
	}
	if !Equal(secret, hash) {
		t.Error("Equal(secret, its hash) = false")
	}
	other, _ := NewOpaque(PrefixRefreshToken)
	if other == secret || Equal(other, hash) {
		t.Error("two secrets are equal or share a hash")
	}
	if HasPrefix(secret, PrefixAuthCode) {
		t.Error("HasPrefix matched another kind")
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if len(id) != 22 || strings.ContainsAny(id, "+/=") {
			t.Fatalf("NewID = %q: want 22 URL-safe characters", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
}
