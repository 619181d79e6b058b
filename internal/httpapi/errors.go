package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/httperr"
)

// writeError answers err in the format of the path's family: RFC 6749 on
// the protocol endpoints, the Telnyx envelope everywhere else. Handlers
// know their format; this is for the answers that come before any
// handler (404, 405) or instead of one (a panic).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if isProtocolPath(r.URL.Path) {
		s.writeOAuthError(w, r, err)
		return
	}
	s.writeAPIError(w, r, err)
}

// writePathError is writeError for an answer that comes before routing
// (a request's headers too large, a path with dot segments), for the
// path p the request means: it answers a page's path with an HTML page,
// as the pages would.
func (s *Server) writePathError(w http.ResponseWriter, r *http.Request, p string, err error) {
	switch {
	case s.web != nil && isPagePath(p):
		s.writePageError(w, r, err)
	case isProtocolPath(p):
		s.writeOAuthError(w, r, err)
	default:
		s.writeAPIError(w, r, err)
	}
}

// isProtocolPath reports whether the path answers RFC 6749 errors.
func isProtocolPath(p string) bool {
	switch p {
	case "/v2/oauth/token", "/v2/oauth/introspect", "/v2/oauth/revoke", "/v2/oauth/register", "/v2/oauth/jwks":
		return true
	}
	return strings.HasPrefix(p, "/v2/oauth/register/") || strings.HasPrefix(p, "/.well-known/") || strings.HasPrefix(p, "/v2/.well-known/")
}

// writeAPIError answers a management endpoint's error in the Telnyx envelope.
func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	e := grantd.AsError(err)
	s.logError(r, e)
	st, body := httperr.Telnyx(e)
	if st == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", s.apiChallenge(r))
	}
	s.setLimitHeaders(w, err)
	writeErrorBody(w, st, body)
}

// writeOAuthError answers a protocol endpoint's error in RFC 6749 form.
// Its 401 asks for client credentials.
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeProtocolError(w, r, err, `Basic realm="grantd"`)
}

// writeProtocolError answers in RFC 6749 form with challenge on a 401.
// No cache may keep the answer: it belongs to a request that carried
// credentials.
func (s *Server) writeProtocolError(w http.ResponseWriter, r *http.Request, err error, challenge string) {
	e := grantd.AsError(err)
	s.logError(r, e)
	st, body := httperr.OAuth(e)
	if st == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	s.setLimitHeaders(w, err)
	noStore(w)
	writeErrorBody(w, st, body)
}

// writeErrorBody writes an error answer, with a Retry-After on a 429 or
// a 503 that has none yet.
func writeErrorBody(w http.ResponseWriter, st int, body []byte) {
	retryAfter(w, st)
	writeRaw(w, st, body)
}

// retryAfter sets the Retry-After of a 429 (one second) or a 503 (a
// database that cannot answer now: retryAfterUnavailable) unless the
// handler has set one.
func retryAfter(w http.ResponseWriter, st int) {
	if w.Header().Get("Retry-After") != "" {
		return
	}
	switch st {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterUnavailable))
	}
}

// bearerChallenge is an RFC 6750 challenge, params following the realm.
// As §3.1 asks, it names the error only when a token was sent.
func bearerChallenge(r *http.Request, params string) string {
	c := `Bearer realm="grantd"` + params
	if _, ok := bearerToken(r); ok {
		c += `, error="invalid_token"`
	}
	return c
}

// apiChallenge is the challenge of the management API and the pages
// that take its credentials: it points to the RFC 9728 metadata.
func (s *Server) apiChallenge(r *http.Request) string {
	return bearerChallenge(r, `, resource_metadata="`+s.cfg.Issuer+`/.well-known/oauth-protected-resource"`)
}

// logError logs internal errors with their cause; client errors at debug.
// Descriptions never contain secrets: handlers never put a presented token
// into one.
func (s *Server) logError(r *http.Request, e *grantd.Error) {
	st := httperr.Status(e.Code)
	if st >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "request_id", requestID(r.Context()), "error", e)
		return
	}
	s.log.DebugContext(r.Context(), "request rejected", "request_id", requestID(r.Context()), "code", string(e.Code), "description", e.Description)
}

func writeRaw(w http.ResponseWriter, st int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st)
	_, _ = w.Write(body)
}

// writeJSON answers v as JSON with the status.
func writeJSON(w http.ResponseWriter, st int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeRaw(w, http.StatusInternalServerError, []byte(`{"errors":[{"code":"10007","title":"Unexpected error","detail":"internal error"}]}`))
		return
	}
	writeRaw(w, st, b)
}
