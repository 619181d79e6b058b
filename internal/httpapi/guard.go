package httpapi

import (
	"net/http"
	"path"
	"strings"

	"github.com/grantd/grantd"
)

// MaxHeaderBytes is the most a request's line and headers may take: past
// it, 431 in the format of the path's family.
const MaxHeaderBytes = 64 << 10

// ServerMaxHeaderBytes is what the http.Server serving this handler must
// be given as its MaxHeaderBytes. It is larger than MaxHeaderBytes so that
// a request a little past the limit still reaches the handler, which
// answers it in the path's own format; past this one (and net/http's own
// 4 KiB of slack) net/http answers a plain-text 431 before any handler
// runs, as it answers a request it cannot parse with a plain-text 400.
const ServerMaxHeaderBytes = MaxHeaderBytes + 16<<10

// guard refuses, before routing, what the ServeMux would otherwise
// answer in its own way: headers past MaxHeaderBytes, and a path that is
// not canonical, which the ServeMux redirects (307) to its cleaned form
// rather than serving. An API path is not a page: a client that sent
// /v2/./oauth/token, /v2/oauth/../oauth_clients, //v2/… or %2e segments
// gets a 404 in the format of the path's family, never a redirect that
// would carry its request (and a 307 its body and credentials) to
// another path.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerBytes(r) > MaxHeaderBytes {
			s.writePathError(w, r, path.Clean("/"+r.URL.Path), grantd.E(grantd.CodeHeadersTooLarge, "the request's headers are larger than 64 KiB"))
			return
		}
		if !canonicalPath(r.URL.EscapedPath()) {
			s.writePathError(w, r, path.Clean(r.URL.Path), grantd.E(grantd.CodeNotFound, "no such endpoint"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// headerBytes answers the size of the request line and headers as sent,
// near enough: net/http's own limit counts the same bytes.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 // two spaces, CRLF
	n += len("Host: ") + len(r.Host) + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + 2
		}
	}
	return n
}

// canonicalPath reports whether an escaped path has no empty segment
// (but a trailing slash) and no dot segment, percent-encoded or not
// (RFC 3986 §6.2.2.2 makes %2e a dot). Anything that is not an
// origin-form path ("*", an empty path) is left to the ServeMux.
func canonicalPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return true
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		switch strings.ReplaceAll(strings.ToLower(seg), "%2e", ".") {
		case ".", "..":
			return false
		case "":
			if i < len(segs)-1 {
				return false
			}
		}
	}
	return true
}
