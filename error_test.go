package grantd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// A frozen database must not look like a server fault: whatever code the
// engine wraps a store's ErrUnavailable in, the answer is
// temporarily_unavailable (503), and the cause stays for the log.
func TestErrorsUnavailable(t *testing.T) {
	cause := fmt.Errorf("postgres: client: %w: %w", ErrUnavailable, context.DeadlineExceeded)
	for _, code := range []Code{CodeServerError, CodeInvalidGrant, CodeNotFound} {
		e := Wrap(code, cause, "internal error")
		if e.Code != CodeTemporarilyUnavailable || !errors.Is(e, context.DeadlineExceeded) {
			t.Errorf("Wrap(%s, unavailable) = %v, want temporarily_unavailable with its cause", code, e)
		}
	}
	if e := AsError(cause); e.Code != CodeTemporarilyUnavailable || e.Description == "" {
		t.Errorf("AsError(unavailable) = %v", e)
	}
	if ErrorCode(fmt.Errorf("login: %w", cause)) != CodeTemporarilyUnavailable {
		t.Error("ErrorCode does not see ErrUnavailable through wrapping")
	}
	if ErrorCode(errors.New("disk on fire")) != CodeServerError {
		t.Error("a foreign error that is not ErrUnavailable must stay a server error")
	}
}

// A wrapped cause is logged: the log line of an error shows its code,
// its description and its cause.
func TestErrorLogValueShowsTheCause(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	e := Wrap(CodeServerError, errors.New("disk on fire"), "internal error")
	log.Error("request failed", "error", e)
	for _, want := range []string{`"code":"server_error"`, `"description":"internal error"`, `"cause":"disk on fire"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line %s lacks %s", buf.String(), want)
		}
	}
}

// A field problem is typed: each adapter words its terms in its own
// names, and the arguments (values the caller sent) are never reworded.
func TestFieldErrorWorded(t *testing.T) {
	f := Field("/allowed_scopes/0", "%s is not in {allowed_scopes}; {a public client} may not", "{allowed_scopes}")
	if f.Detail != "{allowed_scopes} is not in allowed_scopes; a public client may not" {
		t.Errorf("Detail = %q", f.Detail)
	}
	got := f.Worded(map[string]string{"allowed_scopes": "scope", "a public client": "a 100% public client"})
	if want := "{allowed_scopes} is not in scope; a 100% public client may not"; got != want {
		t.Errorf("Worded = %q, want %q", got, want)
	}
	if g := Field("/name", "{name} must not be blank").Worded(map[string]string{"name": "client_name"}); g != "client_name must not be blank" {
		t.Errorf("Worded without args = %q", g)
	}
	plain := FieldError{Pointer: "/x", Detail: "x allowed_scopes"}
	if g := plain.Worded(map[string]string{"allowed_scopes": "scope"}); g != plain.Detail {
		t.Errorf("a problem without a Reason is reworded: %q", g)
	}
}
