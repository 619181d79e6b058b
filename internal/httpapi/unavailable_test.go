package httpapi_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/httpapi"
	"github.com/grantd/grantd/internal/store/sqlite"
)

// generous bounds an answer that a deadline of a fraction of a second
// (or readiness's 2 s) brings: far above a noisy machine's delays, below
// SQLite's busy_timeout (10 s), which is how long a request waited for a
// lock before there were deadlines.
const generous = 8 * time.Second

// answered serves r and fails the test unless an answer comes within
// generous.
func answered(t *testing.T, env *testEnv, what string, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- env.do(r) }()
	select {
	case rec := <-done:
		return rec
	case <-time.After(generous):
		t.Fatalf("%s: no answer after %s", what, generous)
		return nil
	}
}

// holdWriteLock makes another process on the database file (a second
// store, as `grantd apikey create` beside the server is) hold SQLite's
// write lock until the returned function is called (also at cleanup).
func holdWriteLock(t *testing.T, env *testEnv, c grantd.Client) (release func()) {
	t.Helper()
	other, err := sqlite.Open(context.Background(), env.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	inside, unblock, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		_, err := other.UpdateClient(context.Background(), c.ID, func(c grantd.Client) (grantd.Client, error) {
			close(inside)
			<-unblock
			return c, nil
		})
		if err != nil {
			t.Errorf("the lock holder's update: %v", err)
		}
	}()
	<-inside
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(unblock)
			<-done
			other.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// wantUnavailable checks a 503 with Retry-After.
func wantUnavailable(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("%s: status %d, want 503: %s", what, rec.Code, rec.Body)
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", what)
	}
}

// TestLockedDatabaseAnswers503: another process holds the database's
// write lock for longer than --db-timeout. Every request that must write
// answers a fast 503 in its endpoint's own format, with Retry-After,
// instead of waiting for the lock; nothing is half done, and once the
// lock is released the same requests succeed.
func TestLockedDatabaseAnswers503(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withDBTimeout(300*time.Millisecond))
	u := env.createUser(t, "a@example.com")
	key := env.createAPIKey(t, u)
	if rec := env.api(t, "GET", "/v2/oauth_clients", key, ""); rec.Code != 200 { // the key's last use is written now, not under the lock
		t.Fatalf("list clients: %d %s", rec.Code, rec.Body)
	}
	flow := newCodeFlow(t, env, clientSpec{})
	code := flow.code(t)
	cookie := sessionCookie(t, env, flow.user)
	release := holdWriteLock(t, env, flow.client)

	redeem := func() *http.Request {
		r := httptest.NewRequest("POST", env.URL+"/v2/oauth/token", strings.NewReader("grant_type=authorization_code&code="+code+
			"&client_id="+flow.client.ID+"&redirect_uri="+flow.client.RedirectURIs[0]+"&code_verifier="+testVerifier))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	createClient := func() *http.Request {
		r := httptest.NewRequest("POST", env.URL+"/v2/oauth_clients", strings.NewReader(`{"name": "n", "allowed_scopes": ["read"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+key)
		return r
	}
	register := func() *http.Request {
		r := httptest.NewRequest("POST", env.URL+"/v2/oauth/register", strings.NewReader(`{"client_name": "n", "redirect_uris": ["https://app.example.com/cb"]}`))
		r.Header.Set("Content-Type", "application/json")
		return r
	}

	// The token endpoint: RFC 6749 JSON, no-store.
	rec := answered(t, env, "token", redeem())
	wantUnavailable(t, "token", rec)
	oauthErr(t, rec, 503, "temporarily_unavailable")
	checkTokenHeaders(t, rec.Result().Header)

	// Registration, a protocol endpoint too.
	rec = answered(t, env, "register", register())
	wantUnavailable(t, "register", rec)
	oauthErr(t, rec, 503, "temporarily_unavailable")

	// The management API: the Telnyx envelope.
	rec = answered(t, env, "create client", createClient())
	wantUnavailable(t, "create client", rec)
	wantAPIError(t, rec, 503, "10007")

	// Authorization: the redirect URI is trusted by then, so the browser
	// goes back to the client with temporarily_unavailable (RFC 6749
	// §4.1.2.1) and its state.
	r := httptest.NewRequest("GET", env.URL+authorizePath(flow.client, "prompt", "consent"), nil)
	r.Header.Set(cookie[0], cookie[1])
	rec = answered(t, env, "authorize", r)
	q := redirectParams(t, location(t, rec), flow.client.RedirectURIs[0])
	if q.Get("error") != "temporarily_unavailable" || q.Get("state") != "st-1" {
		t.Errorf("authorize under the lock redirected with %v, want error=temporarily_unavailable and the state", q)
	}

	// Readiness reads fine (WAL) but sees that writes do not go through.
	rec = answered(t, env, "readyz", httptest.NewRequest("GET", env.URL+"/readyz", nil))
	wantUnavailable(t, "readyz", rec)
	if m := decodeJSON(t, rec.Body.Bytes()); m["status"] != "unavailable" || !strings.Contains(m["reason"].(string), "writes") {
		t.Errorf("readyz under the lock = %s, want unavailable because of writes", rec.Body)
	}

	release()
	if rec := env.do(redeem()); rec.Code != 200 {
		t.Errorf("the same code after the lock: %d %s (the timed-out redemption must not have used it)", rec.Code, rec.Body)
	}
	if rec := env.do(createClient()); rec.Code != 201 {
		t.Errorf("create client after the lock: %d %s", rec.Code, rec.Body)
	}
	if rec := env.do(register()); rec.Code != 201 {
		t.Errorf("register after the lock: %d %s", rec.Code, rec.Body)
	}
	// Readiness keeps the failed write's outcome for a few seconds, then
	// writes again.
	if rec := env.do(httptest.NewRequest("GET", env.URL+"/readyz", nil)); rec.Code != 503 {
		t.Errorf("readyz right after the lock = %d, want the remembered 503", rec.Code)
	}
	env.Clock.Advance(httpapi.HeartbeatEvery)
	if rec := env.do(httptest.NewRequest("GET", env.URL+"/readyz", nil)); rec.Code != 200 {
		t.Errorf("readyz after the lock = %d %s, want 200", rec.Code, rec.Body)
	}
}

// TestReadyzOwnDeadline: even on a store without --db-timeout, /readyz
// answers 503 within its own short deadline when the database does not
// take the write (another process holds the lock past busy_timeout's
// start), instead of answering late, or 200.
func TestReadyzOwnDeadline(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	u := env.createUser(t, "a@example.com")
	c, _ := env.createClient(t, u, clientSpec{})
	holdWriteLock(t, env, c)
	rec := answered(t, env, "readyz", httptest.NewRequest("GET", env.URL+"/readyz", nil))
	wantUnavailable(t, "readyz", rec)
}

// TestReadyzWritesAtMostEveryFewSeconds: probes however frequent cost the
// database one heartbeat write per heartbeatEvery; the heartbeat row's
// time shows when the last one was written.
func TestReadyzWritesAtMostEveryFewSeconds(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	db, err := sql.Open("sqlite", "file:"+env.DBPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lastWrite := func() time.Time {
		t.Helper()
		var us int64
		if err := db.QueryRow(`SELECT at FROM heartbeat WHERE id = 1`).Scan(&us); err != nil {
			t.Fatal(err)
		}
		return time.UnixMicro(us).UTC()
	}
	probe := func() {
		t.Helper()
		if rec := env.do(httptest.NewRequest("GET", env.URL+"/readyz", nil)); rec.Code != 200 {
			t.Fatalf("readyz = %d %s", rec.Code, rec.Body)
		}
	}

	first := env.Clock.Now()
	for range 4 {
		for range 10 {
			probe()
		}
		if got := lastWrite(); !got.Equal(first) {
			t.Fatalf("heartbeat written at %v, want only at %v (the first probe)", got, first)
		}
		env.Clock.Advance(time.Second)
	}
	env.Clock.Advance(httpapi.HeartbeatEvery - 4*time.Second)
	probe()
	if got, want := lastWrite(), first.Add(httpapi.HeartbeatEvery); !got.Equal(want) {
		t.Fatalf("heartbeat written at %v, want %v: once heartbeatEvery has passed", got, want)
	}
}
