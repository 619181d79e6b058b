package oauth

import (
	"slices"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// clientCredentials runs the client_credentials grant (RFC 6749 §4.4).
// It is the hottest path of the server and writes nothing: the client was
// read to authenticate it, and the signed JWT is the only output. There
// is never a refresh token: the client can always ask again.
func (p *Provider) clientCredentials(c grantd.Client, req TokenRequest) (TokenResponse, error) {
	if c.Public() {
		return TokenResponse{}, grantd.E(grantd.CodeUnauthorizedClient, "a public client cannot use client_credentials")
	}
	if !c.Allows(grantd.GrantClientCredentials) {
		return TokenResponse{}, grantd.E(grantd.CodeUnauthorizedClient, "this client is not allowed the client_credentials grant")
	}
	scopes, err := p.clientScopes(c, req.Scope)
	if err != nil {
		return TokenResponse{}, err
	}
	aud, err := p.requestedAudience(req.Resources)
	if err != nil {
		return TokenResponse{}, err
	}
	if scopes, err = p.resourceScopes(aud, scopes, req.Scope != ""); err != nil {
		return TokenResponse{}, err
	}
	scope := joinScopes(scopes)
	at, err := p.sign(p.now(), accessToken{subject: c.ID, clientID: c.ID, audience: aud, scope: scope})
	if err != nil {
		return TokenResponse{}, err
	}
	return TokenResponse{AccessToken: at.token, ExpiresIn: p.expiresIn(), Scope: scope}, nil
}

// clientScopes answers the scopes of a client_credentials token: the
// requested ones, each allowed to the client, or by default every scope
// the client is allowed. Scopes the operator has since removed from the
// catalog, and sensitive ones of a client without an owner, are never
// issued.
func (p *Provider) clientScopes(c grantd.Client, requested string) ([]string, error) {
	allowed := p.allowedScopes(c)
	if requested != "" {
		want, ok := grantd.ParseScope(requested)
		if !ok {
			return nil, grantd.E(grantd.CodeInvalidScope, "scope is malformed")
		}
		for _, s := range want {
			if !slices.Contains(allowed, s) {
				return nil, grantd.E(grantd.CodeInvalidScope, "scope %s is not allowed to this client", token.Echo(s))
			}
		}
		if len(want) > 0 {
			return want, nil
		}
	}
	if len(allowed) == 0 {
		return nil, grantd.E(grantd.CodeInvalidScope, "this client is allowed no scope of this server")
	}
	return allowed, nil
}

// allowedScopes answers what the client may get now: the scopes it is
// allowed that are still in the catalog, in the client's order, without
// the sensitive ones when it has no owner. A row written before
// sensitive scopes existed may hold admin for a client registered by
// anyone; every authorization, consent and token decision goes through
// here, so that such a row never yields a sensitive scope. The common
// case allocates nothing: the answer is c.Scopes itself, which callers
// must not modify.
func (p *Provider) allowedScopes(c grantd.Client) []string {
	keep := func(s string) bool {
		return p.catalog.Has(s) && (c.UserID != "" || !p.catalog.Sensitive(s))
	}
	for i, s := range c.Scopes {
		if !keep(s) {
			out := slices.Clone(c.Scopes[:i])
			for _, s := range c.Scopes[i+1:] {
				if keep(s) {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return c.Scopes
}

// ClientScopes answers the scopes the client may get now (see
// allowedScopes), for adapters that show a client's scopes.
func (p *Provider) ClientScopes(c grantd.Client) []string { return slices.Clone(p.allowedScopes(c)) }
