package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/grantd/grantd/internal/app"
	"github.com/grantd/grantd/internal/httpapi"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/token"
)

func getJSON(t testing.TB, env *testEnv, path string) []byte {
	t.Helper()
	rec := env.do(httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type = %q", path, ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("GET %s: Cache-Control = %q", path, cc)
	}
	return rec.Body.Bytes()
}

func indent(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// TestMetadataDocuments pins the discovery documents (SPEC §4), each
// served identically at every path that carries it.
func TestMetadataDocuments(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	docs := []struct {
		golden string
		paths  []string
	}{
		{"authorization_server_metadata.golden", []string{"/.well-known/oauth-authorization-server", "/v2/.well-known/oauth-authorization-server"}},
		{"protected_resource_metadata.golden", []string{"/.well-known/oauth-protected-resource", "/v2/.well-known/oauth-protected-resource"}},
		{"protected_resource_metadata_v2.golden", []string{"/.well-known/oauth-protected-resource/v2"}},
	}
	for _, d := range docs {
		t.Run(d.golden, func(t *testing.T) {
			first := getJSON(t, env, d.paths[0])
			for _, p := range d.paths[1:] {
				if got := getJSON(t, env, p); !bytes.Equal(got, first) {
					t.Errorf("%s answers\n%s\nbut %s answers\n%s", p, got, d.paths[0], first)
				}
			}
			checkGolden(t, d.golden, indent(t, first))
		})
	}

	// RFC 9728 §3.3: resource equals the identifier the URL was formed from.
	for path, want := range map[string]string{
		"/.well-known/oauth-protected-resource":    goldenIssuer,
		"/.well-known/oauth-protected-resource/v2": goldenIssuer + "/v2",
	} {
		var doc struct{ Resource string }
		if err := json.Unmarshal(getJSON(t, env, path), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Resource != want {
			t.Errorf("%s: resource %q, want %q", path, doc.Resource, want)
		}
	}

	// HEAD answers like GET, without a body.
	rec := env.do(httptest.NewRequest(http.MethodHead, "/.well-known/oauth-authorization-server", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("HEAD: status %d", rec.Code)
	}
	rec = env.do(httptest.NewRequest(http.MethodPost, "/.well-known/oauth-authorization-server", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", rec.Code)
	}
}

func TestMetadataWithoutRegistration(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer), withConfig(func(c *oauth.Config) { c.Registration = "disabled" }))
	var doc map[string]any
	if err := json.Unmarshal(getJSON(t, env, "/.well-known/oauth-authorization-server"), &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["registration_endpoint"]; ok {
		t.Error("a disabled registration endpoint is advertised")
	}
	if doc["token_endpoint"] != goldenIssuer+"/v2/oauth/token" {
		t.Errorf("token_endpoint = %v", doc["token_endpoint"])
	}
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(getJSONWith(t, env, "/v2/oauth/jwks", "public, max-age="+httpapi.JWKSMaxAge), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].KeyID == "" || !set.Keys[0].IsPublic() || set.Keys[0].Algorithm != "ES256" {
		t.Fatalf("JWKS %+v: want one public ES256 key with a kid", set.Keys)
	}

	// A keyring that never loaded its keys cannot answer; the failure is
	// still in the endpoint's own format, RFC 6749 JSON, not the
	// management envelope.
	keys, err := token.NewKeyring(token.KeyringConfig{
		Store: env.Store, MasterKey: bytes.Repeat([]byte{7}, token.MasterKeySize), Now: env.Clock.Now,
		MaxAccessTTL: env.Provider.Config().AccessTokenTTL,
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Config{Engine: oauth.Config{Issuer: goldenIssuer}, Store: env.Store, Keys: keys, Catalog: env.Provider.Catalog(), Now: env.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v2/oauth/jwks", nil))
	oauthErr(t, rec, http.StatusInternalServerError, "server_error")
}

func getJSONWith(t testing.TB, env *testEnv, path, cacheControl string) []byte {
	t.Helper()
	rec := env.do(httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != cacheControl {
		t.Fatalf("GET %s: status %d, Content-Type %q, Cache-Control %q", path, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
	}
	return rec.Body.Bytes()
}
