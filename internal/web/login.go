package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/password"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/session"
	"github.com/grantd/grantd/internal/token"
)

// Bounds on what the sign-in form accepts; longer values cannot belong to
// an account (emails are at most 254 characters, RFC 5321) and are not
// worth hashing.
const (
	maxEmailLength    = 320
	maxPasswordLength = 1024
	maxReturnTo       = 8 << 10
)

type loginData struct {
	ReturnTo string
	Email    string
	Error    string
}

func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	returnTo := safeReturnTo(r.URL.Query().Get("return_to"))
	// Whoever authorize takes as signed in needs no sign-in: a session, or
	// a Bearer API key.
	_, ok, err := h.caller(r)
	if err != nil {
		h.callerFailed(w, r, err)
		return
	}
	if ok {
		http.Redirect(w, r, afterLogin(returnTo), http.StatusSeeOther)
		return
	}
	h.renderLogin(w, r, http.StatusOK, loginData{ReturnTo: returnTo})
}

func (h *handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	csrf := h.loginCSRF(w, r)
	h.render(w, r, status, "login.html", view{Title: "Sign in", CSRF: csrf, Data: d}, h.returnToSource(r.Context(), d.ReturnTo))
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	if !h.sameOrigin(r) || !h.checkLoginCSRF(r) {
		h.forbidden(w, r)
		return
	}
	d := loginData{
		ReturnTo: safeReturnTo(r.PostFormValue("return_to")),
		Email:    strings.TrimSpace(r.PostFormValue("email")),
	}
	email := strings.ToLower(d.Email)
	pw := r.PostFormValue("password")
	if email == "" || pw == "" {
		d.Error = "Enter your email address and your password."
		h.renderLogin(w, r, http.StatusBadRequest, d)
		return
	}
	ctx := r.Context()
	addr := ratelimit.AddressOf(r)
	// Every attempt spends from the address's and the email's budget
	// before its check (so that concurrent attempts cannot overspend
	// them), and a success gives it back: only failures count.
	if d := h.signIn.Take(ctx, addr); !d.Allowed {
		h.tooMany(w, r, ratelimit.SignIn.Name, d)
		return
	}
	account := accountKey(email)
	if d := h.signInEmail.Take(ctx, account); !d.Allowed {
		h.signIn.Refund(ctx, addr)
		h.tooMany(w, r, ratelimit.SignInAccount.Name, d)
		return
	}
	lane := laneClean
	if !h.signInFailed.Peek(ctx, addr).Allowed {
		lane = laneFailed
	}
	u, ok, err := h.checkPassword(ctx, lane, email, pw)
	if err != nil {
		// Not checked: nothing was tried, so nothing is spent.
		h.signIn.Refund(ctx, addr)
		h.signInEmail.Refund(ctx, account)
		if errors.Is(err, errBusy) {
			h.busy(w, r)
			return
		}
		h.internal(w, r, err)
		return
	}
	if !ok {
		h.signInFailed.Take(ctx, addr)
		d.Error = "Incorrect email address or password."
		h.renderLogin(w, r, http.StatusBadRequest, d)
		return
	}
	h.signIn.Refund(ctx, addr)
	h.signInEmail.Reset(ctx, account)

	// A new session on every sign-in, and the old one ended: a session
	// cookie planted in the browser before sign-in is worth nothing after.
	if c, err := r.Cookie(session.CookieName); err == nil && token.HasPrefix(c.Value, token.PrefixSession) {
		if err := h.p.DeleteSession(r.Context(), token.Hash(c.Value)); err != nil && !errors.Is(err, grantd.ErrNotFound) {
			h.internal(w, r, err)
			return
		}
	}
	cookie, _, err := session.Create(r.Context(), h.p, u.ID, h.now(), h.p.Config().SessionTTL, h.secure)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	http.SetCookie(w, cookie)
	h.clearLoginCSRF(w)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, afterLogin(d.ReturnTo), http.StatusSeeOther)
}

// dummyHash answers the dummy hash unknown emails are checked against,
// made once, on first use: argon2id at its cost takes a fifth of a second
// and its memory (64 MiB by default), which a server that never signs
// anyone in (machine clients only) should not pay at start-up. The first
// unknown email pays it twice (making the hash, then checking against
// it), which tells nothing: which email comes first is the caller's
// choice, and every later one costs one check like a real account.
func dummyHash(p password.Params) func() string {
	return sync.OnceValue(func() string {
		return password.Hash("grantd dummy password: never matches a sign-in", p)
	})
}

// checkPassword answers the user whose password this is. An unknown email,
// or a user without a password, is checked against a dummy hash so that
// the answer takes as long as for a real account and does not tell which
// emails have one.
//
// Each check takes argon2id's memory and CPU, so it waits for a slot of
// the gate in lane; errBusy when there is none to be had (gate.go).
func (h *handler) checkPassword(ctx context.Context, lane int, email, pw string) (grantd.User, bool, error) {
	if err := h.checks.acquire(ctx, lane); err != nil {
		return grantd.User{}, false, err
	}
	defer h.checks.release()
	if len(email) > maxEmailLength || len(pw) > maxPasswordLength {
		_, _ = h.verify(pw[:min(len(pw), maxPasswordLength)], h.dummyHash())
		return grantd.User{}, false, nil
	}
	u, err := h.p.SignInAccount(ctx, email)
	if errors.Is(err, grantd.ErrNotFound) || (err == nil && u.PasswordHash == "") {
		_, _ = h.verify(pw, h.dummyHash())
		return grantd.User{}, false, nil
	}
	if err != nil {
		return grantd.User{}, false, err
	}
	ok, err := h.verify(pw, u.PasswordHash)
	if err != nil {
		return grantd.User{}, false, fmt.Errorf("user %s: %w", u.ID, err)
	}
	return u, ok, nil
}

// accountKey is the per-account limit's key of an email. Emails too long
// to belong to an account share one key, so that they cannot fill the
// limiter's memory with 64 KiB keys.
func accountKey(email string) string {
	if len(email) > maxEmailLength {
		return "(overlong)"
	}
	return email
}

// tooMany answers a sign-in refused by a limit. Besides Retry-After it
// names the limit met (SPEC §2: every 429 carries the RateLimit fields),
// so that a script can tell how many attempts it gets.
func (h *handler) tooMany(w http.ResponseWriter, r *http.Request, limit string, d ratelimit.Decision) {
	d.SetHeaders(w.Header())
	h.rateLimited(limit)
	msg := "There have been too many attempts to sign in. Wait a minute and try again."
	if secs := d.RetrySeconds(); secs > 90 {
		msg = fmt.Sprintf("There have been too many attempts to sign in. Wait %d minutes and try again.", (secs+59)/60)
	}
	h.failWith(w, r, http.StatusTooManyRequests, errorData{Heading: "Too many attempts", Message: msg, Link: "/login", LinkText: "Back to sign in"})
}

// busyRetryAfter is the Retry-After of a sign-in that found no room in
// the queue: a slot frees in a fraction of a second, and the queue drains
// in a few.
const busyRetryAfter = "3"

// busy answers a sign-in that could not be checked because too many are
// waiting: the server's condition, not this person's doing, so a 503
// rather than a 429, and nothing was spent of their budget.
func (h *handler) busy(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", busyRetryAfter)
	h.failWith(w, r, http.StatusServiceUnavailable, errorData{
		Heading:  "Too many sign-ins right now",
		Message:  "The server is busy checking other sign-ins, so yours was not checked. Try again in a few seconds.",
		Link:     "/login",
		LinkText: "Back to sign in",
	})
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	if !h.sameOrigin(r) {
		h.forbidden(w, r)
		return
	}
	a, ok, err := h.account(r)
	if err != nil {
		h.internal(w, r, err)
		return
	}
	if ok {
		if !sameSecret(r.PostFormValue(csrfField), a.Session.CSRFToken) {
			h.forbidden(w, r)
			return
		}
		if err := h.p.DeleteSession(r.Context(), a.Session.Hash); err != nil && !errors.Is(err, grantd.ErrNotFound) {
			h.internal(w, r, err)
			return
		}
	}
	// Signed out already (the session expired in another tab): there is
	// nothing to protect, so the answer is the same.
	http.SetCookie(w, session.Clear(h.secure))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeReturnTo answers where sign-in may send the browser afterwards: a
// path on this server, or "/". "//host" and "/\host" are other origins to
// a browser, which also drops tabs and newlines from URLs ("/\t/host"),
// so any control character, space or backslash disqualifies.
func safeReturnTo(s string) string {
	if s == "" || len(s) > maxReturnTo || s[0] != '/' || strings.HasPrefix(s, "//") {
		return "/"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '\\' || c == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return s
}

func afterLogin(returnTo string) string {
	if returnTo == "/" {
		return "/apps"
	}
	return returnTo
}

// returnToSource answers the form-action source the sign-in form needs
// when it returns to an authorization request: a person who has already
// consented is sent from there straight to the client, and Chromium
// checks that redirect, too, against the sign-in page's form-action. Only
// a redirect URI registered for the client is allowed.
func (h *handler) returnToSource(ctx context.Context, returnTo string) string {
	u, err := url.Parse(returnTo)
	if err != nil || u.Path != "/v2/oauth/authorize" {
		return ""
	}
	q := u.Query()
	c, err := h.p.Client(ctx, q.Get("client_id"))
	if err != nil {
		return ""
	}
	ru, ok := oauth.ResolveRedirect(c, q.Get("redirect_uri"))
	if !ok {
		return ""
	}
	return cspSource(ru)
}

// cspSource answers the CSP source expression matching the origin of a
// redirect URI: scheme://host[:port] for http(s), the bare scheme for a
// private-use scheme. Anything that would not parse as a source (an IPv6
// literal, which CSP host-sources cannot express) falls back to the
// scheme.
func cspSource(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !validScheme(u.Scheme) {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return scheme + ":"
	}
	host := strings.ToLower(u.Host)
	if host == "" || strings.ContainsFunc(host, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':')
	}) {
		return scheme + ":"
	}
	return scheme + "://" + host
}

func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || (i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'))
		if !ok {
			return false
		}
	}
	return true
}
