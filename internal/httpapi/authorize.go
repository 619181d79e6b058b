package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/httperr"
	"github.com/grantd/grantd/internal/session"
	"github.com/grantd/grantd/internal/token"
)

// authorize is GET /v2/oauth/authorize (RFC 6749 §4.1.1). The engine
// decides; this turns its answer into a 302, a sign-in redirect, or an
// HTML page for the errors that cannot go back to the client.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	// Every answer may carry a code or a consent token in Location.
	noStore(w)
	w.Header().Set("Referrer-Policy", "no-referrer")

	// r.URL.Query would drop a malformed pair silently, and with it
	// perhaps a repeated parameter.
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.writeHTMLError(w, r, grantd.E(grantd.CodeInvalidRequest, "The address of this request is malformed."))
		return
	}
	userID, _, err := s.browserUser(r)
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	res, err := s.oauth.Authorize(r.Context(), userID, q)
	if err != nil {
		s.writeHTMLError(w, r, err)
		return
	}
	to := res.Redirect
	if res.Login {
		to = "/login?return_to=" + url.QueryEscape(r.URL.Path+"?"+r.URL.RawQuery)
	}
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusFound)
}

// browserUser answers who makes a request to the user-facing endpoints
// (authorize, consent, grant decision): the owner of a grantd API key in
// "Authorization: Bearer" (as the published curl examples do), else the
// user of the web pages' session cookie; "" when nobody is signed in.
// cookie reports that the session cookie was the credential, which a
// browser attaches on its own and so needs protection against cross-site
// requests. Admin access tokens are not accepted here: a client holding
// one must not be able to approve consents on the user's behalf.
// Authorization schemes other than Bearer are ignored, so that Basic
// credentials of a proxy in front of grantd do not get in the way.
func (s *Server) browserUser(r *http.Request) (userID string, cookie bool, err error) {
	if h := r.Header.Get("Authorization"); len(h) >= 6 && strings.EqualFold(h[:6], "bearer") {
		tok, ok := bearerToken(r)
		if !ok || !token.HasPrefix(tok, token.PrefixAPIKey) {
			return "", false, grantd.E(grantd.CodeUnauthenticated, "Authorization: Bearer must carry a grantd API key here")
		}
		p, err := s.authenticateAPIKey(r, tok)
		return p.UserID, false, err
	}
	sess, ok, err := session.Lookup(r.Context(), s.oauth, r, s.now())
	if err != nil {
		return "", false, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	if !ok {
		return "", false, nil
	}
	return sess.UserID, true, nil
}

// ErrorPages renders the HTML pages the API answers with where a person
// is in front of the browser (web.ErrorPages): the authorization
// endpoint's errors that cannot go back to the client, and a page's path
// refused before routing. The API sets its own headers first.
type ErrorPages interface {
	Authorize(w http.ResponseWriter, st int, e *grantd.Error)
	Path(w http.ResponseWriter, st int)
}

// writeHTMLError answers the authorization endpoint's errors that cannot
// be redirected to the client, as a page, with the status of the one
// status table. Without pages (a server built for the API alone) the
// answer is the Telnyx envelope.
func (s *Server) writeHTMLError(w http.ResponseWriter, r *http.Request, err error) {
	if s.errorPages == nil {
		s.writeAPIError(w, r, err)
		return
	}
	e := grantd.AsError(err)
	s.logError(r, e)
	st := httperr.Status(e.Code)
	s.setLimitHeaders(w, err)
	s.pageHeaders(w, r, st)
	s.errorPages.Authorize(w, st, e)
}

// writePageError answers an error on a page's path that the pages never
// see (headers too large, a path with dot segments) as a page, with the
// status of the one status table.
func (s *Server) writePageError(w http.ResponseWriter, r *http.Request, err error) {
	if s.errorPages == nil {
		s.writeAPIError(w, r, err)
		return
	}
	e := grantd.AsError(err)
	s.logError(r, e)
	st := httperr.Status(e.Code)
	s.pageHeaders(w, r, st)
	s.errorPages.Path(w, st)
}

// pageHeaders sets the API's headers of an error page: the challenge of
// a 401 and the Retry-After of a 429 or 503.
func (s *Server) pageHeaders(w http.ResponseWriter, r *http.Request, st int) {
	if st == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", s.apiChallenge(r))
	}
	retryAfter(w, st)
}
