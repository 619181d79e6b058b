package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
)

// clientAuth collects the client credentials of a protocol request; the
// engine decides what they prove.
func clientAuth(r *http.Request, v url.Values) oauth.ClientAuth {
	a := oauth.ClientAuth{ClientID: v.Get("client_id"), ClientSecret: v.Get("client_secret")}
	if h := r.Header.Get("Authorization"); len(h) >= 6 && strings.EqualFold(h[:6], "basic ") {
		a.Basic = true
		a.BasicUser, a.BasicPassword, _ = r.BasicAuth()
	}
	return a
}

// tokenResponse is the wire form of a token answer (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// IssuedTokenType: token exchange only (RFC 8693 §2.2.1).
	IssuedTokenType string `json:"issued_token_type,omitempty"`
}

// noStore marks an answer that carries tokens: no cache may keep it
// (RFC 6749 §5.1; Pragma for HTTP/1.0 caches).
func noStore(w http.ResponseWriter) {
	h := w.Header()
	h["Cache-Control"] = []string{"no-store"}
	h["Pragma"] = []string{"no-cache"}
}

// token serves POST /v2/oauth/token. It is the hottest path of the
// server: one body read and parse, the engine, one marshal. (A
// hand-written encoder saved 2% and was not worth its code; see
// docs/PERFORMANCE.md.)
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	addr := ratelimit.AddressOf(r)
	if err := s.clientAddressLimited(r, addr); err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	v, err := readOAuthParams(w, r, "resource", "audience")
	if err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	client := clientAuth(r, v)
	if err := s.clientIDLimited(r, client.PresentedID()); err != nil {
		s.writeOAuthError(w, r, err)
		return
	}
	resp, err := s.oauth.Token(r.Context(), oauth.TokenRequest{
		Client:       client,
		GrantType:    v.Get("grant_type"),
		Code:         v.Get("code"),
		RedirectURI:  v.Get("redirect_uri"),
		CodeVerifier: v.Get("code_verifier"),
		RefreshToken: v.Get("refresh_token"),
		DeviceCode:   v.Get("device_code"),
		Scope:        v.Get("scope"),
		Resources:    nonEmpty(v["resource"]),

		SubjectToken:       v.Get("subject_token"),
		SubjectTokenType:   v.Get("subject_token_type"),
		ActorToken:         v.Get("actor_token"),
		ActorTokenType:     v.Get("actor_token_type"),
		RequestedTokenType: v.Get("requested_token_type"),
		Audiences:          nonEmpty(v["audience"]),
	})
	if err != nil {
		s.clientFailed(r, addr, client.PresentedID(), err, true)
		s.writeOAuthError(w, r, err)
		return
	}
	setLogClient(r, client.PresentedID()) // authenticated: the engine answered
	noStore(w)
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken:  resp.AccessToken,
		TokenType:    "Bearer",
		ExpiresIn:    resp.ExpiresIn,
		Scope:        resp.Scope,
		RefreshToken: resp.RefreshToken,

		IssuedTokenType: resp.IssuedTokenType,
	})
}

// nonEmpty drops empty values: a client that sends resource= means none.
func nonEmpty(vs []string) []string {
	for _, v := range vs {
		if v == "" {
			out := make([]string, 0, len(vs))
			for _, v := range vs {
				if v != "" {
					out = append(out, v)
				}
			}
			return out
		}
	}
	return vs
}
