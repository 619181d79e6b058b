package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// newClientID answers the id of a new client: a random UUID (v4), as the
// Telnyx OpenAPI declares /oauth_clients/{id} (SPEC §2, Ids). Ids made
// before, 22-character base64url strings, and client ID metadata URLs are
// ids as well: nothing checks an id's form, so every kind keeps working.
func newClientID() string { return uuid.NewString() }

// ClientInput is what a person asks a client to be: the body of a create
// or an update, from the management API or the developer pages. A nil
// field is absent; an empty string or slice clears an optional field.
type ClientInput struct {
	Name              *string
	ClientType        *string // create only
	AllowedScopes     *[]string
	AllowedGrantTypes *[]string
	RedirectURIs      *[]string
	RequirePKCE       *bool
	LogoURI           *string
	TosURI            *string
	PolicyURI         *string
	// TokenExchangeResources are the resources the client may exchange
	// a person's token for (RFC 8693); checked against the configured
	// resources by the engine (Provider.checkExchangeResources), not by
	// Apply, which knows only the catalog.
	TokenExchangeResources *[]string
}

// Limits on client fields; generous for real use, small enough that one
// client cannot bloat a page of results.
const (
	MaxNameLength   = 255
	MaxRedirectURIs = 50
	MaxScopes       = 100
)

// GrantTypes are the grant types a client may be allowed.
var GrantTypes = []string{grantd.GrantClientCredentials, grantd.GrantAuthorizationCode, grantd.GrantRefreshToken,
	grantd.GrantTokenExchange,
	grantd.GrantDeviceCode,
}

// Apply checks the input and applies it to c. For a create every required
// field must be present; for an update only the present ones change. It
// answers every problem, each with the JSON pointer of its field and a
// reason whose terms (field names, and the phrases that depend on them)
// each adapter words in its own names (grantd.FieldError.Worded).
func (in ClientInput) Apply(c *grantd.Client, create bool, catalog *grantd.Catalog) []grantd.FieldError {
	var p []grantd.FieldError
	bad := func(ptr, format string, args ...any) {
		p = append(p, grantd.Field(ptr, format, args...))
	}
	required := func(present bool, name string) bool {
		if create && !present {
			bad("/"+name, "{"+name+"} is required")
		}
		return present
	}

	if create && required(in.ClientType != nil, "client_type") {
		switch t := grantd.ClientType(*in.ClientType); t {
		case grantd.ClientPublic, grantd.ClientConfidential:
			c.Type = t
		default:
			bad("/client_type", "{client_type} must be public or confidential")
		}
	}
	if required(in.Name != nil, "name") {
		name := strings.TrimSpace(*in.Name)
		switch {
		case name == "":
			bad("/name", "{name} must not be blank")
		case utf8.RuneCountInString(name) > MaxNameLength:
			bad("/name", "{name} is longer than %d characters", MaxNameLength)
		case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			bad("/name", "{name} must not contain control characters")
		default:
			c.Name = name
		}
	}
	if required(in.AllowedScopes != nil, "allowed_scopes") {
		scopes := *in.AllowedScopes
		switch {
		case len(scopes) == 0:
			bad("/allowed_scopes", "{allowed_scopes} must name at least one scope")
		case len(scopes) > MaxScopes:
			bad("/allowed_scopes", "{allowed_scopes} has more than %d entries", MaxScopes)
		default:
			ok := true
			for i, sc := range scopes {
				if !catalog.Has(sc) {
					bad(fmt.Sprintf("/allowed_scopes/%d", i), "%s is not a scope of this server", token.Echo(sc))
					ok = false
				}
			}
			if ok {
				c.Scopes = dedupe(scopes)
			}
		}
	}
	if required(in.AllowedGrantTypes != nil, "allowed_grant_types") {
		gts := *in.AllowedGrantTypes
		if len(gts) == 0 {
			bad("/allowed_grant_types", "{allowed_grant_types} must name at least one grant type")
		} else {
			ok := true
			for i, g := range gts {
				if !slices.Contains(GrantTypes, g) {
					bad(fmt.Sprintf("/allowed_grant_types/%d", i), "%s is not a grant type; use client_credentials, authorization_code, refresh_token, %s or %s", token.Echo(g), grantd.GrantTokenExchange, grantd.GrantDeviceCode)
					ok = false
				}
			}
			if ok {
				c.GrantTypes = dedupe(gts)
			}
		}
	}
	if in.RedirectURIs != nil {
		uris := *in.RedirectURIs
		if len(uris) > MaxRedirectURIs {
			bad("/redirect_uris", "{redirect_uris} has more than %d entries", MaxRedirectURIs)
		} else {
			ok := true
			for i, u := range uris {
				if why := CheckRedirectURI(u); why != "" {
					bad(fmt.Sprintf("/redirect_uris/%d", i), "redirect URI %s", why)
					ok = false
				}
			}
			if ok {
				c.RedirectURIs = dedupe(uris)
			}
		}
	}
	if in.RequirePKCE != nil {
		c.RequirePKCE = *in.RequirePKCE
	}
	for _, u := range []struct {
		name string
		v    *string
		dst  *string
	}{
		{"logo_uri", in.LogoURI, &c.LogoURI},
		{"tos_uri", in.TosURI, &c.TosURI},
		{"policy_uri", in.PolicyURI, &c.PolicyURI},
	} {
		switch {
		case u.v == nil:
		case *u.v == "":
			*u.dst = ""
		default:
			if why := CheckWebURI(*u.v); why != "" {
				bad("/"+u.name, "{"+u.name+"} %s", why)
				continue
			}
			*u.dst = *u.v
		}
	}
	if len(p) > 0 {
		return p
	}
	// Rules across fields, checked on the result.
	if c.Public() && c.Allows(grantd.GrantClientCredentials) {
		bad("/allowed_grant_types", "{a public client} cannot use client_credentials")
	}
	if c.Public() && c.Allows(grantd.GrantTokenExchange) {
		// RFC 8693 §5: the exchange is for a client the server can
		// authenticate (docs/SECURITY.md, Token exchange).
		bad("/allowed_grant_types", "{a public client} cannot use token exchange")
	}
	if c.Allows(grantd.GrantAuthorizationCode) && len(c.RedirectURIs) == 0 {
		bad("/redirect_uris", "{redirect_uris} is required {when authorization_code is allowed}")
	}
	return p
}

// MaxExchangeResources bounds token_exchange_resources.
const MaxExchangeResources = 50

// checkExchangeResources checks the input's token_exchange_resources and
// sets them on c, each as the configured identifier it names (so that a
// trailing slash or case in the host does not matter later). A client
// may list resources without being allowed the grant yet; the exchange
// checks both.
func (p *Provider) checkExchangeResources(in ClientInput, c *grantd.Client) []grantd.FieldError {
	if in.TokenExchangeResources == nil {
		return nil
	}
	list := *in.TokenExchangeResources
	if len(list) > MaxExchangeResources {
		return []grantd.FieldError{grantd.Field("/token_exchange_resources", "{token_exchange_resources} has more than %d entries", MaxExchangeResources)}
	}
	var probs []grantd.FieldError
	out := make([]string, 0, len(list))
	for i, r := range list {
		id, ok := p.resources.Match(r)
		if !ok {
			probs = append(probs, grantd.Field(fmt.Sprintf("/token_exchange_resources/%d", i), "%s is not a resource of this server", token.Echo(r)))
			continue
		}
		out = append(out, id)
	}
	if len(probs) > 0 {
		return probs
	}
	c.TokenExchangeResources = dedupe(out)
	return nil
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// CreateClient validates the input and creates a client owned by the
// user; it answers the plain secret of a confidential client, which is
// never stored and cannot be shown again. It is the call of a person (an
// API key, the developer pages); CreateClientVia is an app's.
func (p *Provider) CreateClient(ctx context.Context, owner grantd.User, in ClientInput) (grantd.Client, string, error) {
	return p.CreateClientVia(ctx, owner, Via{}, in)
}

// CreateClientVia creates a client for owner through via, the access
// token of an app acting for them (zero: a person's own call). Such a
// client records the app and grant it came through, so that removing
// the app, or the person's grant to it, removes the client too; and it
// may have no scope the token does not carry, so that an app cannot mint
// a client stronger than itself.
func (p *Provider) CreateClientVia(ctx context.Context, owner grantd.User, via Via, in ClientInput) (grantd.Client, string, error) {
	now := p.now().UTC().Truncate(time.Second)
	c := grantd.Client{
		ID:                newClientID(),
		OrgID:             owner.OrgID,
		UserID:            owner.ID,
		CreatedByClientID: via.ClientID,
		CreatedByGrantID:  via.GrantID,
		CreatedAt:         now,
		UpdatedAt:         now,
	}
	probs := in.Apply(&c, true, p.catalog)
	probs = append(probs, p.checkExchangeResources(in, &c)...)
	if len(probs) == 0 {
		probs = via.scopeCeiling(nil, c.Scopes)
	}
	if len(probs) > 0 {
		return grantd.Client{}, "", grantd.Invalid(probs...)
	}
	var secret string
	if c.Type == grantd.ClientConfidential {
		secret, c.SecretHash = token.NewOpaque(token.PrefixClientSecret)
		c.TokenEndpointAuthMethod = grantd.AuthMethodClientSecretBasic
	} else {
		c.TokenEndpointAuthMethod = grantd.AuthMethodNone
	}
	err := p.store.CreateClient(ctx, c)
	switch {
	case errors.Is(err, grantd.ErrNotFound) && via.Token():
		// The app or the grant its token came through was removed while
		// this call was under way: the token no longer stands.
		return grantd.Client{}, "", grantd.E(grantd.CodeUnauthenticated, "the access token is not valid")
	case err != nil:
		return grantd.Client{}, "", grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return c, secret, nil
}

// scopeCeiling answers a problem for each scope of scopes that was not in
// old and that the token does not carry: through a token, an app may
// keep or drop a client's scopes but add only its own.
func (v Via) scopeCeiling(old, scopes []string) []grantd.FieldError {
	if !v.Token() {
		return nil
	}
	var probs []grantd.FieldError
	for i, s := range scopes {
		if !slices.Contains(old, s) && !slices.Contains(v.Scopes, s) {
			probs = append(probs, grantd.FieldError{
				Pointer: fmt.Sprintf("/allowed_scopes/%d", i),
				Detail:  fmt.Sprintf("%s is not a scope of the access token this request was made with; an app may give a client only scopes it has itself", token.Echo(s)),
			})
		}
	}
	return probs
}

// errNoClient is the answer for a client that does not exist or is not
// the caller's: the two are indistinguishable on purpose.
func errNoClient() *grantd.Error {
	return grantd.E(grantd.CodeNotFound, "no OAuth client with that id")
}

// OwnClient answers the user's client; anyone else's is not found.
func (p *Provider) OwnClient(ctx context.Context, userID, clientID string) (grantd.Client, error) {
	c, err := p.store.GetClient(ctx, clientID)
	if errors.Is(err, grantd.ErrNotFound) || (err == nil && (c.UserID == "" || c.UserID != userID)) {
		return grantd.Client{}, errNoClient()
	}
	if err != nil {
		return grantd.Client{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return c, nil
}

// UpdateClient changes the fields the input names, atomically: a
// person's call (see UpdateClientVia).
func (p *Provider) UpdateClient(ctx context.Context, userID, clientID string, in ClientInput) (grantd.Client, error) {
	return p.UpdateClientVia(ctx, userID, Via{}, clientID, in)
}

// UpdateClientVia changes the fields the input names through via, an
// app's access token (zero: a person's own call). Through a token, no
// scope may be added that the token does not carry.
func (p *Provider) UpdateClientVia(ctx context.Context, userID string, via Via, clientID string, in ClientInput) (grantd.Client, error) {
	c, err := p.store.UpdateClient(ctx, clientID, func(c grantd.Client) (grantd.Client, error) {
		if c.UserID == "" || c.UserID != userID {
			return c, errNoClient()
		}
		old := c.Scopes
		probs := in.Apply(&c, false, p.catalog)
		probs = append(probs, p.checkExchangeResources(in, &c)...)
		if len(probs) == 0 {
			probs = via.scopeCeiling(old, c.Scopes)
		}
		if len(probs) > 0 {
			return c, grantd.Invalid(probs...)
		}
		c.UpdatedAt = p.now().UTC().Truncate(time.Second)
		return c, nil
	})
	switch {
	case errors.Is(err, grantd.ErrNotFound):
		return grantd.Client{}, errNoClient()
	case err != nil:
		var ge *grantd.Error
		if errors.As(err, &ge) {
			return grantd.Client{}, ge
		}
		return grantd.Client{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return c, nil
}

// DeleteClient deletes the user's client with its grants and tokens.
func (p *Provider) DeleteClient(ctx context.Context, userID, clientID string) error {
	c, err := p.OwnClient(ctx, userID, clientID)
	if err != nil {
		return err
	}
	if err := p.store.DeleteClient(ctx, c.ID); err != nil && !errors.Is(err, grantd.ErrNotFound) {
		return grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return nil
}
