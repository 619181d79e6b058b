package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

type developerData struct {
	Clients []grantd.Client
	Pager   pager
}

func (h *handler) developerPage(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAccount(w, r)
	if !ok {
		return
	}
	n := pageNumber(r)
	cs, total, err := h.p.ListClients(r.Context(), grantd.ClientFilter{OwnerUserID: a.User.ID}, grantd.Page{Number: n, Size: pageSize})
	if err != nil {
		h.internal(w, r, err)
		return
	}
	v := view{Title: "Your apps", User: &a.User, CSRF: a.Session.CSRFToken, Nav: "developer",
		Data: developerData{Clients: cs, Pager: newPager("/developer", n, total)}}
	if r.URL.Query().Get("deleted") == "1" {
		v.Notice = "App deleted. Its credentials and every grant people gave it are gone."
	}
	h.render(w, r, http.StatusOK, "developer.html", v)
}

// clientForm is the create and edit form, as typed: on a validation
// error it is shown again exactly as it was sent.
type clientForm struct {
	Name         string
	ClientType   string
	Scopes       []string
	GrantTypes   []string
	RedirectURIs string // one per line
	RequirePKCE  bool
	LogoURI      string
	TosURI       string
	PolicyURI    string
	// ExchangeResources are the token_exchange_resources, one per line.
	ExchangeResources string
}

// clientFormData is what the form template shows.
type clientFormData struct {
	Create  bool
	Client  grantd.Client // the client being edited
	Form    clientForm
	Errors  map[string][]string // by field name; "" for the form as a whole
	Catalog []grantd.Scope
}

func readClientForm(r *http.Request) clientForm {
	return clientForm{
		Name:         r.PostFormValue("name"),
		ClientType:   r.PostFormValue("client_type"),
		Scopes:       r.PostForm["allowed_scopes"],
		GrantTypes:   r.PostForm["allowed_grant_types"],
		RedirectURIs: r.PostFormValue("redirect_uris"),
		RequirePKCE:  r.PostFormValue("require_pkce") == "on",
		LogoURI:      strings.TrimSpace(r.PostFormValue("logo_uri")),
		TosURI:       strings.TrimSpace(r.PostFormValue("tos_uri")),
		PolicyURI:    strings.TrimSpace(r.PostFormValue("policy_uri")),

		ExchangeResources: r.PostFormValue("token_exchange_resources"),
	}
}

func formOf(c grantd.Client) clientForm {
	return clientForm{
		Name:         c.Name,
		ClientType:   string(c.Type),
		Scopes:       c.Scopes,
		GrantTypes:   c.GrantTypes,
		RedirectURIs: strings.Join(c.RedirectURIs, "\n"),
		RequirePKCE:  c.RequirePKCE,
		LogoURI:      c.LogoURI,
		TosURI:       c.TosURI,
		PolicyURI:    c.PolicyURI,

		ExchangeResources: strings.Join(c.TokenExchangeResources, "\n"),
	}
}

// redirectLines answers the non-blank lines of the redirect URI box and
// the line number of each, to point at the right line in an error.
func (f clientForm) redirectLines() (uris []string, lines []int) {
	return nonBlankLines(f.RedirectURIs)
}

// nonBlankLines answers the non-blank lines of a text box, trimmed, and
// the line number of each.
func nonBlankLines(text string) (uris []string, lines []int) {
	uris = []string{}
	for i, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			uris = append(uris, l)
			lines = append(lines, i+1)
		}
	}
	return uris, lines
}

// input is the form as the Provider's ClientInput. Every field is present,
// as the form always shows them all: an unticked box or an emptied text
// field means "none". Optional URIs left empty on a create are absent.
func (f clientForm) input(create bool) oauth.ClientInput {
	uris, _ := f.redirectLines()
	exchange, _ := nonBlankLines(f.ExchangeResources)
	scopes, gts := append([]string{}, f.Scopes...), append([]string{}, f.GrantTypes...)
	in := oauth.ClientInput{
		Name:              &f.Name,
		AllowedScopes:     &scopes,
		AllowedGrantTypes: &gts,
		RedirectURIs:      &uris,
		RequirePKCE:       &f.RequirePKCE,
		LogoURI:           &f.LogoURI,
		TosURI:            &f.TosURI,
		PolicyURI:         &f.PolicyURI,

		TokenExchangeResources: &exchange,
	}
	if create {
		if f.ClientType != "" {
			in.ClientType = &f.ClientType
		}
		for _, p := range []**string{&in.LogoURI, &in.TosURI, &in.PolicyURI} {
			if **p == "" {
				*p = nil
			}
		}
	}
	return in
}

// fieldLabels word the Provider's field problems in the labels of the
// form, which is what the person sees.
var fieldLabels = map[string]string{
	"allowed_scopes":      "Scopes",
	"allowed_grant_types": "Grant types",
	"redirect_uris":       "Redirect URIs",
	"client_type":         "Type",
	"logo_uri":            "Logo URL",
	"tos_uri":             "Terms of service URL",
	"policy_uri":          "Privacy policy URL",

	"token_exchange_resources": "Token exchange APIs",
}

// fieldErrors places the Provider's problems next to the form's fields:
// a pointer's first segment is the field's name, and an index into the
// redirect URIs becomes a line number.
func (f clientForm) fieldErrors(fields []grantd.FieldError) map[string][]string {
	_, lines := f.redirectLines()
	_, exchangeLines := nonBlankLines(f.ExchangeResources)
	out := map[string][]string{}
	for _, fe := range fields {
		name, rest, _ := strings.Cut(strings.TrimPrefix(fe.Pointer, "/"), "/")
		detail := fe.Worded(fieldLabels)
		msg := sentence(detail)
		if name == "redirect_uris" && rest != "" {
			if i, err := strconv.Atoi(rest); err == nil && i >= 0 && i < len(lines) {
				msg = "Line " + strconv.Itoa(lines[i]) + ": " + detail + "."
			}
		}
		if name == "token_exchange_resources" && rest != "" {
			if i, err := strconv.Atoi(rest); err == nil && i >= 0 && i < len(exchangeLines) {
				msg = "Line " + strconv.Itoa(exchangeLines[i]) + ": " + detail + "."
			}
		}
		switch name {
		case "name", "client_type", "allowed_scopes", "allowed_grant_types", "redirect_uris", "require_pkce", "logo_uri", "tos_uri", "policy_uri",
			"token_exchange_resources":
		default:
			name = ""
		}
		out[name] = append(out[name], msg)
	}
	return out
}

func (h *handler) renderClientForm(w http.ResponseWriter, r *http.Request, status int, a account, d clientFormData, notice string) {
	d.Catalog = h.p.Catalog().All()
	title := "New app"
	if !d.Create {
		title = d.Client.DisplayName()
	}
	h.render(w, r, status, "client_form.html", view{Title: title, User: &a.User, CSRF: a.Session.CSRFToken, Nav: "developer", Notice: notice, Data: d})
}

func (h *handler) newClientPage(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAccount(w, r)
	if !ok {
		return
	}
	// A web app signing people in is the common case.
	f := clientForm{
		ClientType:  string(grantd.ClientConfidential),
		GrantTypes:  []string{grantd.GrantAuthorizationCode, grantd.GrantRefreshToken},
		RequirePKCE: true,
	}
	h.renderClientForm(w, r, http.StatusOK, a, clientFormData{Create: true, Form: f}, "")
}

type createdData struct {
	Client grantd.Client
	Secret string
}

func (h *handler) createClient(w http.ResponseWriter, r *http.Request) {
	a, ok := h.post(w, r)
	if !ok {
		return
	}
	f := readClientForm(r)
	c, secret, err := h.p.CreateClient(r.Context(), a.User, f.input(true))
	var ge *grantd.Error
	if errors.As(err, &ge) && ge.Code == grantd.CodeValidation {
		h.renderClientForm(w, r, http.StatusUnprocessableEntity, a, clientFormData{Create: true, Form: f, Errors: f.fieldErrors(ge.Fields)}, "")
		return
	}
	if err != nil {
		h.failErr(w, r, err, errorData{})
		return
	}
	// The secret is shown in this answer and nowhere else: only its hash
	// is kept. Reloading would post the form again and make another app,
	// which the page warns about by saying where the app now lives.
	h.render(w, r, http.StatusCreated, "client_created.html", view{
		Title: "App created", User: &a.User, CSRF: a.Session.CSRFToken, Nav: "developer",
		Data: createdData{Client: c, Secret: secret},
	})
}

// ownClient answers the client of the path, or answers the not-found page.
func (h *handler) ownClient(w http.ResponseWriter, r *http.Request, a account) (grantd.Client, bool) {
	c, err := h.p.OwnClient(r.Context(), a.User.ID, r.PathValue("id"))
	if err != nil {
		h.failErr(w, r, err, errorData{Message: "You have no app with this client ID.", Link: "/developer", LinkText: "Back to your apps"})
		return c, false
	}
	return c, true
}

func (h *handler) editClientPage(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAccount(w, r)
	if !ok {
		return
	}
	c, ok := h.ownClient(w, r, a)
	if !ok {
		return
	}
	notice := ""
	if r.URL.Query().Get("saved") == "1" {
		notice = "Changes saved."
	}
	h.renderClientForm(w, r, http.StatusOK, a, clientFormData{Client: c, Form: formOf(c)}, notice)
}

func (h *handler) updateClient(w http.ResponseWriter, r *http.Request) {
	a, ok := h.post(w, r)
	if !ok {
		return
	}
	c, ok := h.ownClient(w, r, a)
	if !ok {
		return
	}
	f := readClientForm(r)
	f.ClientType = string(c.Type) // cannot change; the form does not send it
	_, err := h.p.UpdateClient(r.Context(), a.User.ID, c.ID, f.input(false))
	var ge *grantd.Error
	if errors.As(err, &ge) && ge.Code == grantd.CodeValidation {
		h.renderClientForm(w, r, http.StatusUnprocessableEntity, a, clientFormData{Client: c, Form: f, Errors: f.fieldErrors(ge.Fields)}, "")
		return
	}
	if err != nil {
		h.failErr(w, r, err, errorData{Link: "/developer", LinkText: "Back to your apps"})
		return
	}
	http.Redirect(w, r, "/developer/"+url.PathEscape(c.ID)+"?saved=1", http.StatusSeeOther)
}

func (h *handler) deleteClientPage(w http.ResponseWriter, r *http.Request) {
	a, ok := h.requireAccount(w, r)
	if !ok {
		return
	}
	c, ok := h.ownClient(w, r, a)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, "client_delete.html", view{Title: "Delete " + c.DisplayName(), User: &a.User, CSRF: a.Session.CSRFToken, Nav: "developer", Data: c})
}

func (h *handler) deleteClient(w http.ResponseWriter, r *http.Request) {
	a, ok := h.post(w, r)
	if !ok {
		return
	}
	if err := h.p.DeleteClient(r.Context(), a.User.ID, r.PathValue("id")); err != nil {
		h.failErr(w, r, err, errorData{Message: "You have no app with this client ID.", Link: "/developer", LinkText: "Back to your apps"})
		return
	}
	http.Redirect(w, r, "/developer?deleted=1", http.StatusSeeOther)
}
