package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/grantd/grantd/internal/apptest"
)

// A form posted from another site is refused by Sec-Fetch-Site even with
// the right CSRF token; one posted from the pages themselves is not.
func TestFormsRefuseCrossSitePosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, email, pw)
	for _, tt := range []struct {
		site string
		want int
	}{
		{"cross-site", http.StatusForbidden},
		{"same-site", http.StatusForbidden},
		{"same-origin", http.StatusSeeOther},
	} {
		t.Run(tt.site, func(t *testing.T) {
			b := e.browser(t)
			b.login(t, email, pw)
			csrf := csrfOf(t, b.get(t, "/apps"))
			req, _ := http.NewRequest("POST", e.URL+"/logout", strings.NewReader(url.Values{"csrf_token": {csrf}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", tt.site)
			if res := b.do(t, req); res.StatusCode != tt.want {
				t.Fatalf("logout posted %s: %d, want %d", tt.site, res.StatusCode, tt.want)
			}
		})
	}
}

// The pages and the API judge cross-origin requests with the one
// CrossOriginProtection the composition root hands both: a rule added to
// it (here a bypass, which no deployment sets) governs both adapters.
func TestPagesAndAPIShareOneCrossOriginProtection(t *testing.T) {
	t.Parallel()
	cop := http.NewCrossOriginProtection()
	cop.AddInsecureBypassPattern("POST /logout")
	cop.AddInsecureBypassPattern("POST /v2/oauth/grants")
	e := newEnv(t, func(o *apptest.Options) { o.CrossOrigin = cop })
	e.user(t, email, pw)
	b := e.browser(t)
	b.login(t, email, pw)

	req, _ := http.NewRequest("POST", e.URL+"/v2/oauth/grants", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := b.do(t, req); res.StatusCode == http.StatusForbidden {
		t.Errorf("API consent decision: 403, want the shared protection's bypass to apply\n%s", res.text())
	}

	csrf := csrfOf(t, b.get(t, "/apps"))
	req, _ = http.NewRequest("POST", e.URL+"/logout", strings.NewReader(url.Values{"csrf_token": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := b.do(t, req); res.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d, want the shared protection's bypass to apply", res.StatusCode)
	}
}
