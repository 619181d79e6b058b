package oauth

import (
	"context"
	"errors"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// ActiveAccessToken verifies an access token of this server and answers
// its claims and its client when it is live: signed by a published key,
// this issuer, not expired, not revoked by jti, its grant (if any) still
// standing for the same user and client, and its client still registered.
// Anything else answers false; the error is for the store failing, never
// for the token.
func (p *Provider) ActiveAccessToken(ctx context.Context, tok string) (token.AccessClaims, grantd.Client, bool, error) {
	return p.activeAccessToken(ctx, tok, nil)
}

// activeAccessToken is ActiveAccessToken; known, when not nil, is a
// client this request has read already, used instead of reading the
// token's client again when it is that client.
func (p *Provider) activeAccessToken(ctx context.Context, tok string, known *grantd.Client) (token.AccessClaims, grantd.Client, bool, error) {
	c, ok := p.verifyAccess(ctx, tok)
	if !ok {
		return token.AccessClaims{}, grantd.Client{}, false, nil
	}
	revoked, err := p.store.IsJTIRevoked(ctx, c.JTI)
	if err != nil {
		return token.AccessClaims{}, grantd.Client{}, false, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	if revoked {
		return token.AccessClaims{}, grantd.Client{}, false, nil
	}
	if c.GrantID != "" {
		g, err := p.store.GetGrant(ctx, c.GrantID)
		if errors.Is(err, grantd.ErrNotFound) {
			return token.AccessClaims{}, grantd.Client{}, false, nil
		}
		if err != nil {
			return token.AccessClaims{}, grantd.Client{}, false, grantd.Wrap(grantd.CodeServerError, err, "internal error")
		}
		// An exchanged token (act) stays under the person's grant to
		// another client: only its person must match.
		if (c.Act == nil && g.ClientID != c.ClientID) || g.UserID != c.Subject {
			return token.AccessClaims{}, grantd.Client{}, false, nil
		}
	}
	if known != nil && known.ID == c.ClientID {
		return c, *known, true, nil
	}
	client, err := p.store.GetClient(ctx, c.ClientID)
	if errors.Is(err, grantd.ErrNotFound) {
		return token.AccessClaims{}, grantd.Client{}, false, nil
	}
	if err != nil {
		return token.AccessClaims{}, grantd.Client{}, false, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return c, client, true, nil
}

// Token types of introspection answers. RFC 7662 leaves token_type to the
// server; grantd names the kind of token (SPEC §3), not "Bearer".
const (
	TokenTypeAccess  = "access_token"
	TokenTypeRefresh = "refresh_token"
)

// Introspection is an RFC 7662 answer. When Active is false every other
// field is empty: nothing is said about a token that is not live.
type Introspection struct {
	Active    bool
	TokenType string // TokenTypeAccess or TokenTypeRefresh
	Scope     string
	ClientID  string
	Subject   string
	Audience  string
	Issuer    string
	IssuedAt  time.Time
	ExpiresAt time.Time
	JTI       string // access tokens only
	GrantID   string
	// Act is the actor chain of an exchanged access token (RFC 8693
	// §4.1); nil otherwise.
	Act *token.Actor
}

// IntrospectRequest is a request to the introspection endpoint.
type IntrospectRequest struct {
	// Client is the client authentication the request presented; it is
	// ignored when Bearer is set.
	Client ClientAuth
	// Bearer is the caller of a request that authenticated with
	// "Authorization: Bearer" instead (RFC 7662 §2.1), as
	// BearerIntrospector answers it; nil for client authentication.
	Bearer *Introspector
	Token  string
	// TokenTypeHint is only a hint (RFC 7662 §2.1); the token's form
	// decides, so a wrong hint changes nothing.
	TokenTypeHint string
}

// Introspector is a caller of the introspection endpoint that presented a
// bearer credential instead of client authentication (RFC 7662 §2.1). RFC
// 7662 §4 asks that such a caller learn nothing about tokens it has no
// business with (docs/SECURITY.md, Introspection):
//
//   - an API key of user U, or an access token that may act for U on the
//     management API (TokenCaller: admin scope, an owned client), learns
//     about the tokens whose subject is U and the tokens issued to a
//     client U owns;
//   - any other access token for this API (no admin scope, a client
//     without an owner, a user who is gone) learns about itself only.
//
// Every other token answers inactive, exactly as a token that does not
// exist does, so that the answer tells such a caller nothing.
type Introspector struct {
	// UserID is the user whose tokens the caller may learn about; "" for
	// one that may learn only about itself.
	UserID string
	// JTI is the jti of the access token the caller presented, which may
	// always learn about itself; "" for an API key.
	JTI string
}

// BearerIntrospector answers the introspector of an access token
// presented as "Authorization: Bearer": it must be a live token of this
// server whose audience is this API (the issuer or {issuer}/v2), else
// invalid_token. API keys are the adapter's to check (APIKeyCaller); their
// user is the Introspector's UserID.
func (p *Provider) BearerIntrospector(ctx context.Context, tok string) (Introspector, error) {
	c, client, ok, err := p.ActiveAccessToken(ctx, tok)
	if err != nil {
		return Introspector{}, err
	}
	if !ok {
		return Introspector{}, grantd.E(grantd.CodeInvalidToken, "the access token is not valid")
	}
	if !p.forThisAPI(c) {
		return Introspector{}, grantd.E(grantd.CodeInvalidToken, "the access token is not meant for this API")
	}
	in := Introspector{JTI: c.JTI}
	u, _, err := p.tokenCaller(ctx, c, client)
	switch {
	case err == nil:
		in.UserID = u.ID
	case grantd.ErrorCode(err) == grantd.CodeForbidden, grantd.ErrorCode(err) == grantd.CodeUnauthenticated:
		// Not admin-capable: itself only.
	default:
		return Introspector{}, err
	}
	return in, nil
}

// mayLearn reports whether a bearer caller may learn about the live token
// described by in (the rules of Introspector).
// client is the token's client when the introspection read it already.
func (p *Provider) mayLearn(ctx context.Context, who *Introspector, in Introspection, client *grantd.Client) (bool, error) {
	if who.JTI != "" && in.JTI == who.JTI {
		return true, nil
	}
	if who.UserID == "" {
		return false, nil
	}
	// A token with a grant acts for the grant's user, its subject. A
	// client_credentials token's subject is its client, so only the
	// client's owner counts for it.
	if (in.GrantID != "" || in.TokenType == TokenTypeRefresh) && in.Subject == who.UserID {
		return true, nil
	}
	if client != nil && client.ID == in.ClientID {
		return client.UserID != "" && client.UserID == who.UserID, nil
	}
	c, err := p.store.GetClient(ctx, in.ClientID)
	if errors.Is(err, grantd.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return c.UserID != "" && c.UserID == who.UserID, nil
}

// Introspect answers whether a token is a live token of this server. The
// caller is a confidential client, which may introspect any token (SPEC
// §3), or a bearer caller (req.Bearer), which learns only what the rules of
// Introspector give it and otherwise sees an inactive token.
func (p *Provider) Introspect(ctx context.Context, req IntrospectRequest) (Introspection, error) {
	in, err := p.introspectFor(ctx, req)
	if err == nil {
		p.obs.Introspected(in.Active)
	}
	return in, err
}

// introspectFor is Introspect without the observer.
func (p *Provider) introspectFor(ctx context.Context, req IntrospectRequest) (Introspection, error) {
	var caller *grantd.Client
	if req.Bearer == nil {
		if req.Client == (ClientAuth{}) {
			return Introspection{}, grantd.E(grantd.CodeInvalidClient, "authentication is required: use HTTP Basic or client_id and client_secret in the body, or Authorization: Bearer with an API key or an access token for this API")
		}
		c, err := p.AuthenticateClient(ctx, req.Client, false)
		if err != nil {
			return Introspection{}, err
		}
		caller = &c
	}
	if req.Token == "" {
		return Introspection{}, grantd.E(grantd.CodeInvalidRequest, "token is required")
	}
	in, client, err := p.introspect(ctx, req.Token, caller)
	if err != nil || !in.Active || req.Bearer == nil {
		return in, err
	}
	ok, err := p.mayLearn(ctx, req.Bearer, in, client)
	if err != nil || !ok {
		return Introspection{}, err
	}
	return in, nil
}

// introspect answers what the token is, for a caller that may know, and
// the token's client when it read it (access tokens); known is a client
// the request read already (see activeAccessToken).
func (p *Provider) introspect(ctx context.Context, tok string, known *grantd.Client) (Introspection, *grantd.Client, error) {
	if token.HasPrefix(tok, token.PrefixRefreshToken) {
		in, err := p.introspectRefresh(ctx, tok)
		return in, nil, err
	}
	c, client, ok, err := p.activeAccessToken(ctx, tok, known)
	if err != nil || !ok {
		return Introspection{}, nil, err
	}
	return Introspection{
		Active:    true,
		TokenType: TokenTypeAccess,
		Scope:     c.Scope,
		ClientID:  c.ClientID,
		Subject:   c.Subject,
		Audience:  c.Audience,
		Issuer:    c.Issuer,
		IssuedAt:  c.IssuedAt,
		ExpiresAt: c.ExpiresAt,
		JTI:       c.JTI,
		GrantID:   c.GrantID,
		Act:       c.Act,
	}, &client, nil
}

// introspectRefresh answers a refresh token: live while it is stored, not
// rotated out, not expired and its grant stands.
func (p *Provider) introspectRefresh(ctx context.Context, tok string) (Introspection, error) {
	rt, err := p.store.GetRefreshToken(ctx, token.Hash(tok))
	if errors.Is(err, grantd.ErrNotFound) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	if rt.RotatedAt != nil || !p.now().Before(rt.ExpiresAt) {
		return Introspection{}, nil
	}
	// Deleting a grant deletes its refresh tokens in the same
	// transaction; asking again costs one read and does not depend on
	// every backend cascading.
	if _, err := p.store.GetGrant(ctx, rt.GrantID); errors.Is(err, grantd.ErrNotFound) {
		return Introspection{}, nil
	} else if err != nil {
		return Introspection{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	aud := rt.Resource
	if aud == "" {
		aud = p.cfg.Issuer
	}
	return Introspection{
		Active:    true,
		TokenType: TokenTypeRefresh,
		Scope:     joinScopes(rt.Scopes),
		ClientID:  rt.ClientID,
		Subject:   rt.UserID,
		Audience:  aud,
		Issuer:    p.cfg.Issuer,
		IssuedAt:  rt.CreatedAt,
		ExpiresAt: rt.ExpiresAt,
		GrantID:   rt.GrantID,
	}, nil
}
