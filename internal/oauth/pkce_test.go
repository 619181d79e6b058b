package oauth

import (
	"strings"
	"testing"
)

func TestS256(t *testing.T) {
	t.Parallel()
	// RFC 7636 Appendix B.
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if got := S256(verifier); got != challenge {
		t.Fatalf("S256 = %q, want %q", got, challenge)
	}
	if !VerifyPKCE(challenge, verifier) {
		t.Fatal("VerifyPKCE(right verifier) = false")
	}
	if VerifyPKCE(challenge, verifier[:42]+"A") {
		t.Fatal("VerifyPKCE(wrong verifier) = true")
	}
	if VerifyPKCE(verifier, verifier) {
		t.Fatal("VerifyPKCE accepted the plain method")
	}
}

func TestValidVerifier(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{strings.Repeat("a", 42), false},
		{strings.Repeat("a", 43), true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("a", 42) + "+", false},
		{strings.Repeat("a", 42) + "~", true},
		{strings.Repeat("a", 42) + " ", false},
	} {
		if got := ValidVerifier(tc.v); got != tc.want {
			t.Errorf("ValidVerifier(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
	if !ValidChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") || ValidChallenge("short") || ValidChallenge(strings.Repeat("!", 43)) {
		t.Fatal("ValidChallenge misjudges")
	}
}
