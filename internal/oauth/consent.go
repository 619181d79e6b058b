package oauth

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// ConsentView is what a consent page shows the user about a pending
// authorization request.
type ConsentView struct {
	ClientID, Name, LogoURI, TosURI, PolicyURI, RedirectURI string
	Verified                                                bool
	RequestedScopes                                         []grantd.Scope // id, name, description from the catalog
}

// maxConsentTokenLength bounds what is hashed and looked up; a real token
// is 58 characters.
const maxConsentTokenLength = 128

// badConsent is the one answer for a consent token that cannot be used.
// Unknown and another user's tokens read the same, so that the answer
// does not tell whether a token exists.
// The description repeats the field's detail for adapters that show one
// message (the consent page) rather than the list of fields.
func badConsent(why string) *grantd.Error {
	e := grantd.Invalid(grantd.FieldError{Pointer: "/consent_token", Detail: "the consent token " + why})
	e.Description = e.Fields[0].Detail
	return e
}

// IsBadConsentToken reports whether err is the answer for a consent token
// that cannot be used, which adapters count as a failure against the
// caller's budget.
func IsBadConsentToken(err error) bool {
	var e *grantd.Error
	return errors.As(err, &e) && e.Code == grantd.CodeValidation && len(e.Fields) == 1 && e.Fields[0].Pointer == "/consent_token"
}

// ConsentDetails answers what the user is asked to approve. A consent
// token that is expired, used, malformed, unknown or another user's is a
// 422 naming /consent_token.
func (p *Provider) ConsentDetails(ctx context.Context, userID, consentToken string) (ConsentView, error) {
	c, err := p.pendingConsent(ctx, userID, consentToken, p.now().UTC())
	if err != nil {
		return ConsentView{}, err
	}
	client, redirect, err := p.consentClient(ctx, c)
	if err != nil {
		return ConsentView{}, err
	}
	return ConsentView{
		ClientID:        client.ID,
		Name:            client.DisplayName(),
		LogoURI:         client.LogoURI,
		TosURI:          client.TosURI,
		PolicyURI:       client.PolicyURI,
		RedirectURI:     redirect,
		Verified:        client.Verified,
		RequestedScopes: p.catalog.Describe(c.Scopes),
	}, nil
}

// Decide records the user's answer to a pending request and answers where
// the browser goes next. The consent token is used up either way.
// Allowed: the user's one grant for the client is created or widened
// (never a second one), and a code is issued for the scopes of this
// request. Denied: access_denied. Both answers carry state and iss.
func (p *Provider) Decide(ctx context.Context, userID, consentToken string, allowed bool) (string, error) {
	now := p.now().UTC()
	// Checked before the token is used up, so that someone else holding
	// the token cannot spend it.
	c, err := p.pendingConsent(ctx, userID, consentToken, now)
	if err != nil {
		return "", err
	}
	client, redirect, err := p.consentClient(ctx, c)
	if err != nil {
		return "", err
	}
	c, err = p.store.ConsumeConsent(ctx, c.Hash, now)
	switch {
	case errors.Is(err, grantd.ErrAlreadyUsed):
		return "", badConsent("has already been used")
	case errors.Is(err, grantd.ErrNotFound):
		return "", badConsent("is not valid")
	case err != nil:
		return "", grantd.Wrap(grantd.CodeInternal, err, "internal error")
	}

	req := authRequest{
		client:    client,
		redirect:  redirect,
		requested: c.RedirectURI,
		scopes:    c.Scopes,
		state:     c.State,
		challenge: c.CodeChallenge,
		resource:  c.Resource,
	}
	if !allowed {
		return p.errorRedirect(req, grantd.E(grantd.CodeAccessDenied, "the user denied the request")), nil
	}
	// The client may have changed while the user was deciding.
	if !client.Allows(grantd.GrantAuthorizationCode) {
		return p.errorRedirect(req, grantd.E(grantd.CodeUnauthorizedClient, "this application may no longer use the authorization code flow")), nil
	}
	for _, s := range req.scopes {
		if !slices.Contains(client.Scopes, s) || !p.catalog.Has(s) {
			return p.errorRedirect(req, grantd.E(grantd.CodeInvalidScope, "scope asks for more than this application is allowed")), nil
		}
	}
	g, err := p.widenGrant(ctx, userID, client.ID, req.scopes, now)
	if err != nil {
		return p.serverErrorRedirect(ctx, req, err), nil
	}
	return p.codeRedirect(ctx, req, userID, g.ID, now), nil
}

// pendingConsent answers the user's unused, unexpired consent.
func (p *Provider) pendingConsent(ctx context.Context, userID, tok string, now time.Time) (grantd.Consent, error) {
	if tok == "" {
		e := grantd.Invalid(grantd.FieldError{Pointer: "/consent_token", Detail: "consent_token is required"})
		e.Description = e.Fields[0].Detail
		return grantd.Consent{}, e
	}
	if userID == "" || len(tok) > maxConsentTokenLength || !token.HasPrefix(tok, token.PrefixConsentToken) {
		return grantd.Consent{}, badConsent("is not valid")
	}
	c, err := p.store.GetConsent(ctx, token.Hash(tok))
	switch {
	case errors.Is(err, grantd.ErrNotFound):
		return grantd.Consent{}, badConsent("is not valid")
	case err != nil:
		return grantd.Consent{}, grantd.Wrap(grantd.CodeInternal, err, "internal error")
	case c.UserID != userID:
		return grantd.Consent{}, badConsent("is not valid")
	case c.UsedAt != nil:
		return grantd.Consent{}, badConsent("has already been used")
	case !now.Before(c.ExpiresAt):
		return grantd.Consent{}, badConsent("has expired; start again from the application")
	}
	return c, nil
}

// consentClient answers the consent's client and where its answer goes,
// checked again: the client may have been changed or deleted since.
func (p *Provider) consentClient(ctx context.Context, c grantd.Consent) (grantd.Client, string, error) {
	client, err := p.store.GetClient(ctx, c.ClientID)
	if errors.Is(err, grantd.ErrNotFound) {
		return grantd.Client{}, "", badConsent("is for an application that no longer exists")
	}
	if err != nil {
		return grantd.Client{}, "", grantd.Wrap(grantd.CodeInternal, err, "internal error")
	}
	redirect, ok := ResolveRedirect(client, c.RedirectURI)
	if !ok {
		return grantd.Client{}, "", badConsent("is for a redirect URI the application no longer registers")
	}
	return client, redirect, nil
}

// widenGrant answers the user's grant for the client covering scopes:
// the existing one, widened if needed, or a new one.
func (p *Provider) widenGrant(ctx context.Context, userID, clientID string, scopes []string, now time.Time) (grantd.Grant, error) {
	now = now.Truncate(time.Second)
	// Two decisions for the same client may race (two tabs): whichever
	// creates the grant first wins and the other widens it; a grant
	// revoked in between is made again. A few rounds settle any race.
	for range 3 {
		g, err := p.store.GetGrantByUserClient(ctx, userID, clientID)
		if errors.Is(err, grantd.ErrNotFound) {
			g = grantd.Grant{ID: uuid.NewString(), UserID: userID, ClientID: clientID, Scopes: slices.Clone(scopes), CreatedAt: now, UpdatedAt: now}
			err = p.store.CreateGrant(ctx, g)
			if errors.Is(err, grantd.ErrAlreadyExists) {
				continue
			}
			return g, err
		}
		if err != nil {
			return grantd.Grant{}, err
		}
		if grantd.Subset(scopes, g.Scopes) {
			return g, nil
		}
		g, err = p.store.UpdateGrant(ctx, g.ID, func(g grantd.Grant) (grantd.Grant, error) {
			for _, s := range scopes {
				if !slices.Contains(g.Scopes, s) {
					g.Scopes = append(g.Scopes, s)
				}
			}
			g.UpdatedAt = now
			return g, nil
		})
		if errors.Is(err, grantd.ErrNotFound) {
			continue
		}
		return g, err
	}
	return grantd.Grant{}, errors.New("oauth: the grant kept changing while it was being widened")
}
