package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startLogin runs `grantd login` in the background and answers the
// authorization URL it prints, its stdout and its exit code channel.
func (e *apiEnv) startLogin(t *testing.T, args ...string) (*url.URL, *syncBuffer, *syncBuffer, <-chan int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, append([]string{"grantd", "login"}, args...), env(e.env), strings.NewReader(""), stdout, stderr)
	}()
	re := regexp.MustCompile(`(http://\S+/oauth/authorize\?\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			u, err := url.Parse(m[1])
			if err != nil {
				t.Fatal(err)
			}
			return u, stdout, stderr, done
		}
		select {
		case code := <-done:
			t.Fatalf("login exited with %d before printing a URL; stderr:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("login printed no URL; stdout:\n%s", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// decide drives authorize and the consent decision with the API key, as
// a consent portal would, and answers where the browser goes next.
func (e *apiEnv) decide(t *testing.T, authorize *url.URL, allowed bool) string {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, authorize.String(), nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound || loc.Query().Get("consent_token") == "" {
		t.Fatalf("authorize: %s → %s", res.Status, res.Header.Get("Location"))
	}
	body, _ := json.Marshal(map[string]any{"allowed": allowed, "consent_token": loc.Query().Get("consent_token")})
	req, _ = http.NewRequest(http.MethodPost, e.base+"/oauth/grants", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	var dec struct {
		RedirectURI string `json:"redirect_uri"`
	}
	res = must(http.DefaultClient.Do(req))
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&dec); err != nil || dec.RedirectURI == "" {
		t.Fatalf("grants: %v %+v", err, dec)
	}
	return dec.RedirectURI
}

// follow is the browser arriving at the CLI's loopback redirect.
func follow(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func wait(t *testing.T, done <-chan int) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(20 * time.Second):
		t.Fatal("login did not finish")
		return -1
	}
}

func TestLoginEndToEnd(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	var app cliClient
	e.jsonOf(t, &app, "clients", "create", "--name", "CLI app", "--client-type", "public",
		"--allowed-scopes", "admin", "--allowed-grant-types", "authorization_code,refresh_token",
		"--redirect-uris", "http://127.0.0.1/callback")

	authorize, stdout, stderr, done := e.startLogin(t, "--client-id", app.ClientID, "--scope", "admin", "--resource", e.base)
	q := authorize.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" ||
		q.Get("resource") != e.base || !strings.HasPrefix(q.Get("redirect_uri"), "http://127.0.0.1:") || authorize.Path != "/v2/oauth/authorize" {
		t.Fatalf("authorize URL = %s", authorize)
	}
	// Nothing on the loopback port but the callback path.
	cb, _ := url.Parse(q.Get("redirect_uri"))
	if code, _ := follow(t, "http://"+cb.Host+"/other"); code != 404 {
		t.Fatalf("other path: %d", code)
	}

	status, page := follow(t, e.decide(t, authorize, true))
	if status != 200 || !strings.Contains(page, "Signed in") {
		t.Fatalf("callback page: %d %s", status, page)
	}
	if code := wait(t, done); code != 0 {
		t.Fatalf("login exit %d; stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	var tok struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
		Scope        string `json:"scope"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &tok); err != nil {
		t.Fatalf("token JSON: %v\n%s", err, out)
	}
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.Scope != "admin" || tok.ExpiresIn != 1800 || !strings.HasPrefix(tok.RefreshToken, "grantd_rt_") {
		t.Fatalf("token = %+v", tok)
	}

	// The token is an admin token for the API: the CLI can use it as its key.
	code, list, msg := e.runEnv(t, map[string]string{"GRANTD_BASE_URL": e.base, "GRANTD_API_KEY": tok.AccessToken}, "clients", "list")
	if code != 0 || !strings.Contains(list, "CLI app") {
		t.Fatalf("clients list with the login token: %d %s %s", code, list, msg)
	}

	// The consent made a grant, which the grants commands show and revoke.
	var grants []struct {
		ID       string   `json:"id"`
		ClientID string   `json:"client_id"`
		Scopes   []string `json:"scopes"`
	}
	e.jsonOf(t, &grants, "grants", "list")
	if len(grants) != 1 || grants[0].ClientID != app.ClientID || grants[0].Scopes[0] != "admin" {
		t.Fatalf("grants = %+v", grants)
	}
	if out := e.ok(t, "grants", "list", "--page-size", "5"); !strings.Contains(out, grants[0].ID) || !strings.Contains(out, "LAST_USED_AT") {
		t.Fatalf("grants table:\n%s", out)
	}
	var g struct {
		ID         string  `json:"id"`
		LastUsedAt *string `json:"last_used_at"`
	}
	e.jsonOf(t, &g, "grants", "get", grants[0].ID)
	if g.ID != grants[0].ID || g.LastUsedAt == nil {
		t.Fatalf("grant = %+v", g)
	}
	if out := e.ok(t, "grants", "revoke", grants[0].ID); !strings.Contains(out, "revoked grant "+grants[0].ID) {
		t.Fatalf("revoke: %q", out)
	}
	e.jsonOf(t, &grants, "grants", "list")
	if len(grants) != 0 {
		t.Fatalf("grants after revoke = %+v", grants)
	}
	if msg := e.fails(t, "grants", "get", g.ID); !strings.Contains(msg, "no OAuth grant with that id") {
		t.Fatalf("get revoked: %q", msg)
	}
	// The grant's tokens died with it.
	code, _, msg = e.runEnv(t, map[string]string{"GRANTD_BASE_URL": e.base, "GRANTD_API_KEY": tok.AccessToken}, "clients", "list")
	if code == 0 || !strings.Contains(msg, "401") {
		t.Fatalf("token after revoke: %d %q", code, msg)
	}
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	var app cliClient
	e.jsonOf(t, &app, "clients", "create", "--name", "CLI app", "--client-type", "public",
		"--allowed-scopes", "admin", "--allowed-grant-types", "authorization_code",
		"--redirect-uris", "http://127.0.0.1/callback")

	// The person denies: the CLI stops with the server's error.
	authorize, _, stderr, done := e.startLogin(t, "--client-id", app.ClientID)
	if status, _ := follow(t, e.decide(t, authorize, false)); status != 400 {
		t.Fatalf("denied callback: %d", status)
	}
	if code := wait(t, done); code == 0 || !strings.Contains(stderr.String(), "access_denied") {
		t.Fatalf("denied: exit %d, stderr %q", code, stderr.String())
	}

	// An answer whose state is not the request's is refused.
	authorize, _, stderr, done = e.startLogin(t, "--client-id", app.ClientID)
	cb := authorize.Query().Get("redirect_uri") + "?code=grantd_code_forged&state=other&iss=" + url.QueryEscape(e.issuer)
	if status, _ := follow(t, cb); status != 400 {
		t.Fatalf("forged callback: %d", status)
	}
	if code := wait(t, done); code == 0 || !strings.Contains(stderr.String(), "state does not match") {
		t.Fatalf("forged: exit %d, stderr %q", code, stderr.String())
	}

	// So is an answer from another issuer (RFC 9207).
	authorize, _, stderr, done = e.startLogin(t, "--client-id", app.ClientID)
	cb = authorize.Query().Get("redirect_uri") + "?code=c&state=" + url.QueryEscape(authorize.Query().Get("state")) + "&iss=https://evil.example"
	follow(t, cb)
	if code := wait(t, done); code == 0 || !strings.Contains(stderr.String(), "is not the issuer") {
		t.Fatalf("wrong iss: exit %d, stderr %q", code, stderr.String())
	}

	// Without a client id, login stops before it listens.
	if msg := e.fails(t, "login"); !strings.Contains(msg, "--client-id") {
		t.Fatalf("no client id: %q", msg)
	}
}

// Interrupting login while it waits for the browser says so, rather than
// blaming a timeout that has not passed.
func TestLoginInterrupted(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	var app cliClient
	e.jsonOf(t, &app, "clients", "create", "--name", "CLI app", "--client-type", "public",
		"--allowed-scopes", "admin", "--allowed-grant-types", "authorization_code",
		"--redirect-uris", "http://127.0.0.1/callback")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"grantd", "login", "--client-id", app.ClientID}, env(e.env), strings.NewReader(""), stdout, stderr)
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stdout.String(), "/oauth/authorize?"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("login printed no URL; stderr:\n%s", stderr.String())
		}
	}
	cancel()
	if code := wait(t, done); code == 0 || strings.Contains(stderr.String(), "no answer from the browser within") || !strings.Contains(stderr.String(), "context canceled") {
		t.Fatalf("interrupted: exit %d, stderr %q", code, stderr.String())
	}
}
