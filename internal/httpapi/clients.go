package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

// clientJSON is the wire form of an OAuth client (record_type oauth_client).
type clientJSON struct {
	RecordType        string   `json:"record_type"`
	ClientID          string   `json:"client_id"`
	Name              string   `json:"name"`
	OrgID             *string  `json:"org_id"`
	UserID            *string  `json:"user_id"`
	ClientType        string   `json:"client_type"`
	RequirePKCE       bool     `json:"require_pkce"`
	AllowedGrantTypes []string `json:"allowed_grant_types"`
	AllowedScopes     []string `json:"allowed_scopes"`
	RedirectURIs      []string `json:"redirect_uris"`
	ClientSecret      *string  `json:"client_secret"`
	LogoURI           *string  `json:"logo_uri"`
	TosURI            *string  `json:"tos_uri"`
	PolicyURI         *string  `json:"policy_uri"`
	Verified          bool     `json:"verified"`
	CreatedAt         string   `json:"created_at"`
	UpdatedAt         string   `json:"updated_at"`

	// TokenExchangeResources: the resources the client may exchange a
	// person's token for (RFC 8693; docs/API.md, Token exchange).
	TokenExchangeResources []string `json:"token_exchange_resources"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// renderClient answers the wire form; secret is the plain secret, shown
// only in the answer to creation.
func renderClient(c grantd.Client, secret string) clientJSON {
	return clientJSON{
		RecordType:        "oauth_client",
		ClientID:          c.ID,
		Name:              c.Name,
		OrgID:             optional(c.OrgID),
		UserID:            optional(c.UserID),
		ClientType:        string(c.Type),
		RequirePKCE:       c.PKCERequired(),
		AllowedGrantTypes: nonNil(c.GrantTypes),
		AllowedScopes:     nonNil(c.Scopes),
		RedirectURIs:      nonNil(c.RedirectURIs),
		ClientSecret:      optional(secret),
		LogoURI:           optional(c.LogoURI),
		TosURI:            optional(c.TosURI),
		PolicyURI:         optional(c.PolicyURI),
		Verified:          c.Verified,
		CreatedAt:         rfc3339(c.CreatedAt),
		UpdatedAt:         rfc3339(c.UpdatedAt),

		TokenExchangeResources: nonNil(c.TokenExchangeResources),
	}
}

func (s *Server) createClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	in, err := decodeClientInput(w, r, true)
	if err != nil {
		return err
	}
	c, secret, err := s.oauth.CreateClientVia(r.Context(), grantd.User{ID: p.UserID, OrgID: p.OrgID}, p.Via, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"data": renderClient(c, secret)})
	return nil
}

// decodeClientInput reads a create or update body. JSON null clears an
// optional member and is refused for the others.
func decodeClientInput(w http.ResponseWriter, r *http.Request, create bool) (oauth.ClientInput, error) {
	var in oauth.ClientInput
	var (
		nameSet, typeSet, scopesSet, grantsSet, pkceSet bool
		redirectsSet, logoSet, tosSet, policySet        bool
		exchangeSet                                     bool
	)
	fs := []field{
		{"name", &in.Name, &nameSet},
		{"allowed_scopes", &in.AllowedScopes, &scopesSet},
		{"allowed_grant_types", &in.AllowedGrantTypes, &grantsSet},
		{"redirect_uris", &in.RedirectURIs, &redirectsSet},
		{"require_pkce", &in.RequirePKCE, &pkceSet},
		{"logo_uri", &in.LogoURI, &logoSet},
		{"tos_uri", &in.TosURI, &tosSet},
		{"policy_uri", &in.PolicyURI, &policySet},
		{"token_exchange_resources", &in.TokenExchangeResources, &exchangeSet},
	}
	if create {
		fs = append(fs, field{"client_type", &in.ClientType, &typeSet})
	}
	if err := decodeObject(w, r, fs...); err != nil {
		var ge *grantd.Error
		if !create && errors.As(err, &ge) && ge.Code == grantd.CodeValidation {
			for i, f := range ge.Fields {
				if f.Pointer == "/client_type" {
					ge.Fields[i].Detail = "client_type cannot change"
				}
			}
		}
		return in, err
	}
	var probs []grantd.FieldError
	for _, m := range []struct {
		name string
		set  bool
		null bool
	}{
		{"name", nameSet, in.Name == nil},
		{"client_type", typeSet, in.ClientType == nil},
		{"allowed_scopes", scopesSet, in.AllowedScopes == nil},
		{"allowed_grant_types", grantsSet, in.AllowedGrantTypes == nil},
		{"require_pkce", pkceSet, in.RequirePKCE == nil},
	} {
		if m.set && m.null {
			probs = append(probs, grantd.FieldError{Pointer: "/" + m.name, Detail: m.name + " must not be null"})
		}
	}
	if len(probs) > 0 {
		return in, grantd.Invalid(probs...)
	}
	empty := ""
	if redirectsSet && in.RedirectURIs == nil {
		in.RedirectURIs = &[]string{}
	}
	if exchangeSet && in.TokenExchangeResources == nil {
		in.TokenExchangeResources = &[]string{}
	}
	for _, m := range []struct {
		set bool
		p   **string
	}{{logoSet, &in.LogoURI}, {tosSet, &in.TosURI}, {policySet, &in.PolicyURI}} {
		if m.set && *m.p == nil {
			*m.p = &empty
		}
	}
	return in, nil
}

func (s *Server) getClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := s.oauth.OwnClient(r.Context(), p.UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": renderClient(c, "")})
	return nil
}

func (s *Server) updateClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	// A stranger's client is a 404 before its body is even read.
	if _, err := s.oauth.OwnClient(r.Context(), p.UserID, r.PathValue("id")); err != nil {
		return err
	}
	in, err := decodeClientInput(w, r, false)
	if err != nil {
		return err
	}
	c, err := s.oauth.UpdateClientVia(r.Context(), p.UserID, p.Via, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": renderClient(c, "")})
	return nil
}

func (s *Server) deleteClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := s.oauth.DeleteClient(r.Context(), p.UserID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listClients(w http.ResponseWriter, r *http.Request, p Principal) error {
	f := grantd.ClientFilter{OwnerUserID: p.UserID}
	page, err := listRequest(r, func(k, v string) string {
		switch k {
		case "filter[client_type]":
			f.ClientType = grantd.ClientType(v)
			if v != string(grantd.ClientPublic) && v != string(grantd.ClientConfidential) {
				return "filter[client_type] must be public or confidential"
			}
		case "filter[name]":
			f.Name = v
		case "filter[name][contains]":
			f.NameContains = v
		case "filter[client_id]":
			f.ClientID = v
		case "filter[allowed_grant_types][contains]":
			f.GrantTypeContains = v
			if !slices.Contains(oauth.GrantTypes, v) {
				return "filter[allowed_grant_types][contains] must be client_credentials, authorization_code, refresh_token, " + grantd.GrantTokenExchange + " or " + grantd.GrantDeviceCode
			}
		case "filter[verified]":
			switch v {
			case "true":
				f.Verified = ptr(true)
			case "false":
				f.Verified = ptr(false)
			default:
				return "filter[verified] must be true or false"
			}
		default:
			return unknownFilter
		}
		return ""
	})
	if err != nil {
		return err
	}
	cs, total, err := s.oauth.ListClients(r.Context(), f, page)
	if err != nil {
		return err
	}
	data := make([]clientJSON, len(cs))
	for i, c := range cs {
		data[i] = renderClient(c, "")
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "meta": pageMeta(page, total)})
	return nil
}

func ptr[T any](v T) *T { return &v }
