package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/grantd/grantd"
)

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxPrincipal
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID).(string)
	return id
}

// statusWriter remembers the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(st int) {
	if w.status == 0 {
		w.status = st
	}
	w.ResponseWriter.WriteHeader(st)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// handler wraps the routes: request id, access log, panic recovery.
func (s *Server) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), ctxRequestID, id)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic", "request_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.writeInternal(sw, r)
				}
			}
			// Paths and query strings can carry codes and tokens
			// (/v2/oauth/consent/{consent_token}): log the route pattern
			// the request matched, never the URL.
			s.log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("route", routeOf(r)),
				slog.Int("status", sw.status),
				slog.Int("bytes", sw.bytes),
				slog.Duration("duration", s.now().Sub(start)),
			)
		}()
		s.mux.ServeHTTP(sw, r)
	})
}

// writeInternal answers a 500 in the format of the endpoint.
func (s *Server) writeInternal(w http.ResponseWriter, r *http.Request) {
	err := grantd.E(grantd.CodeInternal, "internal error")
	if isProtocolPath(r.URL.Path) {
		s.writeOAuthError(w, r, err)
		return
	}
	s.writeAPIError(w, r, err)
}

// isProtocolPath reports whether the path answers RFC 6749 errors.
func isProtocolPath(p string) bool {
	switch p {
	case "/v2/oauth/token", "/v2/oauth/introspect", "/v2/oauth/revoke", "/v2/oauth/register", "/v2/oauth/jwks":
		return true
	}
	return strings.HasPrefix(p, "/v2/oauth/register/") || strings.HasPrefix(p, "/.well-known/") || strings.HasPrefix(p, "/v2/.well-known/")
}

// debug is a shorthand for debug logs with the request id.
func (s *Server) debug(r *http.Request, msg string, args ...any) {
	s.log.DebugContext(r.Context(), msg, append([]any{"request_id", requestID(r.Context())}, args...)...)
}

// routeOf answers the pattern the request matched, without its method,
// or "unmatched" for the catch-all.
func routeOf(r *http.Request) string {
	p := r.Pattern
	if i := strings.IndexByte(p, ' '); i >= 0 {
		p = p[i+1:]
	}
	if p == "" || p == "/" {
		return "unmatched"
	}
	return p
}
