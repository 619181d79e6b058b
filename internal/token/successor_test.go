package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// TestRefreshSuccessor: the successor of a refresh token is the same on
// every node that shares the master key (so a retry finds the row its
// first attempt stored), differs per token and per master key, looks like
// any refresh token, and is not an HMAC keyed with the master key itself
// (the key is derived for this one purpose).
func TestRefreshSuccessor(t *testing.T) {
	t.Parallel()
	newRing := func(b byte) *Keyring {
		r, err := NewKeyring(KeyringConfig{Store: newMemKeys(), MasterKey: testMaster(b), MaxAccessTTL: testTTL})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	node1, node2, other := newRing(1), newRing(1), newRing(2)
	tok, _ := NewOpaque(PrefixRefreshToken)

	s := node1.RefreshSuccessor(tok)
	if s != node2.RefreshSuccessor(tok) {
		t.Error("two key rings with one master key derive different successors")
	}
	if s == other.RefreshSuccessor(tok) {
		t.Error("another master key derives the same successor")
	}
	tok2, _ := NewOpaque(PrefixRefreshToken)
	if s == node1.RefreshSuccessor(tok2) || s == tok {
		t.Error("the successor does not depend on the presented token")
	}
	if !strings.HasPrefix(s, PrefixRefreshToken) || len(s) != len(tok) {
		t.Errorf("successor %q does not look like a refresh token (%q)", s, tok)
	}
	raw := hmac.New(sha256.New, testMaster(1))
	raw.Write([]byte(tok))
	if s == PrefixRefreshToken+base64.RawURLEncoding.EncodeToString(raw.Sum(nil)) {
		t.Error("the successor is keyed with the master key itself")
	}
}
