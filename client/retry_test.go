package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// script is a server that answers the n-th request with answers[n] (the
// last one again once they run out) and keeps each request's body.
type script struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	bodies  []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.bodies)
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	s.answers[min(n, len(s.answers)-1)](w)
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func status(code int, retryAfter string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if code >= 400 {
			io.WriteString(w, `{"errors":[{"code":"10011","title":"Too many requests"}]}`)
		} else {
			io.WriteString(w, `{"access_token":"at","token_type":"Bearer","expires_in":1800}`)
		}
	}
}

// testClient is a Client of the script whose waits are recorded, not
// slept.
func testClient(t *testing.T, s *script, p RetryPolicy) (*Client, *[]time.Duration) {
	t.Helper()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c := New(ts.URL+"/v2", WithRetries(p))
	var waits []time.Duration
	c.now = func() time.Time { return time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC) }
	c.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return c, &waits
}

// A 429 with Retry-After is sent again, body and all, after the wait
// the server asked for.
func TestRetryHonoursRetryAfter(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){status(429, "3"), status(503, "1"), status(200, "")}}
	c, waits := testClient(t, s, RetryPolicy{MaxRetries: 2, MaxWait: 10 * time.Second, Backoff: time.Second})
	tok, err := c.Token(context.Background(), TokenParams{ClientID: "id", ClientSecret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "at" || s.count() != 3 {
		t.Fatalf("token %+v after %d requests", tok, s.count())
	}
	if len(*waits) != 2 || (*waits)[0] != 3*time.Second || (*waits)[1] != time.Second {
		t.Fatalf("waits %v, want [3s 1s]", *waits)
	}
	for _, b := range s.bodies {
		if b != "grant_type=client_credentials" {
			t.Fatalf("bodies %q, want the same body each time", s.bodies)
		}
	}
}

// A server that keeps answering 503 gets MaxRetries more requests, not
// one more; the caller gets the last answer as a *Error.
func TestRetryIsBounded(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){status(503, "1")}}
	c, waits := testClient(t, s, RetryPolicy{MaxRetries: 2, MaxWait: 10 * time.Second})
	_, err := c.ListGrants(context.Background(), ListGrantsParams{})
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Status() != 503 || apiErr.RetryAfter != "1" {
		t.Fatalf("err = %v, want the 503", err)
	}
	if s.count() != 3 || len(*waits) != 2 {
		t.Fatalf("%d requests, waits %v; want 3 and 2", s.count(), *waits)
	}
}

// A Retry-After longer than MaxWait is not waited for: the caller gets
// the 429 at once.
func TestRetryAfterBeyondMaxWaitIsNotRetried(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){status(429, "120"), status(200, "")}}
	c, waits := testClient(t, s, RetryPolicy{MaxRetries: 5, MaxWait: 10 * time.Second})
	_, err := c.Token(context.Background(), TokenParams{ClientID: "id", ClientSecret: "secret"})
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.ErrorCode() != "10011" {
		t.Fatalf("err = %v, want the 429", err)
	}
	if s.count() != 1 || len(*waits) != 0 {
		t.Fatalf("%d requests, waits %v; want 1 and none", s.count(), *waits)
	}
}

// Other errors, and retries turned off, are never sent again.
func TestNoRetry(t *testing.T) {
	for _, tc := range []struct {
		code int
		p    RetryPolicy
	}{
		{500, DefaultRetryPolicy}, {400, DefaultRetryPolicy}, {401, DefaultRetryPolicy}, {429, RetryPolicy{}},
	} {
		s := &script{answers: []func(http.ResponseWriter){status(tc.code, "1"), status(200, "")}}
		c, _ := testClient(t, s, tc.p)
		if _, err := c.ListGrants(context.Background(), ListGrantsParams{}); err == nil || s.count() != 1 {
			t.Errorf("%d with %+v: err %v after %d requests, want an error after 1", tc.code, tc.p, err, s.count())
		}
	}
}

// Without Retry-After the waits double from Backoff, never past
// MaxWait.
func TestRetryBackoffWithoutRetryAfter(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){status(503, "")}}
	c, waits := testClient(t, s, RetryPolicy{MaxRetries: 4, MaxWait: 3 * time.Second, Backoff: time.Second})
	c.ListGrants(context.Background(), ListGrantsParams{})
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	if len(*waits) != len(want) {
		t.Fatalf("waits %v, want %v", *waits, want)
	}
	for i := range want {
		if (*waits)[i] != want[i] {
			t.Fatalf("waits %v, want %v", *waits, want)
		}
	}
}

// A cancelled context ends the wait: the caller gets both the context's
// error and the answer that made it wait.
func TestRetryWaitEndsWithContext(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){status(429, "5"), status(200, "")}}
	ts := httptest.NewServer(s)
	defer ts.Close()
	c := New(ts.URL+"/v2", WithRetries(RetryPolicy{MaxRetries: 3, MaxWait: time.Hour}))
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(ctx context.Context, d time.Duration) error {
		cancel() // the caller gives up during the wait
		return sleepCtx(ctx, d)
	}
	_, err := c.ListGrants(ctx, ListGrantsParams{})
	var apiErr *Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Fatalf("err = %v, want context.Canceled and the 429", err)
	}
	if s.count() != 1 {
		t.Fatalf("%d requests, want 1", s.count())
	}
}

// sleepCtx returns at once for a done context, without waiting d.
func TestSleepCtxDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- sleepCtx(ctx, time.Hour) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("sleepCtx waited on a done context")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 7 ", 7 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"99999999999999999", 24 * time.Hour, true},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	} {
		got, ok := parseRetryAfter(tc.v, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v %v, want %v %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
	// An HTTP date is waited for as the difference to the client's clock.
	s := &script{answers: []func(http.ResponseWriter){status(503, now.Add(4*time.Second).Format(http.TimeFormat)), status(200, "")}}
	c, waits := testClient(t, s, DefaultRetryPolicy)
	if _, err := c.Token(context.Background(), TokenParams{ClientID: "id", ClientSecret: "s"}); err != nil || len(*waits) != 1 || (*waits)[0] != 4*time.Second {
		t.Fatalf("err %v, waits %v; want one wait of 4s", err, *waits)
	}
}

// A call that spends a single-use credential is retried after a 429 but
// not after a 503, which might have come after the code was spent.
func TestSingleUseCallsRetryOnlyAfter429(t *testing.T) {
	for _, tc := range []struct {
		code     int
		requests int
	}{{429, 2}, {503, 1}} {
		s := &script{answers: []func(http.ResponseWriter){status(tc.code, "1"), status(200, "")}}
		c, _ := testClient(t, s, DefaultRetryPolicy)
		c.Token(context.Background(), TokenParams{GrantType: "authorization_code", ClientID: "id", Code: "c", CodeVerifier: "v", RedirectURI: "http://127.0.0.1/cb"})
		if s.count() != tc.requests {
			t.Errorf("code exchange answered %d: %d requests, want %d", tc.code, s.count(), tc.requests)
		}
	}
}
