package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// mintAccessToken signs an access token of this server directly, the way
// one issued before a rule existed looks: c with the issuer, audience,
// jti and times filled in.
func (e *testEnv) mintAccessToken(t testing.TB, c token.AccessClaims) string {
	t.Helper()
	now := e.Clock.Now()
	c.Issuer, c.JTI, c.IssuedAt, c.ExpiresAt = e.URL, token.NewID(), now, now.Add(10*time.Minute)
	if c.Audience == "" {
		c.Audience = e.URL
	}
	tok, err := e.Keys.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// telnyxCode answers the code of a management error's one error.
func telnyxCode(t testing.TB, body []byte) string {
	t.Helper()
	var b struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &b); err != nil || len(b.Errors) == 0 {
		t.Fatalf("not a Telnyx error: %s", body)
	}
	return b.Errors[0].Code
}

// approveOverAPI runs the code flow for conf with the user's API key, as
// the published curl examples do, and answers the token.
func approveOverAPI(t *testing.T, env *testEnv, key string, conf oauth2.Config) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	st, h, body := apiCall(t, env, "GET", conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), key, nil)
	if st != http.StatusFound {
		t.Fatalf("authorize: %d %s", st, body)
	}
	ct := consentTokenOf(t, env, h.Get("Location"))
	st, _, body = apiCall(t, env, "POST", env.URL+"/v2/oauth/grants", key, map[string]any{"allowed": true, "consent_token": ct})
	if st != http.StatusOK {
		t.Fatalf("decision: %d %s", st, body)
	}
	var d struct {
		RedirectURI string `json:"redirect_uri"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	tok, err := conf.Exchange(t.Context(), redirectParams(t, d.RedirectURI, conf.RedirectURL).Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// TestAnonymousAppGetsNoAccountManagement performs the audit's attack of
// issue 7 item 1 over HTTP: an app registers itself anonymously (open
// registration, the default), one user approves it, and its token tries
// to manage that user's OAuth clients.
//
//   - Asking for admin at registration is invalid_client_metadata naming
//     scope; the default registers only the scopes that are not sensitive,
//     and the protected resource metadata advertises only those.
//   - Asking for admin at authorize is invalid_scope.
//   - The approved app's token, and a token with admin issued under the
//     same grant before these rules, get 403 10010 on the management API,
//     reading or creating.
func TestAnonymousAppGetsNoAccountManagement(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	alice := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, alice)
	mine, _ := env.createClient(t, alice, clientSpec{})

	// 1. The app asks for admin: refused, naming the field.
	const cb = "http://127.0.0.1:53682/callback"
	st, _, body := apiCall(t, env, "POST", env.URL+"/v2/oauth/register", "", map[string]any{
		"client_name": "Helpful Agent", "token_endpoint_auth_method": "none", "scope": "admin read",
		"grant_types": []string{"authorization_code", "refresh_token"}, "redirect_uris": []string{"http://127.0.0.1/callback"},
	})
	m := decodeJSON(t, body)
	fields, _ := m["invalid_fields"].(map[string]any)
	if st != http.StatusBadRequest || m["error"] != "invalid_client_metadata" || fields["scope"] == nil || !strings.Contains(m["error_description"].(string), `"admin"`) {
		t.Fatalf("registration asking for admin: %d %s, want 400 invalid_client_metadata naming scope and admin", st, body)
	}

	// 2. Without scope it registers, without admin.
	st, _, body = apiCall(t, env, "POST", env.URL+"/v2/oauth/register", "", map[string]any{
		"client_name": "Helpful Agent", "token_endpoint_auth_method": "none",
		"grant_types": []string{"authorization_code", "refresh_token"}, "redirect_uris": []string{"http://127.0.0.1/callback"},
	})
	if st != http.StatusCreated {
		t.Fatalf("register: %d %s", st, body)
	}
	var reg wireRegistration
	if err := json.Unmarshal(body, &reg); err != nil {
		t.Fatal(err)
	}
	if reg.Scope != "read write" {
		t.Fatalf("registered scope %q, want \"read write\": no sensitive scope by default", reg.Scope)
	}
	st, _, body = apiCall(t, env, "GET", env.URL+"/.well-known/oauth-protected-resource/v2", "", nil)
	var prm struct {
		ScopesSupported []string `json:"scopes_supported"`
	}
	if err := json.Unmarshal(body, &prm); st != http.StatusOK || err != nil || !slices.Equal(prm.ScopesSupported, []string{"read", "write"}) {
		t.Errorf("protected resource metadata: %d %s, want scopes_supported [read write]", st, body)
	}

	conf := oauth2.Config{
		ClientID:    reg.ClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: env.URL + "/v2/oauth/authorize", TokenURL: env.URL + "/v2/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: cb,
		Scopes:      []string{grantd.ScopeAdmin},
	}
	// 3. Asking alice for admin is answered invalid_scope.
	st, h, body := apiCall(t, env, "GET", conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), key, nil)
	if st != http.StatusFound {
		t.Fatalf("authorize: %d %s", st, body)
	}
	if q := redirectParams(t, h.Get("Location"), cb); q.Get("error") != "invalid_scope" {
		t.Errorf("authorize asking for admin answered %v, want invalid_scope", q)
	}

	// 4. Alice approves what it may ask for.
	conf.Scopes = nil
	tok := approveOverAPI(t, env, key, conf)
	if tok.Extra("scope") != "read write" {
		t.Errorf("token scope %v, want \"read write\"", tok.Extra("scope"))
	}
	claims := verifyWithJWKS(t, env.HTTP, env.URL+"/v2/oauth/jwks", tok.AccessToken)
	grantID, _ := claims["grant_id"].(string)

	// 5. Neither its token nor one with admin under the same grant, as
	// issued before these rules, reaches alice's clients.
	old := env.mintAccessToken(t, token.AccessClaims{Subject: alice.ID, ClientID: reg.ClientID, Scope: "admin read write", GrantID: grantID})
	for name, cred := range map[string]string{"the app's token": tok.AccessToken, "an old token with admin": old} {
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/v2/oauth_clients", nil},
			{"GET", "/v2/oauth_clients/" + mine.ID, nil},
			{"GET", "/v2/oauth_grants", nil},
			{"POST", "/v2/oauth_clients", map[string]any{"name": "Backdoor", "client_type": "confidential",
				"allowed_scopes": []string{"admin"}, "allowed_grant_types": []string{"client_credentials"}}},
		} {
			st, _, body := apiCall(t, env, req.method, env.URL+req.path, cred, req.body)
			if st != http.StatusForbidden || telnyxCode(t, body) != "10010" {
				t.Errorf("%s: %s %s = %d %s, want 403 10010", name, req.method, req.path, st, body)
			}
		}
	}
	// The old token is live otherwise: it is the rule, not the token,
	// that refuses it.
	if in := introspect(t, env, old); in["active"] != true {
		t.Errorf("the old token is not active at introspection: %v", in)
	}
	if _, ids := listClientIDs(t, env, key); !slices.Equal(ids, []string{mine.ID}) {
		t.Errorf("alice's clients = %v, want only her own", ids)
	}
}

// TestRemovingAnAppRemovesWhatItMade: an app with an owner (a developer's)
// that a person approved for admin creates a client in that person's
// account through its token. The client may carry no scope beyond the
// token's, and when the person removes the app (revokes the grant), or
// the developer deletes the app, the clients it made go with it: their
// credentials and tokens stop working at once.
func TestRemovingAnAppRemovesWhatItMade(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	alice, dev := env.createUser(t, "alice@example.com"), env.createUser(t, "dev@example.com")
	aliceKey, devKey := env.createAPIKey(t, alice), env.createAPIKey(t, dev)

	// The developer's app, from the management API.
	st, _, body := apiCall(t, env, "POST", env.URL+"/v2/oauth_clients", devKey, map[string]any{
		"name": "Partner", "client_type": "confidential", "allowed_scopes": []string{"admin", "read"},
		"allowed_grant_types": []string{"authorization_code"}, "redirect_uris": []string{"https://partner.example/cb"},
	})
	if st != http.StatusCreated {
		t.Fatalf("create app: %d %s", st, body)
	}
	var app struct {
		Data struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &app); err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{
		ClientID: app.Data.ClientID, ClientSecret: app.Data.ClientSecret,
		Endpoint:    oauth2.Endpoint{AuthURL: env.URL + "/v2/oauth/authorize", TokenURL: env.URL + "/v2/oauth/token", AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL: "https://partner.example/cb",
		Scopes:      []string{grantd.ScopeAdmin},
	}

	// makeClient creates a client in alice's account with the app's token.
	makeClient := func(t *testing.T, appToken string, scopes ...string) (int, string, string, []byte) {
		st, _, body := apiCall(t, env, "POST", env.URL+"/v2/oauth_clients", appToken, map[string]any{
			"name": "Made by Partner", "client_type": "confidential", "allowed_scopes": scopes,
			"allowed_grant_types": []string{"client_credentials"},
		})
		var c struct {
			Data struct {
				ClientID     string `json:"client_id"`
				ClientSecret string `json:"client_secret"`
				UserID       string `json:"user_id"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &c)
		if st == http.StatusCreated && c.Data.UserID != alice.ID {
			t.Fatalf("made client belongs to %q, want alice", c.Data.UserID)
		}
		return st, c.Data.ClientID, c.Data.ClientSecret, body
	}
	// gone checks that a client made through the app no longer exists for
	// alice, and that its secret and token are dead.
	gone := func(t *testing.T, id, secret, tok string) {
		t.Helper()
		if st, _, body := apiCall(t, env, "GET", env.URL+"/v2/oauth_clients/"+id, aliceKey, nil); st != http.StatusNotFound {
			t.Errorf("GET the made client: %d %s, want 404", st, body)
		}
		oauthErr(t, env.postForm(t, "/v2/oauth/token", url.Values{"grant_type": {"client_credentials"}}, id, secret), http.StatusUnauthorized, "invalid_client")
		if st, _, body := apiCall(t, env, "GET", env.URL+"/v2/oauth_clients", tok, nil); st != http.StatusUnauthorized {
			t.Errorf("the made client's token on the API: %d %s, want 401", st, body)
		}
		if in := introspect(t, env, tok); in["active"] != false {
			t.Errorf("the made client's token is still active: %v", in)
		}
	}

	t.Run("revoking the grant", func(t *testing.T) {
		appTok := approveOverAPI(t, env, aliceKey, conf)
		if appTok.Extra("scope") != "admin" {
			t.Fatalf("app token scope %v", appTok.Extra("scope"))
		}
		// No client stronger than the token.
		if st, _, _, body := makeClient(t, appTok.AccessToken, "admin", "read"); st != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"/allowed_scopes/1"`) {
			t.Errorf("creating a client with read through an admin-only token: %d %s, want 422 at /allowed_scopes/1", st, body)
		}
		st, id, secret, body := makeClient(t, appTok.AccessToken, "admin")
		if st != http.StatusCreated {
			t.Fatalf("create through the app's token: %d %s", st, body)
		}
		made := ccToken(t, env, id, secret, url.Values{"scope": {"admin"}})
		if _, ids := listClientIDs(t, env, made); !slices.Contains(ids, id) {
			t.Fatalf("the made client's admin token lists %v", ids)
		}

		var grants struct {
			Data []struct {
				ID       string `json:"id"`
				ClientID string `json:"client_id"`
			} `json:"data"`
		}
		_, _, body = apiCall(t, env, "GET", env.URL+"/v2/oauth_grants", aliceKey, nil)
		if err := json.Unmarshal(body, &grants); err != nil || len(grants.Data) != 1 || grants.Data[0].ClientID != app.Data.ClientID {
			t.Fatalf("alice's grants: %s", body)
		}
		if st, _, body := apiCall(t, env, "DELETE", env.URL+"/v2/oauth_grants/"+grants.Data[0].ID, aliceKey, nil); st != http.StatusOK {
			t.Fatalf("revoke: %d %s", st, body)
		}
		gone(t, id, secret, made)
		// The app itself is the developer's, and stays.
		if st, _, _ := apiCall(t, env, "GET", env.URL+"/v2/oauth_clients/"+app.Data.ClientID, devKey, nil); st != http.StatusOK {
			t.Errorf("the app is gone for its developer: %d", st)
		}
	})

	t.Run("deleting the app", func(t *testing.T) {
		appTok := approveOverAPI(t, env, aliceKey, conf)
		st, id, secret, body := makeClient(t, appTok.AccessToken, "admin")
		if st != http.StatusCreated {
			t.Fatalf("create through the app's token: %d %s", st, body)
		}
		made := ccToken(t, env, id, secret, url.Values{"scope": {"admin"}})
		if st, _, body := apiCall(t, env, "DELETE", env.URL+"/v2/oauth_clients/"+app.Data.ClientID, devKey, nil); st != http.StatusNoContent {
			t.Fatalf("delete the app: %d %s", st, body)
		}
		gone(t, id, secret, made)
	})
}
