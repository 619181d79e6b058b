package client_test

// The tests run a real grantd in process, built by the one harness
// (internal/apptest) as every package's tests build theirs: the server
// serve builds (app.New) on the SQLite store in t.TempDir() and a loaded
// keyring, on a loopback port whose URL is the issuer, on a fake clock. A user with an API key owns nothing yet.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/client"
	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/testenv"
)

var testScopes = []grantd.Scope{
	{ID: grantd.ScopeAdmin, Name: "Administer your account", Description: "Manage clients and grants."},
	{ID: "read", Name: "Read your data", Description: "See your messages."},
	{ID: "write", Name: "Change your data", Description: "Send messages."},
}

type grantdServer struct {
	URL string // the issuer
	API string // the issuer + /v2
	Key string // the user's API key
}

func newGrantd(t testing.TB) *grantdServer {
	t.Helper()
	s := apptest.New(t, apptest.Options{Scopes: testScopes})
	u := testenv.User(t, s.Store, "owner@example.com", "", s.Clock.Now())
	return &grantdServer{URL: s.URL, API: s.URL + "/v2", Key: testenv.APIKey(t, s.Store, u.ID, s.Clock.Now())}
}

func (g *grantdServer) client() *client.Client {
	return client.New(g.API, client.WithAPIKey(g.Key))
}

// consent runs the code flow for a public client as a person would, the
// consent decided through the API with the user's API key as a consent
// portal would, and answers the token.
func (g *grantdServer) consent(t testing.TB, clientID, redirectURI string, scopes ...string) *oauth2.Token {
	t.Helper()
	cfg := oauth2.Config{
		ClientID: clientID, RedirectURL: redirectURI, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: g.API + "/oauth/authorize", TokenURL: g.API + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	verifier := oauth2.GenerateVerifier()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), nil)
	req.Header.Set("Authorization", "Bearer "+g.Key)
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %s %v", res.Status, err)
	}
	ct := loc.Query().Get("consent_token")
	if ct == "" {
		t.Fatalf("authorize went to %s, want the consent page", loc)
	}
	body, _ := json.Marshal(map[string]any{"allowed": true, "consent_token": ct})
	req, _ = http.NewRequest(http.MethodPost, g.API+"/oauth/grants", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+g.Key)
	req.Header.Set("Content-Type", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var dec struct {
		RedirectURI string `json:"redirect_uri"`
	}
	if err := json.NewDecoder(res.Body).Decode(&dec); err != nil || res.StatusCode != 200 {
		t.Fatalf("grants: %s %v", res.Status, err)
	}
	back, _ := url.Parse(dec.RedirectURI)
	tok, err := cfg.Exchange(context.Background(), back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// confidential creates a confidential client_credentials client allowed
// every scope and answers its id and secret.
func (g *grantdServer) confidential(t testing.TB, name string) (string, string) {
	t.Helper()
	oc, err := g.client().CreateClient(context.Background(), client.CreateClientParams{
		Name: name, ClientType: "confidential",
		AllowedScopes: []string{"admin", "read", "write"}, AllowedGrantTypes: []string{"client_credentials"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(oc.ClientSecret, "grantd_secret_") {
		t.Fatalf("secret = %q", oc.ClientSecret)
	}
	return oc.ClientID, oc.ClientSecret
}
