package cli

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/store/postgres/pgtest"
)

var (
	buildOnce sync.Once
	binPath   string
	binErr    error
	binOut    []byte
)

// grantdBinary builds cmd/grantd once per test run.
func grantdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "grantd-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "grantd")
		binOut, binErr = exec.Command("go", "build", "-o", binPath, "github.com/grantd/grantd/cmd/grantd").CombinedOutput()
	})
	if binErr != nil {
		t.Fatalf("go build: %v\n%s", binErr, binOut)
	}
	return binPath
}

// node is a `grantd serve` process.
type node struct {
	base   string
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer // the logs
}

// stop ends the process as an operator does (SIGTERM) and answers its
// exit code.
func (n *node) stop() int {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	_ = n.cmd.Wait()
	return n.cmd.ProcessState.ExitCode()
}

// startNode starts the built binary serving on a free port.
func startNode(t *testing.T, args ...string) *node {
	t.Helper()
	cmd := exec.Command(grantdBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stdout := &syncBuffer{}
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		re := regexp.MustCompile(`grantd listening on (\S+)`)
		for sc.Scan() {
			stdout.Write([]byte(sc.Text() + "\n"))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				listening <- "http://" + m[1]
			}
		}
	}()
	select {
	case base := <-listening:
		return &node{base: base, cmd: cmd, stdout: stdout, stderr: stderr}
	case <-time.After(60 * time.Second):
		t.Fatalf("grantd serve did not start; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		return nil
	}
}

// tokenStatus asks for a client credentials token and answers the status
// and the token.
func tokenStatus(t *testing.T, base, id, secret string) (int, string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}
	req, _ := http.NewRequest("POST", base+"/v2/oauth/token", strings.NewReader(form.Encode()))
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return resp.StatusCode, ""
	}
	tok, _ := decode(t, resp, 200)["access_token"].(string)
	return 200, tok
}

// introspectActive introspects tok at base as the client.
func introspectActive(t *testing.T, base, id, secret, tok string) bool {
	t.Helper()
	form := url.Values{"token": {tok}}
	req, _ := http.NewRequest("POST", base+"/v2/oauth/introspect", strings.NewReader(form.Encode()))
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp, 200)["active"] == true
}

// withinSecond polls ok until it holds, failing the test when one second
// has passed without.
func withinSecond(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within one second", what)
		}
	}
}

func apiClient(t *testing.T, base, key, name string) (id, secret string) {
	t.Helper()
	body := `{"name": "` + name + `", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`
	req, _ := http.NewRequest("POST", base+"/v2/oauth_clients", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	c := decode(t, resp, 201)["data"].(map[string]any)
	return c["client_id"].(string), c["client_secret"].(string)
}

// Issue 11: two grantd processes on one PostgreSQL database, each with
// its caches. Every change made on one is effective on the other within
// one second, and killing one leaves the other serving.
func TestCachedNodesOnePostgres(t *testing.T) {
	t.Parallel()
	args := []string{"--database", pgtest.Schema(t), "--secret-file", writeSecret(t), "--issuer", "http://auth.example.test"}
	a := startNode(t, args...)
	b := startNode(t, args...)
	m := regexp.MustCompile(`(?m)^(grantd_key_\S+)$`).FindStringSubmatch(a.stdout.String())
	if m == nil {
		t.Fatalf("no bootstrap key on A's stdout:\n%s", a.stdout.String())
	}
	key := m[1]
	id, secret := apiClient(t, a.base, key, "Ops job")

	// A token issued on A introspects active on B, which now holds the
	// client and has looked the jti up; revoked on A, it is inactive on
	// B within one second.
	_, tok := tokenStatus(t, a.base, id, secret)
	// Twice: the second answer comes from what the first put in B's
	// caches.
	for range 2 {
		if !introspectActive(t, b.base, id, secret, tok) {
			t.Fatal("A's token is not active on B")
		}
	}
	form := url.Values{"token": {tok}}
	req, _ := http.NewRequest("POST", a.base+"/v2/oauth/revoke", strings.NewReader(form.Encode()))
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke on A: %d", resp.StatusCode)
	}
	withinSecond(t, "a token revoked on A inactive on B", func() bool { return !introspectActive(t, b.base, id, secret, tok) })

	// A client deleted on B gets no more tokens on A, which holds it.
	id2, secret2 := apiClient(t, a.base, key, "Doomed job")
	for range 2 {
		if code, _ := tokenStatus(t, a.base, id2, secret2); code != 200 {
			t.Fatalf("token for the second client on A: %d", code)
		}
	}
	req, _ = http.NewRequest("DELETE", b.base+"/v2/oauth_clients/"+id2, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("delete on B: %d", resp.StatusCode)
	}
	withinSecond(t, "a client deleted on B refused on A", func() bool {
		code, _ := tokenStatus(t, a.base, id2, secret2)
		return code == 401
	})

	// A grant revoked on A: B, which introspected its token active,
	// answers inactive within one second.
	grantTok, grantID := userGrantToken(t, a.base, key)
	for range 2 {
		if !introspectActive(t, b.base, id, secret, grantTok) {
			t.Fatal("the user's token from A is not active on B")
		}
	}
	req, _ = http.NewRequest("DELETE", a.base+"/v2/oauth_grants/"+grantID, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("revoke the grant on A: %d", resp.StatusCode)
	}
	withinSecond(t, "a grant revoked on A inactive on B", func() bool { return !introspectActive(t, b.base, id, secret, grantTok) })

	// A killed in the middle of requests: B serves on.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			form := url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}
			req, _ := http.NewRequest("POST", a.base+"/v2/oauth/token", strings.NewReader(form.Encode()))
			req.SetBasicAuth(id, secret)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	code, tok := tokenStatus(t, b.base, id, secret)
	if code != 200 || !introspectActive(t, b.base, id, secret, tok) {
		t.Fatalf("B after A was killed: token %d", code)
	}
}

// userGrantToken makes a public client on base, drives authorize and the
// consent decision with the API key (as a consent portal does), redeems
// the code and answers the access token and the grant's id.
func userGrantToken(t *testing.T, base, key string) (tok, grantID string) {
	t.Helper()
	call := func(method, path, body string) *http.Response {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	app := decode(t, call("POST", "/v2/oauth_clients", `{"name": "User app", "allowed_scopes": ["admin"], "client_type": "public",
		"allowed_grant_types": ["authorization_code"], "redirect_uris": ["http://127.0.0.1/callback"]}`), 201)["data"].(map[string]any)
	appID := app["client_id"].(string)
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {appID}, "redirect_uri": {"http://127.0.0.1/callback"},
		"scope": {"admin"}, "state": {"s"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", base+"/v2/oauth/authorize?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || loc.Query().Get("consent_token") == "" {
		t.Fatalf("authorize: %s → %s", resp.Status, resp.Header.Get("Location"))
	}
	body, _ := json.Marshal(map[string]any{"allowed": true, "consent_token": loc.Query().Get("consent_token")})
	dec := decode(t, call("POST", "/v2/oauth/grants", string(body)), 200)
	back, err := url.Parse(dec["redirect_uri"].(string))
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("consent decision: %v", dec)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "client_id": {appID},
		"redirect_uri": {"http://127.0.0.1/callback"}, "code_verifier": {verifier}}
	req, _ = http.NewRequest("POST", base+"/v2/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ = decode(t, resp, 200)["access_token"].(string)
	for _, g := range decode(t, call("GET", "/v2/oauth_grants", ""), 200)["data"].([]any) {
		if g := g.(map[string]any); g["client_id"] == appID {
			grantID = g["id"].(string)
		}
	}
	if tok == "" || grantID == "" {
		t.Fatalf("no token (%q) or grant (%q) for the user app", tok, grantID)
	}
	return tok, grantID
}

// Issue 11 on SQLite: a running server sees, within one second, what
// grantd commands run as other processes on the same file change: a
// client verified and unverified, a signing key rotated.
func TestCachedServerSeesCLIOnSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "grantd.db")
	s := startNode(t, "--database", db, "--key-reload", "1h")
	key := strings.TrimSpace(string(must(os.ReadFile(filepath.Join(dir, "grantd.bootstrap-key")))))
	id, _ := apiClient(t, s.base, key, "Partner")
	verified := func() any {
		req, _ := http.NewRequest("GET", s.base+"/v2/oauth_clients/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return decode(t, resp, 200)["data"].(map[string]any)["verified"]
	}
	cli := func(args ...string) string {
		out, err := exec.Command(grantdBinary(t), append(args, "--database", db)...).CombinedOutput()
		if err != nil {
			t.Fatalf("grantd %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	for _, unset := range []bool{false, true} {
		if verified() != unset { // this read keeps the client in memory
			t.Fatalf("verified before the command is %v", !unset)
		}
		args := []string{"verify-client", id}
		if unset {
			args = append(args, "--unset")
		}
		cli(args...)
		withinSecond(t, "verify-client "+strings.Join(args[2:], " "), func() bool { return verified() == !unset })
	}

	m := regexp.MustCompile(`new key (\S+) `).FindStringSubmatch(cli("keys", "rotate", "--activate-in", "0"))
	if m == nil {
		t.Fatal("keys rotate printed no key")
	}
	withinSecond(t, "a key rotated by the CLI published", func() bool { return slices.Contains(publishedKids(t, s.base), m[1]) })
}
