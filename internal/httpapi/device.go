package httpapi

import (
	"net/http"

	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
)

// deviceAuthorizationResponse is the wire form of RFC 8628 §3.2.
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// deviceAuthorization serves POST /v2/oauth/device_authorization (RFC
// 8628 §3.1): client authentication as at the token endpoint, under the
// same failure limits.
func (s *Server) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	addr := ratelimit.AddressOf(r)
	if err := s.clientAddressLimited(r, addr); err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	v, err := readOAuthParams(w, r, "resource")
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	client := clientAuth(r, v)
	if err := s.clientIDLimited(r, client.PresentedID()); err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	resp, err := s.oauth.DeviceAuthorization(r.Context(), oauth.DeviceAuthRequest{
		Client:    client,
		Scope:     v.Get("scope"),
		Resources: nonEmpty(v["resource"]),
	})
	if err != nil {
		s.clientFailed(r, addr, client.PresentedID(), err, false)
		s.writeOAuthError(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, deviceAuthorizationResponse{
		DeviceCode:              resp.DeviceCode,
		UserCode:                resp.UserCode,
		VerificationURI:         resp.VerificationURI,
		VerificationURIComplete: resp.VerificationURIComplete,
		ExpiresIn:               resp.ExpiresIn,
		Interval:                resp.Interval,
	})
}
