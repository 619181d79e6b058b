package oauth

import (
	"net/url"
	"strings"
)

// NormalizeResource answers the RFC 3986 §6.2.2 normal form of a resource
// indicator (RFC 8707): scheme and host lower-cased, the default port
// dropped, an empty path made "/", percent-encoding normalised by a
// re-encode. It answers false for anything that is not an absolute URI
// without a fragment.
func NormalizeResource(raw string) (string, bool) {
	if raw == "" || len(raw) > MaxURILength {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || strings.Contains(raw, "#") || u.User != nil {
		return "", false
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	u.Host = host
	if u.Path == "" {
		u.Path = "/"
		u.RawPath = ""
	}
	return u.String(), true
}

// Resources is the set of resource identifiers tokens may be issued for.
// Each is kept as configured (that string becomes the token's aud) and
// matched by normal form.
type Resources struct {
	byNorm map[string]string
	list   []string
}

// NewResources makes the set; it answers false for a value that is not an
// absolute URI.
func NewResources(values []string) (*Resources, string, bool) {
	rs := &Resources{byNorm: map[string]string{}}
	for _, v := range values {
		n, ok := NormalizeResource(v)
		if !ok {
			return nil, v, false
		}
		if _, dup := rs.byNorm[n]; dup {
			continue
		}
		rs.byNorm[n] = v
		rs.list = append(rs.list, v)
	}
	return rs, "", true
}

// Match answers the configured identifier a requested resource names.
func (rs *Resources) Match(requested string) (string, bool) {
	n, ok := NormalizeResource(requested)
	if !ok {
		return "", false
	}
	v, ok := rs.byNorm[n]
	return v, ok
}

// List answers the configured identifiers in order.
func (rs *Resources) List() []string { return append([]string(nil), rs.list...) }
