package httpapi

import (
	"net/http"

	"github.com/grantd/grantd"
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

// consentDetails is GET /v2/oauth/consent/{consent_token}: what a consent
// page (the built-in one or an operator's portal) shows the user.
func (s *Server) consentDetails(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	userID, _, err := s.consentUser(r)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	v, err := s.oauth.ConsentDetails(r.Context(), userID, r.PathValue("consent_token"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	scopes := make([]scopeJSON, len(v.RequestedScopes))
	for i, sc := range v.RequestedScopes {
		scopes[i] = scopeJSON{ID: sc.ID, Name: sc.Name, Description: sc.Description}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": consentJSON{
		ClientID:        v.ClientID,
		Name:            v.Name,
		LogoURI:         optional(v.LogoURI),
		TosURI:          optional(v.TosURI),
		PolicyURI:       optional(v.PolicyURI),
		RedirectURI:     v.RedirectURI,
		Verified:        v.Verified,
		RequestedScopes: scopes,
	}})
}
