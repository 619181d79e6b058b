package httpapi

import (
	"net/http"
	"net/url"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/token"
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
	// Act: the actor chain of an exchanged token (RFC 8693 §4.1).
	Act *token.Actor `json:"act,omitempty"`
}

// introspect serves POST /v2/oauth/introspect. The caller authenticates
// as a confidential client (Basic or the body), or with
// "Authorization: Bearer" and an API key or an access token for this API
// (RFC 7662 §2.1), which learns only about its own tokens
// (oauth.Introspector).
//
// Only failed authentication counts against the limits: an inactive token
// is what a resource server sees every day, not a guess.
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
	if tok, ok := bearerToken(r); ok {
		s.introspectBearer(w, r, v, tok)
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
		challenge := `Basic realm="grantd"`
		if !client.Basic && client.ClientID == "" && client.ClientSecret == "" {
			// Nothing was presented: offer both ways in (RFC 7235 §4.1).
			challenge += `, Bearer realm="grantd"`
		}
		s.writeProtocolError(w, r, err, challenge)
		return
	}
	setLogClient(r, client.PresentedID()) // authenticated: the engine answered
	writeIntrospection(w, in)
}

// introspectBearer serves an introspection request that authenticated
// with "Authorization: Bearer". A credential that is not valid is 401
// invalid_token with an RFC 6750 challenge and spends the API-key limit of
// the address, whether it was an API key or an access token.
func (s *Server) introspectBearer(w http.ResponseWriter, r *http.Request, v url.Values, tok string) {
	fail := func(err error) { s.writeProtocolError(w, r, err, bearerChallenge(r, "")) }
	if v.Get("client_secret") != "" {
		fail(grantd.E(grantd.CodeInvalidRequest, "use one authentication method: the Authorization header or client_secret in the body, not both"))
		return
	}
	who, err := s.introspector(r, tok)
	if err != nil {
		fail(err)
		return
	}
	in, err := s.oauth.Introspect(r.Context(), oauth.IntrospectRequest{
		Bearer:        &who,
		Token:         v.Get("token"),
		TokenTypeHint: v.Get("token_type_hint"),
	})
	if err != nil {
		fail(err)
		return
	}
	writeIntrospection(w, in)
}

// introspector answers the caller of a bearer credential: an API key's
// user, or what the engine makes of an access token.
func (s *Server) introspector(r *http.Request, tok string) (oauth.Introspector, error) {
	if token.HasPrefix(tok, token.PrefixAPIKey) {
		p, err := s.authenticateAPIKey(r, tok)
		if err != nil {
			if grantd.ErrorCode(err) == grantd.CodeUnauthenticated {
				return oauth.Introspector{}, grantd.E(grantd.CodeInvalidToken, "the API key is not valid")
			}
			return oauth.Introspector{}, err
		}
		return oauth.Introspector{UserID: p.UserID}, nil
	}
	if err := s.bearerLimited(r); err != nil {
		return oauth.Introspector{}, err
	}
	who, err := s.oauth.BearerIntrospector(r.Context(), tok)
	if err != nil && grantd.ErrorCode(err) == grantd.CodeInvalidToken {
		s.bearerFailed(r)
	}
	return who, err
}

// writeIntrospection answers an RFC 7662 introspection.
func writeIntrospection(w http.ResponseWriter, in oauth.Introspection) {
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
		Act:       in.Act,
	})
}
