package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSQLiteSynchronousSetting: --sqlite-synchronous and its environment
// twin take normal or full; anything else stops the command naming the
// setting, and the flag wins over the environment.
func TestSQLiteSynchronousSetting(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "g.db")
	run := func(environ map[string]string, args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"grantd", "migrate", "--database", db}, args...), env(environ), strings.NewReader(""), &out, &errb)
		return code, errb.String()
	}
	for _, tc := range []struct {
		environ map[string]string
		args    []string
		want    string // in stderr; "" means success
	}{
		{nil, nil, ""},
		{nil, []string{"--sqlite-synchronous", "full"}, ""},
		{nil, []string{"--sqlite-synchronous", "normal"}, ""},
		{map[string]string{"GRANTD_SQLITE_SYNCHRONOUS": "full"}, nil, ""},
		{nil, []string{"--sqlite-synchronous", "off"}, "--sqlite-synchronous"},
		{nil, []string{"--sqlite-synchronous", "FULL"}, "--sqlite-synchronous"},
		{map[string]string{"GRANTD_SQLITE_SYNCHRONOUS": "extra"}, nil, "GRANTD_SQLITE_SYNCHRONOUS"},
		{map[string]string{"GRANTD_SQLITE_SYNCHRONOUS": "extra"}, []string{"--sqlite-synchronous", "full"}, ""},
	} {
		code, stderr := run(tc.environ, tc.args...)
		switch {
		case tc.want == "" && code != 0:
			t.Errorf("migrate %v with %v: exit %d, %s", tc.args, tc.environ, code, stderr)
		case tc.want != "" && (code == 0 || !strings.Contains(stderr, tc.want)):
			t.Errorf("migrate %v with %v: exit %d, stderr %q; want a failure naming %s", tc.args, tc.environ, code, stderr, tc.want)
		}
	}
}
