package oauth

import (
	"context"
	"errors"
	"slices"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// Token type identifiers (RFC 8693 §3). grantd exchanges access tokens
// for access tokens; the others are named so that an error can say which
// one was refused.
const (
	TokenTypeURIAccess  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeURIRefresh = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeURIIDToken = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeURISAML1   = "urn:ietf:params:oauth:token-type:saml1"
	TokenTypeURISAML2   = "urn:ietf:params:oauth:token-type:saml2"
	TokenTypeURIJWT     = "urn:ietf:params:oauth:token-type:jwt"
)

var knownTokenTypes = []string{TokenTypeURIAccess, TokenTypeURIRefresh, TokenTypeURIIDToken, TokenTypeURISAML1, TokenTypeURISAML2, TokenTypeURIJWT}

// MaxDelegation is the longest actor chain an exchanged token may carry:
// a token exchanged that many times cannot be exchanged again. It keeps
// tokens small (each hop adds an act object) and chains readable.
const MaxDelegation = 8

// tokenExchange runs the token exchange grant (RFC 8693): the client
// trades a person's live access token (subject_token) for one towards a
// resource it is allowed to exchange for (Client.TokenExchangeResources),
// acting for that person.
//
// The new token keeps the person as sub and the person's grant as
// grant_id (so that revoking the grant revokes it, and it is recorded
// under the grant: Store.RecordExchangedToken), names the exchanging
// client as client_id and the actor in act, nesting the subject token's
// own act (RFC 8693 §4.1), so that the whole chain is visible. Its scope
// is never wider than the subject token's, the client's allowed scopes
// and what the resource accepts; it never outlives the subject token;
// there is no refresh token (the client exchanges again).
func (p *Provider) tokenExchange(ctx context.Context, c grantd.Client, req TokenRequest) (TokenResponse, error) {
	if c.Public() {
		return TokenResponse{}, grantd.E(grantd.CodeUnauthorizedClient, "a public client cannot use token exchange")
	}
	if !c.Allows(grantd.GrantTokenExchange) {
		return TokenResponse{}, grantd.E(grantd.CodeUnauthorizedClient, "this client is not allowed the token exchange grant")
	}
	if err := checkExchangeParams(req); err != nil {
		return TokenResponse{}, err
	}
	aud, err := p.exchangeAudience(c, req)
	if err != nil {
		return TokenResponse{}, err
	}

	subject, _, ok, err := p.ActiveAccessToken(ctx, req.SubjectToken)
	switch {
	case err != nil:
		return TokenResponse{}, err
	case !ok:
		return TokenResponse{}, grantd.E(grantd.CodeInvalidGrant, "subject_token is not an active access token of this server")
	case subject.GrantID == "":
		// A client_credentials token acts for no person: there is no
		// grant for the exchanged token to stay under.
		return TokenResponse{}, grantd.E(grantd.CodeInvalidGrant, "subject_token was not issued for a person's grant")
	case subject.Act.Depth() >= MaxDelegation:
		return TokenResponse{}, grantd.E(grantd.CodeInvalidGrant, "subject_token has been exchanged too many times")
	}

	act := &token.Actor{Subject: c.ID, ClientID: c.ID, Act: subject.Act}
	if req.ActorToken != "" {
		actor, _, ok, err := p.ActiveAccessToken(ctx, req.ActorToken)
		switch {
		case err != nil:
			return TokenResponse{}, err
		case !ok:
			return TokenResponse{}, grantd.E(grantd.CodeInvalidGrant, "actor_token is not an active access token of this server")
		case actor.ClientID != c.ID:
			// Else a client could name anyone whose token it holds as
			// the actor.
			return TokenResponse{}, grantd.E(grantd.CodeInvalidGrant, "actor_token must be an access token issued to the client that exchanges")
		}
		act.Subject = actor.Subject
	}

	scopes, err := p.exchangeScopes(c, subject.Scope, req.Scope)
	if err != nil {
		return TokenResponse{}, err
	}
	if scopes, err = p.resourceScopes(aud, scopes, req.Scope != ""); err != nil {
		return TokenResponse{}, err
	}
	scope := joinScopes(scopes)
	now := p.now()
	if subject.ExpiresAt.Unix()-now.Unix() < 1 {
		// Less than the second a token's exp can express is left.
		return TokenResponse{}, grantd.E(grantd.CodeInvalidGrant, "subject_token is not an active access token of this server")
	}
	at, err := p.sign(now, accessToken{
		subject:  subject.Subject,
		clientID: c.ID,
		audience: aud,
		scope:    scope,
		grantID:  subject.GrantID,
		act:      act,
		notAfter: subject.ExpiresAt,
	})
	if err != nil {
		return TokenResponse{}, err
	}
	err = p.store.RecordExchangedToken(ctx, grantd.ExchangedToken{JTI: at.jti, GrantID: subject.GrantID, ClientID: c.ID, ExpiresAt: at.expiresAt}, now)
	switch {
	case errors.Is(err, grantd.ErrNotFound):
		// The grant (or this client) went while the exchange ran.
		return TokenResponse{}, grantd.E(grantd.CodeInvalidGrant, "subject_token is not an active access token of this server")
	case err != nil:
		return TokenResponse{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	expiresIn := at.expiresAt.Unix() - now.Unix()
	return TokenResponse{AccessToken: at.token, ExpiresIn: expiresIn, Scope: scope, IssuedTokenType: TokenTypeURIAccess}, nil
}

// checkExchangeParams checks the token type parameters (RFC 8693 §2.1).
func checkExchangeParams(req TokenRequest) error {
	switch {
	case req.SubjectToken == "":
		return grantd.E(grantd.CodeInvalidRequest, "subject_token is required")
	case req.SubjectTokenType == "":
		return grantd.E(grantd.CodeInvalidRequest, "subject_token_type is required")
	case req.SubjectTokenType != TokenTypeURIAccess:
		return grantd.E(grantd.CodeInvalidRequest, "subject_token_type %s is not supported; use %s", token.Echo(req.SubjectTokenType, knownTokenTypes...), TokenTypeURIAccess)
	case req.ActorToken == "" && req.ActorTokenType != "":
		return grantd.E(grantd.CodeInvalidRequest, "actor_token_type was sent without actor_token")
	case req.ActorToken != "" && req.ActorTokenType == "":
		return grantd.E(grantd.CodeInvalidRequest, "actor_token_type is required with actor_token")
	case req.ActorToken != "" && req.ActorTokenType != TokenTypeURIAccess:
		return grantd.E(grantd.CodeInvalidRequest, "actor_token_type %s is not supported; use %s", token.Echo(req.ActorTokenType, knownTokenTypes...), TokenTypeURIAccess)
	case req.RequestedTokenType != "" && req.RequestedTokenType != TokenTypeURIAccess:
		return grantd.E(grantd.CodeInvalidRequest, "requested_token_type %s is not supported; use %s", token.Echo(req.RequestedTokenType, knownTokenTypes...), TokenTypeURIAccess)
	}
	return nil
}

// exchangeAudience answers the aud of an exchanged token: the configured
// resource that the resource and audience parameters name (one resource,
// which both may name), which must be one the client may exchange for.
func (p *Provider) exchangeAudience(c grantd.Client, req TokenRequest) (string, error) {
	targets := append(slices.Clone(req.Resources), req.Audiences...)
	if len(targets) == 0 {
		return "", grantd.E(grantd.CodeInvalidRequest, "resource or audience is required: name the resource the token is for")
	}
	var aud string
	for _, t := range targets {
		id, ok := p.resources.Match(t)
		if !ok {
			return "", grantd.E(grantd.CodeInvalidTarget, "resource is not a resource of this server")
		}
		if aud != "" && id != aud {
			return "", errOneResource()
		}
		aud = id
	}
	if !slices.Contains(c.TokenExchangeResources, aud) {
		return "", grantd.E(grantd.CodeInvalidTarget, "this client may not exchange tokens for that resource")
	}
	return aud, nil
}

// exchangeScopes answers the scopes of an exchanged token: the requested
// ones, each carried by the subject token and allowed to the client
// (invalid_scope otherwise), or by default those of the subject token's
// scopes the client is allowed.
func (p *Provider) exchangeScopes(c grantd.Client, subjectScope, requested string) ([]string, error) {
	have, _ := grantd.ParseScope(subjectScope)
	allowed := p.allowedScopes(c)
	want, ok := grantd.ParseScope(requested)
	if !ok {
		return nil, grantd.E(grantd.CodeInvalidScope, "scope is malformed")
	}
	if len(want) > 0 {
		for _, s := range want {
			switch {
			case !slices.Contains(have, s):
				return nil, grantd.E(grantd.CodeInvalidScope, "scope %s is not carried by the subject_token", token.Echo(s))
			case !slices.Contains(allowed, s):
				return nil, grantd.E(grantd.CodeInvalidScope, "scope %s is not allowed to this client", token.Echo(s))
			}
		}
		return want, nil
	}
	var out []string
	for _, s := range have {
		if slices.Contains(allowed, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, grantd.E(grantd.CodeInvalidScope, "this client is allowed none of the subject_token's scopes")
	}
	return out, nil
}
