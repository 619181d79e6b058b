package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/grantd/grantd/internal/apptest"
)

// chromiumPath is Debian's Chromium; GRANTD_TEST_CHROMIUM overrides it.
const chromiumPath = "/usr/bin/chromium"

// TestBrowser drives the pages in a real Chromium through the whole code
// flow of a client built with golang.org/x/oauth2: sign in, consent, code
// redeemed with PKCE; a denial; and a revocation on the connected apps
// page that kills the refresh token; a step-up request shows what is new.
// It also writes screenshots of the pages, at a desktop and a phone size,
// to $GRANTD_TEST_ARTIFACTS (or a temporary directory).
//
// It is skipped when Chromium is missing, unless GRANTD_TEST_REQUIRE_BROWSER=1.
func TestBrowser(t *testing.T) {
	exe := chromiumPath
	if p := os.Getenv("GRANTD_TEST_CHROMIUM"); p != "" {
		exe = p
	}
	if _, err := os.Stat(exe); err != nil {
		if os.Getenv("GRANTD_TEST_REQUIRE_BROWSER") == "1" {
			t.Fatalf("GRANTD_TEST_REQUIRE_BROWSER=1 but there is no browser: %v", err)
		}
		t.Skipf("no Chromium at %s (set GRANTD_TEST_REQUIRE_BROWSER=1 to make this a failure)", exe)
	}
	artifacts := os.Getenv("GRANTD_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	// The browser judges cookie expiry by its own clock, so this server
	// runs on the real one.
	e := newEnv(t, func(o *apptest.Options) { o.RealClock = true })
	u := e.user(t, email, pw)

	// The client: its redirect URI is a loopback server that records what
	// arrives.
	arrived := make(chan url.Values, 8)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		arrived <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>Acme</title><p id=done>Back at Acme.</p>"))
	}))
	defer cb.Close()
	c, secret := e.client(t, u, "Acme Dashboard", cb.URL+"/callback")
	conf := &oauth2.Config{
		ClientID:     c.ID,
		ClientSecret: secret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   e.URL + "/v2/oauth/authorize",
			TokenURL:  e.URL + "/v2/oauth/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		RedirectURL: cb.URL + "/callback",
		Scopes:      []string{"messages:read", "messages:send"},
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	// Every console and browser-log message, to fail on a Content Security
	// Policy violation (a form-action that blocks the redirect to the
	// client, say) and to show what happened when a step fails.
	var mu sync.Mutex
	var console []string
	if err := chromedp.Listen(bctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			msg = string(ev.Entry.Level) + ": " + ev.Entry.Text
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
		default:
			return
		}
		mu.Lock()
		console = append(console, msg)
		mu.Unlock()
	}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			loc, _ := chromedp.Run(bctx, chromedp.Location())
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("%s: %v\nbrowser at %s\nconsole:\n%s", what, err, loc, strings.Join(console, "\n"))
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.Join(strings.Fields(s), " ")
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(bctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	// shoot saves the page at a desktop and a phone size.
	shoot := func(name string) {
		t.Helper()
		for _, size := range []struct {
			suffix string
			view   chromedp.Action[chromedp.Void]
		}{
			{"desktop", chromedp.EmulateViewport(1280, 800)},
			{"phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait)},
		} {
			do("resize for "+name, size.view)
			png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			if err := os.WriteFile(filepath.Join(artifacts, name+"-"+size.suffix+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		do("reset the viewport", chromedp.EmulateReset())
	}
	// await answers what the client's redirect URI received next.
	await := func(what string) url.Values {
		t.Helper()
		select {
		case q := <-arrived:
			// Let the client's page finish loading, or the next
			// navigation may race with it.
			do(what+": load the client's page", chromedp.WaitVisible(chromedp.ID("done")))
			return q
		case <-time.After(15 * time.Second):
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("%s: nothing arrived at the client; browser at %s\nconsole:\n%s", what, location(), strings.Join(console, "\n"))
			return nil
		}
	}
	checkAnswer := func(q url.Values, state string) {
		t.Helper()
		if q.Get("state") != state || q.Get("iss") != e.URL {
			t.Errorf("state=%q iss=%q, want %q and %q", q.Get("state"), q.Get("iss"), state, e.URL)
		}
	}
	signIn := func() {
		t.Helper()
		do("sign in",
			chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), pw),
			chromedp.Click(chromedp.CSS(`main button[type="submit"]`)),
		)
	}

	// Run 1: sign in, approve, redeem the code with the PKCE verifier.
	verifier := oauth2.GenerateVerifier()
	do("open the authorization request",
		chromedp.Navigate(conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier))),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	if loc := location(); !strings.HasPrefix(loc, e.URL+"/login?return_to=%2Fv2%2Foauth%2Fauthorize") {
		t.Fatalf("not sent to sign in: %s", loc)
	}
	shoot("signin")
	signIn()
	do("reach the consent page", chromedp.WaitVisible(chromedp.CSS("form.decision")))
	if got := text(".app-name"); got != "Acme Dashboard" {
		t.Errorf("consent page names %q", got)
	}
	if got := text(".scopes"); !strings.Contains(got, "Read your messages") || !strings.Contains(got, "Send messages in your name.") {
		t.Errorf("consent page scopes: %q", got)
	}
	cbURL, _ := url.Parse(cb.URL)
	if got := text(".destination-host"); got != cbURL.Host {
		t.Errorf("consent page redirect host %q, want %q", got, cbURL.Host)
	}
	shoot("consent")
	do("approve", chromedp.Click(chromedp.CSS(`button[name="allowed"][value="true"]`)))
	q := await("approve")
	checkAnswer(q, "state-1")
	if q.Get("code") == "" {
		t.Fatalf("no code after approval: %v", q)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("redeem the code: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token response without access or refresh token: %+v", tok)
	}

	// Run 2: asked again, the person denies.
	do("open a second request",
		chromedp.Navigate(conf.AuthCodeURL("state-2", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "consent"))),
		chromedp.WaitVisible(chromedp.CSS("form.decision")),
	)
	do("deny", chromedp.Click(chromedp.CSS(`button[name="allowed"][value="false"]`)))
	q = await("deny")
	checkAnswer(q, "state-2")
	if q.Get("error") != "access_denied" || q.Get("code") != "" {
		t.Errorf("after denial: %v, want error=access_denied and no code", q)
	}

	// A step-up request of a second app, which holds one scope: the page
	// marks only the other as new (for the screenshot; left undecided).
	beta, _ := e.client(t, u, "Beta Notes", cb.URL+"/callback")
	betaAsk := func(scope string) string {
		t.Helper()
		return e.ask(t, u, url.Values{
			"response_type": {"code"}, "client_id": {beta.ID}, "redirect_uri": {beta.RedirectURIs[0]},
			"scope": {scope}, "state": {"s"}, "prompt": {"consent"},
		})
	}
	if _, err := e.Provider.Decide(ctx, u.ID, betaAsk("messages:read"), true); err != nil {
		t.Fatal(err)
	}
	do("open a step-up request",
		chromedp.Navigate(e.URL+"/consent?consent_token="+url.QueryEscape(betaAsk("messages:read messages:send"))),
		chromedp.WaitVisible(chromedp.CSS("ul.scopes.new")),
	)
	if got := text("ul.scopes.new"); got != "Send messages New Send messages in your name." {
		t.Errorf("step-up page, new scopes: %q", got)
	}
	if got := text("ul.scopes.granted"); !strings.Contains(got, "Read your messages") {
		t.Errorf("step-up page, scopes held: %q", got)
	}
	shoot("consent-stepup")
	// Beta goes again, so that the connected apps page below is Acme's.
	if g, err := e.Store.GetGrantByUserClient(ctx, u.ID, beta.ID); err != nil {
		t.Fatal(err)
	} else if err := e.Store.DeleteGrant(ctx, g.ID); err != nil {
		t.Fatal(err)
	}

	// Run 3: sign out and in again through a request the grant covers: the
	// sign-in form's post leads straight to the client, which its
	// form-action must allow.
	do("open the connected apps page",
		chromedp.Navigate(e.URL+"/apps"),
		chromedp.WaitVisible(chromedp.CSS(".list-item.app")),
	)
	do("sign out",
		chromedp.Click(chromedp.CSS(`.signout button`)),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	verifier3 := oauth2.GenerateVerifier()
	do("open a third request", chromedp.Navigate(conf.AuthCodeURL("state-3", oauth2.S256ChallengeOption(verifier3))))
	signIn()
	q = await("sign in with a standing grant")
	checkAnswer(q, "state-3")
	if q.Get("code") == "" {
		t.Fatalf("no code for a covered request: %v", q)
	}

	// Then revoke the app: the refresh token of run 1 dies.
	do("open the connected apps page",
		chromedp.Navigate(e.URL+"/apps"),
		chromedp.WaitVisible(chromedp.CSS(".list-item.app")),
	)
	if got := text(".list-item.app"); !strings.Contains(got, "Acme Dashboard") || !strings.Contains(got, "Read your messages") {
		t.Errorf("connected apps page: %q", got)
	}
	shoot("apps")
	do("remove access",
		chromedp.Click(chromedp.CSS(`.app-action button`)),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if got := text(".notice"); !strings.Contains(got, "Access removed") {
		t.Errorf("after revoking: %q", got)
	}
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh after revocation: %v, want invalid_grant", err)
	}

	// The developer pages, for the screenshots.
	do("open the new app form", chromedp.Navigate(e.URL+"/developer/new"), chromedp.WaitVisible(chromedp.ID("name")))
	do("submit it empty", chromedp.Click(chromedp.CSS(`form.form-card button[type="submit"]`)), chromedp.WaitVisible(chromedp.ID("form-errors")))
	shoot("developer-new-errors")
	do("register an app",
		chromedp.SendKeys(chromedp.ID("name"), "Zeta CLI"),
		chromedp.Click(chromedp.ID("client_type-public")),
		chromedp.Click(chromedp.CSS(`input[value="messages:read"]`)),
		chromedp.SendKeys(chromedp.ID("redirect_uris"), "http://127.0.0.1/callback"),
		chromedp.Click(chromedp.CSS(`form.form-card button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("client_id")),
	)
	shoot("developer-created")
	do("open the app list", chromedp.Navigate(e.URL+"/developer"), chromedp.WaitVisible(chromedp.CSS(".list-item.client")))
	if got := text(".list"); !strings.Contains(got, "Zeta CLI") || !strings.Contains(got, "Acme Dashboard") {
		t.Errorf("developer apps: %q", got)
	}
	shoot("developer")
	do("open an app", chromedp.Navigate(e.URL+"/developer/"+c.ID), chromedp.WaitVisible(chromedp.CSS(".danger-zone")))
	shoot("developer-edit")
	// The device flow (RFC 8628): the person opens the complete
	// verification URI, finds the code filled in, submits it, and approves
	// on the same consent page; the device's poll gets the tokens.
	tv := e.deviceClient(t, u)
	da := e.startDevice(t, tv)
	do("open the device page", chromedp.Navigate(da["verification_uri_complete"].(string)), chromedp.WaitVisible(chromedp.ID("user_code")))
	shoot("device")
	do("submit the code", chromedp.Click(chromedp.CSS(`form.device-form button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("form.decision")))
	if got := text("main"); !strings.Contains(got, "Acme TV") || !strings.Contains(got, "This request is for a device") {
		t.Errorf("device consent page: %q", got)
	}
	shoot("device-consent")
	do("approve the device", chromedp.Click(chromedp.CSS(`button[name="allowed"][value="true"]`)), chromedp.WaitVisible(chromedp.CSS("p.device-result")))
	if got := text("main"); !strings.Contains(got, "Device signed in") || location() != e.URL+"/device?result=approved" {
		t.Errorf("after the device approval at %s: %q", location(), got)
	}
	shoot("device-done")
	if st, tok := e.pollDevice(t, tv, da["device_code"].(string)); st != http.StatusOK || tok["access_token"] == nil {
		t.Errorf("device poll after approval: %d %v", st, tok)
	}

	do("open a used consent request", chromedp.Navigate(e.URL+"/consent?consent_token=grantd_consent_gone"), chromedp.WaitVisible(chromedp.CSS("main.card h1")))
	shoot("error")

	mu.Lock()
	defer mu.Unlock()
	for _, m := range console {
		if strings.Contains(m, "Content Security Policy") {
			t.Errorf("CSP violation: %s", m)
		}
	}
	t.Logf("screenshots in %s", artifacts)
}
