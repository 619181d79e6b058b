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
	// Act names who acts for Subject when the token came from a token
	// exchange (RFC 8693 §4.1): a service that exchanged the person's
	// token for one towards this API. It nests the actors before it, the
	// most recent outermost, so that the whole delegation chain is
	// visible. nil for a token the person's app (or a client for itself)
	// obtained directly.
	Act *Actor
}

// Actor is one link of a delegation chain (the act claim, RFC 8693
// §4.1): the actor's subject, the grantd client it acted through, and the
// actor before it, if any.
type Actor struct {
	Subject  string `json:"sub"`
	ClientID string `json:"client_id,omitempty"`
	Act      *Actor `json:"act,omitempty"`
}

// Chain answers the actors from the most recent to the first, an empty
// slice for nil.
func (a *Actor) Chain() []Actor {
	var out []Actor
	for ; a != nil; a = a.Act {
		out = append(out, Actor{Subject: a.Subject, ClientID: a.ClientID})
	}
	return out
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
