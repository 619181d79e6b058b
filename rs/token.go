package rs

import (
	"context"
	"slices"
	"time"
)

// Token is a verified grantd access token.
type Token struct {
	// Subject is the user who consented, or the client itself for a
	// client_credentials token (then it equals ClientID).
	Subject  string
	ClientID string
	// Scopes are the scopes granted, in the token's order.
	Scopes []string
	// GrantID is the user's grant the token was issued under; empty for
	// client_credentials tokens.
	GrantID string
	// JTI is the token's unique id: what grantd records when it is
	// revoked, and a key for replay or audit logs.
	JTI string
	// Audience is the token's aud; it holds Config.Audience.
	Audience  []string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// HasScope reports whether the token was granted scope s.
func (t *Token) HasScope(s string) bool {
	return slices.Contains(t.Scopes, s)
}

type contextKey struct{}

// NewContext answers a copy of ctx carrying t, as Middleware passes it to
// the handler. Tests of handlers use it to stand in for the middleware.
func NewContext(ctx context.Context, t *Token) context.Context {
	return context.WithValue(ctx, contextKey{}, t)
}

// FromContext answers the token Middleware verified for this request.
func FromContext(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(contextKey{}).(*Token)
	return t, ok && t != nil
}
