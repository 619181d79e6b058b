package ratelimit

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/grantd/grantd/internal/ratelimit/redistest"
)

// newLimits makes the limits under test on the clock now (the backend's
// own when nil).
type newLimits func(t *testing.T, now func() time.Time) Limits

// forEachBackend runs test against the in-memory limits and the Redis
// ones (on the shared test Redis, under a prefix of the test's own), so
// that both answer the same table the same way.
func forEachBackend(t *testing.T, test func(*testing.T, newLimits)) {
	t.Run("memory", func(t *testing.T) {
		test(t, func(_ *testing.T, now func() time.Time) Limits { return NewMemory(now, 0) })
	})
	t.Run("redis", func(t *testing.T) {
		test(t, func(t *testing.T, now func() time.Time) Limits {
			url, prefix := redistest.Shared(t)
			return newRedis(t, RedisConfig{URL: url, Prefix: prefix, Now: now})
		})
	})
}

// newRedis makes Redis limits that must stay on Redis: the timeout is
// generous (the machine running the tests may be busy) and the fallback
// fails the test, so that a table cannot pass on the fallback.
func newRedis(t *testing.T, cfg RedisConfig) *Redis {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Fallback == nil {
		cfg.Fallback = noFallback{t}
	}
	r, err := NewRedis(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if r.Mode() != ModeRedis {
		t.Fatalf("Redis at %s: mode %s, want redis", cfg.URL, r.Mode())
	}
	return r
}

// noFallback fails the test when a limiter falls back (Reset, which
// resets the fallback too, is not falling back).
type noFallback struct{ t *testing.T }

func (n noFallback) Limiter(name string, r Rate) Limiter {
	return failingLimiter{n.t, name}
}

type failingLimiter struct {
	t    *testing.T
	name string
}

func (f failingLimiter) fail() { f.t.Errorf("limiter %s fell back to local limits", f.name) }
func (f failingLimiter) Peek(context.Context, string) Decision {
	f.fail()
	return Decision{}
}
func (f failingLimiter) Take(context.Context, string) Decision {
	f.fail()
	return Decision{}
}
func (f failingLimiter) Refund(context.Context, string) { f.fail() }
func (f failingLimiter) Reset(context.Context, string)  {} // Reset forgets locally too

// client answers a plain client of url, to look at the keys.
func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRedisShared: two nodes' limits on one Redis are one count, on
// Redis's own clock.
func TestRedisShared(t *testing.T) {
	ctx := context.Background()
	url, prefix := redistest.Shared(t)
	a := newRedis(t, RedisConfig{URL: url, Prefix: prefix}).Limiter("shared", Rate{Burst: 3, Every: time.Hour})
	b := newRedis(t, RedisConfig{URL: url, Prefix: prefix}).Limiter("shared", Rate{Burst: 3, Every: time.Hour})
	for i := range 3 {
		if d := a.Take(ctx, "k"); !d.Allowed || d.Remaining != 2-i {
			t.Fatalf("take %d on A: %+v", i+1, d)
		}
	}
	d := b.Take(ctx, "k")
	if d.Allowed {
		t.Fatalf("B after A spent the burst: %+v, want refused", d)
	}
	if d.RetryAfter <= 59*time.Minute || d.RetryAfter > time.Hour {
		t.Errorf("B's wait %v, want about an hour (Redis's clock)", d.RetryAfter)
	}
	b.Refund(ctx, "k")
	if d := a.Peek(ctx, "k"); !d.Allowed || d.Remaining != 1 {
		t.Errorf("A after B's refund: %+v, want one back", d)
	}
	b.Reset(ctx, "k")
	if d := a.Peek(ctx, "k"); d.Remaining != 3 {
		t.Errorf("A after B's reset: %+v, want full", d)
	}
	// Another prefix is another count.
	other := newRedis(t, RedisConfig{URL: url, Prefix: redistest.Prefix(t)}).Limiter("shared", Rate{Burst: 3, Every: time.Hour})
	a.Take(ctx, "k")
	if d := other.Peek(ctx, "k"); d.Remaining != 3 {
		t.Errorf("another prefix: %+v, want full", d)
	}
}

// TestRedisKeysExpire: a bucket's key is under the prefix and expires
// once the bucket would be full again; a full bucket leaves no key.
func TestRedisKeysExpire(t *testing.T) {
	ctx := context.Background()
	url, prefix := redistest.Shared(t)
	c := &clock{t: t0}
	l := newRedis(t, RedisConfig{URL: url, Prefix: prefix, Now: c.now}).Limiter("ttl", Rate{Burst: 2, Every: time.Minute})
	rc := client(t, url)
	key := prefix + "ttl:k"
	l.Take(ctx, "k")
	l.Take(ctx, "k")
	ttl, err := rc.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// Two minutes until full, and a second's margin.
	if ttl <= 2*time.Minute || ttl > 2*time.Minute+time.Second {
		t.Errorf("TTL of %s: %v, want about 2m1s", key, ttl)
	}
	l.Refund(ctx, "k")
	l.Refund(ctx, "k")
	if n, err := rc.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("after refunds to full, %s exists (%d, %v)", key, n, err)
	}
	l.Peek(ctx, "never-taken")
	if keys, err := rc.Keys(ctx, prefix+"*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("keys left: %v (%v), want none", keys, err)
	}
}

// TestRedisFallback stops Redis under the limits: every call is still
// answered, by the node's own limits (which still refuse past the
// burst), the mode turns local, and back to redis once Redis answers.
func TestRedisFallback(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	r, err := NewRedis(RedisConfig{URL: srv.URL(), Prefix: redistest.Prefix(t), Timeout: time.Second, HealthEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l := r.Limiter("fallback", Rate{Burst: 2, Every: time.Hour})
	if r.Mode() != ModeRedis {
		t.Fatalf("mode %s, want redis", r.Mode())
	}
	l.Take(ctx, "k")
	l.Take(ctx, "k")
	if d := l.Take(ctx, "k"); d.Allowed {
		t.Fatalf("third take on Redis: %+v, want refused", d)
	}

	srv.Stop()
	// The first call after the stop fails over, and is answered anyway.
	if d := l.Take(ctx, "k"); !d.Allowed || d.Remaining != 1 {
		t.Errorf("first take with Redis stopped: %+v, want allowed by the local limits", d)
	}
	if r.Mode() != ModeLocal {
		t.Errorf("mode %s with Redis stopped, want local", r.Mode())
	}
	l.Take(ctx, "k")
	if d := l.Take(ctx, "k"); d.Allowed {
		t.Errorf("past the burst with Redis stopped: %+v, want refused by the local limits", d)
	}

	srv.Restart()
	eventually(t, "mode redis after Redis restarted", func() bool { return r.Mode() == ModeRedis })
	// Redis restarted empty: the bucket there is full.
	if d := l.Take(ctx, "k"); !d.Allowed || d.Remaining != 1 {
		t.Errorf("take after Redis came back: %+v, want Redis's full bucket", d)
	}
	if n, err := client(t, srv.URL()).Exists(ctx, r.prefix+"fallback:k").Result(); err != nil || n != 1 {
		t.Errorf("the take after Redis came back did not reach it (%d, %v)", n, err)
	}
}

// TestRedisDownAtStart: limits made while Redis does not answer start
// local, and turn shared when it does.
func TestRedisDownAtStart(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	r, err := NewRedis(RedisConfig{URL: srv.URL(), Prefix: redistest.Prefix(t), HealthEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Mode() != ModeLocal {
		t.Errorf("mode %s with no Redis, want local", r.Mode())
	}
	if d := r.Limiter("x", Rate{Burst: 1, Every: time.Hour}).Take(context.Background(), "k"); !d.Allowed {
		t.Errorf("take with no Redis: %+v, want allowed", d)
	}
	srv.Restart()
	eventually(t, "mode redis once Redis answers", func() bool { return r.Mode() == ModeRedis })
}

func TestRedisBadURL(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:6379", "redis://127.0.0.1:6379/notadb", "redis://127.0.0.1:6379?bogus=1"} {
		if err := ParseRedisURL(u); err == nil {
			t.Errorf("ParseRedisURL(%q) accepted it", u)
		}
		if _, err := NewRedis(RedisConfig{URL: u}); err == nil {
			t.Errorf("NewRedis(%q) accepted it", u)
		}
	}
}

// TestObserve: the hook hears every refusal, by the limiter's name, and
// nothing else; the mode shows through.
func TestObserve(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var heard []string
	o := Observe(NewMemory(func() time.Time { return t0 }, 0), func(name string) {
		mu.Lock()
		defer mu.Unlock()
		heard = append(heard, name)
	})
	l := o.Limiter("obs", Rate{Burst: 1, Every: time.Hour})
	l.Peek(ctx, "k")
	l.Take(ctx, "k")
	l.Take(ctx, "k")
	l.Peek(ctx, "k")
	l.Refund(ctx, "k")
	l.Take(ctx, "k")
	if got := strings.Join(heard, ","); got != "obs,obs" {
		t.Errorf("heard %q, want obs twice (the refused take and peek)", got)
	}
	if ModeOf(o) != ModeLocal {
		t.Errorf("mode %s, want local", ModeOf(o))
	}
	if Observe(o, nil) != o {
		t.Error("Observe with no hook wraps")
	}
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkTake: one Take on a key that has attempts left, in memory and
// in Redis (one round trip to the shared test Redis, on loopback).
func BenchmarkTake(b *testing.B) {
	ctx := context.Background()
	rt := Rate{Burst: 1 << 30, Every: time.Nanosecond}
	b.Run("memory", func(b *testing.B) {
		l := NewMemory(nil, 0).Limiter("bench", rt)
		for b.Loop() {
			l.Take(ctx, "k")
		}
	})
	b.Run("redis", func(b *testing.B) {
		url, prefix := redistest.Shared(b)
		r, err := NewRedis(RedisConfig{URL: url, Prefix: prefix, Timeout: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		l := r.Limiter("bench", rt)
		for b.Loop() {
			if d := l.Take(ctx, "k"); !d.Allowed {
				b.Fatal("refused")
			}
		}
		if r.Mode() != ModeRedis {
			b.Fatal("fell back")
		}
	})
}
