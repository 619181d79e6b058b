package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
		if r.Count == 0 || r.Errors != 0 || r.Ratio <= 0 || r.Ceiling != bench.CeilingProcess {
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
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "SCENARIO") || !strings.HasPrefix(lines[1], "list_clients") ||
		lines[2] != "CEILING/S: a trivial net/http handler in a process of its own (--ceiling process)" {
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
		{"--self", "--ceiling", "elsewhere"},
	} {
		if code, _, _ := benchRun(t, nil, args...); code == 0 {
			t.Errorf("%v accepted", args)
		}
	}
}

// --ceiling inprocess rates against the handler inside bench, and says so
// in the JSON and under the table.
func TestBenchCeilingInProcess(t *testing.T) {
	t.Parallel()
	code, out, errOut := benchRun(t, nil, "--self", "--duration", "200ms", "--connections", "2", "--scenarios", "jwks", "--json", "--ceiling", "inprocess")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	var rs []bench.Result
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if len(rs) != 1 || rs[0].Ceiling != bench.CeilingInProcess || rs[0].CeilingRate <= 0 || !strings.Contains(out, `"ceiling": "inprocess"`) {
		t.Fatalf("results: %s", out)
	}
	code, out, errOut = benchRun(t, nil, "--self", "--duration", "200ms", "--connections", "2", "--scenarios", "jwks", "--ceiling", "inprocess")
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(out), "CEILING/S: a trivial net/http handler inside bench's own process (--ceiling inprocess)") {
		t.Fatalf("exit %d; table:\n%s\n%s", code, out, errOut)
	}
}

// ceilingChildren answers the pids of processes running exe bench-ceiling.
func ceilingChildren(t *testing.T, exe string) []int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) >= 2 && args[0] == exe && args[1] == bench.CeilingCommand {
			pids = append(pids, pid)
		}
	}
	return pids
}

// The real binary: grantd bench re-executes itself with the hidden
// bench-ceiling command, rates against it, and leaves no child behind.
func TestBenchCeilingProcessBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds grantd")
	}
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("needs /proc")
	}
	t.Parallel()
	exe := filepath.Join(t.TempDir(), "grantd")
	if b, err := exec.Command("go", "build", "-o", exe, "github.com/grantd/grantd/cmd/grantd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	// The hidden command serves the handler and exits when stdin closes.
	child := exec.Command(exe, bench.CeilingCommand)
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + strings.TrimSpace(line) + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != `{"ok":true}` {
		t.Fatalf("body %q", body)
	}
	stdin.Close()
	if err := child.Wait(); err != nil {
		t.Fatalf("bench-ceiling after its stdin closed: %v", err)
	}
	// bench itself.
	cmd := exec.Command(exe, "bench", "--self", "--duration", "300ms", "--connections", "2", "--scenarios", "jwks", "--json")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut.String())
	}
	var rs []bench.Result
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out.String())
	}
	if len(rs) != 1 || rs[0].Ceiling != bench.CeilingProcess || rs[0].CeilingRate <= 0 || rs[0].Errors != 0 {
		t.Fatalf("results: %s", out.String())
	}
	if pids := ceilingChildren(t, exe); len(pids) > 0 {
		t.Fatalf("ceiling processes remain after the run: %v", pids)
	}
}
