package web

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Sign-in limits. Per address they stop one machine from guessing many
// accounts' passwords (and from spending the server's CPU on argon2id);
// per email they stop many machines from guessing one account's. A person
// who mistypes a few times never meets either.
const (
	loginPerIPBurst    = 20
	loginPerIPEvery    = 15 * time.Second // 4 a minute once the burst is spent
	loginPerEmailBurst = 10
	loginPerEmailEvery = time.Minute
)

// maxLimiterKeys is the size above which the limiter forgets keys that are
// back to a full bucket, which it may do since forgetting one changes
// nothing.
const maxLimiterKeys = 10_000

// limiter is an in-memory token bucket per key. It is per process: a
// deployment of several nodes allows each node's limit.
type limiter struct {
	mu        sync.Mutex
	burst     float64
	every     time.Duration
	buckets   map[string]bucket
	lastPrune time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(burst int, every time.Duration) *limiter {
	return &limiter{burst: float64(burst), every: every, buckets: map[string]bucket{}}
}

// take spends one attempt of key. It answers zero when the attempt may go
// ahead, else how long until it may.
func (l *limiter) take(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key, now)
	if b.tokens < 1 {
		l.buckets[key] = b
		return time.Duration((1 - b.tokens) * float64(l.every))
	}
	b.tokens--
	l.buckets[key] = b
	if len(l.buckets) > maxLimiterKeys && now.Sub(l.lastPrune) > time.Second {
		l.lastPrune = now
		for k := range l.buckets {
			if l.refill(k, now).tokens >= l.burst {
				delete(l.buckets, k)
			}
		}
	}
	return 0
}

// reset forgets key: a successful sign-in proves the attempts were the
// owner's.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, key)
}

func (l *limiter) refill(key string, now time.Time) bucket {
	b, ok := l.buckets[key]
	if !ok {
		return bucket{tokens: l.burst, at: now}
	}
	if elapsed := now.Sub(b.at); elapsed > 0 { // a clock that steps back refills nothing
		b.tokens = min(l.burst, b.tokens+float64(elapsed)/float64(l.every))
		b.at = now
	}
	return b
}

// clientIP answers the key of the request's peer address. An IPv6 peer is
// keyed by its /64, which one customer of an ISP usually holds whole.
// X-Forwarded-For is ignored: it is whatever the client says unless a
// proxy we trust wrote it, and grantd is not told which proxies those are.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
