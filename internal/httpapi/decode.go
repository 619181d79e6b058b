package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/grantd/grantd"
)

// MaxBody is the largest request body any endpoint reads (SPEC §2).
const MaxBody = 1 << 20

// readBody reads the whole body up to MaxBody: 413 past it, 400 for
// invalid UTF-8.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, grantd.E(grantd.CodeTooLarge, "request body is larger than 1 MiB")
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, grantd.E(grantd.CodeTooLarge, "request body is larger than 1 MiB")
		}
		return nil, grantd.Wrap(grantd.CodeBadRequest, err, "could not read the request body")
	}
	if !utf8.Valid(b) {
		return nil, grantd.E(grantd.CodeBadRequest, "request body is not valid UTF-8")
	}
	return b, nil
}

func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "invalid"
	}
	return strings.ToLower(mt)
}

// field is one member of a JSON object a management endpoint accepts.
type field struct {
	name string
	dst  any   // pointer to decode into
	set  *bool // set to true when the member is present (null counts)
}

// decodeObject decodes a JSON object body into the given fields. Unknown
// members, wrong types and a non-object body are 422s naming the member;
// malformed JSON is 400; a wrong content type 415. It reports every
// problem at once.
func decodeObject(w http.ResponseWriter, r *http.Request, fields ...field) error {
	if mt := mediaType(r); mt != "" && mt != "application/json" {
		return grantd.E(grantd.CodeUnsupportedMediaType, "Content-Type must be application/json")
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return grantd.E(grantd.CodeBadRequest, "request body must be a JSON object")
	}
	if !json.Valid(body) {
		return grantd.E(grantd.CodeBadRequest, "request body is not valid JSON")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return grantd.E(grantd.CodeBadRequest, "request body must be a JSON object")
	}
	known := make(map[string]field, len(fields))
	for _, f := range fields {
		known[f.name] = f
	}
	var problems []grantd.FieldError
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		f, ok := known[k]
		if !ok {
			problems = append(problems, grantd.FieldError{Pointer: pointer(k), Detail: "unknown field " + quote(k)})
			continue
		}
		if f.set != nil {
			*f.set = true
		}
		if err := json.Unmarshal(raw[k], f.dst); err != nil {
			problems = append(problems, grantd.FieldError{Pointer: pointer(k), Detail: k + " has the wrong type"})
		}
	}
	if len(problems) > 0 {
		return grantd.Invalid(problems...)
	}
	return nil
}

// pointer escapes a member name into a JSON pointer (RFC 6901).
func pointer(name string) string {
	return "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// readOAuthParams reads a protocol endpoint's parameters from an
// application/x-www-form-urlencoded or application/json body (without a
// Content-Type, a body that opens an object is JSON). A parameter given
// twice is invalid_request (RFC 6749 §3.1) unless it is one of repeatable,
// whose repeats the engine judges (a repeated resource is invalid_target,
// RFC 8707 §2). For JSON, values must be strings (numbers and booleans are
// taken as their text).
func readOAuthParams(w http.ResponseWriter, r *http.Request, repeatable ...string) (url.Values, error) {
	mt := mediaType(r)
	switch mt {
	case "application/x-www-form-urlencoded", "application/json", "":
	default:
		// Refused before the body is read: there is nothing to parse.
		return nil, grantd.E(grantd.CodeInvalidRequest, "Content-Type must be application/x-www-form-urlencoded or application/json")
	}
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if trimmed := bytes.TrimSpace(body); mt == "application/json" || (mt == "" && len(trimmed) > 0 && trimmed[0] == '{') {
		return parseJSONParams(body)
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, grantd.E(grantd.CodeInvalidRequest, "malformed form body")
	}
	for k, vs := range v {
		if len(vs) > 1 && !slices.Contains(repeatable, k) {
			return nil, grantd.E(grantd.CodeInvalidRequest, "parameter %s is repeated", quote(k))
		}
	}
	return v, nil
}

func parseJSONParams(body []byte) (url.Values, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, grantd.E(grantd.CodeInvalidRequest, "request body must be a JSON object")
	}
	v := make(url.Values, len(raw))
	for k, m := range raw {
		m = bytes.TrimSpace(m)
		switch {
		case len(m) > 0 && m[0] == '"':
			var s string
			if err := json.Unmarshal(m, &s); err != nil {
				return nil, grantd.E(grantd.CodeInvalidRequest, "parameter %s is malformed", quote(k))
			}
			v.Set(k, s)
		case bytes.Equal(m, []byte("null")):
			// An absent parameter.
		case len(m) > 0 && (m[0] == '[' || m[0] == '{'):
			return nil, grantd.E(grantd.CodeInvalidRequest, "parameter %s must be a string", quote(k))
		default: // numbers and booleans
			v.Set(k, string(m))
		}
	}
	return v, nil
}
