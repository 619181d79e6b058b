package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// apiEnv is a running grantd (runServe, port 0) and the environment the
// API client commands read: its API base and the bootstrap key.
type apiEnv struct {
	issuer string
	base   string // issuer + /v2
	key    string
	env    map[string]string
}

func newAPIEnv(t *testing.T, serveArgs ...string) *apiEnv {
	t.Helper()
	dir := t.TempDir()
	issuer, _, _ := runServe(t, dir, serveArgs...)
	b, err := os.ReadFile(filepath.Join(dir, "grantd.bootstrap-key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(b))
	return &apiEnv{issuer: issuer, base: issuer + "/v2", key: key,
		env: map[string]string{"GRANTD_BASE_URL": issuer + "/v2", "GRANTD_API_KEY": key}}
}

// run runs the program with the environment and answers its exit code,
// stdout and stderr.
func (e *apiEnv) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return e.runEnv(t, e.env, args...)
}

func (e *apiEnv) runEnv(t *testing.T, m map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr syncBuffer
	code := Run(context.Background(), append([]string{"grantd"}, args...), env(m), strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// ok runs a command that must succeed and answers its stdout.
func (e *apiEnv) ok(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := e.run(t, args...)
	if code != 0 {
		t.Fatalf("grantd %s: exit %d\nstderr: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// jsonOf runs a command with -o json and decodes its stdout into v.
func (e *apiEnv) jsonOf(t *testing.T, v any, args ...string) {
	t.Helper()
	out := e.ok(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("grantd %s: stdout is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	if len(strings.TrimSpace(out)) > 2 && !strings.Contains(out, "\n  ") {
		t.Fatalf("grantd %s: JSON not indented:\n%s", strings.Join(args, " "), out)
	}
}

// fails runs a command that must fail and answers its stderr.
func (e *apiEnv) fails(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := e.run(t, args...)
	if code == 0 {
		t.Fatalf("grantd %s: exit 0, want failure\nstdout: %s", strings.Join(args, " "), out)
	}
	return errOut
}

type cliClient struct {
	ClientID          string   `json:"client_id"`
	Name              string   `json:"name"`
	ClientType        string   `json:"client_type"`
	ClientSecret      *string  `json:"client_secret"`
	AllowedScopes     []string `json:"allowed_scopes"`
	AllowedGrantTypes []string `json:"allowed_grant_types"`
	RedirectURIs      []string `json:"redirect_uris"`
	LogoURI           *string  `json:"logo_uri"`
	RequirePKCE       bool     `json:"require_pkce"`
	RecordType        string   `json:"record_type"`
}

func TestClientsCommands(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)

	var svc cliClient
	e.jsonOf(t, &svc, "clients", "create", "--name", "worker", "--client-type", "confidential",
		"--allowed-scopes", "admin", "--allowed-grant-types", "client_credentials", "--logo-uri", "https://example.com/l.png")
	if svc.ClientID == "" || svc.ClientSecret == nil || !strings.HasPrefix(*svc.ClientSecret, "grantd_secret_") || svc.RecordType != "oauth_client" {
		t.Fatalf("created = %+v", svc)
	}

	// Table output; repeatable and comma-separated lists.
	out := e.ok(t, "clients", "create", "--name", "CLI app", "--client-type", "public",
		"--allowed-scopes", "admin", "--allowed-grant-types", "authorization_code,refresh_token",
		"--redirect-uris", "http://127.0.0.1/callback", "--redirect-uris", "http://[::1]/callback")
	for _, want := range []string{"client_id ", "CLI app", "authorization_code,refresh_token", "http://127.0.0.1/callback,http://[::1]/callback"} {
		if !strings.Contains(out, want) {
			t.Fatalf("create table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "client_secret") {
		t.Fatalf("a public client has no secret:\n%s", out)
	}

	var all []cliClient
	e.jsonOf(t, &all, "clients", "list")
	if len(all) != 2 {
		t.Fatalf("list = %+v", all)
	}
	for _, c := range all {
		if c.ClientSecret != nil {
			t.Fatalf("list shows a secret: %+v", c)
		}
	}
	out = e.ok(t, "clients", "list")
	for _, want := range []string{"CLIENT_ID", "ALLOWED_SCOPES", "worker", "CLI app", "\n2 results\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("list table lacks %q:\n%s", want, out)
		}
	}
	var page []cliClient
	e.jsonOf(t, &page, "clients", "list", "--page-size", "1", "--page-number", "2")
	if len(page) != 1 {
		t.Fatalf("page 2 of size 1 = %+v", page)
	}
	e.jsonOf(t, &page, "clients", "list", "--page-number", "3", "--page-size", "1")
	if page == nil || len(page) != 0 {
		t.Fatalf("page past the end = %#v, want []", page)
	}
	e.jsonOf(t, &page, "clients", "list", "--client-type", "public")
	if len(page) != 1 || page[0].Name != "CLI app" {
		t.Fatalf("public = %+v", page)
	}
	e.jsonOf(t, &page, "clients", "list", "--name-contains", "WORK", "--verified", "false", "--allowed-grant-types-contains", "client_credentials")
	if len(page) != 1 || page[0].ClientID != svc.ClientID {
		t.Fatalf("filtered = %+v", page)
	}

	var got cliClient
	e.jsonOf(t, &got, "clients", "get", svc.ClientID)
	if got.Name != "worker" || got.ClientSecret != nil || got.LogoURI == nil {
		t.Fatalf("get = %+v", got)
	}
	if out := e.ok(t, "clients", "get", svc.ClientID); !strings.Contains(out, "logo_uri") || !strings.Contains(out, "https://example.com/l.png") {
		t.Fatalf("get table:\n%s", out)
	}

	// update sends only the flags given; an empty value clears a URI.
	var upd cliClient
	e.jsonOf(t, &upd, "clients", "update", svc.ClientID, "--name", "worker 2", "--logo-uri", "")
	if upd.Name != "worker 2" || upd.LogoURI != nil || len(upd.AllowedScopes) != 1 || upd.AllowedGrantTypes[0] != "client_credentials" {
		t.Fatalf("update = %+v", upd)
	}
	e.jsonOf(t, &upd, "clients", "update", svc.ClientID, "--require-pkce")
	if upd.Name != "worker 2" || !upd.RequirePKCE {
		t.Fatalf("update = %+v", upd)
	}

	// Failures: non-zero, the API's message on stderr.
	if msg := e.fails(t, "clients", "create", "--name", "x", "--client-type", "public", "--allowed-scopes", "admin", "--allowed-grant-types", "client_credentials"); !strings.Contains(msg, "a public client cannot use client_credentials (/allowed_grant_types)") {
		t.Fatalf("stderr = %q", msg)
	}
	if msg := e.fails(t, "clients", "update", svc.ClientID, "--allowed-scopes", "nope"); !strings.Contains(msg, `"nope" is not a scope of this server (/allowed_scopes/0)`) {
		t.Fatalf("stderr = %q", msg)
	}
	if msg := e.fails(t, "clients", "list", "--page-size", "101"); !strings.Contains(msg, "422") || !strings.Contains(msg, "(page[size])") {
		t.Fatalf("stderr = %q", msg)
	}
	if msg := e.fails(t, "clients", "list", "-o", "yaml"); !strings.Contains(msg, `-o "yaml"`) {
		t.Fatalf("stderr = %q", msg)
	}
	code, _, msg := e.runEnv(t, map[string]string{"GRANTD_BASE_URL": e.base}, "clients", "list")
	if code == 0 || !strings.Contains(msg, "401") {
		t.Fatalf("no key: %d %q", code, msg)
	}
	// TELNYX_API_KEY is the fallback; flags win over the environment.
	if code, _, msg := e.runEnv(t, map[string]string{"GRANTD_BASE_URL": e.base, "TELNYX_API_KEY": e.key}, "clients", "list"); code != 0 {
		t.Fatalf("TELNYX_API_KEY: %d %q", code, msg)
	}
	if code, _, msg := e.runEnv(t, map[string]string{"GRANTD_BASE_URL": "http://127.0.0.1:1/v2", "GRANTD_API_KEY": "wrong"}, "clients", "list", "--base-url", e.base, "--api-key", e.key); code != 0 {
		t.Fatalf("flags: %d %q", code, msg)
	}

	if out := e.ok(t, "clients", "delete", svc.ClientID); !strings.Contains(out, "deleted OAuth client "+svc.ClientID) {
		t.Fatalf("delete: %q", out)
	}
	if msg := e.fails(t, "clients", "get", svc.ClientID); !strings.Contains(msg, "no OAuth client with that id") {
		t.Fatalf("get deleted: %q", msg)
	}
	if msg := e.fails(t, "clients", "delete", svc.ClientID); !strings.Contains(msg, "404") {
		t.Fatalf("delete again: %q", msg)
	}
}

func TestTokenIntrospectRevokeMetadataRegisterCommands(t *testing.T) {
	t.Parallel()
	// A scope a client registered without an owner may have, besides
	// admin, which it may not.
	scopes := filepath.Join(t.TempDir(), "scopes.json")
	if err := os.WriteFile(scopes, []byte(`[{"id": "admin"}, {"id": "messages", "name": "Send messages"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newAPIEnv(t, "--scopes-file", scopes)
	var svc cliClient
	e.jsonOf(t, &svc, "clients", "create", "--name", "worker", "--client-type", "confidential",
		"--allowed-scopes", "admin", "--allowed-grant-types", "client_credentials")
	id, secret := svc.ClientID, *svc.ClientSecret

	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Scope       string `json:"scope"`
	}
	e.jsonOf(t, &tok, "token", "--client-id", id, "--client-secret", secret, "--scope", "admin", "--resource", e.base)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != 1800 || tok.Scope != "admin" {
		t.Fatalf("token = %+v", tok)
	}
	// The secret may come from the environment instead of the command line.
	m := map[string]string{"GRANTD_BASE_URL": e.base, "GRANTD_CLIENT_ID": id, "GRANTD_CLIENT_SECRET": secret}
	code, out, msg := e.runEnv(t, m, "token")
	if code != 0 || !strings.Contains(out, "access_token") || !strings.Contains(out, "expires_in") {
		t.Fatalf("token from env: %d %q %q", code, out, msg)
	}

	var in struct {
		Active   bool   `json:"active"`
		ClientID string `json:"client_id"`
		Aud      string `json:"aud"`
	}
	e.jsonOf(t, &in, "introspect", tok.AccessToken, "--client-id", id, "--client-secret", secret)
	if !in.Active || in.ClientID != id || in.Aud != e.base {
		t.Fatalf("introspect = %+v", in)
	}
	if out := e.ok(t, "introspect", tok.AccessToken, "--client-id", id, "--client-secret", secret); !strings.Contains(out, "active") || !strings.Contains(out, "true") || !strings.Contains(out, "access_token") {
		t.Fatalf("introspect table:\n%s", out)
	}
	if out := e.ok(t, "revoke", tok.AccessToken, "--client-id", id, "--client-secret", secret); !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %q", out)
	}
	e.jsonOf(t, &in, "introspect", tok.AccessToken, "--client-id", id, "--client-secret", secret)
	if in.Active {
		t.Fatalf("revoked token is active")
	}

	// Protocol errors: RFC 6749 code and description, never the secret.
	code, _, msg = e.run(t, "token", "--client-id", id, "--client-secret", secret+"x")
	if code == 0 || !strings.Contains(msg, "invalid_client: client authentication failed") || strings.Contains(msg, secret) {
		t.Fatalf("wrong secret: %d %q", code, msg)
	}
	if msg := e.fails(t, "token", "--client-id", id, "--client-secret", secret, "--scope", "nope"); !strings.Contains(msg, "invalid_scope") {
		t.Fatalf("bad scope: %q", msg)
	}
	if msg := e.fails(t, "token"); !strings.Contains(msg, "--client-id") {
		t.Fatalf("no client: %q", msg)
	}

	var md map[string]any
	e.jsonOf(t, &md, "metadata")
	if md["issuer"] != e.issuer || md["token_endpoint"] != e.base+"/oauth/token" {
		t.Fatalf("metadata = %v", md)
	}
	if out := e.ok(t, "metadata"); !strings.Contains(out, "authorization_endpoint") || !strings.Contains(out, e.base+"/oauth/authorize") {
		t.Fatalf("metadata table:\n%s", out)
	}

	var reg map[string]any
	e.jsonOf(t, &reg, "register", "--client-name", "My agent", "--redirect-uris", "http://127.0.0.1:9999/callback",
		"--token-endpoint-auth-method", "none", "--scope", "messages")
	if reg["client_id"] == nil || reg["client_secret"] != nil || reg["client_name"] != "My agent" || reg["registration_access_token"] == nil || reg["scope"] != "messages" {
		t.Fatalf("register = %v", reg)
	}
	if msg := e.fails(t, "register", "--client-name", "My agent", "--redirect-uris", "http://127.0.0.1:9999/callback", "--scope", "admin"); !strings.Contains(msg, "invalid_client_metadata") || !strings.Contains(msg, "sensitive") {
		t.Fatalf("register asking for admin: %q", msg)
	}
	if out := e.ok(t, "register", "--client-name", "svc", "--grant-types", "client_credentials"); !strings.Contains(out, "client_secret") || !strings.Contains(out, "registration_client_uri") {
		t.Fatalf("register table:\n%s", out)
	}
	if msg := e.fails(t, "register", "--grant-types", "password"); !strings.Contains(msg, "invalid_client_metadata") {
		t.Fatalf("bad registration: %q", msg)
	}
}

// A server that issues no registration access token (RFC 7592 is
// optional) gets no "shown once" line for a token that does not exist.
func TestRegisterTableWithoutAccessToken(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"client_id":"abc","client_name":"svc","grant_types":["client_credentials"]}`))
	}))
	defer srv.Close()
	e := &apiEnv{env: map[string]string{"GRANTD_BASE_URL": srv.URL + "/v2"}}
	out := e.ok(t, "register", "--client-name", "svc")
	if !strings.Contains(out, "abc") || strings.Contains(out, "registration_access_token") || strings.Contains(out, "shown once") {
		t.Fatalf("register table:\n%s", out)
	}
}
