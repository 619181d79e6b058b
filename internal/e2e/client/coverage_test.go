package client_test

// The newer calls of client, against a real grantd: the
// page iterators, the code flow as a consent portal drives it, the keys
// and resource metadata, and the management of a registration.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/grantd/grantd/client"
)

// The iterators walk every page of a real list, in the server's order.
func TestIterators(t *testing.T) {
	g := newGrantd(t)
	ctx := context.Background()
	c := g.client()
	var made []string
	for i := range 5 {
		oc, err := c.CreateClient(ctx, client.CreateClientParams{
			Name: fmt.Sprint("app ", i), ClientType: "confidential", AllowedScopes: []string{"read"}, AllowedGrantTypes: []string{"client_credentials"},
		})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, oc.ClientID)
	}
	var walked []string
	for oc, err := range c.Clients(ctx, client.ListClientsParams{PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		walked = append(walked, oc.ClientID)
	}
	// The server's order, in one page.
	all, err := c.ListClients(ctx, client.ListClientsParams{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, oc := range all.Data {
		want = append(want, oc.ClientID)
	}
	if !slices.Equal(walked, want) || len(walked) != len(made) {
		t.Fatalf("walked %v, want %v", walked, want)
	}
	for _, err := range c.Grants(ctx, client.ListGrantsParams{}) {
		t.Fatalf("a grant, or %v, where there is none", err)
	}
	// A bad page size is the server's 422, yielded once.
	n := 0
	for _, err := range c.Grants(ctx, client.ListGrantsParams{PageSize: 101}) {
		var e *client.Error
		if !errors.As(err, &e) || e.Status() != 422 || e.ErrorCode() != "10027" {
			t.Fatalf("err = %v, want the 422", err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d yields, want 1", n)
	}
}

// A consent portal's code flow through the client: authorize as the API
// key's user, read the consent, approve, redeem; then the grant is there
// to walk and revoke.
func TestCodeFlowCalls(t *testing.T) {
	g := newGrantd(t)
	ctx := context.Background()
	c := g.client()
	const cb = "http://127.0.0.1:9999/callback"
	app, err := c.CreateClient(ctx, client.CreateClientParams{
		Name: "Portal app", ClientType: "public", AllowedScopes: []string{"read", "write"},
		AllowedGrantTypes: []string{"authorization_code", "refresh_token"}, RedirectURIs: []string{cb},
	})
	if err != nil {
		t.Fatal(err)
	}
	verifier := "a-verifier-that-is-long-enough-for-rfc-7636-section-4-1-000"
	sum := sha256.Sum256([]byte(verifier))
	p := client.AuthorizeParams{ClientID: app.ClientID, RedirectURI: cb, Scopes: []string{"read"}, State: "st",
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:])}
	a, err := c.Authorize(ctx, p)
	if err != nil || a.ConsentToken == "" {
		t.Fatalf("authorize: %+v %v", a, err)
	}
	cons, err := c.Consent(ctx, a.ConsentToken)
	if err != nil || cons.ClientID != app.ClientID || cons.Name != "Portal app" || cons.RedirectURI != cb ||
		len(cons.RequestedScopes) != 1 || cons.RequestedScopes[0].ID != "read" || cons.RequestedScopes[0].Name != "Read your data" {
		t.Fatalf("consent: %+v %v", cons, err)
	}
	redirect, err := c.DecideGrant(ctx, a.ConsentToken, true)
	if err != nil {
		t.Fatal(err)
	}
	ru, _ := url.Parse(redirect)
	if ru.Query().Get("state") != "st" || ru.Query().Get("iss") != g.URL {
		t.Fatalf("redirect %s", redirect)
	}
	tok, err := c.Token(ctx, client.TokenParams{GrantType: "authorization_code", ClientID: app.ClientID,
		Code: ru.Query().Get("code"), RedirectURI: cb, CodeVerifier: verifier})
	if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token: %+v %v", tok, err)
	}
	// The consent token was single use: a 422 pointing at it.
	_, err = c.DecideGrant(ctx, a.ConsentToken, true)
	var e *client.Error
	if !errors.As(err, &e) || e.Status() != 422 || !slices.Equal(e.Pointers(), []string{"/consent_token"}) {
		t.Fatalf("reused consent token: %v", err)
	}
	// The grant covers read now: authorize goes straight back with a code.
	if a, err = c.Authorize(ctx, p); err != nil || a.Code == "" || a.State != "st" {
		t.Fatalf("authorize again: %+v %v", a, err)
	}
	// An unknown client is the server's HTML error page, as a *Error.
	p.ClientID = "no-such-client"
	if _, err = c.Authorize(ctx, p); !errors.As(err, &e) || e.Status() < 400 || e.Status() > 499 {
		t.Fatalf("unknown client: %v", err)
	}
	var grants []client.Grant
	for gr, err := range c.Grants(ctx, client.ListGrantsParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		grants = append(grants, gr)
	}
	if len(grants) != 1 || grants[0].ClientID != app.ClientID {
		t.Fatalf("grants %+v", grants)
	}
}

func TestKeysAndResourceMetadata(t *testing.T) {
	g := newGrantd(t)
	ctx := context.Background()
	c := client.New(g.API)
	ks, err := c.JWKS(ctx)
	if err != nil || len(ks.Keys) == 0 || ks.Keys[0].KeyID == "" || ks.Keys[0].KeyType == "" || ks.Keys[0].Use != "sig" {
		t.Fatalf("jwks: %+v %v", ks, err)
	}
	rm, err := c.ResourceMetadata(ctx)
	if err != nil || rm.Resource == "" || !slices.Contains(rm.AuthorizationServers, g.URL) {
		t.Fatalf("resource metadata: %+v %v", rm, err)
	}
	doc, err := c.OpenAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		OpenAPI string                     `json:"openapi"`
		Paths   map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil || !strings.HasPrefix(d.OpenAPI, "3.1") || d.Paths["/v2/oauth/token"] == nil {
		t.Fatalf("openapi: %.200s (%v)", doc, err)
	}
}

// A registration is read, replaced and deleted with its registration
// access token; a wrong token is the server's 401.
func TestRegistrationManagement(t *testing.T) {
	g := newGrantd(t)
	ctx := context.Background()
	c := client.New(g.API)
	reg, err := c.Register(ctx, client.RegisterParams{
		ClientName: "Agent", RedirectURIs: []string{"http://127.0.0.1:9999/callback"}, TokenEndpointAuthMethod: "none", Scope: "read",
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadRegistration(ctx, reg.ClientID, reg.RegistrationAccessToken)
	if err != nil || got.ClientID != reg.ClientID || got.ClientName != "Agent" || got.Scope != "read" {
		t.Fatalf("read: %+v %v", got, err)
	}
	up, err := c.UpdateRegistration(ctx, reg.ClientID, reg.RegistrationAccessToken, client.UpdateRegistrationParams{
		RegisterParams: client.RegisterParams{ClientName: "Agent 2", RedirectURIs: []string{"http://127.0.0.1:9999/callback"}, Scope: "read write"},
	})
	if err != nil || up.ClientName != "Agent 2" || up.Scope != "read write" {
		t.Fatalf("update: %+v %v", up, err)
	}
	var e *client.Error
	if _, err := c.ReadRegistration(ctx, reg.ClientID, "grantd_reg_wrong"); !errors.As(err, &e) || e.Status() != 401 || e.ErrorCode() != "invalid_token" {
		t.Fatalf("wrong token: %v", err)
	}
	if err := c.DeleteRegistration(ctx, reg.ClientID, reg.RegistrationAccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadRegistration(ctx, reg.ClientID, reg.RegistrationAccessToken); !errors.As(err, &e) || e.Status() != 401 {
		t.Fatalf("after delete: %v", err)
	}
}

// Token exchange through the client: a person's token exchanged by a
// service for this API, and again by a second service with its own token
// as actor; introspection shows the chain; revoking the grant ends it.
func TestTokenExchangeCalls(t *testing.T) {
	g := newGrantd(t)
	ctx := context.Background()
	c := g.client()
	const cb = "http://127.0.0.1:9999/callback"
	app, err := c.CreateClient(ctx, client.CreateClientParams{
		Name: "person's app", ClientType: "public", AllowedScopes: []string{"read", "write"},
		AllowedGrantTypes: []string{"authorization_code"}, RedirectURIs: []string{cb},
	})
	if err != nil {
		t.Fatal(err)
	}
	person := g.consent(t, app.ClientID, cb, "read", "write")
	svc := func(name string) *client.OAuthClient {
		oc, err := c.CreateClient(ctx, client.CreateClientParams{
			Name: name, ClientType: "confidential", AllowedScopes: []string{"read", "write"},
			AllowedGrantTypes:      []string{client.GrantTypeTokenExchange, "client_credentials"},
			TokenExchangeResources: []string{g.API},
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(oc.TokenExchangeResources, []string{g.API}) {
			t.Fatalf("token_exchange_resources = %v", oc.TokenExchangeResources)
		}
		return oc
	}
	mcp, ds := svc("mcp"), svc("downstream")

	hop1, err := c.TokenExchange(ctx, client.TokenExchangeParams{
		ClientID: mcp.ClientID, ClientSecret: mcp.ClientSecret, SubjectToken: person.AccessToken, Resource: g.API, Scopes: []string{"read"},
	})
	if err != nil || hop1.IssuedTokenType != client.TokenTypeAccessToken || hop1.Scope != "read" || hop1.RefreshToken != "" {
		t.Fatalf("hop 1 = %+v, %v", hop1, err)
	}
	own, err := c.Token(ctx, client.TokenParams{ClientID: ds.ClientID, ClientSecret: ds.ClientSecret, Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	hop2, err := c.TokenExchange(ctx, client.TokenExchangeParams{
		ClientID: ds.ClientID, ClientSecret: ds.ClientSecret, SubjectToken: hop1.AccessToken, ActorToken: own.AccessToken, Audience: g.API,
	})
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.Introspect(ctx, client.IntrospectParams{ClientID: ds.ClientID, ClientSecret: ds.ClientSecret, Token: hop2.AccessToken})
	want := &client.Actor{Subject: ds.ClientID, ClientID: ds.ClientID, Act: &client.Actor{Subject: mcp.ClientID, ClientID: mcp.ClientID}}
	if err != nil || !in.Active || in.ClientID != ds.ClientID || in.Scope != "read" || !reflect.DeepEqual(in.Act, want) {
		t.Fatalf("introspection = %+v (act %+v), %v", in, in.Act, err)
	}

	// A wider scope is the server's invalid_scope.
	_, err = c.TokenExchange(ctx, client.TokenExchangeParams{
		ClientID: ds.ClientID, ClientSecret: ds.ClientSecret, SubjectToken: hop1.AccessToken, Resource: g.API, Scopes: []string{"write"},
	})
	var e *client.Error
	if !errors.As(err, &e) || e.Code != "invalid_scope" {
		t.Fatalf("wider scope: %v", err)
	}

	grants, err := c.ListGrants(ctx, client.ListGrantsParams{})
	if err != nil || len(grants.Data) != 1 {
		t.Fatalf("grants = %+v, %v", grants, err)
	}
	if _, err := c.RevokeGrant(ctx, grants.Data[0].ID); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{person.AccessToken, hop1.AccessToken, hop2.AccessToken} {
		in, err := c.Introspect(ctx, client.IntrospectParams{ClientID: ds.ClientID, ClientSecret: ds.ClientSecret, Token: tok})
		if err != nil || in.Active {
			t.Errorf("after the grant's revocation: %+v, %v", in, err)
		}
	}
}
