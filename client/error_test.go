package client

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
)

func asError(err error, target **Error) bool { return errors.As(err, target) }

// One error type answers status, code and field pointers whichever
// format the endpoint used.
func TestErrorAccessors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		code     string
		pointers []string
	}{
		{"management", 422, `{"errors":[{"code":"10027","title":"Invalid parameter","source":{"pointer":"/name"}},{"code":"10027","source":{"pointer":"/allowed_scopes/0"}},{"code":"10027","source":{"parameter":"page[size]"}}]}`,
			"10027", []string{"/name", "/allowed_scopes/0"}},
		{"protocol", 400, `{"error":"invalid_grant","error_description":"the code was used"}`, "invalid_grant", nil},
		{"registration", 400, `{"error":"invalid_client_metadata","invalid_fields":{"scope":["admin is sensitive"],"redirect_uris":["x"],"a/b~c":["odd"]}}`,
			"invalid_client_metadata", []string{"/a~1b~0c", "/redirect_uris", "/scope"}},
		{"not JSON", 503, `<html>busy</html>`, "", nil},
	} {
		e := parseError(tc.status, http.Header{}, []byte(tc.body))
		if e.Status() != tc.status || e.ErrorCode() != tc.code || !reflect.DeepEqual(e.Pointers(), tc.pointers) {
			t.Errorf("%s: status %d code %q pointers %q; want %d %q %q", tc.name, e.Status(), e.ErrorCode(), e.Pointers(), tc.status, tc.code, tc.pointers)
		}
	}
}
