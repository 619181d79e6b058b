package ratelimit

import (
	"context"
	"sync"
	"time"
)

// DefaultMaxKeys is how many keys an in-memory limiter holds at most when
// NewMemory is given no bound: about 100 bytes each, so a few MiB a
// limiter.
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
	l := &memLimiter{
		burst:   float64(max(1, r.Burst)),
		every:   max(time.Nanosecond, r.Every),
		now:     m.now,
		maxKeys: m.maxKeys,
		buckets: map[string]bucket{},
	}
	m.byName[name] = l
	return l
}

// memLimiter keeps only keys that have spent something: a key that is not
// in the map has a full bucket.
type memLimiter struct {
	burst   float64
	every   time.Duration
	now     func() time.Time
	maxKeys int

	mu        sync.Mutex
	buckets   map[string]bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// refilled answers b as it stands at now. A clock that steps back refills
// nothing.
func (l *memLimiter) refilled(b bucket, now time.Time) bucket {
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+float64(elapsed)/float64(l.every))
		b.at = now
	}
	return b
}

func (l *memLimiter) decision(tokens float64, allowed bool) Decision {
	d := Decision{Allowed: allowed, Limit: int(l.burst), Remaining: int(tokens)}
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
		return Decision{Allowed: true, Limit: int(l.burst), Remaining: int(l.burst)}
	}
	b = l.refilled(b, l.now())
	return l.decision(b.tokens, b.tokens >= 1)
}

func (l *memLimiter) Take(_ context.Context, key string) Decision {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		b = bucket{tokens: l.burst, at: now}
	}
	b = l.refilled(b, now)
	if b.tokens < 1 {
		l.buckets[key] = b
		return l.decision(b.tokens, false)
	}
	b.tokens--
	l.buckets[key] = b
	if !ok {
		l.bound(now)
	}
	return l.decision(b.tokens, true)
}

func (l *memLimiter) Refund(_ context.Context, key string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return // full already
	}
	b = l.refilled(b, now)
	b.tokens++
	if b.tokens >= l.burst {
		delete(l.buckets, key)
		return
	}
	l.buckets[key] = b
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
				if l.refilled(b, now).tokens >= l.burst {
					delete(l.buckets, k)
				}
			}
		}
		return
	}
	l.lastSweep = now
	target := l.maxKeys * 9 / 10
	for _, keep := range []float64{l.burst, 1, 0} {
		for k, b := range l.buckets {
			if len(l.buckets) <= target {
				return
			}
			if l.refilled(b, now).tokens >= keep {
				delete(l.buckets, k)
			}
		}
	}
}
