package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/token"
)

// The resources of the exchange tests: an MCP server the person's app
// gets a token for, and a downstream API behind it that accepts read only.
const (
	mcpResource        = "https://mcp.example.com/mcp"
	downstreamResource = "https://downstream.example.com/api"
	tokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
)

func newExchangeEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnv(t, withConfig(func(c *oauth.Config) {
		c.Resources = append(c.Resources, mcpResource)
		c.Registry = []oauth.Resource{{ID: downstreamResource, Name: "Downstream", Scopes: []string{"read"}}}
	}))
}

// exchangeClient creates, through the management API, a confidential
// client of owner that may exchange tokens for resources (and use
// client_credentials, for its own actor tokens), and answers its id and
// secret.
func exchangeClient(t *testing.T, env *testEnv, key string, resources ...string) (string, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"name": "exchanger", "client_type": "confidential", "allowed_scopes": []string{"read", "write", "admin"},
		"allowed_grant_types":      []string{grantd.GrantTokenExchange, grantd.GrantClientCredentials},
		"token_exchange_resources": resources,
	})
	rec := env.api(t, "POST", "/v2/oauth_clients", key, string(body))
	if rec.Code != http.StatusCreated {
		t.Fatalf("create exchange client: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		Data struct {
			ClientID               string   `json:"client_id"`
			ClientSecret           string   `json:"client_secret"`
			AllowedGrantTypes      []string `json:"allowed_grant_types"`
			TokenExchangeResources []string `json:"token_exchange_resources"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Data.TokenExchangeResources, resources) {
		t.Fatalf("token_exchange_resources = %v, want %v", out.Data.TokenExchangeResources, resources)
	}
	return out.Data.ClientID, out.Data.ClientSecret
}

// exchange posts a token exchange as the client, with the subject token
// and the extra parameters.
func exchange(t *testing.T, env *testEnv, id, secret, subject string, extra url.Values) *httptest.ResponseRecorder {
	t.Helper()
	v := url.Values{"grant_type": {grantd.GrantTokenExchange}, "subject_token": {subject}, "subject_token_type": {tokenTypeAccess}}
	for k, vs := range extra {
		v[k] = vs
	}
	return env.postForm(t, "/v2/oauth/token", v, id, secret)
}

// exchanged checks a successful exchange answer and answers its token
// and the token's claims.
func exchanged(t *testing.T, env *testEnv, rec *httptest.ResponseRecorder) (string, token.AccessClaims, map[string]any) {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("exchange: status %d: %s", rec.Code, rec.Body)
	}
	checkTokenHeaders(t, rec.Result().Header)
	m := decodeJSON(t, rec.Body.Bytes())
	if m["issued_token_type"] != tokenTypeAccess || m["token_type"] != "Bearer" {
		t.Errorf("exchange answer %s: want issued_token_type access_token and token_type Bearer", rec.Body)
	}
	if _, ok := m["refresh_token"]; ok {
		t.Errorf("exchange answer has a refresh_token: %s", rec.Body)
	}
	tok, _ := m["access_token"].(string)
	return tok, mustVerify(t, env, tok), m
}

// userToken runs the code flow for a person with a public app and
// answers the access token, for aud resource.
func userToken(t *testing.T, env *testEnv, resource string) (codeFlow, wireToken) {
	t.Helper()
	f := newCodeFlow(t, env, clientSpec{})
	code := env.mintCode(t, f.grant, codeSpec{redirectURI: f.client.RedirectURIs[0], challenge: oauth.S256(testVerifier), resource: resource})
	return f, tokenOK(t, f.redeem(t, code))
}

func actor(sub, clientID string, inner *token.Actor) *token.Actor {
	return &token.Actor{Subject: sub, ClientID: clientID, Act: inner}
}

// TestTokenExchangeChain: a person's token for an MCP server is exchanged
// by the MCP server for the downstream API, and that token again by the
// downstream API (with its own token as actor_token) for a third API. Each
// hop keeps the person as sub and the grant, names the exchanging client,
// narrows scope and audience, and nests the act of the hop before.
func TestTokenExchangeChain(t *testing.T) {
	t.Parallel()
	env := newExchangeEnv(t)
	ops := env.createUser(t, "ops@example.com")
	key := env.createAPIKey(t, ops)
	mcpID, mcpSecret := exchangeClient(t, env, key, downstreamResource)
	dsID, dsSecret := exchangeClient(t, env, key, testResource)

	f, person := userToken(t, env, mcpResource)
	if person.Scope != "read write" {
		t.Fatalf("person's scope = %q", person.Scope)
	}

	// Hop 1: no scope asked; the downstream API accepts read only.
	hop1, c1, m1 := exchanged(t, env, exchange(t, env, mcpID, mcpSecret, person.AccessToken, url.Values{"resource": {downstreamResource}}))
	if c1.Subject != f.user.ID || c1.ClientID != mcpID || c1.Audience != downstreamResource || c1.Scope != "read" || c1.GrantID != f.grant.ID {
		t.Errorf("hop 1 claims = %+v", c1)
	}
	if want := actor(mcpID, mcpID, nil); !reflect.DeepEqual(c1.Act, want) {
		t.Errorf("hop 1 act = %+v, want %+v", c1.Act, want)
	}
	if m1["scope"] != "read" || m1["expires_in"] != float64(1800) {
		t.Errorf("hop 1 answer = %v", m1)
	}

	// Hop 2: the downstream API presents its own token as the actor, and
	// names the target by audience.
	dsOwn := ccToken(t, env, dsID, dsSecret, url.Values{"scope": {"read"}})
	hop2, c2, _ := exchanged(t, env, exchange(t, env, dsID, dsSecret, hop1, url.Values{
		"audience": {testResource}, "scope": {"read"}, "actor_token": {dsOwn}, "actor_token_type": {tokenTypeAccess},
		"requested_token_type": {tokenTypeAccess},
	}))
	if c2.Subject != f.user.ID || c2.ClientID != dsID || c2.Audience != testResource || c2.Scope != "read" || c2.GrantID != f.grant.ID {
		t.Errorf("hop 2 claims = %+v", c2)
	}
	want := actor(dsID, dsID, actor(mcpID, mcpID, nil))
	if !reflect.DeepEqual(c2.Act, want) {
		t.Errorf("hop 2 act = %+v, want %+v", c2.Act, want)
	}

	// Introspection shows the chain.
	in := introspect(t, env, hop2)
	wantAct := map[string]any{"sub": dsID, "client_id": dsID, "act": map[string]any{"sub": mcpID, "client_id": mcpID}}
	if in["active"] != true || !reflect.DeepEqual(in["act"], wantAct) || in["sub"] != f.user.ID || in["client_id"] != dsID || in["aud"] != testResource {
		t.Errorf("introspection of hop 2 = %v", in)
	}
	if _, ok := introspect(t, env, person.AccessToken)["act"]; ok {
		t.Error("introspection of the person's own token shows act")
	}

	// The grant records the use.
	g, err := env.Store.GetGrant(context.Background(), f.grant.ID)
	if err != nil || g.LastUsedAt == nil {
		t.Errorf("grant after exchange: %+v, %v", g, err)
	}
}

// TestTokenExchangeActorUser: with an actor_token whose subject is a
// person (an agent's own sign-in through the exchanging client), act.sub
// is that subject and act.client_id the client.
func TestTokenExchangeActorUser(t *testing.T) {
	t.Parallel()
	env := newExchangeEnv(t)
	ops := env.createUser(t, "ops@example.com")
	id, secret := exchangeClient(t, env, env.createAPIKey(t, ops), downstreamResource)
	agent := env.createUser(t, "agent@example.com")
	actorTok := env.mintAccessToken(t, token.AccessClaims{Subject: agent.ID, ClientID: id, Scope: "read"})
	_, person := userToken(t, env, mcpResource)
	_, c, _ := exchanged(t, env, exchange(t, env, id, secret, person.AccessToken, url.Values{
		"resource": {downstreamResource}, "actor_token": {actorTok}, "actor_token_type": {tokenTypeAccess},
	}))
	if want := actor(agent.ID, id, nil); !reflect.DeepEqual(c.Act, want) {
		t.Errorf("act = %+v, want %+v", c.Act, want)
	}
}

// TestTokenExchangeRefusals: each way an exchange is refused, with the
// endpoint's own error and nothing issued.
func TestTokenExchangeRefusals(t *testing.T) {
	t.Parallel()
	env := newExchangeEnv(t)
	ops := env.createUser(t, "ops@example.com")
	key := env.createAPIKey(t, ops)
	id, secret := exchangeClient(t, env, key, downstreamResource, mcpResource)
	otherID, otherSecret := exchangeClient(t, env, key, downstreamResource)
	f, person := userToken(t, env, mcpResource)

	// A confidential client without the grant type.
	plain, plainSecret := env.createClient(t, ops, clientSpec{})
	// A client_credentials token: no person, no grant.
	ccSubject := ccToken(t, env, plain.ID, plainSecret, nil)
	// A revoked token of the person (another code of the same grant).
	revoked := tokenOK(t, f.redeem(t, f.code(t))).AccessToken
	if err := env.Store.RevokeJTI(context.Background(), mustVerify(t, env, revoked).JTI, env.Clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	otherActor := ccToken(t, env, otherID, otherSecret, nil)
	at := url.Values{"resource": {downstreamResource}}
	with := func(kv ...string) url.Values {
		v := url.Values{"resource": {downstreamResource}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}

	for _, tc := range []struct {
		name        string
		id, secret  string
		subject     string
		extra       url.Values
		status      int
		code, words string
	}{
		{"wider scope than the subject token", id, secret, person.AccessToken, with("scope", "read admin"), 400, "invalid_scope", "subject_token"},
		{"scope the resource does not accept", id, secret, person.AccessToken, with("scope", "write"), 400, "invalid_scope", "not accepted by the resource"},
		{"resource not allowed to the client", otherID, otherSecret, person.AccessToken, url.Values{"resource": {mcpResource}}, 400, "invalid_target", "may not exchange"},
		{"the issuer, not listed", id, secret, person.AccessToken, url.Values{"resource": {env.URL}}, 400, "invalid_target", "may not exchange"},
		{"unknown resource", id, secret, person.AccessToken, url.Values{"resource": {"https://nowhere.example/"}}, 400, "invalid_target", "not a resource"},
		{"resource and audience disagree", id, secret, person.AccessToken, url.Values{"resource": {downstreamResource}, "audience": {mcpResource}}, 400, "invalid_target", "only one"},
		{"no resource", id, secret, person.AccessToken, url.Values{}, 400, "invalid_request", "resource or audience"},
		{"revoked subject token", id, secret, revoked, at, 400, "invalid_grant", "subject_token"},
		{"foreign subject token", id, secret, foreignToken(t), at, 400, "invalid_grant", "subject_token"},
		{"garbage subject token", id, secret, "not-a-token", at, 400, "invalid_grant", "subject_token"},
		{"client_credentials subject token", id, secret, ccSubject, at, 400, "invalid_grant", "person"},
		{"refresh token type", id, secret, person.AccessToken, with("subject_token_type", "urn:ietf:params:oauth:token-type:refresh_token"), 400, "invalid_request", `"urn:ietf:params:oauth:token-type:refresh_token"`},
		{"jwt token type", id, secret, person.AccessToken, with("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"), 400, "invalid_request", `"urn:ietf:params:oauth:token-type:jwt" is not supported`},
		{"no subject token type", id, secret, person.AccessToken, with("subject_token_type", ""), 400, "invalid_request", "subject_token_type is required"},
		{"no subject token", id, secret, "", at, 400, "invalid_request", "subject_token is required"},
		{"requested id_token", id, secret, person.AccessToken, with("requested_token_type", "urn:ietf:params:oauth:token-type:id_token"), 400, "invalid_request", "requested_token_type"},
		{"actor type without actor", id, secret, person.AccessToken, with("actor_token_type", tokenTypeAccess), 400, "invalid_request", "without actor_token"},
		{"actor without type", id, secret, person.AccessToken, with("actor_token", otherActor), 400, "invalid_request", "actor_token_type is required"},
		{"actor token of another client", id, secret, person.AccessToken, with("actor_token", otherActor, "actor_token_type", tokenTypeAccess), 400, "invalid_grant", "actor_token"},
		{"client without the grant type", plain.ID, plainSecret, person.AccessToken, at, 400, "unauthorized_client", "token exchange"},
		{"wrong client secret", id, "wrong", person.AccessToken, at, 401, "invalid_client", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := exchange(t, env, tc.id, tc.secret, tc.subject, tc.extra)
			oauthErr(t, rec, tc.status, tc.code)
			if d, _ := decodeJSON(t, rec.Body.Bytes())["error_description"].(string); !strings.Contains(d, tc.words) {
				t.Errorf("error_description %q does not contain %q", d, tc.words)
			}
		})
	}

	// A public client may not be given the grant.
	body := fmt.Sprintf(`{"name":"pub","client_type":"public","allowed_scopes":["read"],"allowed_grant_types":["authorization_code",%q],"redirect_uris":["https://app.example.com/cb"]}`, grantd.GrantTokenExchange)
	wantAPIError(t, env.api(t, "POST", "/v2/oauth_clients", key, body), 422, "10027", "/allowed_grant_types")
	// Nor a resource that is not configured.
	body = fmt.Sprintf(`{"name":"x","client_type":"confidential","allowed_scopes":["read"],"allowed_grant_types":[%q],"token_exchange_resources":["https://nowhere.example/"]}`, grantd.GrantTokenExchange)
	wantAPIError(t, env.api(t, "POST", "/v2/oauth_clients", key, body), 422, "10027", "/token_exchange_resources/0")
}

// TestTokenExchangeLifetime: an exchanged token never outlives its subject
// token, and one whose subject token has expired is refused.
func TestTokenExchangeLifetime(t *testing.T) {
	t.Parallel()
	env := newExchangeEnv(t)
	ops := env.createUser(t, "ops@example.com")
	id, secret := exchangeClient(t, env, env.createAPIKey(t, ops), downstreamResource)
	_, person := userToken(t, env, mcpResource)
	env.Clock.Advance(20 * time.Minute)
	_, c, m := exchanged(t, env, exchange(t, env, id, secret, person.AccessToken, url.Values{"resource": {downstreamResource}}))
	if want := mustVerify(t, env, person.AccessToken).ExpiresAt; !c.ExpiresAt.Equal(want) || m["expires_in"] != float64(600) {
		t.Errorf("exp = %v (expires_in %v), want the subject token's %v (600)", c.ExpiresAt, m["expires_in"], want)
	}
	env.Clock.Advance(10 * time.Minute)
	oauthErr(t, exchange(t, env, id, secret, person.AccessToken, url.Values{"resource": {downstreamResource}}), 400, "invalid_grant")
}

// TestTokenExchangeRevokedWithGrant: the person revoking the app's grant
// makes every token of the chain inactive at once.
func TestTokenExchangeRevokedWithGrant(t *testing.T) {
	t.Parallel()
	env := newExchangeEnv(t)
	ops := env.createUser(t, "ops@example.com")
	key := env.createAPIKey(t, ops)
	mcpID, mcpSecret := exchangeClient(t, env, key, downstreamResource)
	dsID, dsSecret := exchangeClient(t, env, key, testResource)
	f, person := userToken(t, env, mcpResource)
	hop1, _, _ := exchanged(t, env, exchange(t, env, mcpID, mcpSecret, person.AccessToken, url.Values{"resource": {downstreamResource}}))
	hop2, _, _ := exchanged(t, env, exchange(t, env, dsID, dsSecret, hop1, url.Values{"resource": {testResource}}))
	for _, tok := range []string{person.AccessToken, hop1, hop2} {
		if introspect(t, env, tok)["active"] != true {
			t.Fatal("a token of the chain is inactive before the revocation")
		}
	}

	rec := env.api(t, "DELETE", "/v2/oauth_grants/"+f.grant.ID, env.createAPIKey(t, f.user), "")
	if rec.Code != http.StatusOK {
		t.Fatalf("revoke grant: %d %s", rec.Code, rec.Body)
	}
	for i, tok := range []string{person.AccessToken, hop1, hop2} {
		if in := introspect(t, env, tok); in["active"] != false {
			t.Errorf("token %d of the chain after the grant's revocation: %v", i, in)
		}
	}
	// And none can be exchanged any more.
	oauthErr(t, exchange(t, env, dsID, dsSecret, hop1, url.Values{"resource": {testResource}}), 400, "invalid_grant")
}

// TestTokenExchangeRevokedWithGrantTokens: refresh token reuse revokes
// every token under the grant but leaves the grant: the exchanged tokens,
// which carry the grant's id, must go too (they are recorded under it).
func TestTokenExchangeRevokedWithGrantTokens(t *testing.T) {
	t.Parallel()
	env := newExchangeEnv(t)
	ops := env.createUser(t, "ops@example.com")
	mcpID, mcpSecret := exchangeClient(t, env, env.createAPIKey(t, ops), downstreamResource)
	f, person := userToken(t, env, mcpResource)
	hop1, _, _ := exchanged(t, env, exchange(t, env, mcpID, mcpSecret, person.AccessToken, url.Values{"resource": {downstreamResource}}))

	tokenOK(t, f.refresh(t, person.RefreshToken, nil))
	oauthErr(t, f.refresh(t, person.RefreshToken, nil), 400, "invalid_grant") // reuse
	if _, err := env.Store.GetGrant(context.Background(), f.grant.ID); err != nil {
		t.Fatalf("the grant should stand after reuse: %v", err)
	}
	if in := introspect(t, env, hop1); in["active"] != false {
		t.Errorf("exchanged token after refresh reuse: %v", in)
	}
}

// TestTokenExchangeMetadataAndClient: the grant is advertised, and the
// client field can be changed and cleared through the API.
func TestTokenExchangeMetadataAndClient(t *testing.T) {
	t.Parallel()
	env := newExchangeEnv(t)
	var md struct {
		GrantTypes []string `json:"grant_types_supported"`
	}
	if err := json.Unmarshal(getJSON(t, env, "/.well-known/oauth-authorization-server"), &md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(md.GrantTypes, " "), grantd.GrantTokenExchange) {
		t.Errorf("grant_types_supported = %v", md.GrantTypes)
	}

	ops := env.createUser(t, "ops@example.com")
	key := env.createAPIKey(t, ops)
	id, _ := exchangeClient(t, env, key, downstreamResource)
	// A resource given in another spelling is stored as configured.
	rec := env.api(t, "PUT", "/v2/oauth_clients/"+id, key, `{"token_exchange_resources":["HTTPS://MCP.example.com/mcp"]}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"token_exchange_resources":["https://mcp.example.com/mcp"]`) {
		t.Errorf("update: %d %s", rec.Code, rec.Body)
	}
	rec = env.api(t, "PUT", "/v2/oauth_clients/"+id, key, `{"token_exchange_resources":null}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"token_exchange_resources":[]`) {
		t.Errorf("clear: %d %s", rec.Code, rec.Body)
	}
}

// TestTokenExchangeChainLimit: a chain holds at most oauth.MaxDelegation
// actors; exchanging a token that already names that many is refused.
func TestTokenExchangeChainLimit(t *testing.T) {
	t.Parallel()
	env := newExchangeEnv(t)
	ops := env.createUser(t, "ops@example.com")
	id, secret := exchangeClient(t, env, env.createAPIKey(t, ops), downstreamResource)
	_, person := userToken(t, env, mcpResource)
	tok := person.AccessToken
	for i := 1; i <= oauth.MaxDelegation; i++ {
		var c token.AccessClaims
		tok, c, _ = exchanged(t, env, exchange(t, env, id, secret, tok, url.Values{"resource": {downstreamResource}}))
		if c.Act.Depth() != i {
			t.Fatalf("hop %d: act depth %d", i, c.Act.Depth())
		}
	}
	rec := exchange(t, env, id, secret, tok, url.Values{"resource": {downstreamResource}})
	oauthErr(t, rec, 400, "invalid_grant")
	if !strings.Contains(rec.Body.String(), "too many times") {
		t.Errorf("answer %s", rec.Body)
	}
}
