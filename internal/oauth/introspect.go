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
	c, err := p.keys.Verify(ctx, tok)
	if err != nil || c.Valid(p.now(), p.cfg.Issuer) != nil {
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
		if g.ClientID != c.ClientID || g.UserID != c.Subject {
			return token.AccessClaims{}, grantd.Client{}, false, nil
		}
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
}

// IntrospectRequest is a request to the introspection endpoint.
type IntrospectRequest struct {
	Client ClientAuth
	Token  string
	// TokenTypeHint is only a hint (RFC 7662 §2.1); the token's form
	// decides, so a wrong hint changes nothing.
	TokenTypeHint string
}

// Introspect answers whether a token is a live token of this server. The
// caller must be a confidential client; any such client may introspect
// any token (SPEC §3).
func (p *Provider) Introspect(ctx context.Context, req IntrospectRequest) (Introspection, error) {
	if _, err := p.AuthenticateClient(ctx, req.Client, false); err != nil {
		return Introspection{}, err
	}
	if req.Token == "" {
		return Introspection{}, grantd.E(grantd.CodeInvalidRequest, "token is required")
	}
	if token.HasPrefix(req.Token, token.PrefixRefreshToken) {
		return p.introspectRefresh(ctx, req.Token)
	}
	c, _, ok, err := p.ActiveAccessToken(ctx, req.Token)
	if err != nil || !ok {
		return Introspection{}, err
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
	}, nil
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
