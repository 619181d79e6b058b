package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// Dynamic registration policies (Config.Registration).
const (
	// RegistrationOpen lets anyone register; the client has no owner.
	RegistrationOpen = "open"
	// RegistrationAPIKey requires a grantd API key as the initial access
	// token (RFC 7591 §3); the client belongs to the key's user.
	RegistrationAPIKey = "api_key"
	// RegistrationDisabled turns the registration endpoint off.
	RegistrationDisabled = "disabled"
)

// ClientMetadata is a client's metadata as RFC 7591 §2 names it: the body
// of a registration, or of an RFC 7592 update. A nil field was omitted or
// null; metadata grantd does not know never gets here (RFC 7591 §2 says
// to ignore it).
type ClientMetadata struct {
	ClientName              *string
	GrantTypes              *[]string
	RedirectURIs            *[]string
	ResponseTypes           *[]string
	Scope                   *string // space-separated
	TokenEndpointAuthMethod *string
	LogoURI                 *string
	TosURI                  *string
	PolicyURI               *string

	// ClientID and ClientSecret matter only to an update, which must name
	// the client and may repeat (never choose) its secret (RFC 7592 §2.2).
	ClientID     *string
	ClientSecret *string
}

// Registration is a newly registered client with the two secrets the
// answer shows once: the client secret (confidential clients only) and
// the registration access token. Neither is stored, only their hashes.
type Registration struct {
	Client       grantd.Client
	ClientSecret string
	AccessToken  string
}

// RegistrationClientURI is where a registered client reads, replaces and
// deletes its registration (RFC 7592).
func (p *Provider) RegistrationClientURI(clientID string) string {
	return p.APIBase() + "/oauth/register/" + clientID
}

// ResponseTypes answers the response types a client may use: "code" when
// it may use the code flow, none otherwise. It is derived from the grant
// types rather than read from the stored value, so that an owner changing
// a registered client's grant types through the management API cannot
// leave the two disagreeing.
func ResponseTypes(c grantd.Client) []string {
	if c.Allows(grantd.GrantAuthorizationCode) {
		return []string{"code"}
	}
	return []string{}
}

// AuthMethod answers how the client authenticates at the token endpoint.
// Clients made through the management API record it too; the fallback
// covers rows written before they did.
func AuthMethod(c grantd.Client) string {
	switch {
	case c.TokenEndpointAuthMethod != "":
		return c.TokenEndpointAuthMethod
	case c.Public():
		return grantd.AuthMethodNone
	}
	return grantd.AuthMethodClientSecretBasic
}

// ErrRegistrationDisabled is the answer of the registration endpoint when
// the policy is "disabled": as if it did not exist, which is also what
// the metadata says (it omits registration_endpoint). A 403 would invite
// the caller to look for credentials that do not exist.
func ErrRegistrationDisabled() *grantd.Error {
	return grantd.E(grantd.CodeNotFound, "dynamic client registration is disabled on this server; ask its operator for a client")
}

// ErrRegistrationAPIKey is the answer to a registration without a valid
// API key under the "api_key" policy: the key is the initial access token
// of RFC 7591 §3, so a missing or bad one is an RFC 6750 invalid_token.
func ErrRegistrationAPIKey() *grantd.Error {
	return grantd.E(grantd.CodeInvalidToken, "this server registers clients only for its users: send a grantd API key as Authorization: Bearer")
}

// AdmitRegistration decides, before any metadata is read, whether a caller
// may register: owner is the user whose API key the request carried, zero
// when none did.
func (p *Provider) AdmitRegistration(owner grantd.User) error {
	switch p.cfg.Registration {
	case RegistrationDisabled:
		return ErrRegistrationDisabled()
	case RegistrationAPIKey:
		if owner.ID == "" {
			return ErrRegistrationAPIKey()
		}
	}
	return nil
}

// DefaultRegistrationCap is the number of ownerless registered clients
// past which open registration is refused (Config.RegistrationCap).
const DefaultRegistrationCap = 10000

// ErrRegistrationFull is the answer to an ownerless registration when
// the server already holds Config.RegistrationCap of them: access_denied
// (400 in the protocol format), the server's refusal, which retrying does
// not change until the operator prunes or raises the cap.
func ErrRegistrationFull() *grantd.Error {
	return grantd.E(grantd.CodeAccessDenied, "this server accepts no more registrations now; ask its operator")
}

// admitOwnerless refuses an ownerless registration past the cap, telling
// the operator.
func (p *Provider) admitOwnerless(ctx context.Context) error {
	_, total, err := p.store.ListClients(ctx, grantd.ClientFilter{Origin: grantd.OriginRegistration, Ownerless: true}, grantd.Page{Number: 1, Size: 1})
	if err != nil {
		return grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	if total >= p.cfg.RegistrationCap {
		p.log.WarnContext(ctx, "registration refused: the cap of ownerless registered clients is reached; prune unused ones (grantd registrations prune) or raise --registration-cap",
			"registrations", total, "cap", p.cfg.RegistrationCap)
		return ErrRegistrationFull()
	}
	return nil
}

// Register registers a client (RFC 7591). Under the "api_key" policy it
// belongs to owner; under "open" it has no owner, whoever asked, so that
// its tokens reach no management data.
func (p *Provider) Register(ctx context.Context, owner grantd.User, md ClientMetadata) (Registration, error) {
	if err := p.AdmitRegistration(owner); err != nil {
		return Registration{}, err
	}
	if p.cfg.Registration != RegistrationAPIKey {
		owner = grantd.User{}
	}
	if owner.ID == "" {
		if err := p.admitOwnerless(ctx); err != nil {
			return Registration{}, err
		}
	}
	now := p.now().UTC().Truncate(time.Second)
	c, err := p.applyMetadata(grantd.Client{
		ID:         newClientID(),
		OrgID:      owner.OrgID,
		UserID:     owner.ID,
		Registered: true,
		Origin:     grantd.OriginRegistration,
		CreatedAt:  now,
		UpdatedAt:  now,
	}, md, true)
	if err != nil {
		return Registration{}, err
	}
	var reg Registration
	if !c.Public() {
		reg.ClientSecret, c.SecretHash = token.NewOpaque(token.PrefixClientSecret)
	}
	reg.AccessToken, c.RegistrationTokenHash = token.NewOpaque(token.PrefixRegistrationToken)
	if err := p.store.CreateClient(ctx, c); err != nil {
		return Registration{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	reg.Client = c
	p.obs.Registered()
	return reg, nil
}

// errRegistrationToken is the answer for a registration access token that
// is missing, wrong, or for a client that does not exist or was not
// registered: RFC 7592 §2 asks for 401 in every case, and one description
// keeps the answer from telling which.
func errRegistrationToken() *grantd.Error {
	return grantd.E(grantd.CodeInvalidToken, "the registration access token is not valid for this client")
}

// registrationTokenOK reports whether tok is the client's registration
// access token. Clients made through the management API have none.
func registrationTokenOK(c grantd.Client, tok string) bool {
	return c.Registered && c.RegistrationTokenHash != "" && tok != "" && token.Equal(tok, c.RegistrationTokenHash)
}

// RegisteredClient answers the client whose registration access token tok
// is (RFC 7592 §2.1).
func (p *Provider) RegisteredClient(ctx context.Context, clientID, tok string) (grantd.Client, error) {
	if tok == "" {
		return grantd.Client{}, grantd.E(grantd.CodeInvalidToken, "send the registration access token as Authorization: Bearer")
	}
	if clientID == "" || len(clientID) > maxClientIDLength {
		return grantd.Client{}, errRegistrationToken()
	}
	c, err := p.store.GetClient(ctx, clientID)
	switch {
	case errors.Is(err, grantd.ErrNotFound):
		return grantd.Client{}, errRegistrationToken()
	case err != nil:
		return grantd.Client{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	case !registrationTokenOK(c, tok):
		return grantd.Client{}, errRegistrationToken()
	}
	return c, nil
}

// UpdateRegistration replaces the client's metadata (RFC 7592 §2.2):
// omitted fields take their registration defaults, as if registered anew,
// except token_endpoint_auth_method, which keeps its value (it could only
// change between client_secret_basic and client_secret_post anyway). The
// client id, secret, owner and registration access token stay.
func (p *Provider) UpdateRegistration(ctx context.Context, clientID, tok string, md ClientMetadata) (grantd.Client, error) {
	if _, err := p.RegisteredClient(ctx, clientID, tok); err != nil {
		return grantd.Client{}, err
	}
	c, err := p.store.UpdateClient(ctx, clientID, func(old grantd.Client) (grantd.Client, error) {
		// Checked again inside the transaction: the check above only
		// spares a bad token the write lock.
		if !registrationTokenOK(old, tok) {
			return old, errRegistrationToken()
		}
		c, err := p.applyMetadata(old, md, false)
		if err != nil {
			return old, err
		}
		c.UpdatedAt = p.now().UTC().Truncate(time.Second)
		return c, nil
	})
	var ge *grantd.Error
	switch {
	case errors.As(err, &ge):
		return grantd.Client{}, ge
	case errors.Is(err, grantd.ErrNotFound):
		return grantd.Client{}, errRegistrationToken()
	case err != nil:
		return grantd.Client{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return c, nil
}

// DeleteRegistration deletes the client with its grants and tokens
// (RFC 7592 §2.3).
func (p *Provider) DeleteRegistration(ctx context.Context, clientID, tok string) error {
	c, err := p.RegisteredClient(ctx, clientID, tok)
	if err != nil {
		return err
	}
	err = p.store.DeleteClient(ctx, c.ID)
	switch {
	case errors.Is(err, grantd.ErrNotFound):
		// Deleted meanwhile: to this caller the client no longer exists.
		return errRegistrationToken()
	case err != nil:
		return grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	return nil
}

// applyMetadata answers base with md applied in full: every field md
// omits takes its default. The per-field rules (name, scopes, grant
// types, redirect URIs, web URIs) and the rules across them are
// ClientInput.Apply's, shared with the management API; this adds what
// only registration has: the auth method, which decides public or
// confidential, response_types, the scope string, and an update's
// client_id and client_secret.
func (p *Provider) applyMetadata(base grantd.Client, md ClientMetadata, create bool) (grantd.Client, error) {
	var probs []grantd.FieldError
	bad := func(field, format string, args ...any) {
		probs = append(probs, grantd.FieldError{Pointer: "/" + field, Detail: fmt.Sprintf(format, args...)})
	}
	c := base

	if !create {
		switch {
		case md.ClientID == nil:
			bad("client_id", "client_id is required in an update and must be this client's id")
		case *md.ClientID != c.ID:
			bad("client_id", "client_id does not match the client being updated")
		}
		// An empty secret is an empty value, which RFC 7592 §2.2 lets the
		// server ignore like an omitted one.
		if md.ClientSecret != nil && *md.ClientSecret != "" && (c.Public() || !token.Equal(*md.ClientSecret, c.SecretHash)) {
			bad("client_secret", "client_secret does not match the secret issued to this client; a client cannot choose its secret")
		}
	}

	method := grantd.AuthMethodClientSecretBasic
	if !create {
		method = AuthMethod(base)
	}
	if m := md.TokenEndpointAuthMethod; m != nil {
		switch *m {
		case grantd.AuthMethodNone, grantd.AuthMethodClientSecretBasic, grantd.AuthMethodClientSecretPost:
			method = *m
		default:
			bad("token_endpoint_auth_method", "%s is not supported; use none, client_secret_basic or client_secret_post", token.Echo(*m))
		}
	}
	typ := grantd.ClientConfidential
	if method == grantd.AuthMethodNone {
		typ = grantd.ClientPublic
	}
	if !create && typ != base.Type {
		bad("token_endpoint_auth_method", "cannot change between none (a public client) and a client secret method (a confidential client); register a new client instead")
	}
	c.Type, c.TokenEndpointAuthMethod = typ, method

	if md.ResponseTypes != nil {
		for _, rt := range *md.ResponseTypes {
			if rt != "code" {
				bad("response_types", "%s is not supported; use code", token.Echo(rt))
			}
		}
	}

	// A client without an owner never gets a sensitive scope: nobody
	// answers for what it does with one (SPEC §3, Registration).
	ownerless := c.UserID == ""
	defaultScopes := p.catalog.IDs()
	if ownerless {
		defaultScopes = p.catalog.NonSensitiveIDs()
	}
	in := ClientInput{
		AllowedScopes:     ptr(defaultScopes),
		AllowedGrantTypes: &[]string{grantd.GrantAuthorizationCode},
		RedirectURIs:      &[]string{},
		LogoURI:           orEmpty(md.LogoURI),
		TosURI:            orEmpty(md.TosURI),
		PolicyURI:         orEmpty(md.PolicyURI),
	}
	// client_name is optional in RFC 7591 (the consent page may show the
	// client_id instead); Apply refuses a blank name, so none is no name.
	c.Name = ""
	if md.ClientName != nil && *md.ClientName != "" {
		in.Name = md.ClientName
	}
	switch {
	case md.Scope != nil:
		switch scopes, ok := grantd.ParseScope(*md.Scope); {
		case !ok:
			bad("scope", "scope must be scope names separated by spaces")
			in.AllowedScopes = nil
		case len(scopes) == 0:
			bad("scope", "scope must name at least one scope; omit it for this server's default")
			in.AllowedScopes = nil
		default:
			if ownerless {
				// Refused by name, and left out of what Apply checks so
				// that the other scopes are still checked once.
				scopes = slices.DeleteFunc(scopes, func(s string) bool {
					if p.catalog.Sensitive(s) {
						bad("scope", "%s is a sensitive scope, which a client registered without an owner cannot have", token.Echo(s))
						return true
					}
					return false
				})
			}
			in.AllowedScopes = &scopes
			if len(scopes) == 0 {
				in.AllowedScopes = nil
			}
		}
	case len(defaultScopes) == 0:
		bad("scope", "this server has no scope for a client registered without an owner: every scope it offers is sensitive; ask its operator for a client")
		in.AllowedScopes = nil
	}
	if md.GrantTypes != nil {
		in.AllowedGrantTypes = md.GrantTypes
	}
	if md.RedirectURIs != nil {
		in.RedirectURIs = md.RedirectURIs
	}
	for _, f := range in.Apply(&c, false, p.catalog) {
		probs = append(probs, registrationField(f))
	}
	if len(probs) == 0 && md.ResponseTypes != nil {
		// RFC 7591 §2.1: response_types and grant_types must agree.
		want, got := ResponseTypes(c), dedupe(*md.ResponseTypes)
		switch {
		case slices.Equal(want, got):
		case len(want) > 0:
			bad("response_types", "response_types must include code when grant_types includes authorization_code")
		default:
			bad("response_types", "response_types may include code only when grant_types includes authorization_code")
		}
	}
	if len(probs) > 0 {
		return base, metadataError(probs)
	}
	c.ResponseTypes = ResponseTypes(c)
	return c, nil
}

// registrationField renames a problem ClientInput.Apply found from the
// management API's field names to RFC 7591's. Element pointers
// ("/allowed_scopes/2") become the field's: invalid_fields is keyed by
// field name, and the detail names the bad value.
func registrationField(f grantd.FieldError) grantd.FieldError {
	field, rest, _ := strings.Cut(strings.TrimPrefix(f.Pointer, "/"), "/")
	switch field {
	case "name", "allowed_scopes", "allowed_grant_types":
		field = registrationTerms[field]
	case "redirect_uris":
		// The element index stays, for metadataError.
		if rest != "" {
			field += "/" + rest
		}
	}
	f.Pointer = "/" + field
	f.Detail = f.Worded(registrationTerms)
	return f
}

// registrationTerms word Apply's reasons in registration's names.
var registrationTerms = map[string]string{
	"name":                               "client_name",
	"allowed_scopes":                     "scope",
	"allowed_grant_types":                "grant_types",
	"a public client":                    "a public client (token_endpoint_auth_method none)",
	"when authorization_code is allowed": "when grant_types includes authorization_code",
}

// metadataError answers the problems as RFC 7591 §3.2.2 errors. A bad
// redirect URI value is invalid_redirect_uri, the more precise code,
// whatever else is wrong; its description names each bad URI by its
// place in redirect_uris (never by its value, which may carry anything),
// since that code carries no invalid_fields. Everything else is
// invalid_client_metadata with invalid_fields.
func metadataError(probs []grantd.FieldError) *grantd.Error {
	var uris []string
	for _, f := range probs {
		idx, ok := strings.CutPrefix(f.Pointer, "/redirect_uris/")
		if !ok {
			continue
		}
		uris = append(uris, fmt.Sprintf("redirect_uris[%s] %s", idx, strings.TrimPrefix(f.Detail, "redirect URI ")))
	}
	if len(uris) > 0 {
		return grantd.E(grantd.CodeInvalidRedirectURI, "%s", strings.Join(uris, "; "))
	}
	msgs := make([]string, len(probs))
	for i, f := range probs {
		msgs[i] = f.Detail
		if field := strings.TrimPrefix(f.Pointer, "/"); !strings.HasPrefix(f.Detail, field) {
			msgs[i] = field + ": " + f.Detail
		}
	}
	return &grantd.Error{Code: grantd.CodeInvalidClientMetadata, Description: strings.Join(msgs, "; "), Fields: probs}
}

func ptr[T any](v T) *T { return &v }

// orEmpty answers s, or "" for nil: in a registration an omitted URI is
// no URI, and Apply clears a field given as "".
func orEmpty(s *string) *string {
	if s == nil {
		return ptr("")
	}
	return s
}
