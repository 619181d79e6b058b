package rs_test

// The tests run a real grantd in process, built by the one harness
// (internal/apptest) as every package's tests build theirs: the server
// serve builds (app.New) on the SQLite store in t.TempDir() and a loaded
// keyring, listening on a loopback port whose URL is the issuer. grantd and the Verifiers share one fake
// clock. Tokens come from POST /v2/oauth/token, fetched with
// golang.org/x/oauth2 as a client would.
//
//	g := newGrantd(t)
//	v := g.verifier(t, nil)                 // Audience apiAudience
//	tok := g.token(t, "read", apiAudience)  // client_credentials
//	g.Clock.Advance(time.Minute)
//	g.Fetches()                             // GETs of the JWKS so far

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/store/sqlite"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
	"github.com/grantd/grantd/rs"
)

// apiAudience is the resource the operator configured for the API the
// tests protect (grantd --resource).
const apiAudience = "https://api.example.com/v1"

var testScopes = []grantd.Scope{
	{ID: grantd.ScopeAdmin, Name: "Administer your account", Description: "Manage clients and grants."},
	{ID: "read", Name: "Read your data", Description: "See your messages."},
	{ID: "write", Name: "Change your data", Description: "Send messages."},
}

// grantdServer is one grantd for a test, with a confidential client
// allowed every scope.
type grantdServer struct {
	URL      string // the issuer
	Clock    *testenv.Clock
	Store    *sqlite.Store
	Keys     *token.Keyring
	Provider *oauth.Provider
	ClientID string
	Secret   string

	handler http.Handler
	arrived chan struct{} // gets a value (if empty) when a JWKS request arrives

	mu           sync.Mutex
	fetches      int           // JWKS requests so far
	hold         chan struct{} // when not nil, JWKS requests wait until it is closed
	cacheControl string        // when not empty, replaces the JWKS Cache-Control
	jwksStatus   int           // when not 0, JWKS requests get this status
}

func newGrantd(t testing.TB) *grantdServer {
	t.Helper()
	return newGrantdAlg(t, "")
}

// newGrantdAlg is newGrantd signing with alg (ES256 when empty).
func newGrantdAlg(t testing.TB, alg string) *grantdServer {
	t.Helper()
	g := &grantdServer{arrived: make(chan struct{}, 1)}
	// The server serve builds, through the one harness; the listener
	// serves the JWKS through serveJWKS, to count, hold or alter it.
	s := apptest.New(t, apptest.Options{
		Engine: oauth.Config{Resources: []string{apiAudience}}, Scopes: testScopes, Algorithm: alg,
		Front: func(h http.Handler) http.Handler {
			g.handler = h
			mux := http.NewServeMux()
			mux.HandleFunc("/v2/oauth/jwks", g.serveJWKS)
			mux.Handle("/", h)
			return mux
		},
	})
	t.Cleanup(g.release) // a held JWKS request would keep Close waiting
	g.URL, g.Clock, g.Store, g.Keys, g.Provider = s.URL, s.Clock, s.Store, s.Keys, s.Provider

	owner := testenv.User(t, s.Store, "owner@example.com", "", s.Clock.Now())
	name, typ := "orders API tests", string(grantd.ClientConfidential)
	scopes, grants := []string{grantd.ScopeAdmin, "read", "write"}, []string{grantd.GrantClientCredentials}
	c, secret, err := s.Provider.CreateClient(context.Background(), owner, oauth.ClientInput{
		Name: &name, ClientType: &typ, AllowedScopes: &scopes, AllowedGrantTypes: &grants,
	})
	if err != nil {
		t.Fatal(err)
	}
	g.ClientID, g.Secret = c.ID, secret
	return g
}

// serveJWKS is grantd's JWKS endpoint, counted, and held or altered as
// the test asks.
func (g *grantdServer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.fetches++
	hold, cc, status := g.hold, g.cacheControl, g.jwksStatus
	g.mu.Unlock()
	select {
	case g.arrived <- struct{}{}:
	default:
	}
	if hold != nil {
		<-hold
	}
	if status != 0 {
		http.Error(w, "unavailable", status)
		return
	}
	rec := httptest.NewRecorder()
	g.handler.ServeHTTP(rec, r)
	maps.Copy(w.Header(), rec.Header())
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// Fetches answers how many times the JWKS was requested.
func (g *grantdServer) Fetches() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.fetches
}

// awaitFetches waits until the JWKS was requested n times: a refresh of
// a stale set runs in the background of the request that started it.
func (g *grantdServer) awaitFetches(t testing.TB, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for g.Fetches() < n {
		select {
		case <-g.arrived:
		case <-deadline:
			t.Fatalf("the JWKS was fetched %d times, want %d", g.Fetches(), n)
		}
	}
}

// holdJWKS makes JWKS requests wait until release.
func (g *grantdServer) holdJWKS() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold = make(chan struct{})
}

func (g *grantdServer) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hold != nil {
		close(g.hold)
		g.hold = nil
	}
}

func (g *grantdServer) setJWKS(cacheControl string, status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cacheControl, g.jwksStatus = cacheControl, status
}

// verifier answers a Verifier of this grantd for apiAudience on the
// shared clock; edit changes the configuration first.
func (g *grantdServer) verifier(t testing.TB, edit func(*rs.Config)) *rs.Verifier {
	t.Helper()
	c := rs.Config{Issuer: g.URL, Audience: apiAudience, Now: g.Clock.Now}
	if edit != nil {
		edit(&c)
	}
	v, err := rs.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// token gets an access token for the scope (space-separated; "" for all
// the client's) and the resource ("" for none) from the token endpoint.
func (g *grantdServer) token(t testing.TB, scope, resource string) string {
	t.Helper()
	cc := clientcredentials.Config{
		ClientID: g.ClientID, ClientSecret: g.Secret,
		TokenURL: g.URL + "/v2/oauth/token", Scopes: strings.Fields(scope),
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	if resource != "" {
		cc.EndpointParams = url.Values{"resource": {resource}}
	}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// revoke revokes a token at POST /v2/oauth/revoke (RFC 7009).
func (g *grantdServer) revoke(t testing.TB, tok string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.URL+"/v2/oauth/revoke", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(g.ClientID, g.Secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %s", res.Status)
	}
}

// signingKey answers the private key grantd signs with now, so that
// tests can make tokens grantd's key signed but grantd never would.
func (g *grantdServer) signingKey(t testing.TB) jose.JSONWebKey {
	t.Helper()
	rows, err := g.Store.ListSigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	now := g.Clock.Now()
	for _, k := range rows {
		if now.Before(k.ActiveAt) || (k.RetiredAt != nil && !now.Before(*k.RetiredAt)) {
			continue
		}
		der, err := token.Open(testenv.MasterKey, k.PrivateEnc, []byte(k.ID))
		if err != nil {
			t.Fatal(err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		return jose.JSONWebKey{Key: priv, KeyID: k.ID, Algorithm: k.Algorithm}
	}
	t.Fatal("no active signing key")
	return jose.JSONWebKey{}
}

// claims answers the claims grantd would put in a client_credentials
// token for apiAudience, for tests to change.
func (g *grantdServer) claims() map[string]any {
	now := g.Clock.Now()
	return map[string]any{
		"iss": g.URL, "sub": g.ClientID, "aud": apiAudience, "client_id": g.ClientID,
		"scope": "read", "jti": "forged-jti", "iat": now.Unix(), "exp": now.Add(30 * time.Minute).Unix(),
	}
}

// sign makes a compact JWS of claims with key, with typ and kid in the
// protected header unless empty.
func sign(t testing.TB, key jose.JSONWebKey, typ, kid string, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key.Key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unsigned makes a compact JWS with the header and claims as given and
// an empty signature, as an "alg": "none" token has.
func unsigned(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "."
}
