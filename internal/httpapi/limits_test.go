package httpapi_test

// Brute force (issue 7, item 8): each test sends the wrong credential from
// one address until the answer is 429, and shows that the defence costs
// callers that succeed nothing.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/token"
)

// countingStore counts the lookups a flood would cost.
type countingStore struct {
	grantd.Store
	getClient, getAPIKey, getConsent atomic.Int64
}

func (s *countingStore) GetClient(ctx context.Context, id string) (grantd.Client, error) {
	s.getClient.Add(1)
	return s.Store.GetClient(ctx, id)
}

func (s *countingStore) GetAPIKeyByHash(ctx context.Context, hash string) (grantd.APIKey, error) {
	s.getAPIKey.Add(1)
	return s.Store.GetAPIKeyByHash(ctx, hash)
}

func (s *countingStore) GetAPIKeyUser(ctx context.Context, hash string) (grantd.APIKey, grantd.User, error) {
	s.getAPIKey.Add(1)
	return s.Store.GetAPIKeyUser(ctx, hash)
}

func (s *countingStore) GetConsent(ctx context.Context, hash string) (grantd.Consent, error) {
	s.getConsent.Add(1)
	return s.Store.GetConsent(ctx, hash)
}

func newCountingEnv(t *testing.T) (*testEnv, *countingStore) {
	var cs *countingStore
	env := newTestEnv(t, withIssuer(goldenIssuer), withStore(func(st grantd.Store) grantd.Store {
		cs = &countingStore{Store: st}
		return cs
	}))
	return env, cs
}

// from serves r in process as if it came from the address remote.
func (e *testEnv) from(remote string, r *http.Request) *httptest.ResponseRecorder {
	r.RemoteAddr = remote
	return e.do(r)
}

// form is a protocol request with Basic client credentials unless id is
// empty.
func (e *testEnv) form(path string, v url.Values, id, secret string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return r
}

// want429 checks a refusal: 429, Retry-After and the RateLimit fields
// SPEC §2 asks for, naming the limit met.
func want429(t *testing.T, rec *httptest.ResponseRecorder, limit int) {
	t.Helper()
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", rec.Code, rec.Body)
	}
	h := rec.Header()
	ra, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Errorf("Retry-After %q, want whole seconds", h.Get("Retry-After"))
	}
	if h.Get("RateLimit-Limit") != strconv.Itoa(limit) || h.Get("RateLimit-Remaining") != "0" || h.Get("RateLimit-Reset") != h.Get("Retry-After") {
		t.Errorf("RateLimit-Limit %q, -Remaining %q, -Reset %q (Retry-After %q); want %d, 0 and the Retry-After",
			h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"), h.Get("RateLimit-Reset"), h.Get("Retry-After"), limit)
	}
}

// wantOAuth429 checks a refusal in RFC 6749 form.
func wantOAuth429(t *testing.T, rec *httptest.ResponseRecorder, limit int) {
	t.Helper()
	want429(t, rec, limit)
	if m := decodeJSON(t, rec.Body.Bytes()); m["error"] != "invalid_request" || !strings.Contains(m["error_description"].(string), "too many") {
		t.Errorf("body %s, want invalid_request saying too many", rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("Cache-Control %q, WWW-Authenticate %q", rec.Header().Get("Cache-Control"), rec.Header().Get("WWW-Authenticate"))
	}
}

// TestClientSecretBruteForce: wrong client secrets from one address until
// 429. Successes from the same address before it cost nothing; once
// limited, the address is refused before the client is even looked up,
// whatever it sends; another address with the right secret still gets
// its token.
func TestClientSecretBruteForce(t *testing.T) {
	t.Parallel()
	env, cs := newCountingEnv(t)
	c, secret := env.createClient(t, env.createUser(t, "owner@example.com"), clientSpec{})
	const attacker, other = "203.0.113.9:1111", "198.51.100.4:2222"
	cc := url.Values{"grant_type": {"client_credentials"}}
	for i := range 100 {
		if rec := env.from(attacker, env.form("/v2/oauth/token", cc, c.ID, secret)); rec.Code != http.StatusOK {
			t.Fatalf("success %d: status %d: %s", i+1, rec.Code, rec.Body)
		}
	}
	for i := range 20 {
		guess := token.PrefixClientSecret + strconv.Itoa(i)
		if rec := env.from(attacker, env.form("/v2/oauth/token", cc, c.ID, guess)); rec.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i+1, rec.Code)
		}
	}
	wantOAuth429(t, env.from(attacker, env.form("/v2/oauth/token", cc, c.ID, "another guess")), 20)

	// Refused before the lookup and the compare: the right secret too,
	// and a flood costs no database read.
	before := cs.getClient.Load()
	wantOAuth429(t, env.from(attacker, env.form("/v2/oauth/token", cc, c.ID, secret)), 20)
	for range 200 {
		env.from(attacker, env.form("/v2/oauth/token", cc, c.ID, "guess"))
	}
	if n := cs.getClient.Load() - before; n != 0 {
		t.Errorf("201 refused requests read the client %d times, want 0", n)
	}
	// Introspection and revocation share the address's budget.
	wantOAuth429(t, env.from(attacker, env.form("/v2/oauth/introspect", url.Values{"token": {"x"}}, c.ID, secret)), 20)
	wantOAuth429(t, env.from(attacker, env.form("/v2/oauth/revoke", url.Values{"token": {"x"}}, c.ID, secret)), 20)

	// Another address is not affected.
	if rec := env.from(other, env.form("/v2/oauth/token", cc, c.ID, secret)); rec.Code != http.StatusOK {
		t.Fatalf("the right secret from another address: status %d: %s", rec.Code, rec.Body)
	}
	// Three seconds later the attacker has one more try.
	env.Clock.Advance(3 * time.Second)
	if rec := env.from(attacker, env.form("/v2/oauth/token", cc, c.ID, "guess")); rec.Code != http.StatusUnauthorized {
		t.Fatalf("3 s later: status %d, want 401", rec.Code)
	}
	wantOAuth429(t, env.from(attacker, env.form("/v2/oauth/token", cc, c.ID, "guess")), 20)
}

// TestClientIDBruteForce: the same client's secret guessed from many
// addresses, one guess each, meets the client's own limit; other clients
// are not affected.
func TestClientIDBruteForce(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	owner := env.createUser(t, "owner@example.com")
	c, secret := env.createClient(t, owner, clientSpec{})
	other, otherSecret := env.createClient(t, owner, clientSpec{})
	cc := url.Values{"grant_type": {"client_credentials"}}
	for i := range 100 {
		remote := fmt.Sprintf("10.9.%d.%d:1", i/200, i%200+1)
		// client_secret_post: the body's client_id is the key too.
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {"guess"}}
		if rec := env.from(remote, env.form("/v2/oauth/token", v, "", "")); rec.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i+1, rec.Code)
		}
	}
	const fresh = "192.0.2.200:1"
	wantOAuth429(t, env.from(fresh, env.form("/v2/oauth/token", cc, c.ID, secret)), 100)
	if rec := env.from(fresh, env.form("/v2/oauth/token", cc, other.ID, otherSecret)); rec.Code != http.StatusOK {
		t.Fatalf("another client from a fresh address: status %d: %s", rec.Code, rec.Body)
	}
}

// TestRefreshTokenBruteForce: a public client has no secret, so its
// refresh tokens are guessed by client_id alone; wrong refresh tokens
// (and wrong codes) from one address until 429, while the client's real
// refresh token still works from elsewhere.
func TestRefreshTokenBruteForce(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	f := newCodeFlow(t, env, clientSpec{})
	var tok wireToken
	if rec := f.redeem(t, f.code(t)); rec.Code != http.StatusOK {
		t.Fatalf("redeem: %d %s", rec.Code, rec.Body)
	} else {
		tok = decodeToken(t, rec)
	}
	const attacker = "203.0.113.50:1"
	// Malformed requests are not guesses and cost nothing.
	for _, v := range []url.Values{
		{"client_id": {f.client.ID}},
		{"grant_type": {"password"}, "client_id": {f.client.ID}},
		{"grant_type": {"refresh_token"}, "client_id": {f.client.ID}},
	} {
		for range 10 {
			if rec := env.from(attacker, env.form("/v2/oauth/token", v, "", "")); rec.Code != http.StatusBadRequest {
				t.Fatalf("malformed %v: status %d, want 400", v, rec.Code)
			}
		}
	}
	for i := range 20 {
		v := url.Values{"grant_type": {"refresh_token"}, "client_id": {f.client.ID}, "refresh_token": {token.PrefixRefreshToken + strconv.Itoa(i)}}
		if i%2 == 1 {
			v = url.Values{"grant_type": {"authorization_code"}, "client_id": {f.client.ID}, "code": {token.PrefixAuthCode + strconv.Itoa(i)},
				"redirect_uri": {f.client.RedirectURIs[0]}, "code_verifier": {testVerifier}}
		}
		rec := env.from(attacker, env.form("/v2/oauth/token", v, "", ""))
		if rec.Code != http.StatusBadRequest || decodeJSON(t, rec.Body.Bytes())["error"] != "invalid_grant" {
			t.Fatalf("guess %d: status %d %s, want 400 invalid_grant", i+1, rec.Code, rec.Body)
		}
	}
	v := url.Values{"grant_type": {"refresh_token"}, "client_id": {f.client.ID}, "refresh_token": {tok.RefreshToken}}
	wantOAuth429(t, env.from(attacker, env.form("/v2/oauth/token", v, "", "")), 20)
	if rec := env.from("198.51.100.1:1", env.form("/v2/oauth/token", v, "", "")); rec.Code != http.StatusOK {
		t.Fatalf("the real refresh token from another address: %d %s", rec.Code, rec.Body)
	}
}

// decodeToken decodes a token answer.
func decodeToken(t *testing.T, rec *httptest.ResponseRecorder) wireToken {
	t.Helper()
	m := decodeJSON(t, rec.Body.Bytes())
	rt, _ := m["refresh_token"].(string)
	at, _ := m["access_token"].(string)
	return wireToken{AccessToken: at, RefreshToken: rt}
}

// TestIntrospectionBruteForce: wrong secrets at introspection until 429;
// an authenticated resource server asking about dead tokens is not
// guessing and is never limited.
func TestIntrospectionBruteForce(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer))
	rs, secret := env.createClient(t, env.createUser(t, "rs@example.com"), clientSpec{})
	const addr = "203.0.113.77:1"
	for i := range 50 {
		rec := env.from(addr, env.form("/v2/oauth/introspect", url.Values{"token": {"grantd_rt_dead" + strconv.Itoa(i)}}, rs.ID, secret))
		if rec.Code != http.StatusOK || rec.Body.String() != `{"active":false}` {
			t.Fatalf("dead token %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	for i := range 20 {
		if rec := env.from(addr, env.form("/v2/oauth/introspect", url.Values{"token": {"x"}}, rs.ID, "guess")); rec.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i+1, rec.Code)
		}
	}
	wantOAuth429(t, env.from(addr, env.form("/v2/oauth/introspect", url.Values{"token": {"x"}}, rs.ID, secret)), 20)
}

// TestAPIKeyBruteForce: wrong API keys from one address until 429, on the
// management API; the limit then holds wherever an API key is checked
// (authorize, consent, registration), each answering in its own format;
// the right key from another address works, and successes cost nothing.
func TestAPIKeyBruteForce(t *testing.T) {
	t.Parallel()
	env, cs := newCountingEnv(t)
	u := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, u)
	c, _ := codeFlowClient(t, env, u)
	const attacker, other = "[2001:db8:5:6::1]:1", "192.0.2.10:1"
	list := func(remote, k string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", env.URL+"/v2/oauth_clients", nil)
		r.Header.Set("Authorization", "Bearer "+k)
		return env.from(remote, r)
	}
	for i := range 50 {
		if rec := list(attacker, key); rec.Code != http.StatusOK {
			t.Fatalf("success %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	for i := range 20 {
		// Another address of the same /64 is the same attacker.
		remote := fmt.Sprintf("[2001:db8:5:6::%x]:1", i+2)
		wantAPIError(t, list(remote, token.PrefixAPIKey+"guess"+strconv.Itoa(i)), 401, "10009", "")
	}
	before := cs.getAPIKey.Load()
	rec := list(attacker, key)
	wantAPIError(t, rec, 429, "10011", "")
	want429(t, rec, 20)

	// Everywhere else an API key is checked.
	r := httptest.NewRequest("GET", env.URL+authorizePath(c), nil)
	r.Header.Set("Authorization", "Bearer "+key)
	rec = env.from(attacker, r)
	want429(t, rec, 20)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(rec.Body.String(), "Too many") {
		t.Errorf("authorize: Content-Type %q, body %s; want the HTML error page", ct, rec.Body)
	}
	r = httptest.NewRequest("GET", env.URL+"/v2/oauth/consent/grantd_consent_x", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	rec = env.from(attacker, r)
	wantAPIError(t, rec, 429, "10011", "")
	if n := cs.getAPIKey.Load() - before; n != 0 {
		t.Errorf("refused requests looked the key up %d times, want 0", n)
	}

	if rec := list(other, key); rec.Code != http.StatusOK {
		t.Fatalf("the right key from another address: %d %s", rec.Code, rec.Body)
	}
}

// TestRegistrationAPIKeyBruteForce: under the api_key policy the
// registration endpoint checks API keys too, and answers the limit in
// RFC 6749 form.
func TestRegistrationAPIKeyBruteForce(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, withIssuer(goldenIssuer), withConfig(func(c *oauth.Config) { c.Registration = oauth.RegistrationAPIKey }))
	key := env.createAPIKey(t, env.createUser(t, "alice@example.com"))
	reg := func(k string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", env.URL+"/v2/oauth/register", strings.NewReader(`{"redirect_uris":["https://app.example/cb"]}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+k)
		return env.from("203.0.113.3:1", r)
	}
	for i := range 20 {
		if rec := reg(token.PrefixAPIKey + "guess" + strconv.Itoa(i)); rec.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	wantOAuth429(t, reg(key), 20)
}

// TestConsentTokenBruteForce: consent tokens that cannot be used, from one
// address, until 429, through the consent API and the grant decision
// together; a good token from another address still works.
func TestConsentTokenBruteForce(t *testing.T) {
	t.Parallel()
	env, cs := newCountingEnv(t)
	u := env.createUser(t, "alice@example.com")
	key := env.createAPIKey(t, u)
	c, _ := codeFlowClient(t, env, u)
	good := consentFor(t, env, key, c)
	const attacker, other = "203.0.113.99:1", "198.51.100.99:1"
	get := func(remote, tok string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", env.URL+"/v2/oauth/consent/"+url.PathEscape(tok), nil)
		r.Header.Set("Authorization", "Bearer "+key)
		return env.from(remote, r)
	}
	decideFrom := func(remote, tok string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", env.URL+"/v2/oauth/grants", strings.NewReader(decisionBody(true, tok)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+key)
		return env.from(remote, r)
	}
	for i := range 30 {
		if rec := get(attacker, good); rec.Code != http.StatusOK {
			t.Fatalf("reading a good token, time %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	for i := range 20 {
		guess := token.PrefixConsentToken + strconv.Itoa(i)
		var rec *httptest.ResponseRecorder
		if i%2 == 0 {
			rec = get(attacker, guess)
		} else {
			rec = decideFrom(attacker, guess)
		}
		wantAPIError(t, rec, 422, "10027", "/consent_token")
	}
	before := cs.getConsent.Load()
	rec := get(attacker, good)
	wantAPIError(t, rec, 429, "10011", "")
	want429(t, rec, 20)
	rec = decideFrom(attacker, good)
	wantAPIError(t, rec, 429, "10011", "")
	if n := cs.getConsent.Load() - before; n != 0 {
		t.Errorf("refused requests looked the consent up %d times, want 0", n)
	}
	if rec := decideFrom(other, good); rec.Code != http.StatusOK {
		t.Fatalf("the good token from another address: %d %s", rec.Code, rec.Body)
	}
}
