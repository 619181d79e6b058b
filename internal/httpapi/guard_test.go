package httpapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/httpapi"
)

// fakePages stands in for internal/web: it marks what reached it.
var fakePages = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Pages", "1")
	w.WriteHeader(http.StatusTeapot)
})

// wantFamily checks an error answer's status and that it is in the format
// of the family: "oauth" (RFC 6749 JSON), "api" (the Telnyx envelope) or
// "page" (HTML).
func wantFamily(t testing.TB, what string, res *http.Response, body string, status int, family string) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %s", what, res.StatusCode, status, body)
	}
	if loc := res.Header.Get("Location"); loc != "" {
		t.Fatalf("%s: redirected to %s", what, loc)
	}
	ct := res.Header.Get("Content-Type")
	switch family {
	case "oauth":
		if ct != "application/json" || !strings.HasPrefix(body, `{"error":"invalid_request"`) {
			t.Fatalf("%s: %q %s, want RFC 6749 JSON", what, ct, body)
		}
	case "api":
		if ct != "application/json" || !strings.HasPrefix(body, `{"errors":[{"code":"10`) {
			t.Fatalf("%s: %q %s, want the Telnyx envelope", what, ct, body)
		}
	case "page":
		if ct != "text/html; charset=utf-8" || !strings.Contains(body, "<!doctype html>") || res.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("%s: %q %s, want an HTML page", what, ct, body)
		}
	}
}

// TestDotSegmentsAre404s is issue 7 item 7's last gap: a path with dot
// segments or an empty segment, plain or percent-encoded, was answered
// by the ServeMux with a 307 to its cleaned form (which a client follows
// with its body and credentials). It is a 404 in the format of the family
// the path names, and reaches no handler.
func TestDotSegmentsAre404s(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer), withPages(fakePages))
	for _, tc := range []struct {
		method, path, family string
	}{
		{"POST", "/v2/./oauth/token", "oauth"},
		{"POST", "/v2/oauth/./token", "oauth"},
		{"POST", "/v2/oauth/token/.", "oauth"},
		{"POST", "//v2/oauth/token", "oauth"},
		{"POST", "/v2//oauth/introspect", "oauth"},
		{"POST", "/v2/%2e/oauth/token", "oauth"},
		{"POST", "/v2/%2E%2e/v2/oauth/revoke", "oauth"},
		{"GET", "/v2/.%2E/.well-known/oauth-authorization-server", "oauth"},
		{"GET", "/v2/oauth/../oauth_clients", "api"},
		{"DELETE", "/v2/oauth_grants/../oauth_grants/x", "api"},
		{"GET", "/v2/oauth_clients/./x", "api"},
		{"GET", "/v2/x/../oauth/authorize", "api"},
		{"GET", "/./", "page"},
		{"GET", "/apps/../login", "page"},
		{"POST", "/developer/%2e%2e/logout", "page"},
		{"GET", "//static/grantd.css", "page"},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader("grant_type=client_credentials"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := env.do(r)
		wantFamily(t, tc.method+" "+tc.path, rec.Result(), rec.Body.String(), http.StatusNotFound, tc.family)
		if rec.Header().Get("X-Pages") != "" {
			t.Errorf("%s %s reached the pages", tc.method, tc.path)
		}
	}
	// Canonical paths are untouched: a trailing slash is not a dot
	// segment, and a page's path reaches the pages.
	for path, want := range map[string]int{"/v2/oauth_clients/": 404, "/login": http.StatusTeapot, "/apps/x": http.StatusTeapot, "/v2/oauth/jwks": 200} {
		if rec := env.do(httptest.NewRequest("GET", path, nil)); rec.Code != want {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, want)
		}
	}
}

// TestHugeHeadersAnswerInTheFamilysFormat: headers past MaxHeaderBytes
// (a cookie or Authorization header stuffed to 70 KiB) were answered by
// net/http itself in plain text. Served as grantd serves (http.Server's
// MaxHeaderBytes at ServerMaxHeaderBytes), they get 431 in the format of
// the path's family. Past ServerMaxHeaderBytes net/http still answers
// first, in plain text: the limit the documentation states.
func TestHugeHeadersAnswerInTheFamilysFormat(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer), withPages(fakePages))
	ts := httptest.NewUnstartedServer(env.Server)
	ts.Config.MaxHeaderBytes = httpapi.ServerMaxHeaderBytes
	ts.Start()
	t.Cleanup(ts.Close)

	send := func(method, path string, headerSize int) (*http.Response, string) {
		t.Helper()
		conn, err := net.DialTimeout("tcp", ts.Listener.Addr().String(), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		go func() {
			// Written from its own goroutine: the server may answer, and
			// stop reading, before the headers end.
			fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: grantd.test\r\nX-Filler: %s\r\nContent-Length: 0\r\n\r\n", method, path, strings.Repeat("a", headerSize))
		}()
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	for _, tc := range []struct{ method, path, family string }{
		{"POST", "/v2/oauth/token", "oauth"},
		{"POST", "/v2/oauth/register", "oauth"},
		{"GET", "/v2/oauth_clients", "api"},
		{"GET", "/v2/oauth/consent/x", "api"},
		{"GET", "/login", "page"},
		{"GET", "/apps/../login", "page"},
	} {
		res, body := send(tc.method, tc.path, httpapi.MaxHeaderBytes+12<<10)
		wantFamily(t, tc.method+" "+tc.path, res, body, http.StatusRequestHeaderFieldsTooLarge, tc.family)
	}
	// Just under the limit is served.
	if res, body := send("GET", "/v2/oauth/jwks", httpapi.MaxHeaderBytes-1<<10); res.StatusCode != 200 {
		t.Errorf("headers under the limit: %d %s", res.StatusCode, body)
	}
	// What net/http answers itself, before any handler.
	if res, _ := send("GET", "/v2/oauth/jwks", httpapi.ServerMaxHeaderBytes+16<<10); res.StatusCode != http.StatusRequestHeaderFieldsTooLarge || strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Errorf("past ServerMaxHeaderBytes: %d %q, want net/http's own plain-text 431", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
