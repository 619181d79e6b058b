package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/grantd/grantd"
)

// pageSize is the length of every list on the pages.
const pageSize = 20

type appRow struct {
	GrantID  string
	Name     string
	Logo     string
	Verified bool
	Scopes   []grantd.Scope
	Created  time.Time
	LastUsed *time.Time
	// The clients the app made in the person's account through its
	// tokens, which removing access deletes: a few names and how many.
	Made      []string
	MadeTotal int
	MadeMore  int
}

// madeShown is how many of the clients an app made are named on its row.
const madeShown = 3

type appsData struct {
	Apps  []appRow
	Pager pager
}

// pager links the pages of a list.
type pager struct {
	Number, Pages int
	Prev, Next    string
}

func newPager(path string, n, total int) pager {
	p := pager{Number: n, Pages: max(1, (total+pageSize-1)/pageSize)}
	if n > 1 {
		p.Prev = path + "?page=" + strconv.Itoa(min(n-1, p.Pages))
	}
	if n < p.Pages {
		p.Next = path + "?page=" + strconv.Itoa(n+1)
	}
	return p
}

// pageNumber reads ?page=; anything but a plausible number is page 1, as
// a list page is not worth an error page.
func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 || n > 100_000 {
		return 1
	}
	return n
}

func (h *handler) appsPage(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAccount(w, r)
	if !ok {
		return
	}
	n := pageNumber(r)
	grants, total, err := h.p.ListGrants(r.Context(), a.User.ID, grantd.Page{Number: n, Size: pageSize})
	if err != nil {
		h.failErr(w, r, err, errorData{})
		return
	}
	d := appsData{Pager: newPager("/apps", n, total)}
	cat := h.p.Catalog()
	for _, g := range grants {
		row := appRow{GrantID: g.ID, Name: g.ClientID, Scopes: cat.Describe(g.Scopes), Created: g.CreatedAt, LastUsed: g.LastUsedAt}
		c, err := h.p.Client(r.Context(), g.ClientID)
		switch {
		case err == nil:
			row.Name, row.Verified, row.Logo = c.DisplayName(), c.Verified, httpsLogo(c.LogoURI)
		case !errors.Is(err, grantd.ErrNotFound): // deleted meanwhile: still worth revoking
			h.internal(w, r, err)
			return
		}
		made, total, err := h.p.ClientsMadeThrough(r.Context(), a.User.ID, g.ID, madeShown)
		if err != nil {
			h.failErr(w, r, err, errorData{})
			return
		}
		for _, m := range made {
			row.Made = append(row.Made, m.DisplayName())
		}
		row.MadeTotal, row.MadeMore = total, total-len(made)
		d.Apps = append(d.Apps, row)
	}
	v := view{Title: "Connected apps", User: &a.User, CSRF: a.Session.CSRFToken, Nav: "apps", Data: d}
	if r.URL.Query().Get("revoked") == "1" {
		v.Notice = "Access removed. The app can no longer use your account."
	}
	h.render(w, r, http.StatusOK, "apps.html", v)
}

func (h *handler) revokeApp(w http.ResponseWriter, r *http.Request) {
	a, ok := h.post(w, r)
	if !ok {
		return
	}
	if _, err := h.p.RevokeGrant(r.Context(), a.User.ID, r.PathValue("id")); err != nil {
		h.failErr(w, r, err, errorData{Link: "/apps", LinkText: "Back to connected apps"})
		return
	}
	http.Redirect(w, r, "/apps?revoked=1", http.StatusSeeOther)
}
