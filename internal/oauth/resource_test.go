package oauth

import "testing"

// TestNormalizeResource pins the RFC 3986 §6.2.2–6.2.3 normal form that
// resource indicators are compared in (SPEC §3, Token): two spellings of
// one URI must meet, and two URIs must not.
func TestNormalizeResource(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
	}{
		{"https://api.example.com/v1", "https://api.example.com/v1"},
		{"HTTPS://API.Example.COM/v1", "https://api.example.com/v1"},
		{"https://api.example.com:443/v1", "https://api.example.com/v1"},
		{"http://api.example.com:80/v1", "http://api.example.com/v1"},
		{"https://api.example.com:/v1", "https://api.example.com/v1"},
		{"https://api.example.com", "https://api.example.com/"},
		// §6.2.2.2: unreserved characters are decoded, the rest keep
		// their encoding with upper-case hex digits (§6.2.2.1).
		{"https://api.example.com/%76%31", "https://api.example.com/v1"},
		{"https://api.example.com/%7e%2d%2E%5F", "https://api.example.com/~-._"},
		{"https://api.example.com/a%2fb", "https://api.example.com/a%2Fb"},
		{"https://api.example.com/a%2Fb", "https://api.example.com/a%2Fb"},
		{"https://api.example.com/v1?x=%7a%3d", "https://api.example.com/v1?x=z%3D"},
		// §6.2.2.3: dot-segments are removed.
		{"https://api.example.com/./v1", "https://api.example.com/v1"},
		{"https://api.example.com/a/../v1", "https://api.example.com/v1"},
		{"https://api.example.com/a/b/../../v1/.", "https://api.example.com/v1/"},
		{"https://api.example.com/../v1", "https://api.example.com/v1"},
		{"https://api.example.com/%2E%2E/v1", "https://api.example.com/v1"},
		// A trailing slash is a different path, not a spelling of this one.
		{"https://api.example.com/v1/", "https://api.example.com/v1/"},
	} {
		got, ok := NormalizeResource(tc.in)
		if !ok || got != tc.want {
			t.Errorf("NormalizeResource(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"", "/v1", "urn:example", "https://api.example.com/v1#x", "https://u@api.example.com/"} {
		if got, ok := NormalizeResource(bad); ok {
			t.Errorf("NormalizeResource(%q) = %q, true; want false", bad, got)
		}
	}
}

func TestResourcesMatch(t *testing.T) {
	t.Parallel()
	rs, _, ok := NewResources([]Resource{{ID: "http://127.0.0.1:8080"}, {ID: "http://127.0.0.1:8080/v2"}})
	if !ok {
		t.Fatal("NewResources refused the defaults")
	}
	for _, tc := range []struct {
		requested, want string
	}{
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/%76%32", "http://127.0.0.1:8080/v2"},
		{"http://127.0.0.1:8080/x/../v2", "http://127.0.0.1:8080/v2"},
		{"http://127.0.0.1:8080/v2/", ""},
		{"http://127.0.0.1:8080/v2%2F", ""},
	} {
		got, ok := rs.Match(tc.requested)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Match(%q) = %q, %v; want %q", tc.requested, got, ok, tc.want)
		}
	}
}

// TestResourcesTrailingSlash: a resource marked trailing_slash_equivalent
// is matched with or without the slash, and answered as written; one not
// marked is matched only as written (after normalisation).
func TestResourcesTrailingSlash(t *testing.T) {
	t.Parallel()
	rs, _, ok := NewResources([]Resource{
		{ID: "http://127.0.0.1:8090/mcp", TrailingSlashEquivalent: true},
		{ID: "http://127.0.0.1:8091/mcp/", TrailingSlashEquivalent: true},
		{ID: "http://127.0.0.1:8092/mcp"},
		{ID: "http://127.0.0.1:8093/", TrailingSlashEquivalent: true},
	})
	if !ok {
		t.Fatal("NewResources refused the resources")
	}
	for _, tc := range []struct {
		requested, want string
	}{
		{"http://127.0.0.1:8090/mcp", "http://127.0.0.1:8090/mcp"},
		{"http://127.0.0.1:8090/mcp/", "http://127.0.0.1:8090/mcp"},
		{"http://127.0.0.1:8090/MCP/", ""},
		{"http://127.0.0.1:8090/mcp//", ""},
		{"http://127.0.0.1:8091/mcp", "http://127.0.0.1:8091/mcp/"},
		{"http://127.0.0.1:8091/mcp/", "http://127.0.0.1:8091/mcp/"},
		{"http://127.0.0.1:8092/mcp", "http://127.0.0.1:8092/mcp"},
		{"http://127.0.0.1:8092/mcp/", ""},
		{"http://127.0.0.1:8093", "http://127.0.0.1:8093/"},
	} {
		got, ok := rs.Match(tc.requested)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Match(%q) = %q, %v; want %q", tc.requested, got, ok, tc.want)
		}
	}
}
