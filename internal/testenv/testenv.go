// Package testenv builds the real parts of a grantd server for tests: a
// migrated SQLite store in the test's temporary directory, a clock the
// test moves by hand, a loaded signing key ring, users and API keys. The
// tests of every package build their server from these, so that each runs
// against the real thing, built one way. Only tests import it.
package testenv

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/store/sqlite"
	"github.com/grantd/grantd/internal/token"
)

// Start is where every Clock starts: a fixed time keeps stored rows and
// token lifetimes the same from run to run.
var Start = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// Clock is a clock tests move by hand; never sleep to wait for expiry.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock answers a clock at Start.
func NewClock() *Clock { return &Clock{t: Start} }

// Now answers the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Store opens a migrated SQLite database in t.TempDir(), closed when the
// test ends, and answers it with its path.
func Store(t testing.TB) (*sqlite.Store, string) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "grantd.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st, path
}

// MasterKey is the fixed master key of test key rings.
var MasterKey = bytes.Repeat([]byte{7}, token.MasterKeySize)

// Keyring answers a loaded key ring on st that signs with alg ("" for
// ES256) and allows access tokens of up to maxTTL.
func Keyring(t testing.TB, st token.KeyStore, alg string, now func() time.Time, maxTTL time.Duration) *token.Keyring {
	t.Helper()
	keys, err := token.NewKeyring(token.KeyringConfig{
		Store:        st,
		MasterKey:    MasterKey,
		Algorithm:    alg,
		Now:          now,
		MaxAccessTTL: maxTTL,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return keys
}

// Catalog answers the scope catalog of the scopes.
func Catalog(t testing.TB, scopes []grantd.Scope) *grantd.Catalog {
	t.Helper()
	c, err := grantd.NewCatalog(scopes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// User makes a user with a fresh organisation; passwordHash may be "".
func User(t testing.TB, st grantd.Store, email, passwordHash string, now time.Time) grantd.User {
	t.Helper()
	u := grantd.User{ID: uuid.NewString(), OrgID: uuid.NewString(), Email: strings.ToLower(email), PasswordHash: passwordHash, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// APIKey makes an API key for the user and answers the plain key.
func APIKey(t testing.TB, st grantd.Store, userID string, now time.Time) string {
	t.Helper()
	key, hash := token.NewOpaque(token.PrefixAPIKey)
	if err := st.CreateAPIKey(context.Background(), grantd.APIKey{ID: uuid.NewString(), UserID: userID, Name: "test", Hash: hash, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return key
}
