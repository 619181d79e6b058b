package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/oauth"
)

const exchangeAPI = "https://api.example.com/v1"

func exchangeEnv(t *testing.T) *env {
	return newEnv(t, func(o *apptest.Options) { o.Engine.Resources = []string{exchangeAPI} })
}

// The developer pages set token exchange and its resources: the grant's
// box, the resources one per line (an unknown one is named by its line),
// and a public app cannot have the grant.
func TestDeveloperAppsTokenExchange(t *testing.T) {
	t.Parallel()
	e := exchangeEnv(t)
	u := e.user(t, email, pw)
	b := e.browser(t)
	b.login(t, email, pw)
	newPage := b.get(t, "/developer/new")
	for _, label := range []string{`<label for="grant-token_exchange">`, `<label for="token_exchange_resources">`} {
		if !strings.Contains(newPage.Body, label) {
			t.Errorf("new app form lacks %s", label)
		}
	}
	csrf := csrfOf(t, newPage)
	form := url.Values{
		"csrf_token": {csrf}, "name": {"MCP server"}, "client_type": {"confidential"},
		"allowed_scopes":           {"messages:read"},
		"allowed_grant_types":      {grantd.GrantTokenExchange},
		"token_exchange_resources": {exchangeAPI + "\n\nhttps://nowhere.example/"},
	}
	p := b.post(t, "/developer/new", form)
	if p.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(p.text(), `Line 3: "https://nowhere.example/" is not a resource of this server`) && !strings.Contains(p.text(), "Line 3: (value not shown) is not a resource of this server") {
		t.Fatalf("unknown resource: %d\n%s", p.StatusCode, p.text())
	}
	form.Set("client_type", "public")
	form.Set("redirect_uris", "https://app.example/cb")
	form.Set("token_exchange_resources", exchangeAPI)
	if p := b.post(t, "/developer/new", form); p.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(p.text(), "cannot use token exchange") {
		t.Fatalf("public app with the grant: %d\n%s", p.StatusCode, p.text())
	}
	form.Set("client_type", "confidential")
	form.Del("redirect_uris")
	if p := b.post(t, "/developer/new", form); p.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d\n%s", p.StatusCode, p.text())
	}
	cs, _, err := e.Store.ListClients(context.Background(), grantd.ClientFilter{OwnerUserID: u.ID}, grantd.Page{Number: 1, Size: 10})
	if err != nil || len(cs) != 1 || !slices.Equal(cs[0].TokenExchangeResources, []string{exchangeAPI}) || !cs[0].Allows(grantd.GrantTokenExchange) {
		t.Fatalf("clients = %+v, %v", cs, err)
	}
	edit := b.get(t, "/developer/"+cs[0].ID)
	if !strings.Contains(edit.Body, exchangeAPI+"</textarea>") || !strings.Contains(edit.Body, `value="`+grantd.GrantTokenExchange+`" checked`) {
		t.Errorf("edit page does not show the exchange settings:\n%s", edit.text())
	}
}

// Removing an app on /apps ends the tokens exchanged from the person's
// token to it, as it ends the person's own.
func TestConnectedAppsRemoveEndsExchangedTokens(t *testing.T) {
	t.Parallel()
	e := exchangeEnv(t)
	u := e.user(t, email, pw)
	app, appSecret := e.client(t, u, "Acme Dashboard", "https://app.acme.example/cb")
	ctx := context.Background()
	to, err := e.Provider.Decide(ctx, u.ID, e.consentToken(t, u, app, "s"), true)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := url.Parse(to)
	person := postToken(t, e, app.ID, appSecret, url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {app.RedirectURIs[0]}})

	owner := e.user(t, "ops@example.com", "")
	name, typ := "MCP server", "confidential"
	scopes, gts, res := []string{"messages:read"}, []string{grantd.GrantTokenExchange}, []string{exchangeAPI}
	svc, svcSecret, err := e.Provider.CreateClient(ctx, owner, oauth.ClientInput{Name: &name, ClientType: &typ, AllowedScopes: &scopes, AllowedGrantTypes: &gts, TokenExchangeResources: &res})
	if err != nil {
		t.Fatal(err)
	}
	exchanged := postToken(t, e, svc.ID, svcSecret, url.Values{
		"grant_type": {grantd.GrantTokenExchange}, "subject_token": {person}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"resource": {exchangeAPI},
	})
	if !active(t, e, svc.ID, svcSecret, exchanged) {
		t.Fatal("the exchanged token is not active")
	}

	b := e.browser(t)
	b.login(t, email, pw)
	g, err := e.Store.GetGrantByUserClient(ctx, u.ID, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p := b.post(t, "/apps/"+g.ID+"/revoke", url.Values{"csrf_token": {csrfOf(t, b.get(t, "/apps"))}}); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove app: %d", p.StatusCode)
	}
	if active(t, e, svc.ID, svcSecret, exchanged) || active(t, e, svc.ID, svcSecret, person) {
		t.Error("a token is active after the app was removed")
	}
}

// postToken posts to the token endpoint as the client and answers the
// access token.
func postToken(t *testing.T, e *env, id, secret string, form url.Values) string {
	t.Helper()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	postJSON(t, e, "/v2/oauth/token", id, secret, form, &out)
	if out.AccessToken == "" {
		t.Fatal("no access token")
	}
	return out.AccessToken
}

func active(t *testing.T, e *env, id, secret, tok string) bool {
	t.Helper()
	var out struct {
		Active bool `json:"active"`
	}
	postJSON(t, e, "/v2/oauth/introspect", id, secret, url.Values{"token": {tok}}, &out)
	return out.Active
}

func postJSON(t *testing.T, e *env, path, id, secret string, form url.Values, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", path, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
