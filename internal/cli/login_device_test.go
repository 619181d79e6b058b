package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLoginDevice runs `grantd login --device` against a real server and
// approves through the consent API with the API key, as a consent portal
// would: the device page with Bearer sends the key's user to the consent,
// GET /v2/oauth/consent/{token} reads it, POST /v2/oauth/grants decides;
// the command's next poll prints the token.
func TestLoginDevice(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t, "--device-poll-interval", "1s")
	var app cliClient
	e.jsonOf(t, &app, "clients", "create", "--name", "CLI device app", "--client-type", "public",
		"--allowed-scopes", "admin", "--allowed-grant-types", "urn:ietf:params:oauth:grant-type:device_code,refresh_token")

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"grantd", "login", "--device", "--client-id", app.ClientID, "--scope", "admin"}, env(e.env), strings.NewReader(""), stdout, stderr)
	}()
	re := regexp.MustCompile(`or open (http://\S+/device\?user_code=\S+)`)
	var complete string
	for deadline := time.Now().Add(10 * time.Second); complete == ""; {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			complete = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("login --device exited with %d; stderr:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("login --device printed no URL; stdout:\n%s", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !regexp.MustCompile(`\n  [BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}\n`).MatchString(stdout.String()) {
		t.Fatalf("no user code printed:\n%s", stdout.String())
	}

	// The device page with the API key answers the consent page's address.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, complete, nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	res := must(noRedirect.Do(req))
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusSeeOther || loc.Query().Get("consent_token") == "" {
		t.Fatalf("device page: %s → %s", res.Status, res.Header.Get("Location"))
	}
	tok := loc.Query().Get("consent_token")
	req, _ = http.NewRequest(http.MethodGet, e.base+"/oauth/consent/"+tok, nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	res = must(http.DefaultClient.Do(req))
	var details struct {
		Data struct {
			Name        string `json:"name"`
			RedirectURI string `json:"redirect_uri"`
			Device      bool   `json:"device"`
		} `json:"data"`
	}
	json.NewDecoder(res.Body).Decode(&details)
	res.Body.Close()
	if res.StatusCode != 200 || details.Data.Name != "CLI device app" || !details.Data.Device || details.Data.RedirectURI != "" {
		t.Fatalf("consent details: %d %+v", res.StatusCode, details)
	}
	body, _ := json.Marshal(map[string]any{"allowed": true, "consent_token": tok})
	req, _ = http.NewRequest(http.MethodPost, e.base+"/oauth/grants", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	res = must(http.DefaultClient.Do(req))
	var dec struct {
		RedirectURI string `json:"redirect_uri"`
	}
	json.NewDecoder(res.Body).Decode(&dec)
	res.Body.Close()
	if res.StatusCode != 200 || dec.RedirectURI != e.issuer+"/device?result=approved" {
		t.Fatalf("decision: %d %+v", res.StatusCode, dec)
	}

	if code := wait(t, done); code != 0 {
		t.Fatalf("login --device exit %d; stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	var got struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		Scope        string `json:"scope"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &got); err != nil {
		t.Fatalf("token JSON: %v\n%s", err, out)
	}
	if got.AccessToken == "" || got.TokenType != "Bearer" || got.Scope != "admin" || !strings.HasPrefix(got.RefreshToken, "grantd_rt_") {
		t.Fatalf("token = %+v", got)
	}
	// The token is an admin token for the API.
	code, list, msg := e.runEnv(t, map[string]string{"GRANTD_BASE_URL": e.base, "GRANTD_API_KEY": got.AccessToken}, "clients", "list")
	if code != 0 || !strings.Contains(list, "CLI device app") {
		t.Fatalf("clients list with the device token: %d %s %s", code, list, msg)
	}
}

// A client not allowed the device grant is told so at once.
func TestLoginDeviceRefused(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	var app cliClient
	e.jsonOf(t, &app, "clients", "create", "--name", "Code only", "--client-type", "public",
		"--allowed-scopes", "admin", "--allowed-grant-types", "authorization_code", "--redirect-uris", "http://127.0.0.1/callback")
	if msg := e.fails(t, "login", "--device", "--client-id", app.ClientID); !strings.Contains(msg, "unauthorized_client") {
		t.Fatalf("stderr = %s", msg)
	}
}

// A bad --device-poll-interval stops serve with a message naming it.
func TestDevicePollIntervalFlag(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"0s", "1500ms", "2m"} {
		var stdout, stderr syncBuffer
		code := Run(context.Background(), []string{"grantd", "serve", "--database", t.TempDir() + "/g.db", "--device-poll-interval", v},
			env(nil), strings.NewReader(""), &stdout, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), "--device-poll-interval") {
			t.Errorf("%s: exit %d, stderr %s", v, code, stderr.String())
		}
	}
}
