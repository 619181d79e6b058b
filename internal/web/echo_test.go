package web_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/grantd/grantd/internal/apptest"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPagesDoNotEchoSecrets: a secret pasted into a scope or grant type
// of the developer form, or sent as the method of a request to a page,
// is not repeated on the error page nor in the log (debug included).
func TestPagesDoNotEchoSecrets(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	e := newEnv(t, func(o *apptest.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	e.user(t, email, pw)
	b := e.browser(t)
	b.login(t, email, pw)
	csrf := csrfOf(t, b.get(t, "/developer/new"))
	const secret = "grantd_secret_Zp3kq8Vn2LxR7tYw1bCd5eFg9hJm4Ns6Qa0Uo_Ki-Xy"
	form := url.Values{
		"csrf_token": {csrf}, "name": {"Leaky"}, "client_type": {"confidential"},
		"allowed_grant_types": {"client_credentials"}, "allowed_scopes": {"messages:read"},
	}
	for _, field := range []string{"allowed_scopes", "allowed_grant_types"} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set(field, secret)
		p := b.post(t, "/developer/new", f)
		if p.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(p.text(), "(value not shown)") {
			t.Errorf("%s: %d, want 422 saying the value is not shown\n%s", field, p.StatusCode, p.text())
		}
		if strings.Contains(p.Body, secret) {
			t.Errorf("%s: the page repeats the secret", field)
		}
	}
	req, err := http.NewRequest(secret, e.URL+"/login", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := b.do(t, req); p.StatusCode != http.StatusMethodNotAllowed || strings.Contains(p.Body, secret) {
		t.Errorf("a secret as the method: %d, want 405 without it\n%s", p.StatusCode, p.text())
	}
	if l := logs.String(); strings.Contains(l, secret) || !strings.Contains(l, `"status":405`) {
		t.Errorf("the log repeats the secret, or logged nothing:\n%s", l)
	}
}
