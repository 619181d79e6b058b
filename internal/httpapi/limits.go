package httpapi

import (
	"errors"
	"net/http"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/ratelimit"
)

// Option changes what NewServer builds.
type Option func(*Server)

// WithLimits makes the server count failures in l rather than in limits
// of its own in memory. Give the pages the same l, so that a consent
// token guessed through the page and through the API is one count.
func WithLimits(l ratelimit.Limits) Option {
	return func(s *Server) { s.limitsFrom = l }
}

// WithManagementLimit sets the rate of management API requests per
// caller (ratelimit.Management's rate when not given).
func WithManagementLimit(r ratelimit.Rate) Option {
	return func(s *Server) { s.managementRate = r }
}

// WithCrossOrigin makes the server judge cookie-authenticated requests
// with c (net/http's Sec-Fetch-Site and Origin check). Give the pages the
// same c, so that both adapters apply one rule, configured once.
func WithCrossOrigin(c *http.CrossOriginProtection) Option {
	return func(s *Server) { s.crossOrigin = c }
}

// WithErrorPages makes the server answer its HTML errors with p (the
// pages' web.ErrorPages). Without it they are answered in the Telnyx
// envelope.
func WithErrorPages(p ErrorPages) Option {
	return func(s *Server) { s.errorPages = p }
}

// limits are the failure limits of the API (docs/SECURITY.md, Brute
// force). Each is asked before the credential is looked up, and spent only
// when it turns out wrong: a caller that succeeds pays a map lookup.
type limits struct {
	clientAuth ratelimit.PerAddress // token, introspection, revocation
	clientID   ratelimit.Limiter    // the same failures, per client_id
	apiKey     ratelimit.PerAddress // wherever an API key is checked
	consent    ratelimit.PerAddress // consent tokens
	register   ratelimit.PerAddress // every registration attempt
	management ratelimit.Limiter    // every management request, per caller
}

func newLimits(l ratelimit.Limits, management ratelimit.Rate) limits {
	return limits{
		clientAuth: ratelimit.ClientAuth.Of(l),
		clientID:   ratelimit.ClientID.Of(l),
		apiKey:     ratelimit.APIKey.Of(l),
		consent:    ratelimit.ConsentToken.Of(l),
		register:   ratelimit.Register.Of(l),
		management: ratelimit.KeyLimit{Name: ratelimit.Management.Name, Rate: management}.Of(l),
	}
}

// managementLimited spends one management request of the caller: its
// API key, or the client of its access token. Unlike the failure limits
// it counts every request, so that one key (or a script gone wrong) cannot
// take the whole API for itself.
func (s *Server) managementLimited(r *http.Request, p Principal) error {
	key, what := "api_key:"+p.APIKeyID, "requests with this API key"
	if p.APIKeyID == "" {
		key, what = "client:"+p.ClientID, "requests with this client's tokens"
	}
	if d := s.limits.management.Take(r.Context(), key); !d.Allowed {
		return tooMany(ratelimit.Management.Name, d, what)
	}
	return nil
}

// tooMany is the error of a request a limit refused: 429 in every format
// (RFC 6749 names it invalid_request), carrying the decision from which
// the writers set Retry-After and the RateLimit fields.
func tooMany(limit string, d ratelimit.Decision, what string) error {
	return grantd.Wrap(grantd.CodeTooManyRequests, &ratelimit.Refusal{Decision: d, Limit: limit}, "too many %s; try again in %d seconds", what, d.RetrySeconds())
}

// setLimitHeaders writes the headers of a refusal, if err is one, and
// counts the refusal by its limit's name: every 429 of a limit the API
// answers goes through here.
func (s *Server) setLimitHeaders(w http.ResponseWriter, err error) {
	var ref *ratelimit.Refusal
	if errors.As(err, &ref) {
		ref.Decision.SetHeaders(w.Header())
		s.obs.RateLimited(ref.Limit)
	}
}

// clientAddressLimited refuses a protocol request from an address that
// has failed too often, before its body is read.
func (s *Server) clientAddressLimited(r *http.Request, addr ratelimit.Address) error {
	if d := s.limits.clientAuth.Peek(r.Context(), addr); !d.Allowed {
		return tooMany(ratelimit.ClientAuth.Name, d, "failed attempts from this address")
	}
	return nil
}

// clientIDLimited refuses a protocol request for a client_id that has
// failed too often, before the client is looked up. Ids the engine
// refuses unread (too long) are not kept.
func (s *Server) clientIDLimited(r *http.Request, id string) error {
	if !limitedID(id) {
		return nil
	}
	if d := s.limits.clientID.Peek(r.Context(), id); !d.Allowed {
		return tooMany(ratelimit.ClientID.Name, d, "failed attempts for this client_id")
	}
	return nil
}

func limitedID(id string) bool { return id != "" && len(id) <= 255 }

// clientFailed spends the budgets of a protocol request that failed:
// client authentication (invalid_client) always, and with grants a code,
// verifier or refresh token that was wrong (invalid_grant). Malformed
// requests are not guesses and cost nothing.
func (s *Server) clientFailed(r *http.Request, addr ratelimit.Address, id string, err error, grants bool) {
	switch grantd.ErrorCode(err) {
	case grantd.CodeInvalidClient:
	case grantd.CodeInvalidGrant:
		if !grants {
			return
		}
	default:
		return
	}
	s.limits.clientAuth.Take(r.Context(), addr)
	if limitedID(id) {
		s.limits.clientID.Take(r.Context(), id)
	}
}
