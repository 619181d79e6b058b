package oauth

import (
	"context"
	"errors"
	"slices"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/cimd"
)

// A client_id that is an https URL with a path names a client ID metadata
// document (SPEC §3). authorizeClient resolves such a client through the
// fetcher (internal/cimd: SSRF defences, caching) and then keeps a client
// row for it, with the URL as its id: grants, codes, consents and refresh
// tokens reference clients by id with foreign keys, and the token,
// refresh and revocation endpoints find the client as they find any
// other. The row is written when an accepted document differs from it
// (first use, or a changed document after the cache expired); it is
// ownerless, public, without a secret, and allowed only the code and
// refresh grants. The document stays the authority: every authorization
// request reads it (from the cache while fresh), so a redirect URI
// removed from the document stops working once the cache expires.

// isDocumentClientID reports whether id names a client ID metadata
// document, under this engine's loopback policy.
func (p *Provider) isDocumentClientID(id string) bool {
	return p.docs != nil && cimd.IsDocumentURL(id, p.cfg.ClientMetadata.AllowLoopback)
}

// documentClient fetches the document named by id, checks it, and answers
// its client, upserting the client row. Refusals are *grantd.Error values
// for the authorize error page: a document that is not acceptable is
// invalid_request (400), one whose URL the policy refuses is
// validation_failed on client_id (422), one that cannot be fetched is
// not_found (404).
func (p *Provider) documentClient(ctx context.Context, id string) (grantd.Client, error) {
	doc, err := p.docs.Fetch(ctx, id)
	if err != nil {
		var ce *cimd.Error
		if !errors.As(err, &ce) {
			return grantd.Client{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
		}
		p.log.Info("client metadata document refused", "client_id", id, "err", err)
		switch ce.Kind {
		case cimd.Refused:
			e := grantd.Invalid(grantd.FieldError{Pointer: "client_id", Detail: ce.Reason})
			e.Description = ce.Reason
			return grantd.Client{}, e
		case cimd.Invalid:
			return grantd.Client{}, grantd.E(grantd.CodeInvalidRequest, "%s", ce.Reason)
		default:
			return grantd.Client{}, grantd.E(grantd.CodeNotFound, "%s", ce.Reason)
		}
	}
	want, err := p.clientFromDocument(id, doc)
	if err != nil {
		return grantd.Client{}, err
	}
	return p.upsertDocumentClient(ctx, want)
}

// clientFromDocument builds the client a document describes.
func (p *Provider) clientFromDocument(id string, doc cimd.Document) (grantd.Client, error) {
	for _, u := range doc.RedirectURIs {
		if why := CheckRedirectURI(u); why != "" {
			return grantd.Client{}, grantd.E(grantd.CodeInvalidRequest, "the client metadata document's redirect_uris: %q %s", u, why)
		}
	}
	if len(doc.GrantTypes) > 0 && !slices.Contains(doc.GrantTypes, grantd.GrantAuthorizationCode) {
		return grantd.Client{}, grantd.E(grantd.CodeInvalidRequest, "the client metadata document's grant_types do not include authorization_code")
	}
	if len(doc.ClientName) > 255 {
		return grantd.Client{}, grantd.E(grantd.CodeInvalidRequest, "the client metadata document's client_name is longer than 255 characters")
	}
	c := grantd.Client{
		ID:                      id,
		Name:                    doc.ClientName,
		Type:                    grantd.ClientPublic,
		RequirePKCE:             true,
		GrantTypes:              []string{grantd.GrantAuthorizationCode, grantd.GrantRefreshToken},
		RedirectURIs:            dedupe(doc.RedirectURIs),
		TokenEndpointAuthMethod: "none",
		Origin:                  grantd.OriginMetadataDocument,
	}
	// Web URIs are shown on the consent page: keep only acceptable ones.
	for dst, u := range map[*string]string{&c.LogoURI: doc.LogoURI, &c.TosURI: doc.TosURI, &c.PolicyURI: doc.PolicyURI} {
		if u != "" && CheckWebURI(u) == "" {
			*dst = u
		}
	}
	// Never a sensitive scope: nobody answers for this client.
	if doc.Scope != "" {
		scopes, _ := grantd.ParseScope(doc.Scope)
		for _, s := range scopes {
			if p.catalog.Has(s) && !p.catalog.Sensitive(s) && !slices.Contains(c.Scopes, s) {
				c.Scopes = append(c.Scopes, s)
			}
		}
	} else {
		c.Scopes = p.catalog.NonSensitiveIDs()
	}
	if c.Scopes == nil {
		c.Scopes = []string{}
	}
	return c, nil
}

// sameDocumentClient reports whether the row already says what the
// document says.
func sameDocumentClient(a, b grantd.Client) bool {
	return a.Name == b.Name && a.Type == b.Type && a.RequirePKCE == b.RequirePKCE &&
		slices.Equal(a.GrantTypes, b.GrantTypes) && slices.Equal(a.Scopes, b.Scopes) &&
		slices.Equal(a.RedirectURIs, b.RedirectURIs) && a.SecretHash == "" &&
		a.LogoURI == b.LogoURI && a.TosURI == b.TosURI && a.PolicyURI == b.PolicyURI &&
		a.TokenEndpointAuthMethod == b.TokenEndpointAuthMethod && a.OrgID == "" && a.UserID == ""
}

func (p *Provider) upsertDocumentClient(ctx context.Context, want grantd.Client) (grantd.Client, error) {
	old, err := p.store.GetClient(ctx, want.ID)
	switch {
	case err == nil && sameDocumentClient(old, want):
		return old, nil
	case errors.Is(err, grantd.ErrNotFound):
		now := p.now().UTC()
		want.CreatedAt, want.UpdatedAt = now, now
		err = p.store.CreateClient(ctx, want)
		if err == nil {
			return want, nil
		}
		if !errors.Is(err, grantd.ErrAlreadyExists) {
			return grantd.Client{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
		}
		// Another request created it meanwhile: update it below.
	case err != nil:
		return grantd.Client{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	c, err := p.store.UpdateClient(ctx, want.ID, func(c grantd.Client) (grantd.Client, error) {
		w := want
		w.CreatedAt, w.UpdatedAt = c.CreatedAt, p.now().UTC()
		w.CreatedByClientID, w.CreatedByGrantID = c.CreatedByClientID, c.CreatedByGrantID
		w.Verified = c.Verified
		return w, nil
	})
	if err != nil {
		return grantd.Client{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return c, nil
}
