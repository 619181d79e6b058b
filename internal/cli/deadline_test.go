package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/postgres/pgtest"
	"github.com/grantd/grantd/internal/store/sqlite"
)

// The attack of issue 7, item 3: the database stops answering (PostgreSQL
// frozen behind a proxy the test controls, or SQLite's write lock held by
// another process) while clients keep coming. Every request must get a
// fast 503 in its endpoint's format, none may go unanswered, readiness
// must say so within its own deadline, the server must stop when told,
// and everything must work again once the database answers.

// bounded is how long the tests wait for any one answer: many times the
// 1 s --db-timeout they run with, yet far below the frozen database's
// "never". Without deadlines every request here waits until the test's
// own timeout and fails.
const bounded = 20 * time.Second

// httpc is the HTTP client of these tests: it gives up (and the test
// fails) rather than hang.
var httpc = &http.Client{Timeout: bounded}

// reply is an answer, read whole.
type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

func send(req *http.Request, c *http.Client) (reply, error) {
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}, err
}

// server is the real program on a database, with a client of
// client_credentials and a person signed in to the pages.
type server struct {
	base, key     string
	clientID, sec string
	browser       *http.Client
	stop          func() int
}

func startServer(t *testing.T, db string, extra ...string) *server {
	t.Helper()
	dir := t.TempDir()
	// A user who signs in to the pages, made by the CLI beforehand.
	var out, errb bytes.Buffer
	args := append([]string{"grantd", "user", "create", "--email", "ada@example.com", "--password-stdin", "--database", db}, extra...)
	if code := Run(context.Background(), args, env(nil), strings.NewReader("correct horse battery\n"), &out, &errb); code != 0 {
		t.Fatalf("user create: %d %s", code, errb.String())
	}
	base, stdout, stop := runServe(t, dir, append([]string{"--database", db, "--db-timeout", "1s"}, extra...)...)
	m := regexp.MustCompile(`(?m)^(grantd_key_\S+)$`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no bootstrap key on stdout:\n%s", stdout.String())
	}
	s := &server{base: base, key: m[1], stop: stop}

	req, _ := http.NewRequest("POST", base+"/v2/oauth_clients", strings.NewReader(`{"name": "Backend", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`))
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	r, err := send(req, httpc)
	if err != nil || r.status != 201 {
		t.Fatalf("create client: %v %v", r, err)
	}
	var created struct {
		Data struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.body), &created); err != nil {
		t.Fatal(err)
	}
	s.clientID, s.sec = created.Data.ClientID, created.Data.ClientSecret

	jar, _ := cookiejar.New(nil)
	s.browser = &http.Client{Jar: jar, Timeout: bounded, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login, err := send(must(http.NewRequest("GET", base+"/login", nil)), s.browser)
	if err != nil {
		t.Fatal(err)
	}
	csrf := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(login.body)
	if csrf == nil {
		t.Fatalf("no CSRF token on the sign-in page: %v", login)
	}
	form := url.Values{"csrf_token": {csrf[1]}, "email": {"ada@example.com"}, "password": {"correct horse battery"}}
	req, _ = http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r, err := send(req, s.browser); err != nil || r.status != http.StatusSeeOther {
		t.Fatalf("sign in: %v %v", r, err)
	}
	return s
}

func (s *server) token() *http.Request {
	req, _ := http.NewRequest("POST", s.base+"/v2/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.clientID, s.sec)
	return req
}

func (s *server) listClients() *http.Request {
	req, _ := http.NewRequest("GET", s.base+"/v2/oauth_clients", nil)
	req.Header.Set("Authorization", "Bearer "+s.key)
	return req
}

func (s *server) createClient() *http.Request {
	req, _ := http.NewRequest("POST", s.base+"/v2/oauth_clients", strings.NewReader(`{"name": "More", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`))
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	return req
}

func (s *server) readyz() *http.Request { return must(http.NewRequest("GET", s.base+"/readyz", nil)) }
func (s *server) apps() *http.Request   { return must(http.NewRequest("GET", s.base+"/apps", nil)) }

// wantOAuth503 checks RFC 6749 temporarily_unavailable with Retry-After.
func wantOAuth503(t *testing.T, what string, r reply) {
	t.Helper()
	var m map[string]any
	if r.status != 503 || r.header.Get("Retry-After") == "" || json.Unmarshal([]byte(r.body), &m) != nil || m["error"] != "temporarily_unavailable" {
		t.Errorf("%s: %v (Retry-After %q), want 503 temporarily_unavailable with Retry-After", what, r, r.header.Get("Retry-After"))
	}
}

// wantAPI503 checks the Telnyx envelope's 10007 with Retry-After.
func wantAPI503(t *testing.T, what string, r reply) {
	t.Helper()
	var m struct {
		Errors []struct{ Code string } `json:"errors"`
	}
	if r.status != 503 || r.header.Get("Retry-After") == "" || json.Unmarshal([]byte(r.body), &m) != nil || len(m.Errors) != 1 || m.Errors[0].Code != "10007" {
		t.Errorf("%s: %v, want 503 with the Telnyx envelope (10007) and Retry-After", what, r)
	}
}

func wantReady503(t *testing.T, what string, r reply) {
	t.Helper()
	if r.status != 503 || !strings.Contains(r.body, `"unavailable"`) {
		t.Errorf("%s: %v, want 503 unavailable", what, r)
	}
}

func wantPage503(t *testing.T, what string, r reply) {
	t.Helper()
	if r.status != 503 || r.header.Get("Retry-After") == "" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, "Temporarily unavailable") {
		t.Errorf("%s: %d %q, want a 503 HTML page with Retry-After", what, r.status, r.header.Get("Content-Type"))
	}
}

// flood sends n of each request at once and answers every reply, failing
// the test for any request left without an answer.
func flood(t *testing.T, n int, reqs map[string]func() (*http.Request, *http.Client)) map[string][]reply {
	t.Helper()
	var mu sync.Mutex
	got := map[string][]reply{}
	var wg sync.WaitGroup
	for name, mk := range reqs {
		for range n {
			wg.Go(func() {
				req, c := mk()
				r, err := send(req, c)
				if err != nil {
					t.Errorf("%s: no answer: %v", name, err)
					return
				}
				mu.Lock()
				got[name] = append(got[name], r)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return got
}

// eventually polls until ok or bounded passes.
func eventually(t *testing.T, what string, f func() (reply, error), ok func(reply) bool) {
	t.Helper()
	var r reply
	var err error
	for end := time.Now().Add(bounded); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if r, err = f(); err == nil && ok(r) {
			return
		}
	}
	t.Fatalf("%s: still %v %v after %s", what, r, err, bounded)
}

func TestServeFrozenPostgres(t *testing.T) {
	t.Parallel()
	proxy, dsn := pgtest.NewProxy(t, pgtest.Schema(t))
	secret := writeSecret(t)
	s := startServer(t, dsn, "--secret-file", secret)
	reqs := map[string]func() (*http.Request, *http.Client){
		"token":   func() (*http.Request, *http.Client) { return s.token(), httpc },
		"clients": func() (*http.Request, *http.Client) { return s.listClients(), httpc },
		"readyz":  func() (*http.Request, *http.Client) { return s.readyz(), httpc },
		"apps":    func() (*http.Request, *http.Client) { return s.apps(), s.browser },
	}
	for name, r := range flood(t, 1, reqs) {
		if r[0].status != 200 {
			t.Fatalf("%s before the freeze: %v", name, r[0])
		}
	}

	proxy.Freeze()
	// A client credentials token reads only what the cache holds; the
	// cache answers for one second past its last read of the change
	// feed, then reads through (docs/ARCHITECTURE.md, "Caches and
	// staleness") and meets the database's deadline.
	eventually(t, "token once the cache's bound has passed", func() (reply, error) { return send(s.token(), httpc) },
		func(r reply) bool { return r.status == 503 })
	// More requests at once than the pool has connections (4): the ones
	// waiting for a connection get their 503 too.
	got := flood(t, 8, reqs)
	for _, r := range got["token"] {
		wantOAuth503(t, "token on a frozen database", r)
	}
	for _, r := range got["clients"] {
		wantAPI503(t, "list clients on a frozen database", r)
	}
	for _, r := range got["readyz"] {
		wantReady503(t, "readyz on a frozen database", r)
	}
	for _, r := range got["apps"] {
		wantPage503(t, "connected apps on a frozen database", r)
	}
	// A command of the CLI beside the server gives up too.
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"grantd", "apikey", "create", "--email", "ops@example.com", "--database", dsn, "--db-timeout", "1s"}, env(nil), strings.NewReader(""), &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "--db-timeout") {
		t.Errorf("apikey create on a frozen database: exit %d, stderr %q; want a failure naming --db-timeout", code, errb.String())
	}

	proxy.Thaw()
	eventually(t, "readyz after the database answers again", func() (reply, error) { return send(s.readyz(), httpc) }, func(r reply) bool { return r.status == 200 })
	for name, r := range flood(t, 2, reqs) {
		for _, r := range r {
			if r.status != 200 {
				t.Errorf("%s after the thaw: %v", name, r)
			}
		}
	}

	// Stopping while frozen, with a request in flight: the server exits
	// (runServe's stop fails the test if it takes 30 s), and the request,
	// if it got in before the listener closed, gets its answer.
	proxy.Freeze()
	type result struct {
		r   reply
		err error
	}
	inFlight := make(chan result, 1)
	go func() {
		r, err := send(s.createClient(), httpc)
		inFlight <- result{r, err}
	}()
	time.Sleep(100 * time.Millisecond) // most likely in flight by now; the test holds either way
	if code := s.stop(); code != 0 {
		t.Errorf("serve exit code on a frozen database = %d, want 0", code)
	}
	select {
	case res := <-inFlight:
		switch {
		case res.err != nil && strings.Contains(res.err.Error(), "connection refused"):
			t.Log("the request came after the listener closed")
		case res.err != nil || (res.r.status != 503 && res.r.status != 201):
			t.Errorf("the request in flight at shutdown: %v %v", res.r, res.err)
		}
	case <-time.After(bounded):
		t.Error("the request in flight at shutdown got no answer")
	}
	proxy.Thaw()
}

// TestServeSQLiteWriteLocked: another process holds SQLite's write lock
// (a sqlite3 shell left in a transaction, say). Writes get their 503 and
// readiness says the database does not take writes; reads (a token of
// client_credentials, a list) go on, as WAL allows; all is well once the
// lock is released.
func TestServeSQLiteWriteLocked(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "grantd.db")
	s := startServer(t, db)

	other, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	admin, err := other.GetUserByEmail(context.Background(), bootstrapEmail)
	if err != nil {
		t.Fatal(err)
	}
	inside, release, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		_, err := other.UpdateUser(context.Background(), admin.ID, func(u grantd.User) (grantd.User, error) {
			close(inside)
			<-release
			return u, nil
		})
		held <- err
	}()
	<-inside
	var once sync.Once
	unlock := func() { once.Do(func() { close(release) }) }
	defer unlock()

	got := flood(t, 4, map[string]func() (*http.Request, *http.Client){
		"create": func() (*http.Request, *http.Client) { return s.createClient(), httpc },
		"readyz": func() (*http.Request, *http.Client) { return s.readyz(), httpc },
		"token":  func() (*http.Request, *http.Client) { return s.token(), httpc },
	})
	for _, r := range got["create"] {
		wantAPI503(t, "create client under the lock", r)
	}
	for _, r := range got["readyz"] {
		wantReady503(t, "readyz under the lock", r)
		if !strings.Contains(r.body, "writes") {
			t.Errorf("readyz under the lock: %v, want the reason to name writes", r)
		}
	}
	for _, r := range got["token"] {
		if r.status != 200 {
			t.Errorf("token under the write lock: %v, want 200 (it reads only)", r)
		}
	}

	unlock()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if r, err := send(s.createClient(), httpc); err != nil || r.status != 201 {
		t.Errorf("create client after the lock: %v %v", r, err)
	}
	eventually(t, "readyz after the lock", func() (reply, error) { return send(s.readyz(), httpc) }, func(r reply) bool { return r.status == 200 })
}

// TestDBTimeoutSetting: --db-timeout and GRANTD_DB_TIMEOUT on a command
// that touches the database; a bad value stops it naming the setting, and
// the flag wins over the environment.
func TestDBTimeoutSetting(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "g.db")
	run := func(environ map[string]string, args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"grantd", "migrate", "--database", db}, args...), env(environ), strings.NewReader(""), &out, &errb)
		return code, errb.String()
	}
	for _, tc := range []struct {
		environ map[string]string
		args    []string
		want    string // in stderr; "" means success
	}{
		{nil, []string{"--db-timeout", "2s"}, ""},
		{map[string]string{"GRANTD_DB_TIMEOUT": "3s"}, nil, ""},
		{nil, []string{"--db-timeout", "0s"}, "--db-timeout"},
		{nil, []string{"--db-timeout", "-1s"}, "--db-timeout"},
		{nil, []string{"--db-timeout", "soon"}, "db-timeout"},
		{map[string]string{"GRANTD_DB_TIMEOUT": "soon"}, nil, "GRANTD_DB_TIMEOUT"},
		{map[string]string{"GRANTD_DB_TIMEOUT": "0"}, nil, "GRANTD_DB_TIMEOUT"},
		{map[string]string{"GRANTD_DB_TIMEOUT": "soon"}, []string{"--db-timeout", "2s"}, ""},
	} {
		code, stderr := run(tc.environ, tc.args...)
		switch {
		case tc.want == "" && code != 0:
			t.Errorf("migrate %v with %v: exit %d, %s", tc.args, tc.environ, code, stderr)
		case tc.want != "" && (code == 0 || !strings.Contains(stderr, tc.want)):
			t.Errorf("migrate %v with %v: exit %d, stderr %q; want a failure naming %s", tc.args, tc.environ, code, stderr, tc.want)
		}
	}
}

// TestOpenFrozenDatabase: connecting at start to a server that accepts
// the connection but never answers stops the command within --db-timeout,
// naming it, instead of hanging before the server listens.
func TestOpenFrozenDatabase(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent, until the test ends
		}
	}()
	done := make(chan string, 1)
	go func() {
		var out, errb bytes.Buffer
		Run(context.Background(), []string{"grantd", "serve", "--addr", "127.0.0.1:0", "--db-timeout", "500ms",
			"--database", "postgres://grantd@" + ln.Addr().String() + "/grantd?sslmode=disable", "--secret-file", writeSecret(t)},
			env(nil), strings.NewReader(""), &out, &errb)
		done <- errb.String()
	}()
	select {
	case stderr := <-done:
		if !strings.Contains(stderr, "--db-timeout") {
			t.Errorf("serve on a silent database: %q, want a message naming --db-timeout", stderr)
		}
	case <-time.After(bounded):
		t.Fatal("serve on a silent database never gave up")
	}
}
