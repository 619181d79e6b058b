package httpapi

import (
	"net/http"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
)

type scopeJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

type consentJSON struct {
	ClientID        string      `json:"client_id"`
	Name            string      `json:"name"`
	LogoURI         *string     `json:"logo_uri"`
	TosURI          *string     `json:"tos_uri"`
	PolicyURI       *string     `json:"policy_uri"`
	RedirectURI     string      `json:"redirect_uri"`
	Verified        bool        `json:"verified"`
	RequestedScopes []scopeJSON `json:"requested_scopes"`
	// GrantedScopes, present only when the user's grant for the client
	// holds scopes already, is what the client can do before this
	// request: a step-up request asks for more.
	GrantedScopes []scopeJSON `json:"granted_scopes,omitempty"`
	// Device, present (true) only for a request of the device
	// authorization grant (RFC 8628), whose redirect_uri is empty.
	Device bool `json:"device,omitempty"`
}

func scopesJSON(in []grantd.Scope) []scopeJSON {
	out := make([]scopeJSON, len(in))
	for i, sc := range in {
		out[i] = scopeJSON{ID: sc.ID, Name: sc.Name, Description: sc.Description}
	}
	return out
}

// consentUser answers the signed-in user of a consent call, or a 401.
func (s *Server) consentUser(r *http.Request) (string, bool, error) {
	userID, cookie, err := s.browserUser(r)
	if err != nil {
		return "", false, err
	}
	if userID == "" {
		return "", false, grantd.E(grantd.CodeUnauthenticated, "sign in, or send Authorization: Bearer with a grantd API key")
	}
	return userID, cookie, nil
}

// consentLimited refuses a consent call from an address that has
// presented too many consent tokens that cannot be used (shared with the
// consent page), before the token is looked up.
func (s *Server) consentLimited(r *http.Request, addr ratelimit.Address) error {
	if d := s.limits.consent.Peek(r.Context(), addr); !d.Allowed {
		return tooMany(ratelimit.ConsentToken.Name, d, "consent tokens that cannot be used from this address")
	}
	return nil
}

// consentFailed spends the address's budget for a consent token that
// could not be used.
func (s *Server) consentFailed(r *http.Request, addr ratelimit.Address, err error) {
	if oauth.IsBadConsentToken(err) {
		s.limits.consent.Take(r.Context(), addr)
	}
}

// consentDetails is GET /v2/oauth/consent/{consent_token}: what a consent
// page (the built-in one or an operator's portal) shows the user.
func (s *Server) consentDetails(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	userID, _, err := s.consentUser(r)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	addr := ratelimit.AddressOf(r)
	if err := s.consentLimited(r, addr); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	v, err := s.oauth.ConsentDetails(r.Context(), userID, r.PathValue("consent_token"))
	if err != nil {
		s.consentFailed(r, addr, err)
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": consentJSON{
		ClientID:        v.ClientID,
		Name:            v.Name,
		LogoURI:         optional(v.LogoURI),
		TosURI:          optional(v.TosURI),
		PolicyURI:       optional(v.PolicyURI),
		RedirectURI:     v.RedirectURI,
		Verified:        v.Verified,
		RequestedScopes: scopesJSON(v.RequestedScopes),
		GrantedScopes:   scopesJSON(v.GrantedScopes),
		Device:          v.Device,
	}})
}
