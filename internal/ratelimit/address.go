package ratelimit

import (
	"context"
	"net"
	"net/http"
	"net/netip"
)

// Prefix lengths by which IPv6 peers are grouped. One customer of an ISP
// usually holds a whole /64, and a site (or a free tunnel broker account)
// a whole /48: an attacker with a /48 has 65,536 /64s to rotate through,
// so the /48 is limited too, with a larger budget.
const (
	narrowIPv6 = 64
	wideIPv6   = 48
)

// Address is a client address as the limits key it: Key is an IPv4
// address or an IPv6 /64; Wide is the IPv6 /48 around it ("" for IPv4,
// whose neighbours are usually strangers).
type Address struct {
	Key  string
	Wide string
}

// AddressOf answers the address of the request's TCP peer (r.RemoteAddr).
// X-Forwarded-For is ignored: it is whatever the client says unless a
// proxy we trust wrote it, and grantd is not told which proxies those are.
func AddressOf(r *http.Request) Address {
	return ParseAddress(r.RemoteAddr)
}

// ParseAddress answers the Address of a host:port (or a bare host). What
// is not an IP address (a Unix socket's peer) is its own key.
func ParseAddress(remote string) Address {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return Address{Key: host}
	}
	if ip.Is4() {
		return Address{Key: host}
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return Address{Key: ip.String()}
	}
	narrow, _ := ip.WithZone("").Prefix(narrowIPv6)
	wide, _ := ip.WithZone("").Prefix(wideIPv6)
	return Address{Key: narrow.String(), Wide: wide.String()}
}

// Tiers are the rates of a per-address limit: Narrow for the Key of an
// Address, Wide for its Wide.
type Tiers struct {
	Narrow, Wide Rate
}

// PerAddress is a limit per client address, in two tiers.
type PerAddress struct {
	narrow, wide Limiter
}

// NewPerAddress makes the limit name of l with the rates t.
func NewPerAddress(l Limits, name string, t Tiers) PerAddress {
	return PerAddress{narrow: l.Limiter(name, t.Narrow), wide: l.Limiter(name+"/wide", t.Wide)}
}

// Peek answers whether a has an attempt left in both tiers, spending
// nothing; a refusal is the tier that refused.
func (p PerAddress) Peek(ctx context.Context, a Address) Decision {
	d := p.narrow.Peek(ctx, a.Key)
	if !d.Allowed || a.Wide == "" {
		return d
	}
	if w := p.wide.Peek(ctx, a.Wide); !w.Allowed {
		return w
	}
	return d
}

// Take spends an attempt of a in both tiers, or, if either has none left,
// in neither.
func (p PerAddress) Take(ctx context.Context, a Address) Decision {
	d := p.narrow.Take(ctx, a.Key)
	if !d.Allowed || a.Wide == "" {
		return d
	}
	if w := p.wide.Take(ctx, a.Wide); !w.Allowed {
		p.narrow.Refund(ctx, a.Key)
		return w
	}
	return d
}

// Refund gives back an attempt taken in both tiers.
func (p PerAddress) Refund(ctx context.Context, a Address) {
	p.narrow.Refund(ctx, a.Key)
	if a.Wide != "" {
		p.wide.Refund(ctx, a.Wide)
	}
}
