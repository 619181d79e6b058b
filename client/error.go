package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Error is an answer outside 2xx. Management endpoints fill Errors (the
// Telnyx envelope); protocol endpoints fill Code and Description (RFC
// 6749 §5.2) and, for registration, InvalidFields (RFC 7591). Use
// errors.As to reach it.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int

	// Errors are the entries of a {"errors": […]} answer.
	Errors []ErrorEntry

	// Code is the RFC 6749 error code, such as "invalid_grant".
	Code string
	// Description is its error_description.
	Description string
	// InvalidFields are RFC 7591 problems by field name.
	InvalidFields map[string][]string

	// RetryAfter is the Retry-After header of a 429 or 503, if any.
	RetryAfter string
}

// ErrorEntry is one problem of a Telnyx error envelope.
type ErrorEntry struct {
	Code   string // "10027"
	Title  string // "Invalid parameter"
	Detail string
	// Pointer is a JSON pointer into the request body (source.pointer).
	Pointer string
	// Parameter names a query parameter (source.parameter).
	Parameter string
}

// Error joins the server's messages. It holds only what the server said
// about the request, never the credentials sent with it.
func (e *Error) Error() string {
	var parts []string
	for _, en := range e.Errors {
		msg := en.Detail
		if msg == "" {
			msg = en.Title
		}
		if msg == "" {
			msg = "error " + en.Code
		}
		switch {
		case en.Pointer != "":
			msg += " (" + en.Pointer + ")"
		case en.Parameter != "":
			msg += " (" + en.Parameter + ")"
		}
		parts = append(parts, msg)
	}
	if e.Code != "" {
		msg := e.Code
		if e.Description != "" {
			msg += ": " + e.Description
		}
		parts = append(parts, msg)
	}
	status := fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if len(parts) == 0 {
		return "API: " + status
	}
	return "API: " + status + ": " + strings.Join(parts, "; ")
}

// wireError is both error formats at once; unknown members are ignored.
type wireError struct {
	Errors []struct {
		Code   flexString `json:"code"`
		Title  flexString `json:"title"`
		Detail flexString `json:"detail"`
		Source struct {
			Pointer   flexString `json:"pointer"`
			Parameter flexString `json:"parameter"`
		} `json:"source"`
	} `json:"errors"`
	Error         flexString          `json:"error"`
	Description   flexString          `json:"error_description"`
	InvalidFields map[string]flexList `json:"invalid_fields"`
}

// parseError reads an error answer in either format; a body that is
// neither still gives an *Error with the status.
func parseError(status int, h http.Header, body []byte) *Error {
	e := &Error{StatusCode: status, RetryAfter: h.Get("Retry-After")}
	var w wireError
	if json.Unmarshal(body, &w) != nil {
		return e
	}
	for _, en := range w.Errors {
		e.Errors = append(e.Errors, ErrorEntry{
			Code: string(en.Code), Title: string(en.Title), Detail: string(en.Detail),
			Pointer: string(en.Source.Pointer), Parameter: string(en.Source.Parameter),
		})
	}
	e.Code, e.Description = string(w.Error), string(w.Description)
	if len(w.InvalidFields) > 0 {
		e.InvalidFields = make(map[string][]string, len(w.InvalidFields))
		for k, v := range w.InvalidFields {
			e.InvalidFields[k] = v.strings()
		}
	}
	return e
}

// Status answers the HTTP status of the answer.
func (e *Error) Status() int { return e.StatusCode }

// ErrorCode answers the error's code whichever format the endpoint
// uses: the RFC 6749 code ("invalid_grant") of a protocol endpoint, or
// the code of the first problem ("10027") of a management one.
func (e *Error) ErrorCode() string {
	if e.Code != "" {
		return e.Code
	}
	if len(e.Errors) > 0 {
		return e.Errors[0].Code
	}
	return ""
}

// Pointers answers a JSON pointer (RFC 6901) for each field of the
// request the server found a problem with, in the server's order: the
// source.pointer of each problem of a management answer, then, sorted,
// one per field of a registration answer's invalid_fields ("/scope").
func (e *Error) Pointers() []string {
	var out []string
	for _, en := range e.Errors {
		if en.Pointer != "" {
			out = append(out, en.Pointer)
		}
	}
	fields := make([]string, 0, len(e.InvalidFields))
	for f := range e.InvalidFields {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		out = append(out, "/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(f))
	}
	return out
}
