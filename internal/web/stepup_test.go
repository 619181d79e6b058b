package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/grantd/grantd/internal/apptest"
	"github.com/grantd/grantd/internal/testenv"
)

// between answers the text of the page from the first start to the
// next end after it ("" when start is missing).
func between(p page, start, end string) string {
	i := strings.Index(p.Body, start)
	if i < 0 {
		return ""
	}
	rest := p.Body[i+len(start):]
	if j := strings.Index(rest, end); j >= 0 {
		rest = rest[:j]
	}
	return page{Body: rest}.text()
}

// TestConsentPageStepUp asks for more than the person's grant holds: the
// page lists what the app can do already apart from what is new, and
// marks only the new scope. A request for nothing new is the plain page.
func TestConsentPageStepUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, email, pw)
	c, _ := e.client(t, u, "Acme Dashboard", "https://app.acme.example/oauth/callback")
	b := e.browser(t)
	b.login(t, email, pw)

	ask := func(scope string) string {
		t.Helper()
		return e.ask(t, u, url.Values{
			"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {c.RedirectURIs[0]},
			"scope": {scope}, "state": {"s"}, "prompt": {"consent"},
		})
	}
	if _, err := e.Provider.Decide(ctx, u.ID, ask("messages:read"), true); err != nil {
		t.Fatal(err)
	}

	p := b.get(t, "/consent?consent_token="+url.QueryEscape(ask("messages:read messages:send")))
	if p.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", p.StatusCode, p.text())
	}
	if got := between(p, `<ul class="scopes new">`, "</ul>"); got != "Send messages New Send messages in your name." {
		t.Errorf("new scopes %q, want only Send messages, marked new", got)
	}
	if got := between(p, `<ul class="scopes granted">`, "</ul>"); got != "Read your messages See the messages you sent and received." {
		t.Errorf("scopes held already %q, want only Read your messages", got)
	}
	if n := strings.Count(p.Body, `class="scope-new"`); n != 1 {
		t.Errorf("%d scopes marked new, want 1", n)
	}
	if text := p.text(); !strings.Contains(text, "Acme Dashboard asks to do more") || !strings.Contains(text, "Acme Dashboard can already:") {
		t.Errorf("step-up page lacks its headings:\n%s", text)
	}

	// Asking again for what the grant holds: nothing is new.
	p = b.get(t, "/consent?consent_token="+url.QueryEscape(ask("messages:read")))
	if strings.Contains(p.Body, "scope-new") || strings.Contains(p.Body, "scopes granted") || !strings.Contains(p.text(), "Acme Dashboard will be able to: Read your messages") {
		t.Errorf("a request for nothing new is not the plain page:\n%s", p.text())
	}

	// Approving the step-up widens the grant: the next one lists both as held.
	if _, err := e.Provider.Decide(ctx, u.ID, ask("messages:read messages:send"), true); err != nil {
		t.Fatal(err)
	}
	p = b.get(t, "/consent?consent_token="+url.QueryEscape(ask("messages:send")))
	if strings.Contains(p.Body, "scope-new") {
		t.Errorf("after the step-up, a scope is still marked new:\n%s", p.text())
	}
}

// docServer serves a client ID metadata document on loopback naming the
// redirect URIs; the answer is the document's URL, its client_id.
func docServer(t *testing.T, name string, redirects ...string) string {
	t.Helper()
	var self string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		q := make([]string, len(redirects))
		for i, r := range redirects {
			q[i] = fmt.Sprintf("%q", r)
		}
		fmt.Fprintf(w, `{"client_id":%q,"client_name":%q,"redirect_uris":[%s],"scope":"messages:read"}`, self, name, strings.Join(q, ","))
	}))
	t.Cleanup(srv.Close)
	self = srv.URL + "/client.json"
	return self
}

var challenge = strings.Repeat("c", 43)

// TestConsentPageMetadataDocument shows a metadata-document client by the
// host of its client_id, and warns when its only redirect is on the
// person's own device, where any app may use that client_id. Such a
// client is then listed on /apps and by /v2/oauth_grants like any other.
func TestConsentPageMetadataDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *apptest.Options) { o.Engine.ClientMetadata.AllowLoopback = true })
	ctx := context.Background()
	u := e.user(t, email, pw)
	b := e.browser(t)
	b.login(t, email, pw)

	ask := func(clientID, redirect string) string {
		t.Helper()
		return e.ask(t, u, url.Values{
			"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect},
			"scope": {"messages:read"}, "state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
		})
	}
	host := func(id string) string { u, _ := url.Parse(id); return u.Host }

	web := docServer(t, "Web Agent", "https://agent.example/cb", "http://127.0.0.1:7777/cb")
	p := b.get(t, "/consent?consent_token="+url.QueryEscape(ask(web, "http://127.0.0.1:7777/cb")))
	if p.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", p.StatusCode, p.text())
	}
	if got := between(p, `<p class="app-origin">`, "</p>"); got != "Identified by its address "+host(web) {
		t.Errorf("identity %q, want the client_id's host %s", got, host(web))
	}
	if got := between(p, `<p class="destination-host">`, "</p>"); got != "127.0.0.1:7777" {
		t.Errorf("redirect host %q", got)
	}
	// One of its redirects is a web site: no warning.
	if strings.Contains(p.Body, "device-only") {
		t.Errorf("warning for a client with a web redirect:\n%s", p.text())
	}

	local := docServer(t, "Local Agent", "http://127.0.0.1:7777/cb")
	tok := ask(local, "http://127.0.0.1:7777/cb")
	p = b.get(t, "/consent?consent_token="+url.QueryEscape(tok))
	if got := between(p, `<p class="caution device-only">`, "</p>"); !strings.Contains(got, host(local)+" does not vouch for it") {
		t.Errorf("device-only warning %q, want one naming %s", got, host(local))
	}
	if !strings.Contains(p.text(), "Local Agent wants to use your account") {
		t.Errorf("consent page does not name the app:\n%s", p.text())
	}

	// Approved, it is listed like any other client.
	if _, err := e.Provider.Decide(ctx, u.ID, tok, true); err != nil {
		t.Fatal(err)
	}
	if p := b.get(t, "/apps"); p.StatusCode != http.StatusOK || !strings.Contains(p.text(), "Local Agent") {
		t.Errorf("/apps (status %d) does not list the metadata-document client:\n%s", p.StatusCode, p.text())
	}
	key := testenv.APIKey(t, e.Store, u.ID, e.Provider.Now())
	if p := bearerDo(t, e, "GET", "/v2/oauth_grants", key, nil); p.StatusCode != http.StatusOK || !regexp.MustCompile(`"client_id":\s*"`+regexp.QuoteMeta(local)+`"`).MatchString(p.Body) {
		t.Errorf("/v2/oauth_grants (status %d) does not list the metadata-document client:\n%s", p.StatusCode, p.Body)
	}
}
