package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

const limitedRegistration = `{"client_name":"x","redirect_uris":["https://app.example.com/cb"],"scope":"read"}`

func registerFrom(env *testEnv, addr, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, env.URL+"/v2/oauth/register", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.RemoteAddr = addr
	return env.do(r)
}

// One address registers ten clients in a minute, not eleven: the 11th is
// 429 in RFC 6749 form with Retry-After and RateLimit-*; failed attempts
// count too; another address is not affected; a minute later the first
// may register again.
func TestRegisterRateLimit(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	const addr = "198.51.100.7:4000"
	for i := range 10 {
		body := limitedRegistration
		if i%2 == 1 {
			body = `{"redirect_uris": 1}` // refused, and counted all the same
		}
		if rec := registerFrom(env, addr, body); rec.Code == http.StatusTooManyRequests {
			t.Fatalf("attempt %d refused: %s", i+1, rec.Body)
		}
	}
	rec := registerFrom(env, addr, limitedRegistration)
	regErr(t, rec, http.StatusTooManyRequests, "invalid_request")
	if rec.Header().Get("Retry-After") == "" || rec.Header().Get("RateLimit-Limit") != "10" ||
		rec.Header().Get("RateLimit-Remaining") != "0" || rec.Header().Get("RateLimit-Reset") == "" {
		t.Errorf("429 headers: %v", rec.Header())
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("429 without CORS: %v", rec.Header())
	}
	if rec := registerFrom(env, "203.0.113.9:4000", limitedRegistration); rec.Code != http.StatusCreated {
		t.Errorf("another address: %d %s", rec.Code, rec.Body)
	}
	env.Clock.Advance(time.Minute)
	if rec := registerFrom(env, addr, limitedRegistration); rec.Code != http.StatusCreated {
		t.Errorf("a minute later: %d %s", rec.Code, rec.Body)
	}
}

// Past --registration-cap ownerless registrations, open registration is
// refused with access_denied and the operator is told in the log; clients
// with an owner do not count, and a removed registration frees a place.
func TestRegistrationCap(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	env := newTestEnv(t, withIssuer(goldenIssuer), withLogger(debugLogger(&logs)),
		withConfig(func(c *oauth.Config) { c.RegistrationCap = 2 }))
	env.createClient(t, env.createUser(t, "alice@example.com"), clientSpec{})
	var first wireRegistration
	for i, addr := range []string{"198.51.100.1:1", "198.51.100.2:1"} {
		reg, _ := registrationOK(t, env, registerFrom(env, addr, limitedRegistration), http.StatusCreated)
		if i == 0 {
			first = reg
		}
	}
	rec := registerFrom(env, "198.51.100.3:1", limitedRegistration)
	regErr(t, rec, http.StatusBadRequest, "access_denied")
	if !strings.Contains(logs.String(), "registration-cap") {
		t.Errorf("the log does not tell the operator: %s", logs.String())
	}
	if err := env.Store.DeleteClient(t.Context(), first.ClientID); err != nil {
		t.Fatal(err)
	}
	if rec := registerFrom(env, "198.51.100.3:1", limitedRegistration); rec.Code != http.StatusCreated {
		t.Errorf("after a removal: %d %s", rec.Code, rec.Body)
	}
}

// markCounter counts MarkClientUsed, the first-token write.
type markCounter struct {
	grantd.Store
	marks atomic.Int32
}

func (m *markCounter) MarkClientUsed(ctx context.Context, id string) error {
	m.marks.Add(1)
	return m.Store.MarkClientUsed(ctx, id)
}

// A registered client's first token is recorded once (so the clean-up
// keeps it); later tokens and every token of an API client write nothing.
func TestFirstTokenRecordedOnce(t *testing.T) {
	t.Parallel()
	mc := &markCounter{}
	env := newTestEnv(t, withIssuer(goldenIssuer), withStore(func(s grantd.Store) grantd.Store { mc.Store = s; return mc }))
	apiClient, apiSecret := env.createClient(t, env.createUser(t, "alice@example.com"), clientSpec{})
	for range 3 {
		ccToken(t, env, apiClient.ID, apiSecret, nil)
	}
	if n := mc.marks.Load(); n != 0 {
		t.Fatalf("an API client's tokens wrote %d marks, want 0", n)
	}
	reg, _ := registrationOK(t, env, registerFrom(env, "198.51.100.1:1",
		`{"grant_types":["client_credentials"],"scope":"read"}`), http.StatusCreated)
	if c, err := env.Store.GetClient(t.Context(), reg.ClientID); err != nil || c.ObtainedToken || c.Origin != grantd.OriginRegistration {
		t.Fatalf("registered client %+v, %v: want registration origin, no token yet", c, err)
	}
	for range 3 {
		ccToken(t, env, reg.ClientID, reg.ClientSecret, nil)
	}
	if n := mc.marks.Load(); n != 1 {
		t.Errorf("three tokens of a registered client wrote %d marks, want 1", n)
	}
	if c, err := env.Store.GetClient(t.Context(), reg.ClientID); err != nil || !c.ObtainedToken {
		t.Errorf("after its first token: %+v, %v", c, err)
	}
}
