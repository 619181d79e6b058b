package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// serve answers /metrics on the main listener by default, with the
// database's connections and the build.
func TestServeMetricsOnTheMainListener(t *testing.T) {
	t.Parallel()
	base, _, _ := runServe(t, t.TempDir())
	// Two token requests for one unknown client: the cache reads the
	// client from the store, then answers it (not found) from memory or
	// the store again; either way it counts events of the client cache.
	for range 2 {
		resp, err := http.PostForm(base+"/v2/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"00000000-0000-4000-8000-000000000000"}, "client_secret": {"x"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	st, body := get(t, base+"/metrics")
	if st != 200 {
		t.Fatalf("GET /metrics: %d", st)
	}
	for _, want := range []string{`grantd_cache_events_total{cache="client",event="miss"}`, `grantd_db_connections{state="open"}`, `grantd_db_connections{state="max"}`, `grantd_build_info{goversion="go`, `grantd_http_requests_total{code="200",method="GET",route="/healthz"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// --metrics-addr serves /metrics on a listener of its own and takes it
// off the main one; --metrics=false serves it nowhere.
func TestServeMetricsAddr(t *testing.T) {
	t.Parallel()
	base, stdout, _ := runServe(t, t.TempDir(), "--metrics-addr", "127.0.0.1:0")
	m := regexp.MustCompile(`grantd metrics on (http://\S+/metrics)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("serve did not say where the metrics are:\n%s", stdout)
	}
	if st, _ := get(t, base+"/metrics"); st != http.StatusNotFound {
		t.Errorf("main listener /metrics with --metrics-addr: %d, want 404", st)
	}
	get(t, base+"/healthz")
	st, body := get(t, m[1])
	if st != 200 || !strings.Contains(body, `route="/healthz"`) || !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics listener: %d\n%s", st, body)
	}
	if st, _ := get(t, strings.TrimSuffix(m[1], "/metrics")+"/v2/oauth/jwks"); st != http.StatusNotFound {
		t.Errorf("the metrics listener serves the API: %d", st)
	}

	base, _, _ = runServe(t, t.TempDir(), "--metrics=false")
	if st, _ := get(t, base+"/metrics"); st != http.StatusNotFound {
		t.Errorf("/metrics with --metrics=false: %d, want 404", st)
	}
}

// --metrics-addr with --metrics=false cannot be meant.
func TestServeMetricsAddrWithMetricsOff(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"grantd", "serve", "--addr", "127.0.0.1:0", "--database", filepath.Join(t.TempDir(), "g.db"), "--metrics=false", "--metrics-addr", "127.0.0.1:0"},
		env(nil), strings.NewReader(""), &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "--metrics-addr") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
