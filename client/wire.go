package client

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The decoding helpers below are forgiving of what other servers send:
// numbers as strings, a single string where a list is expected, null
// everywhere, and times in RFC 3339 or Unix seconds.

// flexInt reads a JSON number or a string holding one; null and
// anything unreadable are 0.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		*n = flexInt(f)
	} else {
		*n = 0
	}
	return nil
}

// flexString reads a string, or the text of a number or bool; null is "".
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		*s = flexString(v)
	case nil:
		*s = ""
	default:
		*s = flexString(bytes.TrimSpace(b))
	}
	return nil
}

// flexList reads a list of strings, a single string, or a space-separated
// string; null is nil.
type flexList []string

func (l *flexList) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		*l = strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		*l = out
	default:
		*l = nil
	}
	return nil
}

// flexBool reads a bool or "true"/"false"; anything else is false.
type flexBool bool

func (x *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	*x = flexBool(s == "true")
	return nil
}

// flexTime reads an RFC 3339 string or Unix seconds; null and anything
// unreadable are the zero time.
type flexTime time.Time

func (t *flexTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
		*t = flexTime(tm.UTC())
	} else if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*t = flexTime(time.Unix(n, 0).UTC())
	} else {
		*t = flexTime{}
	}
	return nil
}

func (l flexList) strings() []string {
	if l == nil {
		return []string{}
	}
	return []string(l)
}
