package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/store/postgres/pgtest"
)

// Issue 7 item 4, end to end: two `grantd serve` on one database.
// `grantd keys rotate --activate-in 0` runs beside them; node A reloads
// its keys often and signs with the new key within moments, node B's
// periodic reload does not run during the test. B must accept A's tokens
// at introspection and on the management API, and publish the new kid.
func TestNodesAfterImmediateRotation(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dir := t.TempDir()
			var dbArgs []string
			if db == "postgres" {
				dbArgs = []string{"--database", pgtest.Schema(t), "--secret-file", writeSecret(t)}
			} else {
				dbArgs = []string{"--database", filepath.Join(dir, "grantd.db")} // the master key is made beside it
			}
			// Nodes of one deployment share the issuer.
			dbArgs = append(dbArgs, "--issuer", "http://auth.example.test")
			a, stdout, _ := runServe(t, dir, append([]string{"--key-reload", "200ms"}, dbArgs...)...)
			b, _, _ := runServe(t, dir, append([]string{"--key-reload", "1h"}, dbArgs...)...)
			m := regexp.MustCompile(`(?m)^(grantd_key_\S+)$`).FindStringSubmatch(stdout.String())
			if m == nil {
				t.Fatalf("no bootstrap key on A's stdout:\n%s", stdout.String())
			}

			body := `{"name": "Ops job", "allowed_scopes": ["admin"], "client_type": "confidential", "allowed_grant_types": ["client_credentials"]}`
			req, _ := http.NewRequest("POST", a+"/v2/oauth_clients", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+m[1])
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			client := decode(t, resp, 201)["data"].(map[string]any)
			id, secret := client["client_id"].(string), client["client_secret"].(string)

			var out, errb bytes.Buffer
			if code := Run(context.Background(), append([]string{"grantd", "keys", "rotate", "--activate-in", "0"}, dbArgs...), env(nil), strings.NewReader(""), &out, &errb); code != 0 {
				t.Fatalf("keys rotate: %d %s", code, errb.String())
			}
			km := regexp.MustCompile(`new key (\S+) `).FindStringSubmatch(out.String())
			if km == nil {
				t.Fatalf("keys rotate printed %q", out.String())
			}
			kid := km[1]

			// A picks the key up by its own reload and signs with it
			// (a second after the old key activated, at the latest).
			var tok string
			deadline := time.Now().Add(30 * time.Second)
			for {
				tok = clientToken(t, a, id, secret)
				if jwtKid(t, tok) == kid {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("A still signs with %s, not the rotated %s", jwtKid(t, tok), kid)
				}
				time.Sleep(50 * time.Millisecond)
			}
			// B's periodic reload does not run, but the change feed
			// tells its cache of the new key, which loads the key ring
			// at once: B publishes the key within one second of the
			// rotation (and so, at the latest, by now).
			for end := time.Now().Add(time.Second); !slices.Contains(publishedKids(t, b), kid); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(end) {
					t.Fatalf("B does not publish the rotated key %s within one second", kid)
				}
			}

			form := url.Values{"token": {tok}}
			req, _ = http.NewRequest("POST", b+"/v2/oauth/introspect", strings.NewReader(form.Encode()))
			req.SetBasicAuth(id, secret)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if in := decode(t, resp, 200); in["active"] != true || in["client_id"] != id {
				t.Fatalf("B introspects A's token as %v, want active", in)
			}

			req, _ = http.NewRequest("GET", b+"/v2/oauth_clients", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			decode(t, resp, 200)

			if kids := publishedKids(t, b); !slices.Contains(kids, kid) {
				t.Errorf("B's JWKS = %v, want it to publish %s", kids, kid)
			}
		})
	}
}

// clientToken asks base for a client_credentials token with admin scope.
func clientToken(t *testing.T, base, id, secret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}
	req, _ := http.NewRequest("POST", base+"/v2/oauth/token", strings.NewReader(form.Encode()))
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := decode(t, resp, 200)["access_token"].(string)
	return tok
}

// jwtKid answers the kid of a JWT without verifying it.
func jwtKid(t *testing.T, tok string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func publishedKids(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/v2/oauth/jwks")
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range decode(t, resp, 200)["keys"].([]any) {
		kids = append(kids, k.(map[string]any)["kid"].(string))
	}
	return kids
}
