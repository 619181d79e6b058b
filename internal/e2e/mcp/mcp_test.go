// Package mcp_test runs what an MCP client does against the example MCP
// server (examples/mcp-server) and a real grantd, with nothing configured
// in advance but grantd's --resource and scope catalog: the official Go
// MCP SDK's client, with its own client-side OAuth support
// (auth.AuthorizationCodeHandler), discovers everything from the 401.
// The test plays only the person, through the API with an API key, in
// the AuthorizationCodeFetcher the SDK leaves to its caller (it opens no
// browser and runs no callback server of its own).
package mcp_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/examples/mcp-server/mcpserver"
	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/cimd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/testenv"
)

// The catalog of the grantd the test runs: mcp:tools is not sensitive,
// so a client without an owner (a metadata document, a registration)
// may be given it; admin is, as always.
var scopes = []grantd.Scope{
	{ID: grantd.ScopeAdmin, Name: "Administer your account", Description: "Manage clients and grants.", Sensitive: true},
	{ID: mcpserver.Scope, Name: "Use the MCP tools", Description: "Call the tools of the example MCP server."},
}

// The SDK accepts only an https client ID metadata document URL, and
// grantd fetches it with the system's roots: the document is served over
// TLS on loopback by an httptest server whose certificate the process is
// told to trust, before anything in it verifies a certificate.
var (
	docServer *httptest.Server
	docMu     sync.Mutex
	docBody   []byte
)

func TestMain(m *testing.M) {
	docServer = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		docMu.Lock()
		defer docMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(docBody)
	}))
	dir, err := os.MkdirTemp("", "grantd-mcp-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: docServer.Certificate().Raw})
	file := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(file, cert, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("SSL_CERT_FILE", file)
	os.Unsetenv("SSL_CERT_DIR")
	code := m.Run()
	docServer.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// setup is one grantd with the example server as its one resource, the
// example server, and a person with an API key.
type setup struct {
	g        *apptest.Server
	resource string // http://ADDR/mcp
	key      string // the person's API key
	user     grantd.User
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	// The MCP server's address must be known before grantd is built
	// (--resource), and grantd's before the MCP server (--issuer).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resource := "http://" + ln.Addr().String() + "/mcp"
	g := apptest.New(t, apptest.Options{
		Engine: oauth.Config{
			Resources:      []string{resource},
			ClientMetadata: cimd.Config{AllowLoopback: true},
		},
		Scopes:    scopes,
		RealClock: true, // the example server's rs checks tokens on time.Now
	})
	h, err := mcpserver.Handler(g.URL, resource, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	user := testenv.User(t, g.Store, "ada@example.com", "", time.Now())
	return &setup{g: g, resource: resource, key: testenv.APIKey(t, g.Store, user.ID, time.Now()), user: user}
}

// api calls grantd's API as the person.
func (s *setup) api(t *testing.T, method, u string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	r, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+s.key)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// person is the AuthorizationCodeFetcher: what a person does in the
// browser, done through the API. It checks the authorize URL the SDK
// built (PKCE S256, resource), reads what consent asks, approves, and
// hands the SDK the code, state and iss of the redirect.
func (s *setup) person(t *testing.T, wantClient string, seen *[]string) auth.AuthorizationCodeFetcher {
	return func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
		au, err := url.Parse(args.URL)
		if err != nil {
			return nil, err
		}
		q := au.Query()
		*seen = append(*seen, "authorize")
		if au.Scheme+"://"+au.Host+au.Path != s.g.URL+"/v2/oauth/authorize" ||
			q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
			q.Get("resource") != s.resource || q.Get("scope") != mcpserver.Scope ||
			(wantClient != "" && q.Get("client_id") != wantClient) {
			return nil, fmt.Errorf("authorize URL %s", args.URL)
		}
		st, h, body := s.api(t, "GET", args.URL, nil)
		if st != http.StatusFound {
			return nil, fmt.Errorf("authorize: %d %s", st, body)
		}
		loc, err := url.Parse(h.Get("Location"))
		if err != nil {
			return nil, err
		}
		ct := loc.Query().Get("consent_token")
		st, _, body = s.api(t, "GET", s.g.URL+"/v2/oauth/consent/"+url.PathEscape(ct), nil)
		if st != http.StatusOK {
			return nil, fmt.Errorf("consent: %d %s", st, body)
		}
		var details struct {
			Data struct {
				ClientID        string `json:"client_id"`
				RequestedScopes []struct {
					ID string `json:"id"`
				} `json:"requested_scopes"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &details); err != nil {
			return nil, err
		}
		if len(details.Data.RequestedScopes) != 1 || details.Data.RequestedScopes[0].ID != mcpserver.Scope {
			return nil, fmt.Errorf("consent asks %s", body)
		}
		*seen = append(*seen, "consent")
		st, _, body = s.api(t, "POST", s.g.URL+"/v2/oauth/grants", map[string]any{"allowed": true, "consent_token": ct})
		if st != http.StatusOK {
			return nil, fmt.Errorf("grants: %d %s", st, body)
		}
		var decision struct {
			RedirectURI string `json:"redirect_uri"`
		}
		if err := json.Unmarshal(body, &decision); err != nil {
			return nil, err
		}
		cb, err := url.Parse(decision.RedirectURI)
		if err != nil {
			return nil, err
		}
		return &auth.AuthorizationResult{Code: cb.Query().Get("code"), State: cb.Query().Get("state"), Iss: cb.Query().Get("iss")}, nil
	}
}

// recorder is the SDK's HTTP client, noting which documents it fetched.
type recorder struct {
	mu   sync.Mutex
	urls []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.Method+" "+req.URL.String())
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) saw(u string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.urls {
		if s == u {
			return true
		}
	}
	return false
}

// run connects the SDK client with handler config c, calls the tool,
// then refreshes the token and checks the new one works; it answers the
// token the SDK obtained.
func (s *setup) run(t *testing.T, c *auth.AuthorizationCodeHandlerConfig, rec *recorder) *oauth2.Token {
	t.Helper()
	var oc *oauth2.Config
	var first *oauth2.Token
	c.Client = &http.Client{Transport: rec, Timeout: 10 * time.Second}
	c.NewTokenSource = func(ctx context.Context, cfg *oauth2.Config, tok *oauth2.Token) (oauth2.TokenSource, error) {
		oc, first = cfg, tok
		return cfg.TokenSource(ctx, tok), nil
	}
	h, err := auth.NewAuthorizationCodeHandler(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "grantd-e2e", Version: "1.0.0"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: s.resource, OAuthHandler: h, HTTPClient: &http.Client{Transport: rec, Timeout: 10 * time.Second},
		DisableStandaloneSSE: true,
	}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer session.Close()
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "greet", Arguments: map[string]any{"name": "Ada"}})
	if err != nil {
		t.Fatalf("CallTool: %v", err)
	}
	if res.IsError || len(res.Content) != 1 || res.Content[0].(*mcp.TextContent).Text != "Hello, Ada!" {
		t.Fatalf("CallTool = %+v", res)
	}
	// Discovery went as RFC 9728 and the MCP specification say: the
	// document the 401 named, then grantd's metadata.
	u, _ := url.Parse(s.resource)
	for _, want := range []string{
		"GET http://" + u.Host + "/.well-known/oauth-protected-resource/mcp",
		"GET " + s.g.URL + "/.well-known/oauth-authorization-server",
		"POST " + s.g.URL + "/v2/oauth/token",
	} {
		if !rec.saw(want) {
			t.Errorf("the SDK did not %s; it did %q", want, rec.urls)
		}
	}
	if first == nil || first.RefreshToken == "" {
		t.Fatalf("token = %+v, want a refresh token", first)
	}

	// Refresh, with the SDK's own oauth2 configuration (its client_id,
	// endpoints): the oauth2 token source refreshes a token it holds
	// expired. The new access token works; it is not the old one.
	expired := *first
	expired.Expiry = time.Now().Add(-time.Hour)
	rctx := context.WithValue(ctx, oauth2.HTTPClient, c.Client)
	fresh, err := oc.TokenSource(rctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == first.AccessToken {
		t.Error("the refresh answered the same access token")
	}
	if st := initialize(t, s.resource, fresh.AccessToken); st != http.StatusOK {
		t.Errorf("the refreshed token: initialize answered %d", st)
	}
	return first
}

// initialize POSTs an MCP initialize request with tok, answering the
// status.
func initialize(t *testing.T, endpoint, tok string) int {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	r, _ := http.NewRequest("POST", endpoint, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(r)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// The client identifies itself with a client ID metadata document the
// test serves on loopback; grantd fetches it, nothing is registered.
func TestMCPClientWithMetadataDocument(t *testing.T) {
	s := newSetup(t)
	docURL := docServer.URL + "/mcp-client.json"
	redirect := "http://127.0.0.1:9/callback" // never followed: the person hands the code over
	docMu.Lock()
	docBody, _ = json.Marshal(map[string]any{
		"client_id": docURL, "client_name": "e2e MCP client", "redirect_uris": []string{redirect},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"token_endpoint_auth_method": "none",
	})
	docMu.Unlock()

	var seen []string
	rec := &recorder{}
	tok := s.run(t, &auth.AuthorizationCodeHandlerConfig{
		ClientIDMetadataDocumentConfig: &auth.ClientIDMetadataDocumentConfig{URL: docURL},
		RedirectURL:                    redirect,
		AuthorizationCodeFetcher:       s.person(t, docURL, &seen),
	}, rec)
	if strings.Join(seen, ",") != "authorize,consent" {
		t.Errorf("the person saw %q", seen)
	}
	if rec.saw("POST " + s.g.URL + "/oauth/register") {
		t.Error("the SDK registered a client although grantd takes metadata documents")
	}
	if tok.AccessToken == "" {
		t.Error("no access token")
	}
	refuseOtherAudience(t, s)
}

// Without a metadata document, the SDK registers (RFC 7591) at the
// endpoint grantd's metadata names.
func TestMCPClientWithDynamicRegistration(t *testing.T) {
	s := newSetup(t)
	redirect := "http://127.0.0.1:9/callback"
	var seen []string
	rec := &recorder{}
	s.run(t, &auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			RedirectURIs: []string{redirect}, ClientName: "e2e MCP client",
			GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
			TokenEndpointAuthMethod: "none",
		}},
		AuthorizationCodeFetcher: s.person(t, "", &seen),
	}, rec)
	if strings.Join(seen, ",") != "authorize,consent" {
		t.Errorf("the person saw %q", seen)
	}
	registered := false
	for _, u := range rec.urls {
		if strings.HasPrefix(u, "POST "+s.g.URL) && strings.HasSuffix(u, "/register") {
			registered = true
		}
	}
	if !registered {
		t.Errorf("the SDK did not register; it did %q", rec.urls)
	}
}

// refuseOtherAudience: a valid grantd token with mcp:tools but meant for
// grantd's own API (no resource) is refused by the MCP server, with the
// challenge that sends the client back to the right document.
func refuseOtherAudience(t *testing.T, s *setup) {
	t.Helper()
	name, typ := "other API's client", string(grantd.ClientConfidential)
	sc, grants := []string{mcpserver.Scope}, []string{grantd.GrantClientCredentials}
	c, secret, err := s.g.Provider.CreateClient(context.Background(), s.user, oauth.ClientInput{
		Name: &name, ClientType: &typ, AllowedScopes: &sc, AllowedGrantTypes: &grants,
	})
	if err != nil {
		t.Fatal(err)
	}
	cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: secret, TokenURL: s.g.URL + "/v2/oauth/token", Scopes: sc}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st := initialize(t, s.resource, tok.AccessToken); st != http.StatusUnauthorized {
		t.Errorf("a token for grantd's own API: initialize answered %d, want 401", st)
	}
	if st := initialize(t, s.resource, ""); st != http.StatusUnauthorized {
		t.Errorf("no token: initialize answered %d, want 401", st)
	}
}
