package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/cimd"
	"github.com/grantd/grantd/internal/testenv"
)

// docSite serves a client ID metadata document at /client.json on
// loopback; body makes the JSON from the document's URL.
type docSite struct {
	srv  *httptest.Server
	hits atomic.Int32
	body func(url string) string
	hdr  http.Header
}

func newDocSite(t *testing.T) *docSite {
	t.Helper()
	d := &docSite{hdr: http.Header{}}
	d.body = func(u string) string {
		return fmt.Sprintf(`{"client_id":%q,"client_name":"Doc App","redirect_uris":["https://app.example/cb"],"scope":"read billing admin write nope"}`, u)
	}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.hits.Add(1)
		for k, v := range d.hdr {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, d.body(d.url()))
	}))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *docSite) url() string { return d.srv.URL + "/client.json" }

// docEnv is newFlowEnv on the sensitiveScopes catalog, with loopback
// documents allowed.
func docEnv(t *testing.T, mod ...func(*Config)) *flowEnv {
	t.Helper()
	e := newFlowEnv(t, append([]func(*Config){func(c *Config) {
		c.ClientMetadata.AllowLoopback = true
	}}, mod...)...)
	p, err := NewProvider(Deps{Config: e.p.Config(), Store: e.st, Keys: e.keys, Catalog: testenv.Catalog(t, sensitiveScopes), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	return e
}

func docQuery(d *docSite, kv ...string) url.Values {
	return authzQuery(grantd.Client{ID: d.url()}, kv...)
}

func TestDocumentClientFlow(t *testing.T) {
	t.Parallel()
	d := newDocSite(t)
	e := docEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")

	to := approve(t, e, alice, docQuery(d, "scope", "-"))
	c, err := e.st.GetClient(ctx, d.url())
	if err != nil {
		t.Fatalf("no client row for the document: %v", err)
	}
	if !c.Public() || c.UserID != "" || c.OrgID != "" || c.SecretHash != "" || c.Name != "Doc App" {
		t.Fatalf("client row = %+v, want public, ownerless, no secret", c)
	}
	if c.Origin != grantd.OriginMetadataDocument {
		t.Fatalf("client origin = %q, want %q", c.Origin, grantd.OriginMetadataDocument)
	}
	// The document's scopes, without the sensitive and unknown ones.
	if !slices.Equal(c.Scopes, []string{"read", "write"}) {
		t.Fatalf("scopes = %q, want read write", c.Scopes)
	}
	code := answerParams(t, to, "https://app.example/cb").Get("code")
	resp, err := e.p.Token(ctx, TokenRequest{
		Client:       ClientAuth{ClientID: d.url()},
		GrantType:    grantd.GrantAuthorizationCode,
		Code:         code,
		RedirectURI:  "https://app.example/cb",
		CodeVerifier: strings.Repeat("v", 43),
	})
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	if resp.Scope != "read write" {
		t.Errorf("scope = %q", resp.Scope)
	}
	r2, err := e.p.Token(ctx, TokenRequest{Client: ClientAuth{ClientID: d.url()}, GrantType: grantd.GrantRefreshToken, RefreshToken: resp.RefreshToken})
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if err := e.p.Revoke(ctx, RevokeRequest{Client: ClientAuth{ClientID: d.url()}, Token: r2.RefreshToken}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := e.p.Token(ctx, TokenRequest{Client: ClientAuth{ClientID: d.url()}, GrantType: grantd.GrantRefreshToken, RefreshToken: r2.RefreshToken}); err == nil {
		t.Fatal("a revoked refresh token still works")
	}
}

func TestDocumentClientNoScopeMeansNonSensitive(t *testing.T) {
	t.Parallel()
	d := newDocSite(t)
	d.body = func(u string) string {
		return fmt.Sprintf(`{"client_id":%q,"client_name":"Doc App","redirect_uris":["https://app.example/cb"]}`, u)
	}
	e := docEnv(t)
	mustAuthorize(t, e, "", docQuery(d))
	c, err := e.st.GetClient(context.Background(), d.url())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Scopes, e.p.catalog.NonSensitiveIDs()) || slices.Contains(c.Scopes, "admin") || slices.Contains(c.Scopes, "billing") {
		t.Fatalf("scopes = %q, want the catalog's non-sensitive ones", c.Scopes)
	}
}

func TestDocumentClientRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body func(u string) string
		mod  func(*Config)
		q    []string
		want grantd.Code
	}{
		{name: "unlisted redirect_uri", q: []string{"redirect_uri", "https://evil.example/cb"}, want: grantd.CodeValidation},
		{name: "mismatched client_id", body: func(u string) string {
			return `{"client_id":"https://other.example/client.json","client_name":"X","redirect_uris":["https://app.example/cb"]}`
		}, want: grantd.CodeInvalidRequest},
		{name: "bad redirect_uri in document", body: func(u string) string {
			return fmt.Sprintf(`{"client_id":%q,"client_name":"X","redirect_uris":["http://app.example/cb"]}`, u)
		}, want: grantd.CodeInvalidRequest},
		{name: "denied domain", mod: func(c *Config) {
			c.ClientMetadata.Domains, _ = cimd.ParseDomains("*.example.com")
		}, want: grantd.CodeValidation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := newDocSite(t)
			if tc.body != nil {
				d.body = tc.body
			}
			var mods []func(*Config)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			e := docEnv(t, mods...)
			_, err := e.p.Authorize(context.Background(), "", docQuery(d, tc.q...))
			if got := codeOf(err); got != tc.want {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.want)
			}
			if tc.name != "unlisted redirect_uri" {
				if _, err := e.st.GetClient(context.Background(), d.url()); err == nil {
					t.Error("a refused document left a client row")
				}
			}
		})
	}
}

func TestDocumentClientUnreachable(t *testing.T) {
	t.Parallel()
	d := newDocSite(t)
	docURL := d.url()
	d.srv.Close()
	e := docEnv(t)
	_, err := e.p.Authorize(context.Background(), "", authzQuery(grantd.Client{ID: docURL}))
	if got := codeOf(err); got != grantd.CodeNotFound {
		t.Fatalf("code = %q (%v), want not_found", got, err)
	}
}

func TestDocumentClientLoopbackNeedsFlag(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	e := newCatalogEnv(t, sensitiveScopes)
	_, err := e.p.Authorize(context.Background(), "", authzQuery(grantd.Client{ID: srv.URL + "/client.json"}))
	if got := codeOf(err); got != grantd.CodeValidation {
		t.Fatalf("code = %q (%v), want validation_failed", got, err)
	}
	if hits.Load() != 0 {
		t.Fatal("the document server on 127.0.0.1 was reached")
	}
}

// TestDocumentClientCache: within max-age a second authorize does not
// fetch again; after it, it does, and a changed document updates the row.
func TestDocumentClientCache(t *testing.T) {
	t.Parallel()
	d := newDocSite(t)
	d.hdr.Set("Cache-Control", "max-age=300")
	e := docEnv(t)
	want := func(n int32) {
		t.Helper()
		mustAuthorize(t, e, "", docQuery(d))
		if got := d.hits.Load(); got != n {
			t.Fatalf("document fetched %d times, want %d", got, n)
		}
	}
	want(1)
	e.clock.Advance(299 * time.Second)
	want(1)
	d.body = func(u string) string {
		return fmt.Sprintf(`{"client_id":%q,"client_name":"Renamed","redirect_uris":["https://app.example/cb"]}`, u)
	}
	e.clock.Advance(2 * time.Second)
	want(2)
	c, err := e.st.GetClient(context.Background(), d.url())
	if err != nil || c.Name != "Renamed" {
		t.Fatalf("client = %+v, %v; want the refetched document's name", c, err)
	}
}
