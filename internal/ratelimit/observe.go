package ratelimit

import "context"

// ModeOf answers where l keeps its counts now: ModeRedis for Redis
// limits while Redis answers, ModeLocal otherwise (in memory, per node).
func ModeOf(l Limits) string {
	if m, ok := l.(interface{ Mode() string }); ok {
		return m.Mode()
	}
	return ModeLocal
}

// Observe answers l with limited called, with the limiter's name, each
// time one of its limiters refuses: a Peek or a Take that answers not
// Allowed. The name is the one the limiter was made with ("api-key", and
// "api-key/wide" for the IPv6 /48 tier of a per-address limit). limited
// must be quick and safe to call concurrently; nil answers l itself.
func Observe(l Limits, limited func(limit string)) Limits {
	if limited == nil {
		return l
	}
	return &observed{l: l, limited: limited}
}

type observed struct {
	l       Limits
	limited func(string)
}

func (o *observed) Limiter(name string, r Rate) Limiter {
	return observedLimiter{Limiter: o.l.Limiter(name, r), name: name, limited: o.limited}
}

// Mode answers the mode of the limits observed.
func (o *observed) Mode() string { return ModeOf(o.l) }

type observedLimiter struct {
	Limiter
	name    string
	limited func(string)
}

func (o observedLimiter) Peek(ctx context.Context, key string) Decision {
	d := o.Limiter.Peek(ctx, key)
	if !d.Allowed {
		o.limited(o.name)
	}
	return d
}

func (o observedLimiter) Take(ctx context.Context, key string) Decision {
	d := o.Limiter.Take(ctx, key)
	if !d.Allowed {
		o.limited(o.name)
	}
	return d
}
