package httpapi

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/httperr"
	"github.com/grantd/grantd/internal/session"
	"github.com/grantd/grantd/internal/token"
)

//go:embed authorize_error.html
var authorizeErrorHTML string

var authorizeErrorPage = template.Must(template.New("authorize_error").Parse(authorizeErrorHTML))

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

type htmlErrorView struct {
	Title, Detail, Hint string
}

// writeHTMLError answers the authorization endpoint's errors that cannot
// be redirected to the client, as a page, with the status of the one
// status table.
func (s *Server) writeHTMLError(w http.ResponseWriter, r *http.Request, err error) {
	e := grantd.AsError(err)
	s.logError(r, e)
	st := httperr.Status(e.Code)
	v := htmlErrorView{Detail: e.Description}
	if len(e.Fields) > 0 {
		v.Detail = e.Fields[0].Detail
	}
	const untrusted = "You were not sent back to the application, because this request may not come from it. If you followed a link from an application, tell its developers."
	switch st {
	case http.StatusBadRequest:
		v.Title, v.Hint = "This sign-in request is not valid", untrusted
	case http.StatusNotFound:
		v.Title, v.Hint = "Unknown application", untrusted
	case http.StatusUnprocessableEntity:
		v.Title, v.Hint = "This application cannot ask for access", untrusted
	case http.StatusUnauthorized:
		v.Title = "Not signed in"
	case http.StatusServiceUnavailable:
		v.Title, v.Detail, v.Hint = "Temporarily unavailable", "The server cannot handle this request right now.", "Try again in a moment."
	case http.StatusInternalServerError:
		v.Title, v.Detail, v.Hint = "Something went wrong", "The server could not handle this request.", "Try again in a moment."
	default:
		v.Title = http.StatusText(st)
	}
	// Engine descriptions are written for developers ("client_id is
	// repeated"); a page shows them as sentences.
	if d := v.Detail; d != "" {
		first, _, _ := strings.Cut(d, " ")
		if 'a' <= d[0] && d[0] <= 'z' && !strings.Contains(first, "_") {
			d = string(d[0]-'a'+'A') + d[1:]
		}
		if !strings.HasSuffix(d, ".") {
			d += "."
		}
		v.Detail = d
	}
	setLimitHeaders(w, err)
	s.writeHTML(w, r, st, v)
}

// writePageError answers an error on a page's path that the pages never
// see (headers too large, a path with dot segments) as a page, with the
// status of the one status table.
func (s *Server) writePageError(w http.ResponseWriter, r *http.Request, err error) {
	e := grantd.AsError(err)
	s.logError(r, e)
	st := httperr.Status(e.Code)
	v := htmlErrorView{Title: http.StatusText(st), Detail: "The request could not be read."}
	switch st {
	case http.StatusNotFound:
		v.Title, v.Detail = "Page not found", "There is no page at this address."
	case http.StatusRequestHeaderFieldsTooLarge:
		v.Title, v.Detail = "Request too large", "The request's headers are too large. Clearing this site's cookies may help."
	}
	s.writeHTML(w, r, st, v)
}

// writeHTML renders the error page.
func (s *Server) writeHTML(w http.ResponseWriter, r *http.Request, st int, v htmlErrorView) {
	var buf bytes.Buffer
	if err := authorizeErrorPage.Execute(&buf, v); err != nil {
		s.log.ErrorContext(r.Context(), "rendering the authorize error page failed", "error", err)
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>Error.</p>")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	if st == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", s.apiChallenge(r))
	}
	retryAfter(w, st)
	w.WriteHeader(st)
	_, _ = w.Write(buf.Bytes())
}
