package rs_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/rs"
)

const accessTokenType = "urn:ietf:params:oauth:token-type:access_token"

// personToken runs the code flow over HTTP for a new person with a new
// public app, approving with the person's API key as an external consent
// portal would, and answers the access token, the person's API key and
// the grant's id.
func (g *grantdServer) personToken(t *testing.T) (tok, key, grantID string) {
	t.Helper()
	person := testenv.User(t, g.Store, "person@example.com", "", g.Clock.Now())
	key = testenv.APIKey(t, g.Store, person.ID, g.Clock.Now())
	name, typ := "person's app", string(grantd.ClientPublic)
	scopes, grants := []string{"read", "write"}, []string{grantd.GrantAuthorizationCode}
	redirects := []string{"http://127.0.0.1/cb"}
	app, _, err := g.Provider.CreateClient(context.Background(), person, oauth.ClientInput{
		Name: &name, ClientType: &typ, AllowedScopes: &scopes, AllowedGrantTypes: &grants, RedirectURIs: &redirects,
	})
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{
		ClientID: app.ID, RedirectURL: redirects[0], Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: g.URL + "/v2/oauth/authorize", TokenURL: g.URL + "/v2/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	verifier := oauth2.GenerateVerifier()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %s to %q", res.Status, res.Header.Get("Location"))
	}
	body, _ := json.Marshal(map[string]any{"allowed": true, "consent_token": loc.Query().Get("consent_token")})
	req, _ = http.NewRequest(http.MethodPost, g.URL+"/v2/oauth/grants", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var decision struct {
		RedirectURI string `json:"redirect_uri"`
	}
	err = json.NewDecoder(res.Body).Decode(&decision)
	res.Body.Close()
	back, _ := url.Parse(decision.RedirectURI)
	if err != nil || back == nil || back.Query().Get("code") == "" {
		t.Fatalf("decision: %s %q", res.Status, decision.RedirectURI)
	}
	ot, err := conf.Exchange(context.Background(), back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := g.Keys.Verify(context.Background(), ot.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return ot.AccessToken, key, claims.GrantID
}

// exchanger creates a confidential client allowed to exchange tokens for
// apiAudience.
func (g *grantdServer) exchanger(t *testing.T, name string) (string, string) {
	t.Helper()
	owner := testenv.User(t, g.Store, name+"@example.com", "", g.Clock.Now())
	typ := string(grantd.ClientConfidential)
	scopes, grants, resources := []string{"read", "write"}, []string{grantd.GrantTokenExchange}, []string{apiAudience}
	c, secret, err := g.Provider.CreateClient(context.Background(), owner, oauth.ClientInput{
		Name: &name, ClientType: &typ, AllowedScopes: &scopes, AllowedGrantTypes: &grants, TokenExchangeResources: &resources,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID, secret
}

// exchange posts a raw token exchange form, as curl would.
func (g *grantdServer) exchange(t *testing.T, id, secret, subject, scope string) string {
	t.Helper()
	form := url.Values{
		"grant_type": {grantd.GrantTokenExchange}, "subject_token": {subject}, "subject_token_type": {accessTokenType},
		"resource": {apiAudience}, "scope": {scope},
	}
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/v2/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken     string `json:"access_token"`
		IssuedTokenType string `json:"issued_token_type"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK || out.IssuedTokenType != accessTokenType {
		t.Fatalf("exchange: %s %v %+v", res.Status, err, out)
	}
	return out.AccessToken
}

// TestExchangedTokenChain: an API protected by rs sees the person as the
// subject and the whole delegation chain in Token.Act; once the person
// revokes the app's grant, rs in introspection mode refuses the token at
// once (a JWT-only Verifier accepts it until it expires: it asks nobody).
func TestExchangedTokenChain(t *testing.T) {
	g := newGrantd(t)
	person, key, grantID := g.personToken(t)
	mcpID, mcpSecret := g.exchanger(t, "mcp")
	svcID, svcSecret := g.exchanger(t, "svc")
	hop1 := g.exchange(t, mcpID, mcpSecret, person, "read write")
	hop2 := g.exchange(t, svcID, svcSecret, hop1, "read")

	local := g.verifier(t, nil)
	checked := g.verifier(t, func(c *rs.Config) {
		c.Introspection = &rs.Introspection{ClientID: g.ClientID, ClientSecret: g.Secret}
	})
	tok := verify(t, checked, hop2)
	want := &rs.Actor{Subject: svcID, ClientID: svcID, Act: &rs.Actor{Subject: mcpID, ClientID: mcpID}}
	if !reflect.DeepEqual(tok.Act, want) || tok.GrantID != grantID || tok.ClientID != svcID || !reflect.DeepEqual(tok.Scopes, []string{"read"}) {
		t.Errorf("token = %+v, act %+v; want act %+v", tok, tok.Act, want)
	}
	if chain := tok.Act.Chain(); len(chain) != 2 || chain[0].ClientID != svcID || chain[1].ClientID != mcpID {
		t.Errorf("Chain() = %+v", chain)
	}
	if verify(t, checked, hop1).Act.Act != nil {
		t.Error("hop 1 nests an actor")
	}

	req, _ := http.NewRequest(http.MethodDelete, g.URL+"/v2/oauth_grants/"+grantID, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("revoke grant: %s", res.Status)
	}
	for _, tk := range []string{hop1, hop2} {
		_, err := checked.Verify(context.Background(), tk)
		checkRefused(t, err, true)
	}
	verify(t, local, hop2)
}
