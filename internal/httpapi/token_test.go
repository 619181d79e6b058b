package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/httpapi"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/token"
)

// testVerifier is the code_verifier of RFC 7636 Appendix B.
const testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

// codeSpec is what an authorization request carried; mintCode stores the
// code the authorize flow would have made for it.
type codeSpec struct {
	redirectURI string // as sent to authorize; "" when none was
	challenge   string // S256; "" without PKCE
	resource    string
	scopes      []string
}

func (e *testEnv) mintCode(t testing.TB, g grantd.Grant, spec codeSpec) string {
	t.Helper()
	code, hash := token.NewOpaque(token.PrefixAuthCode)
	now := e.Clock.Now()
	scopes := spec.scopes
	if scopes == nil {
		scopes = g.Scopes
	}
	err := e.Store.CreateAuthCode(context.Background(), grantd.AuthCode{
		Hash: hash, ClientID: g.ClientID, UserID: g.UserID, GrantID: g.ID,
		RedirectURI: spec.redirectURI, Scopes: scopes, Resource: spec.resource, CodeChallenge: spec.challenge,
		CreatedAt: now, ExpiresAt: now.Add(60 * time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// codeFlow is a public client with a grant, ready to redeem codes.
type codeFlow struct {
	env    *testEnv
	user   grantd.User
	client grantd.Client
	grant  grantd.Grant
}

func newCodeFlow(t testing.TB, env *testEnv, spec clientSpec) codeFlow {
	t.Helper()
	u := env.createUser(t, fmt.Sprintf("user%d@example.com", time.Now().UnixNano()))
	spec.Public = true
	c, _ := env.createClient(t, u, spec)
	g := env.createGrant(t, u, c, "read", "write")
	return codeFlow{env: env, user: u, client: c, grant: g}
}

// code mints a code with PKCE and the client's redirect URI.
func (f codeFlow) code(t testing.TB) string {
	return f.env.mintCode(t, f.grant, codeSpec{redirectURI: f.client.RedirectURIs[0], challenge: oauth.S256(testVerifier)})
}

func (f codeFlow) redeem(t testing.TB, code string) *httptest.ResponseRecorder {
	return f.env.postForm(t, "/v2/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "client_id": {f.client.ID},
		"redirect_uri": {f.client.RedirectURIs[0]}, "code_verifier": {testVerifier},
	}, "", "")
}

func (f codeFlow) refresh(t testing.TB, rt string, extra url.Values) *httptest.ResponseRecorder {
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {f.client.ID}}
	for k, vs := range extra {
		v[k] = vs
	}
	return f.env.postForm(t, "/v2/oauth/token", v, "", "")
}

// wireToken is a token answer as a client decodes it.
type wireToken struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    *int64 `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
}

// tokenOK checks a successful token answer and decodes it.
func tokenOK(t testing.TB, rec *httptest.ResponseRecorder) wireToken {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
	}
	checkTokenHeaders(t, rec.Result().Header)
	var tok wireToken
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn == nil || *tok.ExpiresIn != 1800 {
		t.Fatalf("token answer %s: want access_token, token_type Bearer, expires_in 1800", rec.Body)
	}
	if _, ok := decodeJSON(t, rec.Body.Bytes())["scope"].(string); !ok {
		t.Fatalf("token answer %s: scope is not a string", rec.Body)
	}
	return tok
}

// checkTokenHeaders checks what every answer of the token endpoint
// carries, success or error.
func checkTokenHeaders(t testing.TB, h http.Header) {
	t.Helper()
	if got := h.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := h.Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", got)
	}
}

// oauthErr checks an RFC 6749 error answer: the status, the code, and a
// WWW-Authenticate header exactly for invalid_client.
func oauthErr(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if got := decodeJSON(t, rec.Body.Bytes())["error"]; got != code {
		t.Fatalf("error %v, want %s: %s", got, code, rec.Body)
	}
	www := rec.Header().Get("WWW-Authenticate")
	if code == "invalid_client" && www != `Basic realm="grantd"` {
		t.Errorf("WWW-Authenticate = %q, want Basic", www)
	}
	if code != "invalid_client" && www != "" {
		t.Errorf("WWW-Authenticate = %q on %s, want none", www, code)
	}
}

// verifyWithJWKS verifies an access token as a resource server that knows
// nothing but the JWKS document would, and answers its claims.
func verifyWithJWKS(t testing.TB, client *http.Client, jwksURL, tok string) map[string]any {
	t.Helper()
	res, err := client.Get(jwksURL)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res.Body)
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("JWKS Content-Type = %q", ct)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS: %v: %s", err, body)
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.Signatures[0].Header
	if typ := h.ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
		t.Errorf("typ = %v, want at+jwt", typ)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q is in the JWKS %d times", h.KeyID, len(keys))
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	return decodeJSON(t, payload)
}

func TestClientCredentialsEndToEnd(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	owner := env.createUser(t, "owner@example.com")
	c, secret := env.createClient(t, owner, clientSpec{Scopes: []string{"read", "write"}})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, env.HTTP)

	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cc := clientcredentials.Config{
			ClientID: c.ID, ClientSecret: secret, TokenURL: env.URL + "/v2/oauth/token",
			Scopes: []string{"read"}, AuthStyle: style,
		}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("auth style %d: %v", style, err)
		}
		if tok.TokenType != "Bearer" || tok.RefreshToken != "" {
			t.Errorf("token type %q, refresh token %q: want Bearer and none", tok.TokenType, tok.RefreshToken)
		}
		if got := tok.Extra("scope"); got != "read" {
			t.Errorf("scope = %v, want read", got)
		}

		claims := verifyWithJWKS(t, env.HTTP, env.URL+"/v2/oauth/jwks", tok.AccessToken)
		now := env.Clock.Now().Unix()
		want := map[string]any{
			"iss": env.URL, "sub": c.ID, "aud": env.URL, "client_id": c.ID, "scope": "read",
			"iat": float64(now), "exp": float64(now + 1800),
		}
		for k, v := range want {
			if claims[k] != v {
				t.Errorf("claim %s = %v, want %v", k, claims[k], v)
			}
		}
		if jti, _ := claims["jti"].(string); len(jti) < 22 {
			t.Errorf("jti = %v, want a random string", claims["jti"])
		}
		if _, ok := claims["grant_id"]; ok {
			t.Error("a client_credentials token has a grant_id")
		}

		introspect := func() map[string]any {
			res, err := env.HTTP.PostForm(env.URL+"/v2/oauth/introspect", url.Values{
				"token": {tok.AccessToken}, "client_id": {c.ID}, "client_secret": {secret},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusOK {
				t.Fatalf("introspect: status %d", res.StatusCode)
			}
			return decodeJSON(t, readAll(t, res.Body))
		}
		in := introspect()
		if in["active"] != true || in["client_id"] != c.ID || in["sub"] != c.ID || in["scope"] != "read" ||
			in["token_type"] != "access_token" || in["iss"] != env.URL || in["aud"] != env.URL || in["exp"] != float64(now+1800) {
			t.Errorf("introspection of a live token: %v", in)
		}

		req, _ := http.NewRequest(http.MethodPost, env.URL+"/v2/oauth/revoke", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ID, secret)
		res, err := env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("revoke: status %d", res.StatusCode)
		}
		if in := introspect(); len(in) != 1 || in["active"] != false {
			t.Errorf("introspection after revocation: %v, want only active false", in)
		}
	}
}

// TestClientCredentialsWritesNothing holds SPEC §5: issuing a
// client_credentials token needs no database write. The database and its
// write-ahead log must be byte for byte what they were.
func TestClientCredentialsWritesNothing(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	owner := env.createUser(t, "owner@example.com")
	c, secret := env.createClient(t, owner, clientSpec{})
	files := func() string {
		var b strings.Builder
		for _, p := range []string{env.DBPath, env.DBPath + "-wal"} {
			data, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			b.Write(data)
		}
		return b.String()
	}
	before := files()
	for range 20 {
		tokenOK(t, env.postForm(t, "/v2/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, secret))
	}
	if files() != before {
		t.Error("the client_credentials grant wrote to the database")
	}
	// The comparison does see a write.
	env.createUser(t, "another@example.com")
	if files() == before {
		t.Fatal("a write left the database files unchanged: the check above proves nothing")
	}
}

func TestClientCredentialsScopeAndAudience(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	owner := env.createUser(t, "owner@example.com")
	c, secret := env.createClient(t, owner, clientSpec{Scopes: []string{"write", "read"}})
	tests := []struct {
		name      string
		params    url.Values
		wantScope string
		wantAud   string
	}{
		{"defaults to the allowed scopes and the issuer", url.Values{}, "write read", goldenIssuer},
		{"narrower scope", url.Values{"scope": {"read"}}, "read", goldenIssuer},
		{"blank scope is the default", url.Values{"scope": {"  "}}, "write read", goldenIssuer},
		{"configured resource", url.Values{"resource": {testResource}}, "write read", testResource},
		{"resource matched after normalisation", url.Values{"resource": {"HTTPS://API.Example.com:443/v1"}}, "write read", testResource},
		{"the API itself", url.Values{"resource": {goldenIssuer + "/v2"}}, "write read", goldenIssuer + "/v2"},
		{"issuer with an empty path", url.Values{"resource": {goldenIssuer + "/"}}, "write read", goldenIssuer},
		{"percent-encoded unreserved characters", url.Values{"resource": {goldenIssuer + "/%76%32"}}, "write read", goldenIssuer + "/v2"},
		{"dot-segments", url.Values{"resource": {"https://api.example.com/x/../v1"}}, "write read", testResource},
		{"empty resource is none", url.Values{"resource": {""}}, "write read", goldenIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.params.Set("grant_type", "client_credentials")
			tok := tokenOK(t, env.postForm(t, "/v2/oauth/token", tt.params, c.ID, secret))
			if tok.Scope != tt.wantScope {
				t.Errorf("scope = %q, want %q", tok.Scope, tt.wantScope)
			}
			claims, err := env.Keys.Verify(context.Background(), tok.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if claims.Audience != tt.wantAud || claims.Scope != tt.wantScope {
				t.Errorf("aud %q scope %q, want %q %q", claims.Audience, claims.Scope, tt.wantAud, tt.wantScope)
			}
		})
	}
}

func TestTokenBodies(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	owner := env.createUser(t, "owner@example.com")
	c, secret := env.createClient(t, owner, clientSpec{})
	tests := []struct {
		name, contentType, body string
	}{
		{"form", "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=read&client_id=" + c.ID + "&client_secret=" + secret},
		{"form with charset", "application/x-www-form-urlencoded; charset=UTF-8", "grant_type=client_credentials&client_id=" + c.ID + "&client_secret=" + secret},
		{"json", "application/json", `{"grant_type":"client_credentials","scope":"read","client_id":"` + c.ID + `","client_secret":"` + secret + `"}`},
		{"json without content type", "", ` {"grant_type":"client_credentials","client_id":"` + c.ID + `","client_secret":"` + secret + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v2/oauth/token", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			tokenOK(t, env.do(r))
		})
	}
}

// TestTokenErrors pins the status, the error code, the headers and the
// body of each way a token request fails.
func TestTokenErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	owner := env.createUser(t, "owner@example.com")
	conf, secret := env.createClient(t, owner, clientSpec{Scopes: []string{"read"}})
	codeOnly, codeSecret := env.createClient(t, owner, clientSpec{GrantTypes: []string{grantd.GrantAuthorizationCode}})
	public, _ := env.createClient(t, owner, clientSpec{Public: true})
	cc := "grant_type=client_credentials"
	basic := func(id, pw string) string {
		return "Basic " + basicValue(id, pw)
	}

	tests := []struct {
		name        string
		contentType string // default form
		auth        string // Authorization header
		body        string
		status      int
		code        string
	}{
		{"missing grant_type", "", basic(conf.ID, secret), "scope=read", 400, "invalid_request"},
		{"unsupported grant_type", "", basic(conf.ID, secret), "grant_type=password&username=a&password=b", 400, "unsupported_grant_type"},
		{"no client authentication", "", "", cc, 401, "invalid_client"},
		{"unknown client", "", basic("nosuchclient", "x"), cc, 401, "invalid_client"},
		{"wrong secret", "", basic(conf.ID, "grantd_secret_wrong"), cc, 401, "invalid_client"},
		{"wrong secret in the body", "", "", cc + "&client_id=" + conf.ID + "&client_secret=wrong", 401, "invalid_client"},
		{"confidential client without its secret", "", "", cc + "&client_id=" + conf.ID, 401, "invalid_client"},
		{"malformed Basic header", "", "Basic !!!", cc, 401, "invalid_client"},
		{"Basic and client_secret at once", "", basic(conf.ID, secret), cc + "&client_secret=" + secret, 400, "invalid_request"},
		{"client_id disagrees with Basic", "", basic(conf.ID, secret), cc + "&client_id=" + public.ID, 400, "invalid_request"},
		{"client_secret without client_id", "", "", cc + "&client_secret=" + secret, 400, "invalid_request"},
		{"public client asks for client_credentials", "", "", cc + "&client_id=" + public.ID, 400, "unauthorized_client"},
		{"client not allowed client_credentials", "", basic(codeOnly.ID, codeSecret), cc, 400, "unauthorized_client"},
		{"scope wider than allowed", "", basic(conf.ID, secret), cc + "&scope=read+admin", 400, "invalid_scope"},
		{"scope not in the catalog", "", basic(conf.ID, secret), cc + "&scope=nosuchscope", 400, "invalid_scope"},
		{"malformed scope", "", basic(conf.ID, secret), cc + "&scope=%22read%22", 400, "invalid_scope"},
		{"unknown resource", "", basic(conf.ID, secret), cc + "&resource=https%3A%2F%2Fevil.example%2F", 400, "invalid_target"},
		{"relative resource", "", basic(conf.ID, secret), cc + "&resource=%2Fv2", 400, "invalid_target"},
		{"two resources", "", basic(conf.ID, secret), cc + "&resource=" + url.QueryEscape(testResource) + "&resource=" + url.QueryEscape(goldenIssuer), 400, "invalid_target"},
		{"repeated parameter", "", basic(conf.ID, secret), cc + "&scope=read&scope=read", 400, "invalid_request"},
		{"repeated grant_type", "", basic(conf.ID, secret), cc + "&" + cc, 400, "invalid_request"},
		{"wrong content type", "text/plain", basic(conf.ID, secret), cc, 400, "invalid_request"},
		{"malformed JSON", "application/json", basic(conf.ID, secret), `{"grant_type":`, 400, "invalid_request"},
		{"JSON array value", "application/json", basic(conf.ID, secret), `{"grant_type":"client_credentials","scope":["read"]}`, 400, "invalid_request"},
		{"repeated JSON member", "application/json", basic(conf.ID, secret), `{"grant_type":"client_credentials","scope":"read","scope":"read"}`, 400, "invalid_request"},
		{"two resources in JSON", "application/json", basic(conf.ID, secret), `{"grant_type":"client_credentials","resource":"` + testResource + `","resource":"` + goldenIssuer + `"}`, 400, "invalid_target"},
		{"JSON array of resources", "application/json", basic(conf.ID, secret), `{"grant_type":"client_credentials","resource":["` + testResource + `","` + goldenIssuer + `"]}`, 400, "invalid_target"},
		{"malformed form", "", basic(conf.ID, secret), "grant_type=%zz", 400, "invalid_request"},
		{"invalid UTF-8", "", basic(conf.ID, secret), cc + "&scope=\xff", 400, "invalid_request"},
		{"code missing", "", basic(codeOnly.ID, codeSecret), "grant_type=authorization_code", 400, "invalid_request"},
		{"unknown code", "", basic(codeOnly.ID, codeSecret), "grant_type=authorization_code&code=grantd_code_nope", 400, "invalid_grant"},
		{"refresh not allowed", "", basic(codeOnly.ID, codeSecret), "grant_type=refresh_token&refresh_token=grantd_rt_nope", 400, "unauthorized_client"},
		{"refresh_token missing", "", "", "grant_type=refresh_token&client_id=" + public.ID, 400, "invalid_request"},
		{"unknown refresh token", "", "", "grant_type=refresh_token&refresh_token=grantd_rt_nope&client_id=" + public.ID, 400, "invalid_grant"},
		{"not a refresh token", "", "", "grant_type=refresh_token&refresh_token=abc&client_id=" + public.ID, 400, "invalid_grant"},
	}
	var golden strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v2/oauth/token", strings.NewReader(tt.body))
			ct := tt.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			r.Header.Set("Content-Type", ct)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			rec := env.do(r)
			oauthErr(t, rec, tt.status, tt.code)
			checkTokenHeaders(t, rec.Result().Header)
			fmt.Fprintf(&golden, "%s\n%d %s\n\n", tt.name, rec.Code, strings.TrimSpace(rec.Body.String()))
		})
	}
	checkGolden(t, "token_errors.golden", []byte(golden.String()))
}

func basicValue(id, pw string) string {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(pw))
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

func TestTokenMethodAndSize(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	rec := env.do(httptest.NewRequest(http.MethodGet, "/v2/oauth/token", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "OPTIONS, POST" {
		t.Errorf("GET: status %d Allow %q, want 405 OPTIONS, POST", rec.Code, rec.Header().Get("Allow"))
	}
	oauthErr(t, rec, 405, "invalid_request")

	big := "grant_type=client_credentials&scope=" + strings.Repeat("a", httpapi.MaxBody)
	r := httptest.NewRequest(http.MethodPost, "/v2/oauth/token", strings.NewReader(big))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = env.do(r)
	oauthErr(t, rec, http.StatusRequestEntityTooLarge, "invalid_request")
	checkTokenHeaders(t, rec.Result().Header)

	// Without a Content-Length the limit holds while reading.
	r = httptest.NewRequest(http.MethodPost, "/v2/oauth/token", struct{ *strings.Reader }{strings.NewReader(big)})
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	oauthErr(t, env.do(r), http.StatusRequestEntityTooLarge, "invalid_request")
}

func TestAuthorizationCode(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	f := newCodeFlow(t, env, clientSpec{})
	tok := tokenOK(t, f.redeem(t, f.code(t)))
	if tok.Scope != "read write" || !token.HasPrefix(tok.RefreshToken, token.PrefixRefreshToken) {
		t.Fatalf("scope %q refresh %q", tok.Scope, tok.RefreshToken)
	}
	claims, err := env.Keys.Verify(context.Background(), tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != f.user.ID || claims.ClientID != f.client.ID || claims.GrantID != f.grant.ID || claims.Audience != goldenIssuer {
		t.Errorf("claims %+v", claims)
	}
	g, err := env.Store.GetGrant(context.Background(), f.grant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.LastUsedAt == nil || !g.LastUsedAt.Equal(env.Clock.Now()) {
		t.Errorf("grant last_used_at = %v, want %v", g.LastUsedAt, env.Clock.Now())
	}

	in := introspect(t, env, tok.RefreshToken)
	if in["active"] != true || in["token_type"] != "refresh_token" || in["sub"] != f.user.ID || in["client_id"] != f.client.ID ||
		in["scope"] != "read write" || in["aud"] != goldenIssuer || in["iss"] != goldenIssuer ||
		in["exp"] != float64(env.Clock.Now().Add(30*24*time.Hour).Unix()) || in["iat"] != float64(env.Clock.Now().Unix()) {
		t.Errorf("introspection of the refresh token: %v", in)
	}
}

func TestAuthorizationCodeWithoutRefresh(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	f := newCodeFlow(t, env, clientSpec{GrantTypes: []string{grantd.GrantAuthorizationCode}})
	rec := f.redeem(t, f.code(t))
	tokenOK(t, rec)
	if strings.Contains(rec.Body.String(), "refresh_token") {
		t.Errorf("a client not allowed refresh_token got one: %s", rec.Body)
	}
}

func TestAuthorizationCodeErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	f := newCodeFlow(t, env, clientSpec{})
	redirect := f.client.RedirectURIs[0]
	other, _ := env.createClient(t, f.user, clientSpec{Public: true})
	withPKCE := codeSpec{redirectURI: redirect, challenge: oauth.S256(testVerifier)}

	tests := []struct {
		name    string
		spec    codeSpec
		params  url.Values // overrides of the correct redemption
		advance time.Duration
		code    string
	}{
		{"wrong verifier", withPKCE, url.Values{"code_verifier": {strings.Repeat("a", 43)}}, 0, "invalid_grant"},
		{"malformed verifier", withPKCE, url.Values{"code_verifier": {"short"}}, 0, "invalid_grant"},
		{"missing verifier", withPKCE, url.Values{"code_verifier": {""}}, 0, "invalid_grant"},
		{"verifier without a challenge", codeSpec{redirectURI: redirect}, nil, 0, "invalid_grant"},
		{"public client without PKCE", codeSpec{redirectURI: redirect}, url.Values{"code_verifier": {""}}, 0, "invalid_grant"},
		{"wrong redirect_uri", withPKCE, url.Values{"redirect_uri": {redirect + "x"}}, 0, "invalid_grant"},
		{"missing redirect_uri", withPKCE, url.Values{"redirect_uri": {""}}, 0, "invalid_grant"},
		{"redirect_uri not sent at authorize", codeSpec{challenge: oauth.S256(testVerifier)}, nil, 0, "invalid_grant"},
		{"expired", withPKCE, nil, 61 * time.Second, "invalid_grant"},
		{"another client's code", withPKCE, url.Values{"client_id": {other.ID}}, 0, "invalid_grant"},
		{"resource not granted", withPKCE, url.Values{"resource": {testResource}}, 0, "invalid_target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := env.mintCode(t, f.grant, tt.spec)
			env.Clock.Advance(tt.advance)
			v := url.Values{
				"grant_type": {"authorization_code"}, "code": {code}, "client_id": {f.client.ID},
				"redirect_uri": {redirect}, "code_verifier": {testVerifier},
			}
			for k, vs := range tt.params {
				if vs[0] == "" {
					v.Del(k)
				} else {
					v[k] = vs
				}
			}
			rec := env.postForm(t, "/v2/oauth/token", v, "", "")
			oauthErr(t, rec, 400, tt.code)
			checkTokenHeaders(t, rec.Result().Header)
		})
	}

	// A failed redemption writes nothing: the code still works.
	code := f.code(t)
	oauthErr(t, f.env.postForm(t, "/v2/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "client_id": {f.client.ID},
		"redirect_uri": {redirect}, "code_verifier": {strings.Repeat("b", 43)},
	}, "", ""), 400, "invalid_grant")
	tokenOK(t, f.redeem(t, code))
}

func TestAuthorizationCodeResource(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	f := newCodeFlow(t, env, clientSpec{})
	redirect := f.client.RedirectURIs[0]
	code := env.mintCode(t, f.grant, codeSpec{redirectURI: redirect, challenge: oauth.S256(testVerifier), resource: testResource})
	tok := tokenOK(t, env.postForm(t, "/v2/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "client_id": {f.client.ID},
		"redirect_uri": {redirect}, "code_verifier": {testVerifier}, "resource": {"https://API.example.com/v1"},
	}, "", ""))
	if c, _ := env.Keys.Verify(context.Background(), tok.AccessToken); c.Audience != testResource {
		t.Errorf("aud = %q, want %q", c.Audience, testResource)
	}
	// The refresh token keeps the audience, and refuses another.
	tok = tokenOK(t, f.refresh(t, tok.RefreshToken, nil))
	if c, _ := env.Keys.Verify(context.Background(), tok.AccessToken); c.Audience != testResource {
		t.Errorf("refreshed aud = %q, want %q", c.Audience, testResource)
	}
	oauthErr(t, f.refresh(t, tok.RefreshToken, url.Values{"resource": {goldenIssuer}}), 400, "invalid_target")
	tok = tokenOK(t, f.refresh(t, tok.RefreshToken, url.Values{"resource": {testResource}}))
	oauthErr(t, f.refresh(t, tok.RefreshToken, url.Values{"resource": {testResource, testResource}}), 400, "invalid_target")
}

// TestAuthorizationCodeReuse: a second use fails, and what the first use
// issued dies with it.
func TestAuthorizationCodeReuse(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	f := newCodeFlow(t, env, clientSpec{})
	code := f.code(t)
	first := tokenOK(t, f.redeem(t, code))
	if in := introspect(t, env, first.AccessToken); in["active"] != true {
		t.Fatalf("first access token: %v", in)
	}
	oauthErr(t, f.redeem(t, code), 400, "invalid_grant")
	if in := introspect(t, env, first.AccessToken); in["active"] != false {
		t.Errorf("first access token after reuse: %v, want inactive", in)
	}
	oauthErr(t, f.refresh(t, first.RefreshToken, nil), 400, "invalid_grant")
	if _, err := env.Store.GetGrant(context.Background(), f.grant.ID); err != nil {
		t.Errorf("the grant is gone after code reuse: %v", err)
	}
}

// concurrently runs n requests at once and answers their statuses.
func concurrently(n int, do func() int) map[int]int {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[int]int{}
		start  = make(chan struct{})
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st := do()
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

func TestConcurrentCodeRedemption(t *testing.T) {
	t.Parallel()
	// 49 losers from one address are past its failure limit
	// (TestRefreshTokenBruteForce); this test is about the store's race.
	env := newTestEnv(t, withIssuer(goldenIssuer), withLimits(unlimited{}))
	f := newCodeFlow(t, env, clientSpec{})
	code := f.code(t)
	counts := concurrently(50, func() int { return f.redeem(t, code).Code })
	if counts[200] != 1 || counts[400] != 49 {
		t.Errorf("statuses %v, want one 200 and 49 400", counts)
	}
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	f := newCodeFlow(t, env, clientSpec{})
	t0 := tokenOK(t, f.redeem(t, f.code(t)))

	env.Clock.Advance(time.Minute)
	t1 := tokenOK(t, f.refresh(t, t0.RefreshToken, nil))
	if t1.RefreshToken == t0.RefreshToken || t1.AccessToken == t0.AccessToken || t1.Scope != "read write" {
		t.Fatalf("refresh answered %+v", t1)
	}
	if in := introspect(t, env, t0.RefreshToken); in["active"] != false {
		t.Errorf("rotated-out refresh token: %v, want inactive", in)
	}
	g, _ := env.Store.GetGrant(context.Background(), f.grant.ID)
	if g.LastUsedAt == nil || !g.LastUsedAt.Equal(env.Clock.Now()) {
		t.Errorf("grant last_used_at = %v, want %v", g.LastUsedAt, env.Clock.Now())
	}

	// Narrowing applies to the access token only; wider is refused.
	t2 := tokenOK(t, f.refresh(t, t1.RefreshToken, url.Values{"scope": {"read"}}))
	if t2.Scope != "read" {
		t.Errorf("narrowed scope = %q", t2.Scope)
	}
	oauthErr(t, f.refresh(t, t2.RefreshToken, url.Values{"scope": {"read admin"}}), 400, "invalid_scope")
	t3 := tokenOK(t, f.refresh(t, t2.RefreshToken, nil))
	if t3.Scope != "read write" {
		t.Errorf("scope after a narrowed refresh = %q, want the granted read write", t3.Scope)
	}

	// Reuse of t0's refresh token: refused, and every token under the
	// grant dies, but the grant stays.
	oauthErr(t, f.refresh(t, t0.RefreshToken, nil), 400, "invalid_grant")
	oauthErr(t, f.refresh(t, t3.RefreshToken, nil), 400, "invalid_grant")
	for _, tok := range []string{t0.AccessToken, t1.AccessToken, t2.AccessToken, t3.AccessToken, t3.RefreshToken} {
		if in := introspect(t, env, tok); in["active"] != false {
			t.Errorf("token after reuse: %v, want inactive", in)
		}
	}
	if _, err := env.Store.GetGrant(context.Background(), f.grant.ID); err != nil {
		t.Errorf("the grant is gone after refresh reuse: %v", err)
	}
	// The consent stands: a new code works.
	tokenOK(t, f.redeem(t, f.code(t)))
}

func TestRefreshErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	f := newCodeFlow(t, env, clientSpec{})
	other := newCodeFlow(t, env, clientSpec{})
	tok := tokenOK(t, f.redeem(t, f.code(t)))

	// Another client's refresh token: refused, and left working.
	oauthErr(t, other.refresh(t, tok.RefreshToken, nil), 400, "invalid_grant")
	tok = tokenOK(t, f.refresh(t, tok.RefreshToken, nil))

	// Expired: the refresh token lives 30 days from its issue.
	env.Clock.Advance(30*24*time.Hour + time.Second)
	oauthErr(t, f.refresh(t, tok.RefreshToken, nil), 400, "invalid_grant")
}

// TestRefreshGrace: over HTTP, a retry within grace of a rotation whose
// answer the client lost answers that answer again: the same refresh
// token and an access token with the same claims (jti included), with
// what is left of its lifetime. Past the window it is reuse.
func TestRefreshGrace(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer), withConfig(func(c *oauth.Config) { c.RefreshGrace = 5 * time.Second }))
	f := newCodeFlow(t, env, clientSpec{})
	t0 := tokenOK(t, f.redeem(t, f.code(t)))
	lost := tokenOK(t, f.refresh(t, t0.RefreshToken, nil))

	env.Clock.Advance(3 * time.Second)
	rec := f.refresh(t, t0.RefreshToken, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("retry: status %d: %s", rec.Code, rec.Body)
	}
	checkTokenHeaders(t, rec.Result().Header)
	var retry wireToken
	if err := json.Unmarshal(rec.Body.Bytes(), &retry); err != nil {
		t.Fatal(err)
	}
	if retry.RefreshToken != lost.RefreshToken {
		t.Errorf("the retry got refresh token %q, want the lost %q", retry.RefreshToken, lost.RefreshToken)
	}
	got, want := accessClaims(t, env, retry.AccessToken), accessClaims(t, env, lost.AccessToken)
	if got != want {
		t.Errorf("the retry's access token claims %+v, want the lost one's %+v", got, want)
	}
	if retry.ExpiresIn == nil || *retry.ExpiresIn != 1797 || retry.Scope != lost.Scope || retry.TokenType != "Bearer" {
		t.Errorf("the retry answered %s, want expires_in 1797 and scope %q", rec.Body, lost.Scope)
	}
	if in := introspect(t, env, lost.RefreshToken); in["active"] != true {
		t.Errorf("the successor after a retry: %v", in)
	}

	// Past the window it is reuse, and takes the successor with it.
	env.Clock.Advance(3 * time.Second)
	oauthErr(t, f.refresh(t, t0.RefreshToken, nil), 400, "invalid_grant")
	oauthErr(t, f.refresh(t, lost.RefreshToken, nil), 400, "invalid_grant")
}

// accessClaims answers the verified claims of one of the server's access
// tokens.
func accessClaims(t testing.TB, env *testEnv, at string) token.AccessClaims {
	t.Helper()
	c, err := env.Keys.Verify(t.Context(), at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// loseFirstAnswer is an HTTP transport that delivers the first request
// and then loses its answer, as a server killed between its commit and
// its write (or a dropped connection) would: the client sees an error.
type loseFirstAnswer struct {
	mu   sync.Mutex
	lost []byte // the body of the answer the client never saw
	next http.RoundTripper
}

func (l *loseFirstAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := l.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return res, nil
	}
	defer res.Body.Close()
	if l.lost, err = io.ReadAll(res.Body); err != nil {
		return nil, err
	}
	return nil, errors.New("connection reset by peer (the test lost the answer)")
}

// TestRefreshRetryOAuth2: golang.org/x/oauth2's TokenSource refreshes,
// loses the answer, and on its next Token call refreshes again with the
// refresh token it still holds, as it does. With grace the second refresh
// gets the answer the first lost, and the successor goes on working.
func TestRefreshRetryOAuth2(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withConfig(func(c *oauth.Config) { c.RefreshGrace = 5 * time.Second }))
	f := newCodeFlow(t, env, clientSpec{})
	t0 := tokenOK(t, f.redeem(t, f.code(t)))

	lose := &loseFirstAnswer{next: env.HTTP.Transport}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: lose, Timeout: 10 * time.Second})
	conf := oauth2.Config{ClientID: f.client.ID, Endpoint: oauth2.Endpoint{TokenURL: env.URL + "/v2/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	ts := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: t0.RefreshToken, Expiry: time.Now().Add(-time.Hour)})

	if tok, err := ts.Token(); err == nil {
		t.Fatalf("the first refresh answered %+v, want the lost answer's error", tok)
	}
	var lost wireToken
	if err := json.Unmarshal(lose.lost, &lost); err != nil || lost.RefreshToken == "" {
		t.Fatalf("the lost answer %s: %v", lose.lost, err)
	}

	env.Clock.Advance(2 * time.Second)
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("the retry: %v", err)
	}
	if tok.RefreshToken != lost.RefreshToken {
		t.Errorf("the retry got refresh token %q, want the lost %q", tok.RefreshToken, lost.RefreshToken)
	}
	if accessClaims(t, env, tok.AccessToken).JTI != accessClaims(t, env, lost.AccessToken).JTI {
		t.Error("the retry's access token is not the lost one")
	}
	if introspect(t, env, t0.AccessToken)["active"] != true || introspect(t, env, tok.AccessToken)["active"] != true {
		t.Error("the retry revoked tokens")
	}

	// The successor refreshes as usual.
	next, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil {
		t.Fatalf("refresh with the successor: %v", err)
	}
	if next.RefreshToken == tok.RefreshToken || next.RefreshToken == "" {
		t.Errorf("the successor did not rotate: %+v", next)
	}
}

func TestConcurrentRefresh(t *testing.T) {
	t.Parallel()
	// 49 losers from one address are past its failure limit
	// (TestRefreshTokenBruteForce); this test is about the store's race.
	env := newTestEnv(t, withIssuer(goldenIssuer), withLimits(unlimited{}))
	f := newCodeFlow(t, env, clientSpec{})
	tok := tokenOK(t, f.redeem(t, f.code(t)))
	counts := concurrently(50, func() int { return f.refresh(t, tok.RefreshToken, nil).Code })
	if counts[200] != 1 || counts[400] != 49 {
		t.Errorf("statuses %v, want one 200 and 49 400", counts)
	}
}

// TestKeyRotation: a token signed before a rotation verifies after it,
// and once the new key activates new tokens carry its kid.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	owner := env.createUser(t, "owner@example.com")
	c, secret := env.createClient(t, owner, clientSpec{})
	issue := func() (string, string) {
		tok := tokenOK(t, env.postForm(t, "/v2/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, secret)).AccessToken
		jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		return tok, jws.Signatures[0].Header.KeyID
	}
	before, oldKid := issue()

	next, err := env.Keys.Rotate(context.Background(), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, kid := issue(); kid != oldKid {
		t.Errorf("a pending key signed: kid %s", kid)
	}
	jwks := env.do(httptest.NewRequest(http.MethodGet, "/v2/oauth/jwks", nil)).Body.String()
	if !strings.Contains(jwks, oldKid) || !strings.Contains(jwks, next.ID) {
		t.Errorf("JWKS %s does not publish both keys", jwks)
	}

	env.Clock.Advance(6 * time.Minute)
	after, newKid := issue()
	if newKid != next.ID {
		t.Errorf("kid after activation = %s, want %s", newKid, next.ID)
	}
	for _, tok := range []string{before, after} {
		if in := introspect(t, env, tok); in["active"] != true {
			t.Errorf("token after rotation: %v, want active", in)
		}
	}
}

// introspect asks the server about a token as a confidential client of
// its own.
func introspect(t testing.TB, env *testEnv, tok string) map[string]any {
	t.Helper()
	if env.introspector == nil {
		u := env.createUser(t, fmt.Sprintf("introspector%d@example.com", time.Now().UnixNano()))
		c, secret := env.createClient(t, u, clientSpec{})
		env.introspector = &[2]string{c.ID, secret}
	}
	rec := env.postForm(t, "/v2/oauth/introspect", url.Values{"token": {tok}}, env.introspector[0], env.introspector[1])
	if rec.Code != http.StatusOK {
		t.Fatalf("introspect: status %d: %s", rec.Code, rec.Body)
	}
	return decodeJSON(t, rec.Body.Bytes())
}

// FuzzTokenRequest: whatever arrives at the token endpoint, the answer is
// JSON in RFC 6749 form or a token, never a 500.
func FuzzTokenRequest(f *testing.F) {
	env := newTestEnv(f, withIssuer(goldenIssuer), withLimits(unlimited{}))
	owner := env.createUser(f, "owner@example.com")
	c, secret := env.createClient(f, owner, clientSpec{})
	f.Add("application/x-www-form-urlencoded", basicValue(c.ID, secret), "grant_type=client_credentials&scope=read")
	f.Add("application/json", "", `{"grant_type":"client_credentials","client_id":"`+c.ID+`","client_secret":"`+secret+`"}`)
	f.Add("", "", "grant_type=authorization_code&code=x&client_id="+c.ID)
	f.Add("application/x-www-form-urlencoded", "Og==", "grant_type=refresh_token&refresh_token=grantd_rt_x&resource=a&resource=b")
	f.Add("application/json", "", `{"grant_type":null,"scope":1e400,"resource":{}}`)
	// Token exchange, with a real subject token and a client allowed it.
	typ, scopes, gts, res := string(grantd.ClientConfidential), []string{"read"}, []string{grantd.GrantTokenExchange}, []string{testResource}
	x, xSecret, err := env.Provider.CreateClient(context.Background(), owner, oauth.ClientInput{Name: ptr("x"), ClientType: &typ, AllowedScopes: &scopes, AllowedGrantTypes: &gts, TokenExchangeResources: &res})
	if err != nil {
		f.Fatal(err)
	}
	flow := newCodeFlow(f, env, clientSpec{})
	subject := tokenOK(f, flow.redeem(f, flow.code(f))).AccessToken
	exchange := url.Values{"grant_type": {grantd.GrantTokenExchange}, "subject_token": {subject},
		"subject_token_type": {oauth.TokenTypeURIAccess}, "resource": {testResource}, "scope": {"read"}}
	f.Add("application/x-www-form-urlencoded", basicValue(x.ID, xSecret), exchange.Encode())
	f.Add("application/json", "", `{"grant_type":"`+grantd.GrantTokenExchange+`","client_id":"`+x.ID+`","client_secret":"`+xSecret+`","subject_token":"`+subject+`","subject_token_type":"urn:ietf:params:oauth:token-type:jwt","audience":["a","b"],"actor_token":"x"}`)
	f.Fuzz(func(t *testing.T, contentType, basic, body string) {
		r := httptest.NewRequest(http.MethodPost, "/v2/oauth/token", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		if basic != "" {
			r.Header.Set("Authorization", "Basic "+basic)
		}
		rec := env.do(r)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		m := decodeJSON(t, rec.Body.Bytes())
		if _, ok := m["access_token"]; rec.Code == 200 && !ok {
			t.Fatalf("200 without a token: %s", rec.Body)
		}
		if _, ok := m["error"]; rec.Code != 200 && !ok {
			t.Fatalf("%d without an error: %s", rec.Code, rec.Body)
		}
		checkTokenHeaders(t, rec.Result().Header)
	})
}
