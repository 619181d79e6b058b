// Package metrics holds every Prometheus metric grantd exports, in a
// registry of the server's own (never the process-wide default one), and
// the methods the rest of the server records them with. The engine and
// the adapters do not import it: they call small observer interfaces or
// funcs that *Metrics satisfies, wired by internal/app.
package metrics

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names, for the documentation, the alerting rules and their test.
const (
	HTTPRequests         = "grantd_http_requests_total"
	HTTPRequestDuration  = "grantd_http_request_duration_seconds"
	TokensIssued         = "grantd_tokens_issued_total"
	Introspections       = "grantd_introspections_total"
	RefreshReuseDetected = "grantd_refresh_reuse_detected_total"
	Registrations        = "grantd_registrations_total"
	RateLimited          = "grantd_rate_limited_total"
	CacheEvents          = "grantd_cache_events_total"
	BackgroundRuns       = "grantd_background_runs_total"
	DBConnections        = "grantd_db_connections"
	BuildInfo            = "grantd_build_info"
)

// Introspection results (the result label of grantd_introspections_total).
const (
	IntrospectionActive   = "active"
	IntrospectionInactive = "inactive"
)

// Metrics is every metric of one server and the registry that exports
// them. A nil *Metrics records nothing, so that a caller need not check.
type Metrics struct {
	reg *prometheus.Registry

	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	tokens       *prometheus.CounterVec
	introspect   *prometheus.CounterVec
	reuse        prometheus.Counter
	registration prometheus.Counter
	limited      *prometheus.CounterVec
	cache        *prometheus.CounterVec
	background   *prometheus.CounterVec

	mu      sync.Mutex
	dbStats func() ConnStats
}

// ConnStats are a database pool's connections at one moment.
type ConnStats struct {
	InUse, Idle int
	// Max is the most the pool may open; 0 when unbounded or unknown.
	Max int
}

// Options name the label values known in advance, so that each of their
// series exists, at 0, from the first scrape (a rate over a series that
// appears with its first event misses that event).
type Options struct {
	GrantTypes []string // grant_type of grantd_tokens_issued_total
	Limits     []string // limit of grantd_rate_limited_total
	Jobs       []string // job of grantd_background_runs_total
}

// New builds the metrics in a registry of their own, with the Go runtime
// and process collectors.
func New(o Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: HTTPRequests,
		Help: "HTTP requests answered, by route pattern (never the raw URL), method and status code.",
	}, []string{"route", "method", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    HTTPRequestDuration,
		Help:    "Time to answer an HTTP request, by route pattern, method and status code.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "code"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: TokensIssued,
		Help: "Token responses issued by the token endpoint, by grant type.",
	}, []string{"grant_type"})
	m.introspect = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: Introspections,
		Help: "Introspection answers, by result (active or inactive).",
	}, []string{"result"})
	m.reuse = prometheus.NewCounter(prometheus.CounterOpts{
		Name: RefreshReuseDetected,
		Help: "Rotated-out refresh tokens presented again (reuse): each revoked every token under its grant.",
	})
	m.registration = prometheus.NewCounter(prometheus.CounterOpts{
		Name: Registrations,
		Help: "Clients registered through dynamic client registration (RFC 7591).",
	})
	m.limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: RateLimited,
		Help: "Requests refused with 429 by a rate limit, by the limit's name.",
	}, []string{"limit"})
	m.cache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: CacheEvents,
		Help: "Cache events (hit, miss, invalidation, ...), by cache and event.",
	}, []string{"cache", "event"})
	m.background = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: BackgroundRuns,
		Help: "Runs of background jobs, by job.",
	}, []string{"job"})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: BuildInfo,
		Help: "Always 1; the labels name the build of grantd serving.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(Version(), runtime.Version()).Set(1)

	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.tokens, m.introspect, m.reuse, m.registration,
		m.limited, m.cache, m.background, build, dbCollector{m},
	)
	for _, g := range o.GrantTypes {
		m.tokens.WithLabelValues(g)
	}
	m.introspect.WithLabelValues(IntrospectionActive)
	m.introspect.WithLabelValues(IntrospectionInactive)
	for _, l := range o.Limits {
		m.limited.WithLabelValues(l)
	}
	for _, j := range o.Jobs {
		m.background.WithLabelValues(j)
	}
	return m
}

// Version answers the module version grantd was built as, "(devel)" for
// a build from a checkout, "unknown" without build information.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" {
		return "unknown"
	}
	return bi.Main.Version
}

// Registry answers the registry the metrics are in (tests gather it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler answers the /metrics handler of the registry, in the text or
// the protobuf exposition format as the scraper asks.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request records one answered HTTP request. route is the pattern the
// request matched ("unmatched" for none), method one HTTP defines or
// "other".
func (m *Metrics) Request(route, method string, code int, d time.Duration) {
	if m == nil {
		return
	}
	c := strconv.Itoa(code)
	m.requests.WithLabelValues(route, method, c).Inc()
	m.duration.WithLabelValues(route, method, c).Observe(d.Seconds())
}

// TokenIssued records a token response of the token endpoint.
func (m *Metrics) TokenIssued(grantType string) {
	if m == nil {
		return
	}
	m.tokens.WithLabelValues(grantType).Inc()
}

// Introspected records an introspection answer: active or not.
func (m *Metrics) Introspected(active bool) {
	if m == nil {
		return
	}
	r := IntrospectionInactive
	if active {
		r = IntrospectionActive
	}
	m.introspect.WithLabelValues(r).Inc()
}

// RefreshReused records a refresh token reuse that revoked a grant's
// tokens.
func (m *Metrics) RefreshReused() {
	if m == nil {
		return
	}
	m.reuse.Inc()
}

// Registered records a client registered through RFC 7591.
func (m *Metrics) Registered() {
	if m == nil {
		return
	}
	m.registration.Inc()
}

// RateLimited records a request a limit refused with 429.
func (m *Metrics) RateLimited(limit string) {
	if m == nil {
		return
	}
	m.limited.WithLabelValues(limit).Inc()
}

// CacheEvent records an event of a cache (hit, miss, ...).
func (m *Metrics) CacheEvent(cache, event string) {
	if m == nil {
		return
	}
	m.cache.WithLabelValues(cache, event).Inc()
}

// BackgroundRun records one run of a background job.
func (m *Metrics) BackgroundRun(job string) {
	if m == nil {
		return
	}
	m.background.WithLabelValues(job).Inc()
}

// SetDBStats makes every scrape read the database pool's connections
// from f; without it grantd_db_connections has no series.
func (m *Metrics) SetDBStats(f func() ConnStats) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.dbStats = f
	m.mu.Unlock()
}

// dbCollector reads the pool's connections at each scrape.
type dbCollector struct{ m *Metrics }

var dbDesc = prometheus.NewDesc(DBConnections,
	"Database connections at the scrape, by state: in_use, idle, open (in use and idle) and max (the pool's bound; 0 when unbounded).",
	[]string{"state"}, nil)

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) { ch <- dbDesc }

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	f := c.m.dbStats
	c.m.mu.Unlock()
	if f == nil {
		return
	}
	s := f()
	for _, v := range []struct {
		state string
		n     int
	}{{"in_use", s.InUse}, {"idle", s.Idle}, {"open", s.InUse + s.Idle}, {"max", s.Max}} {
		ch <- prometheus.MustNewConstMetric(dbDesc, prometheus.GaugeValue, float64(v.n), v.state)
	}
}
