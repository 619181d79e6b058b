package metrics_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v4"

	"github.com/grantd/grantd/internal/metrics"
)

// every records one of each metric, so that every family has a series to
// gather (a vector without one is not gathered).
func every(m *metrics.Metrics) {
	m.Request("/healthz", "GET", 200, time.Millisecond)
	m.TokenIssued("client_credentials")
	m.Introspected(true)
	m.RefreshReused()
	m.Registered()
	m.RateLimited("register")
	m.CacheEvent("clients", "hit")
	m.BackgroundRun("gc")
	m.SetDBStats(func() metrics.ConnStats { return metrics.ConnStats{InUse: 1, Idle: 2, Max: 4} })
}

// names answers every series name the registry exposes: each family's,
// and a histogram's _bucket, _sum and _count.
func names(t *testing.T, m *metrics.Metrics) []string {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fams {
		out = append(out, f.GetName())
		if f.GetType() == dto.MetricType_HISTOGRAM {
			out = append(out, f.GetName()+"_bucket", f.GetName()+"_sum", f.GetName()+"_count")
		}
	}
	return out
}

// Every grantd_ metric the alerting rules name is one the server
// exports, and every rule has a name, an expression and a summary.
func TestAlertsNameExportedMetrics(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../deploy/prometheus-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert       string
				Expr        string
				For         string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("deploy/prometheus-alerts.yml: %v", err)
	}
	m := metrics.New(metrics.Options{})
	every(m)
	exported := names(t, m)
	metric := regexp.MustCompile(`\bgrantd_[a-z_]+`)
	n := 0
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || strings.TrimSpace(r.Expr) == "" || r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("rule %+v: needs alert, expr, a severity and a summary", r)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			for _, name := range metric.FindAllString(r.Expr, -1) {
				if !slices.Contains(exported, name) {
					t.Errorf("%s names %s, which grantd does not export", r.Alert, name)
				}
			}
		}
	}
	if n < 5 {
		t.Errorf("%d rules, want several", n)
	}
}

// Each metric the server promises is in the registry, with its labels.
func TestEveryMetricRegistered(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Options{GrantTypes: []string{"refresh_token"}, Limits: []string{"signin"}})
	every(m)
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string][]string{}
	for _, f := range fams {
		for _, mm := range f.GetMetric() {
			for _, l := range mm.GetLabel() {
				if !slices.Contains(labels[f.GetName()], l.GetName()) {
					labels[f.GetName()] = append(labels[f.GetName()], l.GetName())
				}
			}
		}
		if _, ok := labels[f.GetName()]; !ok {
			labels[f.GetName()] = nil
		}
	}
	for name, want := range map[string][]string{
		metrics.HTTPRequests:         {"code", "method", "route"},
		metrics.HTTPRequestDuration:  {"code", "method", "route"},
		metrics.TokensIssued:         {"grant_type"},
		metrics.Introspections:       {"result"},
		metrics.RefreshReuseDetected: nil,
		metrics.Registrations:        nil,
		metrics.RateLimited:          {"limit"},
		metrics.CacheEvents:          {"cache", "event"},
		metrics.BackgroundRuns:       {"job"},
		metrics.DBConnections:        {"state"},
		metrics.BuildInfo:            {"goversion", "version"},
	} {
		got, ok := labels[name]
		slices.Sort(got)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("%s: labels %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_start_time_seconds"} {
		if _, ok := labels[name]; !ok {
			t.Errorf("no %s: Go and process collectors", name)
		}
	}
}

// A nil *Metrics records nothing and does not panic: callers need not
// check.
func TestNilMetrics(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	every(m)
}

// Two servers in one process (tests, or two App values) each have their
// own registry: building a second does not panic on a duplicate.
func TestRegistriesAreTheServers(t *testing.T) {
	t.Parallel()
	a, b := metrics.New(metrics.Options{}), metrics.New(metrics.Options{})
	a.RefreshReused()
	fa, _ := a.Registry().Gather()
	fb, _ := b.Registry().Gather()
	get := func(fs []*dto.MetricFamily) float64 {
		for _, f := range fs {
			if f.GetName() == metrics.RefreshReuseDetected {
				return f.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return -1
	}
	if get(fa) != 1 || get(fb) != 0 {
		t.Errorf("counts %v and %v, want 1 and 0", get(fa), get(fb))
	}
}

// BenchmarkRequest is what the middleware adds to every request: a
// counter and a histogram observation of one label set.
func BenchmarkRequest(b *testing.B) {
	m := metrics.New(metrics.Options{})
	b.ReportAllocs()
	for b.Loop() {
		m.Request("/v2/oauth/token", "POST", 200, 3*time.Millisecond)
	}
}
