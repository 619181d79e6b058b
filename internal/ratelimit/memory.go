package ratelimit

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys is how many keys an in-memory limiter holds at most when
// NewMemory is given no bound: about 170 bytes each (the map entry and a
// rate.Limiter; 90 before the buckets were rate.Limiters), so some 8 MiB
// a limiter at most.
const DefaultMaxKeys = 50_000

// sweepEvery is how often a limiter forgets keys whose bucket is full
// again: forgetting one changes nothing, and memory comes back.
const sweepEvery = time.Minute

// Memory makes in-memory limiters: per process, forgotten at restart.
type Memory struct {
	now     func() time.Time
	maxKeys int

	mu     sync.Mutex
	byName map[string]*memLimiter
}

// NewMemory answers in-memory limits on the clock now (time.Now when nil),
// each limiter holding at most maxKeys keys (DefaultMaxKeys when 0).
func NewMemory(now func() time.Time, maxKeys int) *Memory {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Memory{now: now, maxKeys: maxKeys, byName: map[string]*memLimiter{}}
}

// Limiter answers the limiter of name, made with r on first use.
func (m *Memory) Limiter(name string, r Rate) Limiter {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.byName[name]; ok {
		return l
	}
	every := max(time.Nanosecond, r.Every)
	l := &memLimiter{
		burst:   max(1, r.Burst),
		limit:   rate.Every(every),
		every:   every,
		now:     m.now,
		maxKeys: m.maxKeys,
		buckets: map[string]bucket{},
	}
	m.byName[name] = l
	return l
}

// memLimiter keeps only keys that have spent something: a key that is not
// in the map has a full bucket. Each bucket is a golang.org/x/time/rate
// Limiter; the map around them, what it forgets and when, is this
// package's.
type memLimiter struct {
	burst   int
	limit   rate.Limit
	every   time.Duration
	now     func() time.Time
	maxKeys int

	mu        sync.Mutex
	buckets   map[string]bucket
	lastSweep time.Time
}

// bucket is one key's token bucket and the latest time it was used at: a
// clock that steps back is read as that time, so it refills nothing (a
// rate.Limiter would count the time between twice).
type bucket struct {
	lim *rate.Limiter
	at  time.Time
}

// newBucket answers a bucket that holds tokens (at most the burst) at now.
// A rate.Limiter starts full and has no way to be given tokens back, so
// this one spends its whole burst at the instant it would have refilled
// to tokens by now.
func (l *memLimiter) newBucket(tokens float64, now time.Time) bucket {
	lim := rate.NewLimiter(l.limit, l.burst)
	if tokens < float64(l.burst) {
		lim.AllowN(now.Add(-time.Duration(tokens*float64(l.every))), l.burst)
	}
	return bucket{lim: lim, at: now}
}

// when answers the time b is read at: now, or the time it was last used
// when the clock stepped back since.
func (b bucket) when(now time.Time) time.Time {
	if now.Before(b.at) {
		return b.at
	}
	return now
}

// tokens answers how many attempts b holds at now.
func (b bucket) tokens(now time.Time) float64 {
	return b.lim.TokensAt(b.when(now))
}

func (l *memLimiter) decision(tokens float64, allowed bool) Decision {
	d := Decision{Allowed: allowed, Limit: l.burst, Remaining: int(tokens)}
	if !allowed {
		d.RetryAfter = time.Duration((1 - tokens) * float64(l.every))
	}
	return d
}

func (l *memLimiter) Peek(_ context.Context, key string) Decision {
	l.mu.Lock()
	b, ok := l.buckets[key]
	l.mu.Unlock()
	if !ok {
		return Decision{Allowed: true, Limit: l.burst, Remaining: l.burst}
	}
	tokens := b.tokens(l.now())
	return l.decision(tokens, tokens >= 1)
}

func (l *memLimiter) Take(_ context.Context, key string) Decision {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		b = l.newBucket(float64(l.burst), now)
	}
	b.at = b.when(now)
	// A refused AllowN spends nothing.
	allowed := b.lim.AllowN(b.at, 1)
	l.buckets[key] = b
	if allowed && !ok {
		l.bound(now)
	}
	return l.decision(b.lim.TokensAt(b.at), allowed)
}

func (l *memLimiter) Refund(_ context.Context, key string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return // full already
	}
	at := b.when(now)
	tokens := b.lim.TokensAt(at) + 1
	if tokens >= float64(l.burst) {
		delete(l.buckets, key)
		return
	}
	l.buckets[key] = l.newBucket(tokens, at)
}

func (l *memLimiter) Reset(_ context.Context, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.buckets, key)
}

// bound keeps memory bounded after a key was added: once a minute it
// forgets the keys whose bucket is full again, and above maxKeys it makes
// room down to nine tenths of it at once (so that this runs rarely):
// first full buckets, then keys that still have attempts left, and only
// last keys that are being refused, which are what the limit is for.
// Go's map order is random, so which of a kind go is not predictable by
// a caller trying to have its own keys forgotten.
func (l *memLimiter) bound(now time.Time) {
	if len(l.buckets) <= l.maxKeys {
		if now.Sub(l.lastSweep) >= sweepEvery {
			l.lastSweep = now
			for k, b := range l.buckets {
				if b.tokens(now) >= float64(l.burst) {
					delete(l.buckets, k)
				}
			}
		}
		return
	}
	l.lastSweep = now
	target := l.maxKeys * 9 / 10
	for _, keep := range []float64{float64(l.burst), 1, 0} {
		for k, b := range l.buckets {
			if len(l.buckets) <= target {
				return
			}
			if b.tokens(now) >= keep {
				delete(l.buckets, k)
			}
		}
	}
}
