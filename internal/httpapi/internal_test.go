package httpapi

// The tests of unexported functions, which need no server; every test
// that needs one is in package httpapi_test and builds it through the
// one harness (internal/apptest).

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCanonicalPath(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]bool{
		"/": true, "/v2/oauth/token": true, "/v2/oauth_clients/": true, "/v2/a.b/..c/.d.": true, "/v2/%2ex": true,
		"*": true, "": true,
		"//": false, "/v2//x": false, "/./": false, "/v2/.": false, "/v2/..": false, "/v2/../x": false,
		"/%2e": false, "/%2E%2E/x": false, "/.%2e/": false, "/%2e./": false,
	} {
		if got := canonicalPath(p); got != want {
			t.Errorf("canonicalPath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestRepeatsMember(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		json string
		want bool
	}{
		{`1`, false},
		{`"a"`, false},
		{`{}`, false},
		{`{"a":1,"b":{"a":1}}`, false},
		{`[{"a":1},{"a":1}]`, false},
		{`{"a":[{"b":1}],"b":[1,{"c":{"b":2}}]}`, false},
		{`{"a":"b","b":"a"}`, false},
		{`{"a":1,"a":1}`, true},
		{`{"a":{"b":1,"b":2}}`, true},
		{`[[{"x":[],"x":{}}]]`, true},
		{`{"a":{"b":{}},"c":[],"a":0}`, true},
		{`{"\u0061":1,"a":2}`, true},
	} {
		if !json.Valid([]byte(tc.json)) {
			t.Fatalf("%s is not JSON", tc.json)
		}
		if got := repeatsMember(json.RawMessage(tc.json)); got != tc.want {
			t.Errorf("repeatsMember(%s) = %v, want %v", tc.json, got, tc.want)
		}
	}
}

// FuzzReadOAuthParams: whatever body a protocol endpoint reads, it is
// refused, or every parameter it answers is valid UTF-8 without NUL, and
// only resource repeats.
func FuzzReadOAuthParams(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "token=%ff%fe")
	f.Add("", "token=a%00b&resource=x&resource=y")
	f.Add("application/json", `{"token":1,"resource":["a","b"]}`)
	f.Add("application/json", `{"token":"\ud800","token_type_hint":null}`)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		r := httptest.NewRequest(http.MethodPost, "/v2/oauth/token", strings.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		v, err := readOAuthParams(httptest.NewRecorder(), r, "resource")
		if err != nil {
			return
		}
		for k, vs := range v {
			if len(vs) > 1 && k != "resource" {
				t.Fatalf("%q repeats: %q", k, vs)
			}
			for _, s := range append([]string{k}, vs...) {
				if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
					t.Fatalf("parameter %q = %q got through", k, vs)
				}
			}
		}
	})
}
