package cli

import (
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grantd/grantd/internal/store/postgres/pgtest"
)

// waitLog waits until the log holds a match of re, and answers it.
func waitLog(t *testing.T, what string, log *syncBuffer, re *regexp.Regexp) []string {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; {
		if m := re.FindStringSubmatch(log.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within 60 s: %s; log:\n%s", what, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	gcRan     = regexp.MustCompile(`"msg":"background job ran","job":"gc"`)
	nowLeader = regexp.MustCompile(`"msg":"this node is now the leader`)
	rotated   = regexp.MustCompile(`"msg":"rotated the signing key on schedule[^"]*","kid":"([^"]+)"`)
)

// Issue 11: two `grantd serve` on one database with a short GC interval
// and a short rotation schedule. Only one node leads: it alone removes
// expired rows, and it alone rotates the signing key, whose new key the
// other node publishes in its JWKS while the leader still signs with the
// old one. When the leader stops, the other node takes the jobs over.
func TestNodesBackgroundWorkOnOneNode(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var dbArgs []string
			if db == "postgres" {
				dbArgs = []string{"--database", pgtest.Schema(t), "--secret-file", writeSecret(t)}
			} else {
				dbArgs = []string{"--database", filepath.Join(dir, "grantd.db")}
			}
			args := append([]string{"--issuer", "http://auth.example.test", "--log-level", "debug",
				"--gc-every", "100ms", "--key-reload", "200ms",
				"--key-rotation-period", "6s", "--key-activation-delay", "4s"}, dbArgs...)
			// Two processes of the built binary, as two machines run it.
			na, nb := startNode(t, args...), startNode(t, args...)
			a, stdout, aLog, stopA := na.base, na.stdout, na.stderr, na.stop
			b, bLog, stopB := nb.base, nb.stderr, nb.stop
			m := regexp.MustCompile(`(?m)^(grantd_key_\S+)$`).FindStringSubmatch(stdout.String())
			if m == nil {
				t.Fatalf("no bootstrap key on A's stdout:\n%s", stdout.String())
			}

			// Which node leads is a race; the one that does says so.
			leaderURL, followerURL, leaderLog, followerLog, stopLeader := a, b, aLog, bLog, stopA
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if nowLeader.MatchString(aLog.String()) {
					break
				}
				if nowLeader.MatchString(bLog.String()) {
					leaderURL, followerURL, leaderLog, followerLog, stopLeader = b, a, bLog, aLog, stopB
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no node leads; A:\n%s\nB:\n%s", aLog, bLog)
				}
			}
			for deadline := time.Now().Add(60 * time.Second); len(gcRan.FindAllString(leaderLog.String(), -1)) < 5; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the leader did not run the GC 5 times:\n%s", leaderLog)
				}
			}

			// A client on the leader, to watch which key it signs with.
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
			oldKid := jwtKid(t, clientToken(t, leaderURL, id, secret))

			kid := waitLog(t, "the leader rotates the key on schedule", leaderLog, rotated)[1]
			// Each round reads the follower's JWKS, then the kid the
			// leader signs with: the follower must publish the new key
			// while the leader still signs with the old one.
			publishedFirst := false
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				published := slices.Contains(publishedKids(t, followerURL), kid)
				signs := jwtKid(t, clientToken(t, leaderURL, id, secret))
				if signs == kid {
					break
				}
				if signs != oldKid {
					t.Fatalf("the leader signs with %s, neither the old %s nor the rotated %s", signs, oldKid, kid)
				}
				publishedFirst = publishedFirst || published
				if time.Now().After(deadline) {
					t.Fatalf("the leader never signs with the rotated key %s", kid)
				}
			}
			if !publishedFirst {
				t.Fatalf("the follower did not publish %s before the leader signed with it", kid)
			}
			if kids := publishedKids(t, followerURL); !slices.Contains(kids, kid) || !slices.Contains(kids, oldKid) {
				t.Errorf("the follower's JWKS = %v, want the new %s and the retired %s", kids, kid, oldKid)
			}

			// The follower ran nothing.
			if l := followerLog.String(); gcRan.MatchString(l) || rotated.MatchString(l) || nowLeader.MatchString(l) {
				t.Fatalf("the follower led or ran a job:\n%s", l)
			}

			// The leader stops (and resigns): the other node takes over.
			if code := stopLeader(); code != 0 {
				t.Fatalf("the leader exited with %d", code)
			}
			waitLog(t, "the other node leads once the leader stopped", followerLog, nowLeader)
			waitLog(t, "the new leader runs the GC", followerLog, gcRan)
		})
	}
}
