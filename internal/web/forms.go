package web

import (
	"crypto/subtle"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/session"
	"github.com/grantd/grantd/internal/token"
)

// csrfField is the hidden field of every form.
const csrfField = "csrf_token"

// account is the signed-in person of a request.
type account struct {
	User    grantd.User
	Session grantd.Session // zero for a Bearer caller
	// Bearer is set when a grantd API key in "Authorization: Bearer"
	// named the person (caller), as authorize accepts: a header no
	// browser attaches on its own, so such a request is no cross-site
	// forgery and its forms need no CSRF token.
	Bearer bool
}

// bearerCredential answers the value of an "Authorization: Bearer"
// header, and whether the request has a Bearer header at all (an empty
// one included). Other schemes are ignored, as at authorize: a proxy's
// Basic credentials must not get in the way.
func bearerCredential(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 6 || !strings.EqualFold(h[:6], "bearer") {
		return "", false
	}
	return strings.TrimSpace(h[6:]), true
}

// caller answers the signed-in person of the pages authorize sends people
// to (the consent page, its decision, the sign-in page), which honour
// every caller authorize honours: a grantd API key in "Authorization:
// Bearer", else the session cookie. As at authorize, any other Bearer
// value is refused (401), and a key that is not valid spends the
// address's API-key limit, which the JSON API shares.
func (h *handler) caller(r *http.Request) (account, bool, error) {
	tok, ok := bearerCredential(r)
	if !ok {
		return h.account(r)
	}
	if !token.HasPrefix(tok, token.PrefixAPIKey) {
		return account{}, false, grantd.E(grantd.CodeUnauthenticated, "Authorization: Bearer must carry a grantd API key here")
	}
	ctx, addr := r.Context(), ratelimit.AddressOf(r)
	if d := h.apiKeyLimit.Peek(ctx, addr); !d.Allowed {
		return account{}, false, grantd.Wrap(grantd.CodeTooManyRequests, &ratelimit.Refusal{Decision: d, Limit: ratelimit.APIKey.Name}, "too many API keys that are not valid came from your network; try again in %d seconds", d.RetrySeconds())
	}
	u, _, err := h.p.APIKeyCaller(ctx, tok)
	if err != nil {
		if grantd.ErrorCode(err) == grantd.CodeUnauthenticated {
			h.apiKeyLimit.Take(ctx, addr)
		}
		return account{}, false, err
	}
	return account{User: u, Bearer: true}, true, nil
}

// callerFailed answers the page of a request whose caller could not be
// named: a Bearer value that is not a valid API key (401, with an RFC 6750
// challenge), an address over its limit (429), the store failing.
func (h *handler) callerFailed(w http.ResponseWriter, r *http.Request, err error) {
	var ref *ratelimit.Refusal
	if errors.As(err, &ref) {
		ref.Decision.SetHeaders(w.Header())
		h.rateLimited(ref.Limit)
	}
	d := errorData{}
	if grantd.ErrorCode(err) == grantd.CodeUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="grantd", error="invalid_token"`)
		d.Heading = "Not signed in"
	}
	h.failErr(w, r, err, d)
}

// requireCaller is requireAccount for the pages that honour a Bearer API
// key (caller).
func (h *handler) requireCaller(w http.ResponseWriter, r *http.Request) (account, bool) {
	return h.requireBy(w, r, h.caller)
}

// postAsCaller is post for the forms of the pages that honour a Bearer API
// key: with one, the form needs no CSRF token and no same-origin check,
// since no browser sends that header on its own (a cross-site page cannot
// make it send one without a CORS preflight, which the pages refuse).
// Without one it is post.
func (h *handler) postAsCaller(w http.ResponseWriter, r *http.Request) (account, bool) {
	if _, ok := bearerCredential(r); !ok {
		return h.post(w, r)
	}
	if !h.parseForm(w, r) {
		return account{}, false
	}
	a, ok, err := h.caller(r)
	if err != nil {
		h.callerFailed(w, r, err)
		return a, false
	}
	return a, ok
}

// account answers the request's signed-in person, if any. A session whose
// user is gone counts as no session.
func (h *handler) account(r *http.Request) (account, bool, error) {
	s, ok, err := session.Lookup(r.Context(), h.p, r, h.now())
	if err != nil || !ok {
		return account{}, false, err
	}
	u, err := h.p.User(r.Context(), s.UserID)
	if errors.Is(err, grantd.ErrNotFound) {
		return account{}, false, nil
	}
	if err != nil {
		return account{}, false, err
	}
	return account{User: u, Session: s}, true, nil
}

// requireAccount answers the signed-in person of a page, or sends the
// browser to sign in and come back. False means it has answered.
func (h *handler) requireAccount(w http.ResponseWriter, r *http.Request) (account, bool) {
	return h.requireBy(w, r, h.account)
}

// requireBy is requireAccount with the person named by find.
func (h *handler) requireBy(w http.ResponseWriter, r *http.Request, find func(*http.Request) (account, bool, error)) (account, bool) {
	a, ok, err := find(r)
	if err != nil {
		h.callerFailed(w, r, err)
		return a, false
	}
	if !ok {
		http.Redirect(w, r, "/login?return_to="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return a, false
	}
	return a, true
}

// post checks everything a signed-in form post must carry: a readable
// body sent from this origin, a live session and that session's CSRF
// token. False means it has answered.
func (h *handler) post(w http.ResponseWriter, r *http.Request) (account, bool) {
	if !h.parseForm(w, r) {
		return account{}, false
	}
	if !h.sameOrigin(r) {
		h.forbidden(w, r)
		return account{}, false
	}
	a, ok, err := h.account(r)
	if err != nil {
		h.internal(w, r, err)
		return a, false
	}
	if !ok {
		h.failWith(w, r, http.StatusForbidden, errorData{
			Heading:  "You are signed out",
			Message:  "Your session has ended, so this form was not sent. Sign in and try again.",
			Link:     "/login",
			LinkText: "Sign in",
		})
		return a, false
	}
	if !sameSecret(r.PostFormValue(csrfField), a.Session.CSRFToken) {
		h.forbidden(w, r)
		return a, false
	}
	return a, true
}

// forbidden answers a form that fails the CSRF checks.
func (h *handler) forbidden(w http.ResponseWriter, r *http.Request) {
	h.failWith(w, r, http.StatusForbidden, errorData{
		Heading: "This form has expired",
		Message: "The form was not sent because it could not be checked as coming from this site. Go back, reload the page and try again.",
	})
}

// parseForm reads a URL-encoded body of bounded size. False means it has
// answered.
func (h *handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		h.fail(w, r, http.StatusUnsupportedMediaType, "Unsupported form", "This page accepts only forms sent by a web browser.")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.maxFormSize)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.fail(w, r, http.StatusRequestEntityTooLarge, "Form too large", "The form you sent is too large.")
			return false
		}
		h.fail(w, r, http.StatusBadRequest, "Unreadable form", "The form you sent could not be read.")
		return false
	}
	for k, vs := range r.PostForm {
		bad := !utf8.ValidString(k)
		for _, v := range vs {
			bad = bad || !utf8.ValidString(v)
		}
		if bad {
			h.fail(w, r, http.StatusBadRequest, "Unreadable form", "The form you sent contains text that is not valid UTF-8.")
			return false
		}
	}
	return true
}

// sameOrigin rejects a post that the browser says came from elsewhere.
// It complements the CSRF token, which stays the real defence: a request
// without these headers (an old browser, a script) is judged by the token
// alone. Sec-Fetch-Site is judged by the one CrossOriginProtection the
// JSON API shares; an Origin must be the issuer, which a proxy in front
// may not pass on as the Host that net/http's Origin check compares with,
// so that check applies only where Sec-Fetch-Site is sent.
func (h *handler) sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && !strings.EqualFold(o, h.origin) {
		return false
	}
	return r.Header.Get("Sec-Fetch-Site") == "" || h.crossOrigin.Check(r) == nil
}

// sameSecret compares a presented token with the expected one in
// constant time; an empty expected value never matches.
func sameSecret(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// The sign-in form has no session to hold its CSRF token, so the token is
// a double-submit cookie: a cross-site page can make the browser send the
// cookie but cannot read it to put it in the form. With https the __Host-
// prefix keeps a sibling subdomain from planting its own.
func (h *handler) loginCSRFCookie() string {
	if h.secure {
		return "__Host-grantd_csrf"
	}
	return "grantd_csrf"
}

// loginCSRF answers the pre-session token, setting the cookie when the
// browser has none (an existing one is kept so that two open tabs both
// work).
func (h *handler) loginCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(h.loginCSRFCookie()); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	v, _ := token.NewOpaque("")
	http.SetCookie(w, &http.Cookie{
		Name:     h.loginCSRFCookie(),
		Value:    v,
		Path:     "/",
		HttpOnly: true,
		Secure:   h.secure,
		SameSite: http.SameSiteLaxMode,
	})
	return v
}

func (h *handler) checkLoginCSRF(r *http.Request) bool {
	c, err := r.Cookie(h.loginCSRFCookie())
	return err == nil && sameSecret(r.PostFormValue(csrfField), c.Value)
}

func (h *handler) clearLoginCSRF(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: h.loginCSRFCookie(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
}
