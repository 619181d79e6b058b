// Package httpapi serves grantd's HTTP API: the OAuth protocol endpoints,
// the management API and the discovery documents. It renders every error
// in the format of its endpoint from one table (internal/httperr); its
// HTML error pages are rendered by the pages (ErrorPages).
package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
)

// Server holds the dependencies of every handler.
type Server struct {
	oauth   Engine
	cfg     oauth.Config
	log     *slog.Logger
	now     func() time.Time
	mux     *http.ServeMux
	web     http.Handler
	limits  limits
	handler http.Handler // the middleware and the guard around mux, built once
	ready   *readiness
	table   []Route // what routes registered, for Routes

	// limitsFrom makes limits (WithLimits); managementRate is the rate of
	// the management limit (WithManagementLimit).
	limitsFrom     ratelimit.Limits
	managementRate ratelimit.Rate

	crossOrigin *http.CrossOriginProtection // judges requests whose credential is the session cookie
	errorPages  ErrorPages                  // renders the HTML error pages; nil answers them as JSON
	corsOrigins []string                    // origins allowed to call the management API (WithCORSOrigins)
	obs         Observer                    // hears of every answer and every 429 of a limit (WithObserver)
	metrics     http.Handler                // serves GET /metrics when set (WithMetrics)
}

// Observer hears of every request the API answers and of every request
// a rate limit refused (the server's metrics). Its methods must be cheap
// and safe for concurrent use.
type Observer interface {
	// Request: a request matched route (its pattern, never the URL;
	// "unmatched" for none) with method (one HTTP defines, or "other")
	// and was answered code after d.
	Request(route, method string, code int, d time.Duration)
	// RateLimited: the limit named limit refused a request with 429.
	RateLimited(limit string)
}

type noObserver struct{}

func (noObserver) Request(string, string, int, time.Duration) {}
func (noObserver) RateLimited(string)                         {}

// WithObserver makes the server tell o of every answer and every refusal
// by a limit.
func WithObserver(o Observer) Option {
	return func(s *Server) {
		if o != nil {
			s.obs = o
		}
	}
}

// WithMetrics serves h (the Prometheus exposition) at GET /metrics.
func WithMetrics(h http.Handler) Option {
	return func(s *Server) { s.metrics = h }
}

// NewServer builds the handler of the whole API around the protocol
// engine. web, when not nil, serves the people-facing pages (sign-in,
// consent, connected apps); log may be nil. Failure limits are in memory
// on the engine's clock unless an option says otherwise.
func NewServer(p Engine, web http.Handler, log *slog.Logger, opts ...Option) *Server {
	s := &Server{
		oauth: p,
		cfg:   p.Config(),
		log:   log,
		now:   p.Now,
		mux:   http.NewServeMux(),
		web:   web,
		obs:   noObserver{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.limitsFrom == nil {
		s.limitsFrom = ratelimit.NewMemory(p.Now, 0)
	}
	if s.managementRate.Burst <= 0 || s.managementRate.Every <= 0 {
		s.managementRate = ratelimit.Management.Rate
	}
	s.limits = newLimits(s.limitsFrom, s.managementRate)
	if s.crossOrigin == nil {
		s.crossOrigin = http.NewCrossOriginProtection()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ready = &readiness{store: p, now: s.now}
	s.routes()
	s.handler = s.middleware(s.guard(s.mux))
	return s
}

// ServeHTTP runs the middleware chain around the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}
