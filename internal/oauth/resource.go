package oauth

import (
	"net"
	"net/url"
	"slices"
	"strings"
)

// NormalizeResource answers the RFC 3986 §6.2.2–6.2.3 normal form of a
// resource indicator (RFC 8707): scheme and host lower-cased, the default
// port dropped, percent-encoded unreserved characters decoded and other
// percent-encodings in upper case, dot-segments removed, and an empty
// path made "/". It answers false for anything that is not an absolute
// URI without a fragment.
func NormalizeResource(raw string) (string, bool) {
	if raw == "" || len(raw) > MaxURILength {
		return "", false
	}
	// A resource indicator is a URI (RFC 8707 §2), and URIs are ASCII: an
	// IRI must arrive already converted.
	for i := 0; i < len(raw); i++ {
		if raw[i] >= 0x80 {
			return "", false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Hostname() == "" || u.Fragment != "" || strings.Contains(raw, "#") || u.User != nil {
		return "", false
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	// The host as url.Parse decoded it must still be a reg-name of RFC
	// 3986 §3.2.2 (or an IPv6 literal, below): "%80" decodes to a byte
	// that is no part of a URI.
	if strings.ContainsFunc(host, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~!$&'()*+,;=:", r))
	}) {
		return "", false
	}
	if strings.Contains(host, ":") {
		// Only an IPv6 literal may hold colons; "https://::" is no host.
		if net.ParseIP(host) == nil {
			return "", false
		}
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	// EscapedPath keeps the encoding the URI was written with, so that
	// "%2F" (a character of a segment) stays apart from "/" (a separator).
	path := removeDotSegments(normalizePercent(u.EscapedPath()))
	if path == "" {
		path = "/"
	}
	out := u.Scheme + "://" + host + path
	if u.RawQuery != "" || u.ForceQuery {
		out += "?" + normalizePercent(u.RawQuery)
	}
	return out, true
}

// normalizePercent decodes percent-encoded unreserved characters and
// writes every other percent-encoding with upper-case hex digits (RFC 3986
// §6.2.2.1–2): the spellings of one URI meet, different URIs stay apart.
func normalizePercent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			b.WriteByte(s[i])
			continue
		}
		c := unhex(s[i+1])<<4 | unhex(s[i+2])
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(upperHex(s[i+1]))
			b.WriteByte(upperHex(s[i+2]))
		}
		i += 2
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// isUnreserved reports whether c is an unreserved character of RFC 3986
// §2.3, which means the same encoded or not.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// removeDotSegments is the algorithm of RFC 3986 §5.2.4 on an absolute
// path (or an empty one).
func removeDotSegments(in string) string {
	var out string
	dropLast := func() {
		if i := strings.LastIndexByte(out, '/'); i >= 0 {
			out = out[:i]
		} else {
			out = ""
		}
	}
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			dropLast()
		case in == "/..":
			in = "/"
			dropLast()
		case in == "." || in == "..":
			in = ""
		default:
			// Move the first segment, with its leading "/", to out.
			end := strings.IndexByte(in[1:], '/') + 1
			if end == 0 {
				end = len(in)
			}
			out += in[:end]
			in = in[end:]
		}
	}
	return out
}

// Resource is one protected resource of the registry.
type Resource struct {
	// ID is the identifier as configured; it becomes a token's aud.
	ID string
	// Name is shown on the consent page; "" for none.
	Name string
	// Scopes are the scopes the resource accepts; nil accepts every scope.
	Scopes []string
	// TrailingSlashEquivalent makes "http://h/mcp" and "http://h/mcp/"
	// the same resource.
	TrailingSlashEquivalent bool
}

// Accepts reports whether a token for the resource may carry scope s.
func (r Resource) Accepts(s string) bool {
	return r.Scopes == nil || slices.Contains(r.Scopes, s)
}

// Resources is the registry of resources tokens may be issued for. Each
// is kept as configured (its ID becomes the token's aud) and matched by
// normal form.
type Resources struct {
	byNorm map[string]int
	list   []Resource
}

// NewResources makes the registry; it answers false, with the value, for
// an identifier that is not an absolute URI. Of two entries of one normal
// form the first is kept.
func NewResources(values []Resource) (*Resources, string, bool) {
	rs := &Resources{byNorm: map[string]int{}}
	for _, v := range values {
		n, ok := NormalizeResource(v.ID)
		if !ok {
			return nil, v.ID, false
		}
		if _, dup := rs.byNorm[n]; dup {
			continue
		}
		rs.byNorm[n] = len(rs.list)
		if v.TrailingSlashEquivalent {
			if alt, ok := slashTwin(n); ok {
				if _, taken := rs.byNorm[alt]; !taken {
					rs.byNorm[alt] = len(rs.list)
				}
			}
		}
		rs.list = append(rs.list, v)
	}
	return rs, "", true
}

// slashTwin answers the normal form that differs from n only by a
// trailing slash of its path: none for a root path or one with a query.
func slashTwin(n string) (string, bool) {
	rest := n[strings.Index(n, "://")+3:]
	if strings.Contains(n, "?") || !strings.Contains(rest, "/") || strings.HasSuffix(rest, "/") && strings.Count(rest, "/") == 1 {
		return "", false
	}
	if strings.HasSuffix(n, "/") {
		return strings.TrimSuffix(n, "/"), true
	}
	return n + "/", true
}

// Match answers the configured identifier a requested resource names.
func (rs *Resources) Match(requested string) (string, bool) {
	r, ok := rs.Lookup(requested)
	return r.ID, ok
}

// Lookup answers the resource a requested identifier names.
func (rs *Resources) Lookup(requested string) (Resource, bool) {
	n, ok := NormalizeResource(requested)
	if !ok {
		return Resource{}, false
	}
	i, ok := rs.byNorm[n]
	if !ok {
		return Resource{}, false
	}
	return rs.list[i], true
}

// List answers the configured identifiers in order.
func (rs *Resources) List() []string {
	out := make([]string, len(rs.list))
	for i, r := range rs.list {
		out[i] = r.ID
	}
	return out
}
