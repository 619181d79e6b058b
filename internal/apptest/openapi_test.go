package apptest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// The check finds what the document does not declare, and nothing in
// exchanges it does. Each case is a stand-in server that answers one
// request wrongly, as a bug in a handler would.
func TestOpenAPICheck(t *testing.T) {
	t.Parallel()
	d, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	const grant = `{"data":{"id":"eef5d01e-d63a-4328-8ed2-47b307d872c5","record_type":"oauth_grant","client_id":"c1","scopes":["admin"],"created_at":"2026-11-28T12:30:14Z","last_used_at":null}}`
	type answer struct {
		status      int
		contentType string
		body        string
		location    string
		bare        bool // without Cache-Control: no-store
	}
	for _, tc := range []struct {
		name, method, path, reqType, reqBody string
		answer                               answer
		want                                 string // "" when the exchange is as documented
	}{
		{"documented grant", "GET", "/v2/oauth_grants/eef5d01e-d63a-4328-8ed2-47b307d872c5", "", "", answer{200, "application/json", grant, "", false}, ""},
		{"documented envelope error", "GET", "/v2/oauth_grants/x", "", "", answer{404, "application/json", `{"errors":[{"code":"10005","title":"Resource not found","detail":"no OAuth grant with that id"}]}`, "", false}, ""},
		{"a member the resource lacks", "GET", "/v2/oauth_grants/eef5d01e-d63a-4328-8ed2-47b307d872c5", "", "", answer{200, "application/json", strings.Replace(grant, `"scopes"`, `"extra":1,"scopes"`, 1), "", false}, "not one the document declares"},
		{"an error in the wrong format", "GET", "/v2/oauth_clients", "", "", answer{400, "application/json", `{"error":"invalid_request"}`, "", false}, "not one the document declares"},
		{"a required header missing", "GET", "/v2/oauth_grants/eef5d01e-d63a-4328-8ed2-47b307d872c5", "", "", answer{200, "application/json", grant, "", true}, `header "Cache-Control" missing`},
		{"a status not declared", "GET", "/v2/oauth/jwks", "", "", answer{201, "application/json", `{"keys":[]}`, "", false}, "not one the document declares"},
		{"a wrong content type", "GET", "/v2/oauth/jwks", "", "", answer{200, "text/plain", `{"keys":[]}`, "", false}, "not one the document declares"},
		{"an accepted body the document refuses", "POST", "/v2/oauth_clients", "application/json", `{"name":"x","client_type":"weird","allowed_scopes":[],"allowed_grant_types":[]}`, answer{201, "application/json", `{}`, "", false}, "accepted a request the document refuses"},
		{"a refused bad body is not held against the request", "POST", "/v2/oauth_clients", "application/json", `{"client_type":"weird"}`, answer{422, "application/json", `{"errors":[{"code":"10027","title":"Invalid parameter","detail":"bad","source":{"pointer":"/client_type"}}]}`, "", false}, ""},
		{"a form without Content-Type is read as a form", "POST", "/v2/oauth/revoke", "", "token=abc&client_id=c1", answer{200, "application/json", `{}`, "", false}, ""},
		{"an error redirect is a refusal", "GET", "/v2/oauth/authorize?client_id=c1&response_type=token", "", "", answer{302, "", "", "https://app.example.com/cb?error=unsupported_response_type&iss=x", false}, ""},
		{"an unknown path answered 200", "GET", "/v2/nothing-here", "", "", answer{200, "application/json", `{}`, "", false}, "no such operation"},
		{"an unknown path answered in neither format", "GET", "/v2/nothing-here", "", "", answer{404, "application/json", `{"message":"no"}`, "", false}, "neither error format"},
		{"an unknown path answered as documented", "DELETE", "/v2/oauth/jwks", "", "", answer{405, "application/json", `{"error":"invalid_request","error_description":"method DELETE is not allowed here"}`, "", false}, ""},
		{"pages are not checked", "GET", "/login", "", "", answer{200, "text/html", "<p>", "", false}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &openAPICheck{d: d}
			h := c.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				buf := make([]byte, 1024)
				for {
					if _, err := r.Body.Read(buf); err != nil {
						break
					}
				}
				if tc.answer.contentType != "" {
					w.Header().Set("Content-Type", tc.answer.contentType)
				}
				if !tc.answer.bare {
					w.Header().Set("Cache-Control", "no-store")
				}
				if tc.answer.location != "" {
					w.Header().Set("Location", tc.answer.location)
				}
				w.WriteHeader(tc.answer.status)
				_, _ = w.Write([]byte(tc.answer.body))
			}))
			r := httptest.NewRequest(tc.method, "http://127.0.0.1:8080"+tc.path, strings.NewReader(tc.reqBody))
			if tc.reqType != "" {
				r.Header.Set("Content-Type", tc.reqType)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			got := c.Problems()
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("problems in a documented exchange: %q", got)
			case tc.want != "" && !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, tc.want) }):
				t.Errorf("problems %q, want one with %q", got, tc.want)
			}
		})
	}
}
