package oauth

import (
	"net/url"
	"testing"
)

// FuzzMatchRedirectURI: whatever a request sends as redirect_uri, a match
// never leads anywhere but a registered URI's scheme, host and path — the
// loopback port being the one thing that may differ (RFC 8252 §7.3).
func FuzzMatchRedirectURI(f *testing.F) {
	registered := []string{"https://app.example.com/cb", "http://127.0.0.1/callback", "com.example.app:/oauth", "http://[::1]:8080/cb?x=1"}
	for _, s := range []string{
		"https://app.example.com/cb", "https://app.example.com/cb/", "https://app.example.com@evil.example/cb",
		"https://APP.example.com/cb", "http://127.0.0.1:5555/callback", "http://127.0.0.1:5555/callback#x",
		"http://localhost/callback", "com.example.app:/oauth", "http://[::1]:9/cb?x=1", "https://app.example.com%2F@evil/cb",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, requested string) {
		if !MatchRedirectURI(registered, requested) {
			return
		}
		req, err := url.Parse(requested)
		if err != nil {
			t.Fatalf("matched %q, which does not parse: %v", requested, err)
		}
		for _, r := range registered {
			if r == requested {
				return
			}
			reg, _ := url.Parse(r)
			if reg.Scheme == "http" && req.Scheme == "http" && reg.Hostname() == req.Hostname() && IsLoopbackHost(req.Hostname()) &&
				reg.EscapedPath() == req.EscapedPath() && reg.RawQuery == req.RawQuery && req.User == nil && req.Fragment == "" {
				return
			}
		}
		t.Fatalf("%q matched, but is no registered URI nor a loopback one with another port", requested)
	})
}

// FuzzNormalizeResource: the normal form is a fixed point, and what it
// accepts is an absolute URI without a fragment.
func FuzzNormalizeResource(f *testing.F) {
	for _, s := range []string{"https://api.example.com", "HTTPS://API.example.com:443/v1/../v2/%7e", "http://[::1]:80", "urn:x", "https://a/b#c", "https://a/%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, ok := NormalizeResource(raw)
		if !ok {
			return
		}
		u, err := url.Parse(n)
		if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
			t.Fatalf("NormalizeResource(%q) = %q, not an absolute URI without a fragment", raw, n)
		}
		if n2, ok := NormalizeResource(n); !ok || n2 != n {
			t.Fatalf("not a fixed point: %q -> %q -> %q (%v)", raw, n, n2, ok)
		}
	})
}
