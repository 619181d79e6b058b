// Package web serves the pages people use: sign-in and sign-out, the
// consent page the authorize endpoint sends them to, their connected apps
// and their own OAuth clients. It is a thin adapter over *oauth.Provider,
// like the JSON API beside it: every OAuth decision is the Provider's, and
// this package only turns forms into calls and *grantd.Error values into
// pages. Templates and the stylesheet are embedded; nothing depends on
// JavaScript.
//
// Decisions worth knowing:
//   - Every form carries a CSRF token: the session's for signed-in forms,
//     a double-submit cookie for the sign-in form (which has no session
//     yet). A post whose Origin is another site's is refused as well.
//   - The Content-Security-Policy allows form posts to this origin only,
//     except where a post is answered by a redirect to a client: Chromium
//     checks every redirect after a form post against form-action, so the
//     consent page (and a sign-in page returning to an authorization
//     request) also allows the origin of the client's redirect URI. A
//     client whose redirect URI redirects again to another origin is
//     stopped there by the browser: its redirect URI should be its final
//     page, or at least on the origin it stays on.
//   - The consent page, its decision and the sign-in page honour every
//     caller authorize honours: a grantd API key in "Authorization:
//     Bearer" as well as the session cookie, so that a client following
//     authorize's redirects with its key lands on the consent page. A
//     decision posted with such a key needs no CSRF token: no browser
//     attaches that header on its own.
//   - Failed sign-ins are limited per client address (IPv6 by /64 and
//     /48) and per email, and so are consent tokens that cannot be used;
//     the address is the TCP peer (X-Forwarded-For is not trusted).
//   - Password checks run in a few slots with a bounded queue (gate.go):
//     a flood of sign-ins is answered 503 at once rather than queued
//     without end, and no page but the sign-in form ever waits for a
//     slot.
//   - Unknown emails are checked against a dummy argon2id hash so that they
//     take as long as known ones.
package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grantd/grantd/internal/password"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/token"
)

// Deps are what the pages need.
type Deps struct {
	Provider Engine
	// Logger receives internal errors; nil discards.
	Logger *slog.Logger
	// Secure marks cookies Secure (and names the sign-in CSRF cookie with
	// the __Host- prefix). Set it when the issuer is https.
	Secure bool
	// PasswordParams are the argon2id costs of the hash an unknown email
	// is checked against, so that it takes as long as a known one; they
	// should match what users' passwords are hashed with.
	// password.Default when zero.
	PasswordParams password.Params
	// PasswordChecks bound how many password checks run and wait at once;
	// zero fields take their defaults.
	PasswordChecks PasswordChecks
	// Limits holds the failure limits (sign-in, consent tokens); give the
	// JSON API the same one so that they share the consent token count.
	// In memory on the Provider's clock when nil.
	Limits ratelimit.Limits
	// CrossOrigin judges form posts by Sec-Fetch-Site (net/http's
	// check); give the JSON API the same one. A new one when nil.
	CrossOrigin *http.CrossOriginProtection
	// RateLimited hears of every request a limit refused with 429, by the
	// limit's name (the server's metrics); nil hears nothing.
	RateLimited func(limit string)
}

// handler serves every page.
type handler struct {
	p      Engine
	log    *slog.Logger
	secure bool
	origin string // the issuer: the only origin forms may be posted from

	pages  *pages
	static *static

	dummyHash     func() string // made on the first sign-in that needs it
	verify        func(password, phc string) (bool, error)
	checks        *gate
	signIn        ratelimit.PerAddress // failed sign-ins per address
	signInEmail   ratelimit.Limiter    // failed sign-ins per email
	signInFailed  ratelimit.PerAddress // addresses that failed a sign-in lately
	consentLimit  ratelimit.PerAddress // unusable consent tokens per address
	userCodeLimit ratelimit.PerAddress // unusable device user codes per address
	apiKeyLimit   ratelimit.PerAddress // API keys that are not valid, per address
	mux           *http.ServeMux
	maxFormSize   int64
	crossOrigin   *http.CrossOriginProtection
	rateLimited   func(limit string)
}

// New builds the handler of the pages.
func New(d Deps) (http.Handler, error) {
	if d.Provider == nil {
		return nil, errors.New("web: a Provider is required")
	}
	iss, err := url.Parse(d.Provider.Config().Issuer)
	if err != nil || iss.Scheme == "" || iss.Host == "" {
		return nil, fmt.Errorf("web: issuer %q is not an origin", d.Provider.Config().Issuer)
	}
	st, err := loadStatic()
	if err != nil {
		return nil, err
	}
	pg, err := loadPages(st.version("grantd.css"))
	if err != nil {
		return nil, err
	}
	params := d.PasswordParams
	if params == (password.Params{}) {
		params = password.Default
	}
	limits := d.Limits
	if limits == nil {
		limits = ratelimit.NewMemory(d.Provider.Now, 0)
	}
	checks := d.PasswordChecks.withDefaults()
	crossOrigin := d.CrossOrigin
	if crossOrigin == nil {
		crossOrigin = http.NewCrossOriginProtection()
	}
	h := &handler{
		p:             d.Provider,
		log:           d.Logger,
		secure:        d.Secure,
		origin:        origin(iss),
		pages:         pg,
		static:        st,
		dummyHash:     dummyHash(params),
		verify:        checks.Verify,
		checks:        newGate(checks),
		signIn:        ratelimit.SignIn.Of(limits),
		signInEmail:   ratelimit.SignInAccount.Of(limits),
		signInFailed:  ratelimit.SignInFailed.Of(limits),
		consentLimit:  ratelimit.ConsentToken.Of(limits),
		userCodeLimit: ratelimit.UserCode.Of(limits),
		apiKeyLimit:   ratelimit.APIKey.Of(limits),
		mux:           http.NewServeMux(),
		crossOrigin:   crossOrigin,
		maxFormSize:   64 << 10,
		rateLimited:   d.RateLimited,
	}
	if h.rateLimited == nil {
		h.rateLimited = func(string) {}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.routes()
	return h, nil
}

func (h *handler) now() time.Time { return h.p.Now() }

// ServeHTTP sets the headers every answer carries and dispatches.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp())
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: with no-referrer browsers send
	// "Origin: null" on form posts, which would defeat the Origin check;
	// other origins (a client's redirect URI) still get no Referer, so the
	// consent token in the page's URL never leaves.
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

// routes is every page in one place. Each path has one handler that
// dispatches on the method itself, so that a wrong method gets the 405
// page rather than the mux's plain-text answer.
func (h *handler) routes() {
	h.route("/{$}", methods{"GET": h.home})
	h.route("/login", methods{"GET": h.loginPage, "POST": h.login})
	h.route("/logout", methods{"POST": h.logout})
	h.route("/consent", methods{"GET": h.consentPage, "POST": h.consentDecide})
	h.route("/device", methods{"GET": h.devicePage, "POST": h.deviceSubmit})
	h.route("/apps", methods{"GET": h.appsPage})
	h.route("/apps/{id}/revoke", methods{"POST": h.revokeApp})
	h.route("/developer", methods{"GET": h.developerPage})
	h.route("/developer/new", methods{"GET": h.newClientPage, "POST": h.createClient})
	h.route("/developer/{id}", methods{"GET": h.editClientPage, "POST": h.updateClient})
	h.route("/developer/{id}/delete", methods{"GET": h.deleteClientPage, "POST": h.deleteClient})
	h.route("/static/{file}", methods{"GET": h.serveStatic})
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
	})
}

type methods map[string]http.HandlerFunc

func (h *handler) route(pattern string, ms methods) {
	allow := ""
	for _, m := range []string{"GET", "HEAD", "POST"} {
		if ms[m] != nil || (m == "HEAD" && ms["GET"] != nil) {
			if allow != "" {
				allow += ", "
			}
			allow += m
		}
	}
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		m := r.Method
		if m == "HEAD" {
			m = "GET"
		}
		if f := ms[m]; f != nil {
			f(w, r)
			return
		}
		w.Header().Set("Allow", allow)
		h.fail(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page does not answer "+token.Echo(r.Method)+" requests.")
	})
}

// home sends people where they most likely want to be.
func (h *handler) home(w http.ResponseWriter, r *http.Request) {
	_, ok, err := h.account(r)
	switch {
	case err != nil:
		h.internal(w, r, err)
	case ok:
		http.Redirect(w, r, "/apps", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	}
}

// origin answers the ASCII serialisation of a URL's origin, as browsers
// send it in the Origin header: lower case, without a default port.
func origin(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && !(scheme == "http" && p == "80") && !(scheme == "https" && p == "443") {
		host += ":" + p
	}
	return scheme + "://" + host
}
