package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// AuthorizeParams are the query of GET /oauth/authorize (SPEC §6).
// ResponseType defaults to "code".
type AuthorizeParams struct {
	ClientID            string
	RedirectURI         string
	Scopes              []string // sent space-separated as scope
	State               string
	CodeChallenge       string // base64url SHA-256 of the verifier (S256)
	CodeChallengeMethod string // "S256" when CodeChallenge is set and this is empty
	Resource            string // RFC 8707
	Prompt              string // "consent" asks again even when a grant covers the scopes
	ResponseType        string
}

func (p AuthorizeParams) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	rt := p.ResponseType
	if rt == "" {
		rt = "code"
	}
	set("response_type", rt)
	set("client_id", p.ClientID)
	set("redirect_uri", p.RedirectURI)
	set("scope", strings.Join(p.Scopes, " "))
	set("state", p.State)
	set("code_challenge", p.CodeChallenge)
	if p.CodeChallenge != "" && p.CodeChallengeMethod == "" {
		p.CodeChallengeMethod = "S256"
	}
	set("code_challenge_method", p.CodeChallengeMethod)
	set("resource", p.Resource)
	set("prompt", p.Prompt)
	return q
}

// AuthorizeURL answers the URL to send a person's browser to.
func (c *Client) AuthorizeURL(p AuthorizeParams) string {
	return c.base + "/oauth/authorize?" + p.query().Encode()
}

// Authorization is where authorize sent the signed-in user.
type Authorization struct {
	// Location is the redirect, absolute.
	Location string
	// ConsentToken is set when the user must still consent: Location is
	// the consent page; Consent and DecideGrant use the token.
	ConsentToken string
	// Code and State are set when a standing grant covered the scopes:
	// Location is the client's redirect URI.
	Code  string
	State string
	// Error is the OAuth error sent to the redirect URI, if any.
	Error string
}

// Authorize calls GET /oauth/authorize as the API key's user (a
// consent portal's way; a person's browser uses AuthorizeURL), without
// following the redirect. An error shown before the redirect URI is
// trusted (an HTML page: 400, 404 or 422) is a *Error with the status.
func (c *Client) Authorize(ctx context.Context, p AuthorizeParams) (*Authorization, error) {
	var loc string
	r := request{method: http.MethodGet, path: "/oauth/authorize", query: p.query(), auth: c.management(), noRedirect: true}
	if err := c.do(ctx, r, &loc); err != nil {
		return nil, err
	}
	base, err := url.Parse(c.base)
	if err != nil {
		return nil, decodeErr("GET /oauth/authorize", err)
	}
	u, err := base.Parse(loc)
	if err != nil || loc == "" {
		return nil, decodeErr("GET /oauth/authorize", errNoLocation)
	}
	q := u.Query()
	return &Authorization{
		Location: u.String(), ConsentToken: q.Get("consent_token"),
		Code: q.Get("code"), State: q.Get("state"), Error: q.Get("error"),
	}, nil
}

type clientError string

func (e clientError) Error() string { return string(e) }

const errNoLocation = clientError("the answer is not a redirect with a Location")

// ConsentScope is one scope the consent asks for.
type ConsentScope struct {
	ID          string
	Name        string
	Description string
}

// Consent is what the consent page shows (GET /oauth/consent/{token}).
type Consent struct {
	ClientID        string
	Name            string
	LogoURI         string
	TOSURI          string
	PolicyURI       string
	RedirectURI     string
	Verified        bool
	RequestedScopes []ConsentScope

	// Raw is the data object as the server sent it.
	Raw json.RawMessage
}

type wireConsent struct {
	ClientID        flexString `json:"client_id"`
	Name            flexString `json:"name"`
	LogoURI         flexString `json:"logo_uri"`
	TOSURI          flexString `json:"tos_uri"`
	PolicyURI       flexString `json:"policy_uri"`
	RedirectURI     flexString `json:"redirect_uri"`
	Verified        flexBool   `json:"verified"`
	RequestedScopes []struct {
		ID          flexString `json:"id"`
		Name        flexString `json:"name"`
		Description flexString `json:"description"`
	} `json:"requested_scopes"`
}

// Consent reads what a consent token asks of the API key's user.
func (c *Client) Consent(ctx context.Context, consentToken string) (*Consent, error) {
	var w data[json.RawMessage]
	call := "GET /oauth/consent"
	r := request{method: http.MethodGet, path: "/oauth/consent/" + url.PathEscape(consentToken), auth: c.management()}
	if err := c.do(ctx, r, &w); err != nil {
		return nil, err
	}
	var wc wireConsent
	if err := json.Unmarshal(w.Data, &wc); err != nil {
		return nil, decodeErr(call, err)
	}
	out := &Consent{
		ClientID: string(wc.ClientID), Name: string(wc.Name), LogoURI: string(wc.LogoURI), TOSURI: string(wc.TOSURI),
		PolicyURI: string(wc.PolicyURI), RedirectURI: string(wc.RedirectURI), Verified: bool(wc.Verified),
		RequestedScopes: []ConsentScope{}, Raw: w.Data,
	}
	for _, s := range wc.RequestedScopes {
		out.RequestedScopes = append(out.RequestedScopes, ConsentScope{ID: string(s.ID), Name: string(s.Name), Description: string(s.Description)})
	}
	return out, nil
}

// DecideGrant approves (allowed) or denies a consent as the API key's
// user (POST /oauth/grants) and answers the redirect URI the browser
// goes to: with code, state and iss when allowed, error=access_denied
// when not. A consent token is single use either way.
func (c *Client) DecideGrant(ctx context.Context, consentToken string, allowed bool) (string, error) {
	var w struct {
		RedirectURI flexString `json:"redirect_uri"`
	}
	body := map[string]any{"allowed": allowed, "consent_token": consentToken}
	if err := c.do(ctx, request{method: http.MethodPost, path: "/oauth/grants", body: body, auth: c.management(), singleUse: true}, &w); err != nil {
		return "", err
	}
	return string(w.RedirectURI), nil
}
