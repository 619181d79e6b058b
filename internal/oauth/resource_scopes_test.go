package oauth

import (
	"context"
	"errors"
	"testing"

	"github.com/grantd/grantd"
)

// mcpResource is a named resource that accepts only read.
const mcpResource = "https://mcp.example/mcp"

func withMCP(c *Config) {
	c.Registry = []Resource{{ID: mcpResource, Name: "Acme MCP server", Scopes: []string{"read"}, TrailingSlashEquivalent: true}}
}

// TestAuthorizeResourceScopes: a scope the named resource does not accept
// is invalid_scope when asked for, and dropped when scope is omitted; the
// consent page learns the resource's display name.
func TestAuthorizeResourceScopes(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t, withMCP)
	alice := e.user(t, "alice@example.com")
	c := e.client(t)

	res := mustAuthorize(t, e, alice, authzQuery(c, "resource", mcpResource, "scope", "read write"))
	if q := answerParams(t, res.Redirect, "https://app.example/cb"); q.Get("error") != "invalid_scope" {
		t.Errorf("asking for write: answer = %v, want invalid_scope", q)
	}

	res = mustAuthorize(t, e, alice, authzQuery(c, "resource", mcpResource+"/", "scope", "-"))
	v, err := e.p.ConsentDetails(context.Background(), alice, consentToken(t, e, res.Redirect))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.RequestedScopes) != 1 || v.RequestedScopes[0].ID != "read" {
		t.Errorf("requested scopes = %+v, want read alone", v.RequestedScopes)
	}
	if v.Resource != mcpResource || v.ResourceName != "Acme MCP server" {
		t.Errorf("resource = %q %q, want %q named Acme MCP server", v.Resource, v.ResourceName, mcpResource)
	}

	// The issuer and --resource URLs accept every scope and have no name.
	res = mustAuthorize(t, e, alice, authzQuery(c, "resource", "https://api.example/v1", "scope", "read write"))
	v, err = e.p.ConsentDetails(context.Background(), alice, consentToken(t, e, res.Redirect))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.RequestedScopes) != 2 || v.ResourceName != "" {
		t.Errorf("plain resource: scopes %+v, name %q; want read and write, no name", v.RequestedScopes, v.ResourceName)
	}
}

// TestTokenResourceScopes: client_credentials for a named resource gets
// only the scopes it accepts, and is refused one it does not.
func TestTokenResourceScopes(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t, withMCP)
	c := e.client(t, func(c *grantd.Client) { c.GrantTypes = []string{grantd.GrantClientCredentials} })
	auth := ClientAuth{ClientID: c.ID, ClientSecret: "secret"}
	ctx := context.Background()

	resp, err := e.p.Token(ctx, TokenRequest{Client: auth, GrantType: grantd.GrantClientCredentials, Resources: []string{mcpResource}})
	if err != nil || resp.Scope != "read" {
		t.Errorf("default scopes: %+v, %v; want read alone", resp, err)
	}
	_, err = e.p.Token(ctx, TokenRequest{Client: auth, GrantType: grantd.GrantClientCredentials, Scope: "write", Resources: []string{mcpResource}})
	var ge *grantd.Error
	if !errors.As(err, &ge) || ge.Code != grantd.CodeInvalidScope {
		t.Errorf("asking for write: err = %v, want invalid_scope", err)
	}
	resp, err = e.p.Token(ctx, TokenRequest{Client: auth, GrantType: grantd.GrantClientCredentials, Scope: "write"})
	if err != nil || resp.Scope != "write" {
		t.Errorf("write for the issuer: %+v, %v; want write", resp, err)
	}
}
