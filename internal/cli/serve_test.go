package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine to write
// while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(m map[string]string) Env { return func(k string) string { return m[k] } }

// runServe starts the real program (`grantd serve` on port 0) in the
// background and answers its base URL, its stdout and a stop function
// that shuts it down and answers its exit code.
func runServe(t *testing.T, dir string, extra ...string) (base string, stdout *syncBuffer, stop func() int) {
	t.Helper()
	base, stdout, _, stop = runServeLogs(t, dir, extra...)
	return base, stdout, stop
}

// runServeLogs is runServe that also answers the server's stderr, its
// log.
func runServeLogs(t *testing.T, dir string, extra ...string) (base string, stdout, stderr *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	args := append([]string{"grantd", "serve", "--addr", "127.0.0.1:0", "--database", filepath.Join(dir, "grantd.db")}, extra...)
	done := make(chan int, 1)
	go func() { done <- Run(ctx, args, env(nil), strings.NewReader(""), stdout, stderr) }()
	re := regexp.MustCompile(`grantd listening on (\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			base = "http://" + m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before listening; stderr:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Poll /healthz as an operator's probe would.
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz never answered 200")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not stop within 30 s of the signal")
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return base, stdout, stderr, stop
}

func TestServeFirstStartBootstrapAndClients(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, stdout, stop := runServe(t, dir)

	// The bootstrap key is printed once and saved with mode 0600.
	keyFile := filepath.Join(dir, "grantd.bootstrap-key")
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("bootstrap key file: %v", err)
	}
	key := strings.TrimSpace(string(b))
	if !strings.HasPrefix(key, "grantd_key_") || !strings.Contains(stdout.String(), key) {
		t.Fatalf("bootstrap key %q not printed on stdout:\n%s", key, stdout.String())
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap key file mode = %v, want 0600", fi.Mode().Perm())
	}
	for _, f := range []string{"grantd.secret", "grantd.db", "grantd.db-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, %v; want mode 0600", f, fi, err)
		}
	}

	resp, err := http.Get(base + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()

	// The Telnyx reference's create request, as a newcomer would send it.
	body := `{"name": "My OAuth client", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`
	req, _ := http.NewRequest("POST", base+"/v2/oauth_clients", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	created := decode(t, resp, 201)
	data := created["data"].(map[string]any)
	if data["record_type"] != "oauth_client" || data["name"] != "My OAuth client" || data["client_secret"] == nil {
		t.Fatalf("created client = %v", data)
	}

	req, _ = http.NewRequest("GET", base+"/v2/oauth_clients", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	list := decode(t, resp, 200)
	items := list["data"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["client_id"] != data["client_id"] || items[0].(map[string]any)["client_secret"] != nil {
		t.Fatalf("list = %v", list)
	}

	// Headers past the limit (64 KiB), by more than net/http's own slack
	// at that limit: the server is configured so that the handler, not
	// net/http, answers them, in the endpoint's format.
	req, _ = http.NewRequest("POST", base+"/v2/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Filler", strings.Repeat("a", 76<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if m := decode(t, resp, http.StatusRequestHeaderFieldsTooLarge); m["error"] != "invalid_request" {
		t.Fatalf("huge headers: %v, want an RFC 6749 error", m)
	}

	if code := stop(); code != 0 {
		t.Fatalf("serve exit code after SIGTERM-equivalent = %d, want 0", code)
	}

	// A second start on the same database prints no new bootstrap key.
	_, stdout2, stop2 := runServe(t, dir)
	if strings.Contains(stdout2.String(), "Bootstrap") {
		t.Fatalf("second start printed a bootstrap key again:\n%s", stdout2.String())
	}
	stop2()
}

func decode(t *testing.T, resp *http.Response, want int) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return m
}

func TestAPIKeyCreatePrintsOnlyTheKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "g.db")
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"grantd", "apikey", "create", "--email", "Dev@Example.com", "--name", "ci", "--database", db}, env(nil), strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !regexp.MustCompile(`^grantd_key_[A-Za-z0-9_-]{43}\n$`).MatchString(out.String()) {
		t.Fatalf("stdout = %q, want only the key", out.String())
	}
	// Bad email: non-zero exit and a message on stderr.
	out.Reset()
	errb.Reset()
	code = Run(context.Background(), []string{"grantd", "apikey", "create", "--email", "not an email", "--database", db}, env(nil), strings.NewReader(""), &out, &errb)
	if code == 0 || out.Len() != 0 || !strings.Contains(errb.String(), "email") {
		t.Fatalf("bad email: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

func TestUserCreatePasswordStdin(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "g.db")
	run := func(stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"grantd"}, args...), env(map[string]string{"GRANTD_DATABASE": db}), strings.NewReader(stdin), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, stderr := run("short\n", "user", "create", "--email", "a@example.com", "--password-stdin"); code == 0 || !strings.Contains(stderr, "8 characters") {
		t.Fatalf("short password accepted: %d %s", code, stderr)
	}
	if code, _, stderr := run("a long passphrase\n", "user", "create", "--email", "a@example.com", "--password-stdin"); code != 0 {
		t.Fatalf("user create: %d %s", code, stderr)
	}
	if code, _, stderr := run("another passphrase\n", "user", "create", "--email", "a@example.com", "--password-stdin"); code == 0 || !strings.Contains(stderr, "already") {
		t.Fatalf("second create of the same user: %d %s", code, stderr)
	}
	if code, _, _ := run("", "user", "create", "--email", "b@example.com"); code == 0 {
		t.Fatal("user create without --password-stdin succeeded")
	}
}

func TestMigrateAndKeys(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "g.db")
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"grantd"}, args...), env(map[string]string{"GRANTD_DATABASE": "sqlite:" + db}), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, stderr := run("migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, stderr)
	}
	if code, _, stderr := run("migrate"); code != 0 {
		t.Fatalf("migrate twice: %d %s", code, stderr)
	}
	// keys list reads: on a database no server has started on, it lists
	// no key and creates none.
	code, out, stderr := run("keys", "list")
	if code != 0 || strings.Contains(out, "ES256") {
		t.Fatalf("keys list before any key: %d %q %s", code, out, stderr)
	}
	firstKey(t, "sqlite:"+db, filepath.Join(filepath.Dir(db), "grantd.secret"))
	code, out, stderr = run("keys", "list")
	if code != 0 || strings.Count(out, "ES256") != 1 || !strings.Contains(out, "active") {
		t.Fatalf("keys list: %d %q %s", code, out, stderr)
	}
	code, out, stderr = run("keys", "rotate")
	if code != 0 || !strings.Contains(out, "new key") {
		t.Fatalf("keys rotate: %d %q %s", code, out, stderr)
	}
	code, out, _ = run("keys", "list")
	if code != 0 || strings.Count(out, "ES256") != 2 || !strings.Contains(out, "pending") {
		t.Fatalf("keys list after rotate: %q", out)
	}
	if code, _, stderr := run("keys", "list", "--database", "postgres://u:secretpw@localhost/db"); code == 0 || strings.Contains(stderr, "secretpw") {
		t.Fatalf("postgres DSN: exit %d, stderr %q (must fail without echoing the password)", code, stderr)
	}
}

func TestServeNoMigrateRefusesAnOldSchema(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"grantd", "serve", "--no-migrate", "--addr", "127.0.0.1:0", "--database", filepath.Join(dir, "new.db")}, env(nil), strings.NewReader(""), &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "grantd migrate") {
		t.Fatalf("serve --no-migrate on an empty database: exit %d, stderr %q", code, errb.String())
	}
	// After `grantd migrate` the same command starts.
	if code := Run(context.Background(), []string{"grantd", "migrate", "--database", filepath.Join(dir, "new.db")}, env(nil), strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("migrate: %d %s", code, errb.String())
	}
	_, _, stop := runServe(t, dir, "--no-migrate", "--database", filepath.Join(dir, "new.db"))
	stop()
}

func TestAPIKeyCreateWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, _, stop := runServe(t, dir)
	defer stop()
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"grantd", "apikey", "create", "--email", "second@example.com", "--database", filepath.Join(dir, "grantd.db")}, env(nil), strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("apikey create beside a running server: %d %s", code, errb.String())
	}
	req, _ := http.NewRequest("GET", base+"/v2/oauth_clients", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(out.String()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, resp, 200)
}

func TestVerifyClient(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, _, stop := runServe(t, dir)
	defer stop()
	key := strings.TrimSpace(string(must(os.ReadFile(filepath.Join(dir, "grantd.bootstrap-key")))))
	req, _ := http.NewRequest("POST", base+"/v2/oauth_clients", strings.NewReader(`{"name": "Partner", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	id := decode(t, resp, 201)["data"].(map[string]any)["client_id"].(string)

	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"grantd", "verify-client"}, args...), env(map[string]string{"GRANTD_DATABASE": filepath.Join(dir, "grantd.db")}), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	verified := func() any {
		req, _ := http.NewRequest("GET", base+"/v2/oauth_clients/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return decode(t, resp, 200)["data"].(map[string]any)["verified"]
	}
	if code, out, stderr := run(id); code != 0 || !strings.Contains(out, "is verified") {
		t.Fatalf("verify-client: %d %q %q", code, out, stderr)
	}
	// The server keeps clients in memory; a change made by another
	// process reaches it through the change feed within one second.
	within := func(want bool) bool {
		for end := time.Now().Add(time.Second); ; time.Sleep(20 * time.Millisecond) {
			if verified() == want {
				return true
			}
			if time.Now().After(end) {
				return false
			}
		}
	}
	if !within(true) {
		t.Fatal("the API does not show the client verified within one second")
	}
	if code, _, _ := run(id, "--unset"); code != 0 || !within(false) {
		t.Fatal("verify-client --unset did not remove the mark within one second")
	}
	if code, _, stderr := run("no-such-client"); code == 0 || !strings.Contains(stderr, "no OAuth client") {
		t.Fatalf("unknown client: %d %q", code, stderr)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A request in flight when the signal comes is answered before the
// process exits; new connections are refused meanwhile.
func TestServeShutdownFinishesInFlightRequests(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, _, stop := runServe(t, dir)
	key := strings.TrimSpace(string(must(os.ReadFile(filepath.Join(dir, "grantd.bootstrap-key")))))
	addr := strings.TrimPrefix(base, "http://")

	// Start a request and hold its body back. With Expect: 100-continue
	// the server says "100 Continue" when the handler starts reading the
	// body: from then on the request is in flight for certain.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name": "In flight", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`
	fmt.Fprintf(conn, "POST /v2/oauth_clients HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, key, len(body))
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue, got %q %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line after it
		t.Fatal(err)
	}

	exited := make(chan int, 1)
	go func() { exited <- stop() }()
	// Shutdown has begun once the listener refuses new connections.
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener never closed after the signal")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case code := <-exited:
		t.Fatalf("serve exited (%d) with a request in flight", code)
	default:
	}

	// The body arrives now; the answer must still come.
	if _, err := conn.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to the in-flight request: %v", err)
	}
	decode(t, resp, 201)
	if code := <-exited; code != 0 {
		t.Fatalf("exit code %d after a graceful shutdown", code)
	}
}

// TestRefreshGraceSetting: the refresh grace is on by default (5 s, SPEC
// §3), GRANTD_REFRESH_GRACE and --refresh-grace set it, 0 turns it off,
// and a value out of range stops serve with a message naming the flag
// before anything is opened.
func TestRefreshGraceSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  string
		args []string
		want time.Duration
	}{
		{want: 5 * time.Second},
		{env: "0", want: 0},
		{env: "2s", want: 2 * time.Second},
		{env: "2s", args: []string{"--refresh-grace", "0"}, want: 0},
	} {
		a := &app{getenv: env(map[string]string{"GRANTD_REFRESH_GRACE": tc.env})}
		cmd := a.serveCmd()
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if got, err := cmd.Flags().GetDuration("refresh-grace"); err != nil || got != tc.want {
			t.Errorf("env %q, args %q: refresh grace = %v (%v), want %v", tc.env, tc.args, got, err, tc.want)
		}
	}

	dir := t.TempDir()
	for _, v := range []string{"-1s", "2m"} {
		var stderr bytes.Buffer
		code := Run(context.Background(), []string{"grantd", "serve", "--addr", "127.0.0.1:0", "--database", filepath.Join(dir, "grantd.db"), "--refresh-grace", v},
			env(nil), strings.NewReader(""), io.Discard, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), "--refresh-grace") {
			t.Errorf("serve --refresh-grace %s: exit %d, stderr %q; want a failure naming the flag", v, code, stderr.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "grantd.db")); err == nil {
		t.Error("serve opened the database before refusing the setting")
	}
}

// TestServeLimitsFailures: the real program answers a brute force with
// 429: wrong API keys from one address, then consent tokens that cannot
// be used (each its own budget, wired by serve).
func TestServeLimitsFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base, _, _ := runServe(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, "grantd.bootstrap-key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(b))
	get := func(path, credential string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+credential)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 20 {
		if resp := get("/v2/oauth/consent/grantd_consent_guess"+fmt.Sprint(i), key); resp.StatusCode != 422 {
			t.Fatalf("consent guess %d: status %d, want 422", i+1, resp.StatusCode)
		}
	}
	if resp := get("/v2/oauth/consent/grantd_consent_guess", key); resp.StatusCode != 429 || resp.Header.Get("RateLimit-Limit") != "20" {
		t.Fatalf("consent guess 21: status %d, RateLimit-Limit %q; want 429 and 20", resp.StatusCode, resp.Header.Get("RateLimit-Limit"))
	}
	for i := range 20 {
		if resp := get("/v2/oauth_clients", "grantd_key_guess"+fmt.Sprint(i)); resp.StatusCode != 401 {
			t.Fatalf("key guess %d: status %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp := get("/v2/oauth_clients", key)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("after 20 wrong keys: status %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
