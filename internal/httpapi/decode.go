package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
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

// mediaType answers the request's media type, lower-cased (by
// mime.ParseMediaType), "" without a Content-Type and "invalid" for one
// that does not parse.
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "invalid"
	}
	return mt
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
	members, ok := jsonMembers(body)
	if !ok {
		// jsonMembers has validated the body; only a failure needs
		// telling apart.
		if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
			return grantd.E(grantd.CodeBadRequest, "request body is not valid JSON")
		}
		return grantd.E(grantd.CodeBadRequest, "request body must be a JSON object")
	}
	known := make(map[string]field, len(fields))
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		known[f.name] = f
		names = append(names, f.name)
	}
	raw := make(map[string]json.RawMessage, len(members))
	var problems []grantd.FieldError
	for _, m := range members {
		if _, dup := raw[m.name]; dup {
			// encoding/json would keep the last silently; which one the
			// sender meant ("allowed": true or false?) is anyone's guess.
			problems = append(problems, nameProblem(m.name, pointer(m.name), names, "%s is given more than once"))
			continue
		}
		raw[m.name] = m.value
	}
	if len(problems) > 0 {
		return grantd.Invalid(problems...)
	}
	sent := make([]string, 0, len(raw))
	for k := range raw {
		sent = append(sent, k)
	}
	sort.Strings(sent)
	for _, k := range sent {
		f, ok := known[k]
		if !ok {
			problems = append(problems, nameProblem(k, pointer(k), nil, "unknown field %s"))
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

// nameProblem is a problem with a name the request sent (a body's member,
// a query parameter), its detail a format with one %s for the name, at
// the pointer to it. A name the endpoint knows (one of known) is shown
// and pointed at; any other only as token.Echo allows, which a pointer
// repeating it would defeat.
func nameProblem(name, at string, known []string, format string) grantd.FieldError {
	shown := token.Echo(name, known...)
	fe := grantd.FieldError{Detail: fmt.Sprintf(format, shown)}
	if shown != token.NotShown {
		fe.Pointer = at
	}
	return fe
}

// member is one member of a JSON object, in the order it was sent.
type member struct {
	name  string
	value json.RawMessage
}

// jsonMembers answers the members of a JSON object body, repeats
// included: encoding/json would keep only the last of a repeated name,
// and a repeat is something the caller must be able to refuse. It answers
// false for anything that is not one valid JSON object.
func jsonMembers(body []byte) ([]member, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		name, ok := t.(string)
		if err != nil || !ok {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, member{name: name, value: v})
	}
	return out, true
}

// readOAuthParams reads a protocol endpoint's parameters from an
// application/x-www-form-urlencoded or application/json body (without a
// Content-Type, a body that opens an object is JSON). A parameter given
// twice — a form field or a JSON member — is invalid_request (RFC 6749
// §3.1) unless it is one of repeatable, whose repeats the engine judges (a
// repeated resource is invalid_target, RFC 8707 §2). For JSON, values must
// be strings (a number or a boolean is invalid_request: which text it
// stands for, 1e3 or 1000, is anyone's guess); a repeatable parameter may
// also be an array of strings, JSON's way to repeat one. Names and values
// must be valid UTF-8 without NUL bytes once decoded: a form's
// percent-encoding can carry bytes the body's own check never sees.
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
	var v url.Values
	if trimmed := bytes.TrimSpace(body); mt == "application/json" || (mt == "" && len(trimmed) > 0 && trimmed[0] == '{') {
		if v, err = parseJSONParams(body, repeatable); err != nil {
			return nil, err
		}
	} else if v, err = url.ParseQuery(string(body)); err != nil {
		return nil, grantd.E(grantd.CodeInvalidRequest, "malformed form body")
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same answer for the same body
	for _, k := range keys {
		vs := v[k]
		if !cleanText(k) || slices.ContainsFunc(vs, func(s string) bool { return !cleanText(s) }) {
			return nil, grantd.E(grantd.CodeInvalidRequest, "parameters must be valid UTF-8 without NUL bytes")
		}
		if len(vs) > 1 && !slices.Contains(repeatable, k) {
			return nil, grantd.E(grantd.CodeInvalidRequest, "parameter %s is repeated", token.Echo(k))
		}
	}
	return v, nil
}

// cleanText reports whether s is valid UTF-8 without a NUL byte, which
// no stored text can hold (PostgreSQL refuses it outright) and no
// legitimate parameter carries.
func cleanText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// parseJSONParams answers the members of a JSON object body as
// parameters, each value once per time it was given, so that
// readOAuthParams judges repeats as it does for a form.
func parseJSONParams(body []byte, repeatable []string) (url.Values, error) {
	members, ok := jsonMembers(body)
	if !ok {
		return nil, grantd.E(grantd.CodeInvalidRequest, "request body must be a JSON object")
	}
	v := make(url.Values, len(members))
	for _, mb := range members {
		k, m := mb.name, bytes.TrimSpace(mb.value)
		switch {
		case len(m) > 0 && m[0] == '"':
			var s string
			if err := json.Unmarshal(m, &s); err != nil {
				return nil, grantd.E(grantd.CodeInvalidRequest, "parameter %s is malformed", token.Echo(k))
			}
			v.Add(k, s)
		case bytes.Equal(m, []byte("null")):
			// An absent parameter.
		case len(m) > 0 && m[0] == '[' && slices.Contains(repeatable, k):
			var ss []string
			if err := json.Unmarshal(m, &ss); err != nil {
				return nil, grantd.E(grantd.CodeInvalidRequest, "parameter %s must be a string or an array of strings", token.Echo(k))
			}
			v[k] = append(v[k], ss...)
		default: // numbers, booleans, other arrays, objects
			return nil, grantd.E(grantd.CodeInvalidRequest, "parameter %s must be a string", token.Echo(k))
		}
	}
	return v, nil
}

// repeatsMember reports whether a valid JSON value holds an object, at
// any depth, that gives one member twice: malformed JSON in all but name
// (RFC 8259 §4: names should be unique, and parsers disagree on which of
// two wins).
func repeatsMember(v json.RawMessage) bool {
	type frame struct {
		names      map[string]bool // nil for an array
		expectName bool
	}
	var open []*frame
	dec := json.NewDecoder(bytes.NewReader(v))
	for {
		t, err := dec.Token()
		if err != nil {
			return false // the end of the value
		}
		var top *frame
		if len(open) > 0 {
			top = open[len(open)-1]
		}
		if d, ok := t.(json.Delim); ok && (d == '}' || d == ']') {
			open = open[:len(open)-1]
			continue
		}
		if top != nil && top.names != nil && top.expectName {
			name, _ := t.(string)
			if top.names[name] {
				return true
			}
			top.names[name], top.expectName = true, false
			continue
		}
		// A value: its object expects a name after it.
		if top != nil && top.names != nil {
			top.expectName = true
		}
		switch t {
		case json.Delim('{'):
			open = append(open, &frame{names: map[string]bool{}, expectName: true})
		case json.Delim('['):
			open = append(open, &frame{})
		}
	}
}
