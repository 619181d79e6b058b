package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/token"
)

// registrationResponse is the wire form of RFC 7591 §3.2.1's client
// information response, with RFC 7592 §3's two additions. Strings without
// a value are left out, never null (SPEC §8); the lists are always there,
// empty or not, because client libraries decode them as required arrays
// (redirect_uris above all).
type registrationResponse struct {
	ClientID                string   `json:"client_id"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at,omitempty"`
	ClientName              string   `json:"client_name,omitempty"`
	GrantTypes              []string `json:"grant_types"`
	RedirectURIs            []string `json:"redirect_uris"`
	ResponseTypes           []string `json:"response_types"`
	Scope                   string   `json:"scope"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	TosURI                  string   `json:"tos_uri,omitempty"`
	PolicyURI               string   `json:"policy_uri,omitempty"`
	RegistrationAccessToken string   `json:"registration_access_token"`
	RegistrationClientURI   string   `json:"registration_client_uri"`
}

// renderRegistration answers the wire form. secret is the plain client
// secret, only in the answer to the registration itself: grantd keeps
// only its hash. The registration access token is the one just issued,
// or the one the request presented (RFC 7592 §3 requires it in every
// answer, and the caller has just proved it holds it).
func (s *Server) renderRegistration(c grantd.Client, secret, regToken string) registrationResponse {
	// scope says what the client can get now: a registration made before
	// sensitive scopes existed may still list admin, which it is never
	// given.
	scope := strings.Join(s.oauth.ClientScopes(c), " ")
	out := registrationResponse{
		ClientID:                c.ID,
		ClientIDIssuedAt:        c.CreatedAt.Unix(),
		ClientSecret:            secret,
		ClientName:              c.Name,
		GrantTypes:              nonNil(c.GrantTypes),
		RedirectURIs:            nonNil(c.RedirectURIs),
		ResponseTypes:           oauth.ResponseTypes(c),
		Scope:                   scope,
		TokenEndpointAuthMethod: oauth.AuthMethod(c),
		LogoURI:                 c.LogoURI,
		TosURI:                  c.TosURI,
		PolicyURI:               c.PolicyURI,
		RegistrationAccessToken: regToken,
		RegistrationClientURI:   s.oauth.RegistrationClientURI(c.ID),
	}
	if !c.Public() {
		// The secret was issued with the registration and never expires;
		// RFC 7591 requires the member whenever a secret was issued.
		out.ClientSecretExpiresAt = new(int64)
	}
	return out
}

// register serves POST /v2/oauth/register (RFC 7591 §3).
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var owner grantd.User
	if s.cfg.Registration == oauth.RegistrationAPIKey {
		var err error
		if owner, err = s.registrationOwner(r); err != nil {
			s.writeRegistrationError(w, r, err)
			return
		}
	}
	// Every anonymous attempt counts, before the body is read: one that
	// works costs a row, one that fails still costs the work. A caller
	// with an API key is a known user, and wrong keys have their own
	// limit (registrationOwner).
	if owner.ID == "" {
		if d := s.limits.register.Take(r.Context(), ratelimit.AddressOf(r)); !d.Allowed {
			s.writeRegistrationError(w, r, tooMany(ratelimit.Register.Name, d, "registrations from this address"))
			return
		}
	}
	// Refused before the body is read: a disabled endpoint or a caller
	// without a key gets no further.
	if err := s.oauth.AdmitRegistration(owner); err != nil {
		s.writeRegistrationError(w, r, err)
		return
	}
	md, err := decodeClientMetadata(w, r)
	if err != nil {
		s.writeRegistrationError(w, r, err)
		return
	}
	reg, err := s.oauth.Register(r.Context(), owner, md)
	if err != nil {
		s.writeRegistrationError(w, r, err)
		return
	}
	noStore(w)
	setLogClient(r, reg.Client.ID)
	writeJSON(w, http.StatusCreated, s.renderRegistration(reg.Client, reg.ClientSecret, reg.AccessToken))
}

// registrationOwner answers the user of the API key the request carries
// under the "api_key" policy, zero when it carries none. Only API keys
// count: the policy names what the operator hands out.
func (s *Server) registrationOwner(r *http.Request) (grantd.User, error) {
	key, ok := bearerToken(r)
	if !ok {
		return grantd.User{}, nil
	}
	if !token.HasPrefix(key, token.PrefixAPIKey) {
		return grantd.User{}, oauth.ErrRegistrationAPIKey()
	}
	p, err := s.authenticateAPIKey(r, key)
	if errors.Is(err, &grantd.Error{Code: grantd.CodeUnauthenticated}) {
		return grantd.User{}, oauth.ErrRegistrationAPIKey()
	}
	if err != nil {
		return grantd.User{}, err
	}
	return grantd.User{ID: p.UserID, OrgID: p.OrgID}, nil
}

// readRegistration serves GET /v2/oauth/register/{client_id} (RFC 7592 §2.1).
func (s *Server) readRegistration(w http.ResponseWriter, r *http.Request) {
	tok, _ := bearerToken(r)
	c, err := s.oauth.RegisteredClient(r.Context(), r.PathValue("client_id"), tok)
	if err != nil {
		s.writeRegistrationError(w, r, err)
		return
	}
	setLogClient(r, c.ID)
	noStore(w)
	writeJSON(w, http.StatusOK, s.renderRegistration(c, "", tok))
}

// updateRegistration serves PUT /v2/oauth/register/{client_id} (RFC 7592 §2.2).
func (s *Server) updateRegistration(w http.ResponseWriter, r *http.Request) {
	tok, _ := bearerToken(r)
	// A bad token is refused before the body is read.
	if _, err := s.oauth.RegisteredClient(r.Context(), r.PathValue("client_id"), tok); err != nil {
		s.writeRegistrationError(w, r, err)
		return
	}
	md, err := decodeClientMetadata(w, r)
	if err != nil {
		s.writeRegistrationError(w, r, err)
		return
	}
	c, err := s.oauth.UpdateRegistration(r.Context(), r.PathValue("client_id"), tok, md)
	if err != nil {
		s.writeRegistrationError(w, r, err)
		return
	}
	setLogClient(r, c.ID)
	noStore(w)
	writeJSON(w, http.StatusOK, s.renderRegistration(c, "", tok))
}

// deleteRegistration serves DELETE /v2/oauth/register/{client_id} (RFC 7592 §2.3).
func (s *Server) deleteRegistration(w http.ResponseWriter, r *http.Request) {
	tok, _ := bearerToken(r)
	if err := s.oauth.DeleteRegistration(r.Context(), r.PathValue("client_id"), tok); err != nil {
		s.writeRegistrationError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeRegistrationError answers in RFC 6749 form like every protocol
// endpoint, from the same table, but its 401 is an RFC 6750 Bearer
// challenge: the credentials here are bearer tokens (the API key of the
// "api_key" policy, the registration access token), not client
// credentials.
func (s *Server) writeRegistrationError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeProtocolError(w, r, err, bearerChallenge(r, ""))
}

// decodeClientMetadata reads a registration or update body: a JSON object
// (RFC 7591 §3.1). Members grantd does not know are ignored (RFC 7591
// §2); null is the same as an omitted member (RFC 7592 §2.2 reads them
// alike); a known member of the wrong type is invalid_client_metadata
// naming it. A body that is not a JSON object is invalid_client_metadata
// too: RFC 7591 §3.2.2 gives this endpoint its own error codes, and the
// body is the metadata.
func decodeClientMetadata(w http.ResponseWriter, r *http.Request) (oauth.ClientMetadata, error) {
	var md oauth.ClientMetadata
	if mt := mediaType(r); mt != "" && mt != "application/json" {
		return md, grantd.E(grantd.CodeUnsupportedMediaType, "Content-Type must be application/json")
	}
	body, err := readBody(w, r)
	if err != nil {
		if e := grantd.AsError(err); e.Code == grantd.CodeBadRequest {
			return md, &grantd.Error{Code: grantd.CodeInvalidClientMetadata, Description: e.Description, Err: e.Err}
		}
		return md, err
	}
	members, ok := jsonMembers(body)
	if !ok {
		return md, grantd.E(grantd.CodeInvalidClientMetadata, "the request body must be a JSON object of client metadata")
	}
	raw := make(map[string]json.RawMessage, len(members))
	repeated := map[string]bool{}
	var probs []grantd.FieldError
	var unnamed []string // problems with names token.Echo does not show
	for _, m := range members {
		// encoding/json would keep the last one silently; which the
		// sender meant ("none" or a secret method?) is anyone's guess. A
		// member grantd ignores is no different: a repeated member, or
		// one inside it, makes the body malformed JSON whatever the
		// member means.
		var why string
		switch _, dup := raw[m.name]; {
		case dup && !repeated[m.name]:
			repeated[m.name] = true
			why = "%s is given more than once"
		case !dup && repeatsMember(m.value):
			why = "%s repeats a member inside it"
		}
		if why != "" {
			if p := nameProblem(m.name, "/"+m.name, clientMetadataFields, why); p.Pointer != "" {
				probs = append(probs, p)
			} else {
				unnamed = append(unnamed, p.Detail)
			}
		}
		raw[m.name] = m.value
	}

	str := func(name string, dst **string) {
		m, ok := raw[name]
		if !ok || isNull(m) {
			return
		}
		var v string
		if err := json.Unmarshal(m, &v); err != nil {
			probs = append(probs, grantd.FieldError{Pointer: "/" + name, Detail: name + " must be a string"})
			return
		}
		*dst = &v
	}
	list := func(name string, dst **[]string) {
		m, ok := raw[name]
		if !ok || isNull(m) {
			return
		}
		var v []string
		if err := json.Unmarshal(m, &v); err != nil || v == nil {
			probs = append(probs, grantd.FieldError{Pointer: "/" + name, Detail: name + " must be an array of strings"})
			return
		}
		*dst = &v
	}
	str("client_name", &md.ClientName)
	list("grant_types", &md.GrantTypes)
	list("redirect_uris", &md.RedirectURIs)
	list("response_types", &md.ResponseTypes)
	str("scope", &md.Scope)
	str("token_endpoint_auth_method", &md.TokenEndpointAuthMethod)
	str("logo_uri", &md.LogoURI)
	str("tos_uri", &md.TosURI)
	str("policy_uri", &md.PolicyURI)
	str("client_id", &md.ClientID)
	str("client_secret", &md.ClientSecret)
	if len(probs) > 0 || len(unnamed) > 0 {
		sort.Slice(probs, func(i, j int) bool { return probs[i].Pointer < probs[j].Pointer })
		msgs := make([]string, len(probs))
		for i, p := range probs {
			msgs[i] = p.Detail
		}
		// invalid_fields is keyed by the member's name, which the answer
		// may not repeat for these: the description alone tells them.
		msgs = append(msgs, unnamed...)
		return md, &grantd.Error{Code: grantd.CodeInvalidClientMetadata, Description: strings.Join(msgs, "; "), Fields: probs}
	}
	return md, nil
}

// clientMetadataFields are the members decodeClientMetadata reads; any
// other is ignored.
var clientMetadataFields = []string{
	"client_name", "grant_types", "redirect_uris", "response_types", "scope", "token_endpoint_auth_method",
	"logo_uri", "tos_uri", "policy_uri", "client_id", "client_secret",
}

func isNull(m json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(m), []byte("null")) }
