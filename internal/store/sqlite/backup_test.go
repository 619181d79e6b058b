package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grantd/grantd"
)

// ConnStats adds the writer's pool (one connection) to the readers'.
func TestConnStats(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "g.db"))
	inUse, idle, maxOpen := s.ConnStats()
	if inUse != 0 || idle < 2 || maxOpen < 5 {
		t.Errorf("ConnStats = %d in use, %d idle, max %d; want 0 in use, the writer and a reader idle, max 1 + at least 4", inUse, idle, maxOpen)
	}
}

// Backup copies what was committed, refuses to overwrite a file, and
// leaves no partial file when it fails.
func TestBackup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := open(t, filepath.Join(dir, "g.db"))
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	u := grantd.User{ID: "u1", OrgID: "o1", Email: "a@example.com", CreatedAt: now}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(dir, "copy.db")
	if err := s.Backup(t.Context(), to); err != nil {
		t.Fatal(err)
	}
	c := open(t, to)
	if got, err := c.GetUserByEmail(t.Context(), "a@example.com"); err != nil || got.ID != "u1" {
		t.Errorf("user in the copy: %+v, %v", got, err)
	}
	if err := s.Backup(t.Context(), to); err == nil {
		t.Error("a backup overwrote an existing file")
	}
	bad := filepath.Join(dir, "no-such-dir", "copy.db")
	if err := s.Backup(t.Context(), bad); err == nil {
		t.Error("a backup into a missing directory succeeded")
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("a failed backup left a file")
	}
}
