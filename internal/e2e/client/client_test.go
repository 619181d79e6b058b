package client_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd/client"
)

func ptr[T any](v T) *T { return &v }

func TestClientsCRUD(t *testing.T) {
	g := newGrantd(t)
	c := g.client()
	ctx := context.Background()

	created, err := c.CreateClient(ctx, client.CreateClientParams{
		Name: "CLI app", ClientType: "public", AllowedScopes: []string{"admin", "read"},
		AllowedGrantTypes: []string{"authorization_code", "refresh_token"},
		RedirectURIs:      []string{"http://127.0.0.1/callback"}, LogoURI: "https://example.com/logo.png",
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.ClientID == "" || created.Name != "CLI app" || created.ClientType != "public" || !created.RequirePKCE ||
		created.ClientSecret != "" || created.LogoURI != "https://example.com/logo.png" || created.TOSURI != "" ||
		created.OrgID == "" || created.UserID == "" || created.CreatedAt.IsZero() || created.CreatedAt.Location() != time.UTC {
		t.Fatalf("created = %+v", created)
	}
	if !slices.Equal(created.AllowedScopes, []string{"admin", "read"}) || !slices.Equal(created.RedirectURIs, []string{"http://127.0.0.1/callback"}) {
		t.Fatalf("created lists = %v %v", created.AllowedScopes, created.RedirectURIs)
	}
	if !strings.Contains(string(created.Raw), `"record_type":"oauth_client"`) {
		t.Fatalf("raw = %s", created.Raw)
	}

	got, err := c.GetClient(ctx, created.ClientID)
	if err != nil || got.ClientID != created.ClientID || got.Name != "CLI app" {
		t.Fatalf("get = %+v, %v", got, err)
	}

	// Only the fields given change; an empty string clears an optional one.
	upd, err := c.UpdateClient(ctx, created.ClientID, client.UpdateClientParams{Name: ptr("Renamed"), LogoURI: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Name != "Renamed" || upd.LogoURI != "" || !slices.Equal(upd.AllowedScopes, []string{"admin", "read"}) {
		t.Fatalf("updated = %+v", upd)
	}
	upd, err = c.UpdateClient(ctx, created.ClientID, client.UpdateClientParams{AllowedScopes: &[]string{"read"}, RequirePKCE: ptr(true)})
	if err != nil || upd.Name != "Renamed" || !slices.Equal(upd.AllowedScopes, []string{"read"}) {
		t.Fatalf("updated = %+v, %v", upd, err)
	}

	if err := c.DeleteClient(ctx, created.ClientID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetClient(ctx, created.ClientID)
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 404 || len(e.Errors) != 1 || e.Errors[0].Code != "10005" {
		t.Fatalf("get after delete: %#v", err)
	}
	if err := c.DeleteClient(ctx, created.ClientID); !errors.As(err, &e) || e.StatusCode != 404 {
		t.Fatalf("second delete: %v", err)
	}
}

func TestListClientsPagesAndFilters(t *testing.T) {
	g := newGrantd(t)
	c := g.client()
	ctx := context.Background()
	for _, n := range []string{"one", "two", "three"} {
		g.confidential(t, "client "+n)
	}
	if _, err := c.CreateClient(ctx, client.CreateClientParams{
		Name: "public one", ClientType: "public", AllowedScopes: []string{"read"},
		AllowedGrantTypes: []string{"authorization_code"}, RedirectURIs: []string{"http://127.0.0.1/cb"},
	}); err != nil {
		t.Fatal(err)
	}

	p1, err := c.ListClients(ctx, client.ListClientsParams{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Data) != 3 || p1.Meta != (client.Meta{PageNumber: 1, PageSize: 3, TotalPages: 2, TotalResults: 4}) {
		t.Fatalf("page 1 = %d clients, %+v", len(p1.Data), p1.Meta)
	}
	if !strings.HasPrefix(string(p1.Raw), "[") {
		t.Fatalf("raw %s", p1.Raw)
	}
	p2, err := c.ListClients(ctx, client.ListClientsParams{PageNumber: 2, PageSize: 3})
	if err != nil || len(p2.Data) != 1 || p2.Meta.PageNumber != 2 {
		t.Fatalf("page 2 = %+v, %v", p2, err)
	}
	// The pages split the clients (all made at the same fake instant,
	// so ordered by id) without overlap.
	seen := map[string]bool{}
	for _, oc := range append(p1.Data, p2.Data...) {
		seen[oc.ClientID] = true
	}
	if len(seen) != 4 {
		t.Fatalf("pages hold %d distinct clients, want 4", len(seen))
	}
	p3, err := c.ListClients(ctx, client.ListClientsParams{PageNumber: 3, PageSize: 3})
	if err != nil || len(p3.Data) != 0 || p3.Meta.TotalResults != 4 {
		t.Fatalf("page 3 = %+v, %v", p3, err)
	}

	for _, tc := range []struct {
		p    client.ListClientsParams
		want int
	}{
		{client.ListClientsParams{ClientType: "public"}, 1},
		{client.ListClientsParams{NameContains: "CLIENT"}, 3},
		{client.ListClientsParams{Name: "public one"}, 1},
		{client.ListClientsParams{AllowedGrantTypesContains: "client_credentials"}, 3},
		{client.ListClientsParams{Verified: ptr(false)}, 4},
		{client.ListClientsParams{Verified: ptr(true)}, 0},
		{client.ListClientsParams{ClientID: p2.Data[0].ClientID}, 1},
	} {
		l, err := c.ListClients(ctx, tc.p)
		if err != nil || len(l.Data) != tc.want {
			t.Errorf("%+v: %v, %v; want %d", tc.p, l, err, tc.want)
		}
	}

	// Bad pagination: the envelope's entries name the parameter.
	_, err = c.ListClients(ctx, client.ListClientsParams{PageSize: 101})
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 422 || len(e.Errors) != 1 || e.Errors[0].Parameter != "page[size]" ||
		!strings.Contains(err.Error(), "page[size] must be") {
		t.Fatalf("page size 101: %#v", err)
	}
}

func TestManagementErrors(t *testing.T) {
	g := newGrantd(t)
	ctx := context.Background()

	// The Telnyx envelope: one entry per problem, with pointers.
	_, err := g.client().CreateClient(ctx, client.CreateClientParams{
		Name: "x", ClientType: "public", AllowedScopes: []string{"admin"},
		AllowedGrantTypes: []string{"client_credentials", "authorization_code"},
	})
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 422 || len(e.Errors) != 2 {
		t.Fatalf("create: %#v", err)
	}
	if en := e.Errors[0]; en.Code != "10027" || en.Title != "Invalid parameter" || en.Pointer != "/allowed_grant_types" ||
		en.Detail != "a public client cannot use client_credentials" {
		t.Fatalf("entry = %+v", en)
	}
	if e.Code != "" || !strings.Contains(err.Error(), "a public client cannot use client_credentials (/allowed_grant_types)") {
		t.Fatalf("error = %q", err)
	}

	// A bad API key is 401 10009, and the key is not in the message.
	_, err = client.New(g.API, client.WithAPIKey("grantd_key_nope")).ListClients(ctx, client.ListClientsParams{})
	if !errors.As(err, &e) || e.StatusCode != 401 || e.Errors[0].Code != "10009" || strings.Contains(err.Error(), "grantd_key_nope") {
		t.Fatalf("bad key: %v", err)
	}
	if _, err := g.client().GetGrant(ctx, "not-a-uuid"); !errors.As(err, &e) || e.StatusCode != 404 {
		t.Fatalf("get grant: %v", err)
	}
}

func TestGrants(t *testing.T) {
	g := newGrantd(t)
	c := g.client()
	ctx := context.Background()
	oc, err := c.CreateClient(ctx, client.CreateClientParams{
		Name: "CLI app", ClientType: "public", AllowedScopes: []string{"admin", "read"},
		AllowedGrantTypes: []string{"authorization_code", "refresh_token"}, RedirectURIs: []string{"http://127.0.0.1/callback"},
	})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := c.ListGrants(ctx, client.ListGrantsParams{})
	if err != nil || len(empty.Data) != 0 || empty.Meta.TotalPages != 0 || empty.Meta.PageSize != 20 {
		t.Fatalf("no grants = %+v, %v", empty, err)
	}

	tok := g.consent(t, oc.ClientID, "http://127.0.0.1:5555/callback", "read")
	l, err := c.ListGrants(ctx, client.ListGrantsParams{PageNumber: 1, PageSize: 5})
	if err != nil || len(l.Data) != 1 || l.Meta.TotalResults != 1 {
		t.Fatalf("grants = %+v, %v", l, err)
	}
	gr := l.Data[0]
	if gr.ClientID != oc.ClientID || !slices.Equal(gr.Scopes, []string{"read"}) || gr.CreatedAt.IsZero() || gr.LastUsedAt.IsZero() {
		t.Fatalf("grant = %+v", gr)
	}
	got, err := c.GetGrant(ctx, gr.ID)
	if err != nil || got.ID != gr.ID {
		t.Fatalf("get = %+v, %v", got, err)
	}

	// The refresh token works until the grant is revoked.
	if _, err := c.Token(ctx, client.TokenParams{ClientID: oc.ClientID, GrantType: "refresh_token", RefreshToken: tok.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	rev, err := c.RevokeGrant(ctx, gr.ID)
	if err != nil || rev.ID != gr.ID {
		t.Fatalf("revoke = %+v, %v", rev, err)
	}
	var e *client.Error
	if _, err := c.GetGrant(ctx, gr.ID); !errors.As(err, &e) || e.StatusCode != 404 {
		t.Fatalf("get revoked: %v", err)
	}
}

func TestTokenIntrospectRevoke(t *testing.T) {
	g := newGrantd(t)
	ctx := context.Background()
	id, secret := g.confidential(t, "worker")
	c := client.New(g.API) // protocol calls need no API key

	tok, err := c.Token(ctx, client.TokenParams{ClientID: id, ClientSecret: secret, Scopes: []string{"read", "write"}, Resource: g.API})
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != 1800 || tok.Scope != "read write" || tok.RefreshToken != "" {
		t.Fatalf("token = %+v", tok)
	}
	in, err := c.Introspect(ctx, client.IntrospectParams{ClientID: id, ClientSecret: secret, Token: tok.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	if !in.Active || in.ClientID != id || in.Subject != id || in.Scope != "read write" || in.Issuer != g.URL ||
		!slices.Equal(in.Audience, []string{g.API}) || in.TokenType != "access_token" || in.JTI == "" || in.ExpiresAt-in.IssuedAt != 1800 {
		t.Fatalf("introspection = %+v", in)
	}
	if err := c.Revoke(ctx, client.RevokeParams{ClientID: id, ClientSecret: secret, Token: tok.AccessToken}); err != nil {
		t.Fatal(err)
	}
	in, err = c.Introspect(ctx, client.IntrospectParams{ClientID: id, ClientSecret: secret, Token: tok.AccessToken})
	if err != nil || in.Active || in.ClientID != "" {
		t.Fatalf("after revoke = %+v, %v", in, err)
	}

	// RFC 6749 errors: code and description, and never the secret.
	_, err = c.Token(ctx, client.TokenParams{ClientID: id, ClientSecret: secret + "x"})
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 401 || e.Code != "invalid_client" || e.Description == "" || len(e.Errors) != 0 {
		t.Fatalf("wrong secret: %#v", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error %q contains the secret", err)
	}
	_, err = c.Token(ctx, client.TokenParams{ClientID: id, ClientSecret: secret, Scopes: []string{"nope"}})
	if !errors.As(err, &e) || e.StatusCode != 400 || e.Code != "invalid_scope" || !strings.Contains(err.Error(), "invalid_scope: ") {
		t.Fatalf("bad scope: %v", err)
	}
	_, err = c.Token(ctx, client.TokenParams{ClientID: id, ClientSecret: secret, Resource: "https://elsewhere.example"})
	if !errors.As(err, &e) || e.Code != "invalid_target" {
		t.Fatalf("bad resource: %v", err)
	}
	if _, err := c.Introspect(ctx, client.IntrospectParams{ClientID: id, Token: "x"}); !errors.As(err, &e) || e.Code != "invalid_client" {
		t.Fatalf("introspect without secret: %v", err)
	}
}

func TestRegisterAndMetadata(t *testing.T) {
	g := newGrantd(t)
	ctx := context.Background()
	c := client.New(g.API)

	reg, err := c.Register(ctx, client.RegisterParams{
		ClientName: "My agent", RedirectURIs: []string{"http://127.0.0.1:9999/callback"}, TokenEndpointAuthMethod: "none", Scope: "read",
	})
	if err != nil {
		t.Fatal(err)
	}
	if reg.ClientID == "" || reg.ClientSecret != "" || reg.ClientName != "My agent" || reg.Scope != "read" ||
		!slices.Equal(reg.GrantTypes, []string{"authorization_code"}) || !slices.Equal(reg.ResponseTypes, []string{"code"}) ||
		reg.RegistrationAccessToken == "" || reg.RegistrationClientURI != g.API+"/oauth/register/"+reg.ClientID || reg.ClientIDIssuedAt == 0 {
		t.Fatalf("registration = %+v", reg)
	}
	conf, err := c.Register(ctx, client.RegisterParams{ClientName: "svc", GrantTypes: []string{"client_credentials"}})
	if err != nil || conf.ClientSecret == "" || conf.ClientSecretExpiresAt != 0 || len(conf.ResponseTypes) != 0 {
		t.Fatalf("confidential = %+v, %v", conf, err)
	}

	_, err = c.Register(ctx, client.RegisterParams{Scope: "nope", GrantTypes: []string{"password"}})
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != 400 || e.Code != "invalid_client_metadata" ||
		len(e.InvalidFields["scope"]) != 1 || len(e.InvalidFields["grant_types"]) != 1 {
		t.Fatalf("bad metadata: %#v", err)
	}

	md, err := c.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if md.Issuer != g.URL || md.TokenEndpoint != g.API+"/oauth/token" || md.AuthorizationEndpoint != g.API+"/oauth/authorize" ||
		md.RegistrationEndpoint == "" || md.IntrospectionEndpoint == "" || md.RevocationEndpoint == "" || md.JWKSURI == "" ||
		!slices.Equal(md.CodeChallengeMethodsSupported, []string{"S256"}) || !md.AuthorizationResponseIssParameterSupported ||
		!slices.Contains(md.ScopesSupported, "read") || !slices.Contains(md.GrantTypesSupported, "client_credentials") {
		t.Fatalf("metadata = %+v", md)
	}
}
