// Package curl_test runs the curl reference of the API grantd imitates
// (testdata/telnyx-oauth-curl.md, an unchanged copy) with the real curl
// binary against a running grantd: each request as the reference writes
// it, through bash, with its placeholders (https://api.telnyx.com,
// $TELNYX_API_KEY, the example ids, codes and tokens) replaced by real
// values the test makes, and each answer held to the status and shape
// SPEC.md gives.
//
// It is skipped when curl or bash is missing, unless
// GRANTD_TEST_REQUIRE_CURL=1 (which .ci/run sets).
package curl_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/client"
	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/testenv"
)

// The reference's placeholders.
const (
	refOrigin  = "https://api.telnyx.com"
	refID      = "550e8400-e29b-41d4-a716-446655440000"
	refToken   = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.example"
	refConsent = "{consent_token}"
)

// section is one request of the reference: its heading and its snippet.
type section struct {
	title, snippet string
}

// notOAuth are the reference's snippets that are not a request of the
// OAuth API: the error-handling example calls /v2/messages.
var notOAuth = []string{"Error Handling", "Setup", "Installation"}

// reference reads the requests of the copy of the reference.
func reference(t *testing.T) []section {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "telnyx-oauth-curl.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []section
	for _, part := range strings.Split(string(b), "\n## ")[1:] {
		title, body, _ := strings.Cut(part, "\n")
		_, rest, ok := strings.Cut(body, "```bash\n")
		if !ok || slices.Contains(notOAuth, title) {
			continue
		}
		snippet, _, _ := strings.Cut(rest, "\n```")
		out = append(out, section{title: strings.TrimSpace(title), snippet: snippet})
	}
	return out
}

// tools answers the paths of curl and bash, or skips the test.
func tools(t *testing.T) (curl, bash string) {
	t.Helper()
	curl, err1 := exec.LookPath("curl")
	bash, err2 := exec.LookPath("bash")
	if err1 != nil || err2 != nil {
		if os.Getenv("GRANTD_TEST_REQUIRE_CURL") == "1" {
			t.Fatalf("GRANTD_TEST_REQUIRE_CURL=1 but curl or bash is missing: %v %v", err1, err2)
		}
		t.Skip("curl or bash is not installed")
	}
	return curl, bash
}

// answer is what curl received.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON; body %s", ct, a.body)
	}
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, a.body)
	}
	return m
}

// runner runs snippets against one grantd.
type runner struct {
	curl, bash, issuer, key, dir string
}

// run runs the snippet with each pair of subs (placeholder, value)
// replaced, the reference's origin replaced by the server's, and curl told
// to write the answer's headers and body to files. A placeholder that is
// not in the snippet fails the test: the reference changed.
func (r runner) run(t *testing.T, s section, subs ...string) answer {
	t.Helper()
	text := s.snippet
	subs = append(subs, refOrigin, r.issuer)
	for i := 0; i+1 < len(subs); i += 2 {
		if !strings.Contains(text, subs[i]) {
			t.Fatalf("%s: the reference no longer has %q:\n%s", s.title, subs[i], s.snippet)
		}
		text = strings.ReplaceAll(text, subs[i], subs[i+1])
	}
	if !strings.HasPrefix(text, "curl ") {
		t.Fatalf("%s: the snippet does not start with curl:\n%s", s.title, text)
	}
	// curl's own options come first; the reference's follow unchanged.
	text = `"$CURL" -sS -o "$OUT" -D "$HDR" -w '%{http_code}'` + strings.TrimPrefix(text, "curl")
	out, hdr := filepath.Join(r.dir, "body"), filepath.Join(r.dir, "headers")
	os.Remove(out)
	os.Remove(hdr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bash, "-c", text)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.dir, "CURL=" + r.curl, "OUT=" + out, "HDR=" + hdr, "TELNYX_API_KEY=" + r.key}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	code, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: curl: %v\n%s\n%s", s.title, err, stderr.String(), text)
	}
	status, err := strconv.Atoi(string(code))
	if err != nil {
		t.Fatalf("%s: curl wrote status %q", s.title, code)
	}
	a := answer{status: status, header: http.Header{}}
	if h, err := os.ReadFile(hdr); err == nil {
		tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(h)))
		if _, err := tp.ReadLine(); err == nil {
			mh, _ := tp.ReadMIMEHeader()
			a.header = http.Header(mh)
		}
	}
	a.body, _ = os.ReadFile(out)
	return a
}

// want fails the test unless the answer has the status.
func want(t *testing.T, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d; body %s", a.status, status, a.body)
	}
}

// has fails the test unless m has each key.
func has(t *testing.T, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("answer lacks %q: %v", k, m)
		}
	}
}

// apiError checks a Telnyx envelope with one error of the code, and
// answers that error.
func apiError(t *testing.T, a answer, status int, code string) map[string]any {
	t.Helper()
	want(t, a, status)
	errs, _ := a.json(t)["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no errors in %s", a.body)
	}
	e, _ := errs[0].(map[string]any)
	if e["code"] != code {
		t.Fatalf("error code %v, want %s: %s", e["code"], code, a.body)
	}
	return e
}

// oauthError checks an RFC 6749 error answer.
func oauthError(t *testing.T, a answer, status int, code string) {
	t.Helper()
	want(t, a, status)
	if m := a.json(t); m["error"] != code {
		t.Fatalf("error %v, want %s: %s", m["error"], code, a.body)
	}
}

func object(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v is not an object", v)
	}
	return m
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

var scopes = []grantd.Scope{
	{ID: grantd.ScopeAdmin, Name: "Administer your account", Description: "Manage clients and grants."},
	{ID: "read", Name: "Read your data", Description: "See your messages."},
}

// TestCurlReference runs every request of the reference, in an order in
// which each finds what it needs (a client, a consent token, a grant).
func TestCurlReference(t *testing.T) {
	curl, bash := tools(t)
	s := apptest.New(t, apptest.Options{Scopes: scopes})
	u := testenv.User(t, s.Store, "owner@example.com", "", s.Clock.Now())
	key := testenv.APIKey(t, s.Store, u.ID, s.Clock.Now())
	r := runner{curl: curl, bash: bash, issuer: s.URL, key: key, dir: t.TempDir()}

	ref := map[string]section{}
	for _, sec := range reference(t) {
		ref[sec.title] = sec
	}
	var done []string
	step := func(title string, f func(t *testing.T, sec section)) {
		sec, ok := ref[title]
		if !ok {
			t.Fatalf("the reference has no request %q", title)
		}
		done = append(done, title)
		if !t.Run(title, func(t *testing.T) { f(t, sec) }) {
			t.FailNow()
		}
	}

	step("Authorization server metadata", func(t *testing.T, sec section) {
		a := r.run(t, sec)
		want(t, a, 200)
		m := a.json(t)
		has(t, m, "authorization_endpoint", "code_challenge_methods_supported", "grant_types_supported",
			"introspection_endpoint", "issuer", "jwks_uri", "registration_endpoint", "response_types_supported",
			"scopes_supported", "token_endpoint", "token_endpoint_auth_methods_supported")
		if m["issuer"] != s.URL {
			t.Errorf("issuer %v, want %s", m["issuer"], s.URL)
		}
	})
	step("Protected resource metadata", func(t *testing.T, sec section) {
		a := r.run(t, sec)
		want(t, a, 200)
		m := a.json(t)
		has(t, m, "authorization_servers", "resource")
		if as, _ := m["authorization_servers"].([]any); !slices.Contains(as, any(s.URL)) {
			t.Errorf("authorization_servers %v lack %s", m["authorization_servers"], s.URL)
		}
	})
	step("JSON Web Key Set", func(t *testing.T, sec section) {
		a := r.run(t, sec)
		want(t, a, 200)
		keys, _ := a.json(t)["keys"].([]any)
		if len(keys) == 0 {
			t.Fatalf("no keys: %s", a.body)
		}
		has(t, object(t, keys[0]), "kty", "kid", "alg", "use")
	})

	var clientID, clientSecret string
	step("Create OAuth client", func(t *testing.T, sec section) {
		// As written: a public client with client_credentials, which
		// SPEC refuses.
		e := apiError(t, r.run(t, sec), 422, "10027")
		if object(t, e["source"])["pointer"] == nil {
			t.Errorf("422 without a pointer: %v", e)
		}
		// A confidential client may.
		a := r.run(t, sec, `"client_type": "public"`, `"client_type": "confidential"`)
		want(t, a, 201)
		d := object(t, a.json(t)["data"])
		has(t, d, "allowed_grant_types", "allowed_scopes", "client_id", "client_secret", "client_type", "created_at",
			"name", "org_id", "record_type", "redirect_uris", "require_pkce", "updated_at", "user_id")
		if d["record_type"] != "oauth_client" || d["client_type"] != "confidential" || d["name"] != "My OAuth client" {
			t.Errorf("created %v", d)
		}
		clientID, _ = d["client_id"].(string)
		clientSecret, _ = d["client_secret"].(string)
		if clientID == "" || clientSecret == "" {
			t.Fatalf("no client_id or client_secret: %v", d)
		}
	})
	step("List OAuth clients", func(t *testing.T, sec section) {
		a := r.run(t, sec)
		want(t, a, 200)
		m := a.json(t)
		data, _ := m["data"].([]any)
		if len(data) != 1 || object(t, data[0])["client_id"] != clientID || object(t, data[0])["client_secret"] != nil {
			t.Errorf("data %v, want the one client without its secret", data)
		}
		meta := object(t, m["meta"])
		has(t, meta, "page_number", "page_size", "total_pages", "total_results")
		if meta["total_results"] != 1.0 {
			t.Errorf("meta %v", meta)
		}
	})
	step("Get OAuth client", func(t *testing.T, sec section) {
		apiError(t, r.run(t, sec), 404, "10005")
		a := r.run(t, sec, refID, clientID)
		want(t, a, 200)
		if d := object(t, a.json(t)["data"]); d["client_id"] != clientID || d["client_secret"] != nil {
			t.Errorf("data %v", d)
		}
	})
	step("Update OAuth client", func(t *testing.T, sec section) {
		apiError(t, r.run(t, sec), 404, "10005")
		// As written, with no body: JSON that is not an object.
		apiError(t, r.run(t, sec, refID, clientID), 400, "10015")
		// With a body naming what changes.
		a := r.run(t, sec, refID, clientID, `-H "Content-Type: application/json" \`,
			`-H "Content-Type: application/json" -d '{"name": "Renamed client"}' \`)
		want(t, a, 200)
		if d := object(t, a.json(t)["data"]); d["client_id"] != clientID || d["name"] != "Renamed client" {
			t.Errorf("data %v", d)
		}
	})

	var accessToken string
	step("OAuth token endpoint", func(t *testing.T, sec section) {
		// As written, the API key is no client authentication.
		a := r.run(t, sec)
		oauthError(t, a, 401, "invalid_client")
		if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("WWW-Authenticate %q", a.header.Get("WWW-Authenticate"))
		}
		// With the client's credentials in the JSON body (the
		// reference's optional client_id and client_secret).
		a = r.run(t, sec, `"grant_type": "client_credentials"`,
			`"grant_type": "client_credentials", "client_id": "`+clientID+`", "client_secret": "`+clientSecret+`"`)
		want(t, a, 200)
		m := a.json(t)
		has(t, m, "access_token", "expires_in", "scope", "token_type")
		if m["token_type"] != "Bearer" || m["expires_in"] != 1800.0 || m["scope"] != "admin" || m["refresh_token"] != nil {
			t.Errorf("token %v", m)
		}
		if a.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", a.header.Get("Cache-Control"))
		}
		accessToken, _ = m["access_token"].(string)
	})
	step("Token introspection", func(t *testing.T, sec section) {
		a := r.run(t, sec, refToken, accessToken)
		want(t, a, 200)
		m := a.json(t)
		has(t, m, "active", "aud", "client_id", "exp", "iat", "iss", "scope")
		if m["active"] != true || m["client_id"] != clientID || m["iss"] != s.URL || m["scope"] != "admin" {
			t.Errorf("introspection %v", m)
		}
		// The reference's example token is no token of this server.
		a = r.run(t, sec)
		want(t, a, 200)
		if m := a.json(t); len(m) != 1 || m["active"] != false {
			t.Errorf("introspection of the example %v, want only active false", m)
		}
	})
	step("Dynamic client registration", func(t *testing.T, sec section) {
		// As written, with no body: no client metadata.
		oauthError(t, r.run(t, sec), 400, "invalid_client_metadata")
		// With the reference's optional fields (open registration: the
		// API key is ignored).
		a := r.run(t, sec, `-H "Content-Type: application/json" \`,
			`-H "Content-Type: application/json" -d '{"client_name": "Curl agent", "redirect_uris": ["http://127.0.0.1:9999/callback"], "scope": "read", "token_endpoint_auth_method": "none"}' \`)
		want(t, a, 201)
		m := a.json(t)
		has(t, m, "client_id", "client_id_issued_at", "client_name", "grant_types", "redirect_uris", "response_types",
			"scope", "token_endpoint_auth_method")
		if m["client_name"] != "Curl agent" || m["scope"] != "read" || m["token_endpoint_auth_method"] != "none" || m["client_secret"] != nil {
			t.Errorf("registration %v", m)
		}
	})

	// The code flow: a public client of the user's, made through the Go
	// client, and the reference's authorize, consent and grant requests.
	app, err := client.New(s.URL+"/v2", client.WithAPIKey(key)).CreateClient(context.Background(), client.CreateClientParams{
		Name: "Curl app", ClientType: "public", AllowedScopes: []string{"admin"},
		AllowedGrantTypes: []string{"authorization_code"}, RedirectURIs: []string{"http://127.0.0.1:9999/callback"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("a-code-verifier-of-enough-length-for-rfc-7636-0123456789"))
	authorize := url.Values{
		"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {"http://127.0.0.1:9999/callback"},
		"state": {"st-1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	var consentToken string
	step("OAuth authorization endpoint", func(t *testing.T, sec section) {
		// As written (a scope and nothing else): a malformed request, an
		// HTML page.
		a := r.run(t, sec)
		want(t, a, 400)
		if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type %q, want an HTML page", ct)
		}
		// With a client's parameters: the signed-in user (the API key)
		// goes to the consent page.
		a = r.run(t, sec, "?scope=admin", "?scope=admin&"+authorize.Encode())
		want(t, a, 302)
		loc, err := url.Parse(a.header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		consentToken = loc.Query().Get("consent_token")
		if loc.Path != "/consent" || consentToken == "" {
			t.Fatalf("Location %s, want the consent page", loc)
		}
	})
	step("Get OAuth consent token", func(t *testing.T, sec section) {
		a := r.run(t, sec, refConsent, consentToken)
		want(t, a, 200)
		d := object(t, a.json(t)["data"])
		has(t, d, "client_id", "name", "redirect_uri", "requested_scopes", "verified")
		if d["client_id"] != app.ClientID || d["name"] != "Curl app" || d["verified"] != false {
			t.Errorf("consent %v", d)
		}
		rs, _ := d["requested_scopes"].([]any)
		if len(rs) != 1 || object(t, rs[0])["id"] != "admin" || object(t, rs[0])["name"] != "Administer your account" {
			t.Errorf("requested_scopes %v", rs)
		}
	})
	step("Create OAuth grant", func(t *testing.T, sec section) {
		// The reference's example is no consent token of this server.
		e := apiError(t, r.run(t, sec), 422, "10027")
		if object(t, e["source"])["pointer"] != "/consent_token" {
			t.Errorf("error %v, want pointer /consent_token", e)
		}
		a := r.run(t, sec, refToken, consentToken)
		want(t, a, 200)
		m := a.json(t)
		ru, err := url.Parse(m["redirect_uri"].(string))
		if err != nil || len(m) != 1 {
			t.Fatalf("answer %v", m)
		}
		q := ru.Query()
		if !strings.HasPrefix(ru.String(), "http://127.0.0.1:9999/callback?") || q.Get("code") == "" || q.Get("state") != "st-1" || q.Get("iss") != s.URL {
			t.Errorf("redirect_uri %s", ru)
		}
		// Single use.
		apiError(t, r.run(t, sec, refToken, consentToken), 422, "10027")
	})

	var grantID string
	step("List OAuth grants", func(t *testing.T, sec section) {
		a := r.run(t, sec)
		want(t, a, 200)
		m := a.json(t)
		data, _ := m["data"].([]any)
		if len(data) != 1 {
			t.Fatalf("data %v, want the one grant", data)
		}
		g := object(t, data[0])
		has(t, g, "client_id", "created_at", "id", "last_used_at", "record_type", "scopes")
		grantID, _ = g["id"].(string)
		if g["record_type"] != "oauth_grant" || g["client_id"] != app.ClientID || !uuidRE.MatchString(grantID) {
			t.Errorf("grant %v", g)
		}
		has(t, object(t, m["meta"]), "page_number", "page_size", "total_pages", "total_results")
	})
	step("Get OAuth grant", func(t *testing.T, sec section) {
		apiError(t, r.run(t, sec), 404, "10005")
		a := r.run(t, sec, refID, grantID)
		want(t, a, 200)
		if d := object(t, a.json(t)["data"]); d["id"] != grantID || d["record_type"] != "oauth_grant" {
			t.Errorf("data %v", d)
		}
	})
	step("Revoke OAuth grant", func(t *testing.T, sec section) {
		apiError(t, r.run(t, sec), 404, "10005")
		a := r.run(t, sec, refID, grantID)
		want(t, a, 200)
		if d := object(t, a.json(t)["data"]); d["id"] != grantID || d["client_id"] != app.ClientID {
			t.Errorf("data %v", d)
		}
		// Gone.
		apiError(t, r.run(t, sec, refID, grantID), 404, "10005")
	})
	step("Delete OAuth client", func(t *testing.T, sec section) {
		apiError(t, r.run(t, sec), 404, "10005")
		a := r.run(t, sec, refID, clientID)
		want(t, a, 204)
		if len(a.body) != 0 {
			t.Errorf("204 with a body: %s", a.body)
		}
		apiError(t, r.run(t, sec, refID, clientID), 404, "10005")
	})

	// Every request of the reference has a step.
	for title := range ref {
		if !slices.Contains(done, title) {
			t.Errorf("the reference's request %q has no step", title)
		}
	}
}
