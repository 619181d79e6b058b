package oauth

import (
	"context"
	"errors"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// This file is the rest of the engine's door: what the adapters need
// besides the protocol (a bearer caller, sign-in, sessions, a user's
// clients, the key set, readiness). The adapters reach the store only
// through these methods; the Provider has no accessor for its store or
// its key ring.

// apiKeyTouchEvery limits last_used_at writes to one a minute a key, so
// that a busy key does not turn every read into a write.
const apiKeyTouchEvery = time.Minute

// APIKeyCaller answers the user a grantd API key acts for, and the key.
// A key that is unknown, or whose user is gone, is unauthenticated; the
// key's last use is recorded at most once a minute.
func (p *Provider) APIKeyCaller(ctx context.Context, key string) (grantd.User, grantd.APIKey, error) {
	// The key and its owner in one read: a key whose user is gone is
	// not found either.
	k, u, err := p.store.GetAPIKeyUser(ctx, token.Hash(key))
	if errors.Is(err, grantd.ErrNotFound) {
		return grantd.User{}, grantd.APIKey{}, grantd.E(grantd.CodeUnauthenticated, "the API key is not valid")
	}
	if err != nil {
		return grantd.User{}, grantd.APIKey{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	now := p.now()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= apiKeyTouchEvery {
		if err := p.store.TouchAPIKey(ctx, k.ID, now); err != nil {
			p.log.WarnContext(ctx, "could not record API key use", "error", err)
		}
	}
	return u, k, nil
}

// User answers a user by ID; grantd.ErrNotFound when there is none.
func (p *Provider) User(ctx context.Context, id string) (grantd.User, error) {
	return p.store.GetUser(ctx, id)
}

// SignInAccount answers the user who signs in with this email, whose
// password hash the caller checks; grantd.ErrNotFound when there is none.
func (p *Provider) SignInAccount(ctx context.Context, email string) (grantd.User, error) {
	return p.store.GetUserByEmail(ctx, email)
}

// Client answers a client by ID, for display; grantd.ErrNotFound when
// there is none.
func (p *Provider) Client(ctx context.Context, id string) (grantd.Client, error) {
	return p.store.GetClient(ctx, id)
}

// ListClients answers one page of clients matching f. Callers set
// f.OwnerUserID to the caller: the engine lists what it is asked for.
func (p *Provider) ListClients(ctx context.Context, f grantd.ClientFilter, page grantd.Page) ([]grantd.Client, int, error) {
	cs, total, err := p.store.ListClients(ctx, f, page)
	if err != nil {
		return nil, 0, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return cs, total, nil
}

// GetSession answers the session whose cookie hashes to hash;
// grantd.ErrNotFound when there is none (package session checks expiry).
func (p *Provider) GetSession(ctx context.Context, hash string) (grantd.Session, error) {
	return p.store.GetSession(ctx, hash)
}

// CreateSession records a new browser session.
func (p *Provider) CreateSession(ctx context.Context, s grantd.Session) error {
	return p.store.CreateSession(ctx, s)
}

// DeleteSession ends a browser session; grantd.ErrNotFound when it has
// ended already.
func (p *Provider) DeleteSession(ctx context.Context, hash string) error {
	return p.store.DeleteSession(ctx, hash)
}

// JWKS answers the JSON Web Key Set of the signing keys.
func (p *Provider) JWKS() ([]byte, error) { return p.keys.JWKS() }

// Ping answers nil while the database answers a read.
func (p *Provider) Ping(ctx context.Context) error { return p.store.Ping(ctx) }

// Heartbeat makes the smallest committed write, for readiness.
func (p *Provider) Heartbeat(ctx context.Context, now time.Time) error {
	return p.store.Heartbeat(ctx, now)
}
