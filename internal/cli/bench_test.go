package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grantd/grantd/internal/bench"
)

// benchRun runs `grantd bench` with args and the environment m.
func benchRun(t *testing.T, m map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), append([]string{"grantd", "bench"}, args...), env(m), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestBenchSelf(t *testing.T) {
	t.Parallel()
	code, out, errOut := benchRun(t, nil, "--self", "--duration", "300ms", "--connections", "2", "--scenarios", "client_credentials,code_flow", "--json")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	var rs []bench.Result
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if len(rs) != 2 || rs[0].Scenario != "client_credentials" || rs[1].Scenario != "code_flow" {
		t.Fatalf("results: %+v", rs)
	}
	for _, r := range rs {
		if r.Count == 0 || r.Errors != 0 || r.Ratio <= 0 {
			t.Fatalf("result: %+v", r)
		}
	}
}

// Without --api-key or GRANTD_API_KEY, bench uses the bootstrap key
// serve wrote beside the database GRANTD_DATABASE names, and prints a table.
func TestBenchBootstrapKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The run's one API key makes every management call: a server to
	// load sets a management limit above what the run sends.
	base, _, stop := runServe(t, dir, "--management-rate-limit", benchManagementLimit)
	defer stop()
	code, out, errOut := benchRun(t, map[string]string{"GRANTD_DATABASE": filepath.Join(dir, "grantd.db")},
		"--base-url", base+"/v2", "--duration", "300ms", "--connections", "2", "--scenarios", "list_clients")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "SCENARIO") || !strings.HasPrefix(lines[1], "list_clients") {
		t.Fatalf("table:\n%s", out)
	}
	// No key at all: refused before any load.
	code, _, errOut = benchRun(t, map[string]string{"GRANTD_DATABASE": filepath.Join(t.TempDir(), "grantd.db")},
		"--base-url", base+"/v2", "--duration", "300ms", "--scenarios", "jwks")
	if code == 0 || !strings.Contains(errOut, "API key") {
		t.Fatalf("no key: exit %d; %s", code, errOut)
	}
}

// Errors make the command fail, so that a CI smoke run can rely on it:
// here a server whose JWKS is empty.
func TestBenchFailsOnErrors(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(nil)
	defer ts.Close()
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v2/.well-known/oauth-authorization-server":
			fmt.Fprintf(w, `{"issuer":%q}`, ts.URL)
		case "/v2/oauth/jwks":
			fmt.Fprint(w, `{"keys":[]}`)
		default:
			http.NotFound(w, r)
		}
	})
	code, _, errOut := benchRun(t, nil, "--base-url", ts.URL+"/v2", "--api-key", "k", "--duration", "300ms", "--connections", "2", "--scenarios", "jwks")
	if code != 1 || !strings.Contains(errOut, "1 of 1 scenarios had errors") || !strings.Contains(errOut, "no keys") {
		t.Fatalf("exit %d; %s", code, errOut)
	}
}

// A key the server does not know stops the run at seeding.
func TestBenchWrongKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, _, stop := runServe(t, dir)
	defer stop()
	code, _, errOut := benchRun(t, nil, "--base-url", base+"/v2", "--api-key", "grantd_key_wrong", "--duration", "300ms", "--connections", "2", "--scenarios", "list_clients")
	if code == 0 || !strings.Contains(errOut, "seeding") {
		t.Fatalf("a wrong key: exit %d; %s", code, errOut)
	}
}

func TestBenchFlagsRefused(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--self-database", "x.db"},
		{"--base-url", "http://192.0.2.1/v2", "--api-key", "k"},
		{"--self", "--scenarios", "nope"},
		{"--self", "--duration", "11m"},
	} {
		if code, _, _ := benchRun(t, nil, args...); code == 0 {
			t.Errorf("%v accepted", args)
		}
	}
}
