package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/store/postgres/pgtest"
)

// statements records the statements the pool's connections send, one
// round trip each.
type statements struct {
	mu  sync.Mutex
	sql []string
}

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sql = append(s.sql, strings.Join(strings.Fields(d.SQL), " "))
	return ctx
}

func (*statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// take answers the statements since the last take.
func (s *statements) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sql
	s.sql = nil
	return out
}

// want checks that got are the statements that start with prefixes, in
// order.
func wantStatements(t *testing.T, what string, got []string, prefixes ...string) {
	t.Helper()
	ok := len(got) == len(prefixes)
	for i := 0; ok && i < len(got); i++ {
		ok = strings.HasPrefix(got[i], prefixes[i])
	}
	if !ok {
		t.Errorf("%s: %d statements, want %d:\n%s", what, len(got), len(prefixes), strings.Join(got, "\n"))
	}
}

// TestRoundTrips: a code redemption and a refresh rotation take one round
// trip a step: the grant is locked in one statement, through the code's
// or the token's grant_id, before the code or token itself; what was
// written is not read back; and the grant's last_used_at, read with its
// lock, is not written again within a second.
func TestRoundTrips(t *testing.T) {
	pgtest.Connect(t, pgtest.ServerDSN(t))
	var rec statements
	s, err := openWith(t.Context(), pgtest.Schema(t), &rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	u := grantd.User{ID: "u1", OrgID: "o1", Email: "u1@example.com", CreatedAt: now, UpdatedAt: now}
	c := grantd.Client{ID: "c1", Name: "c1", UserID: u.ID, OrgID: u.OrgID, Type: grantd.ClientConfidential, CreatedAt: now, UpdatedAt: now}
	g := grantd.Grant{ID: "g1", UserID: u.ID, ClientID: c.ID, CreatedAt: now, UpdatedAt: now}
	code := grantd.AuthCode{Hash: "code", ClientID: c.ID, UserID: u.ID, GrantID: g.ID, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	for _, err := range []error{s.CreateUser(ctx, u), s.CreateClient(ctx, c), s.CreateGrant(ctx, g), s.CreateAuthCode(ctx, code)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	rt := grantd.RefreshToken{Hash: "rt", FamilyID: "fam", GrantID: g.ID, ClientID: c.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour), AccessJTI: "jti", AccessExpiresAt: now.Add(time.Hour)}

	rec.take()
	if _, err := oauth.RedeemAuthCode(ctx, s, code.Hash, now, func(c grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		c.FamilyID, c.AccessJTI, c.AccessExpiresAt = rt.FamilyID, rt.AccessJTI, &rt.AccessExpiresAt
		return c, &rt, nil
	}); err != nil {
		t.Fatal(err)
	}
	wantStatements(t, "redeem", rec.take(),
		"begin",
		"SELECT id, last_used_at FROM grants WHERE id = (SELECT grant_id FROM auth_codes WHERE hash = $1) FOR NO KEY UPDATE",
		"SELECT hash, client_id",
		"UPDATE auth_codes",
		"INSERT INTO refresh_tokens",
		"UPDATE grants SET last_used_at",
		"commit")

	if _, err := oauth.RotateRefreshToken(ctx, s, rt.Hash, now.Add(time.Minute), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		next := old
		next.Hash, next.AccessJTI = "rt-2", "jti-2"
		return next, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	wantStatements(t, "rotate", rec.take(),
		"begin",
		"SELECT id, last_used_at FROM grants WHERE id = (SELECT grant_id FROM refresh_tokens WHERE hash = $1) FOR NO KEY UPDATE",
		"SELECT hash, family_id",
		"UPDATE refresh_tokens SET rotated_at",
		"INSERT INTO refresh_tokens",
		"UPDATE grants SET last_used_at",
		"commit")

	// Within a second of the last touch, the grant's row is not written:
	// the lock read its last_used_at.
	if _, err := oauth.RotateRefreshToken(ctx, s, "rt-2", now.Add(time.Minute+500*time.Millisecond), 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) {
		next := old
		next.Hash, next.AccessJTI = "rt-3", "jti-3"
		return next, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	wantStatements(t, "rotate within the second", rec.take(),
		"begin",
		"SELECT id, last_used_at FROM grants WHERE id = (SELECT grant_id FROM refresh_tokens WHERE hash = $1) FOR NO KEY UPDATE",
		"SELECT hash, family_id",
		"UPDATE refresh_tokens SET rotated_at",
		"INSERT INTO refresh_tokens",
		"commit")

	// A missing token is not found, in the one statement that locks.
	_, err = oauth.RotateRefreshToken(ctx, s, "rt-missing", now, 0, func(old grantd.RefreshToken) (grantd.RefreshToken, error) { return old, nil }, nil)
	if !errors.Is(err, grantd.ErrNotFound) {
		t.Errorf("rotate a missing token: err = %v, want ErrNotFound", err)
	}
	wantStatements(t, "rotate a missing token", rec.take(),
		"begin",
		"SELECT id, last_used_at FROM grants WHERE id = (SELECT grant_id FROM refresh_tokens",
		"rollback")
}
