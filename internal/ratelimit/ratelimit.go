// Package ratelimit limits how often something may happen per key, with
// token buckets: a key may spend Burst attempts at once and gets one back
// every Every. grantd uses it to count failures (wrong passwords, client
// secrets, API keys, tokens) per client address, account and client, so
// that guessing is slow while callers that succeed are never held up.
//
// Callers see only the Limiter and Limits interfaces. The in-memory
// implementation (NewMemory) is per process; a shared one (Redis, for
// several nodes) can implement the same interfaces without changing any
// caller, which is why every method takes a context.
package ratelimit

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Rate is a token bucket: Burst attempts at once, one more every Every.
type Rate struct {
	Burst int
	Every time.Duration
}

// Decision is a limiter's answer about one key.
type Decision struct {
	// Allowed reports that the key had an attempt left.
	Allowed bool
	// Limit is the burst of the limit asked.
	Limit int
	// Remaining is how many whole attempts the key has left.
	Remaining int
	// RetryAfter is, when not Allowed, how long until one attempt is back.
	RetryAfter time.Duration
}

// Limiter is a set of token buckets, one per key, of one Rate.
type Limiter interface {
	// Peek answers whether key has an attempt left, spending nothing: a
	// caller asks before an expensive check, and spends only if the check
	// fails.
	Peek(ctx context.Context, key string) Decision
	// Take spends one attempt of key if it has one; a refused Take spends
	// nothing.
	Take(ctx context.Context, key string) Decision
	// Refund gives back one attempt taken for a request that then
	// succeeded (never more than the burst).
	Refund(ctx context.Context, key string)
	// Reset forgets everything key spent.
	Reset(ctx context.Context, key string)
}

// Limits makes named limiters. Asking twice for one name answers the same
// limiter (the rate of the first call wins), so that two adapters that
// check the same credential (the consent page and the consent API) share
// one count.
type Limits interface {
	Limiter(name string, r Rate) Limiter
}

// RetrySeconds answers RetryAfter in whole seconds, rounded up, at least 1.
func (d Decision) RetrySeconds() int {
	return max(1, int(math.Ceil(d.RetryAfter.Seconds())))
}

// SetHeaders writes the fields SPEC §2 puts on every 429: Retry-After and
// RateLimit-Reset (the seconds until an attempt is back), RateLimit-Limit
// (the burst of the limit met) and RateLimit-Remaining (0).
func (d Decision) SetHeaders(h http.Header) {
	secs := strconv.Itoa(d.RetrySeconds())
	h.Set("Retry-After", secs)
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", "0")
	h.Set("RateLimit-Reset", secs)
}

// Refusal is the error of a request a limit refused; adapters find it with
// errors.As to write the headers of its Decision.
type Refusal struct {
	Decision Decision
	// Limit names the limit that refused (AddressLimit.Name or
	// KeyLimit.Name), for the metrics; "" when unknown.
	Limit string
}

func (r *Refusal) Error() string {
	return "rate limited: retry after " + strconv.Itoa(r.Decision.RetrySeconds()) + "s"
}
