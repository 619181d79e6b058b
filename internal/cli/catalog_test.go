package cli

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// writeFile writes body to dir/name and answers the path.
func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadCatalog: the scopes file marks scopes sensitive; admin always
// is; and a file that would quietly hand a scope to every client
// registered without an owner (a misspelt "sensitive", "sensitive": false
// on admin) stops the command with a message naming the setting.
func TestLoadCatalog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string { return writeFile(t, dir, name, body) }

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

// TestServeWarnsOpenRegistrationHasNoScope: with the default catalog
// (admin alone, which is sensitive) open registration can register
// nothing; serve says so at start, and a registration is refused with
// invalid_client_metadata naming scope rather than given admin.
func TestServeWarnsOpenRegistrationHasNoScope(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dir := t.TempDir()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"grantd", "serve", "--addr", "127.0.0.1:0", "--database", filepath.Join(dir, "grantd.db")}, env(nil), strings.NewReader(""), stdout, stderr)
	}()
	re := regexp.MustCompile(`grantd listening on (\S+)`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			base = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not start; stderr:\n%s", stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), "open registration will refuse every client") {
		t.Errorf("no warning about open registration on stderr:\n%s", stderr.String())
	}
	resp, err := http.Post(base+"/v2/oauth/register", "application/json", strings.NewReader(`{"redirect_uris": ["https://app.example/cb"]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"invalid_client_metadata"`) || !strings.Contains(string(body), `"scope"`) {
		t.Errorf("register: %d %s, want 400 invalid_client_metadata naming scope", resp.StatusCode, body)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}
