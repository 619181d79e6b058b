package httpapi

import (
	"net/http"
	"slices"
	"strings"
)

// CORS (SPEC §3, CORS). The public endpoints (discovery, JWKS,
// registration, token, revocation) are called by browser-based clients
// from any origin: they answer preflights and carry
// Access-Control-Allow-Origin: * and never Allow-Credentials, so a
// browser sends them no cookies and reads no answer made with one. The
// management API gets CORS headers only for the origins the operator
// lists (WithCORSOrigins), still without credentials: its callers carry
// API keys, never cookies. Pages never get them.

const (
	corsAllowHeaders  = "Authorization, Content-Type"
	corsExposeHeaders = "WWW-Authenticate, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
	corsMaxAge        = "600"
)

// WithCORSOrigins lets the listed origins (exact, as a browser sends them
// in Origin) call the management API across origins, without credentials.
func WithCORSOrigins(origins []string) Option {
	return func(s *Server) { s.corsOrigins = slices.Clone(origins) }
}

// corsPolicy says who may call a path's routes across origins.
type corsPolicy int

const (
	corsNone   corsPolicy = iota // no CORS headers (people's pages, introspection)
	corsPublic                   // any origin
	corsListed                   // the operator's origins (management API)
)

// corsOrigin answers the Access-Control-Allow-Origin of r under p, "" for
// none.
func (s *Server) corsOrigin(p corsPolicy, r *http.Request) string {
	switch p {
	case corsPublic:
		return "*"
	case corsListed:
		if o := r.Header.Get("Origin"); o != "" && slices.Contains(s.corsOrigins, o) {
			return o
		}
	}
	return ""
}

// withCORS sets the CORS headers of p on every answer of h, errors
// included.
func (s *Server) withCORS(p corsPolicy, h http.Handler) http.Handler {
	if p == corsNone {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.setCORS(w, r, p)
		h.ServeHTTP(w, r)
	})
}

func (s *Server) setCORS(w http.ResponseWriter, r *http.Request, p corsPolicy) {
	o := s.corsOrigin(p, r)
	if p == corsListed {
		w.Header().Add("Vary", "Origin")
	}
	if o == "" {
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", o)
	w.Header().Set("Access-Control-Expose-Headers", corsExposeHeaders)
}

// preflight answers an OPTIONS request of a path whose methods are
// allowed (a preflight when it carries Access-Control-Request-Method):
// 204 with what may be sent. An OPTIONS that is not a preflight gets the
// same 204 and Allow.
func (s *Server) preflight(p corsPolicy, allowed string) http.Handler {
	methodsList := strings.ReplaceAll(allowed, ", OPTIONS", "")
	methodsList = strings.TrimPrefix(methodsList, "OPTIONS, ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowed)
		s.setCORS(w, r, p)
		if w.Header().Get("Access-Control-Allow-Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
			w.Header().Set("Access-Control-Allow-Methods", methodsList)
			w.Header().Set("Access-Control-Allow-Headers", corsAllowHeaders)
			w.Header().Set("Access-Control-Max-Age", corsMaxAge)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
