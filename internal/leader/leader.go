// Package leader decides which one node of a deployment runs the
// background jobs (expiry GC, pruning unused registrations, scheduled key
// rotation): the node that holds a lock. The lock is an Elector; this
// package has the one for the processes of one host (File, beside a
// SQLite database), and internal/store/postgres the one for a cluster (a
// session-level advisory lock, postgres.Elector).
//
// Holding the lock is checked, never assumed: internal/app asks Lead
// every few seconds, and again right before each job, so a node that lost
// its lock (its database session closed, its lock file replaced) stops
// running jobs at its next check. Only a job already running when the
// lock was lost may overlap with the new leader's; every job is safe to
// run twice.
package leader

import "context"

// Elector is a lock at most one node of a deployment holds at a time.
type Elector interface {
	// Lead takes the lock when no node holds it, or checks that this
	// node still does; it answers whether this node holds it now. A node
	// that finds it lost answers false and an error saying why; an error
	// always means false.
	Lead(ctx context.Context) (bool, error)
	// Resign releases the lock if this node holds it, so that another
	// node can take it at once rather than at its death, and frees what
	// the Elector holds. Lead may be called again afterwards.
	Resign(ctx context.Context) error
}

// Solo is the Elector of a node that is the only one: it always leads.
type Solo struct{}

func (Solo) Lead(context.Context) (bool, error) { return true, nil }
func (Solo) Resign(context.Context) error       { return nil }
