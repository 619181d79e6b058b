package rs

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Middleware answers a function that wraps a handler so that it runs only
// for requests carrying, in "Authorization: Bearer", a token that Verify
// accepts and that has every scope in requiredScopes. The handler finds
// the token with FromContext.
//
// Other requests get an RFC 6750 §3 answer with a JSON body
// {"error", "error_description"} (Content-Type application/json):
//
//   - no Bearer token (no Authorization header, or another scheme): 401
//     with WWW-Authenticate: Bearer realm="grantd", resource_metadata="…",
//     followed by , scope="…" listing requiredScopes when there are any,
//     so that a client knows what to ask for (RFC 9728 §5.1; the MCP
//     authorization specification); the challenge names no error, as
//     §3.1 asks, and the body says invalid_request;
//   - a token Verify refuses: 401 with the same challenge followed by
//     , error="invalid_token";
//   - a valid token without a required scope: 403 with
//     , error="insufficient_scope", scope="…" listing requiredScopes
//     (all of them: a client asking again for only the missing ones
//     would lose the others), and a body naming the missing ones;
//   - Verify could not decide (grantd unreachable): 503,
//     temporarily_unavailable, without a challenge.
//
// The token is never written into an answer. Middleware panics if a
// required scope is not a valid scope token (RFC 6749 §3.3), as that is
// a mistake in the program, not in a request.
func (v *Verifier) Middleware(requiredScopes ...string) func(http.Handler) http.Handler {
	for _, s := range requiredScopes {
		if !validScope(s) {
			panic("rs: Middleware: " + `"` + s + `" is not a scope token`)
		}
	}
	unauthorized := v.challenge
	if len(requiredScopes) > 0 {
		unauthorized += `, scope="` + strings.Join(requiredScopes, " ") + `"`
	}
	forbidden := v.challenge + `, error="insufficient_scope", scope="` + strings.Join(requiredScopes, " ") + `"`
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, ok := bearerToken(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", unauthorized)
				writeError(w, http.StatusUnauthorized, "invalid_request", "this API needs an access token in Authorization: Bearer")
				return
			}
			tok, err := v.Verify(r.Context(), raw)
			var refused *invalidToken
			switch {
			case errors.As(err, &refused):
				w.Header().Set("WWW-Authenticate", unauthorized+`, error="invalid_token"`)
				writeError(w, http.StatusUnauthorized, "invalid_token", refused.reason)
				return
			case err != nil:
				writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the access token cannot be checked now; try again later")
				return
			}
			var missing []string
			for _, s := range requiredScopes {
				if !tok.HasScope(s) {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 {
				w.Header().Set("WWW-Authenticate", forbidden)
				writeError(w, http.StatusForbidden, "insufficient_scope", "the access token lacks the scope "+strings.Join(missing, " "))
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), tok)))
		})
	}
}

// bearerToken answers the token of an "Authorization: Bearer" header;
// the scheme is case-insensitive (RFC 7235 §2.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// validScope reports whether s is a scope-token: one or more of %x21,
// %x23-5B and %x5D-7E.
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, description})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
