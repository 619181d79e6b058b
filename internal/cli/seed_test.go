package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeedThenServe seeds a database, serves it, and uses what seed
// printed: the client gets a token, the API key lists its user's grants.
func TestSeedThenServe(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr syncBuffer
	code := Run(context.Background(), []string{"grantd", "seed", "--database", filepath.Join(dir, "grantd.db"), "--clients", "300", "--grants", "200", "--users", "20"},
		env(nil), strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("seed: exit %d: %s", code, stderr.String())
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || v == "" {
			t.Fatalf("seed printed %q", stdout.String())
		}
		got[k] = v
	}
	issuer, _, _ := runServe(t, dir)
	e := &apiEnv{issuer: issuer, base: issuer + "/v2", key: got["api_key"],
		env: map[string]string{"GRANTD_BASE_URL": issuer + "/v2", "GRANTD_API_KEY": got["api_key"]}}
	out := e.ok(t, "token", "--client-id", got["client_id"], "--client-secret", got["client_secret"], "-o", "json")
	if !strings.Contains(out, "access_token") {
		t.Fatalf("token: %s", out)
	}
	var grants []struct {
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal([]byte(e.ok(t, "grants", "list", "-o", "json")), &grants); err != nil {
		t.Fatal(err)
	}
	if len(grants) != 10 {
		t.Fatalf("the seeded user has %d grants, want 200/20", len(grants))
	}

	if code := Run(context.Background(), []string{"grantd", "seed", "--database", filepath.Join(dir, "other.db"), "--clients", "1", "--grants", "5", "--users", "1"},
		env(nil), strings.NewReader(""), &stdout, &stderr); code == 0 {
		t.Fatal("seed accepted more grants per user than clients")
	}
}
