package oauth

import (
	"context"
	"errors"
	"slices"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// Via is the access token a management call came through: the app that
// acts for a person. It is zero for a call made with an API key or from
// the person's own pages.
type Via struct {
	ClientID string   // the app whose token it is
	GrantID  string   // the grant it was issued under; "" for client_credentials
	Scopes   []string // what the token carries
}

// Token reports whether the call came through an access token.
func (v Via) Token() bool { return v.ClientID != "" }

// TokenCaller answers the user a management call made with an access
// token acts for (SPEC §2, Callers), and the token as a Via. The token
// must be live, carry admin and have this API (the issuer or
// {issuer}/v2) as its audience. A token from the code flow acts for the
// user who consented; a client_credentials token for the client's owner.
//
// A token of a client without an owner (open registration, a client ID
// metadata document) reaches no management data, whatever its grant:
// nobody answers for such a client, and one approval by one person must
// not hand it that person's account. This is checked before the scope,
// so that it holds for tokens issued before sensitive scopes existed,
// which may carry admin.
func (p *Provider) TokenCaller(ctx context.Context, tok string) (grantd.User, Via, error) {
	c, client, ok, err := p.ActiveAccessToken(ctx, tok)
	if err != nil {
		return grantd.User{}, Via{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	if !ok {
		return grantd.User{}, Via{}, grantd.E(grantd.CodeUnauthenticated, "the access token is not valid")
	}
	if !p.forThisAPI(c) {
		return grantd.User{}, Via{}, grantd.E(grantd.CodeUnauthenticated, "the access token is not meant for this API")
	}
	return p.tokenCaller(ctx, c, client)
}

// forThisAPI reports whether an access token's audience is this API: the
// issuer or {issuer}/v2.
func (p *Provider) forThisAPI(c token.AccessClaims) bool {
	return c.Audience == p.cfg.Issuer || c.Audience == p.APIBase()
}

// tokenCaller is TokenCaller for a live token meant for this API, once
// verified.
func (p *Provider) tokenCaller(ctx context.Context, c token.AccessClaims, client grantd.Client) (grantd.User, Via, error) {
	if client.UserID == "" {
		return grantd.User{}, Via{}, grantd.E(grantd.CodeForbidden, "this client has no owner and reaches no management data")
	}
	scopes, _ := grantd.ParseScope(c.Scope)
	if !slices.Contains(scopes, grantd.ScopeAdmin) {
		return grantd.User{}, Via{}, grantd.E(grantd.CodeForbidden, "the access token lacks the admin scope")
	}
	userID := c.Subject
	if c.GrantID == "" {
		// client_credentials: the token acts for the client's owner.
		userID = client.UserID
	}
	u, err := p.store.GetUser(ctx, userID)
	if errors.Is(err, grantd.ErrNotFound) {
		return grantd.User{}, Via{}, grantd.E(grantd.CodeUnauthenticated, "the access token's user no longer exists")
	}
	if err != nil {
		return grantd.User{}, Via{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return u, Via{ClientID: client.ID, GrantID: c.GrantID, Scopes: scopes}, nil
}
