package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/grantd/grantd/internal/httpapi"
)

// The OpenAPI check: every exchange a test has with the server New builds
// is held to docs/openapi.yaml (as the server embeds it), and the test
// fails at cleanup with every mismatch.
//
//   - A response must be one the document declares for its operation and
//     status (a `default` covers the error statuses not listed), with the
//     declared content type, headers and body.
//   - A request the server accepted (status below 400) must be one the
//     document accepts: its parameters and body. A refused request is bad
//     input on purpose (the tests send plenty); only its answer is held
//     to the document.
//   - A method or path the document does not have must be answered with
//     an error (400 and up) in one of the two error formats.
//   - The people's pages (httpapi.IsPagePath) are HTML for browsers and
//     outside the document; HEAD and OPTIONS are not checked.
//
// Credentials are not checked against the security schemes: the server
// decides who gets in, and the tests say whether it decided right.

// maxRecorded bounds what is kept of one body: the server reads and
// writes at most a little over 1 MiB.
const maxRecorded = 4 << 20

type openAPIDoc struct {
	doc    *openapi3.T
	router routers.Router
	errors *openapi3.Schema // AnyError: either error format
}

// loadOpenAPI parses the served document once for every test of a binary.
var loadOpenAPI = sync.OnceValues(func() (*openAPIDoc, error) {
	// The authorize endpoint's error pages are HTML: a string, as text/plain.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	// The server's URL is a variable (the issuer); match the path alone.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml: %w", err)
	}
	anyErr := doc.Components.Schemas["AnyError"]
	if anyErr == nil || anyErr.Value == nil {
		return nil, fmt.Errorf("docs/openapi.yaml: no components.schemas.AnyError")
	}
	return &openAPIDoc{doc: doc, router: router, errors: anyErr.Value}, nil
})

// openAPICheck collects the mismatches of one server's exchanges.
type openAPICheck struct {
	d        *openAPIDoc
	mu       sync.Mutex
	problems []string
}

// newOpenAPICheck loads the document (failing the test if it does not
// load) and reports the mismatches at cleanup; register it before the
// listener's Close so that every exchange has ended by then.
func newOpenAPICheck(t testing.TB) *openAPICheck {
	t.Helper()
	d, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	c := &openAPICheck{d: d}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range c.problems {
			t.Errorf("OpenAPI (docs/openapi.yaml): %s", p)
		}
	})
	return c
}

// Problems answers the mismatches seen so far (for the check's own test).
func (c *openAPICheck) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}

func (c *openAPICheck) fail(r *http.Request, status int, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, fmt.Sprintf("%s %s → %d: %s", r.Method, r.URL.Path, status, fmt.Sprintf(format, args...)))
}

// wrap answers next, checking each exchange after it is answered.
func (c *openAPICheck) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || r.Method == http.MethodOptions || isPage(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		seen := r.Clone(r.Context()) // before the handler changes r
		var body *teeBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &teeBody{ReadCloser: r.Body}
			r.Body = body
		}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		var sent []byte
		if body != nil {
			sent = body.buf.Bytes()
		}
		c.check(seen, sent, rec)
	})
}

// isPage reports whether p, as sent or cleaned, is one of the pages.
func isPage(p string) bool {
	return httpapi.IsPagePath(p) || httpapi.IsPagePath(path.Clean("/"+p))
}

func (c *openAPICheck) check(r *http.Request, sent []byte, rec *recorder) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	req := r.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(sent))
	req.ContentLength = int64(len(sent))
	req.Form, req.PostForm = nil, nil
	header := rec.Header().Clone()
	route, params, err := c.d.router.FindRoute(req)
	if err != nil {
		// Not an operation of the document: an error in either format.
		if status < 400 {
			c.fail(r, status, "the document has no such operation (%v), but the server answered it", err)
			return
		}
		if ct := header.Get("Content-Type"); ct != "application/json" {
			c.fail(r, status, "an error of an unknown operation has Content-Type %q, want application/json", ct)
			return
		}
		var v any
		if err := json.Unmarshal(rec.buf.Bytes(), &v); err != nil {
			c.fail(r, status, "an error of an unknown operation is not JSON: %v", err)
			return
		}
		if err := c.d.errors.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			c.fail(r, status, "an error of an unknown operation is in neither error format: %v", err)
		}
		return
	}
	if req.Header.Get("Content-Type") == "" && len(sent) > 0 {
		req.Header.Set("Content-Type", sniffed(route, sent))
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if status < 400 && !refusedByRedirect(status, header) {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			c.fail(r, status, "the server accepted a request the document refuses: %v", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(rec.buf.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.fail(r, status, "the response is not one the document declares: %v", trim(err.Error()))
	}
}

// sniffed is the type the server reads a body without Content-Type as
// (docs/API.md, request bodies): JSON when it starts with "{" (after
// white space) or when the operation takes JSON alone, a form otherwise.
func sniffed(route *routers.Route, body []byte) string {
	const form, js = "application/x-www-form-urlencoded", "application/json"
	rb := route.Operation.RequestBody
	if bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) || rb == nil || rb.Value == nil || rb.Value.Content.Get(form) == nil {
		return js
	}
	return form
}

// refusedByRedirect reports whether a redirect is an authorization error
// sent back to the client (RFC 6749 §4.1.2.1): a refusal, like a 4xx.
func refusedByRedirect(status int, h http.Header) bool {
	if status < 300 || status >= 400 {
		return false
	}
	u, err := url.Parse(h.Get("Location"))
	return err == nil && u.Query().Has("error")
}

func trim(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return strings.TrimSpace(s)
}

// teeBody keeps what the handler reads of the request body.
type teeBody struct {
	io.ReadCloser
	buf bytes.Buffer
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := maxRecorded - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(n, room)])
	}
	return n, err
}

// recorder passes the response through and keeps its status and body.
type recorder struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if room := maxRecorded - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(len(p), room)])
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush through.
func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
