package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/session"
	"github.com/grantd/grantd/internal/testenv"
)

func TestCreateAndLookup(t *testing.T) {
	st, _ := testenv.Store(t)
	clock := testenv.NewClock()
	u := testenv.User(t, st, "ada@example.com", "", clock.Now())
	ctx := context.Background()

	cookie, s, err := session.Create(ctx, st, u.ID, clock.Now(), time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	if cookie.Name != session.CookieName || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
		t.Fatalf("cookie flags: %+v", cookie)
	}
	if !strings.HasPrefix(cookie.Value, "grantd_session_") || s.CSRFToken == "" || strings.Contains(s.Hash, cookie.Value) {
		t.Fatalf("cookie %q, session %+v: the store must hold only a hash", cookie.Value, s)
	}

	lookup := func(value string) bool {
		t.Helper()
		r := httptest.NewRequest("GET", "/", nil)
		if value != "" {
			r.AddCookie(&http.Cookie{Name: session.CookieName, Value: value})
		}
		got, ok, err := session.Lookup(ctx, st, r, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if ok && got.UserID != u.ID {
			t.Fatalf("session of user %s, want %s", got.UserID, u.ID)
		}
		return ok
	}
	if !lookup(cookie.Value) {
		t.Fatal("a fresh session is not found")
	}
	for _, bad := range []string{"", "grantd_session_nope", "not-a-session", cookie.Value + "x", "grantd_session_" + strings.Repeat("a", 200)} {
		if lookup(bad) {
			t.Fatalf("cookie %q found a session", bad)
		}
	}
	clock.Advance(time.Hour)
	if lookup(cookie.Value) {
		t.Fatal("an expired session is still found")
	}
	if c := session.Clear(false); c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("Clear = %+v, want a deleting cookie", c)
	}
}
