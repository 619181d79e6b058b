//go:build unix

package leader

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func lead(t *testing.T, e Elector) bool {
	t.Helper()
	ok, err := e.Lead(context.Background())
	if err != nil {
		t.Fatalf("Lead: %v", err)
	}
	return ok
}

// Two Electors on one lock file, as two processes on one SQLite database:
// one leads, the other does not until the first resigns; asking again
// changes nothing.
func TestFileOneLeads(t *testing.T) {
	t.Parallel()
	path := LockPath(filepath.Join(t.TempDir(), "grantd.db"))
	a, b := NewFile(path), NewFile(path)
	t.Cleanup(func() { a.Resign(context.Background()); b.Resign(context.Background()) })
	if !lead(t, a) {
		t.Fatal("the first Elector does not lead a free lock")
	}
	for range 3 {
		if lead(t, b) {
			t.Fatal("two Electors lead on one lock file")
		}
		if !lead(t, a) {
			t.Fatal("the leader stopped leading without resigning")
		}
	}
	if err := a.Resign(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !lead(t, b) {
		t.Fatal("the other Elector does not lead once the leader resigned")
	}
	if lead(t, a) {
		t.Fatal("the Elector that resigned leads again while the other holds the lock")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v, %v; want mode 0600", fi, err)
	}
}

// A leader whose lock file was removed stops leading (another process
// would lock the new file), and an Elector that locks the new file leads.
func TestFileRemovedLockLosesLeadership(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "lock")
	a, b := NewFile(path), NewFile(path)
	t.Cleanup(func() { a.Resign(context.Background()); b.Resign(context.Background()) })
	if !lead(t, a) {
		t.Fatal("no lead")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if !lead(t, b) {
		t.Fatal("the Elector on the new file does not lead")
	}
	if ok, err := a.Lead(context.Background()); ok || err == nil {
		t.Fatalf("the leader of the removed file: Lead = %v, %v; want false and an error", ok, err)
	}
}

// Solo always leads.
func TestSolo(t *testing.T) {
	t.Parallel()
	if !lead(t, Solo{}) {
		t.Fatal("Solo does not lead")
	}
}
