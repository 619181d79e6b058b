// Package pgtest gives tests an isolated PostgreSQL schema. It is for
// tests only (the store's and the command line's).
//
// The server comes from GRANTD_TEST_POSTGRES_DSN. Without it, or when the
// server does not answer, a test skips, unless
// GRANTD_TEST_REQUIRE_POSTGRES=1, which makes either a failure: CI sets it
// so that a misconfigured database cannot pass as "skipped".
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables the tests read.
const (
	EnvDSN     = "GRANTD_TEST_POSTGRES_DSN"
	EnvRequire = "GRANTD_TEST_REQUIRE_POSTGRES"
)

// ServerDSN answers the test server's DSN, or skips (fails, when required)
// the test if there is none.
func ServerDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		unavailable(t, EnvDSN+" is not set")
	}
	return dsn
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("PostgreSQL required (%s=1) but unavailable: %s", EnvRequire, why)
	}
	t.Skipf("PostgreSQL unavailable (%s); set %s to run this test", why, EnvDSN)
}

// Connect answers a connection to the test server, closed at cleanup.
func Connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		unavailable(t, "cannot connect: "+err.Error())
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Schema creates a new, empty schema on the test server, drops it (and
// only it) at cleanup, and answers a DSN whose connections work in it
// (search_path).
func Schema(t testing.TB) string {
	t.Helper()
	dsn := ServerDSN(t)
	conn := Connect(t, dsn)
	name := "grantd_test_" + randomHex(8)
	ident := pgx.Identifier{name}.Sanitize()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+ident); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	// Registered after Connect's cleanup, so it runs before the
	// connection closes; stores opened by the test close earlier still.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+ident+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return WithParam(t, dsn, "search_path", name)
}

// WithParam answers dsn (a URL or a key=value string) with one run-time
// parameter set.
func WithParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s does not parse as a URL", EnvDSN)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "=" + value
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
