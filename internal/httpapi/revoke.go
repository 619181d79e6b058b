package httpapi

import (
	"net/http"

	"github.com/grantd/grantd/internal/oauth"
)

// revoke serves POST /v2/oauth/revoke (RFC 7009). Success has no content
// to speak of; it answers {} so that every answer is JSON.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	v, err := readOAuthParams(w, r)
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	err = s.oauth.Revoke(r.Context(), oauth.RevokeRequest{
		Client:        clientAuth(r, v),
		Token:         v.Get("token"),
		TokenTypeHint: v.Get("token_type_hint"),
	})
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	noStore(w)
	writeRaw(w, http.StatusOK, []byte(`{}`))
}
