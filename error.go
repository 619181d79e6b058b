package grantd

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Code says what went wrong. OAuth codes are the RFC 6749/6750/7591/8707
// error strings; the others are management-API problems. The HTTP layer
// maps each code to a status and renders it in the endpoint's own format
// from one table (internal/httperr).
type Code string

// OAuth protocol error codes.
const (
	CodeInvalidRequest          Code = "invalid_request"
	CodeInvalidClient           Code = "invalid_client"
	CodeInvalidGrant            Code = "invalid_grant"
	CodeUnauthorizedClient      Code = "unauthorized_client"
	CodeUnsupportedGrantType    Code = "unsupported_grant_type"
	CodeUnsupportedResponseType Code = "unsupported_response_type"
	CodeInvalidScope            Code = "invalid_scope"
	CodeInvalidTarget           Code = "invalid_target"
	CodeAccessDenied            Code = "access_denied"
	CodeInvalidToken            Code = "invalid_token"
	CodeInvalidClientMetadata   Code = "invalid_client_metadata"
	CodeInvalidRedirectURI      Code = "invalid_redirect_uri"
	// The device authorization grant's answers while polling (RFC 8628 §3.5).
	CodeAuthorizationPending Code = "authorization_pending"
	CodeSlowDown             Code = "slow_down"
	CodeExpiredToken         Code = "expired_token"
	// CodeServerError is the one internal error, on every endpoint: 500,
	// server_error in RFC 6749 form, Telnyx 10007.
	CodeServerError            Code = "server_error"
	CodeTemporarilyUnavailable Code = "temporarily_unavailable"
)

// Management (and general HTTP) error codes.
const (
	CodeUnauthenticated      Code = "unauthenticated"        // 401, Telnyx 10009
	CodeForbidden            Code = "forbidden"              // 403, Telnyx 10010
	CodeNotFound             Code = "not_found"              // 404, Telnyx 10005
	CodeBadRequest           Code = "bad_request"            // 400, Telnyx 10015
	CodeMethodNotAllowed     Code = "method_not_allowed"     // 405, Telnyx 10015
	CodeTooLarge             Code = "request_too_large"      // 413, Telnyx 10015
	CodeHeadersTooLarge      Code = "headers_too_large"      // 431, Telnyx 10015
	CodeUnsupportedMediaType Code = "unsupported_media_type" // 415, Telnyx 10015
	CodeValidation           Code = "validation_failed"      // 422, Telnyx 10027
	CodeTooManyRequests      Code = "too_many_requests"      // 429, Telnyx 10011
)

// FieldError is one invalid field: a JSON pointer ("/name") and what is
// wrong with it.
type FieldError struct {
	Pointer string
	// Detail is what is wrong, in the management API's words.
	Detail string
	// Reason and Args are Detail before it was worded, for adapters whose
	// names differ (RFC 7591's, a form's labels): a fmt format in which
	// each term the wording depends on is in braces ("{allowed_scopes}
	// must name at least one scope"), and its arguments, which no
	// wording touches. Empty for a problem made with a literal Detail.
	Reason string
	Args   []any
}

// Field makes a field problem from a reason with terms in braces; its
// Detail words each term as itself.
func Field(pointer, reason string, args ...any) FieldError {
	f := FieldError{Pointer: pointer, Reason: reason, Args: args}
	f.Detail = f.Worded(nil)
	return f
}

// Worded answers the problem in a vocabulary: terms maps a term to its
// wording, and a term it lacks is worded as itself. A problem without a
// Reason answers its Detail.
func (f FieldError) Worded(terms map[string]string) string {
	if f.Reason == "" {
		return f.Detail
	}
	var b strings.Builder
	rest := f.Reason
	for {
		i := strings.IndexByte(rest, '{')
		j := strings.IndexByte(rest[i+1:], '}')
		if i < 0 || j < 0 {
			b.WriteString(rest)
			break
		}
		term := rest[i+1 : i+1+j]
		b.WriteString(rest[:i])
		if w, ok := terms[term]; ok {
			term = w
		}
		if len(f.Args) > 0 {
			term = strings.ReplaceAll(term, "%", "%%")
		}
		b.WriteString(term)
		rest = rest[i+2+j:]
	}
	if len(f.Args) == 0 {
		return b.String()
	}
	return fmt.Sprintf(b.String(), f.Args...)
}

// Error is the one error type of grantd. Description is safe to show to
// the client; Err is the cause, logged and never serialised.
type Error struct {
	Code        Code
	Description string
	Fields      []FieldError
	Err         error
}

func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// LogValue is what a log line shows of the error: the code, the
// description, the field problems and the cause, which no answer ever
// carries.
func (e *Error) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("code", string(e.Code))}
	if e.Description != "" {
		attrs = append(attrs, slog.String("description", e.Description))
	}
	for _, f := range e.Fields {
		attrs = append(attrs, slog.String("field "+f.Pointer, f.Detail))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("cause", e.Err.Error()))
	}
	return slog.GroupValue(attrs...)
}

// Is matches another *Error by code, so errors.Is(err, &Error{Code: X})
// asks "is this an X".
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code
	}
	return false
}

// E makes a fresh error with a client-safe description.
func E(code Code, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Code: code, Description: format}
	}
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// Wrap makes a fresh error with a cause that is logged, never shown. A
// cause that is the database being unavailable (ErrUnavailable) makes it
// temporarily_unavailable whatever code was asked for: the caller knows
// only that the call failed, the cause knows the failure passes.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	if errors.Is(cause, ErrUnavailable) {
		return Unavailable(cause)
	}
	e := E(code, format, args...)
	e.Err = cause
	return e
}

// Unavailable makes the temporarily_unavailable error of a database that
// cannot answer now (cause wraps ErrUnavailable): 503 with Retry-After.
func Unavailable(cause error) *Error {
	return &Error{Code: CodeTemporarilyUnavailable, Description: "the service is temporarily unavailable; try again shortly", Err: cause}
}

// Invalid makes a 422 validation error from field problems.
func Invalid(fields ...FieldError) *Error {
	return &Error{Code: CodeValidation, Description: "validation failed", Fields: fields}
}

// ErrorCode answers the code of err: its own for an *Error,
// temporarily_unavailable for a foreign error wrapping ErrUnavailable,
// server_error otherwise (a foreign error is always an internal one).
func ErrorCode(err error) Code {
	return AsError(err).Code
}

// AsError answers err as an *Error, wrapping a foreign error as an internal
// one whose description reveals nothing, or, when it wraps ErrUnavailable,
// as temporarily_unavailable.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, ErrUnavailable) {
		return Unavailable(err)
	}
	return &Error{Code: CodeServerError, Description: "internal error", Err: err}
}
