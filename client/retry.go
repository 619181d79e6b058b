package client

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy says how a Client sends a call again that the server
// answered 429 Too Many Requests or 503 Service Unavailable, unchanged,
// POST included. A 429 refuses a call before the server reads it, so
// every call is retried after one. A 503 (grantd: a database that did
// not answer in time) might come after a single-use credential was
// spent, so the calls that spend one (Token with a code or a refresh
// token, DecideGrant) are not retried after a 503: the caller decides.
type RetryPolicy struct {
	// MaxRetries is how many times one call is sent again; 0 never.
	MaxRetries int
	// MaxWait is the longest wait before one retry. An answer whose
	// Retry-After asks for longer is not retried: the caller gets it.
	MaxWait time.Duration
	// Backoff is the first wait when the answer has no Retry-After; it
	// doubles with each retry, up to MaxWait.
	Backoff time.Duration
}

// DefaultRetryPolicy is the policy of a Client made without WithRetries:
// two retries, none after a wait of more than 10 s.
var DefaultRetryPolicy = RetryPolicy{MaxRetries: 2, MaxWait: 10 * time.Second, Backoff: 500 * time.Millisecond}

// WithRetries sets the retry policy; RetryPolicy{} turns retries off.
// Waits end early, with the context's error, when the call's context is
// done.
func WithRetries(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// wait answers how long to wait before retry number attempt+1 of an
// answer with this status and Retry-After header, and whether to retry
// at all.
func (p RetryPolicy) wait(attempt, status int, retryAfter string, now time.Time) (time.Duration, bool) {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return 0, false
	}
	if attempt >= p.MaxRetries {
		return 0, false
	}
	d, ok := parseRetryAfter(retryAfter, now)
	if !ok {
		d = p.Backoff
		for range attempt {
			d *= 2
			if d >= p.MaxWait {
				break
			}
		}
		d = min(d, p.MaxWait)
	}
	if d > p.MaxWait {
		return 0, false
	}
	return max(d, 0), true
}

// parseRetryAfter reads Retry-After (RFC 9110 §10.2.3): delay seconds or
// an HTTP date. A date in the past is no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second) // beyond any MaxWait; no overflow
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleepCtx waits d, or less when ctx is done first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
