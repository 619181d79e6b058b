package web

import (
	"fmt"
	"net/http"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
)

// deviceData is what the device page shows: the form for the user code
// a device displays (RFC 8628 §3.3), or the outcome of a decision.
type deviceData struct {
	UserCode string
	Error    string
	Result   string // "approved" or "denied" after a decision
}

// devicePage serves GET /device: the form, filled in from
// verification_uri_complete's user_code, which the person still submits
// (RFC 8628 §5.4: a link alone must not approve). A caller with a Bearer
// API key, which no browser sends on its own, goes straight on to the
// consent, as at authorize. After a decision it says what was decided.
func (h *handler) devicePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch res := q.Get("result"); res {
	case "approved", "denied":
		h.render(w, r, http.StatusOK, "device.html", view{Title: "Device sign-in", Data: deviceData{Result: res}})
		return
	}
	a, ok := h.requireCaller(w, r)
	if !ok {
		return
	}
	code := q.Get("user_code")
	if a.Bearer && code != "" {
		h.deviceConsent(w, r, a, code)
		return
	}
	h.renderDevice(w, r, http.StatusOK, a, deviceData{UserCode: code})
}

// deviceSubmit serves POST /device: the user code entered.
func (h *handler) deviceSubmit(w http.ResponseWriter, r *http.Request) {
	a, ok := h.postAsCaller(w, r)
	if !ok {
		return
	}
	h.deviceConsent(w, r, a, r.PostFormValue("user_code"))
}

// deviceConsent sends the caller on to the consent page for the device
// authorization of the user code. A code that cannot be used counts
// against the address's budget (ratelimit.UserCode): user codes are
// short, so guessing them is limited hard.
func (h *handler) deviceConsent(w http.ResponseWriter, r *http.Request, a account, code string) {
	addr := ratelimit.AddressOf(r)
	if d := h.userCodeLimit.Peek(r.Context(), addr); !d.Allowed {
		d.SetHeaders(w.Header())
		h.rateLimited(ratelimit.UserCode.Name)
		h.failWith(w, r, http.StatusTooManyRequests, errorData{
			Heading: "Too many attempts",
			Message: fmt.Sprintf("Too many codes that are not valid came from your network. Wait %d seconds and try again.", d.RetrySeconds()),
			Link:    "/device", LinkText: "Enter a code",
		})
		return
	}
	uri, err := h.p.DeviceConsent(r.Context(), a.User.ID, code)
	if err != nil {
		if !oauth.IsBadUserCode(err) {
			h.failErr(w, r, err, errorData{})
			return
		}
		h.userCodeLimit.Take(r.Context(), addr)
		h.renderDevice(w, r, http.StatusBadRequest, a, deviceData{UserCode: code, Error: sentence(grantd.AsError(err).Description)})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, uri, http.StatusSeeOther)
}

func (h *handler) renderDevice(w http.ResponseWriter, r *http.Request, status int, a account, d deviceData) {
	h.render(w, r, status, "device.html", view{Title: "Sign in a device", User: &a.User, CSRF: a.Session.CSRFToken, Data: d}, cspSource(h.p.Config().ConsentURL))
}
