package httpapi

import (
	"net/http"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/ratelimit"
)

// decideGrant is POST /v2/oauth/grants: the user's decision on a pending
// request, answered with the bare {"redirect_uri": …} to send the browser
// to.
//
// A session cookie travels with any request the browser makes, including
// a form another site posts. So when the cookie is the credential the
// body must be application/json, which no HTML form can send and which a
// cross-site script can send only after a CORS preflight grantd never
// grants, and the request must not be cross-origin by Sec-Fetch-Site or
// Origin. A Bearer API key is never sent by the browser on its own, so
// API callers need neither.
func (s *Server) decideGrant(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	userID, cookie, err := s.consentUser(r)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if cookie {
		if mediaType(r) != "application/json" {
			s.writeAPIError(w, r, grantd.E(grantd.CodeUnsupportedMediaType, "Content-Type must be application/json"))
			return
		}
		if err := s.crossOrigin.Check(r); err != nil {
			s.writeAPIError(w, r, grantd.E(grantd.CodeForbidden, "cross-origin requests may not decide on consent"))
			return
		}
	}
	var (
		allowed *bool
		tok     *string
	)
	if err := decodeObject(w, r, field{name: "allowed", dst: &allowed}, field{name: "consent_token", dst: &tok}); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	var probs []grantd.FieldError
	if allowed == nil {
		probs = append(probs, grantd.FieldError{Pointer: "/allowed", Detail: "allowed is required: true to approve, false to deny"})
	}
	if tok == nil {
		probs = append(probs, grantd.FieldError{Pointer: "/consent_token", Detail: "consent_token is required"})
	}
	if len(probs) > 0 {
		s.writeAPIError(w, r, grantd.Invalid(probs...))
		return
	}
	addr := ratelimit.AddressOf(r)
	if err := s.consentLimited(r, addr); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	to, err := s.oauth.Decide(r.Context(), userID, *tok, *allowed)
	if err != nil {
		s.consentFailed(r, addr, err)
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect_uri": to})
}
