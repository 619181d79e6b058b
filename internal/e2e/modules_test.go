// Package e2e holds the tests of the public modules rs and client that
// run a real grantd (internal/e2e/rs, internal/e2e/client). They live in
// the server's module so that rs and client, each a module of its own,
// need nothing of the server, not even in their tests. This file checks
// that they still do not.
package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// What importing each public module brings, its own module first: a
// resource server that imports rs gets go-jose and nothing of grantd's
// (no pgx, no SQLite, no chromedp); client is the standard library only.
// A new requirement in rs/go.mod or client/go.mod fails this test.
func TestPublicModulesStandAlone(t *testing.T) {
	tests := []struct {
		dir  string
		want []string
	}{
		{"rs", []string{"github.com/grantd/grantd/rs", "github.com/go-jose/go-jose/v4"}},
		{"client", []string{"github.com/grantd/grantd/client"}},
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command (go test puts it on PATH): %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("..", "..", tc.dir)
			// Reading go.mod here, not only in the go command, makes it
			// part of what go test caches this result under: an edit to
			// it runs the test again.
			gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(goTool, "list", "-m", "-f", "{{.Path}}", "all")
			cmd.Dir = dir
			// The module as its importers see it: no workspace, and no
			// download (its go.sum must already cover it).
			cmd.Env = append(cmd.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly", "GOPROXY=off")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list -m all in %s: %v\n%s", tc.dir, err, out)
			}
			if got := strings.Fields(string(out)); !slices.Equal(got, tc.want) {
				t.Errorf("go list -m all in %s = %q, want %q; its go.mod:\n%s", tc.dir, got, tc.want, gomod)
			}
		})
	}
}
