package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
	"github.com/grantd/grantd/internal/testenv"
)

// deviceClient makes a public client that may use the device grant.
func (e *env) deviceClient(t testing.TB, owner grantd.User) grantd.Client {
	t.Helper()
	name, typ := "Acme TV", "public"
	scopes := []string{"messages:read"}
	gts := []string{grantd.GrantDeviceCode, grantd.GrantRefreshToken}
	c, _, err := e.Provider.CreateClient(context.Background(), owner, oauth.ClientInput{
		Name: &name, ClientType: &typ, AllowedScopes: &scopes, AllowedGrantTypes: &gts,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// oauthPost posts a form to a protocol endpoint and answers the status and
// the JSON body.
func (e *env) oauthPost(t testing.TB, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	res, err := http.PostForm(e.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %d %s", path, res.StatusCode, b)
	}
	return res.StatusCode, m
}

func (e *env) startDevice(t testing.TB, c grantd.Client) map[string]any {
	t.Helper()
	st, da := e.oauthPost(t, "/v2/oauth/device_authorization", url.Values{"client_id": {c.ID}, "scope": {"messages:read"}})
	if st != http.StatusOK || da["verification_uri"] != e.URL+"/device" {
		t.Fatalf("device authorization: %d %v", st, da)
	}
	return da
}

func (e *env) pollDevice(t testing.TB, c grantd.Client, deviceCode string) (int, map[string]any) {
	t.Helper()
	return e.oauthPost(t, "/v2/oauth/token", url.Values{"grant_type": {grantd.GrantDeviceCode}, "device_code": {deviceCode}, "client_id": {c.ID}})
}

// TestDevicePage: the person opens verification_uri_complete, signs in,
// finds the code filled in, submits it, approves on the same consent page
// as the code flow, and the device's next poll gets the tokens, once.
func TestDevicePage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, email, pw)
	c := e.deviceClient(t, u)
	da := e.startDevice(t, c)
	userCode, deviceCode := da["user_code"].(string), da["device_code"].(string)
	complete, _ := url.Parse(da["verification_uri_complete"].(string))

	if st, body := e.pollDevice(t, c, deviceCode); st != 400 || body["error"] != "authorization_pending" {
		t.Fatalf("poll before the decision: %d %v", st, body)
	}

	b := e.browser(t)
	p := b.get(t, complete.RequestURI())
	if p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/login?return_to=") {
		t.Fatalf("signed out: %d %s", p.StatusCode, p.Header.Get("Location"))
	}
	b.login(t, email, pw)
	p = b.get(t, complete.RequestURI())
	if p.StatusCode != http.StatusOK || !strings.Contains(p.Body, `value="`+userCode+`"`) {
		t.Fatalf("device page: %d\n%s", p.StatusCode, p.Body)
	}
	// Without the CSRF token the form is refused.
	if p := b.post(t, "/device", url.Values{"user_code": {userCode}}); p.StatusCode != http.StatusForbidden {
		t.Fatalf("post without CSRF: %d", p.StatusCode)
	}
	typed := strings.ToLower(strings.ReplaceAll(userCode, "-", ""))
	p = b.post(t, "/device", url.Values{"csrf_token": {csrfOf(t, p)}, "user_code": {typed}})
	loc, _ := url.Parse(p.Header.Get("Location"))
	if p.StatusCode != http.StatusSeeOther || loc.Path != "/consent" {
		t.Fatalf("submit: %d %s\n%s", p.StatusCode, p.Header.Get("Location"), p.Body)
	}
	cp := b.get(t, loc.RequestURI())
	if cp.StatusCode != http.StatusOK || !strings.Contains(cp.Body, "Acme TV") || !strings.Contains(cp.Body, "This request is for a device") ||
		!strings.Contains(cp.Body, "Read your messages") {
		t.Fatalf("consent page: %d\n%s", cp.StatusCode, cp.Body)
	}
	d := b.post(t, "/consent", url.Values{"csrf_token": {csrfOf(t, cp)}, "consent_token": {loc.Query().Get("consent_token")}, "allowed": {"true"}})
	if d.StatusCode != http.StatusSeeOther || d.Header.Get("Location") != e.URL+"/device?result=approved" {
		t.Fatalf("decision: %d %s", d.StatusCode, d.Header.Get("Location"))
	}
	if r := b.get(t, "/device?result=approved"); !strings.Contains(r.Body, "Device signed in") {
		t.Fatalf("result page:\n%s", r.Body)
	}

	e.Clock.Advance(oauth.Config{}.WithDefaults().DevicePollInterval)
	st, tok := e.pollDevice(t, c, deviceCode)
	if st != 200 || tok["access_token"] == nil || tok["scope"] != "messages:read" || !strings.HasPrefix(tok["refresh_token"].(string), "grantd_rt_") {
		t.Fatalf("poll after approval: %d %v", st, tok)
	}
	e.Clock.Advance(oauth.Config{}.WithDefaults().DevicePollInterval)
	if st, body := e.pollDevice(t, c, deviceCode); st != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("second redemption: %d %v", st, body)
	}
}

// TestDeviceWithBearerAPIKey: a caller with an API key goes from
// verification_uri_complete straight to the consent page and decides
// there, as at authorize; a denial reaches the device as access_denied.
func TestDeviceWithBearerAPIKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, email, pw)
	key := testenv.APIKey(t, e.Store, u.ID, e.Provider.Now())
	c := e.deviceClient(t, u)
	da := e.startDevice(t, c)
	complete, _ := url.Parse(da["verification_uri_complete"].(string))

	p := bearerDo(t, e, "GET", complete.RequestURI(), key, nil)
	if p.StatusCode != http.StatusOK || p.Request.URL.Path != "/consent" || !strings.Contains(p.text(), "Acme TV") {
		t.Fatalf("followed to %s: %d\n%s", p.Request.URL, p.StatusCode, p.text())
	}
	tok := p.Request.URL.Query().Get("consent_token")
	// The consent API reads the same request, marked as a device's.
	api := bearerDo(t, e, "GET", "/v2/oauth/consent/"+tok, key, nil)
	if api.StatusCode != http.StatusOK || !strings.Contains(api.Body, `"device":true`) || !strings.Contains(api.Body, `"redirect_uri":""`) {
		t.Fatalf("consent API: %d %s", api.StatusCode, api.Body)
	}
	d := bearerDo(t, e, "POST", "/consent", key, url.Values{"consent_token": {tok}, "allowed": {"false"}})
	if d.Request.URL.String() != e.URL+"/device?result=denied" || !strings.Contains(d.Body, "Device not signed in") {
		t.Fatalf("denial went to %s: %d", d.Request.URL, d.StatusCode)
	}
	if st, body := e.pollDevice(t, c, da["device_code"].(string)); st != 400 || body["error"] != "access_denied" {
		t.Fatalf("poll after denial: %d %v", st, body)
	}
}

// TestDeviceUserCodeGuessing is the attack: one address guessing user
// codes is refused with 429 after a few wrong ones, and then even a right
// code from there waits.
func TestDeviceUserCodeGuessing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, email, pw)
	key := testenv.APIKey(t, e.Store, u.ID, e.Provider.Now())
	c := e.deviceClient(t, u)
	da := e.startDevice(t, c)

	guesses := []string{"BCDF-GHJK", "BCDF-GHJL", "BCDF-GHJM", "BCDF-GHJN", "BCDF-GHJP", "BCDF-GHJQ",
		"BCDF-GHJR", "BCDF-GHJS", "BCDF-GHJT", "BCDF-GHJV", "BCDF-GHJW", "BCDF-GHJX"}
	limited := false
	for i, g := range guesses {
		if g == da["user_code"] {
			continue
		}
		p := bearerDo(t, e, "POST", "/device", key, url.Values{"user_code": {g}})
		switch p.StatusCode {
		case http.StatusBadRequest:
			if !strings.Contains(p.Body, "not valid") {
				t.Fatalf("guess %d: %s", i, p.Body)
			}
		case http.StatusTooManyRequests:
			if p.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			limited = true
		default:
			t.Fatalf("guess %d: status %d", i, p.StatusCode)
		}
		if limited {
			break
		}
	}
	if !limited {
		t.Fatalf("%d wrong user codes from one address were never refused", len(guesses))
	}
	if p := bearerDo(t, e, "POST", "/device", key, url.Values{"user_code": {da["user_code"].(string)}}); p.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right code after the limit: %d", p.StatusCode)
	}
	// The refusals are counted under the limit's name.
	resp, err := http.Get(e.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	if !regexp.MustCompile(`(?m)^grantd_rate_limited_total\{limit="user-code"\} [1-9]`).Match(metrics) {
		t.Errorf("grantd_rate_limited_total does not count the user-code refusals:\n%s", metrics)
	}
}
