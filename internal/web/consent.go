package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
)

type consentData struct {
	App   oauth.ConsentView
	Logo  string // https only: the page's CSP would block anything else
	Token string
	// Host is where the browser goes after the decision, shown
	// prominently: a look-alike app name cannot fake it.
	Host string
	// Where explains Host for redirect URIs that are not a web site.
	Where string
	// Granted is what the app can do already and New what this request
	// adds, set only for a step-up request: one that asks for more than
	// the person's grant holds. Otherwise the page lists App.RequestedScopes.
	Granted, New []grantd.Scope
	// Identity is the host of a metadata-document client's client_id:
	// the one part of its identity that grantd checked (the document
	// was fetched from there). Empty for other clients.
	Identity string
	// DeviceOnly is set for a metadata-document client whose every
	// redirect URI is on the person's own device (loopback or a
	// private-use scheme): any app there may use the client_id, so
	// Identity does not vouch for where the answer goes.
	DeviceOnly bool
}

// newConsentData answers what the consent page shows about cv.
func newConsentData(cv oauth.ConsentView, tok string) consentData {
	d := consentData{App: cv, Logo: httpsLogo(cv.LogoURI), Token: tok}
	d.Host, d.Where = redirectHost(cv.RedirectURI)
	if len(cv.GrantedScopes) > 0 {
		held := make(map[string]bool, len(cv.GrantedScopes))
		for _, s := range cv.GrantedScopes {
			held[s.ID] = true
		}
		for _, s := range cv.RequestedScopes {
			if !held[s.ID] {
				d.New = append(d.New, s)
			}
		}
		if len(d.New) > 0 {
			d.Granted = cv.GrantedScopes
		}
	}
	if cv.Origin == grantd.OriginMetadataDocument {
		d.Identity, _ = redirectHost(cv.ClientID)
		d.DeviceOnly = len(cv.RedirectURIs) > 0
		for _, uri := range cv.RedirectURIs {
			if _, where := redirectHost(uri); where == "" {
				d.DeviceOnly = false
			}
		}
	}
	return d
}

// consentHint is said on every page about a consent request that cannot
// be used: the person can only start again from the app.
const consentHint = "Go back to the app you were signing in to and start again."

func (h *handler) consentPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("consent_token")
	if tok == "" {
		h.failWith(w, r, http.StatusBadRequest, errorData{
			Heading: "Nothing to approve",
			Message: "This page shows a request from an app to use your account, and this address does not name one.",
			Hint:    consentHint,
		})
		return
	}
	a, ok := h.requireCaller(w, r)
	if !ok {
		return
	}
	addr := ratelimit.AddressOf(r)
	if d := h.consentLimit.Peek(r.Context(), addr); !d.Allowed {
		h.tooManyConsents(w, r, d)
		return
	}
	cv, err := h.p.ConsentDetails(r.Context(), a.User.ID, tok)
	if err != nil {
		h.consentFailed(r, addr, err)
		h.failErr(w, r, err, errorData{Heading: "This request can no longer be used", Hint: consentHint})
		return
	}
	d := newConsentData(cv, tok)
	h.render(w, r, http.StatusOK, "consent.html", view{
		Title: "Allow " + cv.Name + "?",
		User:  &a.User,
		CSRF:  a.Session.CSRFToken,
		Data:  d,
	}, cspSource(cv.RedirectURI))
}

func (h *handler) consentDecide(w http.ResponseWriter, r *http.Request) {
	a, ok := h.postAsCaller(w, r)
	if !ok {
		return
	}
	var allowed bool
	switch r.PostFormValue("allowed") {
	case "true":
		allowed = true
	case "false":
	default:
		h.fail(w, r, http.StatusBadRequest, "No decision", "Choose Allow or Deny.")
		return
	}
	addr := ratelimit.AddressOf(r)
	if d := h.consentLimit.Peek(r.Context(), addr); !d.Allowed {
		h.tooManyConsents(w, r, d)
		return
	}
	uri, err := h.p.Decide(r.Context(), a.User.ID, r.PostFormValue("consent_token"), allowed)
	if err != nil {
		h.consentFailed(r, addr, err)
		h.failErr(w, r, err, errorData{Heading: "This request can no longer be used", Hint: consentHint})
		return
	}
	// The URI carries an authorization code.
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, uri, http.StatusSeeOther)
}

// consentFailed counts a consent token that could not be used against the
// address's budget, which the consent API shares (ratelimit.ConsentToken).
func (h *handler) consentFailed(r *http.Request, addr ratelimit.Address, err error) {
	if oauth.IsBadConsentToken(err) {
		h.consentLimit.Take(r.Context(), addr)
	}
}

// tooManyConsents answers a consent request refused by the limit: this
// address has presented too many consent tokens that could not be used.
func (h *handler) tooManyConsents(w http.ResponseWriter, r *http.Request, d ratelimit.Decision) {
	d.SetHeaders(w.Header())
	h.rateLimited(ratelimit.ConsentToken.Name)
	h.failWith(w, r, http.StatusTooManyRequests, errorData{
		Heading: "Too many attempts",
		Message: fmt.Sprintf("Too many requests from your network named an app request that cannot be used. Wait %d seconds and try again.", d.RetrySeconds()),
		Hint:    consentHint,
	})
}

// httpsLogo answers a client's logo URI if a page may show it: the
// pages' CSP allows images from https origins only.
func httpsLogo(uri string) string {
	if u, err := url.Parse(uri); err == nil && u.Scheme == "https" && u.Host != "" {
		return uri
	}
	return ""
}

// redirectHost answers how to name where a redirect URI goes: its host
// (with a port only when it is not the default), and for an app on the
// person's own device, a note saying so.
func redirectHost(raw string) (host, where string) {
	u, err := url.Parse(raw)
	if err != nil {
		return raw, ""
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "http":
		host = u.Host
		if p := u.Port(); (p == "443" && u.Scheme == "https") || (p == "80" && u.Scheme == "http") {
			host = u.Hostname()
		}
		if oauth.IsLoopbackHost(u.Hostname()) {
			where = "an app running on this device"
		}
		return host, where
	default:
		return u.Scheme, "an app installed on this device"
	}
}
