package web

import (
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/oauth"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the output (run with -update to accept it); got:\n%s", path, got)
	}
}

// TestPagesGolden pins the markup of the pages people see most, rendered
// from fixed data.
func TestPagesGolden(t *testing.T) {
	t.Parallel()
	pg, err := loadPages("v1")
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{pages: pg, log: slog.New(slog.DiscardHandler)}
	user := &grantd.User{Email: "ada@example.com"}
	created := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		golden, page string
		v            view
	}{
		{"login.golden", "login.html", view{Title: "Sign in", CSRF: "csrf-token", Data: loginData{ReturnTo: "/v2/oauth/authorize?client_id=abc&state=x", Email: "ada@example.com", Error: "Incorrect email address or password."}}},
		{"consent.golden", "consent.html", view{Title: "Allow Acme?", User: user, CSRF: "csrf-token", Data: consentData{
			App: oauth.ConsentView{
				ClientID: "abc", Name: "Acme <Dashboard>", TosURI: "https://acme.example/tos", PolicyURI: "https://acme.example/privacy",
				RedirectURI: "https://app.acme.example/cb", Verified: true,
				RequestedScopes: []grantd.Scope{{ID: "messages:read", Name: "Read your messages", Description: "See the messages you sent and received."}},
			},
			Logo: "https://acme.example/logo.png", Token: "grantd_consent_x", Host: "app.acme.example",
		}}},
		// A step-up request of a metadata-document client whose only
		// redirect is on the person's device.
		{"consent_stepup.golden", "consent.html", view{Title: "Allow Agent?", User: user, CSRF: "csrf-token", Data: newConsentData(oauth.ConsentView{
			ClientID: "https://agent.example/client.json", Name: "Agent", RedirectURI: "http://127.0.0.1:7777/cb",
			RequestedScopes: []grantd.Scope{{ID: "a", Name: "Read", Description: "Read things"}, {ID: "b", Name: "Write", Description: "Write things"}},
			GrantedScopes:   []grantd.Scope{{ID: "a", Name: "Read", Description: "Read things"}},
			Origin:          grantd.OriginMetadataDocument, RedirectURIs: []string{"http://127.0.0.1:7777/cb"},
		}, "grantd_consent_x")}},
		{"apps.golden", "apps.html", view{Title: "Connected apps", User: user, CSRF: "csrf-token", Nav: "apps", Notice: "Access removed.", Data: appsData{
			Apps:  []appRow{{GrantID: "g1", Name: "Acme", Scopes: []grantd.Scope{{ID: "a", Name: "Read", Description: "Read things"}}, Created: created, LastUsed: &created}},
			Pager: newPager("/apps", 2, 45),
		}}},
		{"error.golden", "error.html", view{Title: "Not found", Data: errorData{Heading: "Not found", Message: "No such page.", Hint: "Try again.", Link: "/", LinkText: "Go to the start page"}}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.render(rec, httptest.NewRequest("GET", "/", nil), http.StatusOK, tt.page, tt.v)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			checkGolden(t, tt.golden, rec.Body.Bytes())
		})
	}
}

// TestConsentResourceName: a request naming a resource that has a display
// name shows that name (escaped) on the consent page.
func TestConsentResourceName(t *testing.T) {
	t.Parallel()
	pg, err := loadPages("v1")
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{pages: pg, log: slog.New(slog.DiscardHandler)}
	rec := httptest.NewRecorder()
	v := view{Title: "Allow Acme?", User: &grantd.User{Email: "ada@example.com"}, CSRF: "csrf-token", Data: newConsentData(oauth.ConsentView{
		ClientID: "abc", Name: "Acme", RedirectURI: "https://app.acme.example/cb",
		Resource: "https://mcp.example/mcp", ResourceName: "Acme <MCP> server",
		RequestedScopes: []grantd.Scope{{ID: "mcp:tools", Name: "Use tools"}},
	}, "grantd_consent_x")}
	h.render(rec, httptest.NewRequest("GET", "/", nil), http.StatusOK, "consent.html", v)
	if body := rec.Body.String(); !strings.Contains(body, `This request is for <strong>Acme &lt;MCP&gt; server</strong>.`) {
		t.Errorf("consent page does not name the resource:\n%s", body)
	}
}

func TestSafeReturnTo(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/apps", "/apps"},
		{"/v2/oauth/authorize?a=b&c=%2F%2F", "/v2/oauth/authorize?a=b&c=%2F%2F"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"/a\\b", "/"},
		{"/\t/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/ /evil.example", "/"},
		{"/\x7f", "/"},
		{"https://evil.example", "/"},
		{"apps", "/"},
		{"?x=1", "/"},
		{"#top", "/"},
	}
	for _, tt := range tests {
		if got := safeReturnTo(tt.in); got != tt.want {
			t.Errorf("safeReturnTo(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCSPSource(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://app.example.com/cb?x=1", "https://app.example.com"},
		{"https://App.Example.com:8443/cb", "https://app.example.com:8443"},
		{"http://127.0.0.1:49152/callback", "http://127.0.0.1:49152"},
		{"http://[::1]:8080/cb", "http:"},
		{"com.example.app:/oauth", "com.example.app:"},
		{"https://a.example;script-src/", "https:"},
		{"", ""},
		{"/relative", ""},
		{"1bad:/x", ""},
	}
	for _, tt := range tests {
		if got := cspSource(tt.in); got != tt.want {
			t.Errorf("cspSource(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedirectHost(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, host, where string }{
		{"https://app.example.com/cb", "app.example.com", ""},
		{"https://app.example.com:443/cb", "app.example.com", ""},
		{"https://app.example.com:8443/cb", "app.example.com:8443", ""},
		{"http://127.0.0.1:5000/cb", "127.0.0.1:5000", "an app running on this device"},
		{"com.example.app:/cb", "com.example.app", "an app installed on this device"},
	}
	for _, tt := range tests {
		host, where := redirectHost(tt.in)
		if host != tt.host || where != tt.where {
			t.Errorf("redirectHost(%q) = %q, %q; want %q, %q", tt.in, host, where, tt.host, tt.where)
		}
	}
}

// FuzzSafeReturnTo: whatever comes in, what goes out is "/" or a path of
// this origin that a browser cannot read as another host.
func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/", "/apps", "//x", "/\\x", "/\t/x", "https://x", "/v2/oauth/authorize?a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := safeReturnTo(in)
		if got != "/" && got != in {
			t.Fatalf("safeReturnTo(%q) = %q: neither the input nor /", in, got)
		}
		if len(got) > 1 && (got[0] != '/' || got[1] == '/' || strings.ContainsAny(got, "\\\t\r\n ")) {
			t.Fatalf("safeReturnTo(%q) = %q leaves this origin", in, got)
		}
		if u, err := url.Parse(got); err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("safeReturnTo(%q) = %q parses with a host or scheme", in, got)
		}
	})
}

// FuzzCSPSource: a redirect URI can never add a directive or a second
// source to the Content-Security-Policy.
func FuzzCSPSource(f *testing.F) {
	for _, s := range []string{"https://a.example/cb", "http://127.0.0.1:1/cb", "com.x.app:/cb", "https://a;b/", "http://[::1]/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := cspSource(in)
		if strings.ContainsFunc(got, func(r rune) bool {
			return r <= ' ' || r == ';' || r == ',' || r == '\'' || r == '*' || r > 0x7e
		}) {
			t.Fatalf("cspSource(%q) = %q", in, got)
		}
	})
}

// TestNewConsentData pins what the consent page is told: only scopes the
// grant lacks are new, and the device-only warning is for
// metadata-document clients whose every redirect is on the device.
func TestNewConsentData(t *testing.T) {
	read := grantd.Scope{ID: "read", Name: "Read"}
	write := grantd.Scope{ID: "write", Name: "Write"}
	doc := "https://agent.example:8443/client.json"
	tests := []struct {
		name         string
		cv           oauth.ConsentView
		granted, new []grantd.Scope
		identity     string
		deviceOnly   bool
	}{
		{"first request", oauth.ConsentView{RequestedScopes: []grantd.Scope{read, write}}, nil, nil, "", false},
		{"step-up", oauth.ConsentView{RequestedScopes: []grantd.Scope{read, write}, GrantedScopes: []grantd.Scope{read}}, []grantd.Scope{read}, []grantd.Scope{write}, "", false},
		{"nothing new", oauth.ConsentView{RequestedScopes: []grantd.Scope{read}, GrantedScopes: []grantd.Scope{read, write}}, nil, nil, "", false},
		{"document, web redirect", oauth.ConsentView{ClientID: doc, Origin: grantd.OriginMetadataDocument, RedirectURIs: []string{"https://agent.example/cb"}}, nil, nil, "agent.example:8443", false},
		{"document, loopback and web", oauth.ConsentView{ClientID: doc, Origin: grantd.OriginMetadataDocument, RedirectURIs: []string{"http://127.0.0.1/cb", "https://agent.example/cb"}}, nil, nil, "agent.example:8443", false},
		{"document, loopback and private-use", oauth.ConsentView{ClientID: doc, Origin: grantd.OriginMetadataDocument, RedirectURIs: []string{"http://[::1]:9/cb", "com.agent.app:/cb"}}, nil, nil, "agent.example:8443", true},
		{"document, https loopback", oauth.ConsentView{ClientID: doc, Origin: grantd.OriginMetadataDocument, RedirectURIs: []string{"https://localhost/cb"}}, nil, nil, "agent.example:8443", true},
		{"registered client on loopback", oauth.ConsentView{ClientID: "abc", Origin: grantd.OriginRegistration, RedirectURIs: []string{"http://127.0.0.1/cb"}}, nil, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newConsentData(tt.cv, "tok")
			if !slices.Equal(d.Granted, tt.granted) || !slices.Equal(d.New, tt.new) || d.Identity != tt.identity || d.DeviceOnly != tt.deviceOnly {
				t.Errorf("granted %v new %v identity %q deviceOnly %v; want %v %v %q %v", d.Granted, d.New, d.Identity, d.DeviceOnly, tt.granted, tt.new, tt.identity, tt.deviceOnly)
			}
		})
	}
}
