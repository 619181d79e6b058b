package oauth

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/testenv"
	"github.com/grantd/grantd/internal/token"
)

const flowIssuer = "https://auth.example"

// flowEnv is a Provider on a real store (SQLite unless newFlowEnvOn is
// given another) with a fake clock and a real key ring.
type flowEnv struct {
	p     *Provider
	st    grantd.Store
	keys  *token.Keyring
	clock *testenv.Clock
}

var flowScopes = []grantd.Scope{
	{ID: "admin", Name: "Administer your account", Description: "Everything the API can do."},
	{ID: "read", Name: "Read your data", Description: "See your numbers and messages."},
	{ID: "write", Name: "Change your data", Description: "Send messages and change settings."},
	{ID: "billing", Name: "Billing", Description: "See invoices."},
}

func newFlowEnv(t *testing.T, mod ...func(*Config)) *flowEnv {
	t.Helper()
	st, _ := testenv.Store(t)
	return newFlowEnvOn(t, st, mod...)
}

// newFlowEnvOn builds the engine on st.
func newFlowEnvOn(t *testing.T, st grantd.Store, mod ...func(*Config)) *flowEnv {
	t.Helper()
	cat := testenv.Catalog(t, flowScopes)
	clock := testenv.NewClock()
	cfg := Config{Issuer: flowIssuer, Resources: []string{"https://api.example/v1"}}
	for _, m := range mod {
		m(&cfg)
	}
	keys := testenv.Keyring(t, st, "", clock.Now, cfg.WithDefaults().AccessTokenTTL)
	p, err := NewProvider(Deps{Config: cfg, Store: st, Keys: keys, Catalog: cat, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &flowEnv{p: p, st: st, keys: keys, clock: clock}
}

func (e *flowEnv) user(t *testing.T, email string) string {
	t.Helper()
	return testenv.User(t, e.st, email, "", e.clock.Now()).ID
}

// client registers a client: by default a confidential web app that may
// use the code flow for read and write, with two redirect URIs.
func (e *flowEnv) client(t *testing.T, mod ...func(*grantd.Client)) grantd.Client {
	t.Helper()
	now := e.clock.Now()
	c := grantd.Client{
		ID:           token.NewID(),
		Name:         "Acme Dialer",
		Type:         grantd.ClientConfidential,
		GrantTypes:   []string{grantd.GrantAuthorizationCode, grantd.GrantRefreshToken},
		Scopes:       []string{"read", "write"},
		RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1/cb"},
		SecretHash:   token.Hash("secret"),
		LogoURI:      "https://app.example/logo.png",
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	for _, m := range mod {
		m(&c)
	}
	if err := e.st.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func public(c *grantd.Client) {
	c.Type = grantd.ClientPublic
	c.SecretHash = ""
}

// challenge is a valid S256 code_challenge.
var challenge = S256(strings.Repeat("v", 43))

// authzQuery is a good request for the client, changed by kv pairs: a
// value "-" deletes the parameter.
func authzQuery(c grantd.Client, kv ...string) url.Values {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ID},
		"redirect_uri":          {"https://app.example/cb"},
		"scope":                 {"read"},
		"state":                 {"st-123"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "-" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}

// answerParams checks that a redirect goes to base and answers its query.
func answerParams(t *testing.T, redirect, base string) url.Values {
	t.Helper()
	if !strings.HasPrefix(redirect, base+"?") && !strings.HasPrefix(redirect, base+"&") {
		t.Fatalf("redirect = %q, want it at %q", redirect, base)
	}
	u, err := url.Parse(redirect)
	if err != nil {
		t.Fatal(err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range q {
		if len(vs) != 1 {
			t.Errorf("answer repeats %s: %q", k, vs)
		}
	}
	return q
}

// consentToken answers the consent token of a redirect to the consent page.
func consentToken(t *testing.T, e *flowEnv, redirect string) string {
	t.Helper()
	q := answerParams(t, redirect, e.p.Config().ConsentURL)
	tok := q.Get("consent_token")
	if !strings.HasPrefix(tok, token.PrefixConsentToken) {
		t.Fatalf("redirect %q has no consent token", redirect)
	}
	return tok
}

func mustAuthorize(t *testing.T, e *flowEnv, userID string, q url.Values) AuthorizeResult {
	t.Helper()
	res, err := e.p.Authorize(context.Background(), userID, q)
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	return res
}

func TestAuthorizeErrorPage(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	c := e.client(t)
	ccOnly := e.client(t, func(c *grantd.Client) {
		c.GrantTypes = []string{grantd.GrantClientCredentials}
		c.RedirectURIs = nil
	})
	alice := e.user(t, "alice@example.com")

	tests := []struct {
		name string
		q    url.Values
		want grantd.Code
	}{
		{"no client_id", authzQuery(c, "client_id", "-"), grantd.CodeInvalidRequest},
		{"empty client_id", authzQuery(c, "client_id", ""), grantd.CodeInvalidRequest},
		{"repeated client_id", func() url.Values { q := authzQuery(c); q.Add("client_id", c.ID); return q }(), grantd.CodeInvalidRequest},
		{"overlong client_id", authzQuery(c, "client_id", strings.Repeat("a", 300)), grantd.CodeInvalidRequest},
		{"unknown client", authzQuery(c, "client_id", "nosuchclient"), grantd.CodeNotFound},
		{"client without the code flow", authzQuery(ccOnly), grantd.CodeValidation},
		{"no redirect_uri with two registered", authzQuery(c, "redirect_uri", "-"), grantd.CodeInvalidRequest},
		{"empty redirect_uri with two registered", authzQuery(c, "redirect_uri", ""), grantd.CodeInvalidRequest},
		{"repeated redirect_uri", func() url.Values { q := authzQuery(c); q.Add("redirect_uri", "https://app.example/cb"); return q }(), grantd.CodeInvalidRequest},
		{"overlong redirect_uri", authzQuery(c, "redirect_uri", "https://app.example/cb?"+strings.Repeat("a", 2000)), grantd.CodeInvalidRequest},
		{"unregistered redirect_uri", authzQuery(c, "redirect_uri", "https://evil.example/cb"), grantd.CodeValidation},
		{"relative redirect_uri", authzQuery(c, "redirect_uri", "/cb"), grantd.CodeInvalidRequest},
		{"unparsable redirect_uri", authzQuery(c, "redirect_uri", "https://app.example:port/cb"), grantd.CodeInvalidRequest},
		// Errors about the client come before anything else, however
		// bad the rest of the request is.
		{"bad client and bad response_type", authzQuery(c, "client_id", "nosuchclient", "response_type", "token"), grantd.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, user := range []string{"", alice} {
				res, err := e.p.Authorize(context.Background(), user, tt.q)
				if err == nil {
					t.Fatalf("Authorize answered %+v, want an error page", res)
				}
				if got := grantd.ErrorCode(err); got != tt.want {
					t.Errorf("code = %s, want %s (%v)", got, tt.want, err)
				}
			}
		})
	}
}

// TestAuthorizeOpenRedirect tries redirect URIs that look like a
// registered one; each must be refused with a page, never followed.
func TestAuthorizeOpenRedirect(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	c := e.client(t)
	for _, uri := range []string{
		"https://app.example/cb/",
		"https://app.example/cb/extra",
		"https://app.example/other",
		"https://app.example/cb?x=1",
		"https://app.example/cb?",
		"https://app.example/cb#frag",
		"https://app.example/cb#",
		"https://app.example@evil.example/cb",
		"https://app.example:443@evil.example/cb",
		"https://evil.example/cb",
		"https://app.example.evil.example/cb",
		"https://app%2Eexample/cb",
		"https://app.example%2F@evil.example/cb",
		"https://APP.example/cb",
		"http://app.example/cb",
		"https://app.example:8443/cb",
		"https://app.example/CB",
		"https://app.example/cb%2F..%2Fx",
		"https://app.example/./cb",
		"//app.example/cb",
		"/cb",
		" https://app.example/cb",
		"https://app.example/cb ",
		"HTTPS://app.example/cb",
		// Loopback: only the port may differ.
		"http://localhost/cb",
		"http://localhost:5000/cb",
		"http://127.0.0.2:5000/cb",
		"http://[::1]:5000/cb",
		"https://127.0.0.1/cb",
		"http://127.0.0.1:5000/cb/",
		"http://127.0.0.1:5000/cb/../x",
		"http://127.0.0.1:5000/cb?x=1",
		"http://127.0.0.1:5000/cb#",
		"http://127.0.0.1:5000/cb#x",
		"http://127.0.0.1:5000@evil.example/cb",
		"http://user@127.0.0.1:5000/cb",
	} {
		t.Run(uri, func(t *testing.T) {
			res, err := e.p.Authorize(context.Background(), "", authzQuery(c, "redirect_uri", uri))
			if err == nil {
				t.Fatalf("Authorize answered %+v, want an error page", res)
			}
			// A URI that is not absolute is a malformed request (400); an
			// absolute one that is not registered is 422 (SPEC §6).
			want := grantd.CodeValidation
			if u, err := url.Parse(uri); err != nil || !u.IsAbs() {
				want = grantd.CodeInvalidRequest
			}
			if got := grantd.ErrorCode(err); got != want {
				t.Errorf("code = %s, want %s", got, want)
			}
		})
	}
}

func TestAuthorizeRedirectURIChoice(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	alice := e.user(t, "alice@example.com")
	c := e.client(t)
	one := e.client(t, func(c *grantd.Client) { c.RedirectURIs = []string{"https://one.example/cb?tenant=7"} })

	// A loopback redirect may use any port (RFC 8252 §7.3); the answer
	// goes to the port the request named.
	res := mustAuthorize(t, e, alice, authzQuery(c, "redirect_uri", "http://127.0.0.1:53123/cb", "prompt", "none"))
	q := answerParams(t, res.Redirect, "http://127.0.0.1:53123/cb")
	if q.Get("error") != "consent_required" {
		t.Errorf("answer = %v, want consent_required", q)
	}

	// With one registered URI, redirect_uri may be omitted; the answer
	// keeps the registered URI's own query.
	res = mustAuthorize(t, e, alice, authzQuery(one, "redirect_uri", "-", "prompt", "none"))
	q = answerParams(t, res.Redirect, "https://one.example/cb?tenant=7")
	if q.Get("tenant") != "7" || q.Get("error") != "consent_required" || q.Get("iss") != flowIssuer {
		t.Errorf("answer = %v", q)
	}
}

func TestAuthorizeErrorRedirect(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	alice := e.user(t, "alice@example.com")
	conf := e.client(t)
	pub := e.client(t, public)
	strict := e.client(t, func(c *grantd.Client) { c.RequirePKCE = true })
	noCodeResponse := e.client(t, func(c *grantd.Client) { c.Registered = true; c.ResponseTypes = []string{"none"} })
	repeat := func(c grantd.Client, k, v string) url.Values { q := authzQuery(c); q.Add(k, v); return q }

	tests := []struct {
		name      string
		q         url.Values
		want      string
		wantState string // "" means the answer must not carry state
	}{
		{"no response_type", authzQuery(conf, "response_type", "-"), "invalid_request", "st-123"},
		{"response_type token", authzQuery(conf, "response_type", "token"), "unsupported_response_type", "st-123"},
		{"response_type code id_token", authzQuery(conf, "response_type", "code id_token"), "unsupported_response_type", "st-123"},
		{"repeated response_type", repeat(conf, "response_type", "code"), "invalid_request", "st-123"},
		{"code response type not registered", authzQuery(noCodeResponse), "unauthorized_client", "st-123"},
		{"repeated state", repeat(conf, "state", "other"), "invalid_request", ""},
		{"overlong state", authzQuery(conf, "state", strings.Repeat("s", 2049)), "invalid_request", ""},
		{"invalid UTF-8", authzQuery(conf, "scope", "read\xff"), "invalid_request", "st-123"},
		{"NUL byte", authzQuery(conf, "nonce", "a\x00b"), "invalid_request", "st-123"},
		{"response_mode fragment", authzQuery(conf, "response_mode", "fragment"), "invalid_request", "st-123"},
		{"scope not in catalog", authzQuery(conf, "scope", "read nosuch"), "invalid_scope", "st-123"},
		{"scope not allowed to the client", authzQuery(conf, "scope", "billing"), "invalid_scope", "st-123"},
		{"malformed scope", authzQuery(conf, "scope", `re"ad`), "invalid_scope", "st-123"},
		{"repeated scope", repeat(conf, "scope", "write"), "invalid_request", "st-123"},
		{"public client without PKCE", authzQuery(pub, "code_challenge", "-", "code_challenge_method", "-"), "invalid_request", "st-123"},
		{"require_pkce client without PKCE", authzQuery(strict, "code_challenge", "-", "code_challenge_method", "-"), "invalid_request", "st-123"},
		{"plain", authzQuery(conf, "code_challenge_method", "plain", "code_challenge", strings.Repeat("v", 43)), "invalid_request", "st-123"},
		{"challenge without method", authzQuery(pub, "code_challenge_method", "-"), "invalid_request", "st-123"},
		{"method without challenge", authzQuery(conf, "code_challenge", "-"), "invalid_request", "st-123"},
		{"lower-case s256", authzQuery(pub, "code_challenge_method", "s256"), "invalid_request", "st-123"},
		{"short challenge", authzQuery(pub, "code_challenge", challenge[:42]), "invalid_request", "st-123"},
		{"challenge not base64url", authzQuery(pub, "code_challenge", strings.Repeat("+", 43)), "invalid_request", "st-123"},
		{"repeated code_challenge", repeat(pub, "code_challenge", challenge), "invalid_request", "st-123"},
		{"unknown resource", authzQuery(conf, "resource", "https://other.example/"), "invalid_target", "st-123"},
		{"relative resource", authzQuery(conf, "resource", "/v2"), "invalid_target", "st-123"},
		{"two resources", func() url.Values {
			q := authzQuery(conf, "resource", flowIssuer)
			q.Add("resource", flowIssuer+"/v2")
			return q
		}(), "invalid_target", "st-123"},
		{"unknown prompt", authzQuery(conf, "prompt", "bogus"), "invalid_request", "st-123"},
		{"prompt none with consent", authzQuery(conf, "prompt", "none consent"), "invalid_request", "st-123"},
		{"prompt none needs consent", authzQuery(conf, "prompt", "none"), "consent_required", "st-123"},
		{"no state", authzQuery(conf, "state", "-", "response_type", "token"), "unsupported_response_type", ""},
		{"state echoed verbatim", authzQuery(conf, "state", "a b&c=d/é?#%", "response_type", "token"), "unsupported_response_type", "a b&c=d/é?#%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustAuthorize(t, e, alice, tt.q)
			q := answerParams(t, res.Redirect, "https://app.example/cb")
			if got := q.Get("error"); got != tt.want {
				t.Errorf("error = %q (%q), want %q", got, q.Get("error_description"), tt.want)
			}
			if q.Get("error_description") == "" {
				t.Error("no error_description")
			}
			if got := q.Get("iss"); got != flowIssuer {
				t.Errorf("iss = %q, want %q", got, flowIssuer)
			}
			if got, ok := q["state"]; (tt.wantState == "") != !ok || (ok && got[0] != tt.wantState) {
				t.Errorf("state = %q, want %q", got, tt.wantState)
			}
			if q.Has("code") {
				t.Error("an error answer carries a code")
			}
		})
	}
}

func TestAuthorizeLogin(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	c := e.client(t)
	res := mustAuthorize(t, e, "", authzQuery(c))
	if !res.Login || res.Redirect != "" {
		t.Errorf("Authorize = %+v, want Login", res)
	}
	// prompt=none must not show the sign-in page.
	res = mustAuthorize(t, e, "", authzQuery(c, "prompt", "none"))
	q := answerParams(t, res.Redirect, "https://app.example/cb")
	if q.Get("error") != "login_required" || q.Get("state") != "st-123" || q.Get("iss") != flowIssuer {
		t.Errorf("answer = %v, want login_required", q)
	}
	// A bad request is answered before anyone is asked to sign in.
	res = mustAuthorize(t, e, "", authzQuery(c, "scope", "billing"))
	if q := answerParams(t, res.Redirect, "https://app.example/cb"); q.Get("error") != "invalid_scope" {
		t.Errorf("answer = %v, want invalid_scope", q)
	}
}

func TestAuthorizeConsentRedirect(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t, func(c *Config) { c.ConsentURL = "https://portal.example/consent?lang=en" })
	alice := e.user(t, "alice@example.com")
	c := e.client(t)
	res := mustAuthorize(t, e, alice, authzQuery(c, "resource", "HTTPS://API.example:443/v1", "scope", "write read write"))
	if !strings.HasPrefix(res.Redirect, "https://portal.example/consent?lang=en&consent_token="+token.PrefixConsentToken) {
		t.Fatalf("redirect = %q", res.Redirect)
	}
	tok := consentToken(t, e, res.Redirect)
	got, err := e.st.GetConsent(context.Background(), token.Hash(tok))
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	want := grantd.Consent{
		Hash: token.Hash(tok), UserID: alice, ClientID: c.ID, RedirectURI: "https://app.example/cb",
		Scopes: []string{"write", "read"}, State: "st-123", CodeChallenge: challenge, CodeChallengeMethod: "S256",
		Resource: "https://api.example/v1", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute),
	}
	if got.Hash != want.Hash || got.UserID != want.UserID || got.ClientID != want.ClientID ||
		got.RedirectURI != want.RedirectURI || strings.Join(got.Scopes, " ") != strings.Join(want.Scopes, " ") ||
		got.State != want.State || got.CodeChallenge != want.CodeChallenge || got.CodeChallengeMethod != want.CodeChallengeMethod ||
		got.Resource != want.Resource || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || got.UsedAt != nil {
		t.Errorf("stored consent =\n%+v\nwant\n%+v", got, want)
	}

	// Without scope the request asks for everything the client may have.
	res = mustAuthorize(t, e, alice, authzQuery(c, "scope", "-"))
	v, err := e.p.ConsentDetails(context.Background(), alice, consentToken(t, e, res.Redirect))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.RequestedScopes) != 2 || v.RequestedScopes[0].ID != "read" || v.RequestedScopes[1].ID != "write" {
		t.Errorf("requested scopes = %+v, want read and write", v.RequestedScopes)
	}
}

// approve runs a request through consent and answers the code's redirect.
func approve(t *testing.T, e *flowEnv, userID string, q url.Values) string {
	t.Helper()
	res := mustAuthorize(t, e, userID, q)
	to, err := e.p.Decide(context.Background(), userID, consentToken(t, e, res.Redirect), true)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return to
}

func TestAuthorizeSkipsConsentWhenGranted(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")
	c := e.client(t)
	approve(t, e, alice, authzQuery(c, "scope", "read write"))
	before, err := e.st.GetGrantByUserClient(ctx, alice, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)

	for _, q := range []url.Values{
		authzQuery(c, "scope", "read"),
		authzQuery(c, "scope", "write read", "state", "-"),
		authzQuery(c, "scope", "-"),
		authzQuery(c, "prompt", "none"),
		authzQuery(c, "prompt", "login"),
	} {
		res := mustAuthorize(t, e, alice, q)
		a := answerParams(t, res.Redirect, "https://app.example/cb")
		if !strings.HasPrefix(a.Get("code"), token.PrefixAuthCode) || a.Get("iss") != flowIssuer || a.Get("state") != q.Get("state") || a.Has("error") {
			t.Errorf("%v: answer = %v, want a code", q, a)
		}
	}
	after, err := e.st.GetGrantByUserClient(ctx, alice, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !after.UpdatedAt.Equal(before.UpdatedAt) || after.LastUsedAt != nil {
		t.Errorf("issuing a code touched the grant: before %+v, after %+v", before, after)
	}

	// prompt=consent asks again; so does a wider scope.
	for _, q := range []url.Values{
		authzQuery(c, "prompt", "consent"),
		authzQuery(c, "prompt", "login consent"),
	} {
		consentToken(t, e, mustAuthorize(t, e, alice, q).Redirect)
	}
	other := e.client(t, func(c *grantd.Client) { c.Scopes = []string{"read", "write", "billing"} })
	approve(t, e, alice, authzQuery(other, "scope", "read"))
	consentToken(t, e, mustAuthorize(t, e, alice, authzQuery(other, "scope", "read billing")).Redirect)
	res := mustAuthorize(t, e, alice, authzQuery(other, "scope", "billing", "prompt", "none"))
	if a := answerParams(t, res.Redirect, "https://app.example/cb"); a.Get("error") != "consent_required" {
		t.Errorf("answer = %v, want consent_required", a)
	}

	// Another user's grant covers nothing for bob.
	bob := e.user(t, "bob@example.com")
	consentToken(t, e, mustAuthorize(t, e, bob, authzQuery(c)).Redirect)
}

func TestAuthorizeCodeIsBoundToTheRequest(t *testing.T) {
	t.Parallel()
	e := newFlowEnv(t)
	ctx := context.Background()
	alice := e.user(t, "alice@example.com")
	c := e.client(t)
	to := approve(t, e, alice, authzQuery(c, "redirect_uri", "http://127.0.0.1:4000/cb", "resource", "https://api.example/v1", "scope", "write"))
	a := answerParams(t, to, "http://127.0.0.1:4000/cb")
	g, err := e.st.GetGrantByUserClient(ctx, alice, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	var got grantd.AuthCode
	_, err = RedeemAuthCode(ctx, e.st, token.Hash(a.Get("code")), now, func(code grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		got = code
		return code, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ClientID != c.ID || got.UserID != alice || got.GrantID != g.ID || got.RedirectURI != "http://127.0.0.1:4000/cb" ||
		strings.Join(got.Scopes, " ") != "write" || got.Resource != "https://api.example/v1" || got.CodeChallenge != challenge ||
		!got.ExpiresAt.Equal(now.Add(60*time.Second)) {
		t.Errorf("code = %+v", got)
	}

	// Without redirect_uri (one registered) the code records none, so
	// that the token request need not send one (RFC 6749 §4.1.3).
	one := e.client(t, func(c *grantd.Client) { c.RedirectURIs = []string{"https://one.example/cb"} })
	to = approve(t, e, alice, authzQuery(one, "redirect_uri", "-"))
	a = answerParams(t, to, "https://one.example/cb")
	_, err = RedeemAuthCode(ctx, e.st, token.Hash(a.Get("code")), now, func(code grantd.AuthCode) (grantd.AuthCode, *grantd.RefreshToken, error) {
		got = code
		return code, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.RedirectURI != "" {
		t.Errorf("code redirect URI = %q, want none", got.RedirectURI)
	}
}
