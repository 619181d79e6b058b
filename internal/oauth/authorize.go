package oauth

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grantd/grantd"
	"github.com/grantd/grantd/internal/token"
)

// AuthorizeResult is what the authorization endpoint answers when the
// request is good enough to answer the client (or to ask who the user is).
type AuthorizeResult struct {
	// Redirect: where to send the browser with a 302 — the client's
	// redirect URI with code/state/iss, or with
	// error/error_description/state/iss; or the consent page
	// {ConsentURL}?consent_token=…
	Redirect string
	// Login: no signed-in user and the client and redirect URI are
	// trusted: the adapter sends the browser to
	// /login?return_to=<the authorize path+query>.
	Login bool
}

// Error codes of OpenID Connect Core §3.1.2.6 that authorize answers to
// prompt=none. They only ever travel in a redirect, so the status table
// does not need them.
const (
	codeLoginRequired   grantd.Code = "login_required"
	codeConsentRequired grantd.Code = "consent_required"
)

// Bounds on authorization request parameters. A browser or proxy would
// cut a longer URL anyway; refusing early keeps stored consents small.
// (maxClientIDLength is shared with client authentication.)
const maxStateLength = 2048

// authorizeParams are the parameters an authorization request may carry
// that grantd reads: an error message names these as they are, and any
// other name only as token.Echo allows.
var authorizeParams = []string{
	"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
	"code_challenge_method", "resource", "prompt", "response_mode",
}

// authRequest is an authorization request that passed validation: what a
// consent records and what a code is bound to.
type authRequest struct {
	client grantd.Client
	// redirect is where the answer goes; requested is the redirect_uri
	// parameter as sent, "" when it was omitted (RFC 6749 §4.1.3: the
	// token request then need not repeat it).
	redirect  string
	requested string
	scopes    []string
	state     string
	challenge string // S256 code_challenge, or ""
	resource  string // the configured resource identifier, or ""
	prompt    prompt
}

type prompt struct{ none, consent bool }

// Authorize handles an authorization request (RFC 6749 §4.1.1) for the
// signed-in user (userID "" when nobody is signed in).
//
// The client and the redirect URI are checked first. Until both are
// trusted an error cannot be sent to the client, so it is returned as a
// *grantd.Error for the adapter to show as a page: missing, repeated or
// malformed client_id and redirect_uri (a redirect_uri that is not an
// absolute URI is malformed), and no redirect_uri while the
// client registered several, are invalid_request (400); an unknown client
// is not_found (404); a well-formed redirect_uri that is not registered,
// and a client that may not use the code flow, are validation_failed
// (422), the statuses the Telnyx OpenAPI gives (SPEC §6). After that every problem is answered
// to the client in the redirect (RFC 6749 §4.1.2.1) with iss (RFC 9207).
//
// Decisions where the RFCs leave a choice:
//   - redirect_uri may be omitted when the client has exactly one
//     registered (RFC 6749 §3.1.2.3); the code then records no redirect
//     URI, so the token request need not send one either (§4.1.3).
//   - scope may be omitted (or empty); it then means every scope the
//     client is allowed that is still in the catalog.
//   - prompt (OpenID Connect Core §3.1.2.1): "consent" asks the user even
//     when a grant covers the scopes; "none" never shows a page and
//     answers login_required or consent_required instead; "login" and
//     "select_account" are accepted and ignored; other values are
//     invalid_request.
//   - response_mode may only be "query".
//   - a parameter given twice is invalid_request (RFC 6749 §3.1), except
//     resource, which is invalid_target (RFC 8707 §2); state is then not
//     echoed, since there is no one value to echo.
func (p *Provider) Authorize(ctx context.Context, userID string, q url.Values) (AuthorizeResult, error) {
	client, err := p.authorizeClient(ctx, q)
	if err != nil {
		return AuthorizeResult{}, err
	}
	requested, redirect, err := authorizeRedirectURI(client, q)
	if err != nil {
		return AuthorizeResult{}, err
	}

	// From here on the redirect URI is trusted: answer the client.
	req, aerr := p.parseAuthRequest(client, q)
	req.redirect, req.requested = redirect, requested
	if aerr != nil {
		return AuthorizeResult{Redirect: p.errorRedirect(req, aerr)}, nil
	}
	if userID == "" {
		if req.prompt.none {
			return AuthorizeResult{Redirect: p.errorRedirect(req, grantd.E(codeLoginRequired, "the user is not signed in"))}, nil
		}
		return AuthorizeResult{Login: true}, nil
	}

	now := p.now().UTC()
	if !req.prompt.consent {
		g, err := p.store.GetGrantByUserClient(ctx, userID, client.ID)
		switch {
		case err == nil && grantd.Subset(req.scopes, g.Scopes):
			return AuthorizeResult{Redirect: p.codeRedirect(ctx, req, userID, g.ID, now)}, nil
		case err != nil && !errors.Is(err, grantd.ErrNotFound):
			return AuthorizeResult{Redirect: p.serverErrorRedirect(ctx, req, err)}, nil
		}
	}
	if req.prompt.none {
		return AuthorizeResult{Redirect: p.errorRedirect(req, grantd.E(codeConsentRequired, "the user has not consented to these scopes"))}, nil
	}

	tok, hash := token.NewOpaque(token.PrefixConsentToken)
	c := grantd.Consent{
		Hash:          hash,
		UserID:        userID,
		ClientID:      client.ID,
		RedirectURI:   req.requested,
		Scopes:        req.scopes,
		State:         req.state,
		CodeChallenge: req.challenge,
		Resource:      req.resource,
		CreatedAt:     now,
		ExpiresAt:     now.Add(p.cfg.ConsentTTL),
	}
	if req.challenge != "" {
		c.CodeChallengeMethod = "S256"
	}
	if err := p.store.CreateConsent(ctx, c); err != nil {
		return AuthorizeResult{Redirect: p.serverErrorRedirect(ctx, req, err)}, nil
	}
	return AuthorizeResult{Redirect: appendQuery(p.cfg.ConsentURL, url.Values{"consent_token": {tok}})}, nil
}

// authorizeClient finds the client of the request and checks that it may
// use the code flow.
func (p *Provider) authorizeClient(ctx context.Context, q url.Values) (grantd.Client, error) {
	ids := q["client_id"]
	switch {
	case len(ids) == 0 || ids[0] == "":
		return grantd.Client{}, grantd.E(grantd.CodeInvalidRequest, "the request has no client_id")
	case len(ids) > 1:
		return grantd.Client{}, grantd.E(grantd.CodeInvalidRequest, "client_id is repeated")
	case len(ids[0]) > maxClientIDLength || !utf8.ValidString(ids[0]):
		return grantd.Client{}, grantd.E(grantd.CodeInvalidRequest, "client_id is malformed")
	}
	var c grantd.Client
	var err error
	if p.isDocumentClientID(ids[0]) {
		c, err = p.documentClient(ctx, ids[0])
	} else {
		c, err = p.store.GetClient(ctx, ids[0])
	}
	if errors.Is(err, grantd.ErrNotFound) {
		return grantd.Client{}, grantd.E(grantd.CodeNotFound, "no application with this client_id is registered")
	}
	var ge *grantd.Error
	if errors.As(err, &ge) {
		return grantd.Client{}, err
	}
	if err != nil {
		return grantd.Client{}, grantd.Wrap(grantd.CodeServerError, err, "internal error")
	}
	if !c.Allows(grantd.GrantAuthorizationCode) || len(c.RedirectURIs) == 0 {
		const why = "this application is not allowed to use the authorization code flow"
		e := grantd.Invalid(grantd.FieldError{Pointer: "client_id", Detail: why})
		e.Description = why
		return grantd.Client{}, e
	}
	return c, nil
}

// authorizeRedirectURI answers the redirect_uri parameter as sent and the
// URI to answer at, which must be registered (RFC 6749 §3.1.2.3; a
// loopback URI may differ in port only, RFC 8252 §7.3).
func authorizeRedirectURI(c grantd.Client, q url.Values) (requested, redirect string, err error) {
	vs := q["redirect_uri"]
	switch {
	case len(vs) > 1:
		return "", "", grantd.E(grantd.CodeInvalidRequest, "redirect_uri is repeated")
	case len(vs) == 0 || vs[0] == "":
		if len(c.RedirectURIs) != 1 {
			return "", "", grantd.E(grantd.CodeInvalidRequest, "the request has no redirect_uri, and this application registered more than one")
		}
		return "", c.RedirectURIs[0], nil
	case len(vs[0]) > MaxURILength || !utf8.ValidString(vs[0]):
		return "", "", grantd.E(grantd.CodeInvalidRequest, "redirect_uri is malformed")
	}
	if u, err := url.Parse(vs[0]); err != nil || !u.IsAbs() {
		return "", "", grantd.E(grantd.CodeInvalidRequest, "redirect_uri is malformed: it must be an absolute URI")
	}
	r, ok := ResolveRedirect(c, vs[0])
	if !ok {
		// 422, as the Telnyx OpenAPI declares "Invalid redirect URI": the
		// request is well formed, its value is not one of the client's.
		const why = "redirect_uri is not registered for this application"
		e := grantd.Invalid(grantd.FieldError{Pointer: "redirect_uri", Detail: why})
		e.Description = why
		return "", "", e
	}
	return vs[0], r, nil
}

// ResolveRedirect answers where the authorization endpoint sends the
// answer of a request that sent requested as its redirect_uri ("" for
// none). It answers false when the answer cannot go to the client: no
// redirect_uri while several are registered, or one not registered.
func ResolveRedirect(c grantd.Client, requested string) (string, bool) {
	if requested == "" {
		if len(c.RedirectURIs) == 1 {
			return c.RedirectURIs[0], true
		}
		return "", false
	}
	// MatchRedirectURI's loopback rule compares parsed URIs, and a parsed
	// URI forgets an empty fragment ("…/cb#"): a '#' would move the
	// answer's parameters into the fragment.
	if strings.Contains(requested, "#") || !MatchRedirectURI(c.RedirectURIs, requested) {
		return "", false
	}
	return requested, true
}

// parseAuthRequest checks everything after the client and redirect URI.
// It always answers the state to echo, even with an error.
func (p *Provider) parseAuthRequest(c grantd.Client, q url.Values) (authRequest, *grantd.Error) {
	req := authRequest{client: c}
	if vs := q["state"]; len(vs) == 1 && len(vs[0]) <= maxStateLength {
		req.state = vs[0]
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(q[k]) > 1 {
			if k == "resource" {
				return req, grantd.E(grantd.CodeInvalidTarget, "only one resource may be requested")
			}
			return req, grantd.E(grantd.CodeInvalidRequest, "parameter %s is repeated", token.Echo(k, authorizeParams...))
		}
		// A NUL byte is valid UTF-8 but no database text can hold it, and
		// no legitimate parameter carries one.
		if !utf8.ValidString(k) || !utf8.ValidString(q[k][0]) || strings.ContainsRune(k+q[k][0], 0) {
			return req, grantd.E(grantd.CodeInvalidRequest, "parameters must be valid UTF-8 without NUL bytes")
		}
	}
	get := func(k string) string { return q.Get(k) }

	switch rt := get("response_type"); {
	case rt == "":
		return req, grantd.E(grantd.CodeInvalidRequest, "the request has no response_type; use code")
	case rt != "code":
		return req, grantd.E(grantd.CodeUnsupportedResponseType, "response_type must be code")
	case len(c.ResponseTypes) > 0 && !slices.Contains(c.ResponseTypes, "code"):
		return req, grantd.E(grantd.CodeUnauthorizedClient, "this application did not register the code response type")
	}
	if len(get("state")) > maxStateLength {
		return req, grantd.E(grantd.CodeInvalidRequest, "state is longer than %d characters", maxStateLength)
	}
	if rm := get("response_mode"); rm != "" && rm != "query" {
		return req, grantd.E(grantd.CodeInvalidRequest, "response_mode must be query")
	}

	allowed := p.allowedScopes(c)
	scopes, ok := grantd.ParseScope(get("scope"))
	switch {
	case !ok:
		return req, grantd.E(grantd.CodeInvalidScope, "scope is malformed")
	case len(scopes) == 0 && len(allowed) == 0:
		return req, grantd.E(grantd.CodeInvalidScope, "this application is allowed no scope")
	case len(scopes) == 0:
		req.scopes = allowed
	case !grantd.Subset(scopes, allowed):
		return req, grantd.E(grantd.CodeInvalidScope, "scope asks for more than this application is allowed")
	default:
		req.scopes = scopes
	}

	challenge, method := get("code_challenge"), get("code_challenge_method")
	_, hasChallenge := q["code_challenge"]
	_, hasMethod := q["code_challenge_method"]
	switch {
	case hasMethod && method != "S256":
		return req, grantd.E(grantd.CodeInvalidRequest, "code_challenge_method must be S256")
	case hasChallenge && !hasMethod:
		// RFC 7636 §4.3 reads a missing method as plain, which grantd refuses.
		return req, grantd.E(grantd.CodeInvalidRequest, "code_challenge_method is required and must be S256")
	case hasMethod && !hasChallenge:
		return req, grantd.E(grantd.CodeInvalidRequest, "code_challenge_method was sent without code_challenge")
	case hasChallenge && !ValidChallenge(challenge):
		return req, grantd.E(grantd.CodeInvalidRequest, "code_challenge must be the 43-character base64url SHA-256 of the code_verifier")
	case !hasChallenge && c.PKCERequired():
		return req, grantd.E(grantd.CodeInvalidRequest, "this application must use PKCE: send code_challenge and code_challenge_method=S256")
	}
	req.challenge = challenge

	if _, ok := q["resource"]; ok {
		r, ok := p.resources.Match(get("resource"))
		if !ok {
			return req, grantd.E(grantd.CodeInvalidTarget, "resource is not a resource of this server")
		}
		req.resource = r
		scopes, err := p.resourceScopes(r, req.scopes, get("scope") != "")
		if err != nil {
			return req, err.(*grantd.Error) // resourceScopes answers only grantd.E
		}
		req.scopes = scopes
	}

	if _, ok := q["prompt"]; ok {
		for _, v := range strings.Split(get("prompt"), " ") {
			switch v {
			case "none":
				req.prompt.none = true
			case "consent":
				req.prompt.consent = true
			case "login", "select_account", "":
			default:
				return req, grantd.E(grantd.CodeInvalidRequest, "prompt %s is not supported", token.Echo(v))
			}
		}
		if req.prompt.none && strings.TrimSpace(get("prompt")) != "none" {
			return req, grantd.E(grantd.CodeInvalidRequest, "prompt=none cannot be combined with other values")
		}
	}
	return req, nil
}

// codeRedirect issues a code for the request under the grant and answers
// the redirect that delivers it.
func (p *Provider) codeRedirect(ctx context.Context, req authRequest, userID, grantID string, now time.Time) string {
	code, c := p.newCode(req, userID, grantID, now)
	if err := p.store.CreateAuthCode(ctx, c); err != nil {
		return p.serverErrorRedirect(ctx, req, err)
	}
	return p.codeAnswer(req, code)
}

// newCode answers a new code for the request under the grant, and the row
// to store for it.
func (p *Provider) newCode(req authRequest, userID, grantID string, now time.Time) (string, grantd.AuthCode) {
	code, hash := token.NewOpaque(token.PrefixAuthCode)
	return code, grantd.AuthCode{
		Hash:          hash,
		ClientID:      req.client.ID,
		UserID:        userID,
		GrantID:       grantID,
		RedirectURI:   req.requested,
		Scopes:        req.scopes,
		Resource:      req.resource,
		CodeChallenge: req.challenge,
		CreatedAt:     now,
		ExpiresAt:     now.Add(p.cfg.CodeTTL),
	}
}

// codeAnswer answers the redirect that delivers a stored code.
func (p *Provider) codeAnswer(req authRequest, code string) string {
	v := url.Values{"code": {code}}
	if req.state != "" {
		v.Set("state", req.state)
	}
	return p.answer(req.redirect, v)
}

// errorRedirect answers an error to the client (RFC 6749 §4.1.2.1).
func (p *Provider) errorRedirect(req authRequest, e *grantd.Error) string {
	v := url.Values{"error": {string(e.Code)}}
	if e.Description != "" {
		v.Set("error_description", e.Description)
	}
	if req.state != "" {
		v.Set("state", req.state)
	}
	return p.answer(req.redirect, v)
}

// serverErrorRedirect logs a failure and answers server_error to the
// client: once the redirect URI is trusted, the browser belongs there. A
// database that cannot answer now is temporarily_unavailable (RFC 6749
// §4.1.2.1), which tells the client that trying again later may work.
func (p *Provider) serverErrorRedirect(ctx context.Context, req authRequest, err error) string {
	p.log.ErrorContext(ctx, "authorization request failed", "client_id", req.client.ID, "error", err)
	if errors.Is(err, grantd.ErrUnavailable) {
		return p.errorRedirect(req, grantd.E(grantd.CodeTemporarilyUnavailable, "the server cannot complete the request now; try again shortly"))
	}
	return p.errorRedirect(req, grantd.E(grantd.CodeServerError, "the server could not complete the request; try again"))
}

// answer adds the parameters and iss (RFC 9207) to the redirect URI,
// keeping the query it already has (RFC 6749 §3.1.2).
func (p *Provider) answer(redirect string, v url.Values) string {
	v.Set("iss", p.cfg.Issuer)
	return appendQuery(redirect, v)
}

func appendQuery(u string, v url.Values) string {
	switch {
	case !strings.Contains(u, "?"):
		return u + "?" + v.Encode()
	case strings.HasSuffix(u, "?") || strings.HasSuffix(u, "&"):
		return u + v.Encode()
	default:
		return u + "&" + v.Encode()
	}
}
