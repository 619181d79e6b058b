package cimd

import (
	"fmt"
	"strings"
)

// Domains is a domain policy: allow and deny patterns. A pattern is a
// host name ("app.example.com") or a wildcard for the names under a
// domain ("*.example.com", which does not match example.com itself); a
// pattern prefixed with "!" denies. A host matching a deny pattern is
// refused; otherwise, when there are allow patterns, the host must match
// one; with none, every host is allowed. The nil *Domains allows every
// host.
type Domains struct {
	allow, deny []string
}

// ParseDomains reads a comma-separated list of patterns ("" for none).
func ParseDomains(s string) (*Domains, error) {
	d := &Domains{}
	for _, p := range strings.Split(s, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		deny := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		name := strings.TrimPrefix(p, "*.")
		if !validName(name) {
			return nil, fmt.Errorf("%q is not a host name pattern (app.example.com, *.example.com, !bad.example.com)", p)
		}
		if deny {
			d.deny = append(d.deny, p)
		} else {
			d.allow = append(d.allow, p)
		}
	}
	return d, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

func match(pattern, host string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	return host == pattern
}

// Allows reports whether documents may be fetched from host (lower case,
// without port).
func (d *Domains) Allows(host string) bool {
	if d == nil {
		return true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, p := range d.deny {
		if match(p, host) {
			return false
		}
	}
	if len(d.allow) == 0 {
		return true
	}
	for _, p := range d.allow {
		if match(p, host) {
			return true
		}
	}
	return false
}
