package oauth

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/grantd/grantd"
)

// errNoGrant is the answer for a grant that does not exist or is not the
// caller's: the two are indistinguishable on purpose.
func errNoGrant() *grantd.Error {
	return grantd.E(grantd.CodeNotFound, "no OAuth grant with that id")
}

// ListGrants answers one page of the user's grants, newest first, and
// how many there are.
func (p *Provider) ListGrants(ctx context.Context, userID string, page grantd.Page) ([]grantd.Grant, int, error) {
	gs, total, err := p.store.ListGrants(ctx, userID, page)
	if err != nil {
		return nil, 0, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return gs, total, nil
}

// OwnGrant answers the user's grant; anyone else's, an unknown id and a
// malformed one are all not found.
func (p *Provider) OwnGrant(ctx context.Context, userID, grantID string) (grantd.Grant, error) {
	// Grant ids are UUIDs in canonical form; anything else cannot name one
	// and must not reach the database as a lookup that could fail oddly.
	if len(grantID) != 36 || uuid.Validate(grantID) != nil {
		return grantd.Grant{}, errNoGrant()
	}
	g, err := p.store.GetGrant(ctx, grantID)
	switch {
	case errors.Is(err, grantd.ErrNotFound):
		return grantd.Grant{}, errNoGrant()
	case err != nil:
		return grantd.Grant{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	case g.UserID != userID:
		return grantd.Grant{}, errNoGrant()
	}
	return g, nil
}

// ClientsMadeThrough answers up to limit of the user's clients that the
// grant's app created through its tokens, newest first, and how many
// there are: what revoking the grant deletes from the user's account,
// for a page to say before the person confirms.
func (p *Provider) ClientsMadeThrough(ctx context.Context, userID, grantID string, limit int) ([]grantd.Client, int, error) {
	cs, total, err := p.store.ListClients(ctx, grantd.ClientFilter{OwnerUserID: userID, CreatedByGrantID: grantID}, grantd.Page{Number: 1, Size: limit})
	if err != nil {
		return nil, 0, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return cs, total, nil
}

// RevokeGrant deletes the user's grant and answers it as it was. The
// store removes its refresh tokens and revokes the access tokens issued
// under it in the same transaction, and introspection also checks that a
// token's grant still exists, so both stop working at once. The clients
// the app created through the grant's tokens go in the same transaction,
// with everything under them: removing an app removes what it made.
func (p *Provider) RevokeGrant(ctx context.Context, userID, grantID string) (grantd.Grant, error) {
	g, err := p.OwnGrant(ctx, userID, grantID)
	if err != nil {
		return grantd.Grant{}, err
	}
	err = p.store.DeleteGrant(ctx, g.ID)
	switch {
	case errors.Is(err, grantd.ErrNotFound):
		// Revoked by a concurrent request: for this caller it is gone.
		return grantd.Grant{}, errNoGrant()
	case err != nil:
		return grantd.Grant{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	p.log.InfoContext(ctx, "grant revoked", "grant_id", g.ID, "client_id", g.ClientID, "user_id", userID)
	return g, nil
}
