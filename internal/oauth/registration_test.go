package oauth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

func strs(v ...string) *[]string { return &v }

// register registers md under the env's policy and fails the test on error.
func (e *flowEnv) register(t *testing.T, owner grantd.User, md ClientMetadata) Registration {
	t.Helper()
	reg, err := e.p.Register(context.Background(), owner, md)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	return reg
}

func TestRegisterDefaults(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	reg := e.register(t, grantd.User{}, ClientMetadata{RedirectURIs: strs("https://app.example/cb")})
	c := reg.Client

	if !c.Registered || c.Type != grantd.ClientConfidential || c.TokenEndpointAuthMethod != grantd.AuthMethodClientSecretBasic {
		t.Errorf("client = %+v, want a registered confidential client_secret_basic client", c)
	}
	if !slices.Equal(c.GrantTypes, []string{grantd.GrantAuthorizationCode}) || !slices.Equal(c.ResponseTypes, []string{"code"}) {
		t.Errorf("grant types %v, response types %v; want [authorization_code] and [code]", c.GrantTypes, c.ResponseTypes)
	}
	if !slices.Equal(c.Scopes, []string{"read", "write", "billing"}) {
		t.Errorf("scopes %v, want the catalog but admin, which is sensitive", c.Scopes)
	}
	if c.Name != "" || c.UserID != "" || c.OrgID != "" || c.CreatedAt.IsZero() {
		t.Errorf("client = %+v, want no name, no owner, a creation time", c)
	}
	if !strings.HasPrefix(reg.ClientSecret, token.PrefixClientSecret) || !token.Equal(reg.ClientSecret, c.SecretHash) {
		t.Errorf("secret %q does not match the stored hash", reg.ClientSecret)
	}
	if !strings.HasPrefix(reg.AccessToken, token.PrefixRegistrationToken) || !token.Equal(reg.AccessToken, c.RegistrationTokenHash) {
		t.Errorf("registration token %q does not match the stored hash", reg.AccessToken)
	}

	stored, err := e.st.GetClient(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.SecretHash != c.SecretHash || stored.RegistrationTokenHash != c.RegistrationTokenHash || !stored.Registered ||
		stored.TokenEndpointAuthMethod != c.TokenEndpointAuthMethod || !slices.Equal(stored.ResponseTypes, c.ResponseTypes) {
		t.Errorf("stored = %+v\nwant   %+v", stored, c)
	}
	if strings.Contains(stored.SecretHash, reg.ClientSecret) || strings.Contains(stored.RegistrationTokenHash, reg.AccessToken) {
		t.Error("a plain secret was stored")
	}

	// client_credentials only: no redirect URIs needed, no response types.
	cc := e.register(t, grantd.User{}, ClientMetadata{GrantTypes: strs(grantd.GrantClientCredentials), Scope: ptr("read")})
	if len(cc.Client.ResponseTypes) != 0 || len(cc.Client.RedirectURIs) != 0 || !slices.Equal(cc.Client.Scopes, []string{"read"}) {
		t.Errorf("client_credentials client = %+v", cc.Client)
	}

	// none: a public client, no secret.
	pub := e.register(t, grantd.User{}, ClientMetadata{TokenEndpointAuthMethod: ptr("none"), RedirectURIs: strs("http://127.0.0.1/cb")})
	if !pub.Client.Public() || !pub.Client.PKCERequired() || pub.ClientSecret != "" || pub.Client.SecretHash != "" {
		t.Errorf("public client = %+v secret %q", pub.Client, pub.ClientSecret)
	}
}

func TestRegisterMetadataProblems(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	cb := strs("https://app.example/cb")
	tests := []struct {
		name   string
		md     ClientMetadata
		code   grantd.Code
		fields []string // invalid_fields keys, sorted
	}{
		{"blank name", ClientMetadata{ClientName: ptr("  "), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, []string{"client_name"}},
		{"long name", ClientMetadata{ClientName: ptr(strings.Repeat("n", 256)), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, []string{"client_name"}},
		{"unknown grant type", ClientMetadata{GrantTypes: strs("implicit"), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, []string{"grant_types"}},
		{"no grant type", ClientMetadata{GrantTypes: strs(), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, []string{"grant_types"}},
		{"unknown scope", ClientMetadata{Scope: ptr("read nope"), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, []string{"scope"}},
		{"empty scope", ClientMetadata{Scope: ptr(""), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, []string{"scope"}},
		{"malformed scope", ClientMetadata{Scope: ptr("read \"x\""), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, []string{"scope"}},
		{"unknown auth method", ClientMetadata{TokenEndpointAuthMethod: ptr("private_key_jwt"), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, []string{"token_endpoint_auth_method"}},
		{"unknown response type", ClientMetadata{ResponseTypes: strs("code", "token"), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, []string{"response_types"}},
		{"code without authorization_code", ClientMetadata{GrantTypes: strs("client_credentials"), ResponseTypes: strs("code")}, grantd.CodeInvalidClientMetadata, []string{"response_types"}},
		{"authorization_code without code", ClientMetadata{ResponseTypes: strs(), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, []string{"response_types"}},
		{"authorization_code without redirect_uris", ClientMetadata{}, grantd.CodeInvalidClientMetadata, []string{"redirect_uris"}},
		{"public client_credentials", ClientMetadata{TokenEndpointAuthMethod: ptr("none"), GrantTypes: strs("client_credentials")}, grantd.CodeInvalidClientMetadata, []string{"grant_types"}},
		{"bad logo", ClientMetadata{LogoURI: ptr("ftp://x.example/logo.png"), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, []string{"logo_uri"}},
		{"bad tos and policy", ClientMetadata{TosURI: ptr("/tos"), PolicyURI: ptr("javascript:alert(1)"), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, []string{"policy_uri", "tos_uri"}},
		{"many at once", ClientMetadata{ClientName: ptr(""), GrantTypes: strs("password"), Scope: ptr("nope"), TokenEndpointAuthMethod: ptr("x"), RedirectURIs: cb},
			grantd.CodeInvalidClientMetadata, []string{"grant_types", "scope", "token_endpoint_auth_method"}},
		{"too many redirect URIs", ClientMetadata{RedirectURIs: ptr(slices.Repeat([]string{"https://app.example/cb"}, MaxRedirectURIs+1))}, grantd.CodeInvalidClientMetadata, []string{"redirect_uris"}},

		{"fragment", ClientMetadata{RedirectURIs: strs("https://app.example/cb#x")}, grantd.CodeInvalidRedirectURI, nil},
		{"http off loopback", ClientMetadata{RedirectURIs: strs("https://app.example/ok", "http://app.example/cb")}, grantd.CodeInvalidRedirectURI, nil},
		{"relative", ClientMetadata{RedirectURIs: strs("/cb")}, grantd.CodeInvalidRedirectURI, nil},
		{"bad redirect URI wins over other problems", ClientMetadata{Scope: ptr("nope"), RedirectURIs: strs("cb")}, grantd.CodeInvalidRedirectURI, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.p.Register(context.Background(), grantd.User{}, tt.md)
			ge := grantd.AsError(err)
			if err == nil || ge.Code != tt.code {
				t.Fatalf("err = %v, want %s", err, tt.code)
			}
			var fields []string
			for _, f := range ge.Fields {
				if !strings.HasPrefix(f.Pointer, "/") || f.Detail == "" {
					t.Errorf("problem %+v: want a pointer and a detail", f)
				}
				if k := strings.TrimPrefix(f.Pointer, "/"); !slices.Contains(fields, k) {
					fields = append(fields, k)
				}
			}
			slices.Sort(fields)
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("fields %v, want %v (%v)", fields, tt.fields, ge.Fields)
			}
			if ge.Description == "" {
				t.Error("no description")
			}
			// The management API's names never show through.
			for _, old := range []string{"allowed_scopes", "allowed_grant_types", "client_type", "/name"} {
				if strings.Contains(ge.Description, old) {
					t.Errorf("description %q names %s", ge.Description, old)
				}
			}
		})
	}

	// Nothing was written by any of them.
	n, total, err := e.st.ListClients(context.Background(), grantd.ClientFilter{}, grantd.Page{Number: 1, Size: 100})
	if err != nil || total != 0 {
		t.Errorf("%d clients stored (%v, %v), want none", total, n, err)
	}
}

func TestRegisterRedirectURIDescription(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	_, err := e.p.Register(context.Background(), grantd.User{}, ClientMetadata{RedirectURIs: strs("https://ok.example/cb", "http://evil.example/cb")})
	ge := grantd.AsError(err)
	// Named by its place, never by its value, which may carry anything.
	if ge.Code != grantd.CodeInvalidRedirectURI || !strings.HasPrefix(ge.Description, "redirect_uris[1] ") || strings.Contains(ge.Description, "example") {
		t.Errorf("err = %v, want invalid_redirect_uri naming the bad URI's place only", err)
	}
}

func TestRegisterPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	md := ClientMetadata{GrantTypes: strs(grantd.GrantClientCredentials)}
	owner := grantd.User{ID: "u-1", OrgID: "o-1"}

	t.Run("open ignores an owner", func(t *testing.T) {
		e := newFlowEnv(t)
		owner := grantd.User{ID: e.user(t, "a@example.com"), OrgID: "o-1"}
		reg := e.register(t, owner, md)
		if reg.Client.UserID != "" || reg.Client.OrgID != "" {
			t.Errorf("owner %q/%q, want none under open registration", reg.Client.UserID, reg.Client.OrgID)
		}
	})
	t.Run("api_key", func(t *testing.T) {
		e := newFlowEnv(t, func(c *Config) { c.Registration = RegistrationAPIKey })
		if _, err := e.p.Register(ctx, grantd.User{}, md); codeOf(err) != grantd.CodeInvalidToken {
			t.Errorf("without an owner: %v, want invalid_token", err)
		}
		owner := grantd.User{ID: e.user(t, "a@example.com")}
		u, _ := e.st.GetUser(ctx, owner.ID)
		owner.OrgID = u.OrgID
		reg := e.register(t, owner, md)
		if reg.Client.UserID != owner.ID || reg.Client.OrgID != owner.OrgID {
			t.Errorf("owner %q/%q, want %q/%q", reg.Client.UserID, reg.Client.OrgID, owner.ID, owner.OrgID)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		e := newFlowEnv(t, func(c *Config) { c.Registration = RegistrationDisabled })
		for _, o := range []grantd.User{{}, owner} {
			if err := e.p.AdmitRegistration(o); codeOf(err) != grantd.CodeNotFound {
				t.Errorf("AdmitRegistration: %v, want not_found", err)
			}
			if _, err := e.p.Register(ctx, o, md); codeOf(err) != grantd.CodeNotFound {
				t.Errorf("Register: %v, want not_found", err)
			}
		}
	})
	t.Run("unknown", func(t *testing.T) {
		// A misspelt policy must not fall through to open registration.
		if _, err := NewProvider(Deps{Config: Config{Issuer: flowIssuer, Registration: "closed"}}); err == nil {
			t.Error("NewProvider accepted the registration policy \"closed\"")
		}
	})
}

func TestRegistrationManagement(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	ctx := context.Background()
	reg := e.register(t, grantd.User{}, ClientMetadata{
		ClientName: ptr("Acme"), RedirectURIs: strs("https://app.example/cb"), LogoURI: ptr("https://app.example/logo.png"),
		GrantTypes: strs(grantd.GrantAuthorizationCode, grantd.GrantRefreshToken), Scope: ptr("read write"),
		TokenEndpointAuthMethod: ptr(grantd.AuthMethodClientSecretPost),
	})
	id, tok := reg.Client.ID, reg.AccessToken
	managed := e.client(t) // made by the management API: no registration token

	t.Run("read", func(t *testing.T) {
		c, err := e.p.RegisteredClient(ctx, id, tok)
		if err != nil || c.ID != id || c.Name != "Acme" {
			t.Fatalf("RegisteredClient = %+v, %v", c, err)
		}
		for _, bad := range []struct{ id, tok string }{
			{id, ""}, {id, tok + "x"}, {id, token.PrefixRegistrationToken}, {id, reg.ClientSecret},
			{"nope", tok}, {"", tok}, {strings.Repeat("x", 300), tok}, {managed.ID, tok}, {managed.ID, ""},
		} {
			if _, err := e.p.RegisteredClient(ctx, bad.id, bad.tok); codeOf(err) != grantd.CodeInvalidToken {
				t.Errorf("RegisteredClient(%.30q, %.30q) = %v, want invalid_token", bad.id, bad.tok, err)
			}
		}
	})

	t.Run("update replaces", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		c, err := e.p.UpdateRegistration(ctx, id, tok, ClientMetadata{
			ClientID: &id, ClientSecret: &reg.ClientSecret, RedirectURIs: strs("https://app.example/cb2"),
		})
		if err != nil {
			t.Fatal(err)
		}
		// Omitted fields take their defaults; the auth method stays.
		if c.Name != "" || c.LogoURI != "" || !slices.Equal(c.RedirectURIs, []string{"https://app.example/cb2"}) ||
			!slices.Equal(c.GrantTypes, []string{grantd.GrantAuthorizationCode}) || len(c.Scopes) != 3 ||
			c.TokenEndpointAuthMethod != grantd.AuthMethodClientSecretPost || c.Type != grantd.ClientConfidential {
			t.Errorf("updated = %+v", c)
		}
		if c.SecretHash != reg.Client.SecretHash || c.RegistrationTokenHash != reg.Client.RegistrationTokenHash ||
			!c.CreatedAt.Equal(reg.Client.CreatedAt) || !c.UpdatedAt.After(c.CreatedAt) || !c.Registered {
			t.Errorf("updated = %+v: the secret, token and creation time must stay", c)
		}
		// basic and post are both secrets: switching is fine.
		if _, err := e.p.UpdateRegistration(ctx, id, tok, ClientMetadata{ClientID: &id, RedirectURIs: strs("https://app.example/cb"),
			TokenEndpointAuthMethod: ptr(grantd.AuthMethodClientSecretBasic)}); err != nil {
			t.Errorf("switching to client_secret_basic: %v", err)
		}
	})

	t.Run("update refused", func(t *testing.T) {
		before, _ := e.st.GetClient(ctx, id)
		cb := strs("https://app.example/cb")
		tests := []struct {
			name  string
			tok   string
			md    ClientMetadata
			code  grantd.Code
			field string
		}{
			{"wrong token", "grantd_reg_nope", ClientMetadata{ClientID: &id, RedirectURIs: cb}, grantd.CodeInvalidToken, ""},
			{"no client_id", tok, ClientMetadata{RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, "/client_id"},
			{"another client_id", tok, ClientMetadata{ClientID: &managed.ID, RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, "/client_id"},
			{"another secret", tok, ClientMetadata{ClientID: &id, ClientSecret: ptr("grantd_secret_mine"), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, "/client_secret"},
			{"to public", tok, ClientMetadata{ClientID: &id, TokenEndpointAuthMethod: ptr("none"), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, "/token_endpoint_auth_method"},
			{"bad scope", tok, ClientMetadata{ClientID: &id, Scope: ptr("nope"), RedirectURIs: cb}, grantd.CodeInvalidClientMetadata, "/scope"},
			{"bad redirect", tok, ClientMetadata{ClientID: &id, RedirectURIs: strs("http://app.example/cb")}, grantd.CodeInvalidRedirectURI, ""},
		}
		for _, tt := range tests {
			_, err := e.p.UpdateRegistration(ctx, id, tt.tok, tt.md)
			ge := grantd.AsError(err)
			if err == nil || ge.Code != tt.code {
				t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
				continue
			}
			if tt.field != "" && (len(ge.Fields) == 0 || ge.Fields[0].Pointer != tt.field) {
				t.Errorf("%s: fields %v, want %s", tt.name, ge.Fields, tt.field)
			}
		}
		after, _ := e.st.GetClient(ctx, id)
		if !after.UpdatedAt.Equal(before.UpdatedAt) || !slices.Equal(after.RedirectURIs, before.RedirectURIs) {
			t.Error("a refused update changed the client")
		}
	})

	t.Run("a public client stays public", func(t *testing.T) {
		pub := e.register(t, grantd.User{}, ClientMetadata{TokenEndpointAuthMethod: ptr("none"), RedirectURIs: strs("http://127.0.0.1/cb")})
		pid := pub.Client.ID
		// Omitting the method keeps none rather than defaulting to a
		// secret method the client cannot switch to.
		c, err := e.p.UpdateRegistration(ctx, pid, pub.AccessToken, ClientMetadata{ClientID: &pid, RedirectURIs: strs("http://127.0.0.1/cb2")})
		if err != nil || !c.Public() || c.TokenEndpointAuthMethod != grantd.AuthMethodNone {
			t.Fatalf("update = %+v, %v", c, err)
		}
		_, err = e.p.UpdateRegistration(ctx, pid, pub.AccessToken, ClientMetadata{ClientID: &pid, ClientSecret: ptr("anything"),
			RedirectURIs: strs("http://127.0.0.1/cb2")})
		if codeOf(err) != grantd.CodeInvalidClientMetadata {
			t.Errorf("a secret for a public client: %v", err)
		}
		_, err = e.p.UpdateRegistration(ctx, pid, pub.AccessToken, ClientMetadata{ClientID: &pid, TokenEndpointAuthMethod: ptr("client_secret_basic"),
			RedirectURIs: strs("http://127.0.0.1/cb2")})
		if codeOf(err) != grantd.CodeInvalidClientMetadata {
			t.Errorf("to confidential: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := e.p.DeleteRegistration(ctx, id, "grantd_reg_nope"); codeOf(err) != grantd.CodeInvalidToken {
			t.Errorf("wrong token: %v", err)
		}
		if err := e.p.DeleteRegistration(ctx, managed.ID, tok); codeOf(err) != grantd.CodeInvalidToken {
			t.Errorf("a management client: %v", err)
		}
		if err := e.p.DeleteRegistration(ctx, id, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.GetClient(ctx, id); !errors.Is(err, grantd.ErrNotFound) {
			t.Errorf("client after delete: %v", err)
		}
		if _, err := e.p.RegisteredClient(ctx, id, tok); codeOf(err) != grantd.CodeInvalidToken {
			t.Errorf("read after delete: %v, want invalid_token", err)
		}
		if err := e.p.DeleteRegistration(ctx, id, tok); codeOf(err) != grantd.CodeInvalidToken {
			t.Errorf("second delete: %v, want invalid_token", err)
		}
		if _, err := e.st.GetClient(ctx, managed.ID); err != nil {
			t.Errorf("the management client went too: %v", err)
		}
	})
}
