package bench

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/ratelimit"
	"github.com/grantd/grantd/internal/testenv"
)

// target is a real grantd, listening on loopback, and an API key of a
// user of its own. Its management limit is one no run reaches, as with
// --self: the run's one key makes every management call.
func target(t *testing.T, o apptest.Options) (base, key string) {
	t.Helper()
	if o.ManagementLimit == (ratelimit.Rate{}) {
		o.ManagementLimit = ratelimit.Rate{Burst: 1 << 30, Every: time.Microsecond}
	}
	s := apptest.New(t, o)
	u := testenv.User(t, s.Store, "bench@example.com", "", s.Clock.Now())
	return s.URL + "/v2", testenv.APIKey(t, s.Store, u.ID, s.Clock.Now())
}

func TestEveryScenario(t *testing.T) {
	// Registration under the api_key policy, as --self serves it: the
	// default catalog holds only admin, which no client without an owner
	// may have.
	base, key := target(t, apptest.Options{Engine: oauth.Config{Registration: oauth.RegistrationAPIKey}})
	for _, name := range Scenarios {
		t.Run(name, func(t *testing.T) {
			rs, err := Run(context.Background(), Config{BaseURL: base, APIKey: key, Connections: 2, Duration: time.Second, Scenarios: []string{name}})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 {
				t.Fatalf("results: %+v", rs)
			}
			r := rs[0]
			if r.Scenario != name || r.Count == 0 || r.Rate <= 0 || r.Errors != 0 || r.P50Ms <= 0 || r.P99Ms < r.P50Ms {
				t.Fatalf("result: %+v", r)
			}
			if r.CeilingRate <= 0 || r.Ratio <= 0 || r.Ratio != r.Rate/r.CeilingRate || r.Ceiling != CeilingProcess {
				t.Fatalf("ceiling: %+v", r)
			}
			if (name == "code_flow") != (r.Unit == "flows") {
				t.Fatalf("unit: %+v", r)
			}
		})
	}
}

// A server that answers introspection with active=false for live tokens
// is wrong: the tool counts every such answer as an error, none as rate.
func TestWrongAnswerIsAnError(t *testing.T) {
	base, key := target(t, apptest.Options{NoOpenAPICheck: true, Front: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/oauth/introspect" {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"active":false}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	rs, err := Run(context.Background(), Config{BaseURL: base, APIKey: key, Connections: 2, Duration: time.Second, Scenarios: []string{"introspection"}})
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.Errors == 0 || r.Count != 0 || r.Rate != 0 || len(r.ErrorSamples) == 0 || !strings.Contains(r.ErrorSamples[0], `"active":false`) {
		t.Fatalf("result: %+v", r)
	}
}

// A token answer missing what strict clients check is an error too.
func TestTokenShapeChecked(t *testing.T) {
	base, key := target(t, apptest.Options{NoOpenAPICheck: true, Front: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/oauth/token" {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Cache-Control", "no-store")
				io.WriteString(w, `{"access_token":"x","token_type":"bearer-ish","expires_in":1800,"scope":"admin"}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	rs, err := Run(context.Background(), Config{BaseURL: base, APIKey: key, Connections: 2, Duration: 300 * time.Millisecond, Scenarios: []string{"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rs[0]; r.Errors == 0 || r.Count != 0 {
		t.Fatalf("result: %+v", r)
	}
}

func TestCheckTarget(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"http://127.0.0.1:8080/v2", "http://[::1]:8080/v2", "http://localhost:8080/v2"} {
		if err := CheckTarget(ctx, u, false); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://192.0.2.1/v2", "http://10.0.0.1:8080/v2", "ftp://127.0.0.1/v2", "::"} {
		if err := CheckTarget(ctx, u, false); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if err := CheckTarget(ctx, "http://192.0.2.1/v2", true); err != nil {
		t.Errorf("--allow-remote: %v", err)
	}
	// Run refuses before it sends anything.
	if _, err := Run(ctx, Config{BaseURL: "http://192.0.2.1/v2", APIKey: "k", Duration: time.Second}); err == nil || !strings.Contains(err.Error(), "--allow-remote") {
		t.Fatalf("remote run: %v", err)
	}
}

func TestConfigRefused(t *testing.T) {
	for _, c := range []Config{
		{BaseURL: "http://127.0.0.1:1/v2"},                                                        // no key
		{BaseURL: "http://127.0.0.1:1/v2", APIKey: "k", Duration: MaxDuration + time.Second},      // past the cap
		{BaseURL: "http://127.0.0.1:1/v2", APIKey: "k", Connections: -1},                          // connections
		{BaseURL: "http://127.0.0.1:1/v2", APIKey: "k", Scenarios: []string{"client_credential"}}, // unknown
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// A server that never answers cannot hold the run: an operation still
// running at the end gets its grace, is then cut off, and counts neither
// as a success nor as an error.
func TestMeasureStopsByItself(t *testing.T) {
	hang := func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}
	done := make(chan Result, 1)
	go func() {
		done <- measure(context.Background(), []op{hang, hang}, 100*time.Millisecond, 100*time.Millisecond)
	}()
	select {
	case r := <-done:
		if r.Count != 0 || r.Errors != 0 {
			t.Fatalf("result: %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("measure did not stop")
	}
}

// Latencies and errors are counted per operation; quantiles come from the
// sorted latencies.
func TestMeasureCounts(t *testing.T) {
	var n int
	flaky := func(ctx context.Context) error {
		n++
		if n%2 == 0 {
			return errors.New("wrong answer")
		}
		return nil
	}
	r := measure(context.Background(), []op{flaky}, 200*time.Millisecond, time.Second)
	if r.Count == 0 || r.Errors == 0 || r.Count+r.Errors != int64(n) || len(r.ErrorSamples) != 1 || r.ErrorSamples[0] != "wrong answer" {
		t.Fatalf("result: %+v after %d calls", r, n)
	}
	if got := quantile([]time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}, 0.5); got != 2 {
		t.Fatalf("p50 = %v", got)
	}
}

// A metadata document without its jwks_uri is an error, not throughput.
func TestMetadataChecked(t *testing.T) {
	base, key := target(t, apptest.Options{NoOpenAPICheck: true, Front: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/.well-known/oauth-authorization-server" {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"issuer":"http://127.0.0.1","token_endpoint":"http://127.0.0.1/v2/oauth/token"}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	rs, err := Run(context.Background(), Config{BaseURL: base, APIKey: key, Connections: 2, Duration: 300 * time.Millisecond, Scenarios: []string{"metadata"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rs[0]; r.Errors == 0 || r.Count != 0 || len(r.ErrorSamples) == 0 || !strings.Contains(r.ErrorSamples[0], "jwks_uri") {
		t.Fatalf("result: %+v", r)
	}
}

// TestSeenChecksEveryNewAnswer: an answer equal to one accepted before is
// accepted by its bytes; any other, even one that differs from it only in
// its status or content type, is checked in full, and a wrong one is an
// error however many right ones came before.
func TestSeenChecksEveryNewAnswer(t *testing.T) {
	var s seen
	full := 0
	check := func(a answer) error {
		full++
		return checkJWKS(a)
	}
	json := http.Header{"Content-Type": {"application/json"}}
	good := answer{status: 200, header: json, body: []byte(`{"keys":[{"kid":"k1","kty":"EC"}]}`)}
	for range 3 {
		if err := s.check(good, check); err != nil {
			t.Fatal(err)
		}
	}
	if full != 1 {
		t.Fatalf("a repeated right answer was checked in full %d times, want once", full)
	}
	for what, a := range map[string]answer{
		"another body":         {status: 200, header: json, body: []byte(`{"keys":[]}`)},
		"another status":       {status: 500, header: json, body: good.body},
		"another content type": {status: 200, header: http.Header{"Content-Type": {"text/html"}}, body: good.body},
	} {
		before := full
		if err := s.check(a, check); err == nil || full != before+1 {
			t.Errorf("%s: err = %v, checked in full %d times; want an error from a full check", what, err, full-before)
		}
	}
}

// TestJWKSWrongAfterRightIsError: a server whose key set turns wrong after
// a while gets an error for every wrong answer, though the right ones
// before were accepted by their bytes.
func TestJWKSWrongAfterRightIsError(t *testing.T) {
	var n atomic.Int64
	base, key := target(t, apptest.Options{NoOpenAPICheck: true, Front: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/oauth/jwks" && n.Add(1) > 50 {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"keys":[{"kid":"","kty":"EC"}]}`)
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	rs, err := Run(context.Background(), Config{BaseURL: base, APIKey: key, Connections: 2, Duration: 300 * time.Millisecond, Scenarios: []string{"jwks"}})
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.Count < 40 || r.Errors == 0 || r.Count+r.Errors < n.Load()-2 || !strings.Contains(r.ErrorSamples[0], "without kid") {
		t.Fatalf("result: %+v after %d answers; want about 50 right ones and an error for each later one", r, n.Load())
	}
}
