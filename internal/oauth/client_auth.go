package oauth

import (
	"context"
	"errors"
	"net/url"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// ClientAuth is what a request to a protocol endpoint presented to
// authenticate its client (RFC 6749 §2.3), as the adapter found it.
type ClientAuth struct {
	// Basic is set when the request carried "Authorization: Basic";
	// BasicUser and BasicPassword are as decoded from base64 and still
	// form-urlencoded (RFC 6749 §2.3.1). A malformed header leaves
	// BasicUser empty.
	Basic         bool
	BasicUser     string
	BasicPassword string
	// ClientID and ClientSecret are the body parameters.
	ClientID     string
	ClientSecret string
}

// PresentedID answers the client_id the request claims, before anything is
// checked: the Basic user (form-decoded, as AuthenticateClient reads it)
// or the body's client_id. Adapters key their failure limits by it.
func (a ClientAuth) PresentedID() string {
	if a.Basic {
		if id, err := url.QueryUnescape(a.BasicUser); err == nil {
			return id
		}
		return a.BasicUser
	}
	return a.ClientID
}

// maxClientIDLength bounds a presented client_id before it reaches the
// store; new ids are UUIDs (36 characters), older ones 22 characters.
const maxClientIDLength = 255

func errClientAuthFailed() *grantd.Error {
	// One description for an unknown client, a wrong secret and a missing
	// one, so that the answer does not help anyone probe for clients.
	return grantd.E(grantd.CodeInvalidClient, "client authentication failed")
}

// AuthenticateClient answers the client a request authenticates as:
// client_secret_basic, client_secret_post, or — when allowPublic — none
// for a public client (client_id alone). Using two methods at once is
// invalid_request; everything else that fails is invalid_client.
//
// A public client sending Basic with an empty password is taken as none:
// golang.org/x/oauth2 and others send exactly that for public clients.
// A confidential client may use either Basic or post whatever it
// registered: both prove the same secret, and refusing one would only
// break clients.
func (p *Provider) AuthenticateClient(ctx context.Context, a ClientAuth, allowPublic bool) (grantd.Client, error) {
	id, secret := a.ClientID, a.ClientSecret
	switch {
	case a.Basic:
		if a.ClientSecret != "" {
			return grantd.Client{}, grantd.E(grantd.CodeInvalidRequest, "use one client authentication method: the Authorization header or client_secret in the body, not both")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(a.BasicUser)
		secret, err2 = url.QueryUnescape(a.BasicPassword)
		if err1 != nil || err2 != nil || id == "" {
			return grantd.Client{}, grantd.E(grantd.CodeInvalidClient, "the Authorization header does not hold Basic client credentials")
		}
		if a.ClientID != "" && a.ClientID != id {
			return grantd.Client{}, grantd.E(grantd.CodeInvalidRequest, "client_id in the body does not match the Authorization header")
		}
	case secret != "" && id == "":
		return grantd.Client{}, grantd.E(grantd.CodeInvalidRequest, "client_secret was sent without client_id")
	case id == "" && allowPublic:
		return grantd.Client{}, grantd.E(grantd.CodeInvalidClient, "client authentication is required: use HTTP Basic, client_id and client_secret in the body, or client_id alone for a public client")
	case id == "":
		return grantd.Client{}, grantd.E(grantd.CodeInvalidClient, "client authentication is required: use HTTP Basic or client_id and client_secret in the body")
	}
	if len(id) > maxClientIDLength {
		return grantd.Client{}, errClientAuthFailed()
	}

	c, err := p.store.GetClient(ctx, id)
	if errors.Is(err, grantd.ErrNotFound) {
		return grantd.Client{}, errClientAuthFailed()
	}
	if err != nil {
		return grantd.Client{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	switch {
	case c.Public() && secret != "":
		return grantd.Client{}, grantd.E(grantd.CodeInvalidClient, "a public client has no secret; send client_id alone")
	case c.Public() && !allowPublic:
		return grantd.Client{}, grantd.E(grantd.CodeInvalidClient, "this endpoint requires a confidential client")
	case c.Public():
		return c, nil
	case secret == "", c.SecretHash == "", !token.Equal(secret, c.SecretHash):
		return grantd.Client{}, errClientAuthFailed()
	}
	return c, nil
}
