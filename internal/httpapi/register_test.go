package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/httpapi"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/token"
)

// wireRegistration is a registration answer as a client decodes it.
type wireRegistration struct {
	ClientID                string   `json:"client_id"`
	ClientIDIssuedAt        *int64   `json:"client_id_issued_at"`
	ClientSecret            string   `json:"client_secret"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at"`
	ClientName              string   `json:"client_name"`
	GrantTypes              []string `json:"grant_types"`
	RedirectURIs            []string `json:"redirect_uris"`
	ResponseTypes           []string `json:"response_types"`
	Scope                   string   `json:"scope"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	RegistrationAccessToken string   `json:"registration_access_token"`
	RegistrationClientURI   string   `json:"registration_client_uri"`
}

// registrationOK checks a successful registration answer (201 for the
// registration, 200 for a read or update) and decodes it.
func registrationOK(t testing.TB, env *testEnv, rec *httptest.ResponseRecorder, status int) (wireRegistration, map[string]any) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	checkTokenHeaders(t, rec.Result().Header)
	m := decodeJSON(t, rec.Body.Bytes())
	noNulls(t, "", m)
	var reg wireRegistration
	if err := json.Unmarshal(rec.Body.Bytes(), &reg); err != nil {
		t.Fatal(err)
	}
	if reg.ClientID == "" || reg.ClientIDIssuedAt == nil || *reg.ClientIDIssuedAt != testStart.Unix() ||
		!strings.HasPrefix(reg.RegistrationAccessToken, token.PrefixRegistrationToken) ||
		reg.RegistrationClientURI != env.URL+"/v2/oauth/register/"+reg.ClientID {
		t.Fatalf("registration answer %s: want client_id, client_id_issued_at, registration_access_token and registration_client_uri", rec.Body)
	}
	for _, k := range []string{"grant_types", "redirect_uris", "response_types"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("%s is not an array: %s", k, rec.Body)
		}
	}
	public := reg.TokenEndpointAuthMethod == grantd.AuthMethodNone
	_, hasExpiry := m["client_secret_expires_at"]
	if public == hasExpiry || (hasExpiry && *reg.ClientSecretExpiresAt != 0) {
		t.Errorf("client_secret_expires_at in %s: want 0 exactly for a confidential client", rec.Body)
	}
	if public && reg.ClientSecret != "" {
		t.Errorf("a public client got a secret: %s", rec.Body)
	}
	return reg, m
}

// noNulls fails on any null in a JSON document (SPEC §8).
func noNulls(t testing.TB, path string, v any) {
	t.Helper()
	switch v := v.(type) {
	case nil:
		t.Errorf("%s is null", path)
	case map[string]any:
		for k, x := range v {
			noNulls(t, path+"/"+k, x)
		}
	case []any:
		for i, x := range v {
			noNulls(t, fmt.Sprintf("%s/%d", path, i), x)
		}
	}
}

// regErr checks a registration error: the status, the code, the
// invalid_fields keys (for invalid_client_metadata), and the headers.
func regErr(t testing.TB, rec *httptest.ResponseRecorder, status int, code string, fields ...string) map[string]any {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	checkTokenHeaders(t, rec.Result().Header)
	m := decodeJSON(t, rec.Body.Bytes())
	noNulls(t, "", m)
	if m["error"] != code || m["error_description"] == "" {
		t.Fatalf("body %s, want error %s with a description", rec.Body, code)
	}
	var got []string
	if f, ok := m["invalid_fields"].(map[string]any); ok {
		for k, msgs := range f {
			if l, ok := msgs.([]any); !ok || len(l) == 0 {
				t.Errorf("invalid_fields.%s = %v, want messages", k, msgs)
			}
			got = append(got, k)
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, fields) {
		t.Errorf("invalid_fields %v, want %v: %s", got, fields, rec.Body)
	}
	if www := rec.Header().Get("WWW-Authenticate"); (status == 401) != (www != "") {
		t.Errorf("WWW-Authenticate = %q on %d", www, status)
	}
	return m
}

// register posts a registration in process.
func (e *testEnv) register(t testing.TB, body string) *httptest.ResponseRecorder {
	t.Helper()
	return e.api(t, http.MethodPost, "/v2/oauth/register", "", body)
}

// TestRegisterAnswer pins one full registration answer, with the random
// values replaced; unknown metadata is ignored on the way.
func TestRegisterAnswer(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	rec := env.register(t, `{
		"client_name": "Acme Dialer",
		"redirect_uris": ["https://app.acme.example/cb", "http://127.0.0.1/cb"],
		"grant_types": ["authorization_code", "refresh_token"],
		"response_types": ["code"],
		"scope": "read write",
		"token_endpoint_auth_method": "client_secret_post",
		"logo_uri": "https://app.acme.example/logo.png",
		"tos_uri": "https://app.acme.example/tos",
		"policy_uri": "https://app.acme.example/privacy",
		"software_id": "4NRB1-0XZABZI9E6-5SM3R",
		"contacts": ["ops@acme.example"],
		"jwks_uri": 42,
		"client_uri": null
	}`)
	reg, _ := registrationOK(t, env, rec, http.StatusCreated)
	if !strings.HasPrefix(reg.ClientSecret, token.PrefixClientSecret) {
		t.Errorf("client_secret = %q", reg.ClientSecret)
	}
	out := strings.NewReplacer(
		reg.ClientID, "CLIENT_ID",
		reg.ClientSecret, "CLIENT_SECRET",
		reg.RegistrationAccessToken, "REGISTRATION_ACCESS_TOKEN",
	).Replace(rec.Body.String())
	checkGolden(t, "register_response.golden", indent(t, []byte(out)))

	stored, err := env.Store.GetClient(context.Background(), reg.ClientID)
	if err != nil || !stored.Registered || stored.UserID != "" || stored.Name != "Acme Dialer" {
		t.Errorf("stored = %+v, %v", stored, err)
	}
}

func TestRegisterDefaultsAndKinds(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))

	t.Run("defaults", func(t *testing.T) {
		reg, m := registrationOK(t, env, env.register(t, `{"redirect_uris":["https://app.example/cb"]}`), http.StatusCreated)
		if !slices.Equal(reg.GrantTypes, []string{"authorization_code"}) || !slices.Equal(reg.ResponseTypes, []string{"code"}) ||
			reg.Scope != "read write" || reg.TokenEndpointAuthMethod != "client_secret_basic" || reg.ClientSecret == "" {
			t.Errorf("answer = %+v", reg)
		}
		for _, k := range []string{"client_name", "logo_uri", "tos_uri", "policy_uri"} {
			if _, ok := m[k]; ok {
				t.Errorf("%s is present without a value", k)
			}
		}
	})
	t.Run("public", func(t *testing.T) {
		reg, m := registrationOK(t, env, env.register(t, `{"token_endpoint_auth_method":"none","redirect_uris":["http://127.0.0.1/cb"],"client_name":"CLI"}`), http.StatusCreated)
		if _, ok := m["client_secret"]; ok || reg.TokenEndpointAuthMethod != "none" || reg.ClientName != "CLI" {
			t.Errorf("answer = %s", m)
		}
		c, _ := env.Store.GetClient(context.Background(), reg.ClientID)
		if !c.Public() || !c.PKCERequired() {
			t.Errorf("stored = %+v, want a public client", c)
		}
	})
	t.Run("client_credentials", func(t *testing.T) {
		reg, _ := registrationOK(t, env, env.register(t, `{"grant_types":["client_credentials"],"scope":"read"}`), http.StatusCreated)
		if len(reg.ResponseTypes) != 0 || len(reg.RedirectURIs) != 0 || reg.Scope != "read" || reg.ClientSecret == "" {
			t.Errorf("answer = %+v", reg)
		}
	})
	t.Run("null is omitted", func(t *testing.T) {
		reg, _ := registrationOK(t, env, env.register(t, `{"redirect_uris":["https://app.example/cb"],"client_name":null,"scope":null,"grant_types":null,"logo_uri":null,"x":1}`), http.StatusCreated)
		if reg.Scope != "read write" || !slices.Equal(reg.GrantTypes, []string{"authorization_code"}) {
			t.Errorf("answer = %+v", reg)
		}
	})
}

func TestRegisterRefused(t *testing.T) {
	t.Parallel()
	// Dozens of refusals from one address: past the registration limit
	// (TestRegisterRateLimit), which is not what this test is about.
	env := newTestEnv(t, withIssuer(goldenIssuer), withLimits(unlimited{}))
	const cb = `"redirect_uris":["https://app.example/cb"]`
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		fields []string
	}{
		// Each field's own rules.
		{"blank client_name", `{"client_name":" ",` + cb + `}`, 400, "invalid_client_metadata", []string{"client_name"}},
		{"client_name with control characters", `{"client_name":"a\u0007b",` + cb + `}`, 400, "invalid_client_metadata", []string{"client_name"}},
		{"unknown grant type", `{"grant_types":["authorization_code","implicit"],` + cb + `}`, 400, "invalid_client_metadata", []string{"grant_types"}},
		{"empty grant_types", `{"grant_types":[],` + cb + `}`, 400, "invalid_client_metadata", []string{"grant_types"}},
		{"unknown response type", `{"response_types":["token"],` + cb + `}`, 400, "invalid_client_metadata", []string{"response_types"}},
		{"scope not in the catalog", `{"scope":"read billing",` + cb + `}`, 400, "invalid_client_metadata", []string{"scope"}},
		{"empty scope", `{"scope":"",` + cb + `}`, 400, "invalid_client_metadata", []string{"scope"}},
		{"unknown auth method", `{"token_endpoint_auth_method":"client_secret_jwt",` + cb + `}`, 400, "invalid_client_metadata", []string{"token_endpoint_auth_method"}},
		{"logo_uri not http", `{"logo_uri":"data:image/png;base64,AAAA",` + cb + `}`, 400, "invalid_client_metadata", []string{"logo_uri"}},
		{"tos_uri relative", `{"tos_uri":"/tos",` + cb + `}`, 400, "invalid_client_metadata", []string{"tos_uri"}},
		{"policy_uri with user info", `{"policy_uri":"https://u:p@x.example/",` + cb + `}`, 400, "invalid_client_metadata", []string{"policy_uri"}},

		// Rules across fields.
		{"none with client_credentials", `{"token_endpoint_auth_method":"none","grant_types":["client_credentials"]}`, 400, "invalid_client_metadata", []string{"grant_types"}},
		{"code without authorization_code", `{"grant_types":["client_credentials"],"response_types":["code"]}`, 400, "invalid_client_metadata", []string{"response_types"}},
		{"authorization_code without code", `{"response_types":[],` + cb + `}`, 400, "invalid_client_metadata", []string{"response_types"}},
		{"authorization_code without redirect_uris", `{}`, 400, "invalid_client_metadata", []string{"redirect_uris"}},
		{"several at once", `{"client_name":"","grant_types":["password"],"scope":"nope","logo_uri":"x",` + cb + `}`, 400, "invalid_client_metadata", []string{"grant_types", "logo_uri", "scope"}},

		// Wrong types of known fields.
		{"client_name a number", `{"client_name":5,` + cb + `}`, 400, "invalid_client_metadata", []string{"client_name"}},
		{"grant_types a string", `{"grant_types":"authorization_code",` + cb + `}`, 400, "invalid_client_metadata", []string{"grant_types"}},
		{"redirect_uris of numbers", `{"redirect_uris":[1,2]}`, 400, "invalid_client_metadata", []string{"redirect_uris"}},
		{"scope an array", `{"scope":["read"],` + cb + `}`, 400, "invalid_client_metadata", []string{"scope"}},
		{"auth method a boolean", `{"token_endpoint_auth_method":true,` + cb + `}`, 400, "invalid_client_metadata", []string{"token_endpoint_auth_method"}},
		{"several types", `{"logo_uri":{},"response_types":"code","tos_uri":1,` + cb + `}`, 400, "invalid_client_metadata", []string{"logo_uri", "response_types", "tos_uri"}},

		// Repeated members: the known ones are refused, the others ignored.
		{"repeated auth method", `{"token_endpoint_auth_method":"none","token_endpoint_auth_method":"client_secret_basic","scope":"read","scope":"read",` + cb + `}`, 400, "invalid_client_metadata", []string{"scope", "token_endpoint_auth_method"}},

		// Redirect URIs.
		{"redirect URI with a fragment", `{"redirect_uris":["https://app.example/cb#x"]}`, 400, "invalid_redirect_uri", nil},
		{"redirect URI http off loopback", `{"redirect_uris":["https://app.example/cb","http://app.example/cb"]}`, 400, "invalid_redirect_uri", nil},
		{"redirect URI relative", `{"redirect_uris":["/cb"]}`, 400, "invalid_redirect_uri", nil},
		{"redirect URI empty", `{"redirect_uris":[""]}`, 400, "invalid_redirect_uri", nil},
		{"redirect URI javascript", `{"redirect_uris":["javascript:alert(1)"]}`, 400, "invalid_redirect_uri", nil},

		// Bodies that are not metadata at all.
		{"malformed JSON", `{"client_name":`, 400, "invalid_client_metadata", nil},
		{"an array", `[]`, 400, "invalid_client_metadata", nil},
		{"null", `null`, 400, "invalid_client_metadata", nil},
		{"a string", `"x"`, 400, "invalid_client_metadata", nil},
		{"empty", ``, 400, "invalid_client_metadata", nil},
		{"invalid UTF-8", "{\"client_name\":\"\xff\"," + cb + "}", 400, "invalid_client_metadata", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			regErr(t, env.register(t, tt.body), tt.status, tt.code, tt.fields...)
		})
	}

	t.Run("wrong content type", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/v2/oauth/register", strings.NewReader("client_name=x"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		regErr(t, env.do(r), 400, "invalid_request")
	})
	t.Run("over 1 MiB", func(t *testing.T) {
		body := `{"client_name":"` + strings.Repeat("a", httpapi.MaxBody) + `"}`
		regErr(t, env.register(t, body), 413, "invalid_request")
		// Without a Content-Length the limit still holds.
		r := httptest.NewRequest(http.MethodPost, "/v2/oauth/register", struct{ *strings.Reader }{strings.NewReader(body)})
		r.ContentLength = -1
		regErr(t, env.do(r), 413, "invalid_request")
	})
	t.Run("other methods", func(t *testing.T) {
		rec := env.do(httptest.NewRequest(http.MethodGet, "/v2/oauth/register", nil))
		regErr(t, rec, 405, "invalid_request")
		if rec.Header().Get("Allow") != "OPTIONS, POST" {
			t.Errorf("Allow = %q", rec.Header().Get("Allow"))
		}
		rec = env.do(httptest.NewRequest(http.MethodPatch, "/v2/oauth/register/x", nil))
		regErr(t, rec, 405, "invalid_request")
		if rec.Header().Get("Allow") != "DELETE, GET, HEAD, OPTIONS, PUT" {
			t.Errorf("Allow = %q", rec.Header().Get("Allow"))
		}
	})

	// Nothing was registered by any of them.
	if _, n, err := env.Store.ListClients(context.Background(), grantd.ClientFilter{}, grantd.Page{Number: 1, Size: 1}); err != nil || n != 0 {
		t.Errorf("%d clients stored, want none (%v)", n, err)
	}
}

// TestRegisterErrorNames: the messages speak RFC 7591's field names, not
// the management API's.
func TestRegisterErrorNames(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	m := regErr(t, env.register(t, `{"client_name":"","grant_types":["password"],"scope":"nope","redirect_uris":["https://a.example/cb"]}`),
		400, "invalid_client_metadata", "grant_types", "scope")
	b, _ := json.Marshal(m)
	for _, old := range []string{"allowed_scopes", "allowed_grant_types", "client_type", `"name`} {
		if strings.Contains(string(b), old) {
			t.Errorf("answer %s names %s", b, old)
		}
	}
	m = regErr(t, env.register(t, `{"redirect_uris":["https://ok.example/cb","http://bad.example/cb"]}`), 400, "invalid_redirect_uri")
	if d := m["error_description"].(string); !strings.HasPrefix(d, "redirect_uris[1] ") || strings.Contains(d, "example") {
		t.Errorf("error_description = %q, want the bad URI named by its place only", d)
	}
}

// TestRegistrationManagement runs RFC 7592's read, update and delete
// with right and wrong tokens.
func TestRegistrationManagement(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	reg, _ := registrationOK(t, env, env.register(t, `{"client_name":"Acme","redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code","refresh_token"],"logo_uri":"https://app.example/l.png"}`), http.StatusCreated)
	path := "/v2/oauth/register/" + reg.ClientID
	tok := reg.RegistrationAccessToken
	owner := env.createUser(t, "owner@example.com")
	managed, managedSecret := env.createClient(t, owner, clientSpec{})
	other, _ := registrationOK(t, env, env.register(t, `{"redirect_uris":["https://other.example/cb"]}`), http.StatusCreated)

	const challenge = `Bearer realm="grantd", error="invalid_token"`
	wrong := func(t *testing.T, rec *httptest.ResponseRecorder, sent bool) {
		t.Helper()
		regErr(t, rec, 401, "invalid_token")
		want := `Bearer realm="grantd"`
		if sent {
			want = challenge
		}
		if got := rec.Header().Get("WWW-Authenticate"); got != want {
			t.Errorf("WWW-Authenticate = %q, want %q", got, want)
		}
	}

	t.Run("read", func(t *testing.T) {
		got, m := registrationOK(t, env, env.api(t, http.MethodGet, path, tok, ""), http.StatusOK)
		if _, ok := m["client_secret"]; ok {
			t.Error("the secret is shown again")
		}
		if got.ClientID != reg.ClientID || got.ClientName != "Acme" || got.RegistrationAccessToken != tok || !slices.Equal(got.GrantTypes, reg.GrantTypes) {
			t.Errorf("read = %+v", got)
		}
		wrong(t, env.api(t, http.MethodGet, path, "", ""), false)
		wrong(t, env.api(t, http.MethodGet, path, tok+"x", ""), true)
		wrong(t, env.api(t, http.MethodGet, path, other.RegistrationAccessToken, ""), true)
		wrong(t, env.api(t, http.MethodGet, path, reg.ClientSecret, ""), true)
		wrong(t, env.api(t, http.MethodGet, "/v2/oauth/register/nosuchclient", tok, ""), true)
		// A client made through the management API has no registration.
		wrong(t, env.api(t, http.MethodGet, "/v2/oauth/register/"+managed.ID, tok, ""), true)
		wrong(t, env.api(t, http.MethodGet, "/v2/oauth/register/"+managed.ID, managedSecret, ""), true)
		// Basic is not a registration access token.
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.SetBasicAuth(reg.ClientID, reg.ClientSecret)
		wrong(t, env.do(r), false)
	})

	t.Run("update", func(t *testing.T) {
		env.Clock.Advance(time.Minute)
		body := fmt.Sprintf(`{"client_id":%q,"client_secret":%q,"redirect_uris":["https://app.example/new"],"scope":"read",
			"client_id_issued_at":1,"registration_access_token":"x","registration_client_uri":"x","client_secret_expires_at":5,"unknown":1}`,
			reg.ClientID, reg.ClientSecret)
		got, m := registrationOK(t, env, env.api(t, http.MethodPut, path, tok, body), http.StatusOK)
		// Replaced, not merged: omitted fields are gone or defaulted.
		if !slices.Equal(got.RedirectURIs, []string{"https://app.example/new"}) || got.Scope != "read" ||
			!slices.Equal(got.GrantTypes, []string{"authorization_code"}) || got.TokenEndpointAuthMethod != "client_secret_basic" {
			t.Errorf("update = %+v", got)
		}
		for _, k := range []string{"client_name", "logo_uri", "client_secret"} {
			if _, ok := m[k]; ok {
				t.Errorf("%s is still there", k)
			}
		}
		// The old secret still authenticates the client.
		if rec := env.postForm(t, "/v2/oauth/introspect", url.Values{"token": {"x"}}, reg.ClientID, reg.ClientSecret); rec.Code != http.StatusOK {
			t.Errorf("the secret no longer authenticates the client: %d %s", rec.Code, rec.Body)
		}

		wrong(t, env.api(t, http.MethodPut, path, "", body), false)
		wrong(t, env.api(t, http.MethodPut, path, other.RegistrationAccessToken, body), true)
		// A bad token is refused before the body is looked at.
		wrong(t, env.api(t, http.MethodPut, path, "grantd_reg_x", "{"), true)
		regErr(t, env.api(t, http.MethodPut, path, tok, `{"redirect_uris":["https://app.example/cb"]}`), 400, "invalid_client_metadata", "client_id")
		regErr(t, env.api(t, http.MethodPut, path, tok, `{"client_id":"`+other.ClientID+`","redirect_uris":["https://app.example/cb"]}`), 400, "invalid_client_metadata", "client_id")
		regErr(t, env.api(t, http.MethodPut, path, tok, `{"client_id":"`+reg.ClientID+`","client_secret":"grantd_secret_mine","redirect_uris":["https://app.example/cb"]}`), 400, "invalid_client_metadata", "client_secret")
		regErr(t, env.api(t, http.MethodPut, path, tok, `{"client_id":"`+reg.ClientID+`","token_endpoint_auth_method":"none","redirect_uris":["https://app.example/cb"]}`), 400, "invalid_client_metadata", "token_endpoint_auth_method")
		regErr(t, env.api(t, http.MethodPut, path, tok, `{"client_id":"`+reg.ClientID+`","redirect_uris":["http://app.example/cb"]}`), 400, "invalid_redirect_uri")
		regErr(t, env.api(t, http.MethodPut, path, tok, `{"client_id":`), 400, "invalid_client_metadata")

		after, _ := registrationOK(t, env, env.api(t, http.MethodGet, path, tok, ""), http.StatusOK)
		if !slices.Equal(after.RedirectURIs, []string{"https://app.example/new"}) {
			t.Errorf("a refused update changed the client: %+v", after)
		}
	})

	t.Run("delete", func(t *testing.T) {
		// A user's grant and tokens under the client die with it.
		u := env.createUser(t, "user@example.com")
		c, _ := env.Store.GetClient(context.Background(), reg.ClientID)
		g := env.createGrant(t, u, c, "read")
		code := env.mintCode(t, g, codeSpec{redirectURI: "https://app.example/new"})
		// Allow refresh tokens again for the code redemption.
		if _, err := env.Store.UpdateClient(context.Background(), c.ID, func(c grantd.Client) (grantd.Client, error) {
			c.GrantTypes = append(c.GrantTypes, grantd.GrantRefreshToken)
			return c, nil
		}); err != nil {
			t.Fatal(err)
		}
		issued := tokenOK(t, env.postForm(t, "/v2/oauth/token", url.Values{
			"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example/new"},
		}, reg.ClientID, reg.ClientSecret))
		if introspect(t, env, issued.AccessToken)["active"] != true || introspect(t, env, issued.RefreshToken)["active"] != true {
			t.Fatal("tokens inactive before the delete")
		}

		wrong(t, env.api(t, http.MethodDelete, path, "", ""), false)
		wrong(t, env.api(t, http.MethodDelete, path, other.RegistrationAccessToken, ""), true)
		wrong(t, env.api(t, http.MethodDelete, "/v2/oauth/register/"+managed.ID, tok, ""), true)
		rec := env.api(t, http.MethodDelete, path, tok, "")
		if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
			t.Fatalf("delete: %d %s", rec.Code, rec.Body)
		}
		wrong(t, env.api(t, http.MethodGet, path, tok, ""), true)
		wrong(t, env.api(t, http.MethodDelete, path, tok, ""), true)
		if introspect(t, env, issued.AccessToken)["active"] != false || introspect(t, env, issued.RefreshToken)["active"] != false {
			t.Error("tokens still active after the delete")
		}
		if _, err := env.Store.GetGrant(context.Background(), g.ID); err == nil {
			t.Error("the grant outlived its client")
		}
		oauthErr(t, env.postForm(t, "/v2/oauth/token", url.Values{"grant_type": {"client_credentials"}}, reg.ClientID, reg.ClientSecret), 401, "invalid_client")
		// The others are untouched.
		registrationOK(t, env, env.api(t, http.MethodGet, "/v2/oauth/register/"+other.ClientID, other.RegistrationAccessToken, ""), http.StatusOK)
	})
}

func TestRegisterPolicyAPIKey(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer), withConfig(func(c *oauth.Config) { c.Registration = oauth.RegistrationAPIKey }))
	alice := env.createUser(t, "alice@example.com")
	bob := env.createUser(t, "bob@example.com")
	aliceKey, bobKey := env.createAPIKey(t, alice), env.createAPIKey(t, bob)
	const body = `{"client_name":"Alice's app","redirect_uris":["https://alice.example/cb"]}`

	rec := env.api(t, http.MethodPost, "/v2/oauth/register", "", body)
	regErr(t, rec, 401, "invalid_token")
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="grantd"` {
		t.Errorf("WWW-Authenticate without a key = %q", got)
	}
	// Only API keys count: not even an admin access token of alice's.
	adminClient, adminSecret := env.createClient(t, alice, clientSpec{})
	adminToken := ccToken(t, env, adminClient.ID, adminSecret, nil)
	for _, bad := range []string{token.PrefixAPIKey + "nope", "garbage", adminToken} {
		rec := env.api(t, http.MethodPost, "/v2/oauth/register", bad, body)
		regErr(t, rec, 401, "invalid_token")
		if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="grantd", error="invalid_token"` {
			t.Errorf("WWW-Authenticate with a bad key = %q", got)
		}
	}

	reg, _ := registrationOK(t, env, env.api(t, http.MethodPost, "/v2/oauth/register", aliceKey, body), http.StatusCreated)
	c, err := env.Store.GetClient(context.Background(), reg.ClientID)
	if err != nil || c.UserID != alice.ID || c.OrgID != alice.OrgID {
		t.Fatalf("stored = %+v, %v; want alice's", c, err)
	}
	// Alice sees it through the management API; Bob does not.
	_, ids := listClientIDs(t, env, aliceKey)
	if !slices.Contains(ids, reg.ClientID) {
		t.Errorf("alice's clients %v lack the registered one", ids)
	}
	rec = env.api(t, http.MethodGet, "/v2/oauth_clients/"+reg.ClientID, aliceKey, "")
	if rec.Code != http.StatusOK || decodeJSON(t, rec.Body.Bytes())["data"].(map[string]any)["user_id"] != alice.ID {
		t.Errorf("alice GET: %d %s", rec.Code, rec.Body)
	}
	if _, ids := listClientIDs(t, env, bobKey); slices.Contains(ids, reg.ClientID) {
		t.Error("bob sees alice's client")
	}
	wantAPIError(t, env.api(t, http.MethodGet, "/v2/oauth_clients/"+reg.ClientID, bobKey, ""), 404, "10005")
	// The registration access token works whatever the policy.
	registrationOK(t, env, env.api(t, http.MethodGet, "/v2/oauth/register/"+reg.ClientID, reg.RegistrationAccessToken, ""), http.StatusOK)
}

func TestRegisterPolicyDisabled(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer), withConfig(func(c *oauth.Config) { c.Registration = oauth.RegistrationDisabled }))
	u := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, u)
	for _, cred := range []string{"", key} {
		m := regErr(t, env.api(t, http.MethodPost, "/v2/oauth/register", cred, `{"redirect_uris":["https://app.example/cb"]}`), 404, "invalid_request")
		if !strings.Contains(m["error_description"].(string), "disabled") {
			t.Errorf("error_description = %v", m["error_description"])
		}
	}
	if strings.Contains(string(getJSON(t, env, "/.well-known/oauth-authorization-server")), "registration_endpoint") {
		t.Error("the metadata advertises a disabled registration endpoint")
	}

	// A registration made before the switch can still be read and
	// deleted by its holder.
	tok, hash := token.NewOpaque(token.PrefixRegistrationToken)
	c, _ := env.createClient(t, grantd.User{}, clientSpec{})
	if _, err := env.Store.UpdateClient(context.Background(), c.ID, func(c grantd.Client) (grantd.Client, error) {
		c.Registered, c.RegistrationTokenHash = true, hash
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	registrationOK(t, env, env.api(t, http.MethodGet, "/v2/oauth/register/"+c.ID, tok, ""), http.StatusOK)
	if rec := env.api(t, http.MethodDelete, "/v2/oauth/register/"+c.ID, tok, ""); rec.Code != http.StatusNoContent {
		t.Errorf("delete: %d %s", rec.Code, rec.Body)
	}
}

// TestRegisteredClientReachesNoManagementData: a client registered
// without an owner gets tokens (client_secret_post and Basic), and they
// reach no management data. (That even a token with admin does not is
// TestManagementWithAccessTokens and TestAnonymousAppGetsNoAccountManagement.)
func TestRegisteredClientReachesNoManagementData(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	st, _, body := apiCall(t, env, "POST", env.URL+"/v2/oauth/register", "", map[string]any{
		"client_name": "Robot", "grant_types": []string{"client_credentials"}, "scope": "read write",
		"token_endpoint_auth_method": "client_secret_post",
	})
	if st != http.StatusCreated {
		t.Fatalf("register: %d %s", st, body)
	}
	var reg wireRegistration
	if err := json.Unmarshal(body, &reg); err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, env.HTTP)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader} {
		cc := clientcredentials.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, TokenURL: env.URL + "/v2/oauth/token", AuthStyle: style}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("token (style %d): %v", style, err)
		}
		if tok.Extra("scope") != "read write" {
			t.Errorf("scope = %v", tok.Extra("scope"))
		}
		for _, p := range []string{"/v2/oauth_clients", "/v2/oauth_grants"} {
			st, _, body := apiCall(t, env, "GET", env.URL+p, tok.AccessToken, nil)
			if st != http.StatusForbidden || !strings.Contains(string(body), `"code":"10010"`) {
				t.Errorf("GET %s with the registered client's token: %d %s, want 403 10010", p, st, body)
			}
		}
	}
}

// TestRegisteredPublicClientCodeFlow: a native app registers itself as a
// public client and runs the code flow with PKCE through
// golang.org/x/oauth2, for a user signed in with an API key.
func TestRegisteredPublicClientCodeFlow(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	alice := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, alice)

	st, _, body := apiCall(t, env, "POST", env.URL+"/v2/oauth/register", "", map[string]any{
		"client_name": "Terminal", "token_endpoint_auth_method": "none", "scope": "read write",
		"grant_types": []string{"authorization_code", "refresh_token"}, "redirect_uris": []string{"http://127.0.0.1/callback"},
	})
	if st != http.StatusCreated {
		t.Fatalf("register: %d %s", st, body)
	}
	var reg wireRegistration
	if err := json.Unmarshal(body, &reg); err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, env.HTTP)
	conf := oauth2.Config{
		ClientID:    reg.ClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: env.URL + "/v2/oauth/authorize", TokenURL: env.URL + "/v2/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: "http://127.0.0.1:53682/callback",
		Scopes:      []string{"read"},
	}

	// Without PKCE the public client is refused at the redirect URI.
	st, h, body := apiCall(t, env, "GET", conf.AuthCodeURL("s"), key, nil)
	if st != http.StatusFound {
		t.Fatalf("authorize without PKCE: %d %s", st, body)
	}
	if q := redirectParams(t, h.Get("Location"), conf.RedirectURL); q.Get("error") != "invalid_request" {
		t.Errorf("authorize without PKCE answered %v", q)
	}

	verifier := oauth2.GenerateVerifier()
	st, h, body = apiCall(t, env, "GET", conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), key, nil)
	if st != http.StatusFound {
		t.Fatalf("authorize: %d %s", st, body)
	}
	ct := consentTokenOf(t, env, h.Get("Location"))
	st, _, body = apiCall(t, env, "GET", env.URL+"/v2/oauth/consent/"+url.PathEscape(ct), key, nil)
	if st != http.StatusOK || !strings.Contains(string(body), `"name":"Terminal"`) {
		t.Fatalf("consent: %d %s", st, body)
	}
	st, _, body = apiCall(t, env, "POST", env.URL+"/v2/oauth/grants", key, map[string]any{"allowed": true, "consent_token": ct})
	if st != http.StatusOK {
		t.Fatalf("grants: %d %s", st, body)
	}
	var d struct {
		RedirectURI string `json:"redirect_uri"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	q := redirectParams(t, d.RedirectURI, conf.RedirectURL)
	if q.Get("iss") != env.URL || q.Get("state") != "s" {
		t.Errorf("answer = %v", q)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.Extra("scope") != "read" || tok.RefreshToken == "" {
		t.Errorf("token = %+v scope %v", tok, tok.Extra("scope"))
	}
	claims := verifyWithJWKS(t, env.HTTP, env.URL+"/v2/oauth/jwks", tok.AccessToken)
	if claims["client_id"] != reg.ClientID || claims["sub"] != alice.ID {
		t.Errorf("claims = %v", claims)
	}
	fresh, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil || fresh.AccessToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh: %+v, %v", fresh, err)
	}
}

// FuzzRegister: whatever a registration carries, the answer is a
// registration or an RFC 6749 error, never a 500.
func FuzzRegister(f *testing.F) {
	env := newTestEnv(f, withIssuer(goldenIssuer))
	f.Add("application/json", `{"redirect_uris":["https://app.example/cb"]}`)
	f.Add("application/json", `{"grant_types":["client_credentials"],"scope":"read","token_endpoint_auth_method":"client_secret_post"}`)
	f.Add("", `{"redirect_uris":["http://[::1]:0/cb"],"response_types":["code","code"],"client_name":"\u0000"}`)
	f.Add("application/json", `{"redirect_uris":[null],"grant_types":[null],"scope":1e400}`)
	f.Add("text/plain", `{}`)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		r := httptest.NewRequest(http.MethodPost, "/v2/oauth/register", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		rec := env.do(r)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		m := decodeJSON(t, rec.Body.Bytes())
		noNulls(t, "", m)
		if _, ok := m["client_id"]; rec.Code == http.StatusCreated && !ok {
			t.Fatalf("201 without a client_id: %s", rec.Body)
		}
		if _, ok := m["error"]; rec.Code != http.StatusCreated && !ok {
			t.Fatalf("%d without an error: %s", rec.Code, rec.Body)
		}
		checkTokenHeaders(t, rec.Result().Header)
	})
}
