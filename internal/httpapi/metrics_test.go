package httpapi_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape answers what GET /metrics serves, parsed.
func scrape(t testing.TB, env *testEnv) map[string]*dto.MetricFamily {
	t.Helper()
	rec := env.do(httptest.NewRequest(http.MethodGet, env.URL+"/metrics", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value answers the value of the series of family name with exactly the
// labels given (others may exist), and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// After a token, an introspection, a refresh token's reuse, a
// registration and a 429, each metric has its series with the labels
// the documentation promises, counted by the real engine and limits.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))

	before := scrape(t, env)
	for _, s := range []struct {
		name   string
		labels map[string]string
	}{
		{"grantd_tokens_issued_total", map[string]string{"grant_type": "client_credentials"}},
		{"grantd_tokens_issued_total", map[string]string{"grant_type": "refresh_token"}},
		{"grantd_introspections_total", map[string]string{"result": "active"}},
		{"grantd_introspections_total", map[string]string{"result": "inactive"}},
		{"grantd_rate_limited_total", map[string]string{"limit": "register"}},
		{"grantd_rate_limited_total", map[string]string{"limit": "client-auth"}},
		{"grantd_refresh_reuse_detected_total", nil},
		{"grantd_registrations_total", nil},
	} {
		if v, ok := value(before, s.name, s.labels); !ok || v != 0 {
			t.Errorf("%s%v before any request: %v %v, want a series at 0", s.name, s.labels, v, ok)
		}
	}
	if _, ok := value(before, "grantd_build_info", map[string]string{}); !ok {
		t.Error("no grantd_build_info")
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if before[name] == nil {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}

	// A client_credentials token and an introspection of it.
	u := env.createUser(t, "metrics@example.com")
	conf, secret := env.createClient(t, u, clientSpec{})
	rec := env.postForm(t, "/v2/oauth/token", url.Values{"grant_type": {"client_credentials"}}, conf.ID, secret)
	jwt := tokenOK(t, rec).AccessToken
	if in := introspect(t, env, jwt); in["active"] != true {
		t.Fatalf("introspect: %v", in)
	}
	introspect(t, env, "not-a-token")

	// A refresh token presented after its rotation: reuse.
	f := newCodeFlow(t, env, clientSpec{})
	t0 := tokenOK(t, f.redeem(t, f.code(t)))
	tokenOK(t, f.refresh(t, t0.RefreshToken, nil))
	oauthErr(t, f.refresh(t, t0.RefreshToken, nil), 400, "invalid_grant")

	// Eleven registrations from one address: ten made, the last a 429.
	const addr = "198.51.100.20:4000"
	for i := range 11 {
		rec := registerFrom(env, addr, limitedRegistration)
		if want := http.StatusCreated; i == 10 {
			if rec.Code != http.StatusTooManyRequests {
				t.Fatalf("11th registration: %d, want 429", rec.Code)
			}
		} else if rec.Code != want {
			t.Fatalf("registration %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}

	after := scrape(t, env)
	for _, s := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"grantd_tokens_issued_total", map[string]string{"grant_type": "client_credentials"}, 1},
		{"grantd_tokens_issued_total", map[string]string{"grant_type": "authorization_code"}, 1},
		{"grantd_tokens_issued_total", map[string]string{"grant_type": "refresh_token"}, 1},
		{"grantd_introspections_total", map[string]string{"result": "active"}, 1},
		{"grantd_introspections_total", map[string]string{"result": "inactive"}, 1},
		{"grantd_refresh_reuse_detected_total", nil, 1},
		{"grantd_registrations_total", nil, 10},
		{"grantd_rate_limited_total", map[string]string{"limit": "register"}, 1},
		{"grantd_http_requests_total", map[string]string{"route": "/v2/oauth/token", "method": "POST", "code": "200"}, 3},
		{"grantd_http_requests_total", map[string]string{"route": "/v2/oauth/token", "method": "POST", "code": "400"}, 1},
		{"grantd_http_requests_total", map[string]string{"route": "/v2/oauth/register", "method": "POST", "code": "201"}, 10},
		{"grantd_http_requests_total", map[string]string{"route": "/v2/oauth/register", "method": "POST", "code": "429"}, 1},
		{"grantd_http_requests_total", map[string]string{"route": "/metrics", "method": "GET", "code": "200"}, 1},
		{"grantd_http_request_duration_seconds", map[string]string{"route": "/v2/oauth/introspect", "method": "POST", "code": "200"}, 2},
	} {
		if v, ok := value(after, s.name, s.labels); !ok || v != s.want {
			t.Errorf("%s%v = %v (series %v), want %v", s.name, s.labels, v, ok, s.want)
		}
	}
}

// The route label is the pattern the request matched, never the URL: a
// consent token in the path, or any path made up, adds no series.
func TestMetricsRouteIsThePattern(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	for _, p := range []string{"/v2/oauth/consent/grantd_consent_SECRET1", "/made-up/SECRET2", "/v2/oauth_clients/SECRET3"} {
		env.do(httptest.NewRequest(http.MethodGet, env.URL+p, nil))
	}
	rec := env.do(httptest.NewRequest(http.MethodGet, env.URL+"/metrics", nil))
	if strings.Contains(rec.Body.String(), "SECRET") {
		t.Fatalf("a URL reached the metrics:\n%s", grepLines(rec.Body.String(), "SECRET"))
	}
	fams := scrape(t, env)
	for _, route := range []string{"/v2/oauth/consent/{consent_token}", "unmatched", "/v2/oauth_clients/{id}"} {
		if _, ok := value(fams, "grantd_http_requests_total", map[string]string{"route": route, "method": "GET"}); !ok {
			t.Errorf("no series for route %s", route)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			out = append(out, sc.Text())
		}
	}
	return strings.Join(out, "\n")
}

// Each request's log line carries the authenticated client and the
// trace id of a valid W3C traceparent, and no line carries a secret or a
// token sent in the query, the body or a header.
func TestRequestLogClientAndTrace(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	env := newTestEnv(t, withIssuer(goldenIssuer), withLogger(debugLogger(&logs)))
	u := env.createUser(t, "logs@example.com")
	conf, secret := env.createClient(t, u, clientSpec{})
	key := env.createAPIKey(t, u)

	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := httptest.NewRequest(http.MethodPost, env.URL+"/v2/oauth/token?access_token=grantd_rt_QUERYSECRET", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Traceparent", "00-"+trace+"-00f067aa0ba902b7-01")
	r.Header.Set("X-Api-Key", "grantd_key_HEADERSECRET")
	r.SetBasicAuth(conf.ID, secret)
	rec := env.do(r)
	jwt := tokenOK(t, rec).AccessToken

	// The token in a body and a header, an API key as bearer, and
	// traceparent values that are not valid.
	r = httptest.NewRequest(http.MethodPost, env.URL+"/v2/oauth/introspect", strings.NewReader(url.Values{"token": {jwt}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("Traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01")
	env.do(r)
	for _, tp := range []string{
		"00-" + trace + "-0000000000000000-01", // zero parent
		"ff-" + trace + "-00f067aa0ba902b7-01", // version ff
		"00-" + strings.ToUpper(trace) + "-00f067aa0ba902b7-01",
		"00-" + trace + "-00f067aa0ba902b7-01-extra", // version 00 has no more fields
		"00-" + trace + "-00f067aa0ba902b7",
	} {
		r := httptest.NewRequest(http.MethodGet, env.URL+"/healthz", nil)
		r.Header.Set("Traceparent", tp)
		env.do(r)
	}
	// A later version may add fields.
	r = httptest.NewRequest(http.MethodGet, env.URL+"/readyz", nil)
	r.Header.Set("Traceparent", "01-"+trace+"-00f067aa0ba902b7-01-more")
	env.do(r)

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 8 {
		t.Fatalf("%d request lines, want 8:\n%s", len(lines), logs.String())
	}
	tok := lines[0]
	if tok["route"] != "/v2/oauth/token" || tok["client_id"] != conf.ID || tok["trace_id"] != trace {
		t.Errorf("token request line: %v", tok)
	}
	if _, ok := lines[1]["trace_id"]; ok {
		t.Errorf("all-zero trace id logged: %v", lines[1])
	}
	for _, l := range lines[2:7] {
		if _, ok := l["trace_id"]; ok {
			t.Errorf("invalid traceparent logged: %v", l)
		}
		if _, ok := l["client_id"]; ok {
			t.Errorf("client_id on an unauthenticated request: %v", l)
		}
	}
	if lines[7]["trace_id"] != trace {
		t.Errorf("version 01 traceparent: %v", lines[7])
	}
	for name, s := range map[string]string{"client secret": secret, "access token": jwt, "API key": key, "query secret": "QUERYSECRET", "header secret": "HEADERSECRET"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log carries the %s", name)
		}
	}
}
