package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults of the Redis limits.
const (
	// DefaultRedisPrefix starts the name of every key the limits write.
	DefaultRedisPrefix = "grantd:ratelimit:"
	// DefaultRedisTimeout bounds each call to Redis: a limit is asked on
	// the path of every request it guards, so a Redis that does not
	// answer in this time is treated as down and the call is answered
	// by the node's own limits.
	DefaultRedisTimeout = 50 * time.Millisecond
	// DefaultRedisHealthEvery is how often the health loop pings Redis,
	// to notice it going away without traffic and coming back.
	DefaultRedisHealthEvery = time.Second
)

// Where a Limits keeps its counts now (Mode).
const (
	ModeRedis = "redis"
	ModeLocal = "local"
)

// RedisConfig is what NewRedis builds shared limits from.
type RedisConfig struct {
	// URL is the server: redis://[user:password@]host:port[/db],
	// rediss://… (TLS) or unix:///path (go-redis's ParseURL).
	URL string
	// Prefix starts every key; DefaultRedisPrefix when empty. Nodes that
	// share limits share the prefix.
	Prefix string
	// Timeout bounds each call; DefaultRedisTimeout when 0.
	Timeout time.Duration
	// HealthEvery is how often Redis is pinged; DefaultRedisHealthEvery
	// when 0.
	HealthEvery time.Duration
	// Fallback answers while Redis is down or slow: the node's own
	// limits, in memory on time.Now when nil.
	Fallback Limits
	// Logger hears when Redis goes away and comes back; nil discards.
	Logger *slog.Logger
	// Now, for tests only, is the clock the scripts read instead of
	// Redis's own (TIME), so that a test moves time by hand. Production
	// leaves it nil: every node then reads the one clock of Redis, and
	// the nodes' own clocks do not matter.
	Now func() time.Time
}

// ParseRedisURL checks a Redis URL as NewRedis reads it, without
// connecting.
func ParseRedisURL(u string) error {
	_, err := redis.ParseURL(u)
	return err
}

// Redis makes limiters whose buckets are in Redis, shared by every node
// that uses the same server and prefix. Each bucket is one hash, changed
// atomically by a Lua script on Redis's clock, that expires once the
// bucket would be full again (a full bucket and no key are the same), so
// nothing is kept longer than it counts.
//
// While Redis is down or slower than the timeout, every call is answered
// by the fallback (the node's own limits, Mode "local") and a request
// is never held up or refused because of Redis; the health loop pings
// Redis and goes back to it when it answers (Mode "redis"). What was
// counted locally meanwhile stays local.
type Redis struct {
	client   *redis.Client
	prefix   string
	timeout  time.Duration
	every    time.Duration
	fallback Limits
	log      *slog.Logger
	now      func() time.Time

	up   atomic.Bool
	stop context.CancelFunc
	done chan struct{}

	mu     sync.Mutex
	byName map[string]*redisLimiter
}

// NewRedis connects to cfg.URL, pings it once (within the timeout; a
// Redis that does not answer yet starts the limits local) and starts
// the health loop, which Close stops.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	r := &Redis{
		prefix: cfg.Prefix, timeout: cfg.Timeout, every: cfg.HealthEvery,
		fallback: cfg.Fallback, log: cfg.Logger, now: cfg.Now,
		byName: map[string]*redisLimiter{}, done: make(chan struct{}),
	}
	if r.prefix == "" {
		r.prefix = DefaultRedisPrefix
	}
	if r.timeout <= 0 {
		r.timeout = DefaultRedisTimeout
	}
	if r.every <= 0 {
		r.every = DefaultRedisHealthEvery
	}
	if r.fallback == nil {
		r.fallback = NewMemory(nil, 0)
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	// Every call is bounded by its context (the timeout); the client
	// retries nothing, since a retry would come after the answer is due.
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = -1
	opt.DialTimeout = r.timeout
	opt.DialerRetries = 1
	opt.ReadTimeout = r.timeout
	opt.WriteTimeout = r.timeout
	opt.PoolTimeout = r.timeout
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	r.client = redis.NewClient(opt)

	if err := r.ping(context.Background()); err != nil {
		r.log.Warn("rate limits: Redis does not answer; limits are per node until it does", "error", err)
	} else {
		r.up.Store(true)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go r.health(ctx)
	return r, nil
}

// Close stops the health loop and closes the connections.
func (r *Redis) Close() error {
	r.stop()
	<-r.done
	return r.client.Close()
}

// Mode answers where the limits count now: ModeRedis while Redis
// answers, ModeLocal while the fallback does.
func (r *Redis) Mode() string {
	if r.up.Load() {
		return ModeRedis
	}
	return ModeLocal
}

func (r *Redis) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	return r.client.Ping(ctx).Err()
}

// health pings Redis every r.every: a failed ping makes the limits
// local, a ping that answers makes them shared again.
func (r *Redis) health(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.ping(ctx); err != nil {
			if ctx.Err() == nil {
				r.down(err)
			}
			continue
		}
		if !r.up.Swap(true) {
			r.log.Info("rate limits: Redis answers again; limits are shared by every node")
		}
	}
}

// down makes the limits local after a call failed, saying so once.
func (r *Redis) down(err error) {
	if r.up.Swap(false) {
		r.log.Warn("rate limits: Redis failed; limits are per node until it answers again", "error", err)
	}
}

// Limiter answers the limiter of name, made with rt on first use.
func (r *Redis) Limiter(name string, rt Rate) Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l, ok := r.byName[name]; ok {
		return l
	}
	l := &redisLimiter{
		r:        r,
		prefix:   r.prefix + name + ":",
		burst:    max(1, rt.Burst),
		everyUS:  max(1, rt.Every.Microseconds()),
		fallback: r.fallback.Limiter(name, rt),
	}
	r.byName[name] = l
	return l
}

// bucketScript is one operation on one key's bucket, atomically. A
// bucket is a hash of two integers in microseconds: f, the time at which
// it is full again (it holds burst - (f - now)/every attempts), and t,
// the latest time it was used at (a clock that steps back reads as t, so
// it refills nothing). A key that does not exist is a full bucket; the
// key expires when the bucket would be full again.
//
// KEYS[1] the bucket; ARGV: op (peek, take, refund), burst, every (µs),
// now (µs; 0 reads Redis's TIME). Answers {allowed, remaining, retry
// after (µs)}. Values stay below 2^53, exact in Lua's numbers, and are
// written with %.0f, since Redis would write them in %.14g.
var bucketScript = redis.NewScript(`
local key, op = KEYS[1], ARGV[1]
local burst, every, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local v = redis.call('HMGET', key, 'f', 't')
local full, seen = tonumber(v[1]), tonumber(v[2])
if full == nil then
  if op ~= 'take' then
    return {1, burst, 0}
  end
  full = now
end
if seen ~= nil and now < seen then
  now = seen
end
if full < now then
  full = now
end
local deficit = full - now
local spare = (burst - 1) * every
local allowed = 0
if deficit <= spare then
  allowed = 1
end
if op == 'take' then
  if allowed == 1 then
    full = full + every
    deficit = deficit + every
  end
elseif op == 'refund' then
  if deficit <= every then
    redis.call('DEL', key)
    return {1, burst, 0}
  end
  full = full - every
  deficit = deficit - every
end
if op ~= 'peek' then
  redis.call('HSET', key, 'f', string.format('%.0f', full), 't', string.format('%.0f', now))
  redis.call('PEXPIRE', key, math.ceil(deficit / 1000) + 1000)
end
local remaining = burst - math.ceil(deficit / every)
if remaining < 0 then
  remaining = 0
end
local retry = 0
if allowed == 0 then
  retry = deficit - spare
end
return {allowed, remaining, retry}
`)

// redisLimiter is one named limit in Redis, with its fallback.
type redisLimiter struct {
	r        *Redis
	prefix   string
	burst    int
	everyUS  int64
	fallback Limiter
}

// run runs op on key's bucket; ok is false when Redis is down or did
// not answer in time, and the caller asks the fallback. Only the
// timeout ends the call: a request that goes away does not make Redis
// look down.
func (l *redisLimiter) run(ctx context.Context, op, key string) (Decision, bool) {
	if !l.r.up.Load() {
		return Decision{}, false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.r.timeout)
	defer cancel()
	var now int64
	if l.r.now != nil {
		now = l.r.now().UnixMicro()
	}
	res, err := bucketScript.Run(ctx, l.r.client, []string{l.prefix + key}, op, l.burst, l.everyUS, now).Int64Slice()
	if err == nil && len(res) != 3 {
		err = errors.New("the bucket script answered " + fmt.Sprint(len(res)) + " values, want 3")
	}
	if err != nil {
		l.r.down(err)
		return Decision{}, false
	}
	return Decision{
		Allowed:    res[0] == 1,
		Limit:      l.burst,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
	}, true
}

func (l *redisLimiter) Peek(ctx context.Context, key string) Decision {
	if d, ok := l.run(ctx, "peek", key); ok {
		return d
	}
	return l.fallback.Peek(ctx, key)
}

func (l *redisLimiter) Take(ctx context.Context, key string) Decision {
	if d, ok := l.run(ctx, "take", key); ok {
		return d
	}
	return l.fallback.Take(ctx, key)
}

func (l *redisLimiter) Refund(ctx context.Context, key string) {
	if _, ok := l.run(ctx, "refund", key); !ok {
		l.fallback.Refund(ctx, key)
	}
}

// Reset forgets key in Redis and in the fallback (which may hold what
// was counted during an outage).
func (l *redisLimiter) Reset(ctx context.Context, key string) {
	l.fallback.Reset(ctx, key)
	if !l.r.up.Load() {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.r.timeout)
	defer cancel()
	if err := l.r.client.Del(dctx, l.prefix+key).Err(); err != nil {
		l.r.down(err)
	}
}
