package token

import (
	"strings"
	"testing"
)

// TestEchoNeverShowsASecret: every kind of grantd secret, cut to any
// length, a JWT and values with characters a password would have are
// never echoed; short plain values (the typo of a scope or grant type)
// are, quoted.
func TestEchoNeverShowsASecret(t *testing.T) {
	t.Parallel()
	var secrets []string
	for _, p := range []string{PrefixAPIKey, PrefixClientSecret, PrefixRefreshToken, PrefixAuthCode, PrefixConsentToken, PrefixSession, PrefixRegistrationToken} {
		s, _ := NewOpaque(p)
		secrets = append(secrets, s, strings.ToUpper(s))
		for n := len("grantd_"); n <= len(s); n++ {
			secrets = append(secrets, s[:n], "x"+s[:n])
		}
	}
	secrets = append(secrets,
		"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", // a JWT
		"eyJhbGci",              // the start of one
		"hunter2!",              // a password with a symbol
		"correct horse",         // a space
		"pässwörd",              // not ASCII
		"a\x00b", "a\nb", `a"b`, // control characters, a quote
		strings.Repeat("a", MaxEcho+1),
	)
	for _, s := range secrets {
		if Echoable(s) {
			t.Errorf("Echoable(%q) = true", s)
		}
		if got := Echo(s); got != NotShown {
			t.Errorf("Echo(%q) = %q", s, got)
		}
	}
	for _, v := range []string{"", "password", "nosuchscope", "payments:write", "filter[name]", "urn:x", strings.Repeat("a", MaxEcho)} {
		if got, want := Echo(v), `"`+v+`"`; got != want {
			t.Errorf("Echo(%q) = %q, want %q", v, got, want)
		}
	}
	// A name the endpoint defines is shown whatever its length.
	if got := Echo("token_endpoint_auth_method", "scope", "token_endpoint_auth_method"); got != `"token_endpoint_auth_method"` {
		t.Errorf("a known name: Echo = %q", got)
	}
	if got := Echo(secrets[0], "scope"); got != NotShown {
		t.Errorf("a secret with a vocabulary: Echo = %q", got)
	}
}
