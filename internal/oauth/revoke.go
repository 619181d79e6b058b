package oauth

import (
	"context"
	"errors"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// RevokeRequest is a request to the revocation endpoint (RFC 7009).
type RevokeRequest struct {
	Client ClientAuth
	Token  string
	// TokenTypeHint is only a hint; the token's form decides.
	TokenTypeHint string
}

// Revoke revokes a token the authenticated client holds. A token that is
// unknown, invalid, expired, already revoked or another client's is not
// an error (RFC 7009 §2.2): the answer must not tell a client whether a
// token it guessed exists. Nothing is revoked for it.
func (p *Provider) Revoke(ctx context.Context, req RevokeRequest) error {
	c, err := p.AuthenticateClient(ctx, req.Client, true)
	if err != nil {
		return err
	}
	if req.Token == "" {
		return grantd.E(grantd.CodeInvalidRequest, "token is required")
	}
	if token.HasPrefix(req.Token, token.PrefixRefreshToken) {
		return p.revokeRefresh(ctx, c, req.Token)
	}
	claims, err := p.keys.Verify(ctx, req.Token)
	if err != nil || claims.Valid(p.now(), p.cfg.Issuer) != nil || claims.ClientID != c.ID {
		return nil
	}
	if err := p.store.RevokeJTI(ctx, claims.JTI, claims.ExpiresAt); err != nil {
		return grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return nil
}

// revokeRefresh deletes a live refresh token of the client and the access
// token issued with it. A rotated-out token is left alone: it is already
// useless, and its row is what lets a later presentation be caught as
// reuse.
func (p *Provider) revokeRefresh(ctx context.Context, c grantd.Client, tok string) error {
	hash := token.Hash(tok)
	rt, err := p.store.GetRefreshToken(ctx, hash)
	if errors.Is(err, grantd.ErrNotFound) {
		return nil
	}
	if err != nil {
		return grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	if rt.ClientID != c.ID || rt.RotatedAt != nil {
		return nil
	}
	if err := p.store.RevokeRefreshToken(ctx, hash); err != nil && !errors.Is(err, grantd.ErrNotFound) {
		return grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return nil
}
