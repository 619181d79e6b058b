// Package bench is grantd's load tool (`grantd bench`): it runs each
// scenario closed loop, with a fixed number of connections for a fixed
// time, against a grantd at a base URL, checks every answer, and compares
// the rate with that of a trivial net/http handler on 127.0.0.1, measured
// right before each scenario with the same connections and duration (the
// ceiling: what this machine's HTTP stack does when the server does
// nothing). The handler runs in a child process of its own by default
// (ceiling.go), as the server under test does.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// MaxDuration is the hard cap of one scenario's measurement: a run always
// stops by itself.
const MaxDuration = 10 * time.Minute

// requestTimeout bounds every request, so that a server that stops
// answering cannot hold a connection past the run.
const requestTimeout = 10 * time.Second

// Scenarios are the scenarios' names, in the order they run.
var Scenarios = []string{"client_credentials", "introspection", "refresh", "code_flow", "jwks", "metadata", "list_clients", "registration"}

// Config is one run.
type Config struct {
	// BaseURL is the API base, including /v2.
	BaseURL string
	// APIKey seeds users' clients and drives the consent API.
	APIKey string
	// Connections is the number of closed-loop connections (16 if 0).
	Connections int
	// Duration is how long each scenario (and each ceiling) runs (10s if 0).
	Duration time.Duration
	// Scenarios to run; every one when empty.
	Scenarios []string
	// AllowRemote allows a base URL that is not on a loopback address.
	AllowRemote bool
	// Ceiling is where the trivial handler runs: CeilingProcess (the
	// default when empty), a child process of its own, as the server under
	// test is; or CeilingInProcess, inside the load tool.
	Ceiling string
	// Progress, when set, receives a line per phase.
	Progress io.Writer
}

// Result is one scenario's row.
type Result struct {
	Scenario string  `json:"scenario"`
	Unit     string  `json:"unit"` // "requests" or "flows"
	Count    int64   `json:"count"`
	Errors   int64   `json:"errors"`
	Seconds  float64 `json:"seconds"`
	Rate     float64 `json:"rate_per_second"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	// CeilingRate is the trivial handler's rate, measured just before.
	CeilingRate float64 `json:"ceiling_rate_per_second"`
	// Ratio is Rate / CeilingRate.
	Ratio float64 `json:"ratio"`
	// Ceiling is where the trivial handler ran: "process" or "inprocess".
	Ceiling string `json:"ceiling"`
	// ErrorSamples are the first few distinct errors.
	ErrorSamples []string `json:"error_samples,omitempty"`
}

// op is one closed-loop step of one connection: a request, or a flow of
// several; it answers an error for anything but the right answer.
type op func(ctx context.Context) error

// scenario seeds what it needs and answers one op per connection, and a
// cleanup (may be nil).
type scenario struct {
	unit  string
	setup func(ctx context.Context, e *env, conns int) ([]op, func(), error)
}

var scenarios = map[string]scenario{
	"client_credentials": {"requests", setupClientCredentials},
	"introspection":      {"requests", setupIntrospection},
	"refresh":            {"requests", setupRefresh},
	"code_flow":          {"flows", setupCodeFlow},
	"jwks":               {"requests", setupJWKS},
	"metadata":           {"requests", setupMetadata},
	"list_clients":       {"requests", setupListClients},
	"registration":       {"requests", setupRegistration},
}

func (c *Config) defaults() error {
	if c.Connections == 0 {
		c.Connections = 16
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Connections < 1 || c.Connections > 1024 {
		return fmt.Errorf("--connections %d: use 1 to 1024", c.Connections)
	}
	if c.Duration < 100*time.Millisecond || c.Duration > MaxDuration {
		return fmt.Errorf("--duration %s: use 100ms to %s", c.Duration, MaxDuration)
	}
	if c.Ceiling == "" {
		c.Ceiling = CeilingProcess
	}
	if c.Ceiling != CeilingProcess && c.Ceiling != CeilingInProcess {
		return fmt.Errorf("--ceiling %q: use %s or %s", c.Ceiling, CeilingProcess, CeilingInProcess)
	}
	if len(c.Scenarios) == 0 {
		c.Scenarios = Scenarios
	}
	for _, s := range c.Scenarios {
		if _, ok := scenarios[s]; !ok {
			return fmt.Errorf("--scenarios: unknown scenario %q; known: %s", s, strings.Join(Scenarios, ","))
		}
	}
	if c.APIKey == "" {
		return errors.New("an API key is needed to seed clients and consent (--api-key, GRANTD_API_KEY, or the bootstrap key file)")
	}
	return nil
}

// CheckTarget refuses a base URL that is not http(s) on a loopback
// address, unless remote targets are allowed: a load test is not
// something to point at somebody else's server by mistake.
func CheckTarget(ctx context.Context, base string, allowRemote bool) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--base-url %q: want an http(s) URL such as http://127.0.0.1:8080/v2", base)
	}
	if allowRemote {
		return nil
	}
	host := u.Hostname()
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return fmt.Errorf("--base-url %q: %v", base, err)
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("--base-url %q is not a loopback address (%s); give --allow-remote to load a remote server", base, ip)
		}
	}
	if len(ips) == 0 {
		return fmt.Errorf("--base-url %q: the host has no address", base)
	}
	return nil
}

// Run runs the scenarios one after the other, each after its ceiling.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := CheckTarget(ctx, cfg.BaseURL, cfg.AllowRemote); err != nil {
		return nil, err
	}
	ceiling, stop, err := startCeiling(ctx, cfg.Ceiling)
	if err != nil {
		return nil, err
	}
	defer stop()
	var out []Result
	for _, name := range cfg.Scenarios {
		cfg.progress("%s: ceiling", name)
		cr, err := measureCeiling(ctx, ceiling, cfg.Connections, cfg.Duration)
		if err != nil {
			return out, err
		}
		cfg.progress("%s: seeding", name)
		r, err := runScenario(ctx, cfg, name)
		if err != nil {
			return out, fmt.Errorf("%s: %w", name, err)
		}
		r.CeilingRate, r.Ceiling = cr.Rate, cfg.Ceiling
		if cr.Rate > 0 {
			r.Ratio = r.Rate / cr.Rate
		}
		cfg.progress("%s: %.0f/s, %d errors (ceiling %.0f/s)", name, r.Rate, r.Errors, cr.Rate)
		out = append(out, r)
	}
	return out, nil
}

func (c *Config) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// newTransport is the one tuned transport of a scenario: as many idle
// connections kept per host as the run has connections.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

func runScenario(ctx context.Context, cfg Config, name string) (Result, error) {
	sc := scenarios[name]
	tr := newTransport(cfg.Connections)
	defer tr.CloseIdleConnections()
	e := &env{
		base:   strings.TrimSuffix(cfg.BaseURL, "/"),
		apiKey: cfg.APIKey,
		http: &http.Client{Transport: tr, Timeout: requestTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	if err := e.discover(ctx); err != nil {
		return Result{}, err
	}
	ops, cleanup, err := sc.setup(ctx, e, cfg.Connections)
	if cleanup != nil {
		defer cleanup()
	}
	if err != nil {
		return Result{}, fmt.Errorf("seeding: %w", err)
	}
	r := measure(ctx, ops, cfg.Duration, requestTimeout)
	r.Scenario, r.Unit = name, sc.unit
	return r, nil
}

// measure runs every op in its own goroutine, closed loop, for d, and
// answers what they did. An op still running at the end gets grace to
// finish; one cancelled then is not counted at all.
func measure(ctx context.Context, ops []op, d, grace time.Duration) Result {
	start := time.Now()
	end := start.Add(d)
	runCtx, cancel := context.WithDeadline(ctx, end.Add(grace))
	defer cancel()
	type conn struct {
		lat     []time.Duration
		errs    int64
		samples []string
	}
	conns := make([]conn, len(ops))
	var wg sync.WaitGroup
	for i, o := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &conns[i]
			for time.Now().Before(end) && runCtx.Err() == nil {
				t0 := time.Now()
				err := o(runCtx)
				if runCtx.Err() != nil {
					return // cut off by the cap: neither a success nor an error
				}
				if err != nil {
					c.errs++
					if len(c.samples) < 3 {
						c.samples = append(c.samples, err.Error())
					}
					continue
				}
				c.lat = append(c.lat, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var r Result
	var all []time.Duration
	seen := map[string]bool{}
	for _, c := range conns {
		all = append(all, c.lat...)
		r.Errors += c.errs
		for _, s := range c.samples {
			if !seen[s] && len(r.ErrorSamples) < 5 {
				seen[s] = true
				r.ErrorSamples = append(r.ErrorSamples, s)
			}
		}
	}
	slices.Sort(all)
	r.Count = int64(len(all))
	r.Seconds = elapsed.Seconds()
	r.Rate = float64(r.Count) / r.Seconds
	r.P50Ms = quantile(all, 0.50)
	r.P99Ms = quantile(all, 0.99)
	return r
}

// quantile answers the q quantile of sorted latencies in milliseconds.
func quantile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return float64(sorted[i]) / float64(time.Millisecond)
}

// measureCeiling measures the trivial handler as a scenario is measured.
func measureCeiling(ctx context.Context, u string, conns int, d time.Duration) (Result, error) {
	tr := newTransport(conns)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: requestTimeout}
	ops := make([]op, conns)
	for i := range ops {
		ops[i] = func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return err
			}
			res, err := hc.Do(req)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 || string(b) != ceilingBody {
				return fmt.Errorf("ceiling: %d %q %v", res.StatusCode, b, err)
			}
			return nil
		}
	}
	r := measure(ctx, ops, d, requestTimeout)
	if r.Errors > 0 {
		return r, fmt.Errorf("the trivial handler failed %d times: %v", r.Errors, r.ErrorSamples)
	}
	return r, nil
}
