package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/token"
)

// Principal is who a management call acts for.
type Principal struct {
	UserID string
	OrgID  string
	// ClientID is set when the caller is an access token.
	ClientID string
	// Via is the access token the call came through; zero otherwise.
	Via oauth.Via
	// APIKeyID is set when the caller is an API key.
	APIKeyID string
}

// bearerToken answers the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// authenticateAPIKey answers the principal of a grantd API key. Every
// caller that checks an API key comes here, so that the failure limit
// applies wherever one is accepted: an address that has sent too many
// keys that are not valid is refused before the lookup.
func (s *Server) authenticateAPIKey(r *http.Request, key string) (Principal, error) {
	if err := s.bearerLimited(r); err != nil {
		return Principal{}, err
	}
	u, k, err := s.oauth.APIKeyCaller(r.Context(), key)
	if err != nil {
		if grantd.ErrorCode(err) == grantd.CodeUnauthenticated {
			s.bearerFailed(r)
		}
		return Principal{}, err
	}
	return Principal{UserID: u.ID, OrgID: u.OrgID, APIKeyID: k.ID}, nil
}

// bearerLimited refuses a request from an address that has sent too many
// bearer credentials that are not valid (the API-key limit), before the
// credential is looked up.
func (s *Server) bearerLimited(r *http.Request) error {
	if d := s.limits.apiKey.Peek(r.Context(), ratelimit.AddressOf(r)); !d.Allowed {
		return tooMany(ratelimit.APIKey.Name, d, "API keys that are not valid from this address")
	}
	return nil
}

// bearerFailed spends the API-key limit of the request's address: it sent
// a bearer credential that is not valid.
func (s *Server) bearerFailed(r *http.Request) {
	s.limits.apiKey.Take(r.Context(), ratelimit.AddressOf(r))
}

// authenticateAccessToken answers the principal of an admin access token
// whose audience is this API; the engine decides (oauth.TokenCaller),
// including that a client without an owner reaches nothing.
func (s *Server) authenticateAccessToken(ctx context.Context, tok string) (Principal, error) {
	u, via, err := s.oauth.TokenCaller(ctx, tok)
	if err != nil {
		return Principal{}, err
	}
	return Principal{UserID: u.ID, OrgID: u.OrgID, ClientID: via.ClientID, Via: via}, nil
}

// authenticateBearer answers the principal of the request's bearer
// credential: an API key or an admin access token.
func (s *Server) authenticateBearer(r *http.Request) (Principal, error) {
	tok, ok := bearerToken(r)
	if !ok {
		return Principal{}, grantd.E(grantd.CodeUnauthenticated, "missing Authorization: Bearer credential")
	}
	if token.HasPrefix(tok, token.PrefixAPIKey) {
		return s.authenticateAPIKey(r, tok)
	}
	return s.authenticateAccessToken(r.Context(), tok)
}

// managed wraps a management handler: it authenticates the caller and puts
// the principal in the context; errors in the Telnyx envelope.
func (s *Server) managed(h func(http.ResponseWriter, *http.Request, Principal) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answers are one user's data, and a creation shows a client
		// secret once: no cache may keep them.
		w.Header().Set("Cache-Control", "no-store")
		p, err := s.authenticateBearer(r)
		if err == nil {
			err = s.managementLimited(r, p)
		}
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxPrincipal, p))
		setLogClient(r, p.ClientID)
		if err := h(w, r, p); err != nil {
			s.writeAPIError(w, r, err)
		}
	})
}
