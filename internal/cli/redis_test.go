package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grantd/grantd/internal/ratelimit/redistest"
)

// TestServeRedisSharesLimits runs two nodes of `grantd serve` on one
// database and one Redis (--redis): the management limit of one API key
// spent on A refuses it on B, and /readyz on each says redis; a node
// without --redis says local.
func TestServeRedisSharesLimits(t *testing.T) {
	t.Parallel()
	u, prefix := redistest.Shared(t)
	dir := t.TempDir()
	flags := []string{"--redis", u, "--redis-prefix", prefix, "--redis-timeout", "2s", "--management-rate-limit", "3/1h"}
	a, _, _ := runServe(t, dir, flags...)
	b, _, _ := runServe(t, dir, flags...)
	keyFile, err := os.ReadFile(filepath.Join(dir, "grantd.bootstrap-key"))
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(keyFile))
	get := func(base string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/v2/oauth_clients", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for range 3 {
		decode(t, get(a), 200)
	}
	resp := get(b)
	if resp.Header.Get("Retry-After") == "" || resp.Header.Get("RateLimit-Limit") != "3" {
		t.Errorf("429 headers: %v", resp.Header)
	}
	m := decode(t, resp, 429)
	if errs, _ := m["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["code"] != "10011" {
		t.Errorf("429 body %v, want one error 10011", m)
	}
	for _, base := range []string{a, b} {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		if m := decode(t, resp, 200); m["rate_limits"] != "redis" {
			t.Errorf("%s/readyz: %v, want rate_limits redis", base, m)
		}
	}
	local, _, _ := runServe(t, t.TempDir())
	resp, err = http.Get(local + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	if m := decode(t, resp, 200); m["rate_limits"] != "local" {
		t.Errorf("/readyz without --redis: %v, want rate_limits local", m)
	}
}
