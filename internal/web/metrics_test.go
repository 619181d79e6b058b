package web_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/grantd/grantd/internal/token"
)

// rateLimited answers grantd_rate_limited_total{limit=limit} as the
// server's /metrics shows it.
func rateLimited(t *testing.T, e *env, limit string) int {
	t.Helper()
	res, err := http.Get(e.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	m := regexp.MustCompile(`(?m)^grantd_rate_limited_total\{limit="` + regexp.QuoteMeta(limit) + `"\} (\d+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no grantd_rate_limited_total for %s in:\n%s", limit, b)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// A page's 429 counts in grantd_rate_limited_total under the limit that
// refused it: API keys that are not valid, presented to the consent page.
func TestPageRefusalsAreCounted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if n := rateLimited(t, e, "api-key"); n != 0 {
		t.Fatalf("before: %d", n)
	}
	refused := 0
	for i := range 25 {
		p := bearerDo(t, e, "GET", "/login", fmt.Sprintf("%sguess%d", token.PrefixAPIKey, i), nil)
		if p.StatusCode == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no 429 after 25 keys that are not valid")
	}
	if n := rateLimited(t, e, "api-key"); n != refused {
		t.Errorf("grantd_rate_limited_total{limit=\"api-key\"} = %d, want the %d refusals", n, refused)
	}
}
