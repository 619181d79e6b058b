package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grantd/grantd/internal/store/sqlite"
)

// grantd backup copies the SQLite database of a running server: the copy
// opens, holds what was written before it (the bootstrap user and a key
// made while serving), is readable by its owner only, and a second
// backup to the same file is refused rather than overwriting it.
func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "grantd.db")
	runServe(t, dir)
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"grantd"}, args...), env(nil), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, errb := run("apikey", "create", "--email", "backup@example.com", "--database", db); code != 0 {
		t.Fatalf("apikey create: %s", errb)
	}
	to := filepath.Join(dir, "copy.db")
	if code, out, errb := run("backup", "--database", db, "--to", to); code != 0 || !strings.Contains(out, to) {
		t.Fatalf("backup: exit %d, %q %q", code, out, errb)
	}
	fi, err := os.Stat(to)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	st, err := sqlite.Open(context.Background(), to)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, email := range []string{bootstrapEmail, "backup@example.com"} {
		if _, err := st.GetUserByEmail(context.Background(), email); err != nil {
			t.Errorf("%s in the backup: %v", email, err)
		}
	}
	if pending, err := st.MigrationsPending(context.Background()); err != nil || pending {
		t.Errorf("backup schema: pending %v, %v", pending, err)
	}

	if code, _, errb := run("backup", "--database", db, "--to", to); code == 0 || !strings.Contains(errb, "exists") {
		t.Errorf("backup over an existing file: exit %d, %q", code, errb)
	}
	if code, _, errb := run("backup", "--database", "postgres://u@127.0.0.1:1/x", "--to", filepath.Join(dir, "pg.db")); code == 0 || !strings.Contains(errb, "pg_dump") {
		t.Errorf("backup of PostgreSQL: exit %d, %q", code, errb)
	}
	if code, _, errb := run("backup", "--database", filepath.Join(dir, "missing.db"), "--to", filepath.Join(dir, "m.db")); code == 0 || !strings.Contains(errb, "missing.db") {
		t.Errorf("backup of a missing database: exit %d, %q", code, errb)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("backup created the database it was to copy")
	}
}
