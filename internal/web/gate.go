package web

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/grantd/grantd/internal/password"
)

// PasswordChecks bound the work of sign-in. Each password check is an
// argon2id hash (64 MiB, Threads goroutines of CPU for a tenth of a second
// or more), so they run in a fixed number of slots; sign-ins waiting for a
// slot queue in two lanes of bounded length: one for addresses that have
// not failed a sign-in in the last ten minutes, served first, and one for
// those that have. A sign-in that finds its lane full, or waits longer
// than MaxWait, is answered 503 at once: a flood of wrong passwords can
// neither make people wait without end nor push out the sign-ins of
// addresses that do not keep failing.
type PasswordChecks struct {
	// Slots is how many checks run at once. Zero means a quarter of
	// GOMAXPROCS, at least one: with argon2id's two lanes per check, from
	// four cores up checks use at most half the CPU; on two cores the one
	// slot's lanes take turns with every other request, where two slots
	// would leave those requests nothing.
	Slots int
	// Queue is how many sign-ins may wait in each lane; zero means eight
	// per slot.
	Queue int
	// MaxWait is how long a sign-in may wait for a slot; zero means 10 s.
	MaxWait time.Duration
	// Verify checks a password against a PHC string; password.Verify when
	// nil. Tests replace it to hold checks in their slots.
	Verify func(password, phc string) (bool, error)
}

func (c PasswordChecks) withDefaults() PasswordChecks {
	if c.Slots <= 0 {
		c.Slots = max(1, runtime.GOMAXPROCS(0)/4)
	}
	if c.Queue <= 0 {
		c.Queue = 8 * c.Slots
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 10 * time.Second
	}
	if c.Verify == nil {
		c.Verify = password.Verify
	}
	return c
}

// The lanes of the queue, in the order they are served.
const (
	laneClean = iota // addresses without a recent failed sign-in
	laneFailed
	lanes
)

// errBusy: no slot is free and the sign-in's lane is full, or it waited
// too long.
var errBusy = errors.New("web: too many sign-ins are waiting for a password check")

// gate hands out the slots: a semaphore whose waiters queue in lanes, a
// freed slot going to the first waiter of the first lane that has one.
type gate struct {
	maxQueue int
	maxWait  time.Duration

	mu      sync.Mutex
	free    int
	waiting [lanes][]chan struct{}
}

func newGate(c PasswordChecks) *gate {
	return &gate{maxQueue: c.Queue, maxWait: c.MaxWait, free: c.Slots}
}

// acquire waits for a slot; the caller must release it. errBusy when the
// lane is full or the wait too long, ctx's error when the caller gave up.
func (g *gate) acquire(ctx context.Context, lane int) error {
	g.mu.Lock()
	if g.free > 0 {
		// Waiters exist only while no slot is free: nobody is passed.
		g.free--
		g.mu.Unlock()
		return nil
	}
	if len(g.waiting[lane]) >= g.maxQueue {
		g.mu.Unlock()
		return errBusy
	}
	ready := make(chan struct{})
	g.waiting[lane] = append(g.waiting[lane], ready)
	g.mu.Unlock()

	timer := time.NewTimer(g.maxWait)
	defer timer.Stop()
	var err error
	select {
	case <-ready:
		return nil
	case <-timer.C:
		err = errBusy
	case <-ctx.Done():
		err = ctx.Err()
	}
	g.mu.Lock()
	if i := slices.Index(g.waiting[lane], ready); i >= 0 {
		g.waiting[lane] = slices.Delete(g.waiting[lane], i, i+1)
		g.mu.Unlock()
		return err
	}
	g.mu.Unlock()
	// The slot was handed over as the wait ended: pass it on.
	g.release()
	return err
}

// release frees a slot, or hands it to the next waiter.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for lane := range g.waiting {
		if q := g.waiting[lane]; len(q) > 0 {
			close(q[0])
			g.waiting[lane] = slices.Delete(q, 0, 1)
			return
		}
	}
	g.free++
}
