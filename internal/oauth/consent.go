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
	// GrantedScopes are the scopes the user's grant for the client holds
	// already (none without a grant), described like RequestedScopes: a
	// step-up request asks for more than these.
	GrantedScopes []grantd.Scope
	// Origin is how the client came to be (Client.OriginOf); for
	// OriginMetadataDocument, ClientID is the document's https URL.
	Origin grantd.ClientOrigin
	// RedirectURIs are all the redirect URIs the client registers.
	RedirectURIs []string
	// Resource is the resource the request names ("" for none, which
	// means the issuer) and ResourceName its display name from the
	// registry ("" when it has none).
	Resource, ResourceName string
	// Device is set for a request of the device authorization grant (RFC
	// 8628): the person entered a code shown by another device, and no
	// browser is redirected to the client (RedirectURI is empty).
	Device bool
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
	var granted []grantd.Scope
	switch g, err := p.store.GetGrantByUserClient(ctx, userID, client.ID); {
	case err == nil:
		granted = p.catalog.Describe(g.Scopes)
	case !errors.Is(err, grantd.ErrNotFound):
		return ConsentView{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	var resourceName string
	if r, ok := p.resources.Lookup(c.Resource); c.Resource != "" && ok {
		resourceName = r.Name
	}
	return ConsentView{
		Resource:        c.Resource,
		ResourceName:    resourceName,
		ClientID:        client.ID,
		Name:            client.DisplayName(),
		LogoURI:         client.LogoURI,
		TosURI:          client.TosURI,
		PolicyURI:       client.PolicyURI,
		RedirectURI:     redirect,
		Verified:        client.Verified,
		RequestedScopes: p.catalog.Describe(c.Scopes),
		GrantedScopes:   granted,
		Origin:          client.OriginOf(),
		RedirectURIs:    slices.Clone(client.RedirectURIs),
		Device:          c.DeviceCodeHash != "",
	}, nil
}

// Decide records the user's answer to a pending request and answers where
// the browser goes next. The consent token is used up either way.
// Allowed: the user's one grant for the client is created or widened
// (never a second one), and a code is issued for the scopes of this
// request. Denied: access_denied. Both answers carry state and iss.
//
// Using the consent, widening the grant and storing the code are one
// unit of work (DecideConsent): a failure part way (a crash, a
// database error) leaves the consent unused and no grant, so the user can
// decide again; the error is the adapter's to show.
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
	if c.DeviceCodeHash != "" {
		return p.decideDevice(ctx, userID, c, client, allowed, now)
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
	// Made once, outside the transaction, which may run more than once.
	code, row := p.newCode(req, userID, uuid.NewString(), now)

	var answer string
	_, err = DecideConsent(ctx, p.store, c.Hash, now, func(c grantd.Consent, g *grantd.Grant) (grantd.ConsentDecision, error) {
		if c.UserID != userID {
			return grantd.ConsentDecision{}, badConsent("is not valid")
		}
		d, e := p.decision(req, allowed, g, row, now)
		if e != nil {
			answer = p.errorRedirect(req, e)
			return grantd.ConsentDecision{}, nil
		}
		answer = p.codeAnswer(req, code)
		return d, nil
	})
	switch {
	case errors.Is(err, grantd.ErrAlreadyUsed):
		return "", badConsent("has already been used")
	case errors.Is(err, grantd.ErrNotFound):
		// The consent, or its client or user, went meanwhile.
		return "", badConsent("is not valid")
	case err != nil:
		var ge *grantd.Error
		if errors.As(err, &ge) {
			return "", ge
		}
		return "", grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return answer, nil
}

// DecideConsent records a user's decision on a pending request in one
// unit of work (Store.InGrant): it runs decide on the unused consent and
// the user's grant for its client (nil when there is none), then marks
// the consent used and stores what decide answered (checked with
// ConsentDecision.Check), all or nothing; a Grant equal to the existing
// one is not written again. An error of decide, or of any
// write, leaves the consent unused and nothing written. A consent already
// used answers it with UsedAt set and ErrAlreadyUsed, without calling
// decide. A decision with Device writes its status, user and grant over
// the device authorization, which must still be pending and unexpired
// (else errDeviceDecided, and nothing is written). Of concurrent
// decisions on one consent exactly one is recorded;
// concurrent decisions on two consents of one user and client see each
// other's grant, so that there is never a second one. The answer is the
// consent as stored.
func DecideConsent(ctx context.Context, st grantd.Store, hash string, now time.Time,
	decide func(grantd.Consent, *grantd.Grant) (grantd.ConsentDecision, error)) (grantd.Consent, error) {
	var (
		out  grantd.Consent
		used bool
	)
	err := st.InGrant(ctx, func(tx grantd.GrantTx) error {
		out, used = grantd.Consent{}, false
		c, err := tx.Consent(hash)
		if err != nil {
			return err
		}
		if c.UsedAt != nil {
			out, used = c, true
			return nil
		}
		var existing *grantd.Grant
		g, err := tx.GrantByUserClient(c.UserID, c.ClientID)
		switch {
		case err == nil:
			existing = &g
		case !errors.Is(err, grantd.ErrNotFound):
			return err
		}
		d, err := decide(c, existing)
		if err != nil {
			return err
		}
		if err := d.Check(c, existing); err != nil {
			return err
		}
		if err := tx.UseConsent(hash, now); err != nil {
			return err
		}
		switch {
		case d.Grant != nil && existing == nil:
			err = tx.CreateGrant(*d.Grant)
		case d.Grant != nil && !sameGrant(*d.Grant, *existing):
			// A grant the decision leaves as it was (a request for
			// scopes the user granted already) is not written: the
			// write would change nothing but the change feed, which
			// would make every node's cache drop the grant.
			err = tx.UpdateGrant(*d.Grant)
		}
		if err != nil {
			return err
		}
		if d.Code != nil {
			if err := tx.CreateAuthCode(*d.Code); err != nil {
				return err
			}
		}
		if d.Device != nil {
			cur, err := tx.DeviceCode(d.Device.Hash)
			if err != nil {
				return err
			}
			if cur.Status != grantd.DevicePending || cur.UsedAt != nil || !now.Before(cur.ExpiresAt) {
				return errDeviceDecided
			}
			cur.Status, cur.UserID, cur.GrantID = d.Device.Status, d.Device.UserID, d.Device.GrantID
			if err := tx.UpdateDeviceCode(cur); err != nil {
				return err
			}
		}
		// The consent as stored, without reading it back: c was read
		// under its lock, and UseConsent wrote its used_at.
		out = c
		out.UsedAt = storedNullTime(&now)
		return nil
	})
	return settled(out, err, used, "consent", grantd.ErrAlreadyUsed)
}

// sameGrant reports whether two grants hold the same values.
func sameGrant(a, b grantd.Grant) bool {
	sameTime := func(x, y *time.Time) bool {
		return (x == nil) == (y == nil) && (x == nil || x.Equal(*y))
	}
	return a.ID == b.ID && a.UserID == b.UserID && a.ClientID == b.ClientID && slices.Equal(a.Scopes, b.Scopes) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) && sameTime(a.LastUsedAt, b.LastUsedAt)
}

// decision is the policy of a consent decision: what the store records
// with the used consent, or the error the client is told (and nothing
// but the used consent is recorded). code is the code to issue, whose
// GrantID names the grant to create when the user has none (existing is
// nil); otherwise existing is widened to cover the request.
func (p *Provider) decision(req authRequest, allowed bool, existing *grantd.Grant, code grantd.AuthCode, now time.Time) (grantd.ConsentDecision, *grantd.Error) {
	if !allowed {
		return grantd.ConsentDecision{}, grantd.E(grantd.CodeAccessDenied, "the user denied the request")
	}
	// The client may have changed while the user was deciding.
	if !req.client.Allows(grantd.GrantAuthorizationCode) {
		return grantd.ConsentDecision{}, grantd.E(grantd.CodeUnauthorizedClient, "this application may no longer use the authorization code flow")
	}
	if !grantd.Subset(req.scopes, p.allowedScopes(req.client)) {
		return grantd.ConsentDecision{}, grantd.E(grantd.CodeInvalidScope, "scope asks for more than this application is allowed")
	}
	now = now.Truncate(time.Second)
	var g grantd.Grant
	if existing == nil {
		g = grantd.Grant{ID: code.GrantID, UserID: code.UserID, ClientID: req.client.ID, Scopes: slices.Clone(req.scopes), CreatedAt: now, UpdatedAt: now}
	} else {
		g = *existing
		g.Scopes = slices.Clone(g.Scopes)
		for _, s := range req.scopes {
			if !slices.Contains(g.Scopes, s) {
				g.Scopes = append(g.Scopes, s)
				g.UpdatedAt = now
			}
		}
		code.GrantID = g.ID
	}
	return grantd.ConsentDecision{Grant: &g, Code: &code}, nil
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
		return grantd.Consent{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
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
		return grantd.Client{}, "", grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	if c.DeviceCodeHash != "" {
		// A device authorization redirects no browser to the client.
		return client, "", nil
	}
	redirect, ok := ResolveRedirect(client, c.RedirectURI)
	if !ok {
		return grantd.Client{}, "", badConsent("is for a redirect URI the application no longer registers")
	}
	return client, redirect, nil
}
