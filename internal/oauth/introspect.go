package oauth

import (
	"context"
	"errors"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// ActiveAccessToken verifies an access token of this server and answers
// its claims when it is live: signature by a published key, issuer, not
// expired, not revoked by jti, its grant (if any) still standing and its
// client still registered. Anything else answers false.
func (p *Provider) ActiveAccessToken(ctx context.Context, tok string) (token.AccessClaims, bool, error) {
	c, err := p.keys.Verify(tok)
	if err != nil {
		return token.AccessClaims{}, false, nil
	}
	if c.Valid(p.now(), p.cfg.Issuer) != nil {
		return token.AccessClaims{}, false, nil
	}
	revoked, err := p.store.IsJTIRevoked(ctx, c.JTI)
	if err != nil {
		return token.AccessClaims{}, false, err
	}
	if revoked {
		return token.AccessClaims{}, false, nil
	}
	if c.GrantID != "" {
		if _, err := p.store.GetGrant(ctx, c.GrantID); errors.Is(err, grantd.ErrNotFound) {
			return token.AccessClaims{}, false, nil
		} else if err != nil {
			return token.AccessClaims{}, false, err
		}
	}
	if _, err := p.store.GetClient(ctx, c.ClientID); errors.Is(err, grantd.ErrNotFound) {
		return token.AccessClaims{}, false, nil
	} else if err != nil {
		return token.AccessClaims{}, false, err
	}
	return c, true, nil
}
