package leader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
)

// File is the Elector of the processes of one host that share a SQLite
// database: an exclusive, non-blocking flock(2) on a file (by convention
// beside the database, see LockPath). The kernel releases the lock when
// the file is closed, and so when the process holding it exits, however
// it exits, so a crashed leader is replaced at the next check of another
// process. Two opens of the file in one process exclude each other too
// (flock locks belong to the open file, not the process).
//
// SQLite itself refuses to share a database across hosts safely, so a
// lock on the host is as wide as the deployment. On systems without
// flock (Windows), File leads always: run one grantd per SQLite database
// there.
type File struct {
	path string

	mu sync.Mutex
	f  *os.File // open and locked while this process leads
}

// LockPath answers the lock file of the SQLite database at dbPath.
func LockPath(dbPath string) string { return dbPath + "-leader" }

// NewFile answers the Elector on the lock file path, which is created
// (mode 0600) when first needed and never removed.
func NewFile(path string) *File { return &File{path: path} }

// Lead takes the lock, or checks that this process holds it still and
// that path still names the file it locked: a lock on a file that was
// removed or replaced no longer excludes a process that opens path now.
func (l *File) Lead(context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		if l.names() {
			return true, nil
		}
		l.release()
		return false, fmt.Errorf("leader lock %s was removed or replaced", l.path)
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return false, fmt.Errorf("leader lock: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return false, nil
		}
		return false, fmt.Errorf("leader lock %s: %w", l.path, err)
	}
	l.f = f
	// The file may have been replaced between the open and the lock.
	if !l.names() {
		l.release()
		return false, nil
	}
	return true, nil
}

// names reports whether path names the file held.
func (l *File) names() bool {
	held, err := l.f.Stat()
	if err != nil {
		return false
	}
	cur, err := os.Stat(l.path)
	return err == nil && os.SameFile(held, cur)
}

func (l *File) release() {
	l.f.Close() // closing releases the lock
	l.f = nil
}

// Resign releases the lock if held.
func (l *File) Resign(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.release()
	}
	return nil
}
