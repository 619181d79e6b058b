package httpapi

import (
	"net/http"

	"github.com/grantd/grantd"
)

// jwksMaxAge is how long resource servers may cache the key set, in
// seconds. A rotation publishes the new key before it signs (keys rotate
// --activate-in), which must exceed this.
const jwksMaxAge = "300"

// jwks serves GET /v2/oauth/jwks: the public keys that verify access
// tokens, shared bytes built by the keyring when the keys change.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	b, err := s.oauth.JWKS()
	if err != nil {
		s.writeOAuthError(w, r, grantd.Wrap(grantd.CodeServerError, err, "internal error"))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age="+jwksMaxAge)
	writeRaw(w, http.StatusOK, b)
}
