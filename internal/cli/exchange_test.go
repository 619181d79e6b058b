package cli

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// personToken runs the code flow over HTTP for the bootstrap key's user
// with a public app made by `grantd clients create`, approving with the
// key as a consent portal would, and answers the access token.
func (e *apiEnv) personToken(t *testing.T) string {
	t.Helper()
	const cb = "http://127.0.0.1:9999/callback"
	var app cliClient
	e.jsonOf(t, &app, "clients", "create", "--name", "person's app", "--client-type", "public",
		"--allowed-scopes", "admin", "--allowed-grant-types", "authorization_code", "--redirect-uris", cb)
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	q := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {cb}, "scope": {"admin"},
		"state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	req, _ := http.NewRequest(http.MethodGet, e.base+"/oauth/authorize?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	body, _ := json.Marshal(map[string]any{"allowed": true, "consent_token": loc.Query().Get("consent_token")})
	req, _ = http.NewRequest(http.MethodPost, e.base+"/oauth/grants", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		RedirectURI string `json:"redirect_uri"`
	}
	json.NewDecoder(res.Body).Decode(&d)
	res.Body.Close()
	back, err := url.Parse(d.RedirectURI)
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("decision: %s %q", res.Status, d.RedirectURI)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "client_id": {app.ClientID},
		"redirect_uri": {cb}, "code_verifier": {verifier}}
	res, err = http.PostForm(e.base+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %s %v", res.Status, err)
	}
	return tok.AccessToken
}

// `grantd token exchange` trades a person's token for one towards the
// API as a client allowed to (made with --token-exchange-resources), and
// `grantd introspect` shows the act chain.
func TestTokenExchangeCommand(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	person := e.personToken(t)
	var svc struct {
		cliClient
		TokenExchangeResources []string `json:"token_exchange_resources"`
	}
	e.jsonOf(t, &svc, "clients", "create", "--name", "mcp", "--client-type", "confidential", "--allowed-scopes", "admin",
		"--allowed-grant-types", "urn:ietf:params:oauth:grant-type:token-exchange", "--token-exchange-resources", e.base)
	if len(svc.TokenExchangeResources) != 1 || svc.TokenExchangeResources[0] != e.base {
		t.Fatalf("created client = %+v", svc)
	}
	if out := e.ok(t, "clients", "get", svc.ClientID); !strings.Contains(out, "token_exchange_resources") {
		t.Fatalf("clients get:\n%s", out)
	}
	id, secret := svc.ClientID, *svc.ClientSecret

	var tok struct {
		AccessToken     string `json:"access_token"`
		IssuedTokenType string `json:"issued_token_type"`
		Scope           string `json:"scope"`
		RefreshToken    string `json:"refresh_token"`
	}
	e.jsonOf(t, &tok, "token", "exchange", "--client-id", id, "--client-secret", secret, "--subject-token", person, "--resource", e.base)
	if tok.AccessToken == "" || tok.IssuedTokenType != "urn:ietf:params:oauth:token-type:access_token" || tok.Scope != "admin" || tok.RefreshToken != "" {
		t.Fatalf("token exchange = %+v", tok)
	}
	// The subject token may come from the environment.
	m := map[string]string{"GRANTD_BASE_URL": e.base, "GRANTD_CLIENT_ID": id, "GRANTD_CLIENT_SECRET": secret, "GRANTD_SUBJECT_TOKEN": person}
	if code, out, msg := e.runEnv(t, m, "token", "exchange", "--resource", e.base); code != 0 || !strings.Contains(out, "issued_token_type") {
		t.Fatalf("token exchange from env: %d %q %q", code, out, msg)
	}
	if out := e.ok(t, "introspect", tok.AccessToken, "--client-id", id, "--client-secret", secret); !strings.Contains(out, "act") || !strings.Contains(out, id+" (client "+id+")") {
		t.Fatalf("introspect table:\n%s", out)
	}
	if msg := e.fails(t, "token", "exchange", "--client-id", id, "--client-secret", secret, "--subject-token", person, "--resource", e.issuer); !strings.Contains(msg, "invalid_target") {
		t.Fatalf("resource not allowed: %q", msg)
	}
	if msg := e.fails(t, "token", "exchange", "--client-id", id, "--client-secret", secret, "--resource", e.base); !strings.Contains(msg, "--subject-token") {
		t.Fatalf("no subject token: %q", msg)
	}
}
