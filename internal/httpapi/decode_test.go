package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grantd/grantd"
)

// TestDecodeObjectBodies pins how a management body that is not a JSON
// object is told apart: malformed JSON from valid JSON of another kind.
func TestDecodeObjectBodies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		code grantd.Code
		want string
	}{
		{"", grantd.CodeBadRequest, "request body must be a JSON object"},
		{"  \n", grantd.CodeBadRequest, "request body must be a JSON object"},
		{"{", grantd.CodeBadRequest, "request body is not valid JSON"},
		{`{"name":"a"} x`, grantd.CodeBadRequest, "request body is not valid JSON"},
		{`["name"]`, grantd.CodeBadRequest, "request body must be a JSON object"},
		{`"name"`, grantd.CodeBadRequest, "request body must be a JSON object"},
		{`{"name":1}`, grantd.CodeValidation, "validation failed"},
		{`{"name":"a"}`, "", ""},
	} {
		r := httptest.NewRequest("POST", "/v2/oauth_clients", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/json")
		var name string
		err := decodeObject(httptest.NewRecorder(), r, field{name: "name", dst: &name})
		if tc.code == "" {
			if err != nil || name != "a" {
				t.Errorf("%q: %v, name %q", tc.body, err, name)
			}
			continue
		}
		if e := grantd.AsError(err); e.Code != tc.code || e.Description != tc.want {
			t.Errorf("%q: %v, want %s: %s", tc.body, err, tc.code, tc.want)
		}
	}
}
