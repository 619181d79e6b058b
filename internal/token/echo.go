package token

import (
	"slices"
	"strings"
)

// MaxEcho is the longest value a client sent that an error message may
// repeat. Every secret grantd hands out is longer (a prefix and 43
// characters), and so are JWTs and most other services' keys.
const MaxEcho = 20

// Echoable reports whether a value a client sent may be repeated in an
// error description (and so in a log line or a redirect URL): at most
// MaxEcho characters of letters, digits and _ - . : / [ ], not starting
// like a JWT (eyJ, base64 of `{"`) and without a grantd secret prefix.
// A secret pasted into the wrong parameter (grant_type, scope, a field's
// name) is then never echoed, while a typo of a scope or grant type
// still is.
func Echoable(v string) bool {
	if len(v) > MaxEcho {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_-.:/[]", c) >= 0:
		default:
			return false
		}
	}
	return !strings.HasPrefix(v, "eyJ") && !strings.Contains(strings.ToLower(v), "grantd_")
}

// NotShown stands in a message for a value Echo does not show.
const NotShown = "(value not shown)"

// Echo is how an error message shows a value a client sent (or the name
// of a parameter or member it sent): quoted when it is Echoable or one of
// known, the names or values the endpoint itself defines, and as NotShown
// otherwise. Every description that mentions a presented value goes
// through it.
func Echo(v string, known ...string) string {
	if !Echoable(v) && !slices.Contains(known, v) {
		return NotShown
	}
	return `"` + v + `"`
}
