package httpapi

import (
	"net/http"

	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
)

// revoke serves POST /v2/oauth/revoke (RFC 7009). Success has no content
// to speak of; it answers {} so that every answer is JSON. Failed client
// authentication counts against the limits as at the token endpoint.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
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
	err = s.oauth.Revoke(r.Context(), oauth.RevokeRequest{
		Client:        client,
		Token:         v.Get("token"),
		TokenTypeHint: v.Get("token_type_hint"),
	})
	if err != nil {
		s.clientFailed(r, addr, client.PresentedID(), err, false)
		s.writeOAuthError(w, r, err)
		return
	}
	setLogClient(r, client.PresentedID()) // authenticated: the engine answered
	noStore(w)
	writeRaw(w, http.StatusOK, []byte(`{}`))
}
