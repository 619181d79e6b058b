// Package deadline is a grantd.Store that gives every call of another
// Store a deadline, so that a database that stops answering (a frozen
// server, a network partition, a lock held elsewhere) costs a request a
// few seconds and a 503, never a hang. grantd serve and every command of
// the CLI that touches the database wrap their store in it
// (--db-timeout); the key ring, the background loops, the pages' session
// lookups and the API all reach the database through that one wrapper.
//
// The backends give up when a context ends, also while waiting for a lock
// or a pooled connection (the conformance suite checks it), and answer an
// error wrapping grantd.ErrUnavailable; this wrapper adds the deadline
// and makes sure that any failure of a call that ran out of time wraps
// grantd.ErrUnavailable too.
package deadline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/grantd/grantd"
)

// Store wraps a grantd.Store; it is safe for concurrent use as the store
// it wraps is.
type Store struct {
	next    grantd.Store
	timeout time.Duration
}

var _ grantd.Store = (*Store)(nil)

// New answers next with every call bounded by timeout, which must be
// positive. A caller's own earlier deadline (readiness's shorter one)
// still wins: contexts keep the earliest deadline.
func New(next grantd.Store, timeout time.Duration) *Store {
	if timeout <= 0 {
		panic("deadline: the timeout must be positive")
	}
	return &Store{next: next, timeout: timeout}
}

// Timeout answers the deadline of each call.
func (s *Store) Timeout() time.Duration { return s.timeout }

func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// err makes sure that a call which ran out of time answers ErrUnavailable,
// whatever error the backend put it in. What the backend decided before
// the deadline (an updater's *grantd.Error, not found, already used) stays
// as it is.
func (s *Store) err(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	var ge *grantd.Error
	switch {
	case errors.As(err, &ge), errors.Is(err, grantd.ErrNotFound), errors.Is(err, grantd.ErrAlreadyExists),
		errors.Is(err, grantd.ErrAlreadyUsed), errors.Is(err, grantd.ErrReused):
		return err
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		if errors.Is(err, grantd.ErrUnavailable) {
			return fmt.Errorf("%w (the database did not answer within %s)", err, s.timeout)
		}
		return fmt.Errorf("%w: the database did not answer within %s: %w", grantd.ErrUnavailable, s.timeout, err)
	case errors.Is(err, grantd.ErrUnavailable):
		return err
	default:
		return fmt.Errorf("%w: %w", grantd.ErrUnavailable, err)
	}
}

// call runs f under the deadline.
func call(s *Store, ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return s.err(ctx, f(ctx))
}

// call1 runs f, which answers a value, under the deadline.
func call1[T any](s *Store, ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	v, err := f(ctx)
	return v, s.err(ctx, err)
}

func (s *Store) Ping(ctx context.Context) error {
	return call(s, ctx, s.next.Ping)
}

func (s *Store) Heartbeat(ctx context.Context, now time.Time) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.Heartbeat(ctx, now) })
}

// Close closes the wrapped store, waiting at most the timeout. A
// backend's Close waits for the calls in progress, which their deadlines
// end, but also for the clean-up of connections a deadline cut off: pgx
// gives each up to 15 s to send PostgreSQL a cancel request and read what
// is left, which a frozen server never answers. Past the timeout Close
// answers ErrUnavailable and the closing goes on in the background.
// Nothing is lost by not waiting: every transaction has ended, and SQLite
// finishes an interrupted checkpoint at the next open.
func (s *Store) Close() error {
	done := make(chan error, 1)
	go func() { done <- s.next.Close() }()
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("%w: closing the database did not finish within %s", grantd.ErrUnavailable, s.timeout)
	}
}

func (s *Store) CreateUser(ctx context.Context, u grantd.User) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.CreateUser(ctx, u) })
}

func (s *Store) GetUser(ctx context.Context, id string) (grantd.User, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.User, error) { return s.next.GetUser(ctx, id) })
}

func (s *Store) GetUserByEmail(ctx context.Context, email string) (grantd.User, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.User, error) { return s.next.GetUserByEmail(ctx, email) })
}

func (s *Store) UpdateUser(ctx context.Context, id string, update func(grantd.User) (grantd.User, error)) (grantd.User, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.User, error) { return s.next.UpdateUser(ctx, id, update) })
}

func (s *Store) CreateAPIKey(ctx context.Context, k grantd.APIKey) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.CreateAPIKey(ctx, k) })
}

func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (grantd.APIKey, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.APIKey, error) { return s.next.GetAPIKeyByHash(ctx, hash) })
}

func (s *Store) GetAPIKeyUser(ctx context.Context, hash string) (grantd.APIKey, grantd.User, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	k, u, err := s.next.GetAPIKeyUser(ctx, hash)
	return k, u, s.err(ctx, err)
}

func (s *Store) TouchAPIKey(ctx context.Context, id string, now time.Time) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.TouchAPIKey(ctx, id, now) })
}

func (s *Store) CreateClient(ctx context.Context, c grantd.Client) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.CreateClient(ctx, c) })
}

func (s *Store) GetClient(ctx context.Context, id string) (grantd.Client, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.Client, error) { return s.next.GetClient(ctx, id) })
}

func (s *Store) UpdateClient(ctx context.Context, id string, update func(grantd.Client) (grantd.Client, error)) (grantd.Client, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.Client, error) { return s.next.UpdateClient(ctx, id, update) })
}

func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.DeleteClient(ctx, id) })
}

func (s *Store) MarkClientUsed(ctx context.Context, id string) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.MarkClientUsed(ctx, id) })
}

func (s *Store) DeleteUnusedRegistrations(ctx context.Context, createdBefore time.Time) ([]string, error) {
	return call1(s, ctx, func(ctx context.Context) ([]string, error) {
		return s.next.DeleteUnusedRegistrations(ctx, createdBefore)
	})
}

// page is a list and its total, so that list calls fit call1.
type page[T any] struct {
	items []T
	total int
}

func (s *Store) ListClients(ctx context.Context, f grantd.ClientFilter, p grantd.Page) ([]grantd.Client, int, error) {
	r, err := call1(s, ctx, func(ctx context.Context) (page[grantd.Client], error) {
		items, total, err := s.next.ListClients(ctx, f, p)
		return page[grantd.Client]{items, total}, err
	})
	return r.items, r.total, err
}

func (s *Store) CreateGrant(ctx context.Context, g grantd.Grant) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.CreateGrant(ctx, g) })
}

func (s *Store) GetGrant(ctx context.Context, id string) (grantd.Grant, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.Grant, error) { return s.next.GetGrant(ctx, id) })
}

func (s *Store) GetGrantByUserClient(ctx context.Context, userID, clientID string) (grantd.Grant, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.Grant, error) {
		return s.next.GetGrantByUserClient(ctx, userID, clientID)
	})
}

func (s *Store) UpdateGrant(ctx context.Context, id string, update func(grantd.Grant) (grantd.Grant, error)) (grantd.Grant, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.Grant, error) { return s.next.UpdateGrant(ctx, id, update) })
}

func (s *Store) ListGrants(ctx context.Context, userID string, p grantd.Page) ([]grantd.Grant, int, error) {
	r, err := call1(s, ctx, func(ctx context.Context) (page[grantd.Grant], error) {
		items, total, err := s.next.ListGrants(ctx, userID, p)
		return page[grantd.Grant]{items, total}, err
	})
	return r.items, r.total, err
}

func (s *Store) DeleteGrant(ctx context.Context, id string) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.DeleteGrant(ctx, id) })
}

func (s *Store) TouchGrant(ctx context.Context, id string, now time.Time) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.TouchGrant(ctx, id, now) })
}

func (s *Store) CreateConsent(ctx context.Context, c grantd.Consent) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.CreateConsent(ctx, c) })
}

func (s *Store) GetConsent(ctx context.Context, hash string) (grantd.Consent, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.Consent, error) { return s.next.GetConsent(ctx, hash) })
}

func (s *Store) CreateDeviceCode(ctx context.Context, d grantd.DeviceCode) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.CreateDeviceCode(ctx, d) })
}

func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, userCodeHash string) (grantd.DeviceCode, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.DeviceCode, error) {
		return s.next.GetDeviceCodeByUserCode(ctx, userCodeHash)
	})
}

func (s *Store) CreateAuthCode(ctx context.Context, c grantd.AuthCode) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.CreateAuthCode(ctx, c) })
}

func (s *Store) GetRefreshToken(ctx context.Context, hash string) (grantd.RefreshToken, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.RefreshToken, error) { return s.next.GetRefreshToken(ctx, hash) })
}

// InGrant bounds the whole unit of work: every step of fn runs on the
// transaction's context, which ends at the deadline.
func (s *Store) InGrant(ctx context.Context, fn func(tx grantd.GrantTx) error) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.InGrant(ctx, fn) })
}

func (s *Store) RevokeRefreshToken(ctx context.Context, hash string) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.RevokeRefreshToken(ctx, hash) })
}

func (s *Store) RecordExchangedToken(ctx context.Context, t grantd.ExchangedToken, now time.Time) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.RecordExchangedToken(ctx, t, now) })
}

func (s *Store) RevokeJTI(ctx context.Context, jti string, expiresAt time.Time) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.RevokeJTI(ctx, jti, expiresAt) })
}

func (s *Store) IsJTIRevoked(ctx context.Context, jti string) (bool, error) {
	return call1(s, ctx, func(ctx context.Context) (bool, error) { return s.next.IsJTIRevoked(ctx, jti) })
}

func (s *Store) CreateSession(ctx context.Context, sess grantd.Session) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.CreateSession(ctx, sess) })
}

func (s *Store) GetSession(ctx context.Context, hash string) (grantd.Session, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.Session, error) { return s.next.GetSession(ctx, hash) })
}

func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.DeleteSession(ctx, hash) })
}

func (s *Store) CreateSigningKey(ctx context.Context, k grantd.SigningKey) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.CreateSigningKey(ctx, k) })
}

func (s *Store) ListSigningKeys(ctx context.Context) ([]grantd.SigningKey, error) {
	return call1(s, ctx, s.next.ListSigningKeys)
}

func (s *Store) UpdateSigningKey(ctx context.Context, id string, update func(grantd.SigningKey) (grantd.SigningKey, error)) (grantd.SigningKey, error) {
	return call1(s, ctx, func(ctx context.Context) (grantd.SigningKey, error) {
		return s.next.UpdateSigningKey(ctx, id, update)
	})
}

func (s *Store) DeleteExpired(ctx context.Context, now time.Time) error {
	return call(s, ctx, func(ctx context.Context) error { return s.next.DeleteExpired(ctx, now) })
}

func (s *Store) DeleteExpiredBatch(ctx context.Context, kind grantd.ExpiredKind, now time.Time, limit int) (int, error) {
	return call1(s, ctx, func(ctx context.Context) (int, error) { return s.next.DeleteExpiredBatch(ctx, kind, now, limit) })
}
