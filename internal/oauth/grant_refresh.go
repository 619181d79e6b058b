package oauth

import (
	"context"
	"errors"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// refreshToken runs the refresh_token grant (RFC 6749 §6) with rotation
// on every use (RFC 9700 §4.14.2). Presenting a rotated-out token is
// reuse: the store revokes every token under the grant and keeps the
// grant, since the user's consent is not what leaked. Config.RefreshGrace
// lets a client retry with the token it just rotated.
func (p *Provider) refreshToken(ctx context.Context, c grantd.Client, req TokenRequest) (TokenResponse, error) {
	if !c.Allows(grantd.GrantRefreshToken) {
		return TokenResponse{}, grantd.E(grantd.CodeUnauthorizedClient, "this client is not allowed the refresh_token grant")
	}
	if req.RefreshToken == "" {
		return TokenResponse{}, grantd.E(grantd.CodeInvalidRequest, "refresh_token is required")
	}
	if len(req.Resources) > 1 {
		return TokenResponse{}, errOneResource()
	}
	if _, ok := grantd.ParseScope(req.Scope); !ok {
		return TokenResponse{}, grantd.E(grantd.CodeInvalidScope, "scope is malformed")
	}
	if !token.HasPrefix(req.RefreshToken, token.PrefixRefreshToken) {
		return TokenResponse{}, errBadRefresh()
	}
	now := p.now()

	var resp TokenResponse
	old, err := p.store.RotateRefreshToken(ctx, token.Hash(req.RefreshToken), now, p.cfg.RefreshGrace, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		if old.ClientID != c.ID || !now.Before(old.ExpiresAt) {
			return old, errBadRefresh()
		}
		aud, err := p.grantedAudience(old.Resource, req.Resources)
		if err != nil {
			return old, err
		}
		scopes, err := narrowScope(req.Scope, old.Scopes, p.allowedScopes(c))
		if err != nil {
			return old, err
		}
		scope := joinScopes(scopes)
		at, err := p.sign(now, accessToken{subject: old.UserID, clientID: c.ID, audience: aud, scope: scope, grantID: old.GrantID})
		if err != nil {
			return old, err
		}
		next := grantd.RefreshToken{
			FamilyID: old.FamilyID,
			GrantID:  old.GrantID,
			ClientID: old.ClientID,
			UserID:   old.UserID,
			// RFC 6749 §6: the new refresh token has the old one's
			// scope; only the access token is narrowed.
			Scopes:    old.Scopes,
			Resource:  old.Resource,
			CreatedAt: now,
			// Sliding: a token in use stays usable; one left alone for
			// RefreshTokenTTL dies.
			ExpiresAt:       now.Add(p.cfg.RefreshTokenTTL),
			AccessJTI:       at.jti,
			AccessExpiresAt: at.expiresAt,
		}
		resp = TokenResponse{AccessToken: at.token, ExpiresIn: p.expiresIn(), Scope: scope}
		resp.RefreshToken, next.Hash = token.NewOpaque(token.PrefixRefreshToken)
		return next, nil
	})
	switch {
	case errors.Is(err, grantd.ErrReused):
		p.log.WarnContext(ctx, "refresh token reused: revoked every token under its grant", "client_id", c.ID, "grant_id", old.GrantID)
		return TokenResponse{}, errBadRefresh()
	case err != nil:
		return TokenResponse{}, storeErr(err, errBadRefresh().Description)
	}
	return resp, nil
}

// errBadRefresh is the one answer for a refresh token that is unknown,
// expired, rotated out, revoked or another client's: which of these it
// was is nobody's business but the log's.
func errBadRefresh() *grantd.Error {
	return grantd.E(grantd.CodeInvalidGrant, "the refresh token is invalid, expired or revoked")
}
