package ratelimit

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// clock is a hand-moved clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t0.Add(d)
}

func TestBucket(t *testing.T) { forEachBackend(t, testBucket) }

func testBucket(t *testing.T, newLimits newLimits) {
	ctx := context.Background()
	c := &clock{t: t0}
	l := newLimits(t, c.now).Limiter("test", Rate{Burst: 3, Every: 10 * time.Second})
	const (
		peek = iota
		take
		refund
		reset
	)
	steps := []struct {
		at      time.Duration
		op      int
		key     string
		allowed bool
		left    int
		wait    time.Duration
	}{
		{0, peek, "a", true, 3, 0},
		{0, take, "a", true, 2, 0},
		{0, peek, "a", true, 2, 0}, // a peek spends nothing
		{0, take, "a", true, 1, 0},
		{0, take, "a", true, 0, 0},
		{0, peek, "a", false, 0, 10 * time.Second},
		{0, take, "a", false, 0, 10 * time.Second}, // burst spent
		{0, take, "b", true, 2, 0},                 // other keys are their own
		{5 * time.Second, take, "a", false, 0, 5 * time.Second},
		{10 * time.Second, take, "a", true, 0, 0}, // one back
		{10 * time.Second, take, "a", false, 0, 10 * time.Second},
		{5 * time.Second, take, "a", false, 0, 10 * time.Second}, // a clock stepping back refills nothing
		{10 * time.Second, refund, "a", false, 0, 0},
		{10 * time.Second, peek, "a", true, 1, 0}, // the refund is back
		{10 * time.Second, reset, "a", false, 0, 0},
		{10 * time.Second, peek, "a", true, 3, 0},
		{10 * time.Second, refund, "c", false, 0, 0}, // refunding a full bucket adds nothing
		{10 * time.Second, peek, "c", true, 3, 0},
		{time.Hour, peek, "b", true, 3, 0},
	}
	for i, s := range steps {
		c.set(s.at)
		var d Decision
		switch s.op {
		case peek:
			d = l.Peek(ctx, s.key)
		case take:
			d = l.Take(ctx, s.key)
		case refund:
			l.Refund(ctx, s.key)
			continue
		case reset:
			l.Reset(ctx, s.key)
			continue
		}
		want := Decision{Allowed: s.allowed, Limit: 3, Remaining: s.left, RetryAfter: s.wait}
		if diff := cmp.Diff(want, d); diff != "" {
			t.Errorf("step %d (op %d on %q at +%v) (-want +got):\n%s", i, s.op, s.key, s.at, diff)
		}
	}
}

func TestSameName(t *testing.T) { forEachBackend(t, testSameName) }

func testSameName(t *testing.T, newLimits newLimits) {
	ctx := context.Background()
	m := newLimits(t, nil)
	a := m.Limiter("shared", Rate{Burst: 1, Every: time.Hour})
	b := m.Limiter("shared", Rate{Burst: 5, Every: time.Second})
	a.Take(ctx, "k")
	if d := b.Peek(ctx, "k"); d.Allowed || d.Limit != 1 {
		t.Errorf("a second limiter of the same name: %+v; want the first one, spent", d)
	}
	if d := m.Limiter("other", Rate{Burst: 1, Every: time.Hour}).Peek(ctx, "k"); !d.Allowed {
		t.Errorf("another name shares the count: %+v", d)
	}
}

// TestConcurrentTake: of many concurrent attempts on one key, exactly the
// burst go ahead (run with -race).
func TestConcurrentTake(t *testing.T) { forEachBackend(t, testConcurrentTake) }

func testConcurrentTake(t *testing.T, newLimits newLimits) {
	ctx := context.Background()
	l := newLimits(t, func() time.Time { return t0 }).Limiter("test", Rate{Burst: 10, Every: time.Hour})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if l.Take(ctx, "k").Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 10 {
		t.Errorf("%d of 200 concurrent attempts went ahead, want 10", allowed.Load())
	}
}

// TestMemoryBound performs the attack on memory: an attacker who makes up
// a new key for every request (a client_id, an email) must not grow the
// limiter without bound, and what is kept must be the keys being refused.
func TestMemoryBound(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: t0}
	m := NewMemory(c.now, 100)
	l := m.Limiter("test", Rate{Burst: 2, Every: time.Hour}).(*memLimiter)
	// Ten keys that are refused: the ones worth keeping.
	for i := range 10 {
		l.Take(ctx, "blocked"+strconv.Itoa(i))
		l.Take(ctx, "blocked"+strconv.Itoa(i))
	}
	for i := range 10_000 {
		l.Take(ctx, "made-up"+strconv.Itoa(i))
		if n := len(l.buckets); n > 100 {
			t.Fatalf("after %d made-up keys the limiter holds %d keys, more than its bound of 100", i+1, n)
		}
	}
	for i := range 10 {
		if d := l.Peek(ctx, "blocked"+strconv.Itoa(i)); d.Allowed {
			t.Errorf("blocked%d was forgotten to make room for keys with attempts left", i)
		}
	}

	// Keys whose bucket is full again are forgotten within a minute.
	c.set(3 * time.Hour)
	l.Take(ctx, "new")
	if n := len(l.buckets); n != 1 {
		t.Errorf("hours later the limiter holds %d keys, want only the new one", n)
	}
}

func TestParseAddress(t *testing.T) {
	tests := []struct{ remote, key, wide string }{
		{"192.0.2.7:5555", "192.0.2.7", ""},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64", "2001:db8:1::/48"},
		{"[2001:db8:1:ff00::9]:443", "2001:db8:1:ff00::/64", "2001:db8:1::/48"},
		{"[fe80::1%eth0]:80", "fe80::/64", "fe80::/48"},
		{"[::ffff:192.0.2.7]:80", "192.0.2.7", ""},
		{"192.0.2.7", "192.0.2.7", ""},
		{"@", "@", ""},
		{"garbage", "garbage", ""},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if got := AddressOf(r); got.Key != tt.key || got.Wide != tt.wide {
			t.Errorf("AddressOf(%q) = %+v; want %q, %q", tt.remote, got, tt.key, tt.wide)
		}
	}
}

// TestPerAddress performs the IPv6 rotation attack: every attempt from
// another /64 of one /48 meets the /48's limit.
func TestPerAddress(t *testing.T) { forEachBackend(t, testPerAddress) }

func testPerAddress(t *testing.T, newLimits newLimits) {
	ctx := context.Background()
	m := newLimits(t, func() time.Time { return t0 })
	p := NewPerAddress(m, "test", Tiers{Narrow: Rate{Burst: 2, Every: time.Hour}, Wide: Rate{Burst: 5, Every: time.Hour}})
	n := 0
	for i := range 100 {
		a := ParseAddress("[2001:db8:7:" + strconv.FormatInt(int64(i), 16) + "::1]:1")
		if d := p.Take(ctx, a); !d.Allowed {
			if d.Limit != 5 {
				t.Errorf("refused by the limit of %d, want the /48's 5", d.Limit)
			}
			break
		}
		n++
	}
	if n != 5 {
		t.Errorf("%d attempts from distinct /64s of one /48 went ahead, want 5", n)
	}
	// A refusal by the wide tier spent nothing of the narrow one.
	fresh := ParseAddress("[2001:db8:7:ffff::1]:1")
	if d := p.Take(ctx, fresh); d.Allowed {
		t.Fatal("the /48 is spent, yet an attempt went ahead")
	}
	if d := p.narrow.Peek(ctx, fresh.Key); d.Remaining != 2 {
		t.Errorf("the refused attempt spent its /64's budget: %+v", d)
	}
	// Another /48, and IPv4, are their own.
	if d := p.Take(ctx, ParseAddress("[2001:db8:8::1]:1")); !d.Allowed {
		t.Error("another /48 is refused")
	}
	for range 2 {
		p.Take(ctx, ParseAddress("192.0.2.1:1"))
	}
	if d := p.Peek(ctx, ParseAddress("192.0.2.1:2")); d.Allowed || d.Limit != 2 {
		t.Errorf("IPv4 after its burst: %+v, want refused by its own limit of 2", d)
	}
	if d := p.Peek(ctx, ParseAddress("192.0.2.2:1")); !d.Allowed {
		t.Error("an IPv4 neighbour shares the limit")
	}
}

func TestSetHeaders(t *testing.T) {
	h := http.Header{}
	Decision{Limit: 20, RetryAfter: 2100 * time.Millisecond}.SetHeaders(h)
	for k, want := range map[string]string{"Retry-After": "3", "RateLimit-Limit": "20", "RateLimit-Remaining": "0", "RateLimit-Reset": "3"} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	h = http.Header{}
	Decision{Limit: 1, RetryAfter: time.Millisecond}.SetHeaders(h)
	if h.Get("Retry-After") != "1" {
		t.Errorf("a wait under a second: Retry-After %q, want 1", h.Get("Retry-After"))
	}
}

// A clock that steps back after an attempt went ahead refills nothing
// when it comes forward again: the time between is not counted twice.
func TestClockStepsBackAfterTake(t *testing.T) { forEachBackend(t, testClockStepsBackAfterTake) }

func testClockStepsBackAfterTake(t *testing.T, newLimits newLimits) {
	ctx := context.Background()
	c := &clock{t: t0}
	l := newLimits(t, c.now).Limiter("test", Rate{Burst: 2, Every: 10 * time.Second})
	c.set(10 * time.Second)
	l.Take(ctx, "a")
	c.set(0)
	if d := l.Take(ctx, "a"); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("second attempt after the clock stepped back: %+v, want allowed, 0 left", d)
	}
	c.set(10 * time.Second)
	if d := l.Take(ctx, "a"); d.Allowed || d.RetryAfter != 10*time.Second {
		t.Errorf("back at +10s: %+v, want refused for 10s (nothing refilled)", d)
	}
}

// A refund adds one attempt to what has refilled so far, fractions
// included.
func TestRefundKeepsFraction(t *testing.T) { forEachBackend(t, testRefundKeepsFraction) }

func testRefundKeepsFraction(t *testing.T, newLimits newLimits) {
	ctx := context.Background()
	c := &clock{t: t0}
	l := newLimits(t, c.now).Limiter("test", Rate{Burst: 3, Every: 10 * time.Second})
	for range 3 {
		l.Take(ctx, "a")
	}
	c.set(5 * time.Second) // half an attempt back
	l.Refund(ctx, "a")     // one and a half
	if d := l.Take(ctx, "a"); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("take after the refund: %+v, want allowed, 0 left", d)
	}
	if d := l.Take(ctx, "a"); d.Allowed || d.RetryAfter != 5*time.Second {
		t.Errorf("next take: %+v, want refused for 5s (half an attempt left)", d)
	}
}
