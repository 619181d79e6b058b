package oauth

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
)

// sensitiveScopes is a catalog with a second sensitive scope besides
// admin, which is sensitive without saying so.
var sensitiveScopes = []grantd.Scope{
	{ID: "admin", Name: "Administer your account"},
	{ID: "read", Name: "Read your data"},
	{ID: "billing", Name: "Billing", Sensitive: true},
	{ID: "write", Name: "Change your data"},
}

// newCatalogEnv is newFlowEnv with another catalog.
func newCatalogEnv(t *testing.T, scopes []grantd.Scope, mod ...func(*Config)) *flowEnv {
	t.Helper()
	e := newFlowEnv(t, mod...)
	p, err := NewProvider(Deps{Config: e.p.Config(), Store: e.st, Catalog: testenv.Catalog(t, scopes), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	return e
}

// TestRegisterSensitiveScopes: a client registered without an owner is
// never given a sensitive scope: the default leaves them out, and asking
// for one, at registration or in an RFC 7592 update, is
// invalid_client_metadata naming scope and the scope. A client registered
// with an owner (the api_key policy) may have them.
func TestRegisterSensitiveScopes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cb := strs("https://app.example/cb")
	e := newCatalogEnv(t, sensitiveScopes)

	reg := e.register(t, grantd.User{}, ClientMetadata{RedirectURIs: cb})
	if !slices.Equal(reg.Client.Scopes, []string{"read", "write"}) {
		t.Errorf("default scopes %v, want [read write]: no sensitive scope", reg.Client.Scopes)
	}

	for _, tt := range []struct{ scope, names string }{
		{"admin", `"admin"`},
		{"read admin", `"admin"`},
		{"billing", `"billing"`},
		{"admin read billing", `"admin"`},
	} {
		_, err := e.p.Register(ctx, grantd.User{}, ClientMetadata{RedirectURIs: cb, Scope: ptr(tt.scope)})
		ge := grantd.AsError(err)
		if ge.Code != grantd.CodeInvalidClientMetadata || len(ge.Fields) == 0 || ge.Fields[0].Pointer != "/scope" ||
			!strings.Contains(ge.Description, tt.names) || !strings.Contains(ge.Description, "sensitive") {
			t.Errorf("scope %q: err = %v (fields %+v), want invalid_client_metadata naming scope and %s", tt.scope, err, ge.Fields, tt.names)
		}
	}
	// Other problems of the same field are still reported, once each.
	_, err := e.p.Register(ctx, grantd.User{}, ClientMetadata{RedirectURIs: cb, Scope: ptr("admin nope")})
	if ge := grantd.AsError(err); len(ge.Fields) != 2 || !strings.Contains(ge.Description, `"nope"`) {
		t.Errorf("admin nope: %v, want both scopes named", err)
	}

	// RFC 7592: an update may not add one either, and an update that
	// omits scope gets the default without them.
	id, tok := reg.Client.ID, reg.AccessToken
	if _, err := e.p.UpdateRegistration(ctx, id, tok, ClientMetadata{ClientID: &id, RedirectURIs: cb, Scope: ptr("read admin")}); grantd.ErrorCode(err) != grantd.CodeInvalidClientMetadata {
		t.Errorf("update asking for admin: %v, want invalid_client_metadata", err)
	}
	// A row registered before sensitive scopes existed holds admin.
	if _, err := e.st.UpdateClient(ctx, id, func(c grantd.Client) (grantd.Client, error) {
		c.Scopes = []string{"admin", "read", "write", "billing"}
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := e.p.ClientScopes(mustClient(t, e, id)); !slices.Equal(got, []string{"read", "write"}) {
		t.Errorf("ClientScopes of an old ownerless row = %v, want [read write]", got)
	}
	c, err := e.p.UpdateRegistration(ctx, id, tok, ClientMetadata{ClientID: &id, RedirectURIs: cb})
	if err != nil || !slices.Equal(c.Scopes, []string{"read", "write"}) {
		t.Errorf("update of an old row without scope: %v, %v; want [read write]", c.Scopes, err)
	}

	// With an owner, sensitive scopes are the owner's to give.
	owned := newCatalogEnv(t, sensitiveScopes, func(c *Config) { c.Registration = RegistrationAPIKey })
	ownerID := owned.user(t, "owner@example.com")
	u, _ := owned.st.GetUser(ctx, ownerID)
	r := owned.register(t, u, ClientMetadata{RedirectURIs: cb})
	if !slices.Equal(r.Client.Scopes, []string{"admin", "read", "billing", "write"}) {
		t.Errorf("owned default scopes %v, want the whole catalog", r.Client.Scopes)
	}
	if r := owned.register(t, u, ClientMetadata{RedirectURIs: cb, Scope: ptr("admin")}); !slices.Equal(r.Client.Scopes, []string{"admin"}) {
		t.Errorf("owned client asking for admin got %v", r.Client.Scopes)
	}
}

func mustClient(t *testing.T, e *flowEnv, id string) grantd.Client {
	t.Helper()
	c, err := e.st.GetClient(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDefaultCatalogOpenRegistration: with the default catalog (admin
// alone) there is nothing a client without an owner may have: open
// registration refuses, naming scope, and the protected resource
// metadata lists no scope, while the authorization server metadata still
// lists admin, which clients made by their owners may have.
func TestDefaultCatalogOpenRegistration(t *testing.T) {
	t.Parallel()
	e := newCatalogEnv(t, grantd.DefaultScopes)
	_, err := e.p.Register(context.Background(), grantd.User{}, ClientMetadata{RedirectURIs: strs("https://app.example/cb")})
	ge := grantd.AsError(err)
	if ge.Code != grantd.CodeInvalidClientMetadata || len(ge.Fields) != 1 || ge.Fields[0].Pointer != "/scope" {
		t.Errorf("register: %v (fields %+v), want invalid_client_metadata naming scope", err, ge.Fields)
	}
	if got := e.p.ResourceMetadata(flowIssuer).ScopesSupported; got == nil || len(got) != 0 {
		t.Errorf("protected resource scopes_supported = %#v, want []", got)
	}
	if got := e.p.ServerMetadata().ScopesSupported; !slices.Equal(got, []string{"admin"}) {
		t.Errorf("server scopes_supported = %v, want [admin]", got)
	}
	if got := newCatalogEnv(t, sensitiveScopes).p.ResourceMetadata(flowIssuer).ScopesSupported; !slices.Equal(got, []string{"read", "write"}) {
		t.Errorf("protected resource scopes_supported = %v, want [read write]", got)
	}
}

// TestOwnerlessRowWithAdmin: a client without an owner whose row holds
// admin (registered before sensitive scopes existed) is never given it:
// authorize refuses to ask for it and leaves it out of the default, a
// pending consent for it is refused at the decision, and
// client_credentials neither defaults to it nor grants it. The same row
// with an owner gets admin.
func TestOwnerlessRowWithAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newFlowEnv(t)
	alice := e.user(t, "alice@example.com")
	old := e.client(t, func(c *grantd.Client) { c.Scopes = []string{"admin", "read"} })

	res := mustAuthorize(t, e, alice, authzQuery(old, "scope", "admin"))
	if a := answerParams(t, res.Redirect, "https://app.example/cb"); a.Get("error") != "invalid_scope" {
		t.Errorf("authorize scope=admin: %v, want invalid_scope", a)
	}
	v, err := e.p.ConsentDetails(ctx, alice, consentToken(t, e, mustAuthorize(t, e, alice, authzQuery(old, "scope", "-")).Redirect))
	if err != nil || len(v.RequestedScopes) != 1 || v.RequestedScopes[0].ID != "read" {
		t.Errorf("default request asks for %+v (%v), want read alone", v.RequestedScopes, err)
	}

	// A consent for admin made before the fix.
	tok, hash := token.NewOpaque(token.PrefixConsentToken)
	now := e.clock.Now()
	if err := e.st.CreateConsent(ctx, grantd.Consent{Hash: hash, UserID: alice, ClientID: old.ID, RedirectURI: "https://app.example/cb",
		Scopes: []string{"admin", "read"}, CodeChallenge: challenge, CodeChallengeMethod: "S256", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	to, err := e.p.Decide(ctx, alice, tok, true)
	if err != nil {
		t.Fatal(err)
	}
	if a := answerParams(t, to, "https://app.example/cb"); a.Get("error") != "invalid_scope" || a.Has("code") {
		t.Errorf("decision on an old admin consent: %v, want invalid_scope", a)
	}
	if _, err := e.st.GetGrantByUserClient(ctx, alice, old.ID); err == nil {
		t.Error("the refused decision made a grant")
	}

	if got, err := e.p.clientScopes(old, ""); err != nil || !slices.Equal(got, []string{"read"}) {
		t.Errorf("client_credentials default = %v, %v; want [read]", got, err)
	}
	if _, err := e.p.clientScopes(old, "admin"); codeOf(err) != grantd.CodeInvalidScope {
		t.Errorf("client_credentials scope=admin: %v, want invalid_scope", err)
	}
	owned := old
	owned.UserID = alice
	if got, err := e.p.clientScopes(owned, "admin"); err != nil || !slices.Equal(got, []string{"admin"}) {
		t.Errorf("owned client_credentials scope=admin = %v, %v; want [admin]", got, err)
	}
}

// TestCreateClientVia: a client created through an app's token records
// the app and grant, and may have no scope the token does not carry; an
// update through a token may keep or drop scopes but add only the
// token's. A person's own call has no such ceiling.
func TestCreateClientVia(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newFlowEnv(t)
	aliceID := e.user(t, "alice@example.com")
	alice, _ := e.st.GetUser(ctx, aliceID)
	app := e.client(t, func(c *grantd.Client) { c.UserID, c.OrgID = aliceID, alice.OrgID })
	now := e.clock.Now().Truncate(time.Second)
	g := grantd.Grant{ID: uuid.NewString(), UserID: aliceID, ClientID: app.ID, Scopes: []string{"admin", "read"}, CreatedAt: now, UpdatedAt: now}
	if err := e.st.CreateGrant(ctx, g); err != nil {
		t.Fatal(err)
	}
	via := Via{ClientID: app.ID, GrantID: g.ID, Scopes: []string{"admin", "read"}}
	in := func(scopes ...string) ClientInput {
		return ClientInput{Name: ptr("Made"), ClientType: ptr("confidential"), AllowedScopes: &scopes, AllowedGrantTypes: strs(grantd.GrantClientCredentials)}
	}

	c, _, err := e.p.CreateClientVia(ctx, alice, via, in("admin", "read"))
	if err != nil {
		t.Fatal(err)
	}
	if c.CreatedByClientID != app.ID || c.CreatedByGrantID != g.ID || c.UserID != aliceID {
		t.Errorf("client = %+v, want alice's, made through the app's grant", c)
	}
	_, _, err = e.p.CreateClientVia(ctx, alice, via, in("read", "write"))
	if ge := grantd.AsError(err); ge.Code != grantd.CodeValidation || len(ge.Fields) != 1 || ge.Fields[0].Pointer != "/allowed_scopes/1" {
		t.Errorf("create beyond the token: %v (fields %+v), want 422 at /allowed_scopes/1", err, ge.Fields)
	}
	if mine, _, err := e.p.CreateClient(ctx, alice, in("write")); err != nil || mine.CreatedByClientID != "" {
		t.Errorf("a person's own client: %+v, %v", mine, err)
	}

	// Updates: dropping and keeping are fine, adding beyond the token is not.
	if _, err := e.p.UpdateClientVia(ctx, aliceID, via, c.ID, ClientInput{AllowedScopes: strs("read")}); err != nil {
		t.Errorf("dropping admin: %v", err)
	}
	if _, err := e.p.UpdateClientVia(ctx, aliceID, via, c.ID, ClientInput{AllowedScopes: strs("read", "billing")}); grantd.ErrorCode(err) != grantd.CodeValidation {
		t.Errorf("adding billing through the token: %v, want 422", err)
	}
	readOnly := Via{ClientID: app.ID, GrantID: g.ID, Scopes: []string{"admin"}}
	if _, err := e.p.UpdateClientVia(ctx, aliceID, readOnly, c.ID, ClientInput{Name: ptr("Renamed"), AllowedScopes: strs("read")}); err != nil {
		t.Errorf("keeping a scope the token lacks: %v", err)
	}
	if _, err := e.p.UpdateClient(ctx, aliceID, c.ID, ClientInput{AllowedScopes: strs("read", "billing")}); err != nil {
		t.Errorf("alice adding billing herself: %v", err)
	}
	if got := mustClient(t, e, c.ID); got.CreatedByGrantID != g.ID {
		t.Errorf("provenance after updates = %q, want %q", got.CreatedByGrantID, g.ID)
	}

	// The grant was revoked while the creation was under way.
	if _, err := e.p.RevokeGrant(ctx, aliceID, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.GetClient(ctx, c.ID); err == nil {
		t.Error("the client made through the revoked grant is still there")
	}
	if _, _, err := e.p.CreateClientVia(ctx, alice, via, in("read")); grantd.ErrorCode(err) != grantd.CodeUnauthenticated {
		t.Errorf("create through a revoked grant: %v, want unauthenticated", err)
	}
}
