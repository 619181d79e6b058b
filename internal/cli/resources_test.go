package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

// TestLoadResources: the resources file is read strictly; anything that
// could make a token for the wrong resource, or with scopes the operator
// did not mean, stops the command with a message naming the setting.
func TestLoadResources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string { return writeFile(t, dir, name, body) }
	cat, err := grantd.NewCatalog([]grantd.Scope{{ID: "admin"}, {ID: "mcp:tools"}, {ID: "read"}})
	if err != nil {
		t.Fatal(err)
	}

	rs, err := loadResources(write("ok.json", `[
		{"id": "http://127.0.0.1:8090/mcp", "name": "Acme MCP server", "scopes": ["mcp:tools"], "trailing_slash_equivalent": true},
		{"id": "https://api.example.com/v3"}
	]`), cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Name != "Acme MCP server" || strings.Join(rs[0].Scopes, " ") != "mcp:tools" || !rs[0].TrailingSlashEquivalent ||
		rs[1].Scopes != nil || rs[1].TrailingSlashEquivalent {
		t.Errorf("resources = %+v", rs)
	}
	if rs, err := loadResources("", cat); rs != nil || err != nil {
		t.Errorf("no file: %v, %v", rs, err)
	}

	for name, tc := range map[string]struct{ body, want string }{
		"unknown key":    {`[{"id": "https://a.example/", "scope": ["read"]}]`, `unknown field "scope"`},
		"name not text":  {`[{"id": "https://a.example/", "name": 3}]`, "name"},
		"scopes a word":  {`[{"id": "https://a.example/", "scopes": "read"}]`, "scopes"},
		"slash a string": {`[{"id": "https://a.example/", "trailing_slash_equivalent": "yes"}]`, "trailing_slash_equivalent"},
		"not an array":   {`{"id": "https://a.example/"}`, "JSON array"},
		"trailing data":  {`[] []`, "unexpected data"},
		"relative id":    {`[{"id": "/mcp"}]`, "absolute URI"},
		"no id":          {`[{"name": "x"}]`, "absolute URI"},
		"empty scopes":   {`[{"id": "https://a.example/", "scopes": []}]`, "scopes is empty"},
		"unknown scope":  {`[{"id": "https://a.example/", "scopes": ["billing"]}]`, `"billing" is not in the scope catalog`},
		"duplicate":      {`[{"id": "https://a.example/x"}, {"id": "HTTPS://A.example:443/x"}]`, "the same resource"},
		"slash twin":     {`[{"id": "https://a.example/x/"}, {"id": "https://a.example/x", "trailing_slash_equivalent": true}]`, "the same resource"},
		"slash twin too": {`[{"id": "https://a.example/x", "trailing_slash_equivalent": true}, {"id": "https://a.example/x/"}]`, "the same resource"},
	} {
		_, err := loadResources(write(strings.ReplaceAll(name, " ", "_")+".json", tc.body), cat)
		if err == nil || !strings.Contains(err.Error(), "--resources-file") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming --resources-file and %q", name, err, tc.want)
		}
	}
	// Without the slash rule, the two spellings are two resources.
	if _, err := loadResources(write("two.json", `[{"id": "https://a.example/x/"}, {"id": "https://a.example/x"}]`), cat); err != nil {
		t.Errorf("two resources: %v", err)
	}
	if _, err := loadResources(filepath.Join(dir, "missing.json"), cat); err == nil || !strings.Contains(err.Error(), "--resources-file") {
		t.Errorf("missing file: err = %v", err)
	}
}

// TestServeRefusesBadResourcesFile: serve stops, naming the variable, on
// a resources file it cannot read strictly.
func TestServeRefusesBadResourcesFile(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "resources.json")
	if err := os.WriteFile(bad, []byte(`[{"id": "https://a.example/", "nmae": "typo"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"grantd", "serve", "--addr", "127.0.0.1:0", "--database", filepath.Join(t.TempDir(), "g.db")},
		env(map[string]string{"GRANTD_RESOURCES_FILE": bad}), strings.NewReader(""), &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "GRANTD_RESOURCES_FILE") || !strings.Contains(errb.String(), "nmae") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// TestCheckBuiltInResources: an entry naming the issuer or {issuer}/v2,
// in any spelling or through its slash rule, would be ignored (those
// accept every scope), so it stops serve instead.
func TestCheckBuiltInResources(t *testing.T) {
	t.Parallel()
	const iss = "https://auth.example.com"
	for _, r := range []oauth.Resource{
		{ID: "https://AUTH.example.com:443/"},
		{ID: "https://auth.example.com/v2"},
		{ID: "https://auth.example.com/v2/", TrailingSlashEquivalent: true},
	} {
		if err := checkBuiltInResources(iss, []oauth.Resource{r}); err == nil || !strings.Contains(err.Error(), "--resources-file") {
			t.Errorf("%+v: err = %v, want one naming --resources-file", r, err)
		}
	}
	if err := checkBuiltInResources(iss, []oauth.Resource{{ID: "https://auth.example.com/v2/"}, {ID: "https://mcp.example.com/"}}); err != nil {
		t.Errorf("other resources: %v", err)
	}
}
