package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/session"
	"github.com/grantd/grantd/internal/web"
)

const (
	email = "ada@example.com"
	pw    = "correct horse battery staple"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		email, pw  string
		wantStatus int
		wantText   string
	}{
		{"right password", email, pw, http.StatusSeeOther, ""},
		{"email in another case", "  ADA@Example.com ", pw, http.StatusSeeOther, ""},
		{"wrong password", email, "wrong", http.StatusBadRequest, "Incorrect email address or password."},
		{"unknown email", "nobody@example.com", pw, http.StatusBadRequest, "Incorrect email address or password."},
		{"user without a password", "nopw@example.com", "", http.StatusBadRequest, "Enter your email address and your password."},
		{"user without a password, any password", "nopw@example.com", "anything", http.StatusBadRequest, "Incorrect email address or password."},
		{"empty form", "", "", http.StatusBadRequest, "Enter your email address and your password."},
		{"overlong password", email, strings.Repeat("x", 5000), http.StatusBadRequest, "Incorrect email address or password."},
	}
	e := newEnv(t)
	e.user(t, email, pw)
	e.user(t, "nopw@example.com", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser(t)
			p := b.get(t, "/login")
			if p.StatusCode != http.StatusOK {
				t.Fatalf("GET /login: %d", p.StatusCode)
			}
			res := b.post(t, "/login", url.Values{"csrf_token": {csrfOf(t, p)}, "email": {tt.email}, "password": {tt.pw}})
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d\n%s", res.StatusCode, tt.wantStatus, res.Body)
			}
			if !strings.Contains(res.text(), tt.wantText) {
				t.Errorf("page does not say %q:\n%s", tt.wantText, res.text())
			}
			var sess *http.Cookie
			for _, c := range res.Cookies() {
				if c.Name == session.CookieName {
					sess = c
				}
			}
			if tt.wantStatus != http.StatusSeeOther {
				if sess != nil {
					t.Errorf("a failed sign-in set a session cookie")
				}
				return
			}
			if got := res.Header.Get("Location"); got != "/apps" {
				t.Errorf("Location %q, want /apps", got)
			}
			if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" {
				t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Lax, Path=/", sess)
			}
			if sess.Secure {
				t.Errorf("session cookie is Secure on an http issuer")
			}
			if got := b.get(t, "/apps"); got.StatusCode != http.StatusOK {
				t.Errorf("GET /apps after sign-in: %d", got.StatusCode)
			}
		})
	}
}

func TestLoginReturnTo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		returnTo string
		want     string
	}{
		{"", "/apps"},
		{"/", "/apps"},
		{"/developer", "/developer"},
		{"/v2/oauth/authorize?client_id=abc&state=x%20y", "/v2/oauth/authorize?client_id=abc&state=x%20y"},
		{"/consent?consent_token=grantd_consent_x", "/consent?consent_token=grantd_consent_x"},
		{"//evil.example/", "/apps"},
		{"///evil.example/", "/apps"},
		{"/\\evil.example/", "/apps"},
		{"\\\\evil.example/", "/apps"},
		{"/\t/evil.example/", "/apps"},
		{"/\n/evil.example/", "/apps"},
		{"https://evil.example/", "/apps"},
		{"http:evil.example", "/apps"},
		{"javascript:alert(1)", "/apps"},
		{"evil.example", "/apps"},
		{" /developer", "/apps"},
		{"/" + strings.Repeat("a", 9000), "/apps"},
	}
	e := newEnv(t)
	e.user(t, email, pw)
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.returnTo), func(t *testing.T) {
			b := e.browser(t)
			p := b.get(t, "/login?return_to="+url.QueryEscape(tt.returnTo))
			res := b.post(t, "/login", url.Values{
				"csrf_token": {csrfOf(t, p)}, "email": {email}, "password": {pw}, "return_to": {tt.returnTo},
			})
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", res.StatusCode)
			}
			if got := res.Header.Get("Location"); got != tt.want {
				t.Errorf("Location %q, want %q", got, tt.want)
			}
			// Already signed in, the sign-in page sends the browser on at once.
			again := b.get(t, "/login?return_to="+url.QueryEscape(tt.returnTo))
			if again.StatusCode != http.StatusSeeOther || again.Header.Get("Location") != tt.want {
				t.Errorf("signed in: GET /login answered %d to %q, want 303 to %q", again.StatusCode, again.Header.Get("Location"), tt.want)
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	t.Run("per email", func(t *testing.T) {
		e := newEnv(t)
		e.user(t, email, pw)
		b := e.browser(t)
		csrf := csrfOf(t, b.get(t, "/login"))
		try := func(pass string) page {
			return b.post(t, "/login", url.Values{"csrf_token": {csrf}, "email": {email}, "password": {pass}})
		}
		for i := range 10 {
			if res := try("wrong"); res.StatusCode != http.StatusBadRequest {
				t.Fatalf("attempt %d: status %d, want 400", i+1, res.StatusCode)
			}
		}
		res := try(pw) // even the right password waits
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("11th attempt: status %d, want 429", res.StatusCode)
		}
		if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
			t.Errorf("Retry-After %q, want 1 to 60 seconds", res.Header.Get("Retry-After"))
		}
		checkRateLimitFields(t, res, "10")
		if !strings.Contains(res.text(), "Too many attempts") {
			t.Errorf("429 page does not explain itself:\n%s", res.text())
		}
		// Other accounts are not locked out from this address.
		other := b.post(t, "/login", url.Values{"csrf_token": {csrf}, "email": {"other@example.com"}, "password": {"x"}})
		if other.StatusCode != http.StatusBadRequest {
			t.Errorf("another email: status %d, want 400", other.StatusCode)
		}
		e.Clock.Advance(time.Minute)
		if res := try(pw); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("a minute later: status %d, want 303", res.StatusCode)
		}
	})
	t.Run("per address", func(t *testing.T) {
		e := newEnv(t)
		e.user(t, email, pw)
		b := e.browser(t)
		csrf := csrfOf(t, b.get(t, "/login"))
		for i := range 20 {
			res := b.post(t, "/login", url.Values{"csrf_token": {csrf}, "email": {"guess" + strconv.Itoa(i) + "@example.com"}, "password": {"x"}})
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("attempt %d: status %d, want 400", i+1, res.StatusCode)
			}
		}
		res := b.post(t, "/login", url.Values{"csrf_token": {csrf}, "email": {email}, "password": {pw}})
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("21st attempt: status %d, Retry-After %q; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
		}
		checkRateLimitFields(t, res, "20")
	})
}

// checkRateLimitFields checks the fields SPEC §2 puts on every 429: the
// limit met, nothing left of it, and the wait that Retry-After gives.
func checkRateLimitFields(t *testing.T, res page, limit string) {
	t.Helper()
	h := res.Header
	if h.Get("RateLimit-Limit") != limit || h.Get("RateLimit-Remaining") != "0" || h.Get("RateLimit-Reset") != h.Get("Retry-After") {
		t.Errorf("RateLimit-Limit %q, -Remaining %q, -Reset %q (Retry-After %q); want %s, 0 and the Retry-After",
			h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"), h.Get("RateLimit-Reset"), h.Get("Retry-After"), limit)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, email, pw)
	b := e.browser(t)
	b.login(t, email, pw)
	apps := b.get(t, "/apps")
	u, _ := url.Parse(e.URL)
	var old *http.Cookie
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == session.CookieName {
			old = c
		}
	}
	res := b.post(t, "/logout", url.Values{"csrf_token": {csrfOf(t, apps)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d to %q, want 303 to /login", res.StatusCode, res.Header.Get("Location"))
	}
	cleared := false
	for _, c := range res.Cookies() {
		cleared = cleared || (c.Name == session.CookieName && c.MaxAge < 0)
	}
	if !cleared {
		t.Errorf("logout did not clear the session cookie")
	}
	// The session itself is gone, not just the cookie: replaying it fails.
	replay := e.browser(t)
	replay.c.Jar.SetCookies(u, []*http.Cookie{old})
	if p := replay.get(t, "/apps"); p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login") {
		t.Errorf("the old session cookie still works: %d %q", p.StatusCode, p.Header.Get("Location"))
	}
}

func TestHome(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, email, pw)
	b := e.browser(t)
	if p := b.get(t, "/"); p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/login" {
		t.Errorf("signed out: %d to %q, want 303 to /login", p.StatusCode, p.Header.Get("Location"))
	}
	b.login(t, email, pw)
	if p := b.get(t, "/"); p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/apps" {
		t.Errorf("signed in: %d to %q, want 303 to /apps", p.StatusCode, p.Header.Get("Location"))
	}
}

func TestSignedOutPagesRedirectToLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(t)
	for _, path := range []string{"/apps", "/developer", "/developer/new", "/developer/abc", "/developer/abc/delete", "/consent?consent_token=grantd_consent_x", "/apps?page=2"} {
		p := b.get(t, path)
		want := "/login?return_to=" + url.QueryEscape(path)
		if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 303 to %q", path, p.StatusCode, p.Header.Get("Location"), want)
		}
	}
}

// TestCSRF posts every form of the pages without its CSRF token and with
// a wrong one: each is a 403 page and changes nothing.
func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, email, pw)
	c, _ := e.client(t, u, "Acme Dashboard", "https://acme.example/callback")
	b := e.browser(t)
	b.login(t, email, pw)
	goodCSRF := csrfOf(t, b.get(t, "/apps"))
	ctx := context.Background()
	grant := func() grantd.Grant {
		tok := e.consentToken(t, u, c, "s")
		if _, err := e.Provider.Decide(ctx, u.ID, tok, true); err != nil {
			t.Fatal(err)
		}
		g, err := e.Store.GetGrantByUserClient(ctx, u.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	g := grant()

	type form struct {
		name   string
		path   string
		fields url.Values
		// unchanged fails the test if the refused post changed anything.
		unchanged func(t *testing.T)
	}
	clientUnchanged := func(t *testing.T) {
		got, err := e.Store.GetClient(ctx, c.ID)
		if err != nil || got.Name != "Acme Dashboard" {
			t.Errorf("client after refused post: %+v, %v", got, err)
		}
	}
	forms := []form{
		{"consent approve", "/consent", url.Values{"consent_token": {e.consentToken(t, u, c, "a")}, "allowed": {"true"}}, nil},
		{"consent deny", "/consent", url.Values{"consent_token": {e.consentToken(t, u, c, "d")}, "allowed": {"false"}}, nil},
		{"revoke", "/apps/" + g.ID + "/revoke", url.Values{}, func(t *testing.T) {
			if _, err := e.Store.GetGrant(ctx, g.ID); err != nil {
				t.Errorf("grant after refused revoke: %v", err)
			}
		}},
		{"create client", "/developer/new", url.Values{"name": {"Sneaky"}, "client_type": {"public"}, "allowed_scopes": {"admin"}, "allowed_grant_types": {"authorization_code"}, "redirect_uris": {"https://evil.example/cb"}}, func(t *testing.T) {
			_, n, err := e.Store.ListClients(ctx, grantd.ClientFilter{OwnerUserID: u.ID}, grantd.Page{Number: 1, Size: 20})
			if err != nil || n != 1 {
				t.Errorf("clients after refused create: %d, %v", n, err)
			}
		}},
		{"edit client", "/developer/" + c.ID, url.Values{"name": {"Renamed"}, "allowed_scopes": {"admin"}, "allowed_grant_types": {"authorization_code"}, "redirect_uris": {"https://evil.example/cb"}}, clientUnchanged},
		{"delete client", "/developer/" + c.ID + "/delete", url.Values{}, clientUnchanged},
		// Last: if it wrongly worked, every later post would be refused
		// for want of a session, whatever its token.
		{"sign out", "/logout", url.Values{}, func(t *testing.T) {
			if p := b.get(t, "/apps"); p.StatusCode != http.StatusOK {
				t.Errorf("signed out by a refused post: %d", p.StatusCode)
			}
		}},
	}
	for _, f := range forms {
		for _, csrf := range []struct {
			name   string
			value  []string
			origin string
		}{
			{"missing", nil, ""},
			{"empty", []string{""}, ""},
			{"wrong", []string{goodCSRF[:len(goodCSRF)-1] + "x"}, ""},
			{"right token from another origin", []string{goodCSRF}, "https://evil.example"},
		} {
			t.Run(f.name+"/"+csrf.name, func(t *testing.T) {
				fields := url.Values{}
				for k, v := range f.fields {
					fields[k] = v
				}
				if csrf.value != nil {
					fields["csrf_token"] = csrf.value
				}
				req, _ := http.NewRequest("POST", e.URL+f.path, strings.NewReader(fields.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if csrf.origin != "" {
					req.Header.Set("Origin", csrf.origin)
				}
				res := b.do(t, req)
				if res.StatusCode != http.StatusForbidden || !strings.Contains(res.text(), "This form has expired") {
					t.Fatalf("status %d, want 403 for the token\n%s", res.StatusCode, res.text())
				}
				if !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
					t.Errorf("Content-Type %q, want a page", res.Header.Get("Content-Type"))
				}
				if f.unchanged != nil {
					f.unchanged(t)
				}
			})
		}
	}
	// The consent tokens of refused decisions are still good: the refusal
	// came before Decide.
	p := b.post(t, "/consent", url.Values{"csrf_token": {goodCSRF}, "consent_token": {forms[0].fields.Get("consent_token")}, "allowed": {"true"}})
	if p.StatusCode != http.StatusSeeOther {
		t.Errorf("approve with the right token after refusals: %d\n%s", p.StatusCode, p.text())
	}
}

func TestLoginCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, email, pw)
	tests := []struct {
		name   string
		cookie bool   // send the pre-session cookie the sign-in page set
		field  string // "" omits the field; "good" is the page's token
		origin string
	}{
		{"no cookie, no field", false, "", ""},
		{"cookie, no field", true, "", ""},
		{"field without cookie", false, "good", ""},
		{"wrong field", true, "0123456789012345678901234567890123456789abc", ""},
		{"another origin", true, "good", "https://evil.example"},
		{"null origin", true, "good", "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser(t)
			login := b.get(t, "/login")
			form := url.Values{"email": {email}, "password": {pw}}
			switch tt.field {
			case "good":
				form.Set("csrf_token", csrfOf(t, login))
			case "":
			default:
				form.Set("csrf_token", tt.field)
			}
			if !tt.cookie {
				b = e.browser(t)
			}
			req, _ := http.NewRequest("POST", e.URL+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			res := b.do(t, req)
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", res.StatusCode)
			}
			for _, c := range res.Cookies() {
				if c.Name == session.CookieName && c.MaxAge >= 0 {
					t.Errorf("a refused sign-in set a session cookie")
				}
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, email, pw)
	c, _ := e.client(t, u, "Acme Dashboard", "https://acme.example/callback")
	tok := e.consentToken(t, u, c, "s")
	b := e.browser(t)
	b.login(t, email, pw)
	paths := []string{"/apps", "/developer", "/developer/new", "/developer/" + c.ID, "/developer/" + c.ID + "/delete", "/consent?consent_token=" + tok, "/apps/x", "/developer/x/y/z", "/static/grantd.css", "/static/nope.css"}
	signedOut := e.browser(t)
	for _, path := range append(paths, "signed out /login?return_to=%2Fapps") {
		t.Run(path, func(t *testing.T) {
			var p page
			if rest, ok := strings.CutPrefix(path, "signed out "); ok {
				p = signedOut.get(t, rest)
			} else {
				p = b.get(t, path)
			}
			h := p.Header
			for name, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
				"Referrer-Policy":        "same-origin",
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "img-src 'self' https: data:", "frame-ancestors 'none'", "form-action 'self'", "object-src 'none'", "base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP allows inline code: %q", csp)
			}
			if strings.HasPrefix(h.Get("Content-Type"), "text/html") && p.StatusCode != http.StatusSeeOther && h.Get("Cache-Control") != "no-store" {
				t.Errorf("page Cache-Control %q, want no-store", h.Get("Cache-Control"))
			}
		})
	}
}

func TestStaticAndErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(t)
	tests := []struct {
		method, path string
		wantStatus   int
		wantType     string
		wantAllow    string
	}{
		{"GET", "/static/grantd.css", 200, "text/css; charset=utf-8", ""},
		{"HEAD", "/static/grantd.css", 200, "text/css; charset=utf-8", ""},
		{"GET", "/static/icon.svg", 200, "image/svg+xml", ""},
		{"GET", "/static/missing.js", 404, "text/html; charset=utf-8", ""},
		{"GET", "/static/", 404, "text/html; charset=utf-8", ""},
		{"DELETE", "/login", 405, "text/html; charset=utf-8", "GET, HEAD, POST"},
		{"GET", "/logout", 405, "text/html; charset=utf-8", "POST"},
		{"PUT", "/consent", 405, "text/html; charset=utf-8", "GET, HEAD, POST"},
		{"GET", "/apps/x/revoke", 405, "text/html; charset=utf-8", "POST"},
		{"GET", "/developer/a/b/c", 404, "text/html; charset=utf-8", ""},
		{"POST", "/", 405, "text/html; charset=utf-8", "GET, HEAD"},
		// The API keeps its own answers around the pages.
		{"GET", "/v2/nope", 404, "application/json", ""},
		{"GET", "/loginx", 404, "application/json", ""},
		{"GET", "/healthz", 200, "application/json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.URL+tt.path, nil)
			p := b.do(t, req)
			if p.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", p.StatusCode, tt.wantStatus)
			}
			if got := p.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type %q, want %q", got, tt.wantType)
			}
			if got := p.Header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow %q, want %q", got, tt.wantAllow)
			}
		})
	}
	// A stylesheet link with the right version may be cached for good.
	login := b.get(t, "/login")
	i := strings.Index(login.Body, `/static/grantd.css?v=`)
	if i < 0 {
		t.Fatal("the sign-in page links no versioned stylesheet")
	}
	href := login.Body[i : i+strings.IndexByte(login.Body[i:], '"')]
	if got := b.get(t, href).Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
		t.Errorf("versioned stylesheet Cache-Control %q, want immutable", got)
	}
}

func TestBadForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, email, pw)
	b := e.browser(t)
	csrf := csrfOf(t, b.get(t, "/login"))
	tests := []struct {
		name        string
		contentType string
		body        string
		want        int
	}{
		{"JSON", "application/json", `{"email":"a"}`, http.StatusUnsupportedMediaType},
		{"no content type", "", "email=a", http.StatusUnsupportedMediaType},
		{"invalid UTF-8", "application/x-www-form-urlencoded", "csrf_token=" + csrf + "&email=%ff%fe&password=x", http.StatusBadRequest},
		{"malformed encoding", "application/x-www-form-urlencoded", "csrf_token=" + csrf + "&email=%zz", http.StatusBadRequest},
		{"too large", "application/x-www-form-urlencoded", "csrf_token=" + csrf + "&password=" + strings.Repeat("x", 70<<10), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.URL+"/login", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			p := b.do(t, req)
			if p.StatusCode != tt.want {
				t.Errorf("status %d, want %d\n%s", p.StatusCode, tt.want, p.text())
			}
			if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
				t.Errorf("Content-Type %q, want a page", p.Header.Get("Content-Type"))
			}
		})
	}
}

func TestConsentPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, email, pw)
	c, _ := e.client(t, u, "Acme Dashboard", "https://app.acme.example/oauth/callback")
	b := e.browser(t)
	b.login(t, email, pw)

	tok := e.consentToken(t, u, c, "s1")
	p := b.get(t, "/consent?consent_token="+url.QueryEscape(tok))
	if p.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", p.StatusCode, p.text())
	}
	text := p.text()
	for _, want := range []string{
		"Acme Dashboard wants to use your account",
		"Unverified app",
		"you will be sent to app.acme.example",
		"Read your messages See the messages you sent and received.",
		"Send messages Send messages in your name.",
		"Deny Allow",
		"Signed in as " + email,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("consent page lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Administer your account") {
		t.Errorf("consent page shows a scope that was not requested")
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.acme.example;") {
		t.Errorf("CSP %q does not let the decision go to the client", csp)
	}

	// A verified client with a logo and links.
	ctx := context.Background()
	_, err := e.Store.UpdateClient(ctx, c.ID, func(c grantd.Client) (grantd.Client, error) {
		c.Verified, c.LogoURI, c.TosURI, c.PolicyURI = true, "https://acme.example/logo.png", "https://acme.example/tos", "https://acme.example/privacy"
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p = b.get(t, "/consent?consent_token="+url.QueryEscape(tok))
	for _, want := range []string{`src="https://acme.example/logo.png"`, `href="https://acme.example/tos"`, `href="https://acme.example/privacy"`, "Verified app"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("verified consent page lacks %s", want)
		}
	}
	if strings.Contains(p.Body, "Unverified") {
		t.Errorf("verified client shown as unverified")
	}

	// Requests that cannot be used get a clear 4xx page.
	other := e.user(t, "bob@example.com", pw)
	otherTok := e.consentToken(t, other, c, "s2")
	for _, tt := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusBadRequest},
		{"garbage", "grantd_consent_nope", http.StatusUnprocessableEntity},
		{"another user's", otherTok, http.StatusUnprocessableEntity},
		{"overlong", strings.Repeat("x", 5000), http.StatusUnprocessableEntity},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := b.get(t, "/consent?consent_token="+url.QueryEscape(tt.token))
			if p.StatusCode != tt.want {
				t.Errorf("status %d, want %d", p.StatusCode, tt.want)
			}
			if strings.Contains(p.Body, "Acme Dashboard") {
				t.Errorf("the page shows the client of a token it refuses")
			}
		})
	}
	e.Clock.Advance(11 * time.Minute)
	p = b.get(t, "/consent?consent_token="+url.QueryEscape(tok))
	if p.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(p.text(), "expired") {
		t.Errorf("expired token: %d\n%s", p.StatusCode, p.text())
	}
}

func TestConsentDecide(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, email, pw)
	c, _ := e.client(t, u, "Acme Dashboard", "https://app.acme.example/cb?tenant=1")
	b := e.browser(t)
	b.login(t, email, pw)
	csrf := csrfOf(t, b.get(t, "/apps"))

	for _, tt := range []struct {
		allowed   string
		wantParam string
		wantValue string
	}{
		{"true", "code", ""},
		{"false", "error", "access_denied"},
	} {
		t.Run("allowed="+tt.allowed, func(t *testing.T) {
			tok := e.consentToken(t, u, c, "st-"+tt.allowed)
			p := b.post(t, "/consent", url.Values{"csrf_token": {csrf}, "consent_token": {tok}, "allowed": {tt.allowed}})
			if p.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d\n%s", p.StatusCode, p.text())
			}
			loc, err := url.Parse(p.Header.Get("Location"))
			if err != nil || loc.Host != "app.acme.example" || loc.Path != "/cb" {
				t.Fatalf("Location %q, want the client's redirect URI", p.Header.Get("Location"))
			}
			q := loc.Query()
			if q.Get(tt.wantParam) == "" || (tt.wantValue != "" && q.Get(tt.wantParam) != tt.wantValue) {
				t.Errorf("%s=%q, want %q", tt.wantParam, q.Get(tt.wantParam), tt.wantValue)
			}
			if q.Get("state") != "st-"+tt.allowed || q.Get("iss") != e.URL || q.Get("tenant") != "1" {
				t.Errorf("state=%q iss=%q tenant=%q", q.Get("state"), q.Get("iss"), q.Get("tenant"))
			}
			if p.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", p.Header.Get("Cache-Control"))
			}
			// Single use.
			again := b.post(t, "/consent", url.Values{"csrf_token": {csrf}, "consent_token": {tok}, "allowed": {tt.allowed}})
			if again.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(again.text(), "already been used") {
				t.Errorf("second decision: %d\n%s", again.StatusCode, again.text())
			}
		})
	}
	tok := e.consentToken(t, u, c, "x")
	for _, v := range []string{"", "yes", "TRUE"} {
		if p := b.post(t, "/consent", url.Values{"csrf_token": {csrf}, "consent_token": {tok}, "allowed": {v}}); p.StatusCode != http.StatusBadRequest {
			t.Errorf("allowed=%q: %d, want 400", v, p.StatusCode)
		}
	}
	// Signed out meanwhile: a page that says so, and nothing decided.
	signedOut := e.browser(t)
	p := signedOut.post(t, "/consent", url.Values{"csrf_token": {csrf}, "consent_token": {tok}, "allowed": {"true"}})
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.text(), "signed out") {
		t.Errorf("signed out: %d\n%s", p.StatusCode, p.text())
	}
	if p := b.post(t, "/consent", url.Values{"csrf_token": {csrf}, "consent_token": {tok}, "allowed": {"false"}}); p.StatusCode != http.StatusSeeOther {
		t.Errorf("the token was spent by refused posts: %d", p.StatusCode)
	}
}

// TestConsentTokenLimit performs the guessing attack on consent tokens
// through the consent page and the consent API together: after 20 tokens
// that cannot be used, from one address, the page answers 429 before
// looking a token up, even a good one; looking at a good token costs
// nothing.
func TestConsentTokenLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, email, pw)
	c, _ := e.client(t, u, "Acme Dashboard", "https://app.acme.example/cb")
	b := e.browser(t)
	b.login(t, email, pw)
	csrf := csrfOf(t, b.get(t, "/apps"))
	tok := e.consentToken(t, u, c, "s")
	for i := range 30 {
		if p := b.get(t, "/consent?consent_token="+url.QueryEscape(tok)); p.StatusCode != http.StatusOK {
			t.Fatalf("showing a good token, time %d: status %d", i+1, p.StatusCode)
		}
	}
	for i := range 20 {
		guess := "grantd_consent_guess" + strconv.Itoa(i)
		var p page
		switch i % 3 {
		case 0:
			p = b.get(t, "/consent?consent_token="+guess)
		case 1:
			p = b.post(t, "/consent", url.Values{"csrf_token": {csrf}, "consent_token": {guess}, "allowed": {"true"}})
		case 2:
			// The JSON API, with the same session: one count.
			p = b.get(t, "/v2/oauth/consent/"+guess)
		}
		if p.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("guess %d: status %d, want 422", i+1, p.StatusCode)
		}
	}
	for _, p := range []page{
		b.get(t, "/consent?consent_token="+url.QueryEscape(tok)),
		b.post(t, "/consent", url.Values{"csrf_token": {csrf}, "consent_token": {tok}, "allowed": {"true"}}),
	} {
		if p.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("after 20 guesses: status %d, want 429\n%s", p.StatusCode, p.text())
		}
		checkRateLimitFields(t, p, "20")
		if !strings.Contains(p.text(), "Too many attempts") || strings.Contains(p.Body, "Acme Dashboard") {
			t.Errorf("the 429 page:\n%s", p.text())
		}
	}
	e.Clock.Advance(3 * time.Second)
	p := b.post(t, "/consent", url.Values{"csrf_token": {csrf}, "consent_token": {tok}, "allowed": {"true"}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("3 s later the good token: status %d, want 303 (the refused request did not spend it)", p.StatusCode)
	}
}

func TestConnectedApps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
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
	p := b.get(t, "/apps")
	for _, want := range []string{"Acme Dashboard", "Read your messages", "Send messages", "Connected 2 Jan 2030", "Last used never", "Remove access"} {
		if !strings.Contains(p.text(), want) {
			t.Errorf("connected apps page lacks %q:\n%s", want, p.text())
		}
	}

	// Someone else cannot revoke it, and their unknown ids are all 404.
	bob := e.user(t, "bob@example.com", pw)
	_ = bob
	bb := e.browser(t)
	bb.login(t, "bob@example.com", pw)
	bobCSRF := csrfOf(t, bb.get(t, "/apps"))
	for _, id := range []string{g.ID, "00000000-0000-0000-0000-000000000000", "not-a-uuid"} {
		if p := bb.post(t, "/apps/"+id+"/revoke", url.Values{"csrf_token": {bobCSRF}}); p.StatusCode != http.StatusNotFound {
			t.Errorf("revoke %s as another user: %d, want 404", id, p.StatusCode)
		}
	}
	if strings.Contains(bb.get(t, "/apps").Body, "Acme Dashboard") {
		t.Errorf("another user sees the grant")
	}

	p = b.post(t, "/apps/"+g.ID+"/revoke", url.Values{"csrf_token": {csrfOf(t, p)}})
	if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/apps?revoked=1" {
		t.Fatalf("revoke: %d to %q", p.StatusCode, p.Header.Get("Location"))
	}
	if _, err := e.Store.GetGrant(ctx, g.ID); !errors.Is(err, grantd.ErrNotFound) {
		t.Errorf("grant after revoke: %v, want not found", err)
	}
	p = b.get(t, "/apps?revoked=1")
	if !strings.Contains(p.text(), "Access removed") || !strings.Contains(p.text(), "No apps are connected") {
		t.Errorf("after revoke:\n%s", p.text())
	}
}

func TestDeveloperApps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, email, pw)
	b := e.browser(t)
	b.login(t, email, pw)
	newPage := b.get(t, "/developer/new")
	if newPage.StatusCode != http.StatusOK {
		t.Fatalf("GET /developer/new: %d", newPage.StatusCode)
	}
	csrf := csrfOf(t, newPage)
	for _, label := range []string{`<label for="name">`, `<label for="redirect_uris">`, `<label for="scope-messages:read">`, `<label for="client_type-public">`, `<label for="grant-client_credentials">`, `<label for="require_pkce">`, `<label for="logo_uri">`} {
		if !strings.Contains(newPage.Body, label) {
			t.Errorf("new app form lacks %s", label)
		}
	}

	t.Run("validation errors next to the fields", func(t *testing.T) {
		p := b.post(t, "/developer/new", url.Values{
			"csrf_token": {csrf}, "name": {"  "}, "client_type": {"public"},
			"allowed_grant_types": {"authorization_code", "client_credentials"},
			"redirect_uris":       {"https://ok.example/cb\n\nhttp://not-loopback.example/cb"},
			"logo_uri":            {"ftp://x"},
		})
		if p.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d, want 422", p.StatusCode)
		}
		for id, want := range map[string]string{
			"name-error":           "Name must not be blank.",
			"allowed_scopes-error": "Scopes must name at least one scope.",
			"redirect_uris-error":  "Line 3: redirect URI http is allowed only on a loopback host",
			"logo_uri-error":       "Logo URL must be an absolute http or https URL.",
		} {
			i := strings.Index(p.Body, `id="`+id+`"`)
			if i < 0 {
				t.Errorf("no %s on the page", id)
				continue
			}
			if !strings.Contains(p.Body[i:min(len(p.Body), i+300)], want) {
				t.Errorf("%s does not say %q: %s", id, want, p.Body[i:min(len(p.Body), i+300)])
			}
		}
		// What was typed is kept.
		if !strings.Contains(p.Body, "http://not-loopback.example/cb") || !strings.Contains(p.Body, `value="public" checked`) {
			t.Errorf("the form lost what was typed")
		}
		if _, n, _ := e.Store.ListClients(context.Background(), grantd.ClientFilter{OwnerUserID: u.ID}, grantd.Page{Number: 1, Size: 10}); n != 0 {
			t.Errorf("an invalid form created %d clients", n)
		}
	})

	var clientID, secret string
	t.Run("create shows the secret once", func(t *testing.T) {
		p := b.post(t, "/developer/new", url.Values{
			"csrf_token": {csrf}, "name": {"Acme Dashboard"}, "client_type": {"confidential"},
			"allowed_scopes":      {"messages:read"},
			"allowed_grant_types": {"authorization_code", "refresh_token"},
			"redirect_uris":       {"https://app.acme.example/cb\r\n"},
			"require_pkce":        {"on"},
		})
		if p.StatusCode != http.StatusCreated {
			t.Fatalf("status %d\n%s", p.StatusCode, p.text())
		}
		if p.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("the secret's page may be cached: %q", p.Header.Get("Cache-Control"))
		}
		cs, _, err := e.Store.ListClients(context.Background(), grantd.ClientFilter{OwnerUserID: u.ID}, grantd.Page{Number: 1, Size: 10})
		if err != nil || len(cs) != 1 {
			t.Fatalf("clients: %v, %v", cs, err)
		}
		c := cs[0]
		clientID = c.ID
		if id, err := uuid.Parse(c.ID); err != nil || id.String() != c.ID || id.Version() != 4 {
			t.Errorf("client_id %q, want a random UUID (v4)", c.ID)
		}
		if c.Name != "Acme Dashboard" || !c.RequirePKCE || len(c.RedirectURIs) != 1 || c.RedirectURIs[0] != "https://app.acme.example/cb" || c.LogoURI != "" {
			t.Errorf("created client %+v", c)
		}
		i := strings.Index(p.Body, `id="client_secret" type="text" readonly value="`)
		if i < 0 {
			t.Fatalf("no secret on the page:\n%s", p.text())
		}
		rest := p.Body[i+len(`id="client_secret" type="text" readonly value="`):]
		secret = rest[:strings.IndexByte(rest, '"')]
		if !strings.HasPrefix(secret, "grantd_secret_") || c.SecretHash == "" {
			t.Fatalf("secret %q", secret)
		}
		if !strings.Contains(p.text(), "shown only this once") || !strings.Contains(p.Body, clientID) {
			t.Errorf("created page:\n%s", p.text())
		}
		for _, path := range []string{"/developer", "/developer/" + clientID} {
			if strings.Contains(b.get(t, path).Body, secret) {
				t.Errorf("%s shows the secret again", path)
			}
		}
		if list := b.get(t, "/developer"); !strings.Contains(list.text(), "Acme Dashboard") || !strings.Contains(list.Body, clientID) {
			t.Errorf("the list lacks the new client:\n%s", list.text())
		}
	})

	t.Run("edit", func(t *testing.T) {
		edit := b.get(t, "/developer/"+clientID)
		if edit.StatusCode != http.StatusOK || !strings.Contains(edit.Body, `value="Acme Dashboard"`) || !strings.Contains(edit.Body, `value="messages:read" checked`) {
			t.Fatalf("edit page %d:\n%s", edit.StatusCode, edit.text())
		}
		fields := url.Values{
			"csrf_token": {csrf}, "name": {"Acme Console"},
			"allowed_scopes":      {"messages:read", "messages:send"},
			"allowed_grant_types": {"authorization_code"},
			"redirect_uris":       {"https://app.acme.example/cb\nhttps://app.acme.example/cb2"},
			"policy_uri":          {"https://acme.example/privacy"},
			"client_type":         {"public"}, // cannot change: ignored
		}
		p := b.post(t, "/developer/"+clientID, fields)
		if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/developer/"+clientID+"?saved=1" {
			t.Fatalf("save: %d to %q\n%s", p.StatusCode, p.Header.Get("Location"), p.text())
		}
		c, err := e.Store.GetClient(context.Background(), clientID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != "Acme Console" || len(c.Scopes) != 2 || len(c.GrantTypes) != 1 || len(c.RedirectURIs) != 2 || c.RequirePKCE || c.PolicyURI != "https://acme.example/privacy" || c.Type != grantd.ClientConfidential {
			t.Errorf("updated client %+v", c)
		}
		if saved := b.get(t, "/developer/"+clientID+"?saved=1"); !strings.Contains(saved.text(), "Changes saved.") {
			t.Errorf("no saved notice")
		}
		fields.Set("allowed_scopes", "nope")
		fields.Set("redirect_uris", "https://ok.example/cb#frag")
		p = b.post(t, "/developer/"+clientID, fields)
		if p.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(p.text(), `"nope" is not a scope of this server`) || !strings.Contains(p.text(), "Line 1: redirect URI must not contain a fragment") {
			t.Errorf("invalid edit: %d\n%s", p.StatusCode, p.text())
		}
	})

	t.Run("another user's client is not found", func(t *testing.T) {
		e.user(t, "bob@example.com", pw)
		bb := e.browser(t)
		bb.login(t, "bob@example.com", pw)
		bobCSRF := csrfOf(t, bb.get(t, "/developer"))
		for _, p := range []page{
			bb.get(t, "/developer/"+clientID),
			bb.get(t, "/developer/"+clientID+"/delete"),
			bb.post(t, "/developer/"+clientID, url.Values{"csrf_token": {bobCSRF}, "name": {"Mine"}}),
			bb.post(t, "/developer/"+clientID+"/delete", url.Values{"csrf_token": {bobCSRF}}),
		} {
			if p.StatusCode != http.StatusNotFound || strings.Contains(p.Body, "Acme") {
				t.Errorf("%s %s: %d, want 404", p.Request.Method, p.Request.URL.Path, p.StatusCode)
			}
		}
	})

	t.Run("delete", func(t *testing.T) {
		confirm := b.get(t, "/developer/"+clientID+"/delete")
		if confirm.StatusCode != http.StatusOK || !strings.Contains(confirm.text(), "Delete Acme Console?") {
			t.Fatalf("confirm page %d:\n%s", confirm.StatusCode, confirm.text())
		}
		p := b.post(t, "/developer/"+clientID+"/delete", url.Values{"csrf_token": {csrfOf(t, confirm)}})
		if p.StatusCode != http.StatusSeeOther || p.Header.Get("Location") != "/developer?deleted=1" {
			t.Fatalf("delete: %d to %q", p.StatusCode, p.Header.Get("Location"))
		}
		if _, err := e.Store.GetClient(context.Background(), clientID); !errors.Is(err, grantd.ErrNotFound) {
			t.Errorf("client after delete: %v", err)
		}
		if p := b.get(t, "/developer/"+clientID); p.StatusCode != http.StatusNotFound {
			t.Errorf("GET deleted client: %d", p.StatusCode)
		}
	})
}

// TestDeveloperAppsUnnamed: a client registered through RFC 7591 under
// the api_key policy may have no name; its pages show its client_id, as
// the consent page does, rather than an empty link.
func TestDeveloperAppsUnnamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, email, pw)
	c, _ := e.client(t, u, "Acme", "https://app.acme.example/cb")
	if _, err := e.Store.UpdateClient(context.Background(), c.ID, func(c grantd.Client) (grantd.Client, error) {
		c.Name = ""
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	b := e.browser(t)
	b.login(t, email, pw)
	for path, want := range map[string]string{
		"/developer":                     `<a href="/developer/` + c.ID + `">` + c.ID + `</a>`,
		"/developer/" + c.ID:             `<h1>` + c.ID + `</h1>`,
		"/developer/" + c.ID + "/delete": `<h1>Delete ` + c.ID + `?</h1>`,
	} {
		if p := b.get(t, path); p.StatusCode != http.StatusOK || !strings.Contains(p.Body, want) {
			t.Errorf("GET %s: %d, want %s in:\n%s", path, p.StatusCode, want, p.Body)
		}
	}
}

// TestSecureCookies: with an https issuer every cookie is Secure, and the
// sign-in CSRF cookie carries the __Host- prefix.
func TestSecureCookies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, email, pw)
	h, err := web.New(web.Deps{Provider: e.Provider, Secure: true, PasswordParams: testParams})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	res := rec.Result()
	var csrfCookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "__Host-grantd_csrf" {
			csrfCookie = c
		}
	}
	if csrfCookie == nil || !csrfCookie.Secure || !csrfCookie.HttpOnly || csrfCookie.Path != "/" || csrfCookie.Domain != "" {
		t.Fatalf("sign-in CSRF cookie %+v, want __Host-grantd_csrf, Secure, HttpOnly, Path=/", csrfCookie)
	}
	form := url.Values{"csrf_token": {csrfCookie.Value}, "email": {email}, "password": {pw}}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrfCookie)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("sign in: %d\n%s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s: Secure=%v HttpOnly=%v SameSite=%v", c.Name, c.Secure, c.HttpOnly, c.SameSite)
		}
	}
}

// TestOddInput: addresses no page would link to get a 4xx page or a
// harmless default, never a 500.
func TestOddInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, email, pw)
	b := e.browser(t)
	b.login(t, email, pw)
	csrf := csrfOf(t, b.get(t, "/apps"))
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/developer/%ff", http.StatusNotFound},
		{"GET", "/developer/" + strings.Repeat("x", 5000), http.StatusNotFound},
		{"GET", "/developer/%ff/delete", http.StatusNotFound},
		{"POST", "/developer/%ff", http.StatusNotFound},
		{"POST", "/developer/%ff/delete", http.StatusNotFound},
		{"POST", "/apps/%ff/revoke", http.StatusNotFound},
		{"POST", "/apps/" + strings.Repeat("9", 5000) + "/revoke", http.StatusNotFound},
		{"GET", "/consent?consent_token=%ff", http.StatusUnprocessableEntity},
		{"GET", "/consent?consent_token=a&consent_token=b", http.StatusUnprocessableEntity},
		{"GET", "/apps?page=-1", http.StatusOK},
		{"GET", "/apps?page=99999999999999999999", http.StatusOK},
		{"GET", "/developer?page=abc", http.StatusOK},
		{"GET", "/login?return_to=%ff", http.StatusSeeOther},
	} {
		t.Run(tt.method+" "+tt.path[:min(len(tt.path), 40)], func(t *testing.T) {
			var p page
			if tt.method == "POST" {
				p = b.post(t, tt.path, url.Values{"csrf_token": {csrf}, "name": {"x"}})
			} else {
				p = b.get(t, tt.path)
			}
			if p.StatusCode != tt.want {
				t.Errorf("status %d, want %d\n%s", p.StatusCode, tt.want, p.text())
			}
		})
	}
}

// TestConnectedAppsShowWhatAnAppMade: an app that made clients in the
// person's account through its token (here, through the engine as the
// management API does) shows them on its row, and says that removing
// access deletes them, before the person confirms; removing access then
// does. An app that made nothing says nothing of the kind.
func TestConnectedAppsShowWhatAnAppMade(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, email, pw)
	dev := e.user(t, "dev@example.com", "")
	app, _ := e.client(t, dev, "Partner Portal", "https://partner.example/cb")
	quiet, _ := e.client(t, dev, "Quiet App", "https://quiet.example/cb")
	for _, c := range []grantd.Client{app, quiet} {
		if _, err := e.Provider.Decide(ctx, u.ID, e.consentToken(t, u, c, "s"), true); err != nil {
			t.Fatal(err)
		}
	}
	g, err := e.Store.GetGrantByUserClient(ctx, u.ID, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	via := oauth.Via{ClientID: app.ID, GrantID: g.ID, Scopes: []string{"messages:read"}}
	var made []string
	for _, name := range []string{"Made One", "Made Two"} {
		typ, scopes, gts := "confidential", []string{"messages:read"}, []string{grantd.GrantClientCredentials}
		c, _, err := e.Provider.CreateClientVia(ctx, u, via, oauth.ClientInput{Name: &name, ClientType: &typ, AllowedScopes: &scopes, AllowedGrantTypes: &gts})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, c.ID)
	}

	b := e.browser(t)
	b.login(t, email, pw)
	p := b.get(t, "/apps")
	text := p.text()
	for _, want := range []string{"Made in your account:", "Made One", "Made Two", "Removing access also deletes what Partner Portal made in your account: 2 apps, and anything made through them."} {
		if !strings.Contains(text, want) {
			t.Errorf("connected apps page lacks %q:\n%s", want, text)
		}
	}
	if strings.Count(text, "Made in your account") != 1 {
		t.Errorf("the app that made nothing says it made something:\n%s", text)
	}

	p = b.post(t, "/apps/"+g.ID+"/revoke", url.Values{"csrf_token": {csrfOf(t, p)}})
	if p.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", p.StatusCode)
	}
	for _, id := range made {
		if _, err := e.Store.GetClient(ctx, id); !errors.Is(err, grantd.ErrNotFound) {
			t.Errorf("client %s made through the removed app: %v, want gone", id, err)
		}
	}
	if _, err := e.Store.GetClient(ctx, quiet.ID); err != nil {
		t.Errorf("the other app: %v", err)
	}
}
