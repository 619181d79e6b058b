package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadCatalog: the scopes file marks scopes sensitive; admin always
// is; and a file that would quietly hand a scope to every client
// registered without an owner (a misspelt "sensitive", "sensitive": false
// on admin) stops the command with a message naming the setting.
func TestLoadCatalog(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	c, err := loadCatalog(write("ok.json", `[
		{"id": "admin", "name": "Administer"},
		{"id": "read", "name": "Read"},
		{"id": "billing", "name": "Billing", "sensitive": true},
		{"id": "write", "sensitive": false}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"admin": true, "read": false, "billing": true, "write": false} {
		if got := c.Sensitive(id); got != want {
			t.Errorf("Sensitive(%s) = %v, want %v", id, got, want)
		}
	}
	if got := strings.Join(c.NonSensitiveIDs(), " "); got != "read write" {
		t.Errorf("NonSensitiveIDs = %q", got)
	}

	def, err := loadCatalog("")
	if err != nil || !def.Sensitive("admin") || len(def.NonSensitiveIDs()) != 0 {
		t.Fatalf("default catalog: %v, %v", def, err)
	}

	for name, tc := range map[string]struct{ body, want string }{
		"misspelt":      {`[{"id": "billing", "sensitve": true}]`, `unknown field "sensitve"`},
		"admin opened":  {`[{"id": "admin", "sensitive": false}]`, "admin is always sensitive"},
		"not a bool":    {`[{"id": "billing", "sensitive": "yes"}]`, "sensitive"},
		"trailing data": {`[{"id": "read"}] [{"id": "admin"}]`, "unexpected data"},
		"duplicate":     {`[{"id": "read"}, {"id": "read"}]`, "appears twice"},
	} {
		_, err := loadCatalog(write(name+".json", tc.body))
		if err == nil || !strings.Contains(err.Error(), "--scopes-file") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming --scopes-file and %q", name, err, tc.want)
		}
	}
	if _, err := loadCatalog(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "--scopes-file") {
		t.Errorf("missing file: err = %v", err)
	}
}
