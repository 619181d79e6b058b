package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/store/sqlite"
)

// TestPageWhileDatabaseLocked: another process holds the database's write
// lock beyond the deadline. A page that must write (removing an app)
// answers a fast 503 page, in HTML with Retry-After, instead of hanging
// or a 500; once the lock is gone the same form works.
func TestPageWhileDatabaseLocked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *apptest.Options) { o.DBTimeout = 300 * time.Millisecond })
	const email, pw = "ada@example.com", "correct horse"
	u := e.user(t, email, pw)
	c, _ := e.client(t, u, "Acme Dashboard", "https://app.acme.example/cb")
	ctx := context.Background()
	if _, err := e.Provider.Decide(ctx, u.ID, e.consentToken(t, u, c, "s"), true); err != nil {
		t.Fatal(err)
	}
	g, err := e.Store.GetGrantByUserClient(ctx, u.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	b.login(t, email, pw)
	csrf := csrfOf(t, b.get(t, "/apps"))

	other, err := sqlite.Open(ctx, e.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	inside, release, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		_, err := other.UpdateClient(ctx, c.ID, func(c grantd.Client) (grantd.Client, error) {
			close(inside)
			<-release
			return c, nil
		})
		held <- err
	}()
	<-inside
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()

	done := make(chan page, 1)
	go func() { done <- b.post(t, "/apps/"+g.ID+"/revoke", url.Values{"csrf_token": {csrf}}) }()
	var p page
	select {
	case p = <-done:
	case <-time.After(8 * time.Second): // busy_timeout (10 s) was the wait before deadlines
		t.Fatal("removing an app under another process's lock: no answer")
	}
	if p.StatusCode != http.StatusServiceUnavailable || p.Header.Get("Retry-After") == "" ||
		!strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") || !strings.Contains(p.text(), "Temporarily unavailable") {
		t.Fatalf("removing an app under the lock: %d, Retry-After %q, %q:\n%s", p.StatusCode, p.Header.Get("Retry-After"), p.Header.Get("Content-Type"), p.text())
	}

	close(release)
	released = true
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	p = b.post(t, "/apps/"+g.ID+"/revoke", url.Values{"csrf_token": {csrf}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("removing the app after the lock: %d\n%s", p.StatusCode, p.text())
	}
}
