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
	ctxLogInfo
)

// logInfo is what handlers learn about a request that its access log
// line carries: the client the request authenticated as, once it has.
// The middleware puts one in the context; handlers fill it in.
type logInfo struct {
	clientID string
}

// setLogClient records the authenticated client of the request for its
// access log line. Call it only once the client is authenticated: a
// client_id a request merely presents is not logged.
func setLogClient(r *http.Request, clientID string) {
	if li, ok := r.Context().Value(ctxLogInfo).(*logInfo); ok && clientID != "" {
		li.clientID = clientID
	}
}

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

// middleware wraps next: request id, access log, panic recovery.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		li := &logInfo{}
		ctx := context.WithValue(context.WithValue(r.Context(), ctxRequestID, id), ctxLogInfo, li)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic", "request_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.writeError(sw, r, grantd.E(grantd.CodeServerError, "internal error"))
				}
			}
			// Paths and query strings can carry codes and tokens
			// (/v2/oauth/consent/{consent_token}): log the route pattern
			// the request matched, never the URL.
			// The status of a handler that wrote nothing is net/http's 200.
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			method, route, took := methodOf(r), routeOf(r), s.now().Sub(start)
			attrs := make([]slog.Attr, 0, 8)
			attrs = append(attrs,
				slog.String("request_id", id),
				slog.String("method", method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Int("bytes", sw.bytes),
				slog.Duration("duration", took),
			)
			if li.clientID != "" {
				attrs = append(attrs, slog.String("client_id", li.clientID))
			}
			if tid, ok := traceID(r.Header.Get("Traceparent")); ok {
				attrs = append(attrs, slog.String("trace_id", tid))
			}
			s.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
			s.obs.Request(route, method, status, took)
		}()
		next.ServeHTTP(sw, r)
	})
}

// methodOf answers the request's method for the access log: a method is
// any token the client likes, so one HTTP does not define is logged as
// "other", never as sent.
func methodOf(r *http.Request) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return r.Method
	}
	return "other"
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

// traceID answers the trace id of a W3C Trace Context traceparent header
// (version-traceid-parentid-flags, lowercase hex), or false for a value
// that is not one: a wrong length or character, version ff, or an
// all-zero trace or parent id. A version after 00 may carry more fields
// after the flags, which are ignored, as the recommendation asks.
func traceID(h string) (string, bool) {
	const n = 2 + 1 + 32 + 1 + 16 + 1 + 2
	if len(h) < n || h[2] != '-' || h[35] != '-' || h[52] != '-' {
		return "", false
	}
	if len(h) > n && (h[:2] == "00" || h[n] != '-') {
		return "", false
	}
	version, trace, parent, flags := h[:2], h[3:35], h[36:52], h[53:55]
	if !lowerHex(version) || !lowerHex(trace) || !lowerHex(parent) || !lowerHex(flags) || version == "ff" {
		return "", false
	}
	if strings.Trim(trace, "0") == "" || strings.Trim(parent, "0") == "" {
		return "", false
	}
	return trace, true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
