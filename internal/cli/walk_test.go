package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeStep is one command of the README's first five minutes and the
// output the README shows for it.
type readmeStep struct {
	command string
	output  []string
}

// firstFiveMinutes reads the steps of the README's section "The first
// five minutes": every line that starts with "$ " in its code blocks is a
// command (continued by a trailing backslash), and the lines up to the
// next command are its output.
func firstFiveMinutes(t *testing.T) []readmeStep {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## The first five minutes\n")
	if !ok {
		t.Fatal("README.md has no section \"The first five minutes\"")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var steps []readmeStep
	inBlock, continued := false, false
	for _, line := range strings.Split(sec, "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inBlock = !inBlock
		case !inBlock:
		case continued:
			s := &steps[len(steps)-1]
			s.command += " " + strings.TrimSpace(strings.TrimSuffix(line, `\`))
			continued = strings.HasSuffix(line, `\`)
		case strings.HasPrefix(line, "$ "):
			steps = append(steps, readmeStep{command: strings.TrimSuffix(strings.TrimPrefix(line, "$ "), `\`)})
			continued = strings.HasSuffix(line, `\`)
		case len(steps) > 0:
			s := &steps[len(steps)-1]
			s.output = append(s.output, line)
		}
	}
	for i := range steps {
		steps[i].command = strings.Join(strings.Fields(steps[i].command), " ")
		for len(steps[i].output) > 0 && strings.TrimSpace(steps[i].output[len(steps[i].output)-1]) == "" {
			steps[i].output = steps[i].output[:len(steps[i].output)-1]
		}
	}
	return steps
}

// variable are the parts of an output line that differ from run to run:
// what the README elides (…), UUIDs, client ids (22 URL-safe characters
// or UUIDs), times, and numbers of four digits or more
// (ports, Unix times, lifetimes); runs of spaces, which align columns of
// values that vary, match any run of spaces.
var variable = regexp.MustCompile(`…|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[A-Za-z0-9_-]{22}\b|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ|\d{4,}| +`)

// shape answers the pattern a real output line must match to have the
// shape of the README's line.
func shape(line string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, m := range variable.FindAllStringIndex(line, -1) {
		b.WriteString(regexp.QuoteMeta(line[last:m[0]]))
		v := line[m[0]:m[1]]
		switch {
		case v == "…":
			b.WriteString(".*")
		case strings.TrimSpace(v) == "":
			b.WriteString(" +")
		case strings.Count(v, "-") == 4 && len(v) == 36, len(v) == 22:
			b.WriteString(`(?:[A-Za-z0-9_-]{22}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`)
		default:
			b.WriteString(`[0-9TZ:-]+`)
		}
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(line[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// sameShape fails the test unless got has the shape of the README's
// lines, line by line; a README line that is "…" alone stands for any
// number of lines. README lines whose shape a line of alsoShown matches
// (what the command wrote to stderr, which the README shows in place)
// are not looked for in got.
func sameShape(t *testing.T, step readmeStep, got, alsoShown string) {
	t.Helper()
	var side []string
	for _, l := range strings.Split(alsoShown, "\n") {
		if strings.TrimSpace(l) != "" {
			side = append(side, strings.TrimRight(l, " "))
		}
	}
	var want []string
outer:
	for _, l := range step.output {
		for _, s := range side {
			if shape(l).MatchString(s) {
				continue outer
			}
		}
		want = append(want, strings.TrimRight(l, " "))
	}
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if got == "" {
		lines = nil
	}
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	if !matchLines(want, lines) {
		t.Fatalf("$ %s\nprinted:\n%s\nwhich has not the shape the README shows:\n%s", step.command, got, strings.Join(step.output, "\n"))
	}
}

func matchLines(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if want[0] == "…" {
		for i := 0; i <= len(got); i++ {
			if matchLines(want[1:], got[i:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && shape(want[0]).MatchString(got[0]) && matchLines(want[1:], got[1:])
}

// learn records, for each README value that varies (an id, an elided
// secret), the real value in the same place of the real output, so that
// later commands of the README can be run with the real values.
func learn(subs map[string]string, readme []string, got string) {
	real := strings.Split(got, "\n")
	for i, l := range readme {
		if i >= len(real) {
			return
		}
		rf, gf := strings.Fields(l), strings.Fields(real[i])
		if len(rf) != len(gf) {
			continue
		}
		for j := range rf {
			if rf[j] != gf[j] && variable.MatchString(rf[j]) && !strings.HasPrefix(rf[j], "http") {
				subs[rf[j]] = gf[j]
			}
		}
	}
}

// words splits a README command as a shell would: double and single
// quotes group, and README values are replaced by the real ones.
func words(t *testing.T, cmd string, subs map[string]string) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	quote, in := rune(0), false
	for _, r := range cmd {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %q", cmd)
	}
	if in {
		out = append(out, cur.String())
	}
	for i, w := range out {
		for from, to := range subs {
			w = strings.ReplaceAll(w, from, to)
		}
		out[i] = w
	}
	return out
}

// TestFirstFiveMinutes runs the README's first five minutes through the
// real program (cli.Run), each command as the README writes it with its
// ids and secrets replaced by the real ones, and checks that each prints
// output of the shape the README shows. The person in the browser of
// `grantd login` is played by the API key, as a consent portal would.
func TestFirstFiveMinutes(t *testing.T) {
	t.Parallel()
	steps := firstFiveMinutes(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "grantd.db")
	vars := map[string]string{}
	subs := map[string]string{}
	var e *apiEnv
	run := func(stdin string, args ...string) (string, string) {
		t.Helper()
		var stdout, stderr syncBuffer
		if code := Run(context.Background(), append([]string{"grantd"}, args...), env(vars), strings.NewReader(stdin), &stdout, &stderr); code != 0 {
			t.Fatalf("grantd %s: exit %d\nstderr: %s", strings.Join(args, " "), code, stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	var ran []string
	for _, step := range steps {
		cmd := step.command
		var stdout, stderr string
		switch {
		case cmd == "grantd serve":
			issuer, out, _ := runServe(t, dir)
			// runServe gives stdout; the README shows the logs (stderr) too.
			var shown []string
			for _, l := range step.output {
				if !strings.HasPrefix(l, `{"time"`) {
					shown = append(shown, l)
				}
			}
			step.output = shown
			// The README runs in the database's directory.
			stdout = strings.ReplaceAll(out.String(), dir+string(filepath.Separator), "")
			vars["GRANTD_BASE_URL"] = issuer + "/v2"
			e = &apiEnv{issuer: issuer, base: issuer + "/v2", env: vars}
		case strings.HasPrefix(cmd, "echo "):
			// echo 'PASSPHRASE' | grantd user create …
			echo, rest, ok := strings.Cut(cmd, " | ")
			if !ok {
				t.Fatalf("README step %q: want echo … | grantd …", cmd)
			}
			in := strings.Join(words(t, echo, subs)[1:], " ") + "\n"
			stdout, stderr = run(in, append(words(t, rest, subs)[1:], "--database", db)...)
		case strings.HasPrefix(cmd, "export GRANTD_API_KEY=$("):
			inner := strings.TrimSuffix(strings.TrimPrefix(cmd, "export GRANTD_API_KEY=$("), ")")
			key, _ := run("", append(words(t, inner, subs)[1:], "--database", db)...)
			key = strings.TrimSpace(key)
			if !regexp.MustCompile(`^grantd_key_[A-Za-z0-9_-]+$`).MatchString(key) {
				t.Fatalf("apikey create printed %q, want only the key", key)
			}
			vars["GRANTD_API_KEY"], e.key = key, key
		case strings.HasPrefix(cmd, "export "):
			for _, w := range words(t, cmd, subs)[1:] {
				k, v, _ := strings.Cut(w, "=")
				vars[k] = v
			}
		case strings.HasPrefix(cmd, "unset "):
			for _, w := range strings.Fields(cmd)[1:] {
				delete(vars, w)
			}
		case strings.HasPrefix(cmd, "grantd login"):
			stdout, stderr = walkLogin(t, e, words(t, cmd, subs)[1:])
		case strings.HasPrefix(cmd, "grantd "):
			stdout, stderr = run("", words(t, cmd, subs)[1:]...)
		default:
			t.Fatalf("README step %q is not a command this test knows how to run", cmd)
		}
		if e == nil {
			t.Fatalf("README step %q comes before grantd serve", cmd)
		}
		sameShape(t, step, stdout, stderr)
		learn(subs, step.output, stdout)
		ran = append(ran, strings.Fields(cmd)[0]+" "+strings.Fields(cmd)[1])
	}
	// The walk is the one the README promises.
	want := []string{"grantd serve", "echo 'a", "export GRANTD_API_KEY=$(grantd", "grantd clients", "export GRANTD_CLIENT_ID=0c6a2f0e-5b1d-4e8a-9c3f-2d7b1a6e4f90",
		"grantd token", "grantd introspect", "unset GRANTD_CLIENT_ID", "grantd clients", "grantd login", "grantd grants", "grantd grants", "grantd grants"}
	if strings.Join(ran, "|") != strings.Join(want, "|") {
		t.Fatalf("the README's walk is\n%q\nwant\n%q", ran, want)
	}
}

// walkLogin runs `grantd login` with args, plays the person in the
// browser with the API key, and answers what login printed.
func walkLogin(t *testing.T, e *apiEnv, args []string) (string, string) {
	t.Helper()
	if len(args) == 0 || args[0] != "login" {
		t.Fatalf("walkLogin(%q)", args)
	}
	u, stdout, stderr, done := e.startLogin(t, args[1:]...)
	if status, body := follow(t, e.decide(t, u, true)); status != 200 || !strings.Contains(body, "Signed in") {
		t.Fatalf("the loopback redirect answered %d %s", status, body)
	}
	if code := wait(t, done); code != 0 {
		t.Fatalf("login exited %d; stderr:\n%s", code, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// The shapes the walk compares by: what varies may vary, nothing else.
func TestReadmeShape(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		readme, got string
		match       bool
	}{
		{"1 result", "1 result", true},
		{"1 result", "3 results", false},
		{"client_id            CJS-hbb4SHP0Ckf6drRiIA", "client_id  0f8e5a3c-9d1b-4c2e-8f7a-6b5d4c3e2f1a", true},
		{"client_secret        grantd_secret_…   (shown once: store it now)", "client_secret  grantd_secret_abc  (shown once: store it now)", true},
		{"client_secret        grantd_secret_…   (shown once: store it now)", "client_secret  grantd_secret_abc", false},
		{"iat         1796195494 (2026-12-02T07:11:34Z)", "iat  1796200000 (2026-12-02T08:31:34Z)", true},
		{"token_type    Bearer", "token_type    bearer", false},
	} {
		if got := shape(tc.readme).MatchString(tc.got); got != tc.match {
			t.Errorf("shape(%q) matches %q: %v, want %v", tc.readme, tc.got, got, tc.match)
		}
	}
	if !matchLines([]string{"a", "…", "z"}, []string{"a", "b", "c", "z"}) || matchLines([]string{"a", "z"}, []string{"a", "b", "z"}) {
		t.Error("… stands for any number of lines, and only …")
	}
}
