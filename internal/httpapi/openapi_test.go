package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"

	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/httpapi"
)

// openAPIYAML is the source of truth; openapi.json is what the server
// embeds and serves.
const (
	openAPIYAML = "../../docs/openapi.yaml"
	openAPIJSON = "openapi.json"
)

// yamlToJSON converts the document, keys sorted, two-space indented,
// without HTML escaping (so that it reads as the YAML does).
func yamlToJSON(t *testing.T, y []byte) []byte {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		t.Fatalf("%s: %v", openAPIYAML, err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatalf("%s does not convert to JSON: %v", openAPIYAML, err)
	}
	return b.Bytes()
}

// The JSON the server embeds is docs/openapi.yaml, converted: a change to
// the YAML that is not carried over fails here (-update carries it).
func TestOpenAPIJSONMatchesYAML(t *testing.T) {
	t.Parallel()
	y, err := os.ReadFile(openAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	want := yamlToJSON(t, y)
	if *update {
		if err := os.WriteFile(openAPIJSON, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(openAPIJSON)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("internal/httpapi/%s is not docs/openapi.yaml converted; run go test ./internal/httpapi -run TestOpenAPIJSONMatchesYAML -update", openAPIJSON)
	}
	if !bytes.Equal(httpapi.OpenAPI(), got) {
		t.Errorf("the embedded document is not %s (rebuild)", openAPIJSON)
	}
}

// The document is a valid OpenAPI 3.1 document, examples included.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableExamplesValidation()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bearer", "clientBasic", "clientPost", "clientNone"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("no security scheme %q", name)
		}
	}
}

// Every route routes.go registers is an operation of the document, and
// every operation of the document is a route: a new endpoint cannot go
// undocumented, nor an old one stay documented once removed.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	s := apptest.New(t, apptest.Options{Issuer: goldenIssuer})
	if len(s.Routes) < 20 {
		t.Fatalf("only %d routes: %v", len(s.Routes), s.Routes)
	}
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Routes {
		item := doc.Paths.Value(r.Path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s %s is served (internal/httpapi/routes.go) but not in docs/openapi.yaml", r.Method, r.Path)
		}
	}
	for p, item := range doc.Paths.Map() {
		for m := range item.Operations() {
			if !slices.Contains(s.Routes, httpapi.Route{Method: m, Path: p}) {
				t.Errorf("%s %s is in docs/openapi.yaml but not served", m, p)
			}
		}
		if strings.HasSuffix(p, "/") || httpapi.IsPagePath(p) {
			t.Errorf("%s: a page or a trailing slash in the document", p)
		}
	}
}

// GET /v2/openapi.json answers the document to anyone (SPEC §3).
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	rec := env.do(httptest.NewRequest("GET", env.URL+"/v2/openapi.json", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v2/openapi.json: %d %q, want 200 application/json", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !bytes.Equal(rec.Body.Bytes(), httpapi.OpenAPI()) {
		t.Error("served document differs from the embedded one")
	}
	var d struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || d.OpenAPI != "3.1.0" || d.Paths["/v2/openapi.json"] == nil {
		t.Errorf("served document: %v, openapi %q", err, d.OpenAPI)
	}
	// A credential changes nothing, even a bad one.
	r := httptest.NewRequest("GET", env.URL+"/v2/openapi.json", nil)
	r.Header.Set("Authorization", "Bearer grantd_key_nope")
	if rec := env.do(r); rec.Code != 200 {
		t.Errorf("with a bad API key: %d, want 200", rec.Code)
	}
}
