package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/ratelimit"
)

// readyTimeout is /readyz's own deadline, shorter than any call's
// (--db-timeout): a probe must answer well within the prober's timeout,
// and a database that does not read in this time is not ready.
const readyTimeout = 2 * time.Second

// heartbeatEvery is how often readiness writes: a probe in between
// reuses the last write's outcome, so that any number of probers cost
// the database one tiny write every few seconds.
const heartbeatEvery = 5 * time.Second

// retryAfterUnavailable is the Retry-After of a 503 for a database that
// cannot answer now, in seconds: about one deadline, so that retrying
// clients do not pile onto a database that is recovering.
const retryAfterUnavailable = 5

// prober is what readiness needs of the engine.
type prober interface {
	Ping(ctx context.Context) error
	Heartbeat(ctx context.Context, now time.Time) error
}

// readiness is what /readyz checks: a read on every probe and a write
// (Heartbeat) at most every heartbeatEvery, remembered in between.
type readiness struct {
	store prober
	now   func() time.Time

	mu      sync.Mutex
	checked time.Time     // when the last heartbeat finished; zero before the first
	err     error         // its outcome
	running chan struct{} // closed when the heartbeat under way ends; nil when none is
}

// writable answers whether the database takes writes: the last
// heartbeat's outcome while it is recent, else that of a new heartbeat,
// which probes arriving meanwhile wait for (one write, however many
// probers). The heartbeat is bounded by readyTimeout, not cut short by
// its prober going away; a waiting probe gives up when its ctx ends.
func (rd *readiness) writable(ctx context.Context) error {
	rd.mu.Lock()
	if rd.running == nil && !rd.checked.IsZero() && rd.now().Sub(rd.checked) < heartbeatEvery {
		err := rd.err
		rd.mu.Unlock()
		return err
	}
	running := rd.running
	if running == nil {
		running = make(chan struct{})
		rd.running = running
		go rd.heartbeat(context.WithoutCancel(ctx), running)
	}
	rd.mu.Unlock()

	select {
	case <-running:
		rd.mu.Lock()
		defer rd.mu.Unlock()
		return rd.err
	case <-ctx.Done():
		return fmt.Errorf("%w: the heartbeat write did not finish in time: %w", grantd.ErrUnavailable, ctx.Err())
	}
}

func (rd *readiness) heartbeat(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	err := rd.store.Heartbeat(ctx, rd.now())
	cancel()
	rd.mu.Lock()
	rd.checked, rd.err, rd.running = rd.now(), err, nil
	rd.mu.Unlock()
	close(done)
}

// readyz answers 200 while the database reads and takes writes, and 503
// within readyTimeout otherwise, with the reason. Either says where the
// rate limits count now (rate_limits: redis, or local while Redis is down
// or not configured); Redis never makes the server unready, since the
// limits fall back to the node's own.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.ready.store.Ping(ctx); err != nil {
		s.notReady(w, r, "the database does not answer", err)
		return
	}
	if err := s.ready.writable(ctx); err != nil {
		s.notReady(w, r, "the database does not take writes", err)
		return
	}
	writeRaw(w, http.StatusOK, []byte(`{"status":"ok","rate_limits":"`+ratelimit.ModeOf(s.limitsFrom)+`"}`))
}

func (s *Server) notReady(w http.ResponseWriter, r *http.Request, reason string, err error) {
	s.log.WarnContext(r.Context(), "readiness check failed", "reason", reason, "error", err)
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterUnavailable))
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason, "rate_limits": ratelimit.ModeOf(s.limitsFrom)})
}
