package httpapi

import (
	"net/http"

	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
)

// introspectionResponse is the wire form of an RFC 7662 answer. An
// inactive token is exactly {"active":false}: every other member is
// omitted when empty.
type introspectionResponse struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Aud       string `json:"aud,omitempty"`
	Iss       string `json:"iss,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	JTI       string `json:"jti,omitempty"`
	GrantID   string `json:"grant_id,omitempty"`
}

// introspect serves POST /v2/oauth/introspect.
//
// Only failed client authentication counts against the limits: an
// inactive token is what a resource server sees every day, not a guess.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	addr := ratelimit.AddressOf(r)
	if err := s.clientAddressLimited(r, addr); err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	v, err := readOAuthParams(w, r)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	client := clientAuth(r, v)
	if err := s.clientIDLimited(r, client.PresentedID()); err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	in, err := s.oauth.Introspect(r.Context(), oauth.IntrospectRequest{
		Client:        client,
		Token:         v.Get("token"),
		TokenTypeHint: v.Get("token_type_hint"),
	})
	if err != nil {
		s.clientFailed(r, addr, client.PresentedID(), err, false)
		s.writeOAuthError(w, r, err)
		return
	}
	// The answer describes a live credential: keep it out of caches.
	noStore(w)
	if !in.Active {
		writeRaw(w, http.StatusOK, []byte(`{"active":false}`))
		return
	}
	writeJSON(w, http.StatusOK, introspectionResponse{
		Active:    true,
		Scope:     in.Scope,
		ClientID:  in.ClientID,
		Sub:       in.Subject,
		Aud:       in.Audience,
		Iss:       in.Issuer,
		Exp:       in.ExpiresAt.Unix(),
		Iat:       in.IssuedAt.Unix(),
		TokenType: in.TokenType,
		JTI:       in.JTI,
		GrantID:   in.GrantID,
	})
}
