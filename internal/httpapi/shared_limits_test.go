package httpapi_test

// Rate limits shared by every node through Redis, the management limit
// per caller, and what /readyz says of them.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/ratelimit/redistest"
)

// withManagementLimit sets the management limit (--management-rate-limit).
func withManagementLimit(r ratelimit.Rate) testOption {
	return func(o *testOptions) { o.ManagementLimit = r }
}

// withRateLimited gives the server a hook that hears every refusal.
func withRateLimited(f func(string)) testOption {
	return func(o *testOptions) { o.RateLimited = f }
}

// heard records the names a RateLimited hook is called with.
type heard struct {
	mu    sync.Mutex
	names []string
}

func (h *heard) hear(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.names = append(h.names, name)
}

func (h *heard) count(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range h.names {
		if s == name {
			n++
		}
	}
	return n
}

// redisLimits are limits in the Redis at u under prefix, closed at
// cleanup. The timeout is generous: the machine running the tests may be
// busy, and a test of shared limits must not fall back by accident.
func redisLimits(t *testing.T, u, prefix string, healthEvery time.Duration) *ratelimit.Redis {
	t.Helper()
	r, err := ratelimit.NewRedis(ratelimit.RedisConfig{URL: u, Prefix: prefix, Timeout: 2 * time.Second, HealthEvery: healthEvery})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// readyLimits answers /readyz's status and its rate_limits.
func readyLimits(t *testing.T, env *testEnv) (int, string) {
	t.Helper()
	rec := env.do(httptest.NewRequest("GET", env.URL+"/readyz", nil))
	m := decodeJSON(t, rec.Body.Bytes())
	s, _ := m["rate_limits"].(string)
	return rec.Code, s
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

// badKey sends a management request with an API key that is not valid.
func badKey(env *testEnv, remote string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", env.URL+"/v2/oauth_clients", nil)
	r.Header.Set("Authorization", "Bearer grantd_key_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	return env.from(remote, r)
}

// goodKey sends a management request with key.
func goodKey(env *testEnv, remote, key string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", env.URL+"/v2/oauth_clients", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	return env.from(remote, r)
}

// TestManagementLimit: every management request spends its caller's
// budget, an API key's or an access token's client's; past it the
// answer is 429 in the Telnyx envelope with Retry-After and RateLimit-*,
// and the hook hears it; other callers are not affected; the budget
// refills with time.
func TestManagementLimit(t *testing.T) {
	t.Parallel()
	var h heard
	env := newTestEnv(t, withIssuer(goldenIssuer), withManagementLimit(ratelimit.Rate{Burst: 3, Every: time.Minute}), withRateLimited(h.hear))
	u := env.createUser(t, "owner@example.com")
	key, other := env.createAPIKey(t, u), env.createAPIKey(t, u)
	for i := range 3 {
		if rec := env.api(t, "GET", "/v2/oauth_clients", key, ""); rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := env.api(t, "GET", "/v2/oauth_grants", key, "")
	want429(t, rec, 3)
	wantAPIError(t, rec, http.StatusTooManyRequests, "10011", "")
	if !strings.Contains(rec.Body.String(), "API key") {
		t.Errorf("429 body %s, want it to name the API key", rec.Body)
	}
	if n := h.count("management"); n != 1 {
		t.Errorf("the hook heard the management limit %d times, want 1 (%v)", n, h.names)
	}
	// Refused before the handler: nothing is created.
	if rec := env.api(t, "POST", "/v2/oauth_clients", key, `{"name":"x","allowed_scopes":["read"],"client_type":"confidential","allowed_grant_types":["client_credentials"]}`); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("create past the limit: %d %s", rec.Code, rec.Body)
	}
	if rec := env.api(t, "GET", "/v2/oauth_clients", other, ""); rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"name":"x"`) {
		t.Fatalf("another key: %d %s, want 200 without the refused client", rec.Code, rec.Body)
	}
	env.Clock.Advance(time.Minute)
	if rec := env.api(t, "GET", "/v2/oauth_clients", key, ""); rec.Code != http.StatusOK {
		t.Fatalf("a minute later: %d %s", rec.Code, rec.Body)
	}

	// An admin access token spends its client's budget.
	c, secret := env.createClient(t, u, clientSpec{})
	tok := ccToken(t, env, c.ID, secret, url.Values{"scope": {"admin"}})
	for range 3 {
		env.api(t, "GET", "/v2/oauth_clients", tok, "")
	}
	rec = env.api(t, "GET", "/v2/oauth_clients", tok, "")
	want429(t, rec, 3)
	if !strings.Contains(rec.Body.String(), "client") {
		t.Errorf("429 body %s, want it to name the client", rec.Body)
	}
}

// TestReadyzLocalLimits: without Redis the limits are the node's own.
func TestReadyzLocalLimits(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	if code, mode := readyLimits(t, env); code != 200 || mode != "local" {
		t.Errorf("/readyz: %d rate_limits %q, want 200 local", code, mode)
	}
}

// TestLimitsSharedByNodes: two servers on one Redis are one count: the
// API keys that are not valid sent to A refuse the address on B, and
// /readyz on each says redis.
func TestLimitsSharedByNodes(t *testing.T) {
	t.Parallel()
	u, prefix := redistest.Shared(t)
	a := newTestEnv(t, withIssuer(goldenIssuer), withLimits(redisLimits(t, u, prefix, 0)))
	b := newTestEnv(t, withIssuer(goldenIssuer), withLimits(redisLimits(t, u, prefix, 0)))
	keyB := b.createAPIKey(t, b.createUser(t, "owner@example.com"))
	const attacker, other = "203.0.113.77:1", "198.51.100.77:1"
	for i := range 20 {
		if rec := badKey(a, attacker); rec.Code != http.StatusUnauthorized {
			t.Fatalf("bad key %d on A: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	// On B, the address is refused before its key is looked up, even a
	// good one; another address is not.
	wantAPIError(t, goodKey(b, attacker, keyB), http.StatusTooManyRequests, "10011", "")
	if rec := goodKey(b, other, keyB); rec.Code != http.StatusOK {
		t.Fatalf("another address on B: %d %s", rec.Code, rec.Body)
	}
	for _, env := range []*testEnv{a, b} {
		if code, mode := readyLimits(t, env); code != 200 || mode != "redis" {
			t.Errorf("/readyz: %d rate_limits %q, want 200 redis", code, mode)
		}
	}
}

// TestLimitsWhenRedisStops stops the Redis under a server: requests keep
// being served (never a 500 or a 503), the limits go on per node (still
// refusing past the burst), /readyz stays 200 and says local, and says
// redis again once Redis is back, which counts again.
func TestLimitsWhenRedisStops(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rl := redisLimits(t, srv.URL(), redistest.Prefix(t), 20*time.Millisecond)
	env := newTestEnv(t, withIssuer(goldenIssuer), withLimits(rl))
	key := env.createAPIKey(t, env.createUser(t, "owner@example.com"))
	const attacker, user = "203.0.113.88:1", "198.51.100.88:1"
	for range 20 {
		badKey(env, attacker)
	}
	wantAPIError(t, badKey(env, attacker), http.StatusTooManyRequests, "10011", "")
	if code, mode := readyLimits(t, env); code != 200 || mode != "redis" {
		t.Fatalf("/readyz with Redis: %d %q", code, mode)
	}

	srv.Stop()
	for i := range 5 {
		if rec := goodKey(env, user, key); rec.Code != http.StatusOK {
			t.Fatalf("request %d with Redis stopped: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	eventually(t, "/readyz local with Redis stopped", func() bool {
		code, mode := readyLimits(t, env)
		if code != 200 {
			t.Fatalf("/readyz with Redis stopped: %d", code)
		}
		return mode == "local"
	})
	// The node's own count starts afresh, and still refuses past the burst.
	for i := range 20 {
		if rec := badKey(env, attacker); rec.Code != http.StatusUnauthorized {
			t.Fatalf("bad key %d with Redis stopped: %d %s, want 401 (a local count of its own)", i+1, rec.Code, rec.Body)
		}
	}
	wantAPIError(t, badKey(env, attacker), http.StatusTooManyRequests, "10011", "")

	srv.Restart()
	eventually(t, "/readyz redis after Redis restarted", func() bool {
		_, mode := readyLimits(t, env)
		return mode == "redis"
	})
	// Redis restarted empty: the address starts afresh there, and the
	// failure is counted in Redis.
	if rec := badKey(env, attacker); rec.Code != http.StatusUnauthorized {
		t.Fatalf("bad key after Redis came back: %d %s", rec.Code, rec.Body)
	}
	keys, err := redisKeys(srv.URL())
	if err != nil || len(keys) == 0 {
		t.Errorf("keys in Redis after it came back: %v (%v), want the address's bucket", keys, err)
	}
}

// redisKeys lists the keys of the Redis at u.
func redisKeys(u string) ([]string, error) {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return nil, err
	}
	c := redis.NewClient(opt)
	defer c.Close()
	return c.Keys(context.Background(), "*").Result()
}
