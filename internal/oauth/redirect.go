package oauth

import (
	"net"
	"net/url"
	"strings"
)

// MaxURILength bounds every URI a client registers.
const MaxURILength = 2000

// IsLoopbackHost reports whether host (without port) is a loopback
// address: 127.0.0.0/8, ::1, or the name localhost.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// CheckRedirectURI answers why a redirect URI may not be registered, or ""
// when it may: absolute, no fragment, and https, http on a loopback host
// (RFC 8252 §7.3), or a private-use scheme with a dot (RFC 8252 §7.1,
// "com.example.app:/cb").
func CheckRedirectURI(raw string) string {
	if raw == "" {
		return "must not be empty"
	}
	if len(raw) > MaxURILength {
		return "is longer than 2000 characters"
	}
	if strings.ContainsAny(raw, " \t\r\n\\<>\"") {
		return "contains characters that are not allowed in a URI"
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "must be an absolute URI"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "must not contain a fragment"
	}
	if u.User != nil {
		return "must not contain user information"
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" || u.Hostname() == "" {
			return "must have a host"
		}
		return ""
	case "http":
		if !IsLoopbackHost(u.Hostname()) {
			return "http is allowed only on a loopback host (127.0.0.1, [::1], localhost); use https"
		}
		return ""
	default:
		if !strings.Contains(u.Scheme, ".") {
			return "must use https, http on a loopback host, or a private-use scheme such as com.example.app"
		}
		return ""
	}
}

// CheckWebURI answers why a logo, terms or policy URI is not acceptable,
// or "" when it is: an absolute http(s) URL.
func CheckWebURI(raw string) string {
	if len(raw) > MaxURILength {
		return "is longer than 2000 characters"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "must be an absolute http or https URL"
	}
	if u.User != nil {
		return "must not contain user information"
	}
	return ""
}

// MatchRedirectURI reports whether the requested redirect URI equals a
// registered one. The match is exact, character for character, except that
// for a loopback http redirect the port may differ (RFC 8252 §7.3).
func MatchRedirectURI(registered []string, requested string) bool {
	for _, r := range registered {
		if r == requested {
			return true
		}
	}
	req, err := url.Parse(requested)
	if err != nil || req.Scheme != "http" || !IsLoopbackHost(req.Hostname()) || req.User != nil || req.Fragment != "" {
		return false
	}
	for _, r := range registered {
		reg, err := url.Parse(r)
		if err != nil || reg.Scheme != "http" || !IsLoopbackHost(reg.Hostname()) {
			continue
		}
		if reg.Hostname() == req.Hostname() && reg.EscapedPath() == req.EscapedPath() &&
			reg.RawQuery == req.RawQuery && reg.ForceQuery == req.ForceQuery && req.Opaque == "" && reg.Opaque == "" {
			return true
		}
	}
	return false
}
