package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/grantd/grantd"
)

// apiCall makes one real HTTP request to the test server with the
// bearer credential and answers the status and body. Redirects are not
// followed: the flow inspects each one.
func apiCall(t *testing.T, env *testEnv, method, u, cred string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	r, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if cred != "" {
		r.Header.Set("Authorization", "Bearer "+cred)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	hc := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := hc.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, readAll(t, res.Body)
}

// TestCodeFlowOverAPI drives the whole code flow the way the published
// curl examples do, with a grantd API key as the user, and a real OAuth
// client library as the application: authorize, consent, decision, code
// exchange with PKCE, refresh, then revoking the grant from the
// management API kills the refresh token and the access token.
func TestCodeFlowOverAPI(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	alice := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, alice)
	c, secret := codeFlowClient(t, env, alice)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})

	conf := oauth2.Config{
		ClientID:     c.ID,
		ClientSecret: secret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   env.URL + "/v2/oauth/authorize",
			TokenURL:  env.URL + "/v2/oauth/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		RedirectURL: "https://app.example.com/cb",
		Scopes:      []string{grantd.ScopeAdmin, "read"},
	}
	verifier := oauth2.GenerateVerifier()

	// 1. Authorize: the API key is the user; the answer is the consent page.
	st, h, body := apiCall(t, env, "GET", conf.AuthCodeURL("state-42", oauth2.S256ChallengeOption(verifier)), key, nil)
	if st != http.StatusFound {
		t.Fatalf("authorize: %d %s", st, body)
	}
	consent, err := url.Parse(h.Get("Location"))
	if err != nil || consent.Scheme+"://"+consent.Host+consent.Path != env.URL+"/consent" {
		t.Fatalf("authorize Location = %q, want the consent page", h.Get("Location"))
	}
	ct := consent.Query().Get("consent_token")

	// 2. What the user is asked.
	st, _, body = apiCall(t, env, "GET", env.URL+"/v2/oauth/consent/"+url.PathEscape(ct), key, nil)
	if st != http.StatusOK {
		t.Fatalf("consent: %d %s", st, body)
	}
	var details struct {
		Data struct {
			ClientID        string `json:"client_id"`
			RedirectURI     string `json:"redirect_uri"`
			RequestedScopes []struct {
				ID string `json:"id"`
			} `json:"requested_scopes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &details); err != nil {
		t.Fatal(err)
	}
	if details.Data.ClientID != c.ID || details.Data.RedirectURI != conf.RedirectURL || len(details.Data.RequestedScopes) != 2 {
		t.Errorf("consent details = %s", body)
	}

	// 3. The user approves.
	st, _, body = apiCall(t, env, "POST", env.URL+"/v2/oauth/grants", key, map[string]any{"allowed": true, "consent_token": ct})
	if st != http.StatusOK {
		t.Fatalf("grants: %d %s", st, body)
	}
	var decision struct {
		RedirectURI string `json:"redirect_uri"`
	}
	if err := json.Unmarshal(body, &decision); err != nil {
		t.Fatal(err)
	}
	cb, err := url.Parse(decision.RedirectURI)
	if err != nil || !strings.HasPrefix(decision.RedirectURI, conf.RedirectURL+"?") {
		t.Fatalf("decision redirect_uri = %q", decision.RedirectURI)
	}
	if cb.Query().Get("state") != "state-42" || cb.Query().Get("iss") != env.URL {
		t.Errorf("decision answer = %v, want state and iss", cb.Query())
	}

	// 4. The application redeems the code with the verifier.
	tok, err := conf.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" || tok.Extra("scope") != "admin read" {
		t.Errorf("token = %+v scope %v", tok, tok.Extra("scope"))
	}

	// The access token acts for alice on the management API, which shows
	// the one grant.
	st, _, body = apiCall(t, env, "GET", env.URL+"/v2/oauth_grants", tok.AccessToken, nil)
	if st != http.StatusOK {
		t.Fatalf("list grants with the access token: %d %s", st, body)
	}
	var list struct {
		Data []struct {
			ID         string  `json:"id"`
			ClientID   string  `json:"client_id"`
			LastUsedAt *string `json:"last_used_at"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != 1 || list.Data[0].ClientID != c.ID || list.Data[0].LastUsedAt == nil {
		t.Fatalf("grants = %s, want one, used", body)
	}
	grantID := list.Data[0].ID

	// 5. Refresh: an expired token makes the token source refresh.
	env.Clock.Advance(time.Minute)
	fresh, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh did not rotate: %+v", fresh)
	}
	if introspect(t, env, fresh.AccessToken)["active"] != true || introspect(t, env, fresh.RefreshToken)["active"] != true {
		t.Fatal("the fresh tokens are not active before the revocation")
	}

	// 6. Revoke the grant.
	st, _, body = apiCall(t, env, "DELETE", env.URL+"/v2/oauth_grants/"+grantID, key, nil)
	if st != http.StatusOK || !strings.Contains(string(body), `"id":"`+grantID+`"`) {
		t.Fatalf("revoke: %d %s", st, body)
	}

	// 7. Everything under it is dead at once.
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh after revocation: %v, want invalid_grant", err)
	}
	if introspect(t, env, fresh.AccessToken)["active"] == true {
		t.Error("the access token is still active after the revocation")
	}
	if introspect(t, env, fresh.RefreshToken)["active"] == true {
		t.Error("the refresh token is still active after the revocation")
	}
	if st, _, _ := apiCall(t, env, "GET", env.URL+"/v2/oauth_grants", fresh.AccessToken, nil); st != http.StatusUnauthorized {
		t.Errorf("the access token still reaches the API: %d", st)
	}
	if st, _, _ := apiCall(t, env, "GET", env.URL+"/v2/oauth_grants/"+grantID, key, nil); st != http.StatusNotFound {
		t.Errorf("GET revoked grant: %d, want 404", st)
	}
}

// TestCodeFlowPublicLoopback: a native app (public client, loopback
// redirect on a port of its choosing) goes through consent, then comes
// back later and gets a code without being asked again.
func TestCodeFlowPublicLoopback(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	alice := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, alice)
	c, _ := env.createClient(t, alice, clientSpec{Public: true, Scopes: []string{"read"}, RedirectURIs: []string{"http://127.0.0.1/callback"}})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})
	conf := oauth2.Config{
		ClientID:    c.ID,
		Endpoint:    oauth2.Endpoint{AuthURL: env.URL + "/v2/oauth/authorize", TokenURL: env.URL + "/v2/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: "http://127.0.0.1:49152/callback",
	}

	for round := range 2 {
		verifier := oauth2.GenerateVerifier()
		st, h, body := apiCall(t, env, "GET", conf.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), key, nil)
		if st != http.StatusFound {
			t.Fatalf("authorize: %d %s", st, body)
		}
		to := h.Get("Location")
		if round == 0 {
			ct := consentTokenOf(t, env, to)
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
			to = d.RedirectURI
		}
		q := redirectParams(t, to, conf.RedirectURL)
		if q.Get("iss") != env.URL || q.Get("state") != "s" {
			t.Errorf("round %d: answer = %v", round, q)
		}
		tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("round %d: exchange: %v", round, err)
		}
		if tok.Extra("scope") != "read" {
			t.Errorf("round %d: scope = %v", round, tok.Extra("scope"))
		}
		// A second redemption of the same code fails.
		if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
			t.Errorf("round %d: the code was redeemed twice", round)
		}
	}
}
