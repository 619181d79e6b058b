// Package httperr is the one table from a grantd error code to what each
// adapter answers: the HTTP status, the RFC 6749 §5.2 error and its
// status on the protocol endpoints, the Telnyx envelope's code and title
// on the management API, and the status of an HTML page. The JSON API
// (internal/httpapi) and the pages (internal/web) both render from it, so
// a code added to the root package is given its answers once, here.
package httperr

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/grantd/grantd"
)

// Row is what one code answers in each format.
type Row struct {
	Status      int         // the status of record: the management API's and the authorize page's
	OAuthStatus int         // on the protocol endpoints (RFC 6749 §5.2: 400 but for 401s, 5xx and a few transport problems)
	OAuthName   grantd.Code // the "error" member: the code itself, or the nearest OAuth code
	TelnyxCode  string      // the Telnyx envelope's numeric code
	TelnyxTitle string
	Page        int // on the people-facing pages: protocol codes reaching a page are the person's request being wrong
}

const (
	badRequest   = "10015"
	unauthorized = "10009"
)

// table has one row per code in the root package (TestEveryCodeHasARow).
var table = map[grantd.Code]Row{
	grantd.CodeInvalidRequest:          oauthRow(http.StatusBadRequest, grantd.CodeInvalidRequest, http.StatusBadRequest),
	grantd.CodeInvalidClient:           {http.StatusUnauthorized, http.StatusUnauthorized, grantd.CodeInvalidClient, unauthorized, "Authentication failed", http.StatusBadRequest},
	grantd.CodeInvalidGrant:            oauthRow(http.StatusBadRequest, grantd.CodeInvalidGrant, http.StatusBadRequest),
	grantd.CodeUnauthorizedClient:      oauthRow(http.StatusBadRequest, grantd.CodeUnauthorizedClient, http.StatusBadRequest),
	grantd.CodeUnsupportedGrantType:    oauthRow(http.StatusBadRequest, grantd.CodeUnsupportedGrantType, http.StatusBadRequest),
	grantd.CodeUnsupportedResponseType: oauthRow(http.StatusBadRequest, grantd.CodeUnsupportedResponseType, http.StatusBadRequest),
	grantd.CodeInvalidScope:            oauthRow(http.StatusBadRequest, grantd.CodeInvalidScope, http.StatusBadRequest),
	grantd.CodeInvalidTarget:           oauthRow(http.StatusBadRequest, grantd.CodeInvalidTarget, http.StatusBadRequest),
	grantd.CodeAccessDenied:            {http.StatusForbidden, http.StatusBadRequest, grantd.CodeAccessDenied, "10010", "Forbidden", http.StatusForbidden},
	grantd.CodeInvalidToken:            {http.StatusUnauthorized, http.StatusUnauthorized, grantd.CodeInvalidToken, unauthorized, "Authentication failed", http.StatusBadRequest},
	grantd.CodeInvalidClientMetadata:   oauthRow(http.StatusBadRequest, grantd.CodeInvalidClientMetadata, http.StatusBadRequest),
	grantd.CodeInvalidRedirectURI:      oauthRow(http.StatusBadRequest, grantd.CodeInvalidRedirectURI, http.StatusBadRequest),
	grantd.CodeAuthorizationPending:    oauthRow(http.StatusBadRequest, grantd.CodeAuthorizationPending, http.StatusBadRequest),
	grantd.CodeSlowDown:                oauthRow(http.StatusBadRequest, grantd.CodeSlowDown, http.StatusBadRequest),
	grantd.CodeExpiredToken:            oauthRow(http.StatusBadRequest, grantd.CodeExpiredToken, http.StatusBadRequest),
	grantd.CodeServerError:             {http.StatusInternalServerError, http.StatusInternalServerError, grantd.CodeServerError, "10007", "Unexpected error", http.StatusInternalServerError},
	grantd.CodeTemporarilyUnavailable:  {http.StatusServiceUnavailable, http.StatusServiceUnavailable, grantd.CodeTemporarilyUnavailable, "10007", "Unexpected error", http.StatusServiceUnavailable},

	grantd.CodeUnauthenticated:      {http.StatusUnauthorized, http.StatusBadRequest, grantd.CodeInvalidRequest, unauthorized, "Authentication failed", http.StatusUnauthorized},
	grantd.CodeForbidden:            {http.StatusForbidden, http.StatusBadRequest, grantd.CodeInvalidRequest, "10010", "Forbidden", http.StatusForbidden},
	grantd.CodeNotFound:             {http.StatusNotFound, http.StatusNotFound, grantd.CodeInvalidRequest, "10005", "Resource not found", http.StatusNotFound},
	grantd.CodeBadRequest:           oauthRow(http.StatusBadRequest, grantd.CodeInvalidRequest, http.StatusBadRequest),
	grantd.CodeMethodNotAllowed:     {http.StatusMethodNotAllowed, http.StatusMethodNotAllowed, grantd.CodeInvalidRequest, badRequest, "Bad request", http.StatusMethodNotAllowed},
	grantd.CodeTooLarge:             {http.StatusRequestEntityTooLarge, http.StatusRequestEntityTooLarge, grantd.CodeInvalidRequest, badRequest, "Bad request", http.StatusRequestEntityTooLarge},
	grantd.CodeHeadersTooLarge:      {http.StatusRequestHeaderFieldsTooLarge, http.StatusRequestHeaderFieldsTooLarge, grantd.CodeInvalidRequest, badRequest, "Bad request", http.StatusBadRequest},
	grantd.CodeUnsupportedMediaType: {http.StatusUnsupportedMediaType, http.StatusBadRequest, grantd.CodeInvalidRequest, badRequest, "Bad request", http.StatusBadRequest},
	grantd.CodeValidation:           {http.StatusUnprocessableEntity, http.StatusBadRequest, grantd.CodeInvalidRequest, "10027", "Invalid parameter", http.StatusUnprocessableEntity},
	grantd.CodeTooManyRequests:      {http.StatusTooManyRequests, http.StatusTooManyRequests, grantd.CodeInvalidRequest, "10011", "Too many requests", http.StatusTooManyRequests},
}

// oauthRow is the row of a code that is a plain 400 everywhere.
func oauthRow(st int, name grantd.Code, page int) Row {
	return Row{st, http.StatusBadRequest, name, badRequest, "Bad request", page}
}

// Of answers the row of a code. A code without one (none in the root
// package) answers as an internal error on the API, a 400 named by itself
// on the protocol endpoints and a 400 page.
func Of(c grantd.Code) Row {
	if r, ok := table[c]; ok {
		return r
	}
	return Row{http.StatusInternalServerError, http.StatusBadRequest, c, "10007", "Unexpected error", http.StatusBadRequest}
}

// Status answers the status of record of an error code.
func Status(c grantd.Code) int { return Of(c).Status }

type apiErrorSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

type apiError struct {
	Code   string          `json:"code"`
	Title  string          `json:"title"`
	Detail string          `json:"detail"`
	Source *apiErrorSource `json:"source,omitempty"`
}

// Telnyx renders the Telnyx envelope: one entry per problem. The cause
// (e.Err) is never part of it.
func Telnyx(e *grantd.Error) (int, []byte) {
	row := Of(e.Code)
	var errs []apiError
	for _, f := range e.Fields {
		ae := apiError{Code: row.TelnyxCode, Title: row.TelnyxTitle, Detail: f.Detail}
		switch {
		case strings.HasPrefix(f.Pointer, "/"):
			ae.Source = &apiErrorSource{Pointer: f.Pointer}
		case f.Pointer != "":
			ae.Source = &apiErrorSource{Parameter: f.Pointer}
		}
		errs = append(errs, ae)
	}
	if len(errs) == 0 {
		detail := e.Description
		if detail == "" {
			detail = row.TelnyxTitle
		}
		errs = append(errs, apiError{Code: row.TelnyxCode, Title: row.TelnyxTitle, Detail: detail})
	}
	b, _ := json.Marshal(map[string]any{"errors": errs})
	return row.Status, b
}

type oauthError struct {
	Error            string              `json:"error"`
	ErrorDescription string              `json:"error_description,omitempty"`
	InvalidFields    map[string][]string `json:"invalid_fields,omitempty"`
}

// OAuth renders RFC 6749 §5.2 (with RFC 7591's invalid_fields for
// invalid_client_metadata). Codes that are not OAuth codes (a body too
// large, a rate limit, an internal failure) are named with the nearest
// OAuth code. The cause (e.Err) is never part of it.
func OAuth(e *grantd.Error) (int, []byte) {
	row := Of(e.Code)
	body := oauthError{Error: string(row.OAuthName), ErrorDescription: e.Description}
	if e.Code == grantd.CodeInvalidClientMetadata && len(e.Fields) > 0 {
		body.InvalidFields = map[string][]string{}
		for _, f := range e.Fields {
			k := strings.TrimPrefix(f.Pointer, "/")
			body.InvalidFields[k] = append(body.InvalidFields[k], f.Detail)
		}
	}
	b, _ := json.Marshal(body)
	return row.OAuthStatus, b
}
