package web

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/grantd/grantd"
)

//go:embed authorize_error.html
var bareErrorHTML string

// bareErrorPage is the error page of the answers the JSON API gives on
// the pages' behalf (the authorization endpoint's errors that cannot go
// back to the client, and a page's path refused before routing): a page
// of its own, without the layout, since nobody is signed in to it.
var bareErrorPage = template.Must(template.New("authorize_error").Parse(bareErrorHTML))

type bareErrorView struct {
	Title, Detail, Hint string
}

// ErrorPages renders the pages the JSON API answers with where a person
// is in front of the browser. The API sets the headers that belong to
// it (a challenge on a 401, Retry-After, the limits) before calling.
type ErrorPages struct{}

// Authorize answers an error of the authorization endpoint that cannot be
// redirected to the client, with status st (the one table's).
func (ErrorPages) Authorize(w http.ResponseWriter, st int, e *grantd.Error) {
	v := bareErrorView{Detail: e.Description}
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
		if len(e.Fields) > 0 && e.Fields[0].Pointer == "redirect_uri" {
			v.Title = "Invalid redirect URI"
		}
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
	writeBare(w, st, v)
}

// Path answers a request for a page's path that the pages never see
// (headers too large, a path with dot segments), with status st.
func (ErrorPages) Path(w http.ResponseWriter, st int) {
	v := bareErrorView{Title: http.StatusText(st), Detail: "The request could not be read."}
	switch st {
	case http.StatusNotFound:
		v.Title, v.Detail = "Page not found", "There is no page at this address."
	case http.StatusRequestHeaderFieldsTooLarge:
		v.Title, v.Detail = "Request too large", "The request's headers are too large. Clearing this site's cookies may help."
	}
	writeBare(w, st, v)
}

func writeBare(w http.ResponseWriter, st int, v bareErrorView) {
	var buf bytes.Buffer
	if err := bareErrorPage.Execute(&buf, v); err != nil {
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>Error.</p>")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	w.WriteHeader(st)
	_, _ = w.Write(buf.Bytes())
}
