package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/httperr"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages are the parsed templates, one set per page, each with the layout.
type pages struct {
	t          map[string]*template.Template
	cssVersion string
}

var funcs = template.FuncMap{
	"has": func(list []string, s string) bool { return slices.Contains(list, s) },
	"date": func(t time.Time) string {
		return t.UTC().Format("2 Jan 2006")
	},
	"datetime": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"initial":  initial,
}

func loadPages(cssVersion string) (*pages, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{t: map[string]*template.Template{}, cssVersion: cssVersion}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", base, err)
		}
		p.t[base] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title      string
	User       *grantd.User // nil on pages for people not signed in
	CSRF       string
	CSSVersion string
	Nav        string // the current section: "apps" or "developer"
	Notice     string // a success message at the top of the page
	Data       any
}

// render answers a page. formAction lists the origins, besides this one,
// that a form on the page may end up at: Chromium applies the CSP
// form-action directive to every redirect that follows a form post, so
// the consent page must allow the client's redirect URI.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v view, formAction ...string) {
	t, ok := h.pages.t[name]
	if !ok {
		h.internal(w, r, fmt.Errorf("web: no template %s", name))
		return
	}
	v.CSSVersion = h.pages.cssVersion
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.internal(w, r, fmt.Errorf("web: render %s: %w", name, err))
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp(formAction...))
	hd.Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry CSRF tokens, consent tokens and once a client secret;
	// none of it belongs in a cache or the back-forward history of a
	// shared computer.
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// csp is the Content-Security-Policy of every answer. No inline script or
// style is allowed; logos may come from any https origin.
func csp(formAction ...string) string {
	fa := "'self'"
	for _, s := range formAction {
		if s != "" {
			fa += " " + s
		}
	}
	return "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; " +
		"object-src 'none'; base-uri 'none'; form-action " + fa + "; frame-ancestors 'none'"
}

type errorData struct {
	Heading  string
	Message  string
	Hint     string
	Link     string
	LinkText string
}

// fail answers an error page.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	h.failWith(w, r, status, errorData{Heading: heading, Message: message})
}

func (h *handler) failWith(w http.ResponseWriter, r *http.Request, status int, d errorData) {
	if d.Link == "" {
		d.Link, d.LinkText = "/", "Go to the start page"
	}
	h.render(w, r, status, "error.html", view{Title: d.Heading, Data: d})
}

// retryAfterUnavailable is the Retry-After of a 503 page, in seconds: as
// the API's (internal/httpapi), about one database deadline.
const retryAfterUnavailable = "5"

// internal answers a 500 page and logs the cause, which the page never
// shows; a database that cannot answer now (the cause wraps
// grantd.ErrUnavailable) gets a 503 page with Retry-After instead.
func (h *handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	if grantd.ErrorCode(err) == grantd.CodeTemporarilyUnavailable {
		h.log.ErrorContext(r.Context(), "web page unavailable", "method", r.Method, "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", retryAfterUnavailable)
		h.failWith(w, r, http.StatusServiceUnavailable, errorData{
			Heading: "Temporarily unavailable",
			Message: "The server cannot answer this request right now. Try again in a moment.",
		})
		return
	}
	h.log.ErrorContext(r.Context(), "web page failed", "method", r.Method, "path", r.URL.Path, "error", err)
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusInternalServerError)
	if t, ok := h.pages.t["error.html"]; ok {
		d := errorData{Heading: "Something went wrong", Message: "The server could not answer this request. Try again in a moment.", Link: "/", LinkText: "Go to the start page"}
		if t.ExecuteTemplate(w, "layout", view{Title: d.Heading, CSSVersion: h.pages.cssVersion, Data: d}) == nil {
			return
		}
	}
	_, _ = w.Write([]byte("internal error\n"))
}

// failErr answers the page for an error from the Provider: its
// description is written for the person in front of the page; internal
// errors are logged and shown as a generic 500.
func (h *handler) failErr(w http.ResponseWriter, r *http.Request, err error, d errorData) {
	e := grantd.AsError(err)
	st := httperr.Of(e.Code).Page
	if st >= 500 {
		h.internal(w, r, err)
		return
	}
	h.log.DebugContext(r.Context(), "web request rejected", "path", r.URL.Path, "code", string(e.Code), "description", e.Description)
	if d.Heading == "" {
		d.Heading = headingOf(st)
	}
	if d.Message == "" {
		d.Message = sentence(e.Description)
		if len(e.Fields) > 0 { // "validation failed" says less than the field's problem
			d.Message = sentence(e.Fields[0].Detail)
		}
	}
	h.failWith(w, r, st, d)
}

func headingOf(status int) string {
	switch status {
	case http.StatusNotFound:
		return "Not found"
	case http.StatusForbidden:
		return "Not allowed"
	case http.StatusUnprocessableEntity:
		return "This request cannot be used"
	case http.StatusTooManyRequests:
		return "Too many attempts"
	default:
		return "Something is wrong with this request"
	}
}

// sentence capitalises a description and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// initial is the letter shown in place of a missing logo.
func initial(name string) string {
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return string(unicode.ToUpper(r))
		}
	}
	return "?"
}
